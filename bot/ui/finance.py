"""The finance channel feed and its settings (pure builders, no I/O).

Notices go to the finance channel (or where a kind is routed): written for people, amounts
formatted, a button to view the invoice when there is one. The settings message and its
modals are what `/portal finance` shows an admin.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.money import Money
from bot.ui.common import (
    Block,
    Message,
    actions,
    button,
    context,
    header,
    modal,
    option,
    plain,
    return_to_account,
    success,
    text_input,
    text_section,
)
from bot.ui.ids import PORTAL_COMMAND, Act, Blk, Cb
from store.enums import PaymentStatus
from store.models import NotificationKind as Kind

if TYPE_CHECKING:
    from bot.autopay import HistoryEntry
    from bot.dashboard import CardOnFile
    from bot.notifications import FeedSettings, SampleReport
    from bot.payments import CardSaved, PaymentOutcome
    from bot.reminders import DigestReport
    from bot.usage import UsageEntry
    from store.models import Invoice

KIND_LABELS: dict[Kind, str] = {
    Kind.PAYMENT_RECEIVED: "Payment received",
    Kind.PAYMENT_FAILED: "Payment failed",
    Kind.INVOICE_CREATED: "Invoice created",
    Kind.INVOICE_OVERDUE: "Invoice overdue (a daily reminder)",
    Kind.AUTOPAY_ATTENTION: "Autopay needs attention",
    Kind.CREDITS_BOUGHT: "Credits bought",
    Kind.LOW_BALANCE: "Low credit balance",
    Kind.DAILY_DIGEST: "Daily digest (09:00)",
    Kind.WEEKLY_DIGEST: "Weekly digest (Mondays, 09:00)",
    Kind.CARD_CHANGED: "Card added or changed",
    Kind.CARD_EXPIRING: "Card expiring",
    Kind.CONTACT_DETAILS: "Contact details changed",
    Kind.PASSWORD: "Password changed",
    Kind.USERS: "User added or removed",
}
MONEY_KINDS: tuple[Kind, ...] = (
    Kind.PAYMENT_RECEIVED,
    Kind.PAYMENT_FAILED,
    Kind.INVOICE_CREATED,
    Kind.INVOICE_OVERDUE,
    Kind.AUTOPAY_ATTENTION,
    Kind.CREDITS_BOUGHT,
    Kind.LOW_BALANCE,
    Kind.DAILY_DIGEST,
    Kind.WEEKLY_DIGEST,
)
ACCOUNT_KINDS: tuple[Kind, ...] = (
    Kind.CARD_CHANGED,
    Kind.CARD_EXPIRING,
    Kind.CONTACT_DETAILS,
    Kind.PASSWORD,
    Kind.USERS,
)
PAYMENT_KINDS = (Kind.PAYMENT_RECEIVED, Kind.PAYMENT_FAILED, Kind.CREDITS_BOUGHT)
TITLE = "Finance channel"
AUTOPAY_RULE = (
    "open invoices are charged to the card on file on their due date, and again 1, 3 and 7 "
    "days later if the card is declined"
)
SAVED = "Your finance channel settings have been successfully updated."
_OVERDUE_LISTED = 10


def day(value: date) -> str:
    """`8 Dec 2026`."""
    return f"{value.day} {value:%b %Y}"


def credits_words(count: int) -> str:
    return f"{count:,} credit{'' if count in (1, -1) else 's'}"


def _gross(invoice: Invoice) -> str:
    return Money(invoice.gross_minor, invoice.currency).format()


def view_invoice_button(invoice_id: int) -> Block:
    return button("View invoice", Act.VIEW_INVOICE, value=str(invoice_id))


def _notice(text: str, emoji: str, *details: str, invoice_id: int | None = None) -> Message:
    """A feed notice: what happened, details, and the invoice button when it is about one."""
    blocks: list[Block] = [text_section(f"{emoji} {text}")]
    blocks.extend(context(detail) for detail in details if detail)
    if invoice_id is not None:
        blocks.append(actions(view_invoice_button(invoice_id)))
    return {"text": text, "blocks": blocks}


def _invoices(numbers: Sequence[str]) -> str:
    if not numbers:
        return "the payment"
    if len(numbers) == 1:
        return f"invoice {numbers[0]}"
    return "invoices " + ", ".join(numbers[:-1]) + f" and {numbers[-1]}"


# -- Payments and the card on file ---------------------------------------------------------------


def payment_notice(outcome: PaymentOutcome, *, by: str) -> Message | None:
    """A settled payment: received (credits bought, auto top-up) or failed; None otherwise."""
    only = outcome.invoice_ids[0] if len(outcome.invoice_ids) == 1 else None
    if outcome.status is PaymentStatus.SUCCEEDED:
        if by == "auto top-up" and outcome.credits_granted:
            text = (
                f"Auto top-up: {credits_words(outcome.credits_granted)} bought for "
                f"{outcome.amount} ({_invoices(outcome.invoice_numbers)})."
            )
            balance = f"The balance is now {credits_words(outcome.credits_balance)}."
            return _notice(text, ":moneybag:", balance, invoice_id=only)
        text = (
            f"Payment received: {outcome.amount} for {_invoices(outcome.invoice_numbers)} by {by}"
        )
        details = []
        if outcome.credits_granted:
            text += f": {credits_words(outcome.credits_granted)} bought"
            details.append(f"The balance is now {credits_words(outcome.credits_balance)}.")
        if outcome.card is not None:
            details.append(f"Paid with {outcome.card.brand.title()} •••• {outcome.card.last4}.")
        return _notice(text + ".", ":moneybag:", *details, invoice_id=only)
    if outcome.status is PaymentStatus.FAILED and not outcome.retry_later:
        text = (
            f"Payment failed: {outcome.amount} for {_invoices(outcome.invoice_numbers)}. "
            f"{outcome.reason or 'The card was declined.'}"
        )
        return _notice(text, ":warning:", "The invoice is still open.", invoice_id=only)
    return None


def card_notice(result: CardSaved, *, by: str) -> Message:
    if result.card is None:
        text = f"The card on file was removed ({by})."
        detail = "Autopay has no card to charge until a new one is added."
    else:
        verb = "changed" if result.replaced else "added"
        text = f"Card {verb} by {by}: {result.card.masked}."
        detail = ""
    return _notice(text, ":credit_card:", detail)


def card_expiring_notice(card: CardOnFile, *, expires_on: date, today: date) -> Message:
    days = (expires_on - today).days
    when = "today" if days <= 0 else f"in {days} day{'' if days == 1 else 's'}"
    text = (
        f"The card on file, {card.brand.title()} •••• {card.last4}, expires {when} "
        f"(end of {expires_on:%B %Y})."
    )
    return _notice(
        text,
        ":hourglass_flowing_sand:",
        f"Add a new card with `{PORTAL_COMMAND} card` so that invoices keep being paid "
        "automatically.",
    )


# -- Invoices and autopay --------------------------------------------------------------------------


def invoice_created_notice(invoice: Invoice, *, by: str) -> Message:
    text = (
        f"Invoice {invoice.number} created by {by}: {_gross(invoice)}, due {day(invoice.due_date)}."
    )
    return _notice(text, ":page_facing_up:", invoice_id=invoice.id)


def overdue_notice(invoice: Invoice, *, today: date) -> Message:
    days = (today - invoice.due_date).days
    text = (
        f"Reminder: invoice {invoice.number} ({_gross(invoice)}) was due on "
        f"{day(invoice.due_date)} and is {days} day{'' if days == 1 else 's'} overdue."
    )
    return _notice(text, ":bell:", f"Pay it with `{PORTAL_COMMAND} pay`.", invoice_id=invoice.id)


def overdue_reminder(company_name: str, invoices: Sequence[Invoice], *, today: date) -> Message:
    """The daily reminder to an account's admins: every overdue invoice in one message."""
    count = len(invoices)
    total = sum(i.gross_minor for i in invoices)
    currency = invoices[0].currency if invoices else "GBP"
    text = (
        f"{company_name} has {count} overdue invoice{'' if count == 1 else 's'}, "
        f"{Money(total, currency)} in all."
    )
    lines = [
        f"• {i.number} · {_gross(i)} · due {day(i.due_date)} "
        f"({(today - i.due_date).days} days overdue)"
        for i in invoices[:_OVERDUE_LISTED]
    ]
    if count > _OVERDUE_LISTED:
        lines.append(f"• and {count - _OVERDUE_LISTED} more")
    return {
        "text": text,
        "blocks": [
            text_section(f":bell: {text}"),
            text_section("\n".join(lines)),
            actions(
                button("Pay invoices", Act.MENU_PAY, style="primary"),
                button("Return to Account", Act.RETURN_TO_ACCOUNT),
            ),
        ],
    }


