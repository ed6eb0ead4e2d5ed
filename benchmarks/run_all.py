"""`make bench`: run every benchmark under benchmarks/, then print one table of their results.

Each benchmark is a script run with this interpreter from the project's root. Its output is
shown as it comes; the last line it prints starting with `SUMMARY ` is its entry in the table
(a benchmark without one is listed with its exit status only). Helpers that are not
benchmarks (the bare app of slack_load.py, this runner) are skipped. PostgreSQL is measured
by the benchmarks that support it when `TEST_DATABASE_URL` is set, and skipped otherwise.

Run: `.venv/bin/python benchmarks/run_all.py [name ...]` (names without `.py` pick some).
Exits non-zero when a benchmark failed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NOT_BENCHMARKS = {"run_all.py", "bare_app.py"}
SUMMARY = "SUMMARY "
WIDTH = 100


@dataclass(frozen=True)
class Outcome:
    name: str
    seconds: float
    returncode: int
    summary: str | None


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
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            if line.startswith(SUMMARY):
                summary = line.removeprefix(SUMMARY).strip()
    return Outcome(script.name, time.monotonic() - started, process.returncode, summary)


def table(outcomes: list[Outcome]) -> str:
    name_width = max(len("benchmark"), *(len(o.name) for o in outcomes))
    text_width = max(40, WIDTH - name_width - 16)
    lines = [
        f"{'benchmark':<{name_width}}  {'time':>6}  {'exit':>4}  summary",
        "-" * WIDTH,
    ]
    for outcome in outcomes:
        summary = outcome.summary or "(no SUMMARY line)"
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
