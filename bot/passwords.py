"""The account's portal password: Argon2id hashes, a strength rule, and lockout.

No password is ever typed into Slack (docs/adr/0003-no-passwords-in-slack.md); these
functions serve the secure pages.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.orm import Session

from bot import audit
from bot.errors import FieldError
from store.models import Account, PasswordCredential

NEW_PASSWORD_FIELD = "new_password"  # noqa: S105 - a form field name
MIN_LENGTH = 12
MAX_LENGTH = 1024  # Argon2 takes any length; this stops a megabyte "password" wasting CPU
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)

_hasher = PasswordHasher()  # argon2-cffi's defaults: Argon2id, RFC 9106 low-memory profile


class CheckResult(enum.Enum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"
    NOT_SET = "not_set"


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    result: CheckResult
    attempts_left: int = 0
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.result is CheckResult.OK

    def message(self) -> str:
        """What to tell the person, in the portal's words."""
        if self.result is CheckResult.OK:
            return "Password confirmed."
        if self.result is CheckResult.NOT_SET:
            return "No password has been set for this account yet."
        if self.result is CheckResult.LOCKED and self.locked_until is not None:
            return (
                "Too many wrong passwords: the password is locked for 15 minutes, until "
                f"{self.locked_until:%H:%M} UTC."
            )
        tries = "try" if self.attempts_left == 1 else "tries"
        return (
            f"That password is not right. {self.attempts_left} {tries} left "
            "before a 15-minute lock."
        )


@cache
def _common_passwords() -> frozenset[str]:
    text = resources.files("bot").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def _trimmed(password: str) -> str:
    return password.lower().strip("0123456789!@#$%^&*()_+-=[]{};:'\",.<>/?\\|`~ ")


def _is_simple_run(password: str) -> bool:
    """One repeated character, or a short pattern repeated (abcabcabcabc, 121212121212)."""
    for size in range(1, len(password) // 2 + 1):
        unit = password[:size]
        if len(password) % size == 0 and unit * (len(password) // size) == password:
            return True
    return False


_LEGAL_SUFFIXES = frozenset(
    {"ltd", "limited", "plc", "llp", "lp", "inc", "llc", "gmbh", "ag", "sa", "sas", "bv", "srl"}
)


def _company_forms(company_name: str) -> set[str]:
    """The company name squashed to letters and digits, with and without "Ltd" and the like."""
    words = ["".join(ch for ch in word if ch.isalnum()) for word in company_name.lower().split()]
    words = [word for word in words if word]
    core = [word for word in words if word not in _LEGAL_SUFFIXES]
    return {"".join(words), "".join(core)}


def check_strength(password: str, *, company_name: str, email: str) -> None:
    """Refuse a weak new password with a `FieldError` that says what to change."""
    if len(password) < MIN_LENGTH:
        raise FieldError(NEW_PASSWORD_FIELD, f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise FieldError(NEW_PASSWORD_FIELD, f"Use at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    squashed = "".join(ch for ch in lowered if ch.isalnum())
    if any(len(name) >= 4 and name in squashed for name in _company_forms(company_name)):
        raise FieldError(NEW_PASSWORD_FIELD, "Don't use the company name in the password.")
    email = email.strip().lower()
    local_part = email.split("@", 1)[0]
    if email and (email in lowered or (len(local_part) >= 4 and local_part in lowered)):
        raise FieldError(
            NEW_PASSWORD_FIELD, "Don't use the account's email address in the password."
        )
    common = _common_passwords()
    if lowered in common or _trimmed(password) in common or _is_simple_run(lowered):
        raise FieldError(
            NEW_PASSWORD_FIELD,
            "That password is too common and easily guessed: try a few unrelated words.",
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def set_password(
    *,
    session: Session,
    account: Account,
    new_password: str,
    actor: str,
    now: datetime,
    ip_address: str | None = None,
) -> None:
    """Set the account's password after the strength rule; clears any lockout."""
    check_strength(new_password, company_name=account.company_name, email=account.contact_email)
    credential = session.get(PasswordCredential, account.id)
    hashed = hash_password(new_password)
    if credential is None:
        session.add(
            PasswordCredential(
                account_id=account.id, password_hash=hashed, failed_attempts=0, changed_at=now
            )
        )
    else:
        credential.password_hash = hashed
        credential.failed_attempts = 0
        credential.locked_until = None
        credential.changed_at = now
    audit.record(
        session=session,
        account_id=account.id,
        actor=actor,
        action="password.changed" if credential else "password.set",
        now=now,
        source="web",
        ip_address=ip_address,
    )


def verify_password(
    *, session: Session, account_id: int, password: str, now: datetime
) -> PasswordCheck:
    """Check `password`, counting failures: the fifth wrong one in a row locks for 15 minutes.

    Returns rather than raises, so the caller commits the failure count.
    """
    credential = session.get(PasswordCredential, account_id)
    if credential is None:
        return PasswordCheck(CheckResult.NOT_SET)
    if credential.locked_until is not None and now < credential.locked_until:
        return PasswordCheck(CheckResult.LOCKED, locked_until=credential.locked_until)
    try:
        _hasher.verify(credential.password_hash, password[: MAX_LENGTH + 1])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        credential.failed_attempts += 1
        if credential.failed_attempts >= MAX_FAILURES:
            credential.failed_attempts = 0
            credential.locked_until = now + LOCKOUT
            return PasswordCheck(CheckResult.LOCKED, locked_until=credential.locked_until)
        return PasswordCheck(
            CheckResult.WRONG, attempts_left=MAX_FAILURES - credential.failed_attempts
        )
    credential.failed_attempts = 0
    credential.locked_until = None
    if _hasher.check_needs_rehash(credential.password_hash):
        credential.password_hash = hash_password(password)
    return PasswordCheck(CheckResult.OK)
