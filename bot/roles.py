"""Who may do what: the one permission table every entry point consults."""

from __future__ import annotations

import enum

from bot.errors import PermissionDenied
from store.enums import Role


class Action(enum.StrEnum):
    VIEW = "view"  # menu, Home, credits, invoices and their PDFs, card summary, users list
    BUY_CREDITS = "buy_credits"
    CREATE_SERVICE_INVOICE = "create_service_invoice"
    PAY_INVOICES = "pay_invoices"
    MANAGE_PAYMENT_DETAILS = "manage_payment_details"
    UPDATE_CONTACT_DETAILS = "update_contact_details"
    CHANGE_PASSWORD = "change_password"  # noqa: S105 - an action name
    MANAGE_USERS = "manage_users"
    SET_VAT_DETAILS = "set_vat_details"
    SET_FINANCE_CHANNEL = "set_finance_channel"


_EVERYONE = frozenset(Role)
_MONEY = frozenset({Role.ADMIN, Role.FINANCE})
_ADMIN = frozenset({Role.ADMIN})

PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.VIEW: _EVERYONE,
    Action.BUY_CREDITS: _MONEY,
    Action.CREATE_SERVICE_INVOICE: _MONEY,
    Action.PAY_INVOICES: _MONEY,
    Action.MANAGE_PAYMENT_DETAILS: _ADMIN,
    Action.UPDATE_CONTACT_DETAILS: _ADMIN,
    Action.CHANGE_PASSWORD: _ADMIN,
    Action.MANAGE_USERS: _ADMIN,
    Action.SET_VAT_DETAILS: _ADMIN,
    Action.SET_FINANCE_CHANNEL: _ADMIN,
}

NO_ACCESS = (
    "You don't have access to this account's Admin Portal. "
    "Ask one of its admins to add you with `/portal users`."
)


def can(role: Role | None, action: Action) -> bool:
    return role is not None and role in PERMISSIONS[action]


def require(role: Role | None, action: Action) -> Role:
    """Return `role` when it may do `action`; otherwise raise a polite `PermissionDenied`."""
    if role is None:
        raise PermissionDenied(NO_ACCESS)
    if role not in PERMISSIONS[action]:
        allowed = " or ".join(sorted(r.value for r in PERMISSIONS[action]))
        raise PermissionDenied(
            f"Only an account {allowed} can do that; you are a {role.value}. "
            "Ask one of the account's admins if you need it."
        )
    return role
