"""The whole app with localstripe and the fake Slack, for the jobs, autopay and the usage API.

The payments tests' harness and fixtures (`tests/payments/conftest.py`), used here as they are:
imported into this folder, the session fixtures start a localstripe process and a fake Slack
of this folder's own, so these tests never disturb the payments tests'. Runs on every backend
of the `engine` fixture: SQLite always, PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import pytest

from bot.scheduler import JobRunner
from tests.payments.conftest import (
    USAGE_TOKEN,
    PaymentsHarness,
    app,
    localstripe,
    payments_slack,
    running_app,
)

__all__ = ["USAGE_TOKEN", "app", "localstripe", "payments_slack", "running_app"]


@pytest.fixture
def runner(app: PaymentsHarness) -> JobRunner:
    """The worker's job runner on the harness (its clock is the test's)."""
    return JobRunner(app.deps, holder="worker-a")
