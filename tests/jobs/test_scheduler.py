"""The worker: jobs registered once with APScheduler, leases that let exactly one worker run each
slot, and two workers on one database for a simulated week (PostgreSQL when TEST_DATABASE_URL is
set, as in CI; SQLite always) running every job exactly once per slot.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine, event, func, make_url, select

from bot import invoices, pricing
from bot.accounts import set_finance_channel
from bot.deps import Deps, build_deps
from bot.sandbox.slack_api import FakeSlack
from bot.scheduler import (
    JOB_STORE_TABLE,
    JOBS,
    JOBS_BY_ID,
    JobRunner,
    JobSpec,
    build_scheduler,
    slot_for,
    take_lease,
)
from bot.settings import Settings
from store.db import make_engine, transaction
from store.enums import InvoiceKind
from store.migrate import upgrade_to_head
from store.models import JobLease, apscheduler_jobs
from tests.factories import make_account

ROOT = Path(__file__).parents[2]
LONDON = ZoneInfo("Europe/London")
ADMIN, FINANCE_CHANNEL = "UADMIN", "C0FINANCE"
MONDAY = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # 00:00 in London too (GMT)


@dataclass
class SimClock:
    now: datetime = MONDAY

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    fake.add_user(ADMIN, "ada")
    fake.add_channel(FINANCE_CHANNEL, "finance")
    yield fake
    fake.stop()


def worker_engine(url: str) -> Engine:
    """An engine of its own (a worker process's pool), without waiting for the disk on commit:
    a simulated week is thousands of commits, and durability is not what is tested here
    (atomicity, locks and unique keys are unchanged)."""
    if make_url(url).get_backend_name() == "postgresql":
        return make_engine(
            url, connect_args={"options": "-c synchronous_commit=off"}, pool_pre_ping=False
        )
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _no_fsync(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()

    return engine


def worker_deps(url: str, fake: FakeSlack, clock: SimClock) -> Deps:
    """One worker process's dependencies on the shared database."""
    settings = Settings(
        SLACK_BOT_TOKEN="xoxb-test-token",  # type: ignore[arg-type]
        SLACK_API_URL=fake.api_url,
        DATABASE_URL=url,
    )
    return build_deps(settings, engine=worker_engine(url), clock=clock)


def test_every_job_is_registered_once_with_its_schedule(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    settings = Settings(SLACK_BOT_TOKEN="xoxb-x", DATABASE_URL=url)  # type: ignore[arg-type]
    deps = build_deps(settings, engine=engine)
    assert [spec.id for spec in JOBS] == [
        "reconcile-payments",
        "top-ups",
        "autopay",
        "daily-digest",
        "weekly-digest",
        "reminders",
        "tidy-up",
    ]
    # Two workers starting at once on the same job store: no conflict, one row per job.
    first, second = build_scheduler(deps, blocking=False), build_scheduler(deps, blocking=False)
    first.start(paused=True)
    second.start(paused=True)
    try:
        for job in first.get_jobs():
            spec = JOBS_BY_ID[job.id]
            assert (job.coalesce, job.max_instances) == (True, 1)
            assert job.misfire_grace_time == int(spec.grace.total_seconds())
            assert isinstance(job.trigger, CronTrigger)
            assert str(job.trigger.timezone) == "Europe/London"
            assert job.args == (spec.id,)
            assert job.func_ref == "bot.scheduler:run_scheduled_job"
        with engine.connect() as connection:
            stored = connection.scalars(select(apscheduler_jobs.c.id)).all()
        assert sorted(stored) == sorted(JOBS_BY_ID)
        assert JOB_STORE_TABLE == "apscheduler_jobs"
    finally:
        first.shutdown(wait=False)
        second.shutdown(wait=False)
        engine.dispose()


def test_the_slot_is_the_latest_fire_time_in_london() -> None:
    digest = JOBS_BY_ID["daily-digest"]
    summer = datetime(2026, 7, 6, 8, 40, tzinfo=UTC)  # 09:40 BST
    assert slot_for(digest, summer, LONDON) == datetime(2026, 7, 6, 8, 0, tzinfo=UTC)
    winter = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)  # late, within the grace
    assert slot_for(digest, winter, LONDON) == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    weekly = JOBS_BY_ID["weekly-digest"]
    assert slot_for(weekly, datetime(2026, 12, 10, 9, 0, tzinfo=UTC), LONDON) == datetime(
        2026, 12, 7, 9, 0, tzinfo=UTC
    )


def test_a_lease_is_taken_once_and_taken_over_only_when_it_expired(
    committing_engine: Engine, fake_slack: FakeSlack
) -> None:
    url = committing_engine.url.render_as_string(hide_password=False)
    deps = worker_deps(url, fake_slack, SimClock())
    factory, now, ttl = deps.session_factory, MONDAY, timedelta(minutes=4)
    try:
        slot = "2026-11-30T00:07Z"

        def take(holder: str, at: datetime) -> bool:
            return take_lease(factory, job_id="autopay", slot=slot, holder=holder, now=at, ttl=ttl)

        assert take("a", now) is True
        assert take("b", now) is False  # held
        assert take("b", now + timedelta(minutes=5)) is True  # a died; its lease expired
        assert take("c", now + timedelta(minutes=5)) is False
    finally:
        deps.engine.dispose()


def _seed(deps: Deps) -> None:
    """An account with a finance channel, an overdue invoice and a card expiring this month."""
    with transaction(deps.session_factory) as session:
        account = make_account(session, now=MONDAY - timedelta(days=30), admin_user_id=ADMIN)
        set_finance_channel(
            session=session, account=account, channel_id=FINANCE_CHANNEL, actor=ADMIN, now=MONDAY
        )
        account.card_brand, account.card_last4 = "visa", "4242"
        account.card_exp_month, account.card_exp_year = 12, 2026
        service = next(s for s in pricing.active_services(session=session) if s.name == "Training")
        quote = pricing.quote_service_for(
            session=session,
            account=account,
            service_id=service.id,
            hours=Decimal(3),
            on=date(2026, 11, 1),
        )
        invoices.create_invoice(
            session=session,
            account=account,
            kind=InvoiceKind.SERVICES,
            quotes=[quote],
            actor=ADMIN,
            now=datetime(2026, 11, 1, 12, tzinfo=UTC),  # due 15 Nov: overdue all week
        )


def _fire_times(start: datetime, end: datetime) -> list[tuple[datetime, JobSpec]]:
    found = []
    for spec in JOBS:
        trigger = spec.trigger(LONDON)
        fire = trigger.get_next_fire_time(None, start)
        while fire is not None and fire < end:
            found.append((fire.astimezone(UTC), spec))
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return sorted(found, key=lambda item: (item[0], item[1].id))


def test_two_workers_on_one_database_run_each_job_once_per_slot_for_a_week(
    committing_engine: Engine, fake_slack: FakeSlack
) -> None:
    """Two workers, each with its own connections and clock, go through every fire time of
    every job over a week, each at its own pace: every slot runs exactly once.

    A week is about 2,900 slots; on SQLite, whose writers queue behind one lock anyway, one day
    is simulated to keep the suite quick, and the whole week on PostgreSQL (CI)."""
    url = committing_engine.url.render_as_string(hide_password=False)
    days = 7 if committing_engine.dialect.name == "postgresql" else 1
    clocks = [SimClock(), SimClock()]
    workers = [worker_deps(url, fake_slack, clock) for clock in clocks]
    _seed(workers[0])
    fake_slack.clear()
    executed: Counter[tuple[str, datetime]] = Counter()
    lock = threading.Lock()

    def recording(spec: JobSpec) -> JobSpec:
        def run(deps: Deps) -> str:
            with lock:
                executed[(spec.id, deps.clock())] += 1
            return spec.run(deps)

        return replace(spec, run=run)

    jobs = {spec.id: recording(spec) for spec in JOBS}
    runners = [
        JobRunner(deps, holder=f"worker-{name}", jobs=jobs)
        for deps, name in zip(workers, "ab", strict=True)
    ]
    slots = _fire_times(MONDAY, MONDAY + timedelta(days=days))
    start = threading.Barrier(2)

    def through_the_week(runner: JobRunner, clock: SimClock) -> int:
        start.wait(timeout=10)
        ran = 0
        for fire, spec in slots:
            clock.now = fire  # this worker's scheduler fires the job
            ran += runner.run(spec.id).ran
        return ran

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            ran = list(pool.map(through_the_week, runners, clocks))
    finally:
        for deps in workers:
            deps.engine.dispose()

    assert sum(ran) == len(slots)  # between them, each slot once (who won which is luck)
    expected = Counter({(spec.id, fire): 1 for fire, spec in slots})
    assert executed == expected
    by_job = Counter(spec.id for _, spec in slots)
    assert by_job == {
        "reconcile-payments": days * 24 * 12,
        "top-ups": days * 24 * 4,
        "autopay": days * 24,
        "daily-digest": days,
        "weekly-digest": 1,
        "reminders": days,
        "tidy-up": days,
    }
    with committing_engine.connect() as connection:
        leases = connection.execute(
            select(JobLease.holder, func.count())
            .where(JobLease.finished_at.is_not(None))
            .group_by(JobLease.holder)
        ).all()
        unfinished = connection.scalar(
            select(func.count()).select_from(JobLease).where(JobLease.finished_at.is_(None))
        )
    # A worker that won no slot (possible on a busy machine) holds no lease.
    assert sorted(count for _holder, count in leases) == sorted(count for count in ran if count)
    assert unfinished == 0
    # What the finance channel and the admin received over the week, each exactly once.
    texts = [c.params["text"] for c in fake_slack.calls("chat.postMessage")]
    finance = [
        c.params["text"]
        for c in fake_slack.calls("chat.postMessage")
        if c.params["channel"] == FINANCE_CHANNEL
    ]
    assert sum(t.startswith("Daily digest") for t in finance) == days
    assert sum(t.startswith("Weekly digest") for t in finance) == 1
    assert sum(t.startswith("Reminder: invoice INV-000001") for t in finance) == days
    # The card ends on 31 December: within 30 days from Tuesday 1st, then once that week.
    assert sum("expires in" in t for t in finance) == (1 if days > 1 else 0)
    assert sum(t.startswith("Acme Widgets Ltd has 1 overdue invoice") for t in texts) == days


def test_python_m_bot_worker_runs_one_job_or_schedules_all_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    database = tmp_path / "worker.db"
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{database}",
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        "STRIPE_API_KEY": "sk_test_worker",
        "STRIPE_API_BASE": "http://127.0.0.1:9",
        "LOG_LEVEL": "WARNING",
    }

    def worker(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bot", "worker", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    once = worker("--run", "tidy-up")  # migrates, then runs one job under its lease
    assert once.returncode == 0, once.stderr
    assert "0 old job leases removed" in once.stdout

    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "worker", "--no-migrate"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    engine = make_engine(f"sqlite:///{database}")
    try:
        deadline = time.monotonic() + 20
        while True:
            with engine.connect() as connection:
                stored = connection.scalar(select(func.count()).select_from(apscheduler_jobs))
            if stored == len(JOBS):
                break
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the worker never stored its jobs"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=20)
        assert process.returncode == 0, err
    finally:
        if process.poll() is None:
            process.kill()
        engine.dispose()
    assert os.path.exists(database)
