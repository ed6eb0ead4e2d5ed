"""Several instances of the app as deployed, on one PostgreSQL database of their own.

`Cluster` creates a scratch database beside `TEST_DATABASE_URL` (the shared test database is
not touched), migrates it with `python -m bot migrate`, and starts, each as a process of its
own session (process group): localstripe, two `python -m bot serve` (gunicorn) on two ports
and two `python -m bot worker`, all against that database, with the fake Slack Web API of
`bot/sandbox/slack_api.py` running in the test process. `stop()` ends every process group
(SIGTERM, then SIGKILL) and checks in /proc that nothing of them is left.

The workers' clock: APScheduler fires jobs on wall-clock cron times, the soonest of which may
be minutes away. The workers run under libfaketime (`LD_PRELOAD`, `FAKETIME="+N"`: the real
clock shifted by N seconds, ticking as usual; monotonic time left alone), with N chosen so that
their clock reads a few seconds before 09:00 in London shortly after they start: the daily
digest and the 5-minutely reconcile then fall due in both at the same moment. Only the worker
processes are shifted; the servers, localstripe and the database keep the real time.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import Engine, create_engine, make_url

from bot.sandbox.slack_api import FakeSlack
from tests.payments.conftest import (
    PUBLISHABLE_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    LocalStripe,
    free_port,
)

ROOT = Path(__file__).parents[2]
FAKETIME_LIBRARIES = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
    "/usr/local/lib/faketime/libfaketime.so.1",
)
LONDON = ZoneInfo("Europe/London")
DIGEST_HOUR = 9  # the daily digest's cron hour in London (bot/scheduler.py)


def faketime_library() -> str | None:
    return next((path for path in FAKETIME_LIBRARIES if Path(path).exists()), None)


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def log_entries(self) -> list[dict[str, Any]]:
        """The JSON log lines it wrote (gunicorn's own lines are not JSON, and are skipped)."""
        entries = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    continue
        return entries


def process_groups_alive(groups: Iterable[int]) -> list[tuple[int, str]]:
    """(pid, command) of every live (not zombie) process in one of `groups`, read from /proc."""
    wanted = set(groups)
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) in wanted and state != "Z":
            alive.append((int(entry.name), command.strip()))
    return alive


def next_digest_time(after: datetime) -> datetime:
    """The first 09:00 in London later than `after`, in UTC."""
    local = after.astimezone(LONDON)
    fire = local.replace(hour=DIGEST_HOUR, minute=0, second=0, microsecond=0)
    if fire <= local:
        fire = (local + timedelta(days=1)).replace(
            hour=DIGEST_HOUR, minute=0, second=0, microsecond=0
        )
    return fire.astimezone(UTC)


