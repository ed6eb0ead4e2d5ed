"""`kill -9` of the served app between the payment row and Stripe's answer, then a restart.

`python -m bot serve` reaches localstripe through a `TcpProxy` that holds the PaymentIntent
request of a Pay Now pressed over a signed Slack request. Two ways it can be lost:

- the answer: the request reaches Stripe, which charges the card; the answer never arrives;
- the request: it never reaches Stripe, so nothing is charged.

While it is held the server's whole process group gets SIGKILL. After a restart, the worker's
reconcile job settles the payment: charged once and credited once, or failed as "not charged"
with its invoice open and payable again, and paid with one charge when the person pays again.

The reconcile runs twice: first as the worker's one-shot command right after the restart (the
payment row is seconds old, so it must be left alone: the process that wrote it could still be
waiting for Stripe), then as the same job function with the clock three minutes on, the
earliest the scheduled run (every five minutes) would settle it.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot import credits, jobs
from bot.payments import NOT_CHARGED, STALE_AFTER
from bot.sandbox.slack_api import FakeSlack, RecordedCall
from bot.sandbox.slack_requests import SlackRequestSender, checkboxes, plain_text
from bot.ui.ids import Act, Blk, Cb
from bot.ui.payments import SUCCESS
from store.enums import InvoiceStatus, PaymentStatus
from store.models import Invoice, Payment
from tests.faults.conftest import ROOT, ServedApp, new_served_app, sender_for, wait_until
from tests.faults.tcp_proxy import TcpProxy
from tests.payments.conftest import (
    ADMIN,
    FINANCE_CHANNEL,
    PORTAL_CHANNEL,
    VISA,
    PaymentsHarness,
)
from tests.slack.conftest import text_of

GROSS_FOR_100 = 10800  # 100 credits at £0.90, plus 20% UK VAT
CREATE_INTENT = b"POST /v1/payment_intents "  # not /v1/payment_intents/{id}/...


def _balance(harness: PaymentsHarness, account_id: int) -> int:
    return int(harness.read(lambda s: credits.balance(session=s, account_id=account_id)))


def _invoices(harness: PaymentsHarness) -> list[Invoice]:
    return list(harness.read(lambda s: list(s.scalars(select(Invoice).order_by(Invoice.id)))))


def _told(slack: FakeSlack, contains: str) -> list[RecordedCall]:
    """Ephemeral answers to ADMIN in the portal channel containing `contains`."""
    return [
        call
        for call in slack.calls("chat.postEphemeral")
        if call.params.get("user") == ADMIN and contains in text_of(call.params)
    ]


def _opened(slack: FakeSlack, callback_id: str) -> dict[str, Any]:
    call = slack.wait_for(
        "views.open",
        lambda c: (c.params.get("view") or {}).get("callback_id") == callback_id,
        timeout=10,
    )
    assert call.response is not None
    assert call.response["ok"], call.response
    return slack.view(call.response["view"]["id"])


def _confirmation(sender: SlackRequestSender, slack: FakeSlack) -> dict[str, Any]:
    """`/portal buy 100`, Confirm: the view with Pay Now."""
    command = sender.slash_command(ADMIN, "buy 100", channel_id=PORTAL_CHANNEL)
    assert command.status_code == 200
    modal = _opened(slack, Cb.PURCHASE_CREDITS)
    values: dict[str, Any] = {Blk.CREDITS: {Act.CREDITS_INPUT: plain_text("100")}}
    pushed = sender.view_submission(ADMIN, modal, values)
    assert pushed.json()["response_action"] == "push"
    confirm = slack.modal_stack(ADMIN)[-1]
    assert (confirm["callback_id"], confirm["submit"]["text"]) == (Cb.PURCHASE_CONFIRM, "Pay Now")
    return confirm


def _worker_once(app: ServedApp) -> str:
    """`python -m bot worker --run reconcile-payments`, as an operator or cron would run it."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "worker", "--no-migrate", "--run", "reconcile-payments"],
        cwd=ROOT,
        env=app.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


