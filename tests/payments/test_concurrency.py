"""Twenty Pay Now submissions at once, and Slack's retries: one payment row, one charge.

Runs on every backend of the `engine` fixture: SQLite always, PostgreSQL (real row locks,
`SELECT ... FOR UPDATE`) when TEST_DATABASE_URL is set, as it is in CI.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bot.payments import PaymentOutcome
from store.enums import InvoiceStatus, PaymentStatus
from store.models import Invoice, Payment
from tests.payments.conftest import ADMIN, NEEDS_AUTH, PORTAL_CHANNEL, VISA, PaymentsHarness

SUBMISSIONS = 20
SLACK_RETRIES = 3  # Slack resends an interaction it got no answer to within 3 seconds


def _all_at_once(count: int, submit: Callable[[], PaymentOutcome]) -> list[PaymentOutcome]:
    start = threading.Barrier(count)

    def one() -> PaymentOutcome:
        start.wait(timeout=10)
        return submit()

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(one) for _ in range(count)]
        return [future.result(timeout=60) for future in futures]


def test_twenty_pay_now_submissions_for_the_same_invoices_charge_once(
    app: PaymentsHarness,
) -> None:
    account_id = app.make_account()
    app.save_card(account_id, VISA)
    chosen = [app.service_invoice(account_id), app.service_invoice(account_id, "3")]

    def pay_now() -> PaymentOutcome:
        return app.payments.pay_invoices(
            account_id=account_id, invoice_ids=chosen, user_id=ADMIN, channel_id=PORTAL_CHANNEL
        )

    outcomes = _all_at_once(SUBMISSIONS, pay_now)
    retries = [pay_now() for _ in range(SLACK_RETRIES)]

    assert app.count(Payment) == 1
    (intent,) = app.stripe_server.payment_intents()
    assert intent["status"] == "succeeded"
    assert {outcome.payment_id for outcome in outcomes + retries} == {outcomes[0].payment_id}
    # Exactly one submission charged; the others answered with that payment's state.
    assert sum(outcome.settled_now for outcome in outcomes + retries) == 1
    assert {outcome.status for outcome in outcomes} <= {
        PaymentStatus.CREATED,
        PaymentStatus.SUCCEEDED,
    }
    assert {outcome.status for outcome in retries} == {PaymentStatus.SUCCEEDED}
    assert {app.invoice(invoice_id).status for invoice_id in chosen} == {InvoiceStatus.PAID}
    (payment,) = app.payment_rows()
    assert payment.idempotency_key == f"invoices:{chosen[0]},{chosen[1]}:attempt:1"
    assert payment.stripe_payment_intent_id == intent["id"]


def test_twenty_submissions_of_one_credits_purchase_make_one_invoice_and_one_link(
    app: PaymentsHarness,
) -> None:
    account_id = app.make_account()
    app.save_card(account_id, NEEDS_AUTH)

    outcomes = _all_at_once(
        SUBMISSIONS,
        lambda: app.payments.start_credits_purchase(
            account_id=account_id,
            quantity=250,
            creation_key="V0SAMEVIEW",
            user_id=ADMIN,
            channel_id=PORTAL_CHANNEL,
        ),
    )

    assert app.count(Invoice) == app.count(Payment) == 1
    assert len(app.stripe_server.payment_intents()) == 1
    assert {outcome.payment_id for outcome in outcomes} == {outcomes[0].payment_id}
    assert sum(outcome.settled_now for outcome in outcomes) == 1
    assert {o.status for o in outcomes} <= {PaymentStatus.CREATED, PaymentStatus.REQUIRES_ACTION}
