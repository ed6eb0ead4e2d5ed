"""The scheduled jobs: entry points like the handlers, run by the worker (`bot/scheduler.py`).

Each takes the `Deps`, reads `now` from `deps.clock()`, opens its own short transactions, calls
the services and posts through `bot/notifications.py` with the `bot/ui/finance.py` builders,
and answers a one-line summary for the job's lease row and the log. Every job is safe to run
again: what must happen once is guarded by a unique key in the database (an autopay attempt, a
notification key, a crossing), never by remembering that it ran.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta

from sqlalchemy import delete, select

from bot import autopay, notifications, reminders, usage
from bot.deps import Deps
from bot.payment_notifier import notify_payment
from bot.payments import Payments
from bot.ui import finance as finance_ui
from store.db import transaction
from store.models import Account, JobLease

log = logging.getLogger(__name__)

Kind = notifications.Kind
LEASES_KEPT = timedelta(days=30)


def reconcile_payments(deps: Deps) -> str:
    """Settle payments left without an answer; tell the payer and the finance channel."""
    if deps.gateway is None:
        return "no Stripe key: nothing to reconcile"
    report = Payments.from_deps(deps).reconcile()
    for outcome in report.settled:
        notify_payment(deps.slack_for_account(outcome.account_id), outcome)
    stopped = "; Stripe unreachable, stopped early" if report.stripe_unreachable else ""
    return f"{report.checked} checked, {len(report.settled)} settled{stopped}"


def finish_top_ups(deps: Deps) -> str:
    """Auto top-ups a usage report crossed into but could not finish."""
    if deps.gateway is None:
        return "no Stripe key: no top-ups"
    return f"{usage.finish_top_ups(deps)} top-ups made"


def run_autopay(deps: Deps) -> str:
    """Charge open service invoices due today (and retries) to the card on file."""
    if deps.gateway is None:
        return "no Stripe key: autopay is off"
    return autopay.charge_due_invoices(deps).summary()


def send_reminders(deps: Deps) -> str:
    """Overdue invoices (once a day each) and cards expiring within 30 days (once a week)."""
    now = deps.clock()
    today = now.astimezone(deps.settings.timezone).date()
    with transaction(deps.session_factory) as session:
        overdue = reminders.overdue_invoices(session=session, today=today)
        expiring = reminders.expiring_cards(session=session, today=today)
        names = {
            row.id: row.company_name
            for row in session.execute(
                select(Account.id, Account.company_name).where(
                    Account.id.in_(set(overdue) | {card.account_id for card in expiring})
                )
            )
        }

    def remind_overdue(account_id: int) -> None:
        invoices = overdue[account_id]
        for invoice in invoices:
            notifications.post_once(
                deps.slack_for_account(account_id),
                deps.session_factory,
                account_id=account_id,
                key=f"overdue:{invoice.id}:{today.isoformat()}",
                notice=notifications.Notice(
                    Kind.INVOICE_OVERDUE,
                    finance_ui.overdue_notice(invoice, today=today),
                    invoice_id=invoice.id,
                ),
                now=now,
            )
        notifications.tell_admins_once(
            deps.slack_for_account(account_id),
            deps.session_factory,
            account_id=account_id,
            key=f"overdue-admins:{today.isoformat()}",
            kind=Kind.INVOICE_OVERDUE,
            message=finance_ui.overdue_reminder(names[account_id], invoices, today=today),
            now=now,
        )

    year, week, _ = today.isocalendar()
    cards = {card.account_id: card for card in expiring}

    def remind_card(account_id: int) -> None:
        card = cards[account_id]
        key = f"card-expiring:{card.card_key}:{year}-W{week:02d}"
        message = finance_ui.card_expiring_notice(
            card.card, expires_on=card.expires_on, today=today
        )
        notifications.post_once(
            deps.slack_for_account(account_id),
            deps.session_factory,
            account_id=account_id,
            key=key,
            notice=notifications.Notice(Kind.CARD_EXPIRING, message),
            now=now,
        )
        notifications.tell_admins_once(
            deps.slack_for_account(account_id),
            deps.session_factory,
            account_id=account_id,
            key=f"{key}:admins",
            kind=Kind.CARD_EXPIRING,
            message=message,
            now=now,
        )

    told_overdue = each_account(sorted(overdue), remind_overdue)
    told_cards = each_account(sorted(cards), remind_card)
    invoices = sum(len(found) for found in overdue.values())
    return (
        f"{invoices} overdue invoices on {told_overdue} accounts; {told_cards} cards expiring soon"
    )


def send_daily_digest(deps: Deps) -> str:
    return _digest(deps, weekly=False)


def send_weekly_digest(deps: Deps) -> str:
    return _digest(deps, weekly=True)


def _digest(deps: Deps, *, weekly: bool) -> str:
    """Each account's open and overdue invoices, payments received and credits bought."""
    now = deps.clock()
    today = now.astimezone(deps.settings.timezone).date()
    start = now - timedelta(days=7 if weekly else 1)
    year, week, _ = today.isocalendar()
    period = f"weekly:{year}-W{week:02d}" if weekly else f"daily:{today.isoformat()}"
    kind = Kind.WEEKLY_DIGEST if weekly else Kind.DAILY_DIGEST
    with transaction(deps.session_factory) as session:
        account_ids = notifications.accounts_with_a_feed(session)
    sent: list[int] = []

    def send(account_id: int) -> None:
        with transaction(deps.session_factory) as session:
            account = session.get_one(Account, account_id)
            report = reminders.digest_report(
                session=session, account=account, start=start, end=now, today=today
            )
        if report.quiet:
            return
        posted = notifications.post_once(
            deps.slack_for_account(account_id),
            deps.session_factory,
            account_id=account_id,
            key=f"digest:{period}",
            notice=notifications.Notice(kind, finance_ui.digest_message(report, weekly=weekly)),
            now=now,
        )
        if posted is not None:
            sent.append(account_id)

    each_account(account_ids, send)
    return f"{len(sent)} of {len(account_ids)} accounts sent a {kind.value.replace('_', ' ')}"


def tidy_up(deps: Deps) -> str:
    """Forget job leases older than a month (they only guard their own slot)."""
    before = deps.clock() - LEASES_KEPT
    with transaction(deps.session_factory) as session:
        gone = session.execute(delete(JobLease).where(JobLease.taken_at < before))
    return f"{gone.rowcount} old job leases removed"  # type: ignore[attr-defined]


def each_account(account_ids: Iterable[int], work: Callable[[int], None]) -> int:
    """Run `work` for each account; one account's failure is logged and the rest go on."""
    done = 0
    for account_id in account_ids:
        try:
            work(account_id)
        except Exception:  # a job must reach every account; the failure is logged with its id
            log.exception("job step failed for account %s", account_id)
            continue
        done += 1
    return done
