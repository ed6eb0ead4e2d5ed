"""The whole app with localstripe and the fake Slack, for the jobs, autopay and the usage API.

The same harness as `tests/payments` (its classes are reused), started with a usage API token;
its own localstripe process and fake Slack, so these tests never disturb the payments tests'.
Runs on every backend of the `engine` fixture: SQLite always, PostgreSQL when TEST_DATABASE_URL
is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import Engine

from bot.deps import build_deps
from bot.payments import Payments
from bot.sandbox.slack_api import FakeSlack
from bot.scheduler import JobRunner
from bot.server import BackgroundServer, build_web
from tests.payments.conftest import (
    BOT_TOKEN,
    SIGNING_SECRET,
    Clock,
    LocalStripe,
    PaymentsHarness,
    free_port,
    gateway_for_tests,
    start_fake_slack,
    stripe_settings,
)

USAGE_TOKEN = "usage-token-for-the-tests"


def start_jobs_harness(
    engine: Engine, stripe_server: LocalStripe, slack: FakeSlack
) -> PaymentsHarness:
    port = free_port()
    settings = stripe_settings(
        stripe_server,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=engine.url.render_as_string(hide_password=False),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        USAGE_API_TOKEN=USAGE_TOKEN,
    )
    clock = Clock()
    deps = replace(
        build_deps(settings, engine=engine, clock=clock), gateway=gateway_for_tests(settings)
    )
    server = BackgroundServer(build_web(settings, deps), port=port).start()
    return PaymentsHarness(
        stripe_server=stripe_server,
        slack=slack,
        engine=engine,
        clock=clock,
        settings=settings,
        deps=deps,
        payments=Payments.from_deps(deps),
        server=server,
    )


@pytest.fixture(scope="session")
def jobs_stripe() -> Iterator[LocalStripe]:
    server = LocalStripe().start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def jobs_slack() -> Iterator[FakeSlack]:
    fake = start_fake_slack()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def jobs_app(
    engine: Engine, jobs_stripe: LocalStripe, jobs_slack: FakeSlack
) -> Iterator[PaymentsHarness]:
    harness = start_jobs_harness(engine, jobs_stripe, jobs_slack)
    yield harness
    harness.server.stop()


@pytest.fixture
def app(jobs_app: PaymentsHarness) -> PaymentsHarness:
    """The running app, an empty database and localstripe, no Slack calls, the clock at NOW."""
    if jobs_app.stripe_server._process is None:
        jobs_app.stripe_server.start()
    jobs_app.reset()
    return jobs_app


@pytest.fixture
def runner(app: PaymentsHarness) -> JobRunner:
    """The worker's job runner on the harness (its clock is the test's)."""
    return JobRunner(app.deps, holder="worker-a")
