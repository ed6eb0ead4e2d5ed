"""The worker: APScheduler 3 runs the jobs of `bot/jobs.py`, registered here and nowhere else.

`JOBS` is the one list: each job's explicit id, its cron schedule (in `APP_TIMEZONE`, so "09:00"
is 09:00 in London all year), how late a run may still start (`misfire_grace_time`) and how
long its lease lasts. Every job is added with `coalesce=True` (runs missed while the worker was
down become one) and `max_instances=1`, to a `SQLAlchemyJobStore` on the app's own database
(table `apscheduler_jobs`, created by migration 0005).

Several workers may run against one database (PostgreSQL). APScheduler 3 does not share work
between schedulers, so each run first takes a **lease**: a `job_leases` row keyed by (job id,
slot), the slot being the scheduled fire time the run belongs to. The insert is atomic (the
primary key decides), so of two workers waking for the same slot exactly one runs the job and
the other skips; a lease whose holder died is taken over once it expires; a finished lease is
never run again. The jobs are also safe to rerun on their own (their once-only effects are
guarded by unique keys), so a lease taken over after a crash repeats nothing that was done.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from prometheus_client import start_wsgi_server
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import jobs, metrics
from bot.deps import Deps
from bot.metrics import Metrics
from store.db import transaction
from store.models import JobLease, apscheduler_jobs

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

log = logging.getLogger(__name__)

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One scheduled job: what runs, when, how late it may start, how long its lease lasts."""

    id: str
    run: Callable[[Deps], str]
    cron: Mapping[str, str]  # CronTrigger fields, in APP_TIMEZONE
    period: timedelta  # the longest gap between two fire times
    grace: timedelta  # misfire_grace_time: a run this late still starts (coalesced)
    lease: timedelta  # a holder silent this long is presumed dead
    about: str

    def trigger(self, tz: ZoneInfo) -> CronTrigger:
        return CronTrigger(timezone=tz, **self.cron)


# The one place jobs are registered.
JOBS: tuple[JobSpec, ...] = (
    JobSpec(
        id="reconcile-payments",
        run=jobs.reconcile_payments,
        cron={"minute": "*/5"},
        period=5 * MINUTE,
        grace=4 * MINUTE,
        lease=4 * MINUTE,
        about="settle payments Stripe did not answer; tell the payer and the finance channel",
    ),
    JobSpec(
        id="top-ups",
        run=jobs.finish_top_ups,
        cron={"minute": "2-59/15"},
        period=15 * MINUTE,
        grace=10 * MINUTE,
        lease=10 * MINUTE,
        about="finish auto top-ups a usage report could not",
    ),
    JobSpec(
        id="autopay",
        run=jobs.run_autopay,
        cron={"minute": "7"},
        period=HOUR,
        grace=50 * MINUTE,
        lease=50 * MINUTE,
        about="charge invoices due today, and retries on days 1, 3 and 7, to the card on file",
    ),
    JobSpec(
        id="daily-digest",
        run=jobs.send_daily_digest,
        cron={"hour": "9", "minute": "0"},
        period=DAY,
        grace=3 * HOUR,
        lease=HOUR,
        about="each finance channel's daily digest",
    ),
    JobSpec(
        id="weekly-digest",
        run=jobs.send_weekly_digest,
        cron={"day_of_week": "mon", "hour": "9", "minute": "0"},
        period=7 * DAY,
        grace=3 * HOUR,
        lease=HOUR,
        about="each finance channel's weekly digest, on Mondays",
    ),
    JobSpec(
        id="reminders",
        run=jobs.send_reminders,
        cron={"hour": "10", "minute": "0"},
        period=DAY,
        grace=6 * HOUR,
        lease=HOUR,
        about="overdue invoices (daily) and cards expiring within 30 days (weekly)",
    ),
    JobSpec(
        id="tidy-up",
        run=jobs.tidy_up,
        cron={"hour": "3", "minute": "30"},
        period=DAY,
        grace=6 * HOUR,
        lease=HOUR,
        about="forget old job leases",
    ),
)
JOBS_BY_ID: dict[str, JobSpec] = {spec.id: spec for spec in JOBS}
JOB_STORE_TABLE = apscheduler_jobs.name


