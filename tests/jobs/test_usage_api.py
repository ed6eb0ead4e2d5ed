"""`POST /api/usage`: the bearer token, idempotency on the reference, the balance alerts once per
crossing, and the auto top-up bought once per crossing even when reports race.

Real HTTP against the running app; on PostgreSQL (TEST_DATABASE_URL) the racing reports are
truly concurrent transactions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import requests
from sqlalchemy import func, select

from bot import credits
from bot.usage import USAGE_PATH, recent_usage
from store.enums import InvoiceKind, LedgerKind, PaymentStatus
from store.models import (
    BalanceAlert,
    BalanceCrossing,
    CreditLedgerEntry,
    FinanceSettings,
    Invoice,
    OverdrawnUsage,
    Payment,
)
from tests.jobs.conftest import USAGE_TOKEN
from tests.payments.conftest import FINANCE_CHANNEL, VISA, PaymentsHarness
from tests.slack.conftest import text_of

RACERS = 20


def report(
    app: PaymentsHarness,
    account_id: int,
    used: int,
    reference: str,
    *,
    token: str | None = USAGE_TOKEN,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    body = {
        "account_id": account_id,
        "credits": used,
        "reference": reference,
        "time": (app.clock() - timedelta(minutes=5)).isoformat(),
    }
    sent = dict(headers or {})
    if token is not None and headers is None:
        sent["Authorization"] = f"Bearer {token}"
    return requests.post(f"{app.url}{USAGE_PATH}", json=body, headers=sent, timeout=20)


def grant(app: PaymentsHarness, account_id: int, amount: int, reference: str) -> None:
    """Credits on the account, as a purchase or an adjustment would put them there."""
    with app.session() as session:
        session.add(
            CreditLedgerEntry(
                account_id=account_id,
                kind=LedgerKind.ADJUSTMENT,
                credits=amount,
                reason="Opening balance",
                reference=reference,
                occurred_at=app.clock(),
                created_at=app.clock(),
            )
        )


def balance(app: PaymentsHarness, account_id: int) -> int:
    return int(app.read(lambda s: credits.balance(session=s, account_id=account_id)))


def usage_rows(app: PaymentsHarness) -> int:
    return int(
        app.read(
            lambda s: s.scalar(
                select(func.count())
                .select_from(CreditLedgerEntry)
                .where(CreditLedgerEntry.kind == LedgerKind.USAGE)
            )
        )
    )


def finance_texts(app: PaymentsHarness, contains: str) -> list[str]:
    return [
        c.params["text"]
        for c in app.told("chat.postMessage", FINANCE_CHANNEL)
        if contains in c.params["text"]
    ]


def all_at_once(count: int, send: Callable[[int], requests.Response]) -> list[requests.Response]:
    start = threading.Barrier(count)

    def one(n: int) -> requests.Response:
        start.wait(timeout=10)
        return send(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_a_bad_token_is_401_and_records_nothing(app: PaymentsHarness) -> None:
    account_id = app.make_account()
    for headers in (
        {},
        {"Authorization": "Bearer not-the-token"},
        {"Authorization": f"Basic {USAGE_TOKEN}"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Bearer {USAGE_TOKEN}x"},
    ):
        answer = report(app, account_id, 5, "job-1", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert usage_rows(app) == 0


def test_the_same_reference_twice_counts_once(app: PaymentsHarness) -> None:
    account_id = app.make_account()
    grant(app, account_id, 500, "opening")

    first = report(app, account_id, 30, "job-1")
    again = report(app, account_id, 30, "job-1")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == {
        "recorded": True,
        "duplicate": False,
        "entry_id": first.json()["entry_id"],
        "balance": 470,
        "overdrawn": False,
    }
    assert again.json()["duplicate"] is True
    assert again.json()["entry_id"] == first.json()["entry_id"]
    assert usage_rows(app) == 1
    assert balance(app, account_id) == 470
    # The same reference for other usage is a conflict, and changes nothing.
    assert report(app, account_id, 31, "job-1").status_code == 409
    assert balance(app, account_id) == 470


def test_racing_reports_with_one_reference_count_once(app: PaymentsHarness) -> None:
    account_id = app.make_account()
    grant(app, account_id, 500, "opening")
    answers = all_at_once(10, lambda _n: report(app, account_id, 7, "job-same"))
    assert sorted(a.status_code for a in answers) == [200] * 9 + [201]
    assert usage_rows(app) == 1
    assert balance(app, account_id) == 493


def test_bad_reports_are_400_and_an_unknown_account_404(app: PaymentsHarness) -> None:
    account_id = app.make_account()
    bad = requests.post(
        f"{app.url}{USAGE_PATH}",
        json={"account_id": account_id, "credits": 0, "reference": " ", "time": "yesterday"},
        headers={"Authorization": f"Bearer {USAGE_TOKEN}"},
        timeout=10,
    )
    assert bad.status_code == 400
    assert set(bad.json()["fields"]) == {"credits", "reference", "time"}
    not_json = requests.post(
        f"{app.url}{USAGE_PATH}",
        data="credits=5",
        headers={"Authorization": f"Bearer {USAGE_TOKEN}"},
        timeout=10,
    )
    assert not_json.status_code == 400
    assert report(app, account_id + 1000, 5, "job-1").status_code == 404
    assert usage_rows(app) == 0


def test_crossing_the_low_balance_threshold_notifies_once(app: PaymentsHarness) -> None:
    account_id = app.make_account()  # the portal's default warning level: 100 credits
    grant(app, account_id, 150, "opening")

    for used, reference in ((30, "a"), (40, "b"), (10, "c"), (5, "d")):
        assert report(app, account_id, used, reference).status_code == 201
    assert balance(app, account_id) == 65
    assert finance_texts(app, "credit balance is low") == [
        "The credit balance is low: 80 credits, below the warning level of 100 credits."
    ]
    # Back above the level (credits bought), then below again: a new crossing, told once more.
    grant(app, account_id, 100, "bought")
    report(app, account_id, 90, "e")
    report(app, account_id, 1, "f")
    assert len(finance_texts(app, "credit balance is low")) == 2
    crossings = app.read(
        lambda s: [
            (c.alert, c.period, c.balance_after)
            for c in s.scalars(select(BalanceCrossing).order_by(BalanceCrossing.id))
        ]
    )
    assert crossings == [(BalanceAlert.LOW_BALANCE, 1, 80), (BalanceAlert.LOW_BALANCE, 2, 75)]


def test_usage_beyond_the_balance_is_recorded_and_flagged(app: PaymentsHarness) -> None:
    account_id = app.make_account()
    grant(app, account_id, 10, "opening")

    answer = report(app, account_id, 30, "big-job")
    later = report(app, account_id, 5, "small-job")

    assert answer.status_code == 201
    assert (answer.json()["balance"], answer.json()["overdrawn"]) == (-20, True)
    assert later.json()["overdrawn"] is True
    assert app.count(OverdrawnUsage) == 2
    assert finance_texts(app, "overdrawn") == [
        "The credit balance is overdrawn: -20 credits after usage `big-job`. The usage was "
        "recorded and flagged."
    ]
    # What `/portal credits` lists (newest first), the overdrawing usage marked.
    listed = app.read(lambda s: recent_usage(session=s, account_id=account_id))
    assert [(u.credits, u.reference, u.overdrawn) for u in listed] == [
        (5, "small-job", True),
        (30, "big-job", True),
    ]


def _top_up_settings(app: PaymentsHarness, account_id: int, below: int, buy: int) -> None:
    with app.session() as session:
        session.add(
            FinanceSettings(
                account_id=account_id,
                paused=False,
                low_balance_below=0,
                top_up_below=below,
                top_up_credits=buy,
                updated_at=app.clock(),
            )
        )


def test_auto_top_up_buys_once_per_crossing_even_when_reports_race(app: PaymentsHarness) -> None:
    account_id = app.make_account()
    app.save_card(account_id, VISA)
    _top_up_settings(app, account_id, below=500, buy=1000)
    grant(app, account_id, 1000, "opening")

    answers = all_at_once(RACERS, lambda n: report(app, account_id, 30, f"race-{n}"))

    assert {a.status_code for a in answers} == {201}
    assert balance(app, account_id) == 1000 - RACERS * 30 + 1000
    invoices: list[Any] = app.read(lambda s: list(s.scalars(select(Invoice))))
    assert [(i.kind, i.gross_minor) for i in invoices] == [(InvoiceKind.CREDITS, 96000)]
    (payment,) = app.payment_rows()
    assert (payment.status, payment.requested_by) == (PaymentStatus.SUCCEEDED, "auto-top-up")
    (intent,) = app.stripe_server.payment_intents()
    assert (intent["amount"], intent["status"]) == (96000, "succeeded")
    (crossing,) = app.read(lambda s: list(s.scalars(select(BalanceCrossing))))
    assert (crossing.alert, crossing.invoice_id) == (BalanceAlert.TOP_UP, invoices[0].id)
    assert crossing.handled_at is not None
    (announced,) = [
        c.params
        for c in app.told("chat.postMessage", FINANCE_CHANNEL)
        if "top-up" in c.params["text"]
    ]
    assert (
        announced["text"] == "Auto top-up: 1,000 credits bought for £960.00 (invoice INV-000001)."
    )
    assert "The balance is now" in text_of(announced)

    # Down below the level again: one more top-up, for the new crossing.
    report(app, account_id, 1000, "big")
    report(app, account_id, 10, "after")
    assert app.count(Payment) == 2
    assert balance(app, account_id) == 1400 - 1010 + 1000
    # The top-ups job has nothing left to finish.
    app.clock.advance(minutes=5)
    from bot.scheduler import JobRunner  # noqa: PLC0415 - only this test runs the job

    assert JobRunner(app.deps).run("top-ups").outcome == "0 top-ups made"


def test_a_top_up_without_a_card_is_told_not_bought(app: PaymentsHarness) -> None:
    account_id = app.make_account()
    _top_up_settings(app, account_id, below=50, buy=100)
    grant(app, account_id, 60, "opening")
    assert report(app, account_id, 20, "job").status_code == 201
    assert app.count(Invoice) == 0
    assert finance_texts(app, "Auto top-up could not buy") == [
        "Auto top-up could not buy 100 credits: there is no valid card on file."
    ]
