"""Credits and "Purchase credits": the balance, the live quote, confirmation, and who may buy."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.invoices import create_invoice, mark_paid
from bot.pricing import quote_credits_for
from bot.sandbox.slack_requests import plain_text
from bot.ui.ids import Act, Blk, Cb
from store.enums import InvoiceKind
from store.models import Account, Invoice
from tests.slack.conftest import (
    ADMIN,
    FINANCE,
    GENERAL,
    STRANGER,
    VIEWER,
    Portal,
    action_ids,
    text_of,
)

REFUSED = "Only an account admin or finance can do that; you are a viewer."


def invoice_count(app: Portal) -> int:
    return int(app.read(lambda s: s.scalar(select(func.count()).select_from(Invoice))))


def open_purchase(app: Portal, user: str = ADMIN, text: str = "") -> dict[str, Any]:
    app.command(user, f"buy {text}".strip())
    app.fake.wait_for("views.open")
    [modal] = app.fake.modal_stack(user)
    assert modal["callback_id"] == Cb.PURCHASE_CREDITS
    return modal


def quote_of(view: dict[str, Any]) -> str:
    [block] = [b for b in view["blocks"] if b.get("block_id") == Blk.QUOTE]
    return text_of(block)


def credits_state(text: str) -> dict[str, Any]:
    return {Blk.CREDITS: {Act.CREDITS_INPUT: plain_text(text)}}


def type_credits(app: Portal, text: str, user: str = ADMIN) -> str:
    """Type `text` into "Number of credits" and return the quote the modal then shows."""
    [modal] = app.fake.modal_stack(user)
    app.fake.clear()
    app.sender.block_action(
        user, Act.CREDITS_INPUT, value=text, view=modal, state_values=credits_state(text)
    )
    call = app.fake.wait_for("views.update")
    assert call.response["ok"], call.response
    return quote_of(app.fake.view(modal["id"]))


def submit(app: Portal, text: str, user: str = ADMIN) -> Any:
    [modal] = app.fake.modal_stack(user)[:1]
    return app.sender.view_submission(user, modal, credits_state(text))


def test_the_quote_changes_live_as_the_number_is_typed(app: Portal) -> None:
    app.make_account()
    modal = open_purchase(app)
    assert "Enter a number of credits to see the price." in quote_of(modal)
    assert "£0.90 for 100–499" in text_of(modal)
    element = modal["blocks"][0]["element"]
    assert modal["blocks"][0]["dispatch_action"] is True
    assert element["dispatch_action_config"] == {"trigger_actions_on": ["on_character_entered"]}

    quote = type_credits(app, "150")
    assert "*150 credits*" in quote
    assert "*Cost per credit:* £0.90" in quote
    assert "*Net total:* £135.00" in quote
    assert "*VAT at 20%:* £27.00" in quote
    assert "*Gross total:* £162.00" in quote
    update = app.fake.last("views.update").params
    assert update["view_id"] == modal["id"]
    assert update["hash"] == modal["hash"]


@pytest.mark.parametrize(
    ("customer", "vat_line", "gross", "wording"),
    [
        (("GB", None), "*VAT at 20%:* £27.00", "£162.00", "UK VAT at the standard rate"),
        (("DE", "DE136695976"), "*VAT (reverse charge):* £0.00", "£135.00", "Reverse charge"),
        (("DE", None), "*VAT at 20%:* £27.00", "£162.00", "no EU VAT reference"),
        (("US", None), "*VAT (outside the scope):* £0.00", "£135.00", "Outside the scope"),
    ],
)
def test_vat_follows_the_country_and_vat_reference(
    app: Portal, customer: tuple[str, str | None], vat_line: str, gross: str, wording: str
) -> None:
    country, vat_reference = customer
    app.make_account(country=country, vat_reference=vat_reference)
    modal = open_purchase(app, text="150")
    quote = quote_of(modal)
    assert "*Cost per credit:* £0.90" in quote
    assert "*Net total:* £135.00" in quote
    assert vat_line in quote
    assert f"*Gross total:* {gross}" in quote
    assert wording in quote


def test_portal_buy_n_opens_with_n_filled_in_and_priced(app: Portal) -> None:
    app.make_account()
    modal = open_purchase(app, text="150")
    assert modal["blocks"][0]["element"]["initial_value"] == "150"
    assert "*Gross total:* £162.00" in quote_of(modal)


def test_tier_boundaries_in_the_live_quote(app: Portal) -> None:
    app.make_account()
    open_purchase(app)
    expected = {
        "99": ("£1.00", "£99.00"),
        "100": ("£0.90", "£90.00"),
        "499": ("£0.90", "£449.10"),
        "500": ("£0.80", "£400.00"),
    }
    for typed, (each, net) in expected.items():
        quote = type_credits(app, typed)
        assert f"*Cost per credit:* {each}" in quote, typed
        assert f"*Net total:* {net}" in quote, typed


def test_a_bad_number_shows_its_message_instead_of_figures(app: Portal) -> None:
    app.make_account()
    open_purchase(app)
    quote = type_credits(app, "abc")
    assert "Enter a whole number of credits, like 150." in quote
    assert "£" not in quote
    assert "Enter at least 1 credit." in type_credits(app, "0")
    assert "Enter a number of credits to see the price." in type_credits(app, "")


def test_a_stale_keystroke_does_not_overwrite_a_newer_quote(app: Portal) -> None:
    app.make_account()
    stale = open_purchase(app)
    type_credits(app, "150")  # the modal's hash changes with this update
    app.fake.clear()
    app.sender.block_action(
        ADMIN, Act.CREDITS_INPUT, value="15", view=stale, state_values=credits_state("15")
    )
    call = app.fake.wait_for("views.update")
    assert call.response == {"ok": False, "error": "hash_conflict"}
    assert "*150 credits*" in quote_of(app.fake.modal_stack(ADMIN)[0])
    assert app.fake.calls("chat.postMessage") == []  # nobody is told about a harmless race


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "Enter at least 1 credit."),
        ("-5", "Enter at least 1 credit."),
        ("abc", "Enter a whole number of credits, like 150."),
        ("1.5", "Enter a whole number of credits, like 150."),
        (str(10**12), "You can buy at most 1,000,000 credits at a time."),
    ],
)
def test_confirm_with_a_bad_number_answers_under_the_field(
    app: Portal, typed: str, message: str
) -> None:
    app.make_account()
    open_purchase(app)
    response = submit(app, typed)
    assert response.json() == {"response_action": "errors", "errors": {Blk.CREDITS: message}}
    [modal] = app.fake.modal_stack(ADMIN)
    assert modal["errors"] == {Blk.CREDITS: message}
    assert invoice_count(app) == 0


def test_confirm_pushes_the_summary_without_charging_anything(app: Portal) -> None:
    app.make_account()
    open_purchase(app, text="150")
    response = submit(app, "150")
    assert response.json()["response_action"] == "push"
    root, confirm = app.fake.modal_stack(ADMIN)
    assert root["callback_id"] == Cb.PURCHASE_CREDITS
    assert confirm["callback_id"] == Cb.PURCHASE_CONFIRM
    text = text_of(confirm)
    for expected in (
        "*Number of credits*\n150",
        "*Cost per credit*\n£0.90",
        "*Net total*\n£135.00",
        "*VAT at 20%*\n£27.00",
        "*Gross total*\n£162.00",
    ):
        assert expected in text
    assert confirm["submit"]["text"] == "Pay Now"
    assert confirm["close"]["text"] == "Back"
    assert json.loads(confirm["private_metadata"]) == {"credits": 150, "channel": GENERAL}
    assert action_ids(confirm) == set()
    assert invoice_count(app) == 0


def test_pay_now_without_card_payments_set_up_says_so_and_changes_nothing(app: Portal) -> None:
    # This harness runs without Stripe; tests/payments/test_slack_payments.py pays for real.
    app.make_account()
    open_purchase(app, text="150")
    submit(app, "150")
    confirm = app.fake.modal_stack(ADMIN)[-1]
    answer = app.sender.view_submission(ADMIN, confirm, {}).json()
    assert answer["response_action"] == "update"
    assert "Card payments are not set up on this portal yet" in text_of(answer["view"])
    assert invoice_count(app) == 0


def test_finance_can_buy_credits(app: Portal) -> None:
    app.make_account()
    open_purchase(app, user=FINANCE)
    assert "*Gross total:* £90.00" in type_credits(app, "75", user=FINANCE)
    assert submit(app, "75", user=FINANCE).json()["response_action"] == "push"
    assert app.fake.modal_stack(FINANCE)[-1]["callback_id"] == Cb.PURCHASE_CONFIRM


def test_the_menu_button_opens_the_modal(app: Portal) -> None:
    app.make_account()
    app.sender.block_action(ADMIN, Act.MENU_BUY_CREDITS)
    app.fake.wait_for("views.open")
    assert app.fake.modal_stack(ADMIN)[0]["callback_id"] == Cb.PURCHASE_CREDITS


def test_a_viewer_cannot_buy_credits_any_way_in(app: Portal) -> None:
    app.make_account()
    admin_modal = open_purchase(app)

    app.command(VIEWER, "buy 150")
    app.wait_reply(REFUSED)
    app.fake.clear()
    app.sender.block_action(VIEWER, Act.MENU_BUY_CREDITS)
    app.fake.wait_for("response_url", lambda c: REFUSED in text_of(c.params))

    app.fake.clear()
    dispatched = app.sender.block_action(
        VIEWER, Act.CREDITS_INPUT, value="150", view=admin_modal, state_values=credits_state("150")
    )
    assert dispatched.status_code == 200  # acknowledged at once, refused afterwards
    app.fake.wait_for("chat.postMessage", lambda c: REFUSED in text_of(c.params))
    assert app.fake.calls("views.update") == []

    crafted = app.sender.view_submission(VIEWER, admin_modal, credits_state("150"))
    answer = crafted.json()
    assert answer["response_action"] == "update"
    assert REFUSED in text_of(answer["view"])
    assert app.fake.calls("views.open") == []
    assert invoice_count(app) == 0


def test_someone_without_a_role_cannot_open_the_modal(app: Portal) -> None:
    app.make_account()
    app.command(STRANGER, "buy 10")
    app.wait_reply("You don't have access to this account's Admin Portal")
    assert app.fake.calls("views.open") == []


def _paid_purchase(session: Session, account: Account, quantity: int, app: Portal) -> str:
    quote = quote_credits_for(
        session=session, account=account, quantity=quantity, on=app.clock().date()
    )
    invoice = create_invoice(
        session=session,
        account=account,
        kind=InvoiceKind.CREDITS,
        quotes=[quote],
        actor=ADMIN,
        now=app.clock(),
    )
    mark_paid(session=session, invoice=invoice, now=app.clock(), actor=ADMIN)
    return invoice.number


def test_credits_shows_the_balance_and_each_purchase(app: Portal) -> None:
    account_id = app.make_account()

    def buy(session: Session) -> list[str]:
        account = session.get_one(Account, account_id)
        first = _paid_purchase(session, account, 150, app)
        app.clock.advance(days=3)
        return [first, _paid_purchase(session, account, 500, app)]

    first, second = app.read(buy)
    app.command(VIEWER, "credits")
    reply = app.wait_reply("*Balance:* 650 credits")
    text = text_of(reply.params)
    assert f"27 Nov 2026 · 500 credits · invoice {second}" in text
    assert f"24 Nov 2026 · 150 credits · invoice {first}" in text
    assert text.index(second) < text.index(first)  # newest first
    assert Act.MENU_BUY_CREDITS not in action_ids(reply.params)  # a viewer cannot buy
    assert Act.RETURN_TO_ACCOUNT in action_ids(reply.params)

    app.fake.clear()
    app.sender.block_action(FINANCE, Act.MENU_CREDITS)
    reply = app.wait_reply("*Balance:* 650 credits")
    assert Act.MENU_BUY_CREDITS in action_ids(reply.params)


def test_credits_with_no_purchases(app: Portal) -> None:
    app.make_account()
    app.command(ADMIN, "credits")
    app.wait_reply("You haven't purchased any credits yet.")
