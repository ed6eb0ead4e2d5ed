"""One-time links to the secure pages, and the password window they open.

A link is `{PUBLIC_BASE_URL}/secure/{purpose}/{token}`. The token names its account and user,
carries 256 random bits and an HMAC-SHA256 over purpose, account, user and the random part,
keyed with a key derived from `SLACK_SIGNING_SECRET` for this use alone. A forged or altered
token is refused before the database is asked. The database keeps only the SHA-256 of the
token, when it expires (10 minutes) and when it was used: a link may be opened many times in
its 10 minutes and is used up when its form is completed (docs/adr/0003).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from bot.errors import UserFacingError
from bot.settings import Settings
from bot.ui.ids import PORTAL_COMMAND
from store.enums import LinkPurpose
from store.models import OneTimeLink, PasswordWindow

LINK_LIFETIME = timedelta(minutes=10)
PASSWORD_WINDOW = timedelta(minutes=15)

_NONCE_BYTES = 32  # 256 random bits
_KEY_LABEL = b"admin-portal/one-time-link/v1"  # domain separation from Slack request signing
_B64_32 = r"[A-Za-z0-9_-]{43}"  # 32 bytes, base64url without padding
# {account id}.{Slack user id}.{random}.{signature}
_TOKEN = re.compile(
    rf"(?P<account>[1-9][0-9]{{0,17}})\.(?P<user>[A-Z0-9]{{1,32}})"
    rf"\.(?P<nonce>{_B64_32})\.(?P<sig>{_B64_32})"
)
_USER_ID = re.compile(r"[A-Z0-9]{1,32}")
_MAX_TOKEN_LENGTH = 200


class LinkInvalid(UserFacingError):
    """The link is unknown, altered, or for another page. Shown as 404."""

    http_status = 404

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "This link is not valid. Links work only exactly as the portal sent them: "
            f"ask for a new one with {PORTAL_COMMAND}."
        )


class LinkExpired(LinkInvalid):
    """The link is older than 10 minutes. Shown as 410."""

    http_status = 410

    def __init__(self) -> None:
        super().__init__(f"This link has expired: ask for a new one with {PORTAL_COMMAND}.")


class LinkUsed(LinkInvalid):
    """The link's form was already completed. Shown as 410."""

    http_status = 410

    def __init__(self) -> None:
        super().__init__(
            f"This link has already been used: ask for a new one with {PORTAL_COMMAND}."
        )


def purpose_slug(purpose: LinkPurpose) -> str:
    """The path segment of a purpose: `confirm_password` -> `confirm-password`."""
    return purpose.value.replace("_", "-")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _link_key(settings: Settings) -> bytes:
    secret = settings.SLACK_SIGNING_SECRET
    if secret is None or not secret.get_secret_value():
        raise RuntimeError("SLACK_SIGNING_SECRET must be set to sign one-time links")
    return hmac.new(secret.get_secret_value().encode("utf-8"), _KEY_LABEL, hashlib.sha256).digest()


def _signature(
    key: bytes, *, purpose: LinkPurpose, account_id: int, slack_user_id: str, nonce: str
) -> str:
    # Every field is from a fixed alphabet without "\n", so the joined message is unambiguous.
    message = "\n".join((purpose.value, str(account_id), slack_user_id, nonce)).encode("ascii")
    return _b64(hmac.new(key, message, hashlib.sha256).digest())


