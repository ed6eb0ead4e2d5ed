"""Which database errors count as an outage, and what the person and the log are told.

Real errors from real databases: a SQLite file another connection holds locked, a PostgreSQL
port nobody listens on, a real unique-key violation (a bug, not an outage).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from handlers._support import error_text
from store.db import make_engine, unreachable
from tests.payments.conftest import free_port

OUTAGE = "We can't reach our records right now, so we couldn't finish that (reference "
BUG = "Sorry, something went wrong on our side (reference "
PARAMETER = "a-parameter-value-that-must-stay-out-of-logs"


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Iterator[tuple[Path, Engine]]:
    path = tmp_path / "portal.db"
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.1})
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE notes (body TEXT UNIQUE)")
    yield path, engine
    engine.dispose()


def _raised(engine: Engine, statement: str, **params: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught, engine.begin() as connection:
        connection.execute(text(statement), params)
    return caught.value


def test_a_locked_sqlite_file_is_an_outage_and_its_parameters_stay_out_of_the_log(
    sqlite_file: tuple[Path, Engine], caplog: pytest.LogCaptureFixture
) -> None:
    path, engine = sqlite_file
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the file
        error = _raised(engine, "INSERT INTO notes VALUES (:body)", body=PARAMETER)
    finally:
        holder.close()

    assert isinstance(error, OperationalError)
    assert "database is locked" in str(error)
    assert PARAMETER in str(error)  # SQLAlchemy's message carries the parameters...
    assert unreachable(error)
    with caplog.at_level(logging.WARNING, logger="handlers._support"):
        said = error_text(error)
    assert said.startswith(OUTAGE)
    assert said.endswith("). Please try again in a minute.")
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert "database is locked" in caplog.text
    assert PARAMETER not in caplog.text  # ...which the log line leaves out


def test_a_postgresql_server_nobody_answers_for_is_an_outage() -> None:
    engine = make_engine(f"postgresql+psycopg://root@127.0.0.1:{free_port()}/nowhere")
    try:
        with pytest.raises(OperationalError) as caught, engine.connect():
            pass
    finally:
        engine.dispose()
    assert unreachable(caught.value)
    assert error_text(caught.value).startswith(OUTAGE)


def _load_account(engine: Engine) -> None:
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        raise RuntimeError("could not load the account") from exc


def test_an_error_caused_by_an_outage_counts_as_one() -> None:
    engine = make_engine(f"postgresql+psycopg://root@127.0.0.1:{free_port()}/nowhere")
    try:
        with pytest.raises(RuntimeError) as caught:
            _load_account(engine)
    finally:
        engine.dispose()
    assert unreachable(caught.value)
    assert error_text(caught.value).startswith(OUTAGE)


def test_a_unique_key_violation_is_a_bug_not_an_outage(
    sqlite_file: tuple[Path, Engine], caplog: pytest.LogCaptureFixture
) -> None:
    _path, engine = sqlite_file
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO notes VALUES ('once')"))
    error = _raised(engine, "INSERT INTO notes VALUES ('once')")

    assert isinstance(error, IntegrityError)
    assert not unreachable(error)
    assert not unreachable(ValueError("not a database error at all"))
    with caplog.at_level(logging.ERROR, logger="handlers._support"):
        assert error_text(error).startswith(BUG)
    (record,) = caplog.records
    assert record.exc_info is not None  # a bug keeps its traceback for whoever fixes it
