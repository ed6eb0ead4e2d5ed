"""One-time links and the password window, at the store level (rolled back after each test)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from bot import links
from bot.links import (
    LinkExpired,
    LinkInvalid,
    LinkUsed,
    issue_link,
    open_link,
    open_password_window,
    password_window_open,
    purge_expired_links,
    use_link,
    verify_signature,
)
from bot.settings import Settings
from store.enums import LinkPurpose
from store.models import OneTimeLink
from tests.conftest import NOW
from tests.factories import make_account

BASE_URL = "https://portal.example"
SECRET = "the-slack-signing-secret"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        SLACK_SIGNING_SECRET=SECRET,  # type: ignore[arg-type]
        PUBLIC_BASE_URL=BASE_URL,
    )


@pytest.fixture
def account_id(session: Session) -> int:
    return make_account(session, now=NOW, admin_user_id="UADMIN").id


def _issue(
    session: Session,
    settings: Settings,
    account_id: int,
    *,
    purpose: LinkPurpose = LinkPurpose.CONFIRM_PASSWORD,
    user: str = "UADMIN",
    channel_id: str | None = "CPORTAL",
) -> str:
    """The token of a new link."""
    url = issue_link(
        session=session,
        settings=settings,
        account_id=account_id,
        slack_user_id=user,
        purpose=purpose,
        channel_id=channel_id,
        now=NOW,
    )
    return url.rsplit("/", 1)[1]


@pytest.fixture
def statements(session: Session) -> Iterator[list[str]]:
    """Every SQL statement the session's connection runs from now on."""
    seen: list[str] = []
    connection = session.connection()

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(connection, "before_cursor_execute", record)
    yield seen
    event.remove(connection, "before_cursor_execute", record)


def test_a_link_names_its_page_and_carries_a_signed_random_token(
    session: Session, settings: Settings, account_id: int
) -> None:
    url = issue_link(
        session=session,
        settings=settings,
        account_id=account_id,
        slack_user_id="UADMIN",
        purpose=LinkPurpose.CHANGE_PASSWORD,
        channel_id=None,
        now=NOW,
    )
    prefix = f"{BASE_URL}/secure/change-password/"
    assert url.startswith(prefix)
    token = url.removeprefix(prefix)
    account, user, nonce, signature = token.split(".")
    assert (account, user) == (str(account_id), "UADMIN")
    assert len(nonce) == 43  # 32 random bytes (256 bits), base64url
    assert len(signature) == 43  # HMAC-SHA256
    assert verify_signature(settings=settings, token=token, purpose=LinkPurpose.CHANGE_PASSWORD)
    assert not verify_signature(
        settings=settings, token=token, purpose=LinkPurpose.CONFIRM_PASSWORD
    )
    other = _issue(session, settings, account_id, purpose=LinkPurpose.CHANGE_PASSWORD)
    assert other.split(".")[2] != nonce


def test_the_link_key_is_derived_not_the_signing_secret_itself(
    session: Session, settings: Settings, account_id: int
) -> None:
    token = _issue(session, settings, account_id)
    account, user, nonce, signature = token.split(".")
    message = "\n".join(("confirm_password", account, user, nonce)).encode()
    raw = hmac.new(SECRET.encode(), message, hashlib.sha256).digest()
    assert links._b64(raw) != signature
    other_secret = Settings(
        SLACK_SIGNING_SECRET="another-secret",  # type: ignore[arg-type]
        PUBLIC_BASE_URL=BASE_URL,
    )
    assert not verify_signature(
        settings=other_secret, token=token, purpose=LinkPurpose.CONFIRM_PASSWORD
    )


def test_only_the_hash_of_the_token_is_stored(
    session: Session, settings: Settings, account_id: int
) -> None:
    token = _issue(session, settings, account_id)
    row = session.scalars(select(OneTimeLink)).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    nonce, signature = token.split(".")[2:]
    for column in OneTimeLink.__table__.columns:
        value = str(getattr(row, column.key))
        assert token not in value
        assert nonce not in value
        assert signature not in value
    assert (row.purpose, row.account_id, row.slack_user_id, row.channel_id) == (
        LinkPurpose.CONFIRM_PASSWORD,
        account_id,
        "UADMIN",
        "CPORTAL",
    )
    assert row.expires_at == NOW + timedelta(minutes=10)
    assert row.used_at is None


