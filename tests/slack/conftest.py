"""The real app over HTTP, a fake Slack Web API beside it, and signed requests between them.

`portal` is one running app for the whole session (SQLite file, werkzeug server on a random
port); the `app` fixture empties the database and the fake's records before each test.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from bot.deps import Deps, build_deps
from bot.sandbox.slack_api import FakeSlack, RecordedCall
from bot.sandbox.slack_requests import SlackRequestSender
from bot.server import BackgroundServer, build_web
from bot.settings import Settings
from bot.users import add_user
from store.db import make_engine, transaction
from store.enums import Role
from store.migrate import upgrade_to_head
from store.models import Account
from tests import ack_timing
from tests.conftest import NOW, reset_database
from tests.factories import make_account

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
TEAM_ID = "T0001"
ADMIN, FINANCE, VIEWER, STRANGER, WORKSPACE_ADMIN = (
    "UADMIN",
    "UFIN",
    "UVIEW",
    "USTRANGER",
    "UWSADMIN",
)
GENERAL, FINANCE_CHANNEL = "C0GENERAL", "C0FINANCE"


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now = self.now + timedelta(**delta)


@dataclass
class Portal:
    """The app under test and the means to talk to it like Slack does."""

    fake: FakeSlack
    sender: SlackRequestSender
    deps: Deps
    clock: Clock
    url: str
    account_ids: dict[str, int] = field(default_factory=dict)

    # -- state --------------------------------------------------------------------------

    def session(self) -> Any:
        return transaction(self.deps.session_factory)

    def read(self, fn: Callable[[Session], Any]) -> Any:
        """Read state back through the store, in its own transaction."""
        with self.session() as session:
            return fn(session)

    def make_account(self, *, country: str = "GB", vat_reference: str | None = None) -> int:
        """An account for the test workspace with an admin, a finance user and a viewer."""
        with self.session() as session:
            account = make_account(
                session,
                now=self.clock(),
                country=country,
                vat_reference=vat_reference,
                admin_user_id=ADMIN,
            )
            account.workspace.team_id = TEAM_ID
            for user, role in ((FINANCE, Role.FINANCE), (VIEWER, Role.VIEWER)):
                add_user(
                    session=session,
                    account=account,
                    slack_user_id=user,
                    role=role,
                    added_by=ADMIN,
                    now=self.clock(),
                )
            session.flush()
            return account.id

    def account(self) -> Account:
        with self.session() as session:
            account = session.query(Account).one()
            session.expunge(account)
            return account

    # -- requests -----------------------------------------------------------------------

    def command(self, user: str, text: str = "", **kwargs: Any) -> Any:
        response = self.sender.slash_command(user, text, **kwargs)
        assert response.status_code == 200, response.text
        return response

    def replies(self, user: str | None = None) -> list[RecordedCall]:
        """Private answers so far: response_url posts, ephemerals and DMs, oldest first."""
        answers = [
            call
            for call in self.fake.calls()
            if call.method in ("response_url", "chat.postEphemeral")
            or (
                call.method == "chat.postMessage"
                and str(call.params.get("channel", "")).startswith(("U", "D"))
            )
        ]
        if user is not None:
            answers = [
                c
                for c in answers
                if c.params.get("user", user) == user or c.params.get("channel") == user
            ]
        return answers

    def wait_reply(self, contains: str, timeout: float = 5.0) -> RecordedCall:
        """The first private answer whose text or blocks contain `contains`, waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            answers = self.replies()
            for call in answers:
                if contains in text_of(call.params):
                    return call
            if time.monotonic() > deadline:
                seen = [text_of(call.params)[:160] for call in answers]
                raise AssertionError(f"no answer containing {contains!r}; answers: {seen}")
            time.sleep(0.02)


def text_of(value: Any) -> str:
    """Every string inside a message or view, joined: what a person could read."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(text_of(v) for v in value.values())
    if isinstance(value, list):
        return "\n".join(text_of(v) for v in value)
    return ""


def action_ids(value: Any) -> set[str]:
    """Every `action_id` in a message or view."""
    found: set[str] = set()
    if isinstance(value, dict):
        if isinstance(value.get("action_id"), str):
            found.add(value["action_id"])
        for item in value.values():
            found |= action_ids(item)
    elif isinstance(value, list):
        for item in value:
            found |= action_ids(item)
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    fake = FakeSlack(bot_token=BOT_TOKEN, team_id=TEAM_ID).start()
    fake.add_user(ADMIN, "ada")
    fake.add_user(FINANCE, "fin")
    fake.add_user(VIEWER, "vic")
    fake.add_user(STRANGER, "sam")
    fake.add_user(WORKSPACE_ADMIN, "wendy", is_admin=True)
    fake.add_channel(GENERAL, "general")
    fake.add_channel(FINANCE_CHANNEL, "finance")
    database: Path = tmp_path_factory.mktemp("slack") / "portal.db"
    port = free_port()
    settings = Settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,  # type: ignore[arg-type]
        SLACK_SIGNING_SECRET=SIGNING_SECRET,  # type: ignore[arg-type]
        SLACK_API_URL=fake.api_url,
        DATABASE_URL=f"sqlite:///{database}",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
    )
    engine = make_engine(settings.DATABASE_URL)
    upgrade_to_head(engine)
    clock = Clock()
    deps = build_deps(settings, engine=engine, clock=clock)
    server = BackgroundServer(build_web(settings, deps), port=port).start()
    sender = SlackRequestSender(
        f"{server.url}/slack/events", SIGNING_SECRET, team_id=TEAM_ID, fake=fake
    )
    sender.session.hooks["response"].append(ack_timing.record)
    try:
        yield Portal(fake=fake, sender=sender, deps=deps, clock=clock, url=server.url)
    finally:
        sender.close()
        server.stop()
        fake.stop()
        engine.dispose()


@pytest.fixture
def app(portal: Portal) -> Portal:
    """The running app with an empty database, a fresh clock and no recorded Slack calls."""
    reset_database(portal.deps.engine)
    portal.fake.clear()
    portal.clock.now = NOW
    return portal
