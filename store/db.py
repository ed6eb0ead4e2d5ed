"""Engines and session factories. Transactions are framed by callers, never here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite files get their folder created, foreign keys and WAL on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if parsed.get_backend_name() == "postgresql":
        # A database behind a network partition fails a new connection in seconds, rather than
        # holding a Slack listener (or /healthz) for the operating system's TCP timeout.
        kwargs.setdefault("connect_args", {}).setdefault("connect_timeout", 5)
    return create_engine(url, **kwargs)


READ_ONLY = "portal_read_only"  # execution option: this transaction only reads


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling starts transactions lazily and skips BEGIN before
    # SELECT, so two writers can interleave; take over and emit BEGIN IMMEDIATE ourselves so a
    # transaction that will write holds the write lock from its first statement.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database and engine.url.database != ":memory:":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    # A read-only unit of work (`transaction(..., read_only=True)`) needs no write lock: in WAL
    # mode a deferred BEGIN reads a snapshot, never waits for the writer and never holds it
    # up. `PRAGMA query_only` makes any write inside it fail rather than slip through.
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = bool(connection.get_execution_options().get(READ_ONLY, False))
        if connection.info.get(READ_ONLY, False) != read_only:  # the DBAPI connection's mode
            connection.exec_driver_sql(f"PRAGMA query_only = {int(read_only)}")
            connection.info[READ_ONLY] = read_only
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session], *, read_only: bool = False) -> Iterator[Session]:
    """One unit of work: commit when the block ends normally, roll back when it raises.

    A `read_only` one only reads, and the database refuses any write in it: on SQLite it takes
    no write lock (so it neither waits for writers nor delays them), on PostgreSQL it is a
    `READ ONLY` transaction. Anything that writes, or reads to decide a write, leaves it off.
    """
    with factory() as session, session.begin():
        if read_only:
            options: dict[str, Any] = {READ_ONLY: True}
            if session.get_bind().dialect.name == "postgresql":
                options["postgresql_readonly"] = True
            session.connection(execution_options=options)
        yield session


def unreachable(error: BaseException | None) -> bool:
    """Whether `error` (or what caused it) says the database can't be used just now.

    Connection refused or dropped, the server gone away, a pool with no connection to give, a
    SQLite file locked past its busy timeout: an outage to wait out, not a bug. Callers answer
    "try again shortly" (503 on HTTP) instead of reporting an unexpected error.
    """
    for _depth in range(5):  # an exception chain of our own making is never deeper
        if error is None:
            return False
        if isinstance(error, sa_exc.OperationalError | sa_exc.TimeoutError):
            return True
        if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
            return True
        error = error.__cause__
    return False