def autopay_failed_notice(
    invoice: Invoice, *, attempt: int, reason: str, next_try: date | None
) -> Message:
    text = (
        f"Autopay could not take {_gross(invoice)} for invoice {invoice.number} "
        f"(attempt {attempt}). {reason}"
    )
    then = (
        f"Autopay will try the card again on {day(next_try)}."
        if next_try is not None
        else "Autopay will not try again."
    )
    return _notice(text, ":warning:", then, invoice_id=invoice.id)


def autopay_attention_notice(invoice: Invoice, *, attempts: int, reason: str) -> Message:
    text = (
        f"Invoice {invoice.number} ({_gross(invoice)}) needs attention: autopay tried the card on "
        f"file {attempts} times and could not take the payment. {reason}"
    )
    return _notice(
        text,
        ":rotating_light:",
        f"Pay it with `{PORTAL_COMMAND} pay`, or add another card with `{PORTAL_COMMAND} card`.",
        invoice_id=invoice.id,
    )


# -- Credits ---------------------------------------------------------------------------------------


def low_balance_notice(balance: int, *, threshold: int) -> Message:
    text = (
        f"The credit balance is low: {credits_words(balance)}, below the warning level of "
        f"{credits_words(threshold)}."
    )
    return _notice(text, ":small_red_triangle_down:", f"Buy more with `{PORTAL_COMMAND} buy`.")