def token_hash(token: str) -> str:
    """What the database keeps instead of the token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_link(
    *,
    session: Session,
    settings: Settings,
    account_id: int,
    slack_user_id: str,
    purpose: LinkPurpose,
    channel_id: str | None,
    now: datetime,
) -> str:
    """A new link for `slack_user_id` alone, to post to them ephemerally; valid 10 minutes."""
    if not settings.PUBLIC_BASE_URL:
        raise RuntimeError("PUBLIC_BASE_URL must be set to issue links to the secure pages")
    if not _USER_ID.fullmatch(slack_user_id):
        raise ValueError(f"not a Slack user id: {slack_user_id!r}")
    nonce = _b64(secrets.token_bytes(_NONCE_BYTES))
    signature = _signature(
        _link_key(settings),
        purpose=purpose,
        account_id=account_id,
        slack_user_id=slack_user_id,
        nonce=nonce,
    )
    token = f"{account_id}.{slack_user_id}.{nonce}.{signature}"
    session.add(
        OneTimeLink(
            token_hash=token_hash(token),
            purpose=purpose,
            account_id=account_id,
            slack_user_id=slack_user_id,
            channel_id=channel_id,
            created_at=now,
            expires_at=now + LINK_LIFETIME,
        )
    )
    session.flush()
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    return f"{base}/secure/{purpose_slug(purpose)}/{token}"


def verify_signature(*, settings: Settings, token: str, purpose: LinkPurpose) -> bool:
    """Whether `token` was signed by this app for `purpose`. Pure: no database."""
    if len(token) > _MAX_TOKEN_LENGTH:
        return False
    match = _TOKEN.fullmatch(token)
    if match is None:
        return False
    expected = _signature(
        _link_key(settings),
        purpose=purpose,
        account_id=int(match["account"]),
        slack_user_id=match["user"],
        nonce=match["nonce"],
    )
    return hmac.compare_digest(expected.encode("ascii"), match["sig"].encode("ascii"))


def open_link(
    *, session: Session, settings: Settings, token: str, purpose: LinkPurpose, now: datetime
) -> OneTimeLink:
    """The link behind `token`, when it is genuine, for `purpose`, unexpired and unused."""
    if not verify_signature(settings=settings, token=token, purpose=purpose):
        raise LinkInvalid
    link = session.scalar(select(OneTimeLink).where(OneTimeLink.token_hash == token_hash(token)))
    account, user = token.split(".", 2)[:2]
    if (
        link is None
        or link.purpose != purpose
        or str(link.account_id) != account
        or link.slack_user_id != user
    ):
        raise LinkInvalid
    if link.used_at is not None:
        raise LinkUsed
    if now >= link.expires_at:
        raise LinkExpired
    return link


def use_link(*, session: Session, link: OneTimeLink, now: datetime) -> None:
    """Use the link up. The database decides, so two forms sent at once cannot both count."""
    result = cast(
        "CursorResult[Any]",
        session.execute(
            update(OneTimeLink)
            .where(OneTimeLink.id == link.id, OneTimeLink.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        raise LinkUsed
    link.used_at = now


def purge_expired_links(*, session: Session, now: datetime) -> int:
    """Delete links that can no longer be used (expired); returns how many went."""
    result = cast(
        "CursorResult[Any]",
        session.execute(delete(OneTimeLink).where(OneTimeLink.expires_at <= now)),
    )
    return result.rowcount


def open_password_window(
    *, session: Session, account_id: int, slack_user_id: str, now: datetime
) -> datetime:
    """Let this user make sensitive changes from Slack for 15 minutes; returns until when."""
    until = now + PASSWORD_WINDOW
    window = session.get(PasswordWindow, (account_id, slack_user_id))
    if window is None:
        session.add(
            PasswordWindow(
                account_id=account_id, slack_user_id=slack_user_id, confirmed_until=until
            )
        )
    else:
        window.confirmed_until = until
    session.flush()
    return until


def password_window_open(
    *, session: Session, account_id: int, slack_user_id: str, now: datetime
) -> bool:
    """Whether this user confirmed the account's password in the last 15 minutes."""
    window = session.get(PasswordWindow, (account_id, slack_user_id))
    return window is not None and now < window.confirmed_until


def close_password_windows(*, session: Session, account_id: int) -> None:
    """End every user's window on the account (the password they confirmed has changed)."""
    session.execute(delete(PasswordWindow).where(PasswordWindow.account_id == account_id))
