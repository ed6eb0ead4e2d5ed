"""The reconcile step's other duties: payments nobody confirmed, and money that came late."""

from __future__ import annotations

from sqlalchemy import select

from bot.payments import NOT_CONFIRMED, REFUNDED
from store.enums import InvoiceStatus, PaymentStatus
from store.models import Payment
from tests.payments.conftest import ADMIN, NEEDS_AUTH, PORTAL_CHANNEL, VISA, PaymentsHarness


def test_a_payment_nobody_confirms_is_cancelled_after_a_day(app: PaymentsHarness) -> None:
    account_id = app.make_account()
    app.save_card(account_id, NEEDS_AUTH)
    invoice_id = app.service_invoice(account_id)
    waiting = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=ADMIN, channel_id=PORTAL_CHANNEL
    )
    assert waiting.status is PaymentStatus.REQUIRES_ACTION

    app.clock.advance(hours=2)
    assert app.payments.reconcile().checked == 0  # still the customer's to confirm
    app.clock.advance(hours=23)
    (settled,) = app.payments.reconcile().settled

    assert (settled.status, settled.failure_code) == (PaymentStatus.FAILED, NOT_CONFIRMED)
    assert app.invoice(invoice_id).status is InvoiceStatus.OPEN
    (intent,) = app.stripe_server.payment_intents()
    assert intent["status"] == "canceled"
    assert app.payments.reconcile().checked == 0


def test_money_taken_after_the_invoice_was_paid_another_way_is_refunded(
    app: PaymentsHarness,
) -> None:
    """Stripe's search can lag: attempt 1 looked uncharged, was failed, and attempt 2 paid;
    then attempt 1's PaymentIntent turns up, succeeded. It is refunded, never kept twice."""
    account_id = app.make_account()
    app.save_card(account_id, VISA)
    invoice_id = app.service_invoice(account_id)
    app.stripe_server.stop()
    first = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=ADMIN, channel_id=None
    )
    app.stripe_server.start(from_scratch=False)
    app.clock.advance(minutes=3)
    app.payments.reconcile()
    second = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=ADMIN, channel_id=None
    )
    assert second.status is PaymentStatus.SUCCEEDED
    # The lost request of attempt 1 surfaces at Stripe, charged.
    account = app.account(account_id)
    assert app.deps.gateway is not None
    assert account.stripe_customer_id is not None
    assert account.card_payment_method_id is not None
    late = app.deps.gateway.charge_off_session(
        customer_id=account.stripe_customer_id,
        payment_method_id=account.card_payment_method_id,
        amount_minor=first.amount.amount_minor,
        currency="GBP",
        idempotency_key="lost-request",
        metadata={"payment_id": str(first.payment_id), "account_id": str(account_id)},
    )

    outcome = app.payments.complete_from_intent(payment_intent_id=late.id)

    assert outcome is not None
    assert (outcome.status, outcome.failure_code) == (PaymentStatus.FAILED, REFUNDED)
    assert "refunded in full" in (outcome.reason or "")
    refunds = app.stripe_server.get("/v1/refunds")["data"]
    assert [(r["payment_intent"], r["amount"]) for r in refunds] == [
        (late.id, first.amount.amount_minor)
    ]
    assert app.invoice(invoice_id).status is InvoiceStatus.PAID
    rows = app.read(
        lambda s: list(
            s.execute(
                select(Payment.attempt, Payment.status, Payment.failure_code).order_by(Payment.id)
            )
        )
    )
    assert [tuple(row) for row in rows] == [
        (1, PaymentStatus.FAILED, REFUNDED),
        (2, PaymentStatus.SUCCEEDED, None),
    ]
    # Told again (a replayed webhook, reconcile): nothing more happens.
    again = app.payments.complete_from_intent(payment_intent_id=late.id)
    assert again is not None
    assert not again.settled_now
    assert len(app.stripe_server.get("/v1/refunds")["data"]) == 1
