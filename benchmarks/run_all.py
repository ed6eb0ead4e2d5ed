"""`make bench`: run every benchmark under benchmarks/, then print one table of their results.

Each benchmark is a script run with this interpreter from the project's root. Its output is
shown as it comes; the last line it prints starting with `SUMMARY ` is its entry in the table
(a benchmark without one is listed with its exit status only). Helpers that are not
benchmarks (the bare app of slack_load.py, this runner) are skipped. PostgreSQL is measured
by the benchmarks that support it when `TEST_DATABASE_URL` is set, and skipped otherwise.

Run: `.venv/bin/python benchmarks/run_all.py [name ...]` (names without `.py` pick some).
A benchmark still running after `BENCH_TIMEOUT` seconds (default 1800) is stopped and counts as
failed. Exits non-zero when a benchmark failed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NOT_BENCHMARKS = {"run_all.py", "bare_app.py"}
SUMMARY = "SUMMARY "
WIDTH = 100
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "1800"))


@dataclass(frozen=True)
class Outcome:
    name: str
    seconds: float
    returncode: int
    summary: str | None
    timed_out: bool = False


def benchmarks(chosen: list[str]) -> list[Path]:
    scripts = sorted(p for p in HERE.glob("*.py") if p.name not in NOT_BENCHMARKS)
    if chosen:
        scripts = [p for p in scripts if p.stem in chosen]
    return scripts


def run(script: Path) -> Outcome:
    """Run one benchmark, echoing its output, and keep its last SUMMARY line."""
    print(f"== {script.relative_to(ROOT)}", flush=True)
    started = time.monotonic()
    summary = None
    with subprocess.Popen(  # noqa: S603 - our own interpreter on our own scripts
        [sys.executable, str(script)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        start_new_session=True,  # its own process group: the servers it starts go with it
    ) as process:
        watchdog = threading.Timer(TIMEOUT, os.killpg, (process.pid, signal.SIGKILL))
        watchdog.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                print(line, end="", flush=True)
                if line.startswith(SUMMARY):
                    summary = line.removeprefix(SUMMARY).strip()
        finally:
            watchdog.cancel()
    seconds = time.monotonic() - started
    timed_out = process.returncode != 0 and seconds >= TIMEOUT
    return Outcome(script.name, seconds, process.returncode, summary, timed_out)


def table(outcomes: list[Outcome]) -> str:
    name_width = max(len("benchmark"), *(len(o.name) for o in outcomes))
    text_width = max(40, WIDTH - name_width - 16)
    lines = [
        f"{'benchmark':<{name_width}}  {'time':>6}  {'exit':>4}  summary",
        "-" * WIDTH,
    ]
    for outcome in outcomes:
        summary = outcome.summary or "(no SUMMARY line)"
        if outcome.timed_out:
            summary = f"stopped after {TIMEOUT:.0f} s; " + summary
        wrapped = textwrap.wrap(summary, text_width) or [""]
        lines.append(
            f"{outcome.name:<{name_width}}  {outcome.seconds:>5.0f}s  {outcome.returncode:>4}  "
            f"{wrapped[0]}"
        )
        lines.extend(" " * (name_width + 18) + more for more in wrapped[1:])
    return "\n".join(lines)


def main() -> int:
    scripts = benchmarks(sys.argv[1:])
    if not scripts:
        print("No benchmarks match.", file=sys.stderr)
        return 2
    outcomes = [run(script) for script in scripts]
    print()
    print(table(outcomes))
    failed = [o.name for o in outcomes if o.returncode != 0]
    if failed:
        print(f"\nFailed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
