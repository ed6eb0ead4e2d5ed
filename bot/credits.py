"""Credits: the balance is the sum of the ledger; purchases are granted when paid, not before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import pricing
from bot.errors import FieldError
from bot.quotes import PriceTier, Quote, parse_credit_quantity
from store.enums import InvoiceKind, InvoiceStatus, LedgerKind, LineUnit
from store.models import Account, CreditLedgerEntry, Invoice


@dataclass(frozen=True, slots=True)
class Purchase:
    """One credits purchase as the Credits area lists it."""

    invoice_id: int
    invoice_number: str
    credits: int
    granted_at: datetime


def balance(*, session: Session, account_id: int) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(CreditLedgerEntry.credits), 0)).where(
            CreditLedgerEntry.account_id == account_id
        )
    )
    return int(total or 0)


def credits_on_invoice(invoice: Invoice) -> int:
    quantity = sum(
        (line.quantity for line in invoice.lines if line.unit is LineUnit.CREDITS), Decimal(0)
    )
    return int(quantity)


def grant_for_invoice(
    *, session: Session, invoice: Invoice, now: datetime
) -> CreditLedgerEntry | None:
    """Add the credits a paid invoice bought; doing it again for the same invoice is a no-op."""
    if invoice.kind is not InvoiceKind.CREDITS:
        return None
    if invoice.status is not InvoiceStatus.PAID:
        raise ValueError(f"credits are granted only for a paid invoice ({invoice.number})")
    existing = session.scalar(
        select(CreditLedgerEntry).where(CreditLedgerEntry.invoice_id == invoice.id)
    )
    if existing is not None:
        return existing
    entry = CreditLedgerEntry(
        account_id=invoice.account_id,
        kind=LedgerKind.PURCHASE,
        credits=credits_on_invoice(invoice),
        reason=f"Purchase, invoice {invoice.number}",
        invoice_id=invoice.id,
        occurred_at=now,
        created_at=now,
    )
    session.add(entry)
    session.flush()
    return entry


def purchases(*, session: Session, account_id: int, limit: int | None = None) -> list[Purchase]:
    """Granted purchases, newest first (the `limit` most recent when given)."""
    query = (
        select(CreditLedgerEntry, Invoice.number)
        .join(Invoice, Invoice.id == CreditLedgerEntry.invoice_id)
        .where(
            CreditLedgerEntry.account_id == account_id,
            CreditLedgerEntry.kind == LedgerKind.PURCHASE,
        )
        .order_by(CreditLedgerEntry.occurred_at.desc(), CreditLedgerEntry.id.desc())
        .limit(limit)
    )
    return [
        Purchase(
            invoice_id=entry.invoice_id or 0,
            invoice_number=number,
            credits=entry.credits,
            granted_at=entry.occurred_at,
        )
        for entry, number in session.execute(query)
    ]


# -- The Credits area and the purchase modal ------------------------------------------------

RECENT_PURCHASES = 20  # the Credits area lists this many; older ones are counted, not listed


@dataclass(frozen=True, slots=True)
class CreditsSummary:
    """What the Credits area shows: the balance and the most recent purchases."""

    balance: int
    purchases: list[Purchase]
    earlier_purchases: int  # granted purchases older than the ones listed


def credits_summary(
    *, session: Session, account_id: int, limit: int = RECENT_PURCHASES
) -> CreditsSummary:
    count = session.scalar(
        select(func.count())
        .select_from(CreditLedgerEntry)
        .where(
            CreditLedgerEntry.account_id == account_id,
            CreditLedgerEntry.kind == LedgerKind.PURCHASE,
        )
    )
    listed = purchases(session=session, account_id=account_id, limit=limit)
    return CreditsSummary(
        balance=balance(session=session, account_id=account_id),
        purchases=listed,
        earlier_purchases=max(0, int(count or 0) - len(listed)),
    )


@dataclass(frozen=True, slots=True)
class CreditsEntry:
    """The "Number of credits" field as typed so far, priced when it can be.

    Exactly one of `quote` and `problem` is set once something is typed; neither when the
    field is empty.
    """

    text: str | None
    tiers: list[PriceTier]
    quote: Quote | None = None
    problem: str | None = None


def price_credits_entry(
    *, session: Session, account: Account, text: str | None, on: date
) -> CreditsEntry:
    """Price what is typed in "Number of credits"; bad input becomes the field's message."""
    tiers = pricing.credit_tiers(session=session, currency=account.currency)
    typed = (text or "").strip() or None
    if typed is None:
        return CreditsEntry(text=None, tiers=tiers)
    try:
        quote = quote_purchase(session=session, account=account, text=typed, on=on)
    except FieldError as exc:
        return CreditsEntry(text=typed, tiers=tiers, problem=exc.message)
    return CreditsEntry(text=typed, tiers=tiers, quote=quote)


def quote_purchase(*, session: Session, account: Account, text: str, on: date) -> Quote:
    """The quote for a typed number of credits; raises `FieldError` on `credits` when bad."""
    quantity = parse_credit_quantity(text)
    return pricing.quote_credits_for(session=session, account=account, quantity=quantity, on=on)