def overdrawn_notice(balance: int, *, reference: str) -> Message:
    text = (
        f"The credit balance is overdrawn: {credits_words(balance)} after usage `{reference}`. "
        "The usage was recorded and flagged."
    )
    return _notice(text, ":rotating_light:", f"Buy credits with `{PORTAL_COMMAND} buy`.")


def top_up_problem_notice(credits: int, *, problem: str) -> Message:
    text = f"Auto top-up could not buy {credits_words(credits)}: {problem}"
    return _notice(text, ":warning:", f"Buy credits with `{PORTAL_COMMAND} buy`.")


# -- Account and security --------------------------------------------------------------------------


def contact_details_notice(*, by: str, fields: Sequence[str]) -> Message:
    what = " and ".join(fields) if fields else "contact details"
    return _notice(
        f"The account's {what} {'was' if len(fields) == 1 else 'were'} changed by {by}.", ":memo:"
    )


def user_added_notice(*, by: str, user_id: str, role: str) -> Message:
    return _notice(f"<@{user_id}> was added as {role} by {by}.", ":bust_in_silhouette:")


def role_changed_notice(*, by: str, user_id: str, role: str) -> Message:
    return _notice(f"<@{user_id}> is now {role} (changed by {by}).", ":bust_in_silhouette:")


def user_removed_notice(*, by: str, user_id: str) -> Message:
    return _notice(f"<@{user_id}> was removed from the account by {by}.", ":bust_in_silhouette:")


