"""Pay Now, at the service level, with the real stripe library against localstripe.

The Slack side (the buttons and modals) is wired elsewhere; here the services are called as
the handlers will call them and their outcomes are posted by the payment notifier to the fake
Slack Web API, which records what people would see.
"""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import credits
from bot.errors import InvalidTransition
from bot.invoice_files import invoice_for_pdf
from bot.invoices import LONDON
from bot.payment_notifier import notify_payment
from bot.pdf import Supplier, render_invoice
from bot.sandbox.slack_api import RecordedCall
from bot.ui.payments import SUCCESS
from store.enums import InvoiceStatus, LinkPurpose, PaymentStatus
from store.models import Account, Invoice, OneTimeLink, Payment
from tests.payments.conftest import (
    ADMIN,
    DECLINES,
    FINANCE,
    FINANCE_CHANNEL,
    NEEDS_AUTH,
    PORTAL_CHANNEL,
    VISA,
    PaymentsHarness,
)

# 100 credits at £0.90 = £90.00 net, UK VAT 20% = £18.00, £108.00 gross.
GROSS_FOR_100 = 10800


def _texts(calls: list[RecordedCall]) -> list[str]:
    return [str(call.params.get("text", "")) for call in calls]


def _balance(app: PaymentsHarness, account_id: int) -> int:
    return int(app.read(lambda s: credits.balance(session=s, account_id=account_id)))


def test_buying_100_credits_with_the_card_on_file(app: PaymentsHarness) -> None:
    account_id = app.make_account()
    app.save_card(account_id, VISA)

    outcome = app.payments.start_credits_purchase(
        account_id=account_id,
        quantity=100,
        creation_key="V0CONFIRM1",
        user_id=ADMIN,
        channel_id=PORTAL_CHANNEL,
    )
    notify_payment(app.deps.slack, outcome)

    assert outcome.status is PaymentStatus.SUCCEEDED
    assert (outcome.amount.amount_minor, outcome.amount.currency) == (GROSS_FOR_100, "GBP")
    assert (outcome.credits_granted, outcome.credits_balance) == (100, 100)
    # One PaymentIntent at Stripe, for the gross amount, off the card on file.
    intents = app.stripe_server.payment_intents()
    assert [(pi["amount"], pi["currency"], pi["status"]) for pi in intents] == [
        (GROSS_FOR_100, "gbp", "succeeded")
    ]
    assert intents[0]["metadata"]["payment_id"] == str(outcome.payment_id)
    # The invoice is paid and the balance is up by 100.
    (invoice,) = app.read(lambda s: list(s.scalars(select(Invoice))))
    assert (invoice.status, invoice.gross_minor, invoice.number) == (
        InvoiceStatus.PAID,
        GROSS_FOR_100,
        "INV-000001",
    )
    assert _balance(app, account_id) == 100
    (payment,) = app.payment_rows()
    assert payment.idempotency_key == f"invoices:{invoice.id}:attempt:1"
    assert payment.stripe_payment_intent_id == intents[0]["id"]
    # The buyer is told, and so is the finance channel.
    (told,) = app.told("chat.postEphemeral", PORTAL_CHANNEL)
    assert told.params["user"] == ADMIN
    assert SUCCESS in told.params["text"]
    blocks = str(told.params["blocks"])
    assert "£108.00 paid for invoice INV-000001 with Visa •••• 4242" in blocks
    assert "100 credits added: the balance is now 100 credits" in blocks
    (notice,) = app.told("chat.postMessage", FINANCE_CHANNEL)
    assert "Payment received: £108.00 for invoice INV-000001" in notice.params["text"]


def test_paying_selected_invoices_is_one_charge(app: PaymentsHarness) -> None:
    account_id = app.make_account()
    app.save_card(account_id, VISA)
    first, second = app.service_invoice(account_id, "2"), app.service_invoice(account_id, "1.5")

    outcome = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[second, first], user_id=FINANCE, channel_id=None
    )

    assert outcome.status is PaymentStatus.SUCCEEDED
    # 2 h + 1.5 h of Consultancy at £95: £190 + £142.50 net, plus 20% VAT.
    assert outcome.amount.amount_minor == 22800 + 17100
    assert outcome.invoice_numbers == ("INV-000001", "INV-000002")
    assert outcome.credits_granted == 0
    assert [pi["amount"] for pi in app.stripe_server.payment_intents()] == [39900]
    assert {app.invoice(i).status for i in (first, second)} == {InvoiceStatus.PAID}
    (payment,) = app.payment_rows()
    assert payment.idempotency_key == f"invoices:{first},{second}:attempt:1"
    notify_payment(app.deps.slack, outcome)
    (direct,) = app.told("chat.postMessage", FINANCE)  # no channel: a direct message
    assert SUCCESS in direct.params["text"]