def _replaced(index: int, value: str) -> Any:
    """Replace one part of `account.user.nonce.signature`."""

    def tamper(token: str) -> str:
        parts = token.split(".")
        parts[index] = value(parts[index]) if callable(value) else value
        return ".".join(parts)

    return tamper


def _flip_last(text: str) -> str:
    return text[:-1] + ("A" if text[-1] != "A" else "B")


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(_replaced(3, _flip_last), id="signature"),
        pytest.param(_replaced(2, _flip_last), id="random-part"),
        pytest.param(_replaced(1, "UOTHER"), id="user"),
        pytest.param(_replaced(0, lambda account: str(int(account) + 1)), id="account"),
        pytest.param(lambda token: token + "x", id="appended"),
        pytest.param(lambda token: token[:20], id="truncated"),
        pytest.param(lambda token: "é" + token[1:], id="non-ascii"),
        pytest.param(lambda token: token * 3, id="too-long"),
        pytest.param(lambda token: "", id="empty"),
    ],
)
def test_a_forged_or_altered_token_is_refused_without_asking_the_database(
    session: Session,
    settings: Settings,
    account_id: int,
    statements: list[str],
    tamper: Any,
) -> None:
    token = _issue(session, settings, account_id)
    statements.clear()
    forged = tamper(token)
    assert forged != token
    with pytest.raises(LinkInvalid, match="not valid") as refused:
        open_link(
            session=session,
            settings=settings,
            token=forged,
            purpose=LinkPurpose.CONFIRM_PASSWORD,
            now=NOW,
        )
    assert type(refused.value) is LinkInvalid
    assert refused.value.http_status == 404
    assert statements == []


def test_a_genuine_token_is_looked_up_by_its_hash(
    session: Session, settings: Settings, account_id: int, statements: list[str]
) -> None:
    token = _issue(session, settings, account_id)
    statements.clear()
    link = open_link(
        session=session,
        settings=settings,
        token=token,
        purpose=LinkPurpose.CONFIRM_PASSWORD,
        now=NOW,
    )
    assert (link.account_id, link.slack_user_id) == (account_id, "UADMIN")
    assert len(statements) == 1
    assert "token_hash" in statements[0]


def test_a_link_is_bound_to_its_purpose_user_and_account(
    session: Session, settings: Settings, account_id: int
) -> None:
    token = _issue(session, settings, account_id, purpose=LinkPurpose.CONFIRM_PASSWORD)
    for purpose in (LinkPurpose.CHANGE_PASSWORD, LinkPurpose.SET_PASSWORD):
        with pytest.raises(LinkInvalid):
            open_link(session=session, settings=settings, token=token, purpose=purpose, now=NOW)
    # Someone holding the key could sign the same random part for another user or account;
    # that is a different token, which the database has never seen.
    _account, _user, nonce, _sig = token.split(".")
    key = links._link_key(settings)
    for other_account, other_user in ((account_id, "UOTHER"), (account_id + 1, "UADMIN")):
        signature = links._signature(
            key,
            purpose=LinkPurpose.CONFIRM_PASSWORD,
            account_id=other_account,
            slack_user_id=other_user,
            nonce=nonce,
        )
        resigned = f"{other_account}.{other_user}.{nonce}.{signature}"
        assert verify_signature(
            settings=settings, token=resigned, purpose=LinkPurpose.CONFIRM_PASSWORD
        )
        with pytest.raises(LinkInvalid):
            open_link(
                session=session,
                settings=settings,
                token=resigned,
                purpose=LinkPurpose.CONFIRM_PASSWORD,
                now=NOW,
            )