# -- Digests ---------------------------------------------------------------------------------------


def digest_message(report: DigestReport, *, weekly: bool) -> Message:
    period = "this week" if weekly else "since yesterday"
    title = f"{'Weekly' if weekly else 'Daily'} digest — {report.company_name}"
    text = (
        f"{title}: {report.open_count} open invoice{'' if report.open_count == 1 else 's'} "
        f"({report.open_total}), {report.overdue_count} overdue ({report.overdue_total}); "
        f"{report.payments_count} payment{'' if report.payments_count == 1 else 's'} received "
        f"({report.payments_total}) and {credits_words(report.credits_bought)} bought {period}."
    )
    blocks: list[Block] = [
        header(title),
        {
            "type": "section",
            "fields": [
                {
                    "type": "mrkdwn",
                    "text": f"*Open invoices*\n{report.open_count} · {report.open_total}",
                },
                {
                    "type": "mrkdwn",
                    "text": f"*Overdue*\n{report.overdue_count} · {report.overdue_total}",
                },
                {
                    "type": "mrkdwn",
                    "text": f"*Payments received {period}*\n"
                    f"{report.payments_count} · {report.payments_total}",
                },
                {
                    "type": "mrkdwn",
                    "text": f"*Credits {period}*\n{report.credits_bought:,} bought · "
                    f"{report.credits_used:,} used",
                },
            ],
        },
    ]
    if report.overdue:
        lines = [
            f"• {i.number} · {i.gross} · due {day(i.due_date)} ({i.days_overdue} days overdue)"
            for i in report.overdue
        ]
        if report.overdue_count > len(report.overdue):
            lines.append(f"• and {report.overdue_count - len(report.overdue)} more")
        blocks.append(text_section("*Overdue invoices*\n" + "\n".join(lines)))
    blocks.append(context(f"Credit balance: {credits_words(report.balance)}."))
    blocks.append(
        actions(button("Invoices", Act.MENU_INVOICES), button("Pay invoices", Act.MENU_PAY))
    )
    return {"text": text, "blocks": blocks}


# -- Usage and the invoice's history (for the Credits area and the invoice view) ---------------


def usage_blocks(entries: Sequence[UsageEntry], *, tz: ZoneInfo) -> list[Block]:
    """The Credits area's "Usage" section: the most recent usage reported by the platform."""
    if not entries:
        return [text_section("*Usage*\nNo usage reported yet.")]
    lines = []
    for entry in entries:
        when = entry.occurred_at.astimezone(tz)
        used = credits_words(entry.credits)
        line = f"{day(when.date())} {when:%H:%M} · {used} · `{entry.reference}`"
        if entry.overdrawn:
            line += " · :warning: overdrew the balance"
        lines.append(line)
    return [text_section("*Usage*\n" + "\n".join(lines))]


def history_blocks(entries: Sequence[HistoryEntry], *, tz: ZoneInfo) -> list[Block]:
    """An invoice's history: created, each payment attempt (autopay's too), paid."""
    if not entries:
        return []
    lines = [
        f"{day(entry.at.astimezone(tz).date())} {entry.at.astimezone(tz):%H:%M} · {entry.what}"
        for entry in entries
    ]
    return [text_section("*History*\n" + "\n".join(lines[-40:]))]


# -- The settings ----------------------------------------------------------------------------------


def _kind_line(feed: FeedSettings, kind: Kind) -> str:
    label = KIND_LABELS[kind]
    if kind in PAYMENT_KINDS and feed.payment_threshold is not None:
        label += f" (from {feed.payment_threshold})"
    routed = feed.setting(kind).channel_id
    return f"• {label}" + (f" → <#{routed}>" if routed else "")


