"""Autopay, travelling in time with the clock (nobody sleeps): an invoice due today is charged
once; a declined card is tried again on days 1, 3 and 7, then the admins and the finance
channel are told; every attempt is in the invoice's history.

Against localstripe (the real `stripe` library over HTTP) and the fake Slack; the jobs run
through the worker's `JobRunner`, leases and all.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from bot.autopay import invoice_history
from bot.scheduler import JobRunner
from store.enums import InvoiceStatus, PaymentStatus
from store.models import Account, AutopayAttempt, AutopayStatus, Invoice
from tests.payments.conftest import ADMIN, DECLINES, FINANCE_CHANNEL, VISA, PaymentsHarness
from tests.slack.conftest import text_of

DUE = date(2026, 12, 8)  # a service invoice made on 24 Nov is due 14 days later


def at(app: PaymentsHarness, day: int, hour: int, minute: int = 7) -> None:
    app.clock.now = datetime(2026, 12, day, hour, minute, tzinfo=UTC)  # GMT: London time too


def finance_posts(app: PaymentsHarness, contains: str = "") -> list[dict[str, object]]:
    return [
        call.params
        for call in app.told("chat.postMessage", FINANCE_CHANNEL)
        if contains in text_of(call.params)
    ]


def attempts(app: PaymentsHarness) -> list[tuple[int, AutopayStatus, date]]:
    return app.read(  # type: ignore[no-any-return]
        lambda s: [
            (a.attempt, a.status, a.scheduled_for)
            for a in s.scalars(select(AutopayAttempt).order_by(AutopayAttempt.attempt))
        ]
    )


def history(app: PaymentsHarness, invoice_id: int) -> list[str]:
    return app.read(  # type: ignore[no-any-return]
        lambda s: [
            e.what for e in invoice_history(session=s, invoice=s.get_one(Invoice, invoice_id))
        ]
    )


def test_an_invoice_due_today_is_charged_once(app: PaymentsHarness, runner: JobRunner) -> None:
    account_id = app.make_account()
    app.save_card(account_id, VISA)
    invoice_id = app.service_invoice(account_id)
    app.slack.clear()

    at(app, 7, 23)  # the evening before: not yet
    assert runner.run("autopay").outcome.startswith("0 attempted")
    assert app.stripe_server.payment_intents() == []

    at(app, 8, 0)  # the due date, the first run after midnight
    assert runner.run("autopay").outcome.startswith("1 attempted: 1 paid")
    # Another worker waking for the same slot skips; the rest of the day finds nothing to do.
    assert JobRunner(app.deps, holder="worker-b").run("autopay").ran is False
    for hour in (1, 2, 13, 23):
        at(app, 8, hour)
        assert runner.run("autopay").outcome.startswith("0 attempted")

    (intent,) = app.stripe_server.payment_intents()
    assert (intent["amount"], intent["status"]) == (22800, "succeeded")
    assert app.invoice(invoice_id).status is InvoiceStatus.PAID
    (payment,) = app.payment_rows()
    assert payment.idempotency_key == f"invoices:{invoice_id}:attempt:1"
    assert (payment.requested_by, payment.status) == ("autopay", PaymentStatus.SUCCEEDED)
    assert attempts(app) == [(1, AutopayStatus.SUCCEEDED, DUE)]
    (notice,) = finance_posts(app)
    assert notice["text"] == "Payment received: £228.00 for invoice INV-000001 by autopay."
    assert "view_invoice" in str(notice["blocks"])
    assert app.slack.calls("chat.postEphemeral") == []  # nobody pressed Pay Now
    assert history(app, invoice_id) == [
        "Invoice created: £228.00, due 8 Dec 2026",
        "Autopay attempt 1 of 4, £228.00: paid",
        "Paid",
    ]


def test_a_declined_card_is_retried_on_days_1_3_and_7_then_escalated(
    app: PaymentsHarness, runner: JobRunner
) -> None:
    account_id = app.make_account()
    app.save_card(account_id, DECLINES)
    invoice_id = app.service_invoice(account_id)
    app.slack.clear()

    for day in range(8, 18):  # the due date to ten days after, twice a day, reminders at 10:00
        for hour in (0, 12):
            at(app, day, hour)
            runner.run("autopay")
        at(app, day, 10, 0)
        runner.run("reminders")

    assert attempts(app) == [
        (1, AutopayStatus.FAILED, date(2026, 12, 8)),
        (2, AutopayStatus.FAILED, date(2026, 12, 9)),
        (3, AutopayStatus.FAILED, date(2026, 12, 11)),
        (4, AutopayStatus.FAILED, date(2026, 12, 15)),
    ]
    intents = app.stripe_server.payment_intents()
    assert len(intents) == 4
    assert [p.idempotency_key for p in app.payment_rows()] == [
        f"invoices:{invoice_id}:attempt:{n}" for n in (1, 2, 3, 4)
    ]
    assert app.invoice(invoice_id).status is InvoiceStatus.OPEN

    failed = finance_posts(app, "Autopay could not take")
    assert [post["text"] for post in failed] == [
        f"Autopay could not take £228.00 for invoice INV-000001 (attempt {n}). "
        "Your bank declined the card without giving a reason."
        for n in (1, 2, 3)
    ]
    assert [
        str(post["blocks"]).split("try the card again on ")[1][:6].strip() for post in failed
    ] == ["9 Dec", "11 Dec", "15 Dec"]
    (attention,) = finance_posts(app, "needs attention")
    assert attention["text"] == (
        "Invoice INV-000001 (£228.00) needs attention: autopay tried the card on file 4 times "
        "and could not take the payment. Your bank declined the card without giving a reason."
    )
    (told_admin,) = [
        c for c in app.told("chat.postMessage", ADMIN) if "needs attention" in c.params["text"]
    ]
    assert "`/portal pay`" in text_of(told_admin.params)
    # Everything about the invoice is one thread: the first message starts it.
    root, *follow_ups = finance_posts(app)
    assert "thread_ts" not in root
    thread = {post.get("thread_ts") for post in follow_ups}
    assert len(thread) == 1
    assert None not in thread
    # The daily overdue reminder, from the day after the due date, in the thread too.
    reminders = finance_posts(app, "Reminder: invoice INV-000001")
    assert len(reminders) == 9  # 9 to 17 December
    assert (
        len([c for c in app.told("chat.postMessage", ADMIN) if "overdue" in c.params["text"]]) == 9
    )

    lines = history(app, invoice_id)  # in the order things happened
    assert [line for line in lines if line.startswith("Autopay")] == [
        f"Autopay attempt {n} of 4, £228.00: failed: Your bank declined the card without "
        "giving a reason."
        for n in (1, 2, 3, 4)
    ]
    assert lines.count("Overdue reminder sent") == 9


def test_no_autopay_without_a_valid_card_or_with_autopay_off(
    app: PaymentsHarness, runner: JobRunner
) -> None:
    no_card = app.make_account()
    app.service_invoice(no_card)
    switched_off = app.make_account()
    app.save_card(switched_off, VISA)
    app.service_invoice(switched_off)
    with app.session() as session:
        session.get_one(Account, switched_off).autopay = False

    at(app, 8, 0)
    assert runner.run("autopay").outcome.startswith("0 attempted")
    assert app.stripe_server.payment_intents() == []
    assert attempts(app) == []


def test_an_attempt_whose_worker_died_before_paying_is_made_by_the_next_run(
    app: PaymentsHarness, runner: JobRunner
) -> None:
    account_id = app.make_account()
    app.save_card(account_id, VISA)
    invoice_id = app.service_invoice(account_id)
    at(app, 8, 0)
    with app.session() as session:  # the claim of a worker that died before paying
        session.add(
            AutopayAttempt(
                invoice_id=invoice_id,
                account_id=account_id,
                attempt=1,
                scheduled_for=DUE,
                status=AutopayStatus.STARTED,
                started_at=app.clock(),
            )
        )
    assert runner.run("autopay").outcome.startswith("0 attempted")  # it may still be working
    at(app, 8, 1)
    assert runner.run("autopay").outcome.startswith("1 attempted: 1 paid")
    assert len(app.stripe_server.payment_intents()) == 1
    assert attempts(app) == [(1, AutopayStatus.SUCCEEDED, DUE)]