@pytest.mark.parametrize(
    "stripe_charged", [True, False], ids=["answer-lost-after-charge", "request-lost"]
)
def test_killed_mid_payment_is_settled_by_reconcile_once(
    harness: PaymentsHarness,
    served: list[ServedApp],
    tmp_path: Path,
    faults_engine: Engine,
    stripe_charged: bool,
) -> None:
    slack = harness.slack
    account_id = harness.make_account()
    harness.save_card(account_id, VISA)
    slack.clear()
    localstripe = harness.stripe_server

    with TcpProxy("127.0.0.1", localstripe.port) as proxy:
        app = new_served_app(
            served,
            tmp_path,
            database_url=faults_engine.url.render_as_string(hide_password=False),
            stripe_base=f"http://127.0.0.1:{proxy.port}",
            slack=slack,
        )
        app.start()
        with sender_for(app, slack, account_id) as sender:
            confirm = _confirmation(sender, slack)
            held = proxy.hold(CREATE_INTENT, forward_request=stripe_charged)

            pressed = sender.view_submission(ADMIN, confirm, {})
            assert pressed.json()["response_action"] == "update"  # "Working…"
            assert held.held.wait(10), "Pay Now never asked Stripe for a PaymentIntent"
            wait_until(lambda: b"off_session=" in held.request, 10, "the request's body")
            if stripe_charged:
                assert held.answered.wait(10), "localstripe never answered the held request"
            app.kill9()

            # What the crash left: the row written before Stripe was asked, nothing settled.
            (payment,) = harness.payment_rows()
            assert (payment.status, payment.stripe_payment_intent_id) == (
                PaymentStatus.CREATED,
                None,
            )
            (invoice,) = _invoices(harness)
            assert invoice.status is InvoiceStatus.PAYING
            assert _balance(harness, account_id) == 0
            assert _told(slack, SUCCESS) == []
            # The held request was this payment's charge, sent with its idempotency key.
            assert f"metadata[payment_id]={payment.id}&".encode() in held.request + b"&"
            assert f"Idempotency-Key: {payment.idempotency_key}".encode() in held.request
            intents = localstripe.payment_intents()
            if stripe_charged:
                (intent,) = intents
                assert (intent["status"], intent["amount"]) == ("succeeded", GROSS_FOR_100)
                assert intent["metadata"]["payment_id"] == str(payment.id)
            else:
                assert intents == []

            app.start()
            # Right after the restart the row is seconds old: reconcile leaves it alone.
            ran = _worker_once(app)  # "reconcile-payments (<slot>): <summary>"
            assert ran.startswith("reconcile-payments (")
            assert ran.endswith("): 0 checked, 0 settled")
            # Three minutes on, the scheduled run settles it from what Stripe has.
            later = datetime.now(UTC) + STALE_AFTER + timedelta(minutes=1)
            job_deps = replace(harness.deps, clock=lambda: later)
            assert jobs.reconcile_payments(job_deps) == "1 checked, 1 settled"
            assert jobs.reconcile_payments(job_deps) == "0 checked, 0 settled"

            if stripe_charged:
                (payment,) = harness.payment_rows()
                assert payment.status is PaymentStatus.SUCCEEDED
                assert payment.stripe_payment_intent_id == intent["id"]
                assert harness.invoice(invoice.id).status is InvoiceStatus.PAID
                assert _balance(harness, account_id) == 100
                (told,) = _told(slack, SUCCESS)
                assert told.params["channel"] == PORTAL_CHANNEL
                # The person presses Pay Now again: told it is paid, nothing charged again.
                again = sender.view_submission(ADMIN, confirm, {}, apply_response=False)
                assert again.json()["response_action"] == "update"
                slack.wait_for(
                    "views.update", lambda c: SUCCESS in text_of(c.params.get("view")), timeout=10
                )
            else:
                (payment,) = harness.payment_rows()
                assert (payment.status, payment.failure_code) == (
                    PaymentStatus.FAILED,
                    NOT_CHARGED,
                )
                assert harness.invoice(invoice.id).status is InvoiceStatus.OPEN
                assert _balance(harness, account_id) == 0
                assert localstripe.payment_intents() == []
                # Payable again: `/portal pay`, tick it, Pay Now; charged once, credited once.
                assert sender.slash_command(ADMIN, "pay", channel_id=PORTAL_CHANNEL).ok
                modal = _opened(slack, Cb.PAY_INVOICES)
                values: dict[str, Any] = {
                    Blk.INVOICES: {Act.INVOICES_INPUT: checkboxes([str(invoice.id)])}
                }
                paying = sender.view_submission(ADMIN, modal, values)
                assert paying.json()["response_action"] == "update"
                wait_until(lambda: len(_told(slack, SUCCESS)) == 1, 10, "the payment to succeed")
                (intent,) = localstripe.payment_intents()
                assert (intent["status"], intent["amount"]) == ("succeeded", GROSS_FOR_100)
                assert [(p.attempt, p.status) for p in harness.payment_rows()] == [
                    (1, PaymentStatus.FAILED),
                    (2, PaymentStatus.SUCCEEDED),
                ]
                assert harness.invoice(invoice.id).status is InvoiceStatus.PAID
                assert _balance(harness, account_id) == 100

    assert proxy.alive_threads == 0
    # Whichever way it went: one charge at Stripe, one paid invoice, 100 credits, told once.
    assert [pi["status"] for pi in localstripe.payment_intents()] == ["succeeded"]
    assert len(_invoices(harness)) == 1
    assert harness.count(Payment) == (1 if stripe_charged else 2)
    assert _balance(harness, account_id) == 100
    assert len(_told(slack, SUCCESS)) == 1
    wait_until(
        lambda: len(harness.told("chat.postMessage", FINANCE_CHANNEL)) >= 1, 5, "finance told"
    )
    received = [
        call
        for call in harness.told("chat.postMessage", FINANCE_CHANNEL)
        if "Payment received" in call.params["text"]
    ]
    assert len(received) == 1