def settings_message(feed: FeedSettings) -> Message:
    """`/portal finance`: the channel, what is sent where, pause, balance alerts, autopay."""
    if feed.channel_id:
        channel = f"*Channel:* <#{feed.channel_id}>"
        change = "Change channel"
    else:
        channel = "*Channel:* none yet. Choose the channel that receives the notifications."
        change = "Choose channel"
    if feed.paused:
        since = f" since {day(feed.paused_at.date())}" if feed.paused_at else ""
        who = f" by <@{feed.paused_by}>" if feed.paused_by else ""
        status = (
            f":double_vertical_bar: *Notifications are paused*{since}{who}: nothing is posted "
            "until they are resumed."
        )
        toggle = button("Resume notifications", Act.FINANCE_PAUSE, value="resume", style="primary")
    else:
        status = ":large_green_circle: *Notifications are on.*"
        toggle = button("Pause notifications", Act.FINANCE_PAUSE, value="pause")
    sent = [kind for kind in Kind if feed.setting(kind).enabled]
    off = [KIND_LABELS[kind] for kind in Kind if not feed.setting(kind).enabled]
    what = "*What is sent*\n" + ("\n".join(_kind_line(feed, kind) for kind in sent) or "Nothing.")
    if off:
        what += "\n*Off:* " + ", ".join(off)
    low, top_up = _low_balance_line(feed), _top_up_line(feed)
    autopay = f"*Autopay:* {'on' if feed.autopay else 'off'}"
    autopay += f" — {AUTOPAY_RULE}." if feed.autopay else " — invoices wait for Pay Now."
    if feed.autopay and not feed.card_valid:
        autopay += "\nThere is no valid card on file, so nothing can be charged yet."
    blocks: list[Block] = [
        header(TITLE),
        _with_button(channel, button(change, Act.CHOOSE_FINANCE_CHANNEL)),
        _with_button(status, toggle),
        _with_button(what[:2900], button("Choose notifications", Act.FINANCE_NOTIFICATIONS)),
        _with_button(f"*Credit balance*\n{low}\n{top_up}", button("Change", Act.FINANCE_BALANCE)),
        _with_button(
            autopay,
            button(
                "Turn autopay off" if feed.autopay else "Turn autopay on",
                Act.FINANCE_AUTOPAY,
                value="off" if feed.autopay else "on",
            ),
        ),
        actions(
            button("Send test notification", Act.FINANCE_TEST, style="primary"),
            button("Route a notification", Act.FINANCE_ROUTE),
            button("Return to Account", Act.RETURN_TO_ACCOUNT),
        ),
    ]
    return {"text": f"{TITLE} settings for {feed.company_name}", "blocks": blocks}


def _low_balance_line(feed: FeedSettings) -> str:
    if not feed.low_balance_below:
        return "Low balance warning: off."
    line = f"Low balance warning below {credits_words(feed.low_balance_below)}"
    return line + (" (the portal's default)." if feed.low_balance_is_default else ".")


def _top_up_line(feed: FeedSettings) -> str:
    if feed.top_up_below is None or feed.top_up_credits is None:
        return "Auto top-up: off."
    return (
        f"Auto top-up: when the balance falls below {credits_words(feed.top_up_below)}, buy "
        f"{credits_words(feed.top_up_credits)} with the card on file."
    )


def balance_saved(feed: FeedSettings) -> Message:
    details = [_low_balance_line(feed), _top_up_line(feed)]
    if feed.top_up_credits is not None and not feed.card_valid:
        details.append(
            f"Auto top-up needs a valid card on file: add one with `{PORTAL_COMMAND} card`."
        )
    return settings_saved(*details)


def _with_button(text: str, accessory: Block) -> Block:
    block = text_section(text)
    block["accessory"] = accessory
    return block


def _checkbox_input(
    block_id: str, action_id: str, label: str, kinds: Sequence[Kind], feed: FeedSettings
) -> Block:
    options = [option(KIND_LABELS[kind], kind.value) for kind in kinds]
    element: Block = {"type": "checkboxes", "action_id": action_id, "options": options}
    chosen = [o for o, kind in zip(options, kinds, strict=True) if feed.setting(kind).enabled]
    if chosen:
        element["initial_options"] = chosen
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
        "optional": True,
    }


