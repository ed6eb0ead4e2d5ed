from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from bot.errors import FieldError
from bot.passwords import CheckResult, set_password, verify_password
from store.models import PasswordCredential
from tests.conftest import NOW
from tests.factories import make_account

GOOD = "Tulips-in-Amsterdam-42"


def test_set_and_verify(session: Session) -> None:
    account = make_account(session, now=NOW)
    assert (
        verify_password(session=session, account_id=account.id, password=GOOD, now=NOW).result
        is CheckResult.NOT_SET
    )
    set_password(session=session, account=account, new_password=GOOD, actor="UADMIN", now=NOW)
    stored = session.get(PasswordCredential, account.id)
    assert stored is not None
    assert stored.password_hash.startswith("$argon2id$")
    assert GOOD not in stored.password_hash
    assert verify_password(session=session, account_id=account.id, password=GOOD, now=NOW).ok


def test_weak_password_changes_nothing(session: Session) -> None:
    account = make_account(session, now=NOW)
    set_password(session=session, account=account, new_password=GOOD, actor="UADMIN", now=NOW)
    with pytest.raises(FieldError, match="at least 12"):
        set_password(
            session=session, account=account, new_password="short", actor="UADMIN", now=NOW
        )
    assert verify_password(session=session, account_id=account.id, password=GOOD, now=NOW).ok


def test_five_wrong_passwords_lock_for_fifteen_minutes(session: Session) -> None:
    account = make_account(session, now=NOW)
    set_password(session=session, account=account, new_password=GOOD, actor="UADMIN", now=NOW)
    results = [
        verify_password(session=session, account_id=account.id, password=f"wrong-{n}", now=NOW)
        for n in range(5)
    ]
    assert [r.result for r in results] == [CheckResult.WRONG] * 4 + [CheckResult.LOCKED]
    assert [r.attempts_left for r in results[:4]] == [4, 3, 2, 1]
    assert results[4].locked_until == NOW + timedelta(minutes=15)
    assert "locked for 15 minutes" in results[4].message()

    # Even the right password is refused while locked.
    during = verify_password(
        session=session, account_id=account.id, password=GOOD, now=NOW + timedelta(minutes=14)
    )
    assert during.result is CheckResult.LOCKED
    after = verify_password(
        session=session, account_id=account.id, password=GOOD, now=NOW + timedelta(minutes=15)
    )
    assert after.ok


def test_a_success_resets_the_count(session: Session) -> None:
    account = make_account(session, now=NOW)
    set_password(session=session, account=account, new_password=GOOD, actor="UADMIN", now=NOW)
    for n in range(4):
        verify_password(session=session, account_id=account.id, password=f"wrong-{n}", now=NOW)
    assert verify_password(session=session, account_id=account.id, password=GOOD, now=NOW).ok
    result = verify_password(
        session=session, account_id=account.id, password="wrong-again", now=NOW
    )
    assert result.result is CheckResult.WRONG
    assert result.attempts_left == 4
