"""Autopay: open service invoices are charged to the card on file on their due date.

An account with autopay on and a valid card on file has each open service invoice charged on
its due date (attempt 1); a failed attempt is tried again 1, 3 and 7 days after the due date
(attempts 2, 3 and 4), and when the last one fails the account's admins and the finance channel
are told the invoice needs attention. A bank that asks for the card holder (SCA) needs a person
at once, so that is escalated straight away.

Each attempt is an `autopay_attempts` row, unique per (invoice, attempt) and written *before*
the payment is made, so a rerun job or a second worker never makes the same attempt twice; the
payment itself goes through the payments service (`Payments.pay_invoices`), with its own row
and idempotency key, like Pay Now. Credits invoices are left alone: they are paid by their own
Pay Now, and one left open was declined in front of the buyer or given up, so charging it later
would buy credits nobody asked for any more.

An invoice's history (`invoice_history`) lists every attempt with its outcome, alongside the
payments people made.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import audit, notifications
from bot.deps import Deps
from bot.errors import UserFacingError
from bot.money import Money
from bot.payment_notifier import notify_payment
from bot.payments import NOT_CHARGED, PaymentOutcome, Payments
from bot.ui import finance as finance_ui
from store.db import transaction
from store.enums import InvoiceKind, InvoiceStatus, PaymentStatus
from store.models import (
    Account,
    AutopayAttempt,
    AutopayStatus,
    Invoice,
    NotificationLog,
    Payment,
    PaymentInvoice,
)

log = logging.getLogger(__name__)

# Days after the due date of attempts 1, 2, 3 and 4.
ATTEMPT_DAYS: tuple[int, ...] = (0, 1, 3, 7)
BATCH = 500  # due invoices read per query
STALE_ATTEMPT = timedelta(minutes=10)  # a `started` attempt this old lost its process

_FINAL = {
    PaymentStatus.SUCCEEDED: AutopayStatus.SUCCEEDED,
    PaymentStatus.FAILED: AutopayStatus.FAILED,
    PaymentStatus.REQUIRES_ACTION: AutopayStatus.NEEDS_CUSTOMER,
}
CARD_HOLDER_NEEDED = "The bank asked for the payment to be confirmed by the card holder."


def due_attempt(due_date: date, today: date) -> int | None:
    """The attempt whose day it is (or whose day passed most recently); None out of the window."""
    days = (today - due_date).days
    if days < 0 or days > ATTEMPT_DAYS[-1]:
        return None
    return max(n for n, day in enumerate(ATTEMPT_DAYS, start=1) if day <= days)


def next_try(due_date: date, attempt: int) -> date | None:
    """When attempt `attempt + 1` will be made; None after the last."""
    if attempt >= len(ATTEMPT_DAYS):
        return None
    return due_date + timedelta(days=ATTEMPT_DAYS[attempt])


@dataclass(frozen=True, slots=True)
class DueCharge:
    invoice_id: int
    account_id: int
    attempt: int
    due_date: date


def due_charges(
    *, session: Session, today: date, after_id: int = 0, limit: int | None = None
) -> tuple[list[DueCharge], int | None]:
    """Open service invoices whose next attempt is due, on accounts autopay may charge.

    Reads candidates in invoice id order after `after_id` (at most `limit`); answers the due
    charges among them and the last id read (None when none was), for keyset paging.
    """
    earliest = today - timedelta(days=ATTEMPT_DAYS[-1])
    made = func.coalesce(func.max(AutopayAttempt.attempt), 0)
    rows = session.execute(
        select(Invoice.id, Invoice.account_id, Invoice.due_date, made)
        .join(Account, Account.id == Invoice.account_id)
        .outerjoin(AutopayAttempt, AutopayAttempt.invoice_id == Invoice.id)
        .where(
            Invoice.status == InvoiceStatus.OPEN,
            Invoice.kind == InvoiceKind.SERVICES,
            Invoice.due_date >= earliest,
            Invoice.due_date <= today,
            Invoice.id > after_id,
            Account.autopay.is_(True),
            Account.card_payment_method_id.is_not(None),
            Account.stripe_customer_id.is_not(None),
            or_(
                Account.card_exp_year > today.year,
                and_(Account.card_exp_year == today.year, Account.card_exp_month >= today.month),
            ),
        )
        .group_by(Invoice.id, Invoice.account_id, Invoice.due_date)
        .order_by(Invoice.id)
        .limit(limit)
    ).all()
    found = []
    for invoice_id, account_id, due_date, last in rows:
        attempt = due_attempt(due_date, today)
        if attempt is not None and attempt > int(last):
            found.append(DueCharge(invoice_id, account_id, attempt, due_date))
    return found, rows[-1][0] if rows else None


def all_due_charges(deps: Deps, today: date) -> Iterator[list[DueCharge]]:
    """Due charges a batch at a time, each batch read in its own short transaction."""
    after = 0
    while True:
        with transaction(deps.session_factory) as session:
            batch, last = due_charges(session=session, today=today, after_id=after, limit=BATCH)
        if batch:
            yield batch
        if last is None:
            return
        after = last


@dataclass
class AutopayReport:
    attempted: int = 0
    succeeded: int = 0
    failed: int = 0
    needs_customer: int = 0
    unanswered: int = 0
    escalated: int = 0
    skipped: int = 0
    outcomes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.attempted} attempted: {self.succeeded} paid, {self.failed} failed, "
            f"{self.needs_customer} need the card holder, {self.unanswered} unanswered; "
            f"{self.escalated} escalated, {self.skipped} skipped"
        )


def charge_due_invoices(deps: Deps) -> AutopayReport:
    """The `autopay` job: every due attempt, a few at a time."""
    today = deps.clock().astimezone(deps.settings.timezone).date()
    report = AutopayReport()
    settle_unanswered(deps, report)
    with ThreadPoolExecutor(max_workers=deps.settings.AUTOPAY_CONCURRENCY) as pool:
        for batch in all_due_charges(deps, today):
            for result in pool.map(lambda due: charge(deps, due), batch):
                _count(report, result)
    return report


def _count(report: AutopayReport, result: AutopayStatus | None) -> None:
    if result is None:
        report.skipped += 1
        return
    report.attempted += 1
    if result is AutopayStatus.SUCCEEDED:
        report.succeeded += 1
    elif result is AutopayStatus.FAILED:
        report.failed += 1
    elif result is AutopayStatus.NEEDS_CUSTOMER:
        report.needs_customer += 1
    else:
        report.unanswered += 1


def charge(deps: Deps, due: DueCharge) -> AutopayStatus | None:
    """Make one attempt, once: its row first, then the payment, then what it came to."""
    now = deps.clock()
    if not _claim(deps, due, now):
        return None
    try:
        outcome = Payments.from_deps(deps).pay_invoices(
            account_id=due.account_id,
            invoice_ids=[due.invoice_id],
            user_id=notifications.AUTOPAY_ACTOR,
            channel_id=None,
        )
    except UserFacingError as exc:
        # Nothing was charged (Stripe unreachable before starting, the invoice paid or being
        # paid meanwhile): give the attempt back for a later run.
        log.info("Autopay of invoice %s did not start: %s", due.invoice_id, exc.message)
        _unclaim(deps, due)
        return None
    if outcome.status is PaymentStatus.FAILED and outcome.failure_code == NOT_CHARGED:
        _unclaim(deps, due)  # Stripe turned the request away: nothing happened, try again later
        return None
    return _record(deps, due.invoice_id, due.attempt, outcome)


def _claim(deps: Deps, due: DueCharge, now: datetime) -> bool:
    with transaction(deps.session_factory) as session:
        try:
            with session.begin_nested():
                session.add(
                    AutopayAttempt(
                        invoice_id=due.invoice_id,
                        account_id=due.account_id,
                        attempt=due.attempt,
                        scheduled_for=due.due_date + timedelta(days=ATTEMPT_DAYS[due.attempt - 1]),
                        status=AutopayStatus.STARTED,
                        started_at=now,
                    )
                )
        except IntegrityError:
            return False  # another worker (or an earlier run) has this attempt
    return True


def _unclaim(deps: Deps, due: DueCharge) -> None:
    with transaction(deps.session_factory) as session:
        row = session.scalar(
            select(AutopayAttempt).where(
                AutopayAttempt.invoice_id == due.invoice_id,
                AutopayAttempt.attempt == due.attempt,
                AutopayAttempt.status == AutopayStatus.STARTED,
            )
        )
        if row is not None:
            session.delete(row)


def _record(deps: Deps, invoice_id: int, attempt: int, outcome: PaymentOutcome) -> AutopayStatus:
    """Write what the attempt came to, then tell whoever needs telling."""
    status = _FINAL.get(outcome.status, AutopayStatus.UNANSWERED)
    now = deps.clock()
    with transaction(deps.session_factory) as session:
        row = session.scalar(
            select(AutopayAttempt)
            .where(AutopayAttempt.invoice_id == invoice_id, AutopayAttempt.attempt == attempt)
            .with_for_update()
        )
        if row is None or row.status not in (AutopayStatus.STARTED, AutopayStatus.UNANSWERED):
            return row.status if row is not None else status
        row.payment_id = outcome.payment_id
        row.status = status
        row.reason = outcome.reason
        if status is not AutopayStatus.UNANSWERED:
            row.finished_at = now
        invoice = session.get_one(Invoice, invoice_id)
        audit.record(
            session=session,
            account_id=invoice.account_id,
            actor=notifications.AUTOPAY_ACTOR,
            action="autopay.attempted",
            now=now,
            source="worker",
            invoice=invoice.number,
            attempt=attempt,
            payment=outcome.payment_id,
            status=status.value,
        )
        due_date, account_id = invoice.due_date, invoice.account_id
    if status is AutopayStatus.SUCCEEDED:
        # "Payment received ... by autopay", in the account's finance channel
        notify_payment(deps.slack_for_account(account_id), outcome, tell_person=False)
    elif status is AutopayStatus.FAILED:
        reason = outcome.reason or "The card was declined."
        following = next_try(due_date, attempt)
        if following is None:
            escalate(
                deps, invoice_id=invoice_id, account_id=account_id, attempts=attempt, reason=reason
            )
        else:
            _tell_failed(
                deps,
                invoice_id=invoice_id,
                account_id=account_id,
                attempt=attempt,
                reason=reason,
                following=following,
                amount=outcome.amount,
            )
    elif status is AutopayStatus.NEEDS_CUSTOMER:
        escalate(
            deps,
            invoice_id=invoice_id,
            account_id=account_id,
            attempts=attempt,
            reason=CARD_HOLDER_NEEDED,
        )
    return status


def _tell_failed(
    deps: Deps,
    *,
    invoice_id: int,
    account_id: int,
    attempt: int,
    reason: str,
    following: date,
    amount: Money,
) -> None:
    with transaction(deps.session_factory) as session:
        invoice = session.get_one(Invoice, invoice_id)
        message = finance_ui.autopay_failed_notice(
            invoice, attempt=attempt, reason=reason, next_try=following
        )
    notifications.post_once(
        deps.slack_for_account(account_id),
        deps.session_factory,
        account_id=account_id,
        key=f"autopay-failed:{invoice_id}:{attempt}",
        notice=notifications.Notice(
            notifications.Kind.PAYMENT_FAILED, message, invoice_id=invoice_id, amount=amount
        ),
        now=deps.clock(),
    )


def escalate(deps: Deps, *, invoice_id: int, account_id: int, attempts: int, reason: str) -> None:
    """Autopay has done what it can: the admins and the finance channel are told, once."""
    with transaction(deps.session_factory) as session:
        invoice = session.get_one(Invoice, invoice_id)
        message = finance_ui.autopay_attention_notice(invoice, attempts=attempts, reason=reason)
    now = deps.clock()
    notifications.post_once(
        deps.slack_for_account(account_id),
        deps.session_factory,
        account_id=account_id,
        key=f"autopay-attention:{invoice_id}",
        notice=notifications.Notice(
            notifications.Kind.AUTOPAY_ATTENTION, message, invoice_id=invoice_id
        ),
        now=now,
    )
    notifications.tell_admins_once(
        deps.slack_for_account(account_id),
        deps.session_factory,
        account_id=account_id,
        key=f"autopay-attention-admins:{invoice_id}",
        kind=notifications.Kind.AUTOPAY_ATTENTION,
        message=message,
        now=now,
    )


def settle_unanswered(deps: Deps, report: AutopayReport | None = None) -> None:
    """Attempts whose payment Stripe had not answered (or whose worker died): catch up.

    The reconcile job settles the payments themselves; here each attempt takes its payment's
    final state and its notices are sent. A `started` attempt with no payment after
    `STALE_ATTEMPT` lost its worker before paying and is given back (the payment service's
    own idempotency makes the next attempt safe even if it did pay).
    """
    now = deps.clock()
    with transaction(deps.session_factory) as session:
        waiting = session.execute(
            select(AutopayAttempt.invoice_id, AutopayAttempt.attempt, AutopayAttempt.payment_id)
            .where(
                or_(
                    AutopayAttempt.status == AutopayStatus.UNANSWERED,
                    and_(
                        AutopayAttempt.status == AutopayStatus.STARTED,
                        AutopayAttempt.started_at <= now - STALE_ATTEMPT,
                    ),
                )
            )
            .order_by(AutopayAttempt.id)
        ).all()
    payments = None
    for invoice_id, attempt, payment_id in waiting:
        made = payment_id if payment_id is not None else _payment_since(deps, invoice_id, attempt)
        if made is None:
            with transaction(deps.session_factory) as session:
                account_id = session.get_one(Invoice, invoice_id).account_id
            _unclaim(deps, DueCharge(invoice_id, account_id, attempt, date.min))
            continue
        payments = payments or Payments.from_deps(deps)
        with transaction(deps.session_factory) as session:
            status = session.get_one(Payment, made).status
        if status in (PaymentStatus.CREATED, PaymentStatus.PROCESSING):
            continue  # still for the reconcile job
        outcome = payments.settle_payment(payment_id=made)
        result = _record(deps, invoice_id, attempt, outcome)
        if report is not None:
            report.outcomes.append(f"attempt {attempt} of invoice {invoice_id}: {result.value}")


def _payment_since(deps: Deps, invoice_id: int, attempt: int) -> int | None:
    """The autopay payment made for an attempt whose row never got its id (a crash between)."""
    with transaction(deps.session_factory) as session:
        started = session.scalar(
            select(AutopayAttempt.started_at).where(
                AutopayAttempt.invoice_id == invoice_id, AutopayAttempt.attempt == attempt
            )
        )
        if started is None:
            return None
        return session.scalar(
            select(Payment.id)
            .join(PaymentInvoice, PaymentInvoice.payment_id == Payment.id)
            .where(
                PaymentInvoice.invoice_id == invoice_id,
                Payment.requested_by == notifications.AUTOPAY_ACTOR,
                Payment.created_at >= started,
            )
            .order_by(Payment.id.desc())
            .limit(1)
        )


# -- The invoice's history ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: datetime
    what: str


def invoice_history(*, session: Session, invoice: Invoice) -> list[HistoryEntry]:
    """Created, every payment attempt (people's and autopay's) with its outcome, reminders, paid."""
    gross = Money(invoice.gross_minor, invoice.currency)
    entries = [
        HistoryEntry(
            invoice.created_at, f"Invoice created: {gross}, due {finance_ui.day(invoice.due_date)}"
        )
    ]
    attempts = {
        row.payment_id: row
        for row in session.scalars(
            select(AutopayAttempt).where(AutopayAttempt.invoice_id == invoice.id)
        )
    }
    payments = session.scalars(
        select(Payment)
        .join(PaymentInvoice, PaymentInvoice.payment_id == Payment.id)
        .where(PaymentInvoice.invoice_id == invoice.id)
        .order_by(Payment.id)
    )
    for payment in payments:
        autopay = attempts.get(payment.id)
        who = (
            f"Autopay attempt {autopay.attempt} of {len(ATTEMPT_DAYS)}"
            if autopay is not None
            else f"Payment by {notifications.actor_words(payment.requested_by)}"
        )
        result = _PAYMENT_WORDS.get(payment.status, payment.status.value)
        if payment.status is PaymentStatus.FAILED and payment.failure_reason:
            result += f": {payment.failure_reason}"
        entries.append(
            HistoryEntry(
                payment.created_at,
                f"{who}, {Money(payment.amount_minor, payment.currency)}: {result}",
            )
        )
    reminders = session.scalars(
        select(NotificationLog.sent_at).where(
            NotificationLog.account_id == invoice.account_id,
            NotificationLog.key.like(f"overdue:{invoice.id}:%"),
        )
    )
    entries.extend(HistoryEntry(sent, "Overdue reminder sent") for sent in reminders)
    if invoice.paid_at is not None:
        entries.append(HistoryEntry(invoice.paid_at, "Paid"))
    return sorted(entries, key=lambda entry: entry.at)


_PAYMENT_WORDS = {
    PaymentStatus.SUCCEEDED: "paid",
    PaymentStatus.FAILED: "failed",
    PaymentStatus.REQUIRES_ACTION: "waiting for the card holder to confirm",
    PaymentStatus.PROCESSING: "waiting for Stripe's answer",
    PaymentStatus.CREATED: "being made",
}