def slot_for(spec: JobSpec, now: datetime, tz: ZoneInfo) -> datetime:
    """The fire time a run at `now` belongs to: the latest one at or before `now`.

    A run that starts late (within the misfire grace) still belongs to its slot, so two
    workers, one on time and one late, agree on it. Before the first fire time of the lookback
    (a job started by hand), the minute itself is the slot.
    """
    trigger = spec.trigger(tz)
    cursor = now - spec.period - spec.grace
    latest = None
    while True:
        fire = trigger.get_next_fire_time(latest, cursor)
        if fire is None or fire > now:
            break
        latest = fire
        cursor = fire + timedelta(seconds=1)
    if latest is None:
        return now.astimezone(UTC).replace(second=0, microsecond=0)
    found: datetime = latest.astimezone(UTC)
    return found


def slot_key(slot: datetime) -> str:
    return slot.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


# -- Leases ---------------------------------------------------------------------------------------


def take_lease(
    session_factory: sessionmaker[Session],
    *,
    job_id: str,
    slot: str,
    holder: str,
    now: datetime,
    ttl: timedelta,
) -> bool:
    """Take the (job, slot) lease; False when another holder has it, or the slot has run."""
    try:
        with transaction(session_factory) as session:
            session.add(
                JobLease(
                    job_id=job_id, slot=slot, holder=holder, taken_at=now, expires_at=now + ttl
                )
            )
        return True  # the primary key was ours (a concurrent insert waits, then fails)
    except IntegrityError:
        pass
    # Held, or done. Only a lease left unfinished past its expiry can be taken over, and the
    # condition is checked by the update itself, so two takers cannot both win.
    with transaction(session_factory) as session:
        taken = session.execute(
            update(JobLease)
            .where(
                JobLease.job_id == job_id,
                JobLease.slot == slot,
                JobLease.finished_at.is_(None),
                JobLease.expires_at < now,
            )
            .values(holder=holder, taken_at=now, expires_at=now + ttl)
        )
        return bool(taken.rowcount)  # type: ignore[attr-defined]


def finish_lease(
    session_factory: sessionmaker[Session],
    *,
    job_id: str,
    slot: str,
    holder: str,
    now: datetime,
    outcome: str,
) -> None:
    with transaction(session_factory) as session:
        session.execute(
            update(JobLease)
            .where(JobLease.job_id == job_id, JobLease.slot == slot, JobLease.holder == holder)
            .values(finished_at=now, outcome=outcome[:500])
        )


def release_lease(
    session_factory: sessionmaker[Session], *, job_id: str, slot: str, holder: str, now: datetime
) -> None:
    """A run that failed lets the lease expire now, so a later run of the slot may try again."""
    with transaction(session_factory) as session:
        session.execute(
            update(JobLease)
            .where(
                JobLease.job_id == job_id,
                JobLease.slot == slot,
                JobLease.holder == holder,
                JobLease.finished_at.is_(None),
            )
            .values(expires_at=now, outcome="failed")
        )