def test_the_invoice_pdf_names_the_card_charged_after_the_card_changes(
    app: PaymentsHarness,
) -> None:
    account_id = app.make_account()
    app.save_card(account_id, VISA)
    invoice_id = app.service_invoice(account_id)
    outcome = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=FINANCE, channel_id=None
    )
    assert outcome.status is PaymentStatus.SUCCEEDED
    (payment,) = app.payment_rows()
    assert (payment.card_brand, payment.card_last4) == ("visa", "4242")

    app.save_card(account_id, "5555555555554444")  # the card on file becomes a Mastercard
    assert app.account(account_id).card_last4 == "4444"

    def pdf_text(session: Session) -> str:
        account = session.get_one(Account, account_id)
        document = invoice_for_pdf(
            session=session, account=account, invoice_id=invoice_id, tz=LONDON
        )
        supplier = Supplier("Example Cloud Software Ltd", ("London",), "GB123456789", "01234567")
        (page,) = PdfReader(io.BytesIO(render_invoice(document, supplier))).pages
        return " ".join(page.extract_text().split())

    text = app.read(pdf_text)
    assert "by Visa •••• 4242" in text
    assert "4444" not in text


def test_a_declined_card_leaves_the_invoice_open_and_says_why(app: PaymentsHarness) -> None:
    account_id = app.make_account()
    app.save_card(account_id, DECLINES)

    outcome = app.payments.start_credits_purchase(
        account_id=account_id,
        quantity=100,
        creation_key="V0DECLINE",
        user_id=ADMIN,
        channel_id=PORTAL_CHANNEL,
    )
    notify_payment(app.deps.slack, outcome)

    assert outcome.status is PaymentStatus.FAILED
    assert outcome.failure_code == "card_declined"
    assert outcome.reason == "Your bank declined the card without giving a reason."
    (invoice,) = app.read(lambda s: list(s.scalars(select(Invoice))))
    assert invoice.status is InvoiceStatus.OPEN
    assert _balance(app, account_id) == 0
    (payment,) = app.payment_rows()
    assert payment.status is PaymentStatus.FAILED
    assert payment.stripe_payment_intent_id == app.stripe_server.payment_intents()[0]["id"]
    (told,) = app.told("chat.postEphemeral", PORTAL_CHANNEL)
    assert "didn't go through" in told.params["text"]
    assert "declined the card" in told.params["text"]
    assert "Nothing was charged and the invoice is still open" in told.params["text"]
    assert SUCCESS not in told.params["text"]
    (notice,) = app.told("chat.postMessage", FINANCE_CHANNEL)
    assert "Payment failed: £108.00 for invoice INV-000001" in notice.params["text"]

    # A new card, and Pay Now again: a second attempt with its own key succeeds.
    app.save_card(account_id, VISA)
    again = app.payments.start_credits_purchase(
        account_id=account_id,
        quantity=100,
        creation_key="V0DECLINE",
        user_id=ADMIN,
        channel_id=PORTAL_CHANNEL,
    )
    assert again.status is PaymentStatus.SUCCEEDED
    assert [p.idempotency_key for p in app.payment_rows()] == [
        f"invoices:{invoice.id}:attempt:1",
        f"invoices:{invoice.id}:attempt:2",
    ]
    assert _balance(app, account_id) == 100


