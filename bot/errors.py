"""The one family of errors a person is shown. Anything else is a bug, logged with a reference."""

from __future__ import annotations


class UserFacingError(Exception):
    """An error whose message is written for the person who caused it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FieldError(UserFacingError):
    """Bad input in one form field; shown under that field (`response_action: errors`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class PermissionDenied(UserFacingError):
    """The person's role does not allow the action."""


class NotFound(UserFacingError):
    """The thing asked for does not exist for this account."""


class InvalidTransition(UserFacingError):
    """A status change the state machine does not allow (paying a void invoice, say)."""


class PasswordRejected(UserFacingError):
    """A password was wrong, too weak or locked out; the message says which."""