# -- Running a job -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunResult:
    job_id: str
    slot: str
    ran: bool
    outcome: str  # the job's summary, "skipped: ..." or "failed: ..."


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class JobRunner:
    """Runs one job for its slot, under the slot's lease. One per worker process."""

    deps: Deps
    holder: str = field(default_factory=default_holder)
    jobs: Mapping[str, JobSpec] = field(default_factory=lambda: dict(JOBS_BY_ID))

    def run(self, job_id: str, *, at: datetime | None = None) -> RunResult:
        spec = self.jobs[job_id]
        now = at or self.deps.clock()
        slot = slot_key(slot_for(spec, now, self.deps.settings.timezone))
        factory = self.deps.session_factory
        if not take_lease(
            factory, job_id=job_id, slot=slot, holder=self.holder, now=now, ttl=spec.lease
        ):
            log.info("job %s (%s): another worker has it, or it ran; skipped", job_id, slot)
            metrics.job_ran(self.deps.engine, job_id, "skipped")
            return RunResult(job_id, slot, ran=False, outcome="skipped: lease held")
        started = time.perf_counter()
        try:
            outcome = spec.run(self.deps)
        except Exception as exc:  # the scheduler's thread must live on; the lease says it failed
            log.exception("job %s (%s) failed", job_id, slot)
            metrics.job_ran(self.deps.engine, job_id, "failed", time.perf_counter() - started)
            release_lease(
                factory, job_id=job_id, slot=slot, holder=self.holder, now=self.deps.clock()
            )
            return RunResult(job_id, slot, ran=True, outcome=f"failed: {type(exc).__name__}")
        finish_lease(
            factory,
            job_id=job_id,
            slot=slot,
            holder=self.holder,
            now=self.deps.clock(),
            outcome=outcome,
        )
        log.info("job %s (%s): %s", job_id, slot, outcome)
        metrics.job_ran(self.deps.engine, job_id, "succeeded", time.perf_counter() - started)
        return RunResult(job_id, slot, ran=True, outcome=outcome)


# APScheduler's persistent job store keeps a job as a textual reference to a module-level
# function and its pickled arguments, so neither may hold the live engine or Slack client:
# the stored job is `run_scheduled_job(job_id)`, and it reaches the worker process's runner
# through here. Set by `Worker.start`, never at import.
_runner_lock = threading.Lock()
_current_runner: JobRunner | None = None


def run_scheduled_job(job_id: str) -> None:
    """What APScheduler calls: the job, under its lease, by this process's runner."""
    with _runner_lock:
        runner = _current_runner
    if runner is None:
        log.error("job %s fired with no worker running in this process", job_id)
        return
    runner.run(job_id)


def build_scheduler(deps: Deps, *, blocking: bool) -> BaseScheduler:
    """APScheduler with every job of `JOBS`, its store on the app's database."""
    tz = deps.settings.timezone
    scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
    scheduler: BaseScheduler = scheduler_class(
        jobstores={"default": SQLAlchemyJobStore(engine=deps.engine, tablename=JOB_STORE_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=tz,
    )
    for spec in JOBS:
        scheduler.add_job(
            run_scheduled_job,
            trigger=spec.trigger(tz),
            args=[spec.id],
            id=spec.id,
            name=spec.about,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(spec.grace.total_seconds()),
        )
    return scheduler


@dataclass
class Worker:
    """`python -m bot worker`: the scheduler and this process's job runner."""

    deps: Deps
    runner: JobRunner
    scheduler: BaseScheduler
    # Job runs and the payments jobs settle, served on WORKER_METRICS_PORT (bot/metrics.py).
    metrics: Metrics = field(default_factory=Metrics)
    _metrics_server: WSGIServer | None = None

    @classmethod
    def create(cls, deps: Deps, *, blocking: bool = True) -> Worker:
        return cls(deps, JobRunner(deps), build_scheduler(deps, blocking=blocking))

    def start(self) -> None:
        """Start scheduling (blocks for a blocking scheduler until `stop`)."""
        global _current_runner  # noqa: PLW0603 - see the note above `run_scheduled_job`
        with _runner_lock:
            _current_runner = self.runner
        self.metrics.attach(self.deps.engine)
        port = self.deps.settings.WORKER_METRICS_PORT
        if port is not None and self._metrics_server is None:
            host = self.deps.settings.HOST
            self._metrics_server, _ = start_wsgi_server(port, host, self.metrics.registry)
            log.info("worker metrics on http://%s:%s/metrics", host, port)
        log.info("worker %s: %s", self.runner.holder, ", ".join(f"{spec.id}" for spec in JOBS))
        self.scheduler.start()

    def stop(self) -> None:
        global _current_runner  # noqa: PLW0603 - see the note above `run_scheduled_job`
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()
            self._metrics_server = None
        with _runner_lock:
            if _current_runner is self.runner:
                _current_runner = None