def test_authentication_needed_posts_a_payment_link_and_completes(app: PaymentsHarness) -> None:
    account_id = app.make_account()
    app.save_card(account_id, NEEDS_AUTH)
    invoice_id = app.service_invoice(account_id)

    outcome = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=ADMIN, channel_id=PORTAL_CHANNEL
    )
    notify_payment(app.deps.slack, outcome)

    assert outcome.status is PaymentStatus.REQUIRES_ACTION
    assert outcome.payment_link is not None
    assert outcome.payment_link.startswith(f"{app.url}/secure/pay/")
    (told,) = app.told("chat.postEphemeral", PORTAL_CHANNEL)
    assert "Your bank needs you to confirm this payment" in told.params["text"]
    assert outcome.payment_link in str(told.params["blocks"])
    assert app.told("chat.postMessage", FINANCE_CHANNEL) == []
    assert app.invoice(invoice_id).status is InvoiceStatus.PAYING
    link = app.read(
        lambda s: s.scalar(select(OneTimeLink).where(OneTimeLink.purpose == LinkPurpose.PAY))
    )
    assert link.payment_id == outcome.payment_id

    # A second Pay Now answers with the same payment and a fresh link; nothing is charged.
    again = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=ADMIN, channel_id=PORTAL_CHANNEL
    )
    assert (again.payment_id, again.status, again.settled_now) == (
        outcome.payment_id,
        PaymentStatus.REQUIRES_ACTION,
        False,
    )
    assert again.payment_link not in (None, outcome.payment_link)

    # The customer authenticates on the payment page (Stripe.js), then returns to it.
    (intent,) = app.stripe_server.payment_intents()
    app.stripe_server.authenticate(intent["id"], intent["client_secret"], success=True)
    page = app.payments.payment_page(payment_id=outcome.payment_id)
    assert page.outcome.status is PaymentStatus.SUCCEEDED
    assert page.outcome.settled_now
    assert app.invoice(invoice_id).status is InvoiceStatus.PAID
    assert len(app.stripe_server.payment_intents()) == 1


def test_with_no_card_on_file_the_payment_page_takes_one(app: PaymentsHarness) -> None:
    account_id = app.make_account()
    invoice_id = app.service_invoice(account_id)

    outcome = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=ADMIN, channel_id=PORTAL_CHANNEL
    )

    assert outcome.status is PaymentStatus.REQUIRES_ACTION
    assert outcome.payment_link is not None
    notify_payment(app.deps.slack, outcome)
    (told,) = app.told("chat.postEphemeral", PORTAL_CHANNEL)
    assert "There is no valid card on file" in told.params["text"]
    (intent,) = app.stripe_server.payment_intents()
    assert (intent["status"], intent["payment_method"]) == ("requires_payment_method", None)
    assert app.account(account_id).stripe_customer_id == intent["customer"]

    # What Stripe.js does with a card typed into the payment page (localstripe's own Stripe.js
    # can only authenticate, so the same calls are made here with the API).
    method = app.stripe_server.post(
        "/v1/payment_methods",
        type="card",
        **{
            "card[number]": VISA,
            "card[exp_month]": "12",
            "card[exp_year]": "2030",
            "card[cvc]": "123",
        },
    )
    app.stripe_server.post(f"/v1/payment_intents/{intent['id']}", payment_method=method["id"])
    app.stripe_server.post(f"/v1/payment_intents/{intent['id']}/confirm")

    done = app.payments.complete_from_intent(payment_intent_id=intent["id"])
    assert done is not None
    assert (done.status, done.settled_now) == (PaymentStatus.SUCCEEDED, True)
    assert app.invoice(invoice_id).status is InvoiceStatus.PAID
    # The card typed into the page is the one the payment records (no card is on file).
    assert [(p.card_brand, p.card_last4) for p in app.payment_rows()] == [("visa", "4242")]


def test_a_repeated_pay_now_after_success_charges_nothing(app: PaymentsHarness) -> None:
    account_id = app.make_account()
    app.save_card(account_id, VISA)
    first = app.payments.start_credits_purchase(
        account_id=account_id, quantity=10, creation_key="V0SAME", user_id=ADMIN, channel_id=None
    )
    repeat = app.payments.start_credits_purchase(
        account_id=account_id, quantity=10, creation_key="V0SAME", user_id=ADMIN, channel_id=None
    )
    assert first.status is repeat.status is PaymentStatus.SUCCEEDED
    assert (repeat.payment_id, repeat.settled_now) == (first.payment_id, False)
    assert len(app.stripe_server.payment_intents()) == 1
    assert app.count(Invoice) == app.count(Payment) == 1
    assert _balance(app, account_id) == 10


def test_paying_an_invoice_already_paid_or_in_another_payment_is_refused(
    app: PaymentsHarness,
) -> None:
    account_id = app.make_account()
    app.save_card(account_id, NEEDS_AUTH)
    first, second = app.service_invoice(account_id), app.service_invoice(account_id)
    app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[first], user_id=ADMIN, channel_id=None
    )
    with pytest.raises(InvalidTransition, match="already under way"):
        app.payments.pay_invoices(
            account_id=account_id, invoice_ids=[first, second], user_id=ADMIN, channel_id=None
        )
    assert app.invoice(second).status is InvoiceStatus.OPEN
    assert len(app.stripe_server.payment_intents()) == 1
    rows = app.read(lambda s: list(s.scalars(select(Payment.status))))
    assert rows == [PaymentStatus.REQUIRES_ACTION]