def test_a_link_lasts_ten_minutes(session: Session, settings: Settings, account_id: int) -> None:
    token = _issue(session, settings, account_id)
    purpose = LinkPurpose.CONFIRM_PASSWORD
    almost = NOW + timedelta(minutes=10) - timedelta(microseconds=1)
    open_link(session=session, settings=settings, token=token, purpose=purpose, now=almost)
    with pytest.raises(LinkExpired) as expired:
        open_link(
            session=session,
            settings=settings,
            token=token,
            purpose=purpose,
            now=NOW + timedelta(minutes=10),
        )
    assert expired.value.message == "This link has expired: ask for a new one with /portal."
    assert expired.value.http_status == 410


def test_a_link_opens_many_times_and_is_used_once(
    session: Session, settings: Settings, account_id: int
) -> None:
    token = _issue(session, settings, account_id)
    purpose = LinkPurpose.CONFIRM_PASSWORD
    for minutes in (0, 1, 5):
        link = open_link(
            session=session,
            settings=settings,
            token=token,
            purpose=purpose,
            now=NOW + timedelta(minutes=minutes),
        )
    use_link(session=session, link=link, now=NOW + timedelta(minutes=6))
    assert link.used_at == NOW + timedelta(minutes=6)
    with pytest.raises(LinkUsed, match="already been used") as used:
        open_link(session=session, settings=settings, token=token, purpose=purpose, now=NOW)
    assert used.value.http_status == 410
    with pytest.raises(LinkUsed):
        use_link(session=session, link=link, now=NOW + timedelta(minutes=7))


def test_the_database_decides_single_use_even_for_a_stale_copy(
    session: Session, settings: Settings, account_id: int
) -> None:
    token = _issue(session, settings, account_id)
    link = open_link(
        session=session,
        settings=settings,
        token=token,
        purpose=LinkPurpose.CONFIRM_PASSWORD,
        now=NOW,
    )
    # Another request used the link after this one loaded it.
    session.execute(
        update(OneTimeLink)
        .where(OneTimeLink.id == link.id)
        .values(used_at=NOW)
        .execution_options(synchronize_session=False)
    )
    assert link.used_at is None
    with pytest.raises(LinkUsed):
        use_link(session=session, link=link, now=NOW)


def test_expired_links_can_be_purged(session: Session, settings: Settings, account_id: int) -> None:
    _issue(session, settings, account_id)
    assert purge_expired_links(session=session, now=NOW + timedelta(minutes=9)) == 0
    assert purge_expired_links(session=session, now=NOW + timedelta(minutes=10)) == 1
    assert session.scalars(select(OneTimeLink)).all() == []


def test_links_need_a_signing_secret_a_public_address_and_a_user_id(
    session: Session, settings: Settings, account_id: int
) -> None:
    no_secret = Settings(PUBLIC_BASE_URL=BASE_URL)
    no_address = Settings(SLACK_SIGNING_SECRET=SECRET)  # type: ignore[arg-type]
    for incomplete in (no_secret, no_address):
        with pytest.raises(RuntimeError, match="must be set"):
            _issue(session, incomplete, account_id)
    with pytest.raises(ValueError, match="not a Slack user id"):
        _issue(session, settings, account_id, user="U1.2")


def test_the_password_window_lasts_fifteen_minutes_for_that_user_only(
    session: Session, account_id: int
) -> None:
    def is_open(user: str, minutes: float) -> bool:
        return password_window_open(
            session=session,
            account_id=account_id,
            slack_user_id=user,
            now=NOW + timedelta(minutes=minutes),
        )

    assert not is_open("UADMIN", 0)
    until = open_password_window(
        session=session, account_id=account_id, slack_user_id="UADMIN", now=NOW
    )
    assert until == NOW + timedelta(minutes=15)
    assert is_open("UADMIN", 0)
    assert is_open("UADMIN", 14.99)
    assert not is_open("UADMIN", 15)
    assert not is_open("UOTHER", 1)
    # Confirming again starts a new 15 minutes.
    open_password_window(
        session=session,
        account_id=account_id,
        slack_user_id="UADMIN",
        now=NOW + timedelta(minutes=10),
    )
    assert is_open("UADMIN", 24)
    assert not is_open("UADMIN", 25)
    links.close_password_windows(session=session, account_id=account_id)
    assert not is_open("UADMIN", 11)
