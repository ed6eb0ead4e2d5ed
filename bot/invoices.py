"""Invoices: gap-free numbering, creation from quotes, and the status state machine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import audit, credits
from bot.accounts import billing_address_lines
from bot.errors import InvalidTransition, NotFound
from bot.quotes import Quote
from store.enums import InvoiceKind, InvoiceStatus
from store.models import Account, Invoice, InvoiceLine, InvoiceNumberCounter

INVOICE_COUNTER = "invoice"
LONDON = ZoneInfo("Europe/London")
# Credits are bought and paid in one go; service invoices give the customer time to pay.
PAYMENT_TERMS: dict[InvoiceKind, timedelta] = {
    InvoiceKind.CREDITS: timedelta(days=0),
    InvoiceKind.SERVICES: timedelta(days=14),
}

# The invoice state machine: every allowed move, and nothing else.
TRANSITIONS: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    InvoiceStatus.OPEN: frozenset({InvoiceStatus.PAYING, InvoiceStatus.PAID, InvoiceStatus.VOID}),
    InvoiceStatus.PAYING: frozenset({InvoiceStatus.PAID, InvoiceStatus.OPEN}),
    InvoiceStatus.PAID: frozenset(),
    InvoiceStatus.VOID: frozenset(),
}


def format_invoice_number(sequence: int) -> str:
    return f"INV-{sequence:06d}"


def allocate_invoice_number(*, session: Session) -> int:
    """Take the next number inside the caller's transaction.

    The counter row is updated in place, so the row lock (PostgreSQL) or the write lock
    (SQLite) holds every other creator until this transaction ends; a rollback undoes the
    increment, so no number is ever burnt or shared.
    """
    taken = session.execute(
        update(InvoiceNumberCounter)
        .where(InvoiceNumberCounter.name == INVOICE_COUNTER)
        .values(next_value=InvoiceNumberCounter.next_value + 1)
        .returning(InvoiceNumberCounter.next_value)
    ).scalar_one()
    return int(taken) - 1


def create_invoice(
    *,
    session: Session,
    account: Account,
    kind: InvoiceKind,
    quotes: Sequence[Quote],
    actor: str,
    now: datetime,
    tz: ZoneInfo = LONDON,
    creation_key: str | None = None,
) -> Invoice:
    """Create an open invoice from priced quotes, numbered in this same transaction.

    With a `creation_key` (a Slack view id, say), asking twice returns the first invoice.
    """
    if creation_key is not None:
        existing = session.scalar(select(Invoice).where(Invoice.creation_key == creation_key))
        if existing is not None:
            return existing
    if not quotes:
        raise ValueError("an invoice needs at least one line")
    currency = quotes[0].currency
    treatment = quotes[0].vat_treatment
    if any(q.currency != currency or q.vat_treatment != treatment for q in quotes):
        raise ValueError("every line of an invoice shares its currency and VAT treatment")
    rates = {q.vat_rate for q in quotes}

    issue_date = now.astimezone(tz).date()
    invoice = Invoice(
        account_id=account.id,
        kind=kind,
        issue_date=issue_date,
        tax_point=issue_date,
        due_date=issue_date + PAYMENT_TERMS[kind],
        currency=currency,
        vat_treatment=treatment,
        vat_rate=rates.pop() if len(rates) == 1 else max(rates),
        customer_name=account.company_name,
        customer_address="\n".join(billing_address_lines(account)),
        customer_country=account.billing_country or account.country,
        customer_vat_reference=account.vat_reference,
        net_minor=sum(q.net.amount_minor for q in quotes),
        vat_minor=sum(q.vat.amount_minor for q in quotes),
        gross_minor=sum(q.gross.amount_minor for q in quotes),
        status=InvoiceStatus.OPEN,
        creation_key=creation_key,
        created_at=now,
        lines=[
            InvoiceLine(
                position=position,
                description=q.description,
                quantity=q.quantity,
                unit=q.unit,
                unit_price_minor=q.unit_price.amount_minor,
                net_minor=q.net.amount_minor,
                vat_rate=q.vat_rate,
                vat_minor=q.vat.amount_minor,
                gross_minor=q.gross.amount_minor,
            )
            for position, q in enumerate(quotes, start=1)
        ],
    )
    try:
        # The number and the row in one savepoint: when a concurrent request with the same
        # creation key won the race, both roll back here and no number is burnt.
        with session.begin_nested():
            invoice.sequence = allocate_invoice_number(session=session)
            invoice.number = format_invoice_number(invoice.sequence)
            session.add(invoice)
            session.flush()
    except IntegrityError:
        existing = (
            session.scalar(select(Invoice).where(Invoice.creation_key == creation_key))
            if creation_key is not None
            else None
        )
        if existing is None:
            raise
        return existing
    audit.record(
        session=session,
        account_id=account.id,
        actor=actor,
        action="invoice.created",
        now=now,
        invoice=invoice.number,
        gross_minor=invoice.gross_minor,
        currency=currency,
    )
    return invoice


def transition(invoice: Invoice, to: InvoiceStatus) -> None:
    """Move `invoice` to `to`, or raise `InvalidTransition` saying why not."""
    current = invoice.status
    if to in TRANSITIONS[current]:
        invoice.status = to
        return
    if current is InvoiceStatus.PAID and to in (InvoiceStatus.PAID, InvoiceStatus.PAYING):
        raise InvalidTransition(f"Invoice {invoice.number} is already paid.")
    if current is InvoiceStatus.VOID:
        raise InvalidTransition(f"Invoice {invoice.number} has been voided and cannot be paid.")
    raise InvalidTransition(
        f"Invoice {invoice.number} is {current.value} and cannot be marked {to.value}."
    )


def mark_paid(*, session: Session, invoice: Invoice, now: datetime, actor: str) -> None:
    """Mark `invoice` paid and grant any credits it bought, in the caller's transaction."""
    transition(invoice, InvoiceStatus.PAID)
    invoice.paid_at = now
    credits.grant_for_invoice(session=session, invoice=invoice, now=now)
    audit.record(
        session=session,
        account_id=invoice.account_id,
        actor=actor,
        action="invoice.paid",
        now=now,
        invoice=invoice.number,
    )


def void(*, session: Session, invoice: Invoice, now: datetime, actor: str) -> None:
    transition(invoice, InvoiceStatus.VOID)
    invoice.voided_at = now
    audit.record(
        session=session,
        account_id=invoice.account_id,
        actor=actor,
        action="invoice.voided",
        now=now,
        invoice=invoice.number,
    )


def get_invoice(*, session: Session, account_id: int, invoice_id: int) -> Invoice:
    """One of this account's invoices; another account's id is the same as a missing one."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.account_id != account_id:
        raise NotFound("That invoice could not be found on this account.")
    return invoice
