"""Pay Now, the pay modal and payment details, over signed Slack requests, against localstripe.

The whole app runs with Stripe (the `app` fixture of `tests/payments/conftest.py`: the real
`stripe` library over HTTP to localstripe) and the fake Slack Web API; the requests are the
signed payloads of `SlackRequestSender`, and `Portal` from the Slack scenario harness reads
what people were told. What is checked is what a person or a peer saw: the modal stack and
messages in the fake Slack, PaymentIntents read back from localstripe, and the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import credits
from bot.accounts import set_finance_channel
from bot.sandbox.slack_api import RecordedCall
from bot.sandbox.slack_requests import (
    SlackRequestSender,
    checkboxes,
    external_select,
    plain_text,
)
from bot.ui.ids import Act, Blk, Cb
from bot.ui.payments import SUCCESS
from store.enums import InvoiceStatus, PaymentStatus
from store.models import Account, Invoice, Payment
from tests.payments.conftest import (
    DECLINES,
    FINANCE_CHANNEL,
    NEEDS_AUTH,
    PORTAL_CHANNEL,
    SIGNING_SECRET,
    VISA,
    PaymentsHarness,
)
from tests.slack.conftest import ADMIN, FINANCE, TEAM_ID, VIEWER, Portal, action_ids, text_of

# 100 credits at £0.90 = £90.00 net, UK VAT 20% = £18.00, £108.00 gross.
GROSS_FOR_100 = 10800
REFUSED = "Only an account admin or finance can do that; you are a viewer."
ADMINS_ONLY = "Only an account admin can do that; you are a"


@pytest.fixture
def portal(app: PaymentsHarness) -> Iterator[Portal]:
    """The running app with Stripe, driven through signed Slack requests."""
    sender = SlackRequestSender(
        f"{app.url}/slack/events", SIGNING_SECRET, team_id=TEAM_ID, fake=app.slack
    )
    yield Portal(fake=app.slack, sender=sender, deps=app.deps, clock=app.clock, url=app.url)  # type: ignore[arg-type]
    sender.close()


def make_account(app: PaymentsHarness, portal: Portal, card: str | None = VISA) -> int:
    """The Slack workspace's account (ADMIN, FINANCE, VIEWER), its finance channel, a card."""
    account_id = portal.make_account()
    with app.session() as session:
        account = session.get_one(Account, account_id)
        set_finance_channel(
            session=session,
            account=account,
            channel_id=FINANCE_CHANNEL,
            actor=ADMIN,
            now=app.clock(),
        )
    if card is not None:
        app.save_card(account_id, card)
    app.slack.clear()
    return account_id


def command(portal: Portal, user: str, text: str) -> None:
    response = portal.sender.slash_command(
        user, text, channel_id=PORTAL_CHANNEL, channel_name="portal"
    )
    assert response.status_code == 200, response.text


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def told(portal: Portal, user: str, contains: str) -> list[RecordedCall]:
    """Ephemeral answers to `user` (or their DMs) containing `contains`."""
    return [
        call
        for call in portal.fake.calls()
        if call.method in ("chat.postEphemeral", "chat.postMessage", "response_url")
        and (call.params.get("user") == user or call.params.get("channel") == user)
        and contains in text_of(call.params)
    ]


def finance_notices(portal: Portal) -> list[RecordedCall]:
    return [
        call
        for call in portal.fake.calls("chat.postMessage")
        if call.params.get("channel") == FINANCE_CHANNEL
    ]


def balance(app: PaymentsHarness, account_id: int) -> int:
    return int(app.read(lambda s: credits.balance(session=s, account_id=account_id)))


def invoices(app: PaymentsHarness) -> list[Invoice]:
    return list(app.read(lambda s: list(s.scalars(select(Invoice).order_by(Invoice.id)))))


def confirmation(portal: Portal, user: str, quantity: int) -> dict[str, Any]:
    """`/portal buy N`, Confirm: the confirmation view with Pay Now, on top of the stack."""
    command(portal, user, f"buy {quantity}")
    modal = opened(portal, Cb.PURCHASE_CREDITS)
    state = {Blk.CREDITS: {Act.CREDITS_INPUT: plain_text(str(quantity))}}
    pushed = portal.sender.view_submission(user, modal, state)
    assert pushed.json()["response_action"] == "push"
    confirm = portal.fake.modal_stack(user)[-1]
    assert confirm["callback_id"] == Cb.PURCHASE_CONFIRM
    assert confirm["submit"]["text"] == "Pay Now"
    return confirm


