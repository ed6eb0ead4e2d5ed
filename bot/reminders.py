"""What the reminders and digests say: overdue invoices, cards about to expire, a period's summary.

Queries only; `bot/jobs.py` turns them into messages (`bot/ui/finance.py`) and posts them once
per key through `bot/notifications.py`.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import credits
from bot.dashboard import CardOnFile, card_on_file
from bot.money import Money
from store.enums import InvoiceStatus, LedgerKind, PaymentStatus
from store.models import Account, CreditLedgerEntry, Invoice, Payment

CARD_WARNING = timedelta(days=30)  # cards expiring within this are reminded about, weekly
DIGEST_OVERDUE_LISTED = 10
UNPAID = (InvoiceStatus.OPEN, InvoiceStatus.PAYING)


def overdue_invoices(*, session: Session, today: date) -> dict[int, list[Invoice]]:
    """Open invoices past their due date, by account, oldest due first."""
    found: dict[int, list[Invoice]] = {}
    query = (
        select(Invoice)
        .where(Invoice.status == InvoiceStatus.OPEN, Invoice.due_date < today)
        .order_by(Invoice.account_id, Invoice.due_date, Invoice.id)
    )
    for invoice in session.scalars(query):
        found.setdefault(invoice.account_id, []).append(invoice)
    return found


def card_expires_on(card: CardOnFile) -> date:
    """The last day a card can be used: the end of its expiry month."""
    last = calendar.monthrange(card.exp_year, card.exp_month)[1]
    return date(card.exp_year, card.exp_month, last)


@dataclass(frozen=True, slots=True)
class ExpiringCard:
    account_id: int
    card: CardOnFile
    card_key: str  # the payment method, else brand, last4 and expiry: "once per card"
    expires_on: date


def expiring_cards(*, session: Session, today: date) -> list[ExpiringCard]:
    """Cards on file that expire within `CARD_WARNING` and have not expired yet."""
    soonest = today.year * 12 + today.month
    latest = (today + CARD_WARNING).year * 12 + (today + CARD_WARNING).month
    query = (
        select(Account)
        .where(
            Account.card_last4.is_not(None),
            Account.card_exp_year * 12 + Account.card_exp_month >= soonest,
            Account.card_exp_year * 12 + Account.card_exp_month <= latest,
        )
        .order_by(Account.id)
    )
    found = []
    for account in session.scalars(query):
        card = card_on_file(account)
        if card is None:
            continue
        expires_on = card_expires_on(card)
        if today <= expires_on <= today + CARD_WARNING:
            key = account.card_payment_method_id or f"{card.brand}-{card.last4}-{expires_on}"
            found.append(ExpiringCard(account.id, card, key, expires_on))
    return found


@dataclass(frozen=True, slots=True)
class OverdueLine:
    id: int
    number: str
    gross: Money
    due_date: date
    days_overdue: int


@dataclass(frozen=True, slots=True)
class DigestReport:
    """One account's period: what is open and overdue, what was paid and bought."""

    account_id: int
    company_name: str
    open_count: int
    open_total: Money
    overdue_count: int
    overdue_total: Money
    overdue: list[OverdueLine]
    payments_count: int
    payments_total: Money
    credits_bought: int
    credits_used: int
    balance: int

    @property
    def quiet(self) -> bool:
        """Nothing open and nothing happened: no digest is worth posting."""
        return not (
            self.open_count or self.payments_count or self.credits_bought or self.credits_used
        )


def digest_report(
    *, session: Session, account: Account, start: datetime, end: datetime, today: date
) -> DigestReport:
    currency = account.currency
    open_count, open_total = session.execute(
        select(func.count(), func.coalesce(func.sum(Invoice.gross_minor), 0)).where(
            Invoice.account_id == account.id, Invoice.status.in_(UNPAID)
        )
    ).one()
    overdue_count, overdue_total = session.execute(
        select(func.count(), func.coalesce(func.sum(Invoice.gross_minor), 0)).where(
            Invoice.account_id == account.id,
            Invoice.status.in_(UNPAID),
            Invoice.due_date < today,
        )
    ).one()
    overdue = [
        OverdueLine(
            id=invoice.id,
            number=invoice.number,
            gross=Money(invoice.gross_minor, invoice.currency),
            due_date=invoice.due_date,
            days_overdue=(today - invoice.due_date).days,
        )
        for invoice in session.scalars(
            select(Invoice)
            .where(
                Invoice.account_id == account.id,
                Invoice.status.in_(UNPAID),
                Invoice.due_date < today,
            )
            .order_by(Invoice.due_date, Invoice.id)
            .limit(DIGEST_OVERDUE_LISTED)
        )
    ]
    payments_count, payments_total = session.execute(
        select(func.count(), func.coalesce(func.sum(Payment.amount_minor), 0)).where(
            Payment.account_id == account.id,
            Payment.status == PaymentStatus.SUCCEEDED,
            Payment.updated_at >= start,
            Payment.updated_at < end,
        )
    ).one()
    bought, used = session.execute(
        select(
            func.coalesce(
                func.sum(CreditLedgerEntry.credits).filter(
                    CreditLedgerEntry.kind == LedgerKind.PURCHASE
                ),
                0,
            ),
            func.coalesce(
                func.sum(CreditLedgerEntry.credits).filter(
                    CreditLedgerEntry.kind == LedgerKind.USAGE
                ),
                0,
            ),
        ).where(
            CreditLedgerEntry.account_id == account.id,
            CreditLedgerEntry.occurred_at >= start,
            CreditLedgerEntry.occurred_at < end,
        )
    ).one()
    return DigestReport(
        account_id=account.id,
        company_name=account.company_name,
        open_count=int(open_count),
        open_total=Money(int(open_total), currency),
        overdue_count=int(overdue_count),
        overdue_total=Money(int(overdue_total), currency),
        overdue=overdue,
        payments_count=int(payments_count),
        payments_total=Money(int(payments_total), currency),
        credits_bought=int(bought),
        credits_used=-int(used),
        balance=credits.balance(session=session, account_id=account.id),
    )