def notifications_modal(feed: FeedSettings) -> dict[str, Any]:
    """ "Choose notifications": each kind on or off, and the payment threshold.

    The modal carries what it showed (`shown_notifications`), so that saving it changes only
    what this person changed, not what someone else changed while it was open.
    """
    threshold = feed.payment_threshold
    shown_threshold = f"{threshold.major:f}" if threshold is not None else ""
    blocks: list[Block] = [
        text_section("Tick what the finance channel should receive."),
        _checkbox_input(Blk.NOTIFY_MONEY, Act.NOTIFY_MONEY_INPUT, "Money", MONEY_KINDS, feed),
        _checkbox_input(
            Blk.NOTIFY_ACCOUNT,
            Act.NOTIFY_ACCOUNT_INPUT,
            "Account and security",
            ACCOUNT_KINDS,
            feed,
        ),
        text_input(
            Blk.PAYMENT_THRESHOLD,
            Act.PAYMENT_THRESHOLD_INPUT,
            "Only payments of at least",
            initial=shown_threshold or None,
            placeholder="e.g. 100",
            optional=True,
            hint=f"In {feed.currency}. Leave it blank to hear about every payment.",
            max_length=16,
        ),
    ]
    shown = {
        "on": sorted(kind.value for kind in Kind if feed.setting(kind).enabled),
        "threshold": shown_threshold,
    }
    return modal(
        Cb.FINANCE_NOTIFICATIONS,
        "Choose notifications",
        blocks,
        submit="Save",
        private_metadata=json.dumps(shown, separators=(",", ":")),
    )


def route_modal(feed: FeedSettings) -> dict[str, Any]:
    """ "Route a notification": send one kind to another channel (or back)."""
    routed = feed.routed
    now = (
        "\n".join(f"• {KIND_LABELS[kind]} → <#{channel}>" for kind, channel in routed.items())
        if routed
        else "Everything goes to the finance channel."
    )
    blocks: list[Block] = [
        text_section(f"*Sent elsewhere now*\n{now}"),
        {
            "type": "input",
            "block_id": Blk.ROUTE_KIND,
            "label": plain("Notification"),
            "element": {
                "type": "static_select",
                "action_id": Act.ROUTE_KIND_INPUT,
                "placeholder": plain("Choose a notification"),
                "options": [option(KIND_LABELS[kind], kind.value) for kind in Kind],
            },
        },
        {
            "type": "input",
            "block_id": Blk.ROUTE_CHANNEL,
            "label": plain("Send it to"),
            "element": {
                "type": "conversations_select",
                "action_id": Act.ROUTE_CHANNEL_INPUT,
                "placeholder": plain("Choose a channel"),
                "filter": {"include": ["public", "private"], "exclude_bot_users": True},
            },
            "optional": True,
            "hint": plain(
                "Leave it empty to send it to the finance channel. For a private channel, "
                "invite the app to it first."
            ),
        },
    ]
    return modal(Cb.FINANCE_ROUTE, "Route a notification", blocks, submit="Save")