def opened(portal: Portal, callback_id: Cb, method: str = "views.open") -> dict[str, Any]:
    """The view with `callback_id` that the app opened (or pushed), as Slack holds it."""
    call = portal.fake.wait_for(
        method, lambda c: (c.params.get("view") or {}).get("callback_id") == callback_id
    )
    assert call.response is not None
    assert call.response["ok"], call.response
    view_id = call.response["view"]["id"]
    return portal.fake.view(view_id)


def pay_now(portal: Portal, user: str, view: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Press Pay Now; the ack's answer, which must be the "Working…" view."""
    response = portal.sender.view_submission(user, view, kwargs.pop("values", {}), **kwargs)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def outcome_shown(portal: Portal, user: str, contains: str) -> dict[str, Any]:
    """The modal Pay Now left, once the outcome has replaced "Working…"."""
    portal.fake.wait_for("views.update", lambda c: contains in text_of(c.params.get("view")))
    top: dict[str, Any] = portal.fake.modal_stack(user)[-1]
    assert contains in text_of(top)
    return top


# -- Pay Now for a credits purchase ------------------------------------------------------------


def test_pay_now_for_100_credits_with_the_card_on_file(
    app: PaymentsHarness, portal: Portal
) -> None:
    account_id = make_account(app, portal)
    confirm = confirmation(portal, ADMIN, 100)
    assert "£108.00" in text_of(confirm)

    answer = pay_now(portal, ADMIN, confirm)
    assert answer["response_action"] == "update"
    assert "Paying for 100 credits" in text_of(answer["view"])

    reply = portal.wait_reply(SUCCESS)
    assert reply.method == "chat.postEphemeral"
    assert (reply.params["channel"], reply.params["user"]) == (PORTAL_CHANNEL, ADMIN)
    text = text_of(reply.params)
    assert "£108.00 paid for invoice INV-000001 with Visa •••• 4242." in text
    assert "100 credits added: the balance is now 100 credits." in text
    assert Act.RETURN_TO_ACCOUNT in action_ids(reply.params)
    # One PaymentIntent at Stripe for the gross amount; the invoice paid; the credits granted.
    intents = app.stripe_server.payment_intents()
    assert [(pi["amount"], pi["currency"], pi["status"]) for pi in intents] == [
        (GROSS_FOR_100, "gbp", "succeeded")
    ]
    [invoice] = invoices(app)
    assert (invoice.number, invoice.status, invoice.gross_minor) == (
        "INV-000001",
        InvoiceStatus.PAID,
        GROSS_FOR_100,
    )
    assert balance(app, account_id) == 100
    [payment] = app.payment_rows()
    assert payment.stripe_payment_intent_id == intents[0]["id"]
    # The finance channel is told, and the modal shows the outcome in place of "Working…".
    portal.fake.wait_for(
        "chat.postMessage",
        lambda c: (
            c.params.get("channel") == FINANCE_CHANNEL
            and "Payment received: £108.00 for invoice INV-000001" in c.params["text"]
        ),
    )
    shown = outcome_shown(portal, ADMIN, SUCCESS)
    assert shown["clear_on_close"] is True
    assert Act.RETURN_TO_ACCOUNT not in action_ids(shown)


def test_the_same_pay_now_twice_and_a_slack_retry_charge_once(
    app: PaymentsHarness, portal: Portal
) -> None:
    account_id = make_account(app, portal)
    confirm = confirmation(portal, ADMIN, 100)

    # A double click: the same submission at once, then Slack resending it.
    assert pay_now(portal, ADMIN, confirm)["response_action"] == "update"
    assert pay_now(portal, ADMIN, confirm, apply_response=False)["response_action"] == "update"
    assert (
        pay_now(portal, ADMIN, confirm, retry_num=1, apply_response=False)["response_action"]
        == "update"
    )
    wait_until(lambda: len(portal.fake.calls("views.update")) >= 3)  # each one answered
    portal.wait_reply(SUCCESS)

    assert len(app.stripe_server.payment_intents()) == 1
    assert len(invoices(app)) == 1
    assert [p.status for p in app.payment_rows()] == [PaymentStatus.SUCCEEDED]
    assert balance(app, account_id) == 100
    assert len(told(portal, ADMIN, SUCCESS)) == 1  # told once
    assert len(finance_notices(portal)) == 1
    # However often it arrives, the modal ends on the outcome.
    assert SUCCESS in text_of(portal.fake.modal_stack(ADMIN)[-1])


def test_a_declined_card_leaves_the_invoice_open_and_says_why(
    app: PaymentsHarness, portal: Portal
) -> None:
    account_id = make_account(app, portal, card=DECLINES)
    pay_now(portal, ADMIN, confirmation(portal, ADMIN, 100))

    reply = portal.wait_reply("didn't go through")
    text = text_of(reply.params)
    assert "Your bank declined the card without giving a reason." in text
    assert "Nothing was charged and the invoice is still open." in text
    assert SUCCESS not in text
    [invoice] = invoices(app)
    assert invoice.status is InvoiceStatus.OPEN
    assert balance(app, account_id) == 0
    assert [p.status for p in app.payment_rows()] == [PaymentStatus.FAILED]
    outcome_shown(portal, ADMIN, "didn't go through")
    portal.fake.wait_for(
        "chat.postMessage",
        lambda c: (
            c.params.get("channel") == FINANCE_CHANNEL
            and "Payment failed: £108.00" in c.params["text"]
        ),
    )


@pytest.mark.parametrize(
    ("card", "why"),
    [
        (NEEDS_AUTH, "Your bank needs you to confirm this payment."),
        (None, "There is no valid card on file, so the payment needs a card."),
    ],
)
def test_authentication_or_no_card_gets_a_payment_link(
    app: PaymentsHarness, portal: Portal, card: str | None, why: str
) -> None:
    account_id = make_account(app, portal, card=card)
    pay_now(portal, ADMIN, confirmation(portal, ADMIN, 100))

    reply = portal.wait_reply(why)
    [link] = [
        element
        for block in reply.params["blocks"]
        for element in block.get("elements", [])
        if element.get("url")
    ]
    assert link["text"]["text"] == "Open payment page"
    assert link["url"].startswith(f"{app.url}/secure/pay/")
    assert balance(app, account_id) == 0
    assert [p.status for p in app.payment_rows()] == [PaymentStatus.REQUIRES_ACTION]
    # The modal carries the same link.
    shown = outcome_shown(portal, ADMIN, why)
    assert link["url"] in text_of(shown)


# -- The pay modal ------------------------------------------------------------------------------


def pay_modal(portal: Portal, user: str) -> dict[str, Any]:
    command(portal, user, "pay")
    return opened(portal, Cb.PAY_INVOICES)


def options_of(view: dict[str, Any]) -> dict[str, str]:
    [block] = [b for b in view["blocks"] if b.get("block_id") == Blk.INVOICES]
    return {o["value"]: o["text"]["text"] for o in block["element"]["options"]}


def ticked_in(view: dict[str, Any]) -> list[str]:
    [block] = [b for b in view["blocks"] if b.get("block_id") == Blk.INVOICES]
    return [o["value"] for o in block["element"].get("initial_options", [])]


def test_the_pay_modal_pays_two_invoices_with_one_charge(
    app: PaymentsHarness, portal: Portal
) -> None:
    account_id = make_account(app, portal)
    first, second = app.service_invoice(account_id, "2"), app.service_invoice(account_id, "1.5")

    modal = pay_modal(portal, FINANCE)
    assert options_of(modal) == {
        str(first): "*INV-000001* · £228.00",
        str(second): "*INV-000002* · £171.00",
    }
    assert ticked_in(modal) == []
    assert "from Visa •••• 4242, expires 12/2030" in text_of(modal)
    assert modal["submit"]["text"] == "Pay Now"

    # Ticking both shows their total.
    both = [str(first), str(second)]
    portal.sender.block_action(
        FINANCE,
        Act.INVOICES_INPUT,
        view=modal,
        selected_options=both,
        state_values={Blk.INVOICES: {Act.INVOICES_INPUT: checkboxes(both)}},
    )
    portal.fake.wait_for("views.update", lambda c: "£399.00" in text_of(c.params))
    modal = portal.fake.modal_stack(FINANCE)[-1]
    assert "*Total to pay:* £399.00 (2 invoices)" in text_of(modal)
    assert ticked_in(modal) == both

    answer = pay_now(
        portal, FINANCE, modal, values={Blk.INVOICES: {Act.INVOICES_INPUT: checkboxes(both)}}
    )
    assert answer["response_action"] == "update"
    assert "Paying 2 invoices" in text_of(answer["view"])
    reply = portal.wait_reply(SUCCESS)
    assert reply.params["user"] == FINANCE
    assert "£399.00 paid for invoices INV-000001 and INV-000002" in text_of(reply.params)
    assert [pi["amount"] for pi in app.stripe_server.payment_intents()] == [39900]
    assert {app.invoice(i).status for i in (first, second)} == {InvoiceStatus.PAID}
    assert len(app.payment_rows()) == 1
    outcome_shown(portal, FINANCE, SUCCESS)


def test_concurrent_pay_now_submissions_of_one_modal_charge_once(
    app: PaymentsHarness, portal: Portal
) -> None:
    account_id = make_account(app, portal)
    ids = [str(app.service_invoice(account_id)), str(app.service_invoice(account_id))]
    modal = pay_modal(portal, ADMIN)
    values = {Blk.INVOICES: {Act.INVOICES_INPUT: checkboxes(ids)}}
    answers: list[int] = []

    def submit(retry: int | None) -> None:
        with SlackRequestSender(
            f"{app.url}/slack/events", SIGNING_SECRET, team_id=TEAM_ID, fake=app.slack
        ) as sender:
            response = sender.view_submission(ADMIN, modal, values, retry_num=retry)
            answers.append(response.status_code)

    threads = [threading.Thread(target=submit, args=(n or None,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    assert answers == [200] * 6
    wait_until(lambda: len(portal.fake.calls("views.update")) >= 6)

    assert [pi["amount"] for pi in app.stripe_server.payment_intents()] == [45600]
    assert [p.status for p in app.payment_rows()] == [PaymentStatus.SUCCEEDED]
    assert {app.invoice(int(i)).status for i in ids} == {InvoiceStatus.PAID}
    assert len(told(portal, ADMIN, SUCCESS)) == 1
    assert len(finance_notices(portal)) == 1


def test_nothing_ticked_is_a_field_error_and_nothing_is_charged(
    app: PaymentsHarness, portal: Portal
) -> None:
    account_id = make_account(app, portal)
    invoice_id = app.service_invoice(account_id)
    modal = pay_modal(portal, ADMIN)

    answer = pay_now(
        portal, ADMIN, modal, values={Blk.INVOICES: {Act.INVOICES_INPUT: checkboxes([])}}
    )
    assert answer == {
        "response_action": "errors",
        "errors": {Blk.INVOICES: "Choose at least one invoice to pay."},
    }
    assert portal.fake.modal_stack(ADMIN)[-1]["errors"] == {
        Blk.INVOICES: "Choose at least one invoice to pay."
    }
    # Another account's invoice (or no invoice at all) is refused, politely.
    crafted = pay_now(
        portal, ADMIN, modal, values={Blk.INVOICES: {Act.INVOICES_INPUT: checkboxes(["999999"])}}
    )
    assert crafted["response_action"] == "update"
    assert "could not be found on this account" in text_of(crafted["view"])
    assert app.stripe_server.payment_intents() == []
    assert app.payment_rows() == []
    assert app.invoice(invoice_id).status is InvoiceStatus.OPEN


def test_pay_now_on_an_invoice_opens_the_modal_with_it_ticked(
    app: PaymentsHarness, portal: Portal
) -> None:
    account_id = make_account(app, portal)
    older, newer = app.service_invoice(account_id, "1"), app.service_invoice(account_id, "2")

    # From the invoices list: each unpaid invoice has "Pay now".
    command(portal, ADMIN, "invoices")
    listed = portal.wait_reply("Page 1 · newest first")
    assert Act.PAY_INVOICE in action_ids(listed.params)
    portal.sender.block_action(ADMIN, Act.PAY_INVOICE, value=str(newer), channel_id=PORTAL_CHANNEL)
    modal = opened(portal, Cb.PAY_INVOICES)
    assert ticked_in(modal) == [str(newer)]
    assert set(options_of(modal)) == {str(older), str(newer)}
    assert "*Total to pay:* £228.00 (1 invoice)" in text_of(modal)


def test_pay_now_after_creating_a_service_invoice(app: PaymentsHarness, portal: Portal) -> None:
    make_account(app, portal)
    command(portal, FINANCE, "services")
    form = opened(portal, Cb.SERVICES)
    service = next(
        o["value"]
        for b in form["blocks"]
        if b.get("block_id") == Blk.SERVICE
        for o in b["element"]["options"]
        if o["text"]["text"].startswith("Consultancy")
    )
    values = {
        Blk.SERVICE: {
            Act.SERVICE_INPUT: {"type": "static_select", "selected_option": {"value": service}}
        },
        Blk.HOURS: {Act.HOURS_INPUT: plain_text("2")},
    }
    portal.sender.view_submission(FINANCE, form, values)
    portal.sender.view_submission(FINANCE, portal.fake.modal_stack(FINANCE)[-1], {})
    created = portal.fake.modal_stack(FINANCE)[-1]
    assert created["callback_id"] == Cb.INVOICE_CREATED
    [invoice] = invoices(app)

    # "Pay now" in the created view pushes the pay modal with the new invoice ticked.
    portal.sender.block_action(FINANCE, Act.PAY_INVOICE, value=str(invoice.id), view=created)
    modal = opened(portal, Cb.PAY_INVOICES, "views.push")
    assert portal.fake.modal_stack(FINANCE)[-1]["id"] == modal["id"]
    assert ticked_in(modal) == [str(invoice.id)]
    pay_now(
        portal,
        FINANCE,
        modal,
        values={Blk.INVOICES: {Act.INVOICES_INPUT: checkboxes([str(invoice.id)])}},
    )
    reply = portal.wait_reply(SUCCESS)
    assert "£228.00 paid for invoice INV-000001" in text_of(reply.params)
    assert reply.params["channel"] == PORTAL_CHANNEL  # where /portal services was typed


def test_a_viewer_is_refused_by_every_route_and_nothing_changes(
    app: PaymentsHarness, portal: Portal
) -> None:
    account_id = make_account(app, portal)
    invoice_id = app.service_invoice(account_id)
    admin_modal = pay_modal(portal, ADMIN)
    admin_confirm = confirmation(portal, ADMIN, 100)
    ticked = {Blk.INVOICES: {Act.INVOICES_INPUT: checkboxes([str(invoice_id)])}}
    portal.fake.clear()

    # The invoices list has no "Pay now" for a viewer.
    command(portal, VIEWER, "invoices")
    assert Act.PAY_INVOICE not in action_ids(portal.wait_reply("Page 1").params)
    # The command word and the button sent directly.
    command(portal, VIEWER, "pay")
    portal.wait_reply(REFUSED)
    portal.fake.clear()
    portal.sender.block_action(
        VIEWER, Act.PAY_INVOICE, value=str(invoice_id), channel_id=PORTAL_CHANNEL
    )
    portal.fake.wait_for("response_url", lambda c: REFUSED in text_of(c.params))
    # A tick in someone else's modal.
    portal.fake.clear()
    portal.sender.block_action(
        VIEWER, Act.INVOICES_INPUT, view=admin_modal, selected_options=[str(invoice_id)]
    )
    portal.fake.wait_for("chat.postMessage", lambda c: REFUSED in text_of(c.params))
    assert portal.fake.calls("views.update") == []
    # Crafted submissions of the pay modal and of the purchase confirmation.
    for view, values in ((admin_modal, ticked), (admin_confirm, {})):
        answer = portal.sender.view_submission(VIEWER, view, values, apply_response=False).json()
        assert answer["response_action"] == "update"
        assert REFUSED in text_of(answer["view"])
    # Nothing was charged or changed.
    assert app.stripe_server.payment_intents() == []
    assert app.payment_rows() == []
    assert app.invoice(invoice_id).status is InvoiceStatus.OPEN
    assert len(invoices(app)) == 1
    assert balance(app, account_id) == 0


# -- Payment details ------------------------------------------------------------------------------

ADDRESS = {
    Blk.FORENAME: {Act.FORENAME_INPUT: plain_text("Ada")},
    Blk.SURNAME: {Act.SURNAME_INPUT: plain_text("Lovelace")},
    Blk.LINE1: {Act.LINE1_INPUT: plain_text("1 Example Street")},
    Blk.LINE2: {Act.LINE2_INPUT: plain_text(None)},
    Blk.TOWN: {Act.TOWN_INPUT: plain_text("London")},
    Blk.POSTCODE: {Act.POSTCODE_INPUT: plain_text("ec1a 1aa")},
    Blk.COUNTRY: {Act.COUNTRY_INPUT: external_select("GB", "United Kingdom")},
}


def test_add_payment_details_posts_the_card_page_link(app: PaymentsHarness, portal: Portal) -> None:
    account_id = make_account(app, portal, card=None)
    command(portal, ADMIN, "card")
    details = portal.wait_reply("You don't have any valid payment details")
    assert action_ids(details.params) == {Act.ADD_PAYMENT_DETAILS, Act.RETURN_TO_ACCOUNT}
    assert "Add Payment Details" in text_of(details.params)

    portal.sender.block_action(ADMIN, Act.ADD_PAYMENT_DETAILS, channel_id=PORTAL_CHANNEL)
    modal = opened(portal, Cb.BILLING_ADDRESS)
    assert modal["title"]["text"] == "Add Payment Details"
    assert modal["submit"]["text"] == "Add Card"
    # The country list is the account area's searchable one.
    suggested = portal.sender.block_suggestion(ADMIN, Act.COUNTRY_INPUT, "ger", view=modal).json()
    assert "Germany" in text_of(suggested)

    # Every missing field is named under itself; nothing is sent to Stripe.
    empty = {
        **ADDRESS,
        Blk.FORENAME: {Act.FORENAME_INPUT: plain_text(None)},
        Blk.POSTCODE: {Act.POSTCODE_INPUT: plain_text(" ")},
    }
    answer = portal.sender.view_submission(ADMIN, modal, empty).json()
    assert answer == {
        "response_action": "errors",
        "errors": {Blk.FORENAME: "Enter the forename.", Blk.POSTCODE: "Enter the postcode."},
    }
    assert app.account(account_id).stripe_customer_id is None

    answer = portal.sender.view_submission(ADMIN, modal, ADDRESS).json()
    assert answer == {"response_action": "clear"}
    link = portal.wait_reply("card page")
    assert (link.method, link.params["channel"], link.params["user"]) == (
        "chat.postEphemeral",
        PORTAL_CHANNEL,
        ADMIN,
    )
    [button] = [e for b in link.params["blocks"] for e in b.get("elements", []) if e.get("url")]
    assert button["text"]["text"] == "Open card page"
    assert button["url"].startswith(f"{app.url}/secure/add-card/")
    # The billing address went to Stripe's customer (and to the account).
    account = app.account(account_id)
    assert (account.billing_forename, account.billing_postcode) == ("Ada", "EC1A 1AA")
    customer = app.stripe_server.get(f"/v1/customers/{account.stripe_customer_id}")
    assert customer["name"] == "Ada Lovelace"
    assert customer["address"]["line1"] == "1 Example Street"

    # Once the card page has saved a card, it is shown masked, with "Change Payment Details".
    app.save_card(account_id, VISA)
    portal.fake.clear()
    command(portal, ADMIN, "card")
    shown = portal.wait_reply("Visa •••• 4242, expires 12/2030")
    assert "Change Payment Details" in text_of(shown.params)
    portal.sender.block_action(ADMIN, Act.ADD_PAYMENT_DETAILS, channel_id=PORTAL_CHANNEL)
    change = opened(portal, Cb.BILLING_ADDRESS)
    assert change["title"]["text"] == "Change Payment Details"
    forename = next(b for b in change["blocks"] if b.get("block_id") == Blk.FORENAME)
    assert forename["element"]["initial_value"] == "Ada"  # what the account has


@pytest.mark.parametrize("user", [FINANCE, VIEWER])
def test_only_an_admin_changes_payment_details(
    app: PaymentsHarness, portal: Portal, user: str
) -> None:
    account_id = make_account(app, portal, card=None)
    command(portal, ADMIN, "card")
    portal.wait_reply("Add Payment Details")
    portal.sender.block_action(ADMIN, Act.ADD_PAYMENT_DETAILS, channel_id=PORTAL_CHANNEL)
    admin_modal = opened(portal, Cb.BILLING_ADDRESS)
    portal.fake.clear()

    command(portal, user, "card")
    details = portal.wait_reply("You don't have any valid payment details")
    assert action_ids(details.params) == {Act.RETURN_TO_ACCOUNT}
    portal.sender.block_action(user, Act.ADD_PAYMENT_DETAILS, channel_id=PORTAL_CHANNEL)
    portal.fake.wait_for("response_url", lambda c: ADMINS_ONLY in text_of(c.params))
    answer = portal.sender.view_submission(user, admin_modal, ADDRESS, apply_response=False).json()
    assert answer["response_action"] == "update"
    assert ADMINS_ONLY in text_of(answer["view"])
    assert portal.fake.calls("views.open") == []
    account = app.account(account_id)
    assert (account.stripe_customer_id, account.billing_forename) == (None, None)
    assert app.read(lambda s: s.scalar(select(func.count()).select_from(Payment))) == 0
