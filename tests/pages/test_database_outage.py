"""With the database out of reach, a secure page says so and asks to try again: 503, not 500."""

from __future__ import annotations

from html import unescape
from pathlib import Path

import pytest

from bot.deps import build_deps
from bot.links import issue_link
from bot.server import build_web
from bot.settings import Settings
from store.db import make_engine, make_session_factory, transaction
from store.enums import LinkPurpose
from store.migrate import upgrade_to_head
from tests.conftest import NOW
from tests.factories import make_account
from tests.pages.conftest import SIGNING_SECRET

# Nothing listens on port 1: every connection is refused at once.
NO_DATABASE = "postgresql+psycopg://root@127.0.0.1:1/portal"


def genuine_link(settings: Settings, purpose: LinkPurpose, folder: Path) -> str:
    """A link issued while the database was up (on a database of its own)."""
    engine = make_engine(f"sqlite:///{folder / 'issued.db'}")
    upgrade_to_head(engine)
    try:
        with transaction(make_session_factory(engine)) as session:
            account = make_account(session, now=NOW)
            url = issue_link(
                session=session,
                settings=settings,
                account_id=account.id,
                slack_user_id="UADMIN",
                purpose=purpose,
                channel_id=None,
                now=NOW,
            )
    finally:
        engine.dispose()
    return url.removeprefix(settings.PUBLIC_BASE_URL or "")


@pytest.mark.parametrize(
    ("purpose", "retry"),
    [
        (LinkPurpose.SET_PASSWORD, "Try again in a minute."),
        (LinkPurpose.CHANGE_PASSWORD, "Try again in a minute."),
        (LinkPurpose.ADD_CARD, "Try again in a minute: you will not be charged twice."),
        (LinkPurpose.PAY, "Try again in a minute: you will not be charged twice."),
    ],
)
def test_a_secure_page_asks_to_try_again_when_the_database_is_unreachable(
    purpose: LinkPurpose, retry: str, tmp_path: Path
) -> None:
    settings = Settings(
        SLACK_BOT_TOKEN="xoxb-unused",  # type: ignore[arg-type]
        SLACK_SIGNING_SECRET=SIGNING_SECRET,  # type: ignore[arg-type]
        DATABASE_URL=NO_DATABASE,
        PUBLIC_BASE_URL="https://portal.example",
        STRIPE_API_KEY="sk_test_unused",  # type: ignore[arg-type]
        STRIPE_PUBLISHABLE_KEY="pk_test_unused",
    )
    path = genuine_link(settings, purpose, tmp_path)
    deps = build_deps(settings)
    try:
        client = build_web(settings, deps).test_client()
        response = client.get(path)
    finally:
        deps.engine.dispose()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    page = unescape(response.get_data(as_text=True))
    assert f"We can't reach our records right now. {retry}" in page
    assert "Traceback" not in page
    assert response.headers["X-Frame-Options"] == "DENY"
