"""Shared fixtures: migrated databases (SQLite always, PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, update
from sqlalchemy.orm import Session

from store.db import make_engine
from store.migrate import upgrade_to_head
from store.models import Base, InvoiceNumberCounter

# Every log record of the run, through the app's JSON formatter, grepped for secrets at the end.
pytest_plugins = ["tests.log_audit"]

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
# Tables the migrations seed with prices; every other table is emptied between committing tests.
SEEDED = {"credit_price_tiers", "services", "invoice_number_counters"}

NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


def reset_database(engine: Engine) -> None:
    """Empty every table the tests write to and restart invoice numbering at 1."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in SEEDED:
                connection.execute(delete(table))
        connection.execute(
            update(InvoiceNumberCounter)
            .where(InvoiceNumberCounter.name == "invoice")
            .values(next_value=1)
        )


def drop_everything(engine: Engine) -> None:
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
        else:
            Base.metadata.drop_all(connection)
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def _backends() -> list[pytest.param]:  # type: ignore[valid-type]
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param(
            "postgresql",
            id="postgresql",
            marks=pytest.mark.skipif(not POSTGRES_URL, reason="TEST_DATABASE_URL is not set"),
        ),
    ]


@pytest.fixture(scope="session", params=_backends())
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A database migrated to head: a SQLite file, or the PostgreSQL at TEST_DATABASE_URL."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "portal.db"
        url = f"sqlite:///{path}"
    else:
        assert POSTGRES_URL is not None
        url = POSTGRES_URL
    engine = make_engine(url)
    drop_everything(engine)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back after the test."""
    with engine.connect() as connection:
        outer = connection.begin()
        session = Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            session.close()
            outer.rollback()


@pytest.fixture
def committing_engine(engine: Engine) -> Iterator[Engine]:
    """The same database for tests that commit for real (concurrency); emptied before and after."""
    reset_database(engine)
    yield engine
    reset_database(engine)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.ack_timing import summary  # noqa: PLC0415 - only when the suite ends

    line = summary()
    if line:
        terminalreporter.write_line(line)
