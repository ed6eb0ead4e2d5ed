"""Units of work: writers hold the write lock from the start; read-only ones never wait for it."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import DBAPIError

from bot.invoices import allocate_invoice_number
from store.db import make_session_factory, transaction
from store.models import InvoiceNumberCounter, Workspace
from tests.conftest import NOW


def counter(engine: Engine) -> int:
    with transaction(make_session_factory(engine), read_only=True) as session:
        return int(session.scalar(select(InvoiceNumberCounter.next_value)) or 0)


def test_a_read_only_unit_reads_while_a_writer_holds_the_database(
    committing_engine: Engine,
) -> None:
    factory = make_session_factory(committing_engine)
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with transaction(factory) as session:
            allocate_invoice_number(session=session)
            session.flush()
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        with transaction(factory, read_only=True) as session:
            seen = session.scalar(select(InvoiceNumberCounter.next_value))
        waited = time.monotonic() - started
    finally:
        release.set()
        thread.join(10)
    assert seen == 1  # the writer's uncommitted increment is not visible
    assert waited < 1.0  # and the reader did not queue behind it
    assert counter(committing_engine) == 2


def test_a_write_in_a_read_only_unit_is_refused_and_changes_nothing(
    committing_engine: Engine,
) -> None:
    factory = make_session_factory(committing_engine)

    def add_a_workspace() -> None:
        with transaction(factory, read_only=True) as session:
            session.add(Workspace(team_id="TREADONLY", name="Read only", created_at=NOW))

    def take_a_number() -> None:
        with transaction(factory, read_only=True) as session:
            allocate_invoice_number(session=session)

    with pytest.raises(DBAPIError):
        add_a_workspace()
    with pytest.raises(DBAPIError):
        take_a_number()
    with transaction(factory) as session:
        assert session.scalar(select(func.count()).select_from(Workspace)) == 0
    assert counter(committing_engine) == 1


def test_the_next_unit_on_the_same_connection_can_write_again(committing_engine: Engine) -> None:
    factory = make_session_factory(committing_engine)
    for _ in range(3):  # pooled connections alternate: the read-only mode never lingers
        with transaction(factory, read_only=True) as session:
            session.scalar(select(InvoiceNumberCounter.next_value))
        with transaction(factory) as session:
            allocate_invoice_number(session=session)
    assert counter(committing_engine) == 4


def test_sqlite_writers_that_read_first_still_queue_for_the_write_lock(
    committing_engine: Engine,
) -> None:
    """A writer reads, then writes what it read plus one: none of the increments is lost."""
    if committing_engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL writers lock rows (SELECT ... FOR UPDATE) instead")
    factory = make_session_factory(committing_engine)

    def increment() -> None:
        for _ in range(10):
            with transaction(factory) as session:
                value = session.scalar(select(InvoiceNumberCounter.next_value))
                time.sleep(0.001)  # let the others try to interleave
                session.execute(update(InvoiceNumberCounter).values(next_value=(value or 0) + 1))

    threads = [threading.Thread(target=increment) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert counter(committing_engine) == 41
