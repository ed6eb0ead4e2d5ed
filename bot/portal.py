"""Who is asking: the workspace's account and the person's role on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.accounts import account_for_team
from bot.errors import PermissionDenied
from bot.roles import NO_ACCESS, Action, require
from bot.users import role_of
from store.enums import EventSource, Role
from store.models import Account, ProcessedEvent

NO_ACCOUNT = (
    "This workspace has no Admin Portal account yet. A workspace admin or owner can set one "
    "up by running `/portal`."
)


@dataclass(frozen=True, slots=True)
class Visitor:
    """A Slack user as the portal sees them: maybe an account, maybe a role on it."""

    user_id: str
    account: Account | None
    role: Role | None

    def require(self, action: Action) -> Account:
        """The account, when this person's role allows `action`; else a polite refusal."""
        if self.account is None:
            raise PermissionDenied(NO_ACCOUNT)
        require(self.role, action)
        return self.account


def visit(*, session: Session, team_id: str, user_id: str) -> Visitor:
    account = account_for_team(session=session, team_id=team_id)
    role = None
    if account is not None:
        role = role_of(session=session, account_id=account.id, slack_user_id=user_id)
    return Visitor(user_id=user_id, account=account, role=role)


def first_time(*, session: Session, source: EventSource, key: str, now: datetime) -> bool:
    """Record `key` as processed; False when it already was (a retry or a double click)."""
    try:
        with session.begin_nested():
            session.add(ProcessedEvent(source=source, key=key[:255], processed_at=now))
    except IntegrityError:
        return False
    return True


__all__ = ["NO_ACCESS", "NO_ACCOUNT", "Visitor", "first_time", "visit"]