def balance_modal(feed: FeedSettings) -> dict[str, Any]:
    """ "Credit balance": the low balance warning and the auto top-up."""
    low = None if feed.low_balance_is_default else str(feed.low_balance_below)
    blocks: list[Block] = [
        text_input(
            Blk.LOW_BALANCE,
            Act.LOW_BALANCE_INPUT,
            "Warn when the balance falls below (credits)",
            initial=low,
            placeholder=str(feed.low_balance_below) if feed.low_balance_is_default else None,
            optional=True,
            hint="0 turns the warning off; blank uses the portal's default.",
            max_length=9,
        ),
        text_input(
            Blk.TOP_UP_BELOW,
            Act.TOP_UP_BELOW_INPUT,
            "Auto top-up when the balance falls below (credits)",
            initial=str(feed.top_up_below) if feed.top_up_below is not None else None,
            optional=True,
            hint="Leave both top-up fields blank to turn auto top-up off.",
            max_length=9,
        ),
        text_input(
            Blk.TOP_UP_CREDITS,
            Act.TOP_UP_CREDITS_INPUT,
            "…and buy this many credits",
            initial=str(feed.top_up_credits) if feed.top_up_credits is not None else None,
            optional=True,
            hint="Paid with the card on file at the usual price, once each time the balance "
            "falls below the level.",
            max_length=9,
        ),
    ]
    return modal(Cb.FINANCE_BALANCE, "Credit balance", blocks, submit="Save")


def settings_saved(*details: str) -> Message:
    return success(SAVED, *details)


def channel_set(channel_id: str) -> Message:
    return success(
        f"The finance channel is now <#{channel_id}>.",
        "It will receive payment, invoice, credit and security notifications. "
        f"Use `{PORTAL_COMMAND} finance` to choose which, or to send a test notification.",
    )


def paused_message(paused: bool) -> Message:
    if paused:
        return settings_saved(
            "Notifications are paused: nothing is posted until they are resumed. Digests and "
            "reminders resume with them."
        )
    return settings_saved("Notifications are on again.")


def autopay_message(on: bool, *, card_valid: bool) -> Message:
    if on:
        details = [f"Autopay is on: {AUTOPAY_RULE}."]
        if not card_valid:
            details.append(f"Add a card with `{PORTAL_COMMAND} card`: there is none valid on file.")
        return settings_saved(*details)
    return settings_saved("Autopay is off: invoices wait for someone to press Pay Now.")


def test_notification(
    feed: FeedSettings, *, channel_id: str, kinds: Sequence[Kind], by: str
) -> Message:
    """What "Send test notification" posts: what this channel will receive, and an example."""
    text = (
        f"Test notification from the Admin Portal for {feed.company_name}, sent by {by}. "
        f"This channel will receive: {', '.join(KIND_LABELS[kind] for kind in kinds)}."
    )
    details = []
    if feed.payment_threshold is not None and any(kind in PAYMENT_KINDS for kind in kinds):
        details.append(f"Payments under {feed.payment_threshold} are not posted.")
    if feed.paused:
        details.append(
            "Notifications are paused at the moment: nothing arrives until they are resumed."
        )
    details.append(
        "A payment notice looks like this: :moneybag: Payment received: £228.00 for invoice "
        "INV-000123 by autopay."
    )
    del channel_id  # every channel gets the same wording; kept for callers' clarity
    return _notice(text, ":test_tube:", *details)


def test_sent_message(report: SampleReport) -> Message:
    if not report.deliveries:
        return {
            "text": "There is nowhere to send a test: choose a finance channel first.",
            "blocks": [
                text_section("There is nowhere to send a test: choose a finance channel first."),
                actions(
                    button("Choose channel", Act.CHOOSE_FINANCE_CHANNEL, style="primary"),
                    button("Return to Account", Act.RETURN_TO_ACCOUNT),
                ),
            ],
        }
    sent = [d.channel_id for d in report.deliveries if d.sent]
    details = []
    if report.failed:
        details.append(
            "I couldn't post in "
            + ", ".join(f"<#{c}>" for c in report.failed)
            + ": invite the app there (type `/invite @Admin Portal` in the channel), then try "
            "again."
        )
    if report.paused:
        details.append("Notifications are paused, so nothing else arrives until they are resumed.")
    if not sent:
        text = "The test notification could not be sent."
        return {
            "text": text,
            "blocks": [
                text_section(f":x: {text}"),
                *(context(d) for d in details),
                return_to_account(),
            ],
        }
    return success(
        "Test notification sent to " + ", ".join(f"<#{c}>" for c in sent) + ".", *details
    )
