"""The app as deployed (`python -m bot serve`, gunicorn, in its own process group), PostgreSQL,
localstripe and the fake Slack, with a `TcpProxy` wherever a test needs to break a link.

The database is PostgreSQL only (the outage and the crash are about a server the app reaches
over the network): a database of this suite's own beside `TEST_DATABASE_URL`'s, named after it
with `_faults` appended and created when missing, so nothing here touches the database the rest
of the suite shares. Without `TEST_DATABASE_URL` these tests are skipped.

Arranging (accounts, saved cards, invoices) and reading back go through `PaymentsHarness` from
the payments tests, connected to the same database and localstripe directly, never through a
proxy; only the served app's links are broken.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine, create_engine, make_url, text

from bot.sandbox.slack_api import FakeSlack
from bot.sandbox.slack_requests import SlackRequestSender
from store.db import make_engine
from store.migrate import upgrade_to_head
from tests.conftest import POSTGRES_URL, drop_everything
from tests.payments.conftest import (
    BOT_TOKEN,
    PUBLISHABLE_KEY,
    SECRET_KEY,
    SIGNING_SECRET,
    TEAM_ID,
    WEBHOOK_SECRET,
    LocalStripe,
    PaymentsHarness,
    free_port,
    localstripe,
    start_fake_slack,
    start_harness,
)

__all__ = ["localstripe"]  # the payments tests' session fixture, used here as it is

ROOT = Path(__file__).parents[2]
START_SECONDS = 30


def faults_database_url() -> str:
    """`TEST_DATABASE_URL` with `_faults` appended to its database name, created if missing."""
    assert POSTGRES_URL is not None
    url = make_url(POSTGRES_URL)
    own = url.set(database=f"{url.database}_faults")
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}
            )
            if not exists:
                connection.exec_driver_sql(f'CREATE DATABASE "{own.database}"')
    finally:
        server.dispose()
    return own.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def faults_engine() -> Iterator[Engine]:
    if not POSTGRES_URL:
        pytest.skip("TEST_DATABASE_URL is not set: the fault tests need PostgreSQL")
    engine = make_engine(faults_database_url())
    drop_everything(engine)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def faults_slack() -> Iterator[FakeSlack]:
    fake = start_fake_slack()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def arranged(
    faults_engine: Engine, localstripe: LocalStripe, faults_slack: FakeSlack
) -> Iterator[PaymentsHarness]:
    harness = start_harness(faults_engine, localstripe, faults_slack)
    yield harness
    harness.server.stop()


@pytest.fixture
def harness(arranged: PaymentsHarness) -> PaymentsHarness:
    """An empty database and localstripe, no Slack calls; the means to arrange and read."""
    if arranged.stripe_server._process is None:
        arranged.stripe_server.start()
    arranged.reset()
    return arranged


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group `pgid`, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses
        fields = stat[stat.rindex(")") + 2 :].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ("Z", "X"):
            members.append(int(entry.name))
    return members


class ServedApp:
    """`python -m bot serve` (gunicorn master and worker) in a process group of its own."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.port = int(env["PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self.groups: list[int] = []  # every process group started, for the teardown check

    def start(self) -> ServedApp:
        assert self._process is None
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--workers", "1", "--threads", "4"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        self.groups.append(self._process.pid)
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                requests.get(f"{self.url}/healthz", timeout=2)
                return self
            except requests.RequestException:
                pass
            if self._process.poll() is not None:
                raise AssertionError(f"`bot serve` exited at start:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"`bot serve` did not answer within {START_SECONDS}s")
            time.sleep(0.1)

    def kill9(self) -> None:
        """SIGKILL to the whole group, master and worker at once: nothing gets to clean up."""
        assert self._process is not None
        process, self._process = self._process, None
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        self._wait_group_gone(process.pid)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self._wait_group_gone(process.pid)

    def _wait_group_gone(self, pgid: int) -> None:
        deadline = time.monotonic() + 10
        while group_members(pgid):
            if time.monotonic() > deadline:
                for pid in group_members(pgid):
                    os.kill(pid, signal.SIGKILL)
                raise AssertionError(f"processes of group {pgid} outlived the server")
            time.sleep(0.05)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def serve_env(
    *, database_url: str, stripe_base: str, slack: FakeSlack, port: int
) -> dict[str, str]:
    """The environment `bot serve` is deployed with, pointed at this test's peers."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "STRIPE_API_KEY": SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe_base,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def served(tmp_path: Path) -> Iterator[list[ServedApp]]:
    """Served apps a test starts; each is stopped afterwards and its process group checked."""
    started: list[ServedApp] = []
    yield started
    for app in started:
        app.stop()
    leftovers = {pgid: group_members(pgid) for app in started for pgid in app.groups}
    assert not any(leftovers.values()), f"stray processes: {leftovers}"


def new_served_app(
    served: list[ServedApp],
    tmp_path: Path,
    *,
    database_url: str,
    stripe_base: str,
    slack: FakeSlack,
) -> ServedApp:
    port = free_port()
    app = ServedApp(
        serve_env(database_url=database_url, stripe_base=stripe_base, slack=slack, port=port),
        tmp_path / f"serve-{port}.log",
    )
    served.append(app)
    return app


def sender_for(app: ServedApp, slack: FakeSlack, account_id: int) -> SlackRequestSender:
    """Signed Slack requests from the workspace of `PaymentsHarness.make_account`'s account."""
    return SlackRequestSender(
        f"{app.url}/slack/events", SIGNING_SECRET, team_id=f"{TEAM_ID}{account_id}", fake=slack
    )


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
