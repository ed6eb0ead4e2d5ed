"""The finance channel feed's builders: golden dicts for the notices, structure for the settings,
and Slack's own limits (the fake's validator) for every message and modal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.autopay import ATTEMPT_DAYS, HistoryEntry, due_attempt, next_try
from bot.dashboard import CardOnFile
from bot.errors import FieldError
from bot.money import Money
from bot.notifications import (
    FeedSettings,
    KindSetting,
    SampleDelivery,
    SampleReport,
    actor_words,
    parse_credits,
    parse_threshold,
)
from bot.payments import PaymentOutcome
from bot.reminders import DigestReport, OverdueLine
from bot.sandbox.slack_api import validate_blocks, validate_view
from bot.ui import finance as ui
from bot.ui.ids import Act, Blk, Cb
from bot.usage import UsageEntry
from store.enums import InvoiceKind, InvoiceStatus, PaymentStatus, VatTreatment
from store.models import Invoice
from store.models import NotificationKind as Kind

LONDON = ZoneInfo("Europe/London")
VISA = CardOnFile(brand="visa", last4="4242", exp_month=12, exp_year=2026)
PAID = PaymentOutcome(
    payment_id=7,
    account_id=1,
    status=PaymentStatus.SUCCEEDED,
    amount=Money(22800, "GBP"),
    invoice_numbers=("INV-000002",),
    credits_granted=0,
    credits_balance=40,
    card=VISA,
    reason=None,
    failure_code=None,
    payment_link=None,
    needs_card=False,
    settled_now=True,
    requested_by="autopay",
    channel_id=None,
    finance_channel_id="C0FINANCE",
    invoice_ids=(12,),
)
FEED = FeedSettings(
    account_id=1,
    company_name="Acme Widgets Ltd",
    channel_id="C0FINANCE",
    paused=False,
    paused_by=None,
    paused_at=None,
    payment_threshold=None,
    kinds={},
    low_balance_below=100,
    low_balance_is_default=True,
    top_up_below=None,
    top_up_credits=None,
    autopay=True,
    card_valid=True,
)


def _invoice(**overrides: Any) -> Invoice:
    fields: dict[str, Any] = {
        "id": 12,
        "account_id": 1,
        "number": "INV-000002",
        "kind": InvoiceKind.SERVICES,
        "issue_date": date(2026, 11, 24),
        "due_date": date(2026, 12, 8),
        "currency": "GBP",
        "vat_treatment": VatTreatment.UK_STANDARD,
        "gross_minor": 22800,
        "status": InvoiceStatus.OPEN,
    }
    fields.update(overrides)
    return Invoice(**fields)


def _valid(message: dict[str, Any]) -> dict[str, Any]:
    assert validate_blocks(message["blocks"]) == []
    assert message["text"]
    return message


VIEW_BUTTON = {
    "type": "actions",
    "elements": [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "View invoice"},
            "action_id": "view_invoice",
            "value": "12",
        }
    ],
}


def test_autopay_payment_received_golden() -> None:
    assert ui.payment_notice(PAID, by=actor_words("autopay")) == {
        "text": "Payment received: £228.00 for invoice INV-000002 by autopay.",
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": ":moneybag: Payment received: £228.00 for invoice INV-000002 by "
                    "autopay.",
                },
            },
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": "Paid with Visa •••• 4242."}],
            },
            VIEW_BUTTON,
        ],
    }


def test_credits_bought_and_top_up_and_failed_payment_wording() -> None:
    bought = replace(PAID, credits_granted=100, credits_balance=150, requested_by="UADMIN")
    text = ui.payment_notice(bought, by=actor_words("UADMIN"))["text"]  # type: ignore[index]
    assert (
        text == "Payment received: £228.00 for invoice INV-000002 by <@UADMIN>: 100 credits bought."
    )
    top_up = ui.payment_notice(replace(bought, requested_by="auto-top-up"), by="auto top-up")
    assert top_up is not None
    assert top_up["text"] == "Auto top-up: 100 credits bought for £228.00 (invoice INV-000002)."
    assert "The balance is now 150 credits." in str(top_up["blocks"])
    failed = replace(PAID, status=PaymentStatus.FAILED, reason="The card has expired.")
    notice = ui.payment_notice(failed, by="autopay")
    assert notice is not None
    assert notice["text"] == (
        "Payment failed: £228.00 for invoice INV-000002. The card has expired."
    )
    several = replace(PAID, invoice_numbers=("INV-000001", "INV-000002"), invoice_ids=(11, 12))
    both = _valid(ui.payment_notice(several, by="<@UFIN>"))  # type: ignore[arg-type]
    assert "invoices INV-000001 and INV-000002" in both["text"]
    assert Act.VIEW_INVOICE not in str(both["blocks"])  # no one invoice to view
    assert ui.payment_notice(replace(PAID, status=PaymentStatus.PROCESSING), by="x") is None


def test_invoice_notices_golden_and_valid() -> None:
    created = ui.invoice_created_notice(_invoice(), by="<@UADMIN>")
    assert created == {
        "text": "Invoice INV-000002 created by <@UADMIN>: £228.00, due 8 Dec 2026.",
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": ":page_facing_up: Invoice INV-000002 created by <@UADMIN>: "
                    "£228.00, due 8 Dec 2026.",
                },
            },
            VIEW_BUTTON,
        ],
    }
    overdue = _valid(ui.overdue_notice(_invoice(), today=date(2026, 12, 11)))
    assert overdue["text"] == (
        "Reminder: invoice INV-000002 (£228.00) was due on 8 Dec 2026 and is 3 days overdue."
    )
    failed = _valid(
        ui.autopay_failed_notice(
            _invoice(), attempt=2, reason="The card was declined.", next_try=date(2026, 12, 11)
        )
    )
    assert failed["text"] == (
        "Autopay could not take £228.00 for invoice INV-000002 (attempt 2). The card was declined."
    )
    assert "Autopay will try the card again on 11 Dec 2026." in str(failed["blocks"])
    attention = _valid(
        ui.autopay_attention_notice(_invoice(), attempts=4, reason="The card was declined.")
    )
    assert attention["text"].startswith("Invoice INV-000002 (£228.00) needs attention")
    reminder = _valid(
        ui.overdue_reminder(
            "Acme Widgets Ltd",
            [_invoice(), _invoice(id=13, number="INV-000003")],
            today=date(2026, 12, 9),
        )
    )
    assert reminder["text"] == "Acme Widgets Ltd has 2 overdue invoices, £456.00 in all."
    assert {Act.MENU_PAY, Act.RETURN_TO_ACCOUNT} <= _action_ids(reminder)


def test_balance_card_and_account_notices() -> None:
    assert _valid(ui.low_balance_notice(90, threshold=100))["text"] == (
        "The credit balance is low: 90 credits, below the warning level of 100 credits."
    )
    assert "-20 credits after usage `job-7`" in ui.overdrawn_notice(-20, reference="job-7")["text"]
    expiring = _valid(
        ui.card_expiring_notice(VISA, expires_on=date(2026, 12, 31), today=date(2026, 12, 10))
    )
    assert expiring["text"] == (
        "The card on file, Visa •••• 4242, expires in 21 days (end of December 2026)."
    )
    assert ui.contact_details_notice(by="<@UADMIN>", fields=["email address"])["text"] == (
        "The account's email address was changed by <@UADMIN>."
    )
    assert ui.user_added_notice(by="<@UADMIN>", user_id="UFIN", role="Finance")["text"] == (
        "<@UFIN> was added as Finance by <@UADMIN>."
    )
    assert ui.user_removed_notice(by="<@UADMIN>", user_id="UFIN")["text"] == (
        "<@UFIN> was removed from the account by <@UADMIN>."
    )


def _digest(**overrides: Any) -> DigestReport:
    fields: dict[str, Any] = {
        "account_id": 1,
        "company_name": "Acme Widgets Ltd",
        "open_count": 2,
        "open_total": Money(45600, "GBP"),
        "overdue_count": 1,
        "overdue_total": Money(22800, "GBP"),
        "overdue": [OverdueLine(12, "INV-000002", Money(22800, "GBP"), date(2026, 12, 8), 3)],
        "payments_count": 1,
        "payments_total": Money(10800, "GBP"),
        "credits_bought": 100,
        "credits_used": 30,
        "balance": 70,
    }
    fields.update(overrides)
    return DigestReport(**fields)


def test_the_digest_says_what_is_open_overdue_paid_and_bought() -> None:
    daily = _valid(ui.digest_message(_digest(), weekly=False))
    assert daily["text"] == (
        "Daily digest — Acme Widgets Ltd: 2 open invoices (£456.00), 1 overdue (£228.00); "
        "1 payment received (£108.00) and 100 credits bought since yesterday."
    )
    assert "INV-000002 · £228.00 · due 8 Dec 2026 (3 days overdue)" in str(daily["blocks"])
    weekly = _valid(ui.digest_message(_digest(overdue=[], overdue_count=0), weekly=True))
    assert weekly["blocks"][0]["text"]["text"] == "Weekly digest — Acme Widgets Ltd"
    assert "this week" in weekly["text"]
    assert "Overdue invoices" not in str(weekly["blocks"])
    assert _digest(open_count=0, payments_count=0, credits_bought=0, credits_used=0).quiet


def test_the_settings_message_offers_every_setting() -> None:
    message = _valid(ui.settings_message(FEED))
    assert _action_ids(message) == {
        Act.CHOOSE_FINANCE_CHANNEL,
        Act.FINANCE_PAUSE,
        Act.FINANCE_NOTIFICATIONS,
        Act.FINANCE_BALANCE,
        Act.FINANCE_AUTOPAY,
        Act.FINANCE_TEST,
        Act.FINANCE_ROUTE,
        Act.RETURN_TO_ACCOUNT,
    }
    text = str(message["blocks"])
    assert "*Channel:* <#C0FINANCE>" in text
    assert "Notifications are on." in text
    assert "Low balance warning below 100 credits (the portal's default)." in text
    assert "Auto top-up: off." in text

    changed = replace(
        FEED,
        paused=True,
        paused_by="UADMIN",
        paused_at=datetime(2026, 11, 24, 10, 30, tzinfo=UTC),
        payment_threshold=Money(10000, "GBP"),
        kinds={
            Kind.USERS: KindSetting(enabled=False),
            Kind.PASSWORD: KindSetting(channel_id="C0SECURITY"),
        },
        top_up_below=50,
        top_up_credits=500,
        autopay=False,
    )
    text = str(_valid(ui.settings_message(changed))["blocks"])
    assert "Notifications are paused* since 24 Nov 2026 by <@UADMIN>" in text
    assert "• Payment received (from £100.00)" in text
    assert "• Password changed → <#C0SECURITY>" in text
    assert "*Off:* User added or removed" in text
    assert "buy 500 credits with the card on file" in text
    assert "'value': 'resume'" in text
    assert "Turn autopay on" in text


def test_the_modals_are_valid_and_start_from_the_settings() -> None:
    feed = replace(
        FEED,
        payment_threshold=Money(25050, "GBP"),
        kinds={Kind.CARD_EXPIRING: KindSetting(enabled=False)},
        low_balance_below=0,
        low_balance_is_default=False,
        top_up_below=50,
        top_up_credits=500,
    )
    kinds = ui.notifications_modal(feed)
    assert validate_view(kinds) == []
    assert kinds["callback_id"] == Cb.FINANCE_NOTIFICATIONS
    blocks = {block.get("block_id"): block for block in kinds["blocks"]}
    money = blocks[Blk.NOTIFY_MONEY]["element"]
    assert len(money["options"]) == len(money["initial_options"]) == 9
    account = blocks[Blk.NOTIFY_ACCOUNT]["element"]
    assert [o["value"] for o in account["initial_options"]] == [
        "card_changed",
        "contact_details",
        "password",
        "users",
    ]
    assert blocks[Blk.PAYMENT_THRESHOLD]["element"]["initial_value"] == "250.50"

    route = ui.route_modal(replace(feed, kinds={Kind.PASSWORD: KindSetting(channel_id="C0SEC")}))
    assert validate_view(route) == []
    assert "Password changed → <#C0SEC>" in str(route["blocks"])
    assert len(route["blocks"][1]["element"]["options"]) == len(Kind)

    balance = ui.balance_modal(feed)
    assert validate_view(balance) == []
    initial = {b["block_id"]: b["element"].get("initial_value") for b in balance["blocks"]}
    assert initial == {Blk.LOW_BALANCE: "0", Blk.TOP_UP_BELOW: "50", Blk.TOP_UP_CREDITS: "500"}


def test_the_test_notification_says_what_will_arrive() -> None:
    feed = replace(FEED, payment_threshold=Money(10000, "GBP"), paused=True)
    message = _valid(
        ui.test_notification(
            feed,
            channel_id="C0FINANCE",
            kinds=[Kind.PAYMENT_RECEIVED, Kind.DAILY_DIGEST],
            by="<@UADMIN>",
        )
    )
    assert message["text"] == (
        "Test notification from the Admin Portal for Acme Widgets Ltd, sent by <@UADMIN>. This "
        "channel will receive: Payment received, Daily digest (09:00)."
    )
    text = str(message["blocks"])
    assert "Payments under £100.00 are not posted." in text
    assert "Notifications are paused at the moment" in text

    sent = ui.test_sent_message(
        SampleReport([SampleDelivery("C0FINANCE", (Kind.PAYMENT_RECEIVED,), True)], paused=False)
    )
    assert sent["text"] == "Test notification sent to <#C0FINANCE>."
    failed = ui.test_sent_message(
        SampleReport([SampleDelivery("C0SECRET", (Kind.PASSWORD,), False)])
    )
    assert "invite the app there" in str(failed["blocks"])
    nowhere = ui.test_sent_message(SampleReport([]))
    assert Act.CHOOSE_FINANCE_CHANNEL in _action_ids(nowhere)


def test_usage_and_history_blocks() -> None:
    at = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
    blocks = ui.usage_blocks(
        [UsageEntry(30, "job-7", at, overdrawn=False), UsageEntry(1, "job-8", at, overdrawn=True)],
        tz=LONDON,
    )
    assert validate_blocks(blocks) == []
    assert blocks[0]["text"]["text"] == (
        "*Usage*\n24 Nov 2026 10:30 · 30 credits · `job-7`\n"
        "24 Nov 2026 10:30 · 1 credit · `job-8` · :warning: overdrew the balance"
    )
    assert ui.usage_blocks([], tz=LONDON)[0]["text"]["text"] == "*Usage*\nNo usage reported yet."
    history = ui.history_blocks(
        [HistoryEntry(at, "Autopay attempt 1 of 4, £228.00: paid")], tz=LONDON
    )
    assert (
        history[0]["text"]["text"]
        == "*History*\n24 Nov 2026 10:30 · Autopay attempt 1 of 4, £228.00: paid"
    )


def test_attempt_schedule_due_day_then_days_one_three_and_seven() -> None:
    due = date(2026, 12, 8)
    assert ATTEMPT_DAYS == (0, 1, 3, 7)
    assert [due_attempt(due, date(2026, 12, d)) for d in range(7, 17)] == [
        None, 1, 2, 2, 3, 3, 3, 3, 4, None,
    ]  # fmt: skip
    assert [next_try(due, n) for n in (1, 2, 3, 4)] == [
        date(2026, 12, 9),
        date(2026, 12, 11),
        date(2026, 12, 15),
        None,
    ]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("", None), ("100", 10000), ("£250.50", 25050), ("1,000", 100000), ("0", None)],
)
def test_the_payment_threshold_is_money(typed: str, expected: int | None) -> None:
    found = parse_threshold(typed, currency="GBP")
    assert (found.amount_minor if found else None) == expected


@pytest.mark.parametrize("typed", ["abc", "1.234", "-5", "12e3e"])
def test_a_bad_threshold_is_a_field_error(typed: str) -> None:
    with pytest.raises(FieldError, match="Enter an amount") as caught:
        parse_threshold(typed, currency="GBP")
    assert caught.value.field == Blk.PAYMENT_THRESHOLD


def test_credits_fields_are_whole_numbers() -> None:
    assert parse_credits(" 1,500 ", field=Blk.TOP_UP_CREDITS) == 1500
    assert parse_credits("", field=Blk.TOP_UP_CREDITS) is None
    for bad in ("1.5", "-1", "2000000"):
        with pytest.raises(FieldError, match=r"Enter") as caught:
            parse_credits(bad, field=Blk.TOP_UP_CREDITS)
        assert caught.value.field == Blk.TOP_UP_CREDITS


def _action_ids(message: dict[str, Any]) -> set[str]:
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("action_id"), str):
                found.add(value["action_id"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(message)
    return found
