"""Credits: the balance is the sum of the ledger; purchases are granted when paid, not before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.enums import InvoiceKind, InvoiceStatus, LedgerKind, LineUnit
from store.models import CreditLedgerEntry, Invoice


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


def purchases(*, session: Session, account_id: int) -> list[Purchase]:
    """Granted purchases, newest first."""
    rows = session.execute(
        select(CreditLedgerEntry, Invoice.number)
        .join(Invoice, Invoice.id == CreditLedgerEntry.invoice_id)
        .where(
            CreditLedgerEntry.account_id == account_id,
            CreditLedgerEntry.kind == LedgerKind.PURCHASE,
        )
        .order_by(CreditLedgerEntry.occurred_at.desc(), CreditLedgerEntry.id.desc())
    )
    return [
        Purchase(
            invoice_id=entry.invoice_id or 0,
            invoice_number=number,
            credits=entry.credits,
            granted_at=entry.occurred_at,
        )
        for entry, number in rows
    ]
