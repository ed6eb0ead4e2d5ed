import pytest
from sqlalchemy.orm import Session

from bot.errors import FieldError, NotFound, UserFacingError
from bot.users import add_user, change_role, list_users, remove_user, role_of
from store.enums import Role
from tests.conftest import NOW
from tests.factories import make_account


def test_add_change_and_remove(session: Session) -> None:
    account = make_account(session, now=NOW)
    add_user(
        session=session,
        account=account,
        slack_user_id="UFIN",
        role=Role.FINANCE,
        added_by="UADMIN",
        now=NOW,
    )
    assert role_of(session=session, account_id=account.id, slack_user_id="UFIN") is Role.FINANCE
    change_role(
        session=session,
        account=account,
        slack_user_id="UFIN",
        role=Role.VIEWER,
        actor="UADMIN",
        now=NOW,
    )
    assert role_of(session=session, account_id=account.id, slack_user_id="UFIN") is Role.VIEWER
    users = list_users(session=session, account_id=account.id)
    assert [(u.slack_user_id, u.role, u.added_by) for u in users] == [
        ("UADMIN", Role.ADMIN, "UADMIN"),
        ("UFIN", Role.VIEWER, "UADMIN"),
    ]
    remove_user(session=session, account=account, slack_user_id="UFIN", actor="UADMIN", now=NOW)
    assert role_of(session=session, account_id=account.id, slack_user_id="UFIN") is None


def test_adding_someone_twice_is_a_field_error(session: Session) -> None:
    account = make_account(session, now=NOW)
    with pytest.raises(
        FieldError, match=r"^That person is already a user of this account"
    ) as caught:
        add_user(
            session=session,
            account=account,
            slack_user_id="UADMIN",
            role=Role.VIEWER,
            added_by="UADMIN",
            now=NOW,
        )
    assert caught.value.field == "user"


def test_the_last_admin_cannot_be_removed_or_demoted(session: Session) -> None:
    account = make_account(session, now=NOW)
    with pytest.raises(UserFacingError, match="only admin"):
        remove_user(
            session=session, account=account, slack_user_id="UADMIN", actor="UADMIN", now=NOW
        )
    with pytest.raises(UserFacingError, match="only admin"):
        change_role(
            session=session,
            account=account,
            slack_user_id="UADMIN",
            role=Role.FINANCE,
            actor="UADMIN",
            now=NOW,
        )
    assert role_of(session=session, account_id=account.id, slack_user_id="UADMIN") is Role.ADMIN
    add_user(
        session=session,
        account=account,
        slack_user_id="UNEW",
        role=Role.ADMIN,
        added_by="UADMIN",
        now=NOW,
    )
    change_role(
        session=session,
        account=account,
        slack_user_id="UADMIN",
        role=Role.FINANCE,
        actor="UNEW",
        now=NOW,
    )
    with pytest.raises(UserFacingError, match="only admin"):
        remove_user(session=session, account=account, slack_user_id="UNEW", actor="UNEW", now=NOW)


def test_unknown_user_is_not_found(session: Session) -> None:
    account = make_account(session, now=NOW)
    with pytest.raises(NotFound, match="not a user of this account"):
        remove_user(
            session=session, account=account, slack_user_id="UNOBODY", actor="UADMIN", now=NOW
        )
