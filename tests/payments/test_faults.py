"""Stripe unreachable or stopped mid-flow: a clear "try again", a row reconcile settles, no
double charge.

Two ways to lose Stripe: localstripe killed (connections refused: nothing reached Stripe), and
localstripe frozen with SIGSTOP while a charge is on its way (the request reaches it, the app
gives up waiting, and Stripe takes the money after all once it is thawed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot import credits
from bot.errors import UserFacingError
from bot.payment_notifier import notify_payment
from bot.payments import NOT_CHARGED, UNREACHABLE, BillingAddress, PaymentUnavailable
from bot.ui.payments import SUCCESS, payment_message
from store.enums import InvoiceStatus, PaymentStatus
from store.models import Account, AuditEntry, Invoice, Payment
from tests.payments.conftest import ADMIN, FINANCE_CHANNEL, PORTAL_CHANNEL, VISA, PaymentsHarness


@pytest.fixture
def stripe_back(app: PaymentsHarness) -> Iterator[PaymentsHarness]:
    """Whatever a test does to localstripe, it runs again afterwards."""
    yield app
    server = app.stripe_server
    if server._process is None:
        server.start()
    else:
        server.thaw()


def _balance(app: PaymentsHarness, account_id: int) -> int:
    return int(app.read(lambda s: credits.balance(session=s, account_id=account_id)))


def _only_payment(app: PaymentsHarness) -> Payment:
    (payment,) = app.payment_rows()
    return payment


def test_stripe_frozen_mid_charge_is_settled_by_reconcile_without_a_second_charge(
    stripe_back: PaymentsHarness,
) -> None:
    app = stripe_back
    account_id = app.make_account()
    app.save_card(account_id, VISA)

    app.stripe_server.freeze()
    outcome = app.payments.start_credits_purchase(
        account_id=account_id,
        quantity=100,
        creation_key="V0FROZEN",
        user_id=ADMIN,
        channel_id=PORTAL_CHANNEL,
    )

    # A clear "try again", and a row that says what happened; nothing granted yet.
    assert outcome.retry_later
    message = payment_message(outcome)["text"]
    assert "Please try again in a minute: you will not be charged twice." in message
    payment = _only_payment(app)
    assert (payment.status, payment.failure_code) == (PaymentStatus.PROCESSING, UNREACHABLE)
    assert "Stripe did not answer at 10:30 GMT" in (payment.failure_reason or "")
    (invoice,) = app.read(lambda s: list(s.scalars(select(Invoice))))
    assert invoice.status is InvoiceStatus.PAYING
    assert _balance(app, account_id) == 0

    # Reconcile while Stripe is still frozen: nothing changes.
    report = app.payments.reconcile()
    assert report.stripe_unreachable
    assert report.settled == []

    # Stripe comes back and, as it happens, had taken the money after the app gave up.
    app.stripe_server.thaw()
    deadline = time.monotonic() + 5  # it answers the request it was holding first
    while not app.stripe_server.payment_intents():
        assert time.monotonic() < deadline, "localstripe never created the PaymentIntent"
        time.sleep(0.05)
    (intent,) = app.stripe_server.payment_intents()
    assert intent["status"] == "succeeded"
    assert intent["metadata"]["payment_id"] == str(payment.id)

    report = app.payments.reconcile()
    (settled,) = report.settled
    for outcome in report.settled:
        notify_payment(app.deps.slack, outcome)
    assert settled.status is PaymentStatus.SUCCEEDED
    assert app.invoice(invoice.id).status is InvoiceStatus.PAID
    assert _balance(app, account_id) == 100
    assert _only_payment(app).stripe_payment_intent_id == intent["id"]
    (told,) = app.told("chat.postEphemeral", PORTAL_CHANNEL)
    assert SUCCESS in told.params["text"]
    assert len(app.told("chat.postMessage", FINANCE_CHANNEL)) == 1

    # The user did as told and tries again: answered with the payment, nothing charged.
    again = app.payments.start_credits_purchase(
        account_id=account_id,
        quantity=100,
        creation_key="V0FROZEN",
        user_id=ADMIN,
        channel_id=PORTAL_CHANNEL,
    )
    assert (again.status, again.payment_id, again.settled_now) == (
        PaymentStatus.SUCCEEDED,
        payment.id,
        False,
    )
    assert app.payments.reconcile().checked == 0
    assert len(app.stripe_server.payment_intents()) == 1
    assert app.count(Payment) == app.count(Invoice) == 1
    assert _balance(app, account_id) == 100


def test_stripe_killed_before_the_charge_leaves_a_row_reconcile_fails_cleanly(
    stripe_back: PaymentsHarness,
) -> None:
    app = stripe_back
    account_id = app.make_account()
    app.save_card(account_id, VISA)
    invoice_id = app.service_invoice(account_id)

    app.stripe_server.stop()
    outcome = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=ADMIN, channel_id=PORTAL_CHANNEL
    )
    assert outcome.retry_later
    assert outcome.status is PaymentStatus.PROCESSING
    assert app.payments.reconcile().stripe_unreachable

    # Stripe is back (its state reloaded); a few minutes later reconcile reads the payment back.
    app.stripe_server.start(from_scratch=False)
    app.clock.advance(minutes=3)
    report = app.payments.reconcile()

    (settled,) = report.settled
    assert (settled.status, settled.failure_code) == (PaymentStatus.FAILED, NOT_CHARGED)
    assert "nothing was charged" in (settled.reason or "")
    assert app.invoice(invoice_id).status is InvoiceStatus.OPEN
    assert app.stripe_server.payment_intents() == []

    # Pay Now again: attempt 2, charged once.
    paid = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=ADMIN, channel_id=PORTAL_CHANNEL
    )
    assert paid.status is PaymentStatus.SUCCEEDED
    assert [p.attempt for p in app.payment_rows()] == [1, 2]
    assert len(app.stripe_server.payment_intents()) == 1
    assert app.invoice(invoice_id).status is InvoiceStatus.PAID


def test_pay_now_again_after_an_outage_settles_the_first_attempt_itself(
    stripe_back: PaymentsHarness,
) -> None:
    app = stripe_back
    account_id = app.make_account()
    app.save_card(account_id, VISA)
    invoice_id = app.service_invoice(account_id)
    app.stripe_server.stop()
    first = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=ADMIN, channel_id=None
    )
    assert first.retry_later

    # Still down a moment later: the same answer, the same row, no new one.
    app.clock.advance(seconds=30)
    still = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=ADMIN, channel_id=None
    )
    assert (still.payment_id, still.retry_later) == (first.payment_id, True)
    assert app.count(Payment) == 1

    app.stripe_server.start(from_scratch=False)
    app.clock.advance(minutes=3)
    paid = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=ADMIN, channel_id=None
    )

    assert paid.status is PaymentStatus.SUCCEEDED
    statuses = [(p.attempt, p.status, p.failure_code) for p in app.payment_rows()]
    assert statuses == [
        (1, PaymentStatus.FAILED, NOT_CHARGED),
        (2, PaymentStatus.SUCCEEDED, None),
    ]
    assert len(app.stripe_server.payment_intents()) == 1


def test_stripe_down_before_anything_started_changes_nothing(stripe_back: PaymentsHarness) -> None:
    app = stripe_back
    account_id = app.make_account()
    invoice_id = app.service_invoice(account_id)
    app.stripe_server.stop()
    address = BillingAddress(
        forename="Ada",
        surname="Lovelace",
        line1="1 Example St",
        town="London",
        postcode="ec1a 1aa",
        country="GB",
    )

    with pytest.raises(PaymentUnavailable) as card_setup:
        app.payments.begin_card_setup(
            account_id=account_id, user_id=ADMIN, channel_id=PORTAL_CHANNEL, address=address
        )
    with pytest.raises(UserFacingError) as paying:
        app.payments.pay_invoices(
            account_id=account_id, invoice_ids=[invoice_id], user_id=ADMIN, channel_id=None
        )

    for raised in (card_setup.value, paying.value):
        assert "try again in a minute" in raised.message
    account = app.account(account_id)
    assert (account.stripe_customer_id, account.billing_line1) == (None, None)
    assert app.count(Payment) == 0
    assert app.invoice(invoice_id).status is InvoiceStatus.OPEN
    assert (
        app.read(
            lambda s: s.scalars(
                select(AuditEntry.action).where(AuditEntry.action.like("payment.%"))
            ).all()
        )
        == []
    )
    assert app.read(lambda s: s.get_one(Account, account_id).card_last4) is None
