import pytest

from bot.errors import PermissionDenied
from bot.roles import PERMISSIONS, Action, can, require
from store.enums import Role

ADMIN_ONLY = {
    Action.MANAGE_PAYMENT_DETAILS,
    Action.UPDATE_CONTACT_DETAILS,
    Action.CHANGE_PASSWORD,
    Action.MANAGE_USERS,
    Action.SET_VAT_DETAILS,
    Action.SET_FINANCE_CHANNEL,
}
MONEY = {Action.BUY_CREDITS, Action.CREATE_SERVICE_INVOICE, Action.PAY_INVOICES}


def test_every_action_is_in_the_table() -> None:
    assert set(PERMISSIONS) == set(Action)


@pytest.mark.parametrize("action", list(Action))
def test_admin_does_everything(action: Action) -> None:
    assert can(Role.ADMIN, action)


@pytest.mark.parametrize("action", list(Action))
def test_finance_views_buys_creates_and_pays_only(action: Action) -> None:
    assert can(Role.FINANCE, action) == (action in MONEY or action is Action.VIEW)


@pytest.mark.parametrize("action", list(Action))
def test_viewer_only_views(action: Action) -> None:
    assert can(Role.VIEWER, action) == (action is Action.VIEW)


@pytest.mark.parametrize("action", list(Action))
def test_no_role_no_access(action: Action) -> None:
    assert not can(None, action)
    with pytest.raises(PermissionDenied, match="don't have access"):
        require(None, action)


def test_refusal_names_who_may() -> None:
    with pytest.raises(
        PermissionDenied, match="Only an account admin can do that; you are a viewer"
    ):
        require(Role.VIEWER, Action.MANAGE_USERS)
    with pytest.raises(PermissionDenied, match="admin or finance"):
        require(Role.VIEWER, Action.PAY_INVOICES)
    assert require(Role.FINANCE, Action.PAY_INVOICES) is Role.FINANCE