@dataclass
class Cluster:
    """The processes, where they listen, and the shared database."""

    postgres_url: str  # the server's TEST_DATABASE_URL; a scratch database is made beside it
    slack: FakeSlack
    signing_secret: str
    bot_token: str
    usage_token: str
    worker_lead: float = 20.0  # seconds from starting the workers to their jobs' fire time
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="instances-")))
    database_url: str = ""
    stripe: LocalStripe | None = None
    servers: list[str] = field(default_factory=list)
    server_processes: list[Process] = field(default_factory=list)
    workers: list[Process] = field(default_factory=list)
    fire_at: datetime | None = None  # the workers' clock time at which their jobs fall due
    clock_shift: int = 0  # seconds the workers' clock is ahead of the real one
    _database: str = ""
    _stopped: bool = False

    # -- the database ---------------------------------------------------------------------

    def create_database(self) -> str:
        self._database = f"instances_{secrets.token_hex(4)}"
        admin = self._admin()
        try:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{self._database}"')
        finally:
            admin.dispose()
        url = make_url(self.postgres_url).set(database=self._database)
        self.database_url = url.render_as_string(hide_password=False)
        return self.database_url

    def _admin(self) -> Engine:
        return create_engine(make_url(self.postgres_url), isolation_level="AUTOCOMMIT")

    def drop_database(self) -> None:
        """Drop the scratch database, and remove the processes' logs."""
        shutil.rmtree(self.folder, ignore_errors=True)
        if not self._database:
            return
        admin = self._admin()
        try:
            with admin.connect() as connection:
                connection.exec_driver_sql(
                    f'DROP DATABASE IF EXISTS "{self._database}" WITH (FORCE)'
                )
        finally:
            admin.dispose()

    def migrate(self) -> str:
        """`python -m bot migrate`, as an operator runs it; what it printed."""
        done = subprocess.run(
            [sys.executable, "-m", "bot", "migrate"],
            cwd=ROOT,
            env={**self._base_env(), "LOG_LEVEL": "WARNING"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"python -m bot migrate failed:\n{done.stderr[-3000:]}")
        return done.stdout

    # -- the processes --------------------------------------------------------------------

    def start_stripe(self) -> LocalStripe:
        self.stripe = LocalStripe().start()
        return self.stripe

    def _base_env(self) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": self.database_url,
            "SLACK_BOT_TOKEN": self.bot_token,
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "SLACK_API_URL": self.slack.api_url,
            "STRIPE_API_KEY": SECRET_KEY,
            "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "USAGE_API_TOKEN": self.usage_token,
            "LOG_LEVEL": "INFO",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        if self.stripe is not None:
            env["STRIPE_API_BASE"] = self.stripe.url
            env["STRIPE_JS_URL"] = f"{self.stripe.url}/js.stripe.com/v3/"
        return env

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Process:
        log = self.folder / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                argv,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a process group of its own, gunicorn's workers in it
            )
        return Process(name, popen, log)

    def start_servers(self, count: int = 2, *, workers: int = 2, threads: int = 4) -> None:
        """`python -m bot serve` `count` times, each on its own port (starting together: the
        start-up migration runs under a lock)."""
        for n in range(count):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            env = {**self._base_env(), "PORT": str(port), "PUBLIC_BASE_URL": url}
            argv = [sys.executable, "-m", "bot", "serve"]
            argv += ["--workers", str(workers), "--threads", str(threads)]
            self.server_processes.append(self._spawn(f"serve-{n + 1}", argv, env))
            self.servers.append(url)

    def start_workers(self, count: int = 2) -> None:
        """`python -m bot worker` `count` times, their clock shifted to just before 09:00."""
        library = faketime_library()
        if library is None:
            raise RuntimeError("libfaketime is not installed")
        now = datetime.now(UTC)
        self.fire_at = next_digest_time(now + timedelta(seconds=self.worker_lead + 5))
        self.clock_shift = int((self.fire_at - now).total_seconds() - self.worker_lead)
        env = {
            **self._base_env(),
            "LD_PRELOAD": library,
            "FAKETIME": f"{self.clock_shift:+d}",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",  # waits and timeouts run in real time
            "NO_FAKE_STAT": "1",  # file times as they are
            # Its "monotonic fix" (for pthread_cond_timedwait, under Python's locks) stalled
            # the workers' threads for seconds here (a lease insert left uncommitted for up to
            # 12 s); without it both run their slot within milliseconds, as workers without
            # libfaketime do on a real fire time.
            "FAKETIME_FORCE_MONOTONIC_FIX": "0",
        }
        for n in range(count):
            argv = [sys.executable, "-m", "bot", "worker"]
            self.workers.append(self._spawn(f"worker-{n + 1}", argv, env))

    def wait_until_serving(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for url, process in zip(self.servers, self.server_processes, strict=True):
            while True:
                try:
                    if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                if process.popen.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{process.name} did not start:\n{process.output()[-3000:]}")
                time.sleep(0.1)

    def worker_holders(self, timeout: float = 60.0) -> dict[str, tuple[str, datetime]]:
        """Each worker's lease holder name and when (by its clock) it began scheduling, from
        the line it logs then."""
        deadline = time.monotonic() + timeout
        while True:
            holders = {}
            for worker in self.workers:
                for entry in worker.log_entries():
                    message = str(entry.get("message", ""))
                    if entry.get("logger") == "bot.scheduler" and message.startswith("worker "):
                        started = datetime.fromisoformat(str(entry["time"]))
                        holders[worker.name] = (message.split()[1].rstrip(":"), started)
            if len(holders) == len(self.workers):
                return holders
            for worker in self.workers:
                if worker.popen.poll() is not None:
                    raise RuntimeError(f"{worker.name} ended:\n{worker.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not start scheduling in time")
            time.sleep(0.1)

    def processes(self) -> list[Process]:
        return [*self.server_processes, *self.workers]

    def stop(self) -> list[tuple[int, str]]:
        """End every process group (SIGTERM, then SIGKILL after 15 s); what is left alive."""
        if self._stopped:
            return []
        self._stopped = True
        groups = [p.pid for p in self.processes()]
        for group in groups:
            _signal_group(group, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        while process_groups_alive(groups) and time.monotonic() < deadline:
            time.sleep(0.1)
        for group in groups:
            _signal_group(group, signal.SIGKILL)
        for process in self.processes():
            if process.popen.poll() is None:
                process.popen.wait(timeout=10)
        left = []
        if self.stripe is not None:
            stripe_pid = self.stripe._process.pid if self.stripe._process is not None else None
            self.stripe.close()
            if stripe_pid is not None and _alive(stripe_pid):
                left.append((stripe_pid, "localstripe"))
        time.sleep(0.2)  # SIGKILLed orphans, if any, a moment to go
        return left + process_groups_alive(groups)


def _alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signum)
