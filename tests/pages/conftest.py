"""The secure pages served for real: Flask on a random 127.0.0.1 port, a fake Slack, a clock.

The helpers (`Clock`, `SecurePagesServer`, `seed_account`) are plain code so the browser tests
can run the same server; the fixtures below wire them for `tests/pages`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from sqlalchemy import Engine
from werkzeug.serving import BaseWSGIServer, make_server

from bot import pages
from bot.accounts import set_finance_channel
from bot.deps import Deps, build_deps
from bot.links import issue_link
from bot.passwords import hash_password
from bot.sandbox.slack_api import FakeSlack
from bot.settings import Settings
from bot.users import add_user
from store.db import transaction
from store.enums import LinkPurpose, Role
from store.models import Account, PasswordCredential
from tests.conftest import NOW, reset_database
from tests.factories import make_account

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

PASSWORD = "Tulips-in-Amsterdam-42"
ADMIN = "UADMIN"
VIEWER = "UVIEWER"
PORTAL_CHANNEL = "CPORTAL"
FINANCE_CHANNEL = "CFINANCE"
SIGNING_SECRET = "test-signing-secret-8f3a"


@dataclass
class Clock:
    """`Deps.clock` that tests move by hand."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class _LateApp:
    """A WSGI app set after the server has its port (the settings need the port first)."""

    def __init__(self) -> None:
        self.app: Flask | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)


def start_fake_slack() -> FakeSlack:
    fake = FakeSlack().start()
    fake.add_user(ADMIN, "Ada Admin")
    fake.add_user(VIEWER, "Vic Viewer")
    fake.add_channel(PORTAL_CHANNEL, "portal")
    fake.add_channel(FINANCE_CHANNEL, "finance")
    return fake


class SecurePagesServer:
    """Only the secure pages' blueprint in a bare Flask app, served by werkzeug in a thread."""

    def __init__(self, engine: Engine, slack: FakeSlack) -> None:
        self.slack = slack
        self.clock = Clock()
        self._late = _LateApp()
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, self._late, threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self.settings = Settings(
            SLACK_BOT_TOKEN="xoxb-test-token",  # type: ignore[arg-type]
            SLACK_SIGNING_SECRET=SIGNING_SECRET,  # type: ignore[arg-type]
            SLACK_API_URL=slack.api_url,
            DATABASE_URL=engine.url.render_as_string(hide_password=False),
            PUBLIC_BASE_URL=self.base_url,
        )
        self.deps: Deps = build_deps(self.settings, engine=engine, clock=self.clock)
        app = Flask(__name__)
        app.register_blueprint(pages.blueprint(self.settings, self.deps))
        self._late.app = app
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="secure-pages",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def link(
        self,
        purpose: LinkPurpose,
        account_id: int,
        *,
        user: str = ADMIN,
        channel_id: str | None = PORTAL_CHANNEL,
    ) -> str:
        with transaction(self.deps.session_factory) as session:
            return issue_link(
                session=session,
                settings=self.settings,
                account_id=account_id,
                slack_user_id=user,
                purpose=purpose,
                channel_id=channel_id,
                now=self.clock(),
            )


@functools.cache
def _hash_of(password: str) -> str:
    return hash_password(password)


def seed_account(
    server: SecurePagesServer, *, password: str | None = PASSWORD, finance: bool = True
) -> int:
    """An account whose admin is ADMIN (and VIEWER a viewer), with a password and channel."""
    with transaction(server.deps.session_factory) as session:
        account = make_account(session, now=NOW, admin_user_id=ADMIN)
        if password is not None:
            # The real Argon2id hash, computed once: hashing takes a third of a second.
            session.add(
                PasswordCredential(
                    account_id=account.id,
                    password_hash=_hash_of(password),
                    failed_attempts=0,
                    changed_at=NOW,
                )
            )
        add_user(
            session=session,
            account=account,
            slack_user_id=VIEWER,
            role=Role.VIEWER,
            added_by=ADMIN,
            now=NOW,
        )
        if finance:
            set_finance_channel(
                session=session, account=account, channel_id=FINANCE_CHANNEL, actor=ADMIN, now=NOW
            )
        return account.id


def account_of(server: SecurePagesServer, account_id: int) -> Account:
    with transaction(server.deps.session_factory) as session:
        return session.get_one(Account, account_id)


@pytest.fixture(scope="session")
def fake_slack() -> Iterator[FakeSlack]:
    fake = start_fake_slack()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def pages_server(engine: Engine, fake_slack: FakeSlack) -> Iterator[SecurePagesServer]:
    server = SecurePagesServer(engine, fake_slack)
    yield server
    server.stop()


@pytest.fixture
def server(pages_server: SecurePagesServer, engine: Engine) -> Iterator[SecurePagesServer]:
    """The running server with an empty database, the clock at NOW, no Slack calls yet."""
    reset_database(engine)
    pages_server.clock.now = NOW
    pages_server.slack.clear()
    yield pages_server
    reset_database(engine)
