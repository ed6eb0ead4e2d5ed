"""Account users and their roles. The last admin can be neither removed nor demoted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import audit
from bot.errors import FieldError, NotFound, UserFacingError
from store.enums import Role
from store.models import Account, AccountUser

USER_FIELD = "user"


def role_of(*, session: Session, account_id: int, slack_user_id: str) -> Role | None:
    return session.scalar(
        select(AccountUser.role).where(
            AccountUser.account_id == account_id, AccountUser.slack_user_id == slack_user_id
        )
    )


def list_users(*, session: Session, account_id: int) -> list[AccountUser]:
    return list(
        session.scalars(
            select(AccountUser)
            .where(AccountUser.account_id == account_id)
            .order_by(AccountUser.added_at, AccountUser.id)
        )
    )


def _lock_account(session: Session, account_id: int) -> None:
    # Serialises role changes on one account (PostgreSQL row lock; SQLite's write lock is
    # already held), so two admins demoting each other cannot leave the account with none.
    session.execute(select(Account.id).where(Account.id == account_id).with_for_update())


def _member(session: Session, account_id: int, slack_user_id: str) -> AccountUser:
    member = session.scalar(
        select(AccountUser).where(
            AccountUser.account_id == account_id, AccountUser.slack_user_id == slack_user_id
        )
    )
    if member is None:
        raise NotFound(f"<@{slack_user_id}> is not a user of this account.")
    return member


def _admin_count(session: Session, account_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(AccountUser)
            .where(AccountUser.account_id == account_id, AccountUser.role == Role.ADMIN)
        )
        or 0
    )


def add_user(
    *,
    session: Session,
    account: Account,
    slack_user_id: str,
    role: Role,
    added_by: str,
    now: datetime,
    name: str | None = None,
) -> AccountUser:
    """`name` (the person's name in Slack) words the error: it shows in a modal, where Slack
    renders no mentions."""
    _lock_account(session, account.id)
    existing = role_of(session=session, account_id=account.id, slack_user_id=slack_user_id)
    if existing is not None:
        raise FieldError(
            USER_FIELD,
            f"{name or 'That person'} is already a user of this account ({existing.value}).",
        )
    member = AccountUser(
        account_id=account.id,
        slack_user_id=slack_user_id,
        role=role,
        added_by=added_by,
        added_at=now,
    )
    session.add(member)
    audit.record(
        session=session,
        account_id=account.id,
        actor=added_by,
        action="user.added",
        now=now,
        user=slack_user_id,
        role=role.value,
    )
    return member


def change_role(
    *, session: Session, account: Account, slack_user_id: str, role: Role, actor: str, now: datetime
) -> AccountUser:
    _lock_account(session, account.id)
    member = _member(session, account.id, slack_user_id)
    if (
        member.role is Role.ADMIN
        and role is not Role.ADMIN
        and _admin_count(session, account.id) == 1
    ):
        raise UserFacingError(
            f"<@{slack_user_id}> is the account's only admin: make someone else an admin first."
        )
    previous = member.role
    member.role = role
    audit.record(
        session=session,
        account_id=account.id,
        actor=actor,
        action="user.role_changed",
        now=now,
        user=slack_user_id,
        previous=previous.value,
        role=role.value,
    )
    return member


def remove_user(
    *, session: Session, account: Account, slack_user_id: str, actor: str, now: datetime
) -> None:
    _lock_account(session, account.id)
    member = _member(session, account.id, slack_user_id)
    if member.role is Role.ADMIN and _admin_count(session, account.id) == 1:
        raise UserFacingError(
            f"<@{slack_user_id}> is the account's only admin and cannot be removed: "
            "make someone else an admin first."
        )
    session.delete(member)
    audit.record(
        session=session,
        account_id=account.id,
        actor=actor,
        action="user.removed",
        now=now,
        user=slack_user_id,
        role=member.role.value,
    )
