"""Invoice and statement documents computed from the store; the renderers never see the ORM.

The balance definition is written down in docs/adr/0005-invoice-pdfs.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.accounts import billing_address_lines
from bot.countries import country_name
from bot.invoices import LONDON
from bot.money import Money, total
from bot.pdf.documents import (
    STERLING,
    Customer,
    DocumentLine,
    Due,
    InvoiceDocument,
    MonthSpend,
    Paid,
    PaymentState,
    StatementDocument,
    StatementInvoice,
    StatementPayment,
    Voided,
)
from store.enums import InvoiceStatus, PaymentStatus
from store.models import Account, Invoice, Payment, PaymentInvoice

SPEND_MONTHS = 12


def customer_of(account: Account, *, vat_reference: str | None) -> Customer:
    """The account's company and billing address as they are now (for statements)."""
    return Customer(
        company_name=account.company_name,
        address_lines=billing_address_lines(account),
        country_name=country_name(account.billing_country or account.country),
        vat_reference=vat_reference,
    )


def invoiced_customer(invoice: Invoice) -> Customer:
    """The customer exactly as the invoice was issued to them, whatever changed since."""
    return Customer(
        company_name=invoice.customer_name,
        address_lines=tuple(line for line in invoice.customer_address.split("\n") if line),
        country_name=country_name(invoice.customer_country),
        vat_reference=invoice.customer_vat_reference,
    )


def invoice_payments(*, session: Session, invoice: Invoice) -> list[Payment]:
    """Every payment attempt that covers `invoice`, oldest first."""
    return list(
        session.scalars(
            select(Payment)
            .join(PaymentInvoice, PaymentInvoice.payment_id == Payment.id)
            .where(PaymentInvoice.invoice_id == invoice.id)
            .order_by(Payment.created_at, Payment.id)
        )
    )


def _local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def _payment_state(
    invoice: Invoice, account: Account, payments: Sequence[Payment], tz: ZoneInfo
) -> PaymentState:
    if invoice.status is InvoiceStatus.VOID:
        return Voided(on=_local_date(invoice.voided_at, tz) if invoice.voided_at else None)
    if invoice.status is not InvoiceStatus.PAID:
        return Due(by=invoice.due_date, in_progress=invoice.status is InvoiceStatus.PAYING)
    succeeded = [p for p in payments if p.status is PaymentStatus.SUCCEEDED]
    payment = max(succeeded, key=lambda p: (p.updated_at, p.id), default=None)
    paid_at = invoice.paid_at or (payment.updated_at if payment is not None else None)
    if paid_at is None:
        raise ValueError(f"invoice {invoice.number} is paid but has no payment date")
    on = _local_date(paid_at, tz)
    if payment is None:
        return Paid(on=on)  # marked paid without a card payment: no card to name
    if payment.card_last4:
        return Paid(on=on, card_brand=payment.card_brand, card_last4=payment.card_last4)
    # Recorded before payments kept the card they charged (migration 0007), or Stripe did not
    # say. A payment method's card never changes, so the account's card on file is the card
    # charged exactly when it is the payment method the payment used; else no card is named,
    # rather than a card that may not be the one charged.
    if (
        payment.stripe_payment_method_id is not None
        and payment.stripe_payment_method_id == account.card_payment_method_id
    ):
        return Paid(on=on, card_brand=account.card_brand, card_last4=account.card_last4)
    return Paid(on=on)


def invoice_document(
    invoice: Invoice,
    account: Account,
    payments: Sequence[Payment],
    *,
    tz: ZoneInfo = LONDON,
    vat_in_sterling: Money | None = None,
) -> InvoiceDocument:
    """What the PDF of `invoice` shows. `payments` are the payments covering it (see
    `invoice_payments`). A non-sterling invoice that charges VAT needs `vat_in_sterling`,
    converted at the rate of its tax point by the caller: the store keeps no exchange rates.
    """
    if invoice.account_id != account.id:
        raise ValueError(f"invoice {invoice.number} is not on account {account.id}")
    currency = invoice.currency
    if currency != STERLING and vat_in_sterling is None and invoice.vat_minor == 0:
        vat_in_sterling = Money.zero(STERLING)
    return InvoiceDocument(
        number=invoice.number,
        issue_date=invoice.issue_date,
        tax_point=invoice.tax_point,
        due_date=invoice.due_date,
        currency=currency,
        vat_treatment=invoice.vat_treatment,
        customer=invoiced_customer(invoice),
        lines=tuple(
            DocumentLine(
                description=line.description,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=Money(line.unit_price_minor, currency),
                net=Money(line.net_minor, currency),
                vat_rate=line.vat_rate,
                vat=Money(line.vat_minor, currency),
            )
            for line in invoice.lines
        ),
        net=Money(invoice.net_minor, currency),
        vat=Money(invoice.vat_minor, currency),
        gross=Money(invoice.gross_minor, currency),
        payment=_payment_state(invoice, account, payments, tz),
        vat_in_sterling=vat_in_sterling if currency != STERLING else None,
    )


# ---- the monthly statement -----------------------------------------------------------------


def add_months(first_day: date, months: int) -> date:
    index = first_day.year * 12 + first_day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class _Receipt:
    on: date
    payment: StatementPayment


def _receipts(*, session: Session, account: Account, tz: ZoneInfo) -> list[_Receipt]:
    """Every amount received on the account: succeeded payments, dated by when their invoices
    were marked paid (the payment's last update if none was), and paid invoices that no
    succeeded payment covers (marked paid by other means), dated by `paid_at`."""
    payments = session.scalars(
        select(Payment)
        .where(Payment.account_id == account.id, Payment.status == PaymentStatus.SUCCEEDED)
        .options(selectinload(Payment.invoices))
        .order_by(Payment.id)
    ).all()
    receipts: list[_Receipt] = []
    covered: set[int] = set()
    for payment in payments:
        covered.update(invoice.id for invoice in payment.invoices)
        paid_ats = [invoice.paid_at for invoice in payment.invoices if invoice.paid_at]
        on = _local_date(min(paid_ats, default=payment.updated_at), tz)
        numbers = tuple(sorted(invoice.number for invoice in payment.invoices))
        receipts.append(
            _Receipt(
                on,
                StatementPayment(
                    received_on=on,
                    amount=Money(payment.amount_minor, payment.currency),
                    invoice_numbers=numbers,
                    description=f"Card payment for {', '.join(numbers)}"
                    if numbers
                    else "Card payment",
                ),
            )
        )
    marked_paid = session.scalars(
        select(Invoice).where(
            Invoice.account_id == account.id,
            Invoice.status == InvoiceStatus.PAID,
            Invoice.paid_at.is_not(None),
        )
    ).all()
    for invoice in marked_paid:
        if invoice.id in covered or invoice.paid_at is None:
            continue
        on = _local_date(invoice.paid_at, tz)
        receipts.append(
            _Receipt(
                on,
                StatementPayment(
                    received_on=on,
                    amount=Money(invoice.gross_minor, invoice.currency),
                    invoice_numbers=(invoice.number,),
                    description=f"Invoice {invoice.number} marked paid",
                ),
            )
        )
    return receipts


def statement_document(
    *, session: Session, account: Account, month: date, today: date, tz: ZoneInfo = LONDON
) -> StatementDocument:
    """The statement of `account` for `month` (its first day), as it stands on `today`.

    Balance owed at a date = gross of the non-void invoices issued up to it minus what was received
    up to it. Opening is the balance just before the month starts; closing at the month's last
    day (or today, for the current month). Dates are local (`tz`); amounts are integers.
    """
    if month.day != 1:
        raise ValueError("give the statement's month as its first day")
    if month > today:
        raise ValueError(f"no statement yet for {month:%Y-%m}: it has not started")
    next_month = add_months(month, 1)
    period_end = min(date.fromordinal(next_month.toordinal() - 1), today)
    currency = account.currency
    spend_from = add_months(month, 1 - SPEND_MONTHS)

    invoices = session.scalars(
        select(Invoice)
        .where(
            Invoice.account_id == account.id,
            Invoice.status != InvoiceStatus.VOID,
            Invoice.issue_date <= period_end,
        )
        .order_by(Invoice.issue_date, Invoice.sequence)
    ).all()
    receipts = [r for r in _receipts(session=session, account=account, tz=tz) if r.on <= period_end]

    def money(invoices_: Sequence[Invoice]) -> Money:
        return total([Money(i.gross_minor, i.currency) for i in invoices_], currency)

    invoiced_before = money([i for i in invoices if i.issue_date < month])
    received_before = total([r.payment.amount for r in receipts if r.on < month], currency)
    in_month = [i for i in invoices if i.issue_date >= month]
    received_in_month = sorted(
        (r for r in receipts if r.on >= month),
        key=lambda r: (r.on, r.payment.invoice_numbers),
    )
    opening = invoiced_before - received_before
    closing = (
        opening + money(in_month) - total([r.payment.amount for r in received_in_month], currency)
    )
    spend = tuple(
        MonthSpend(
            month=start,
            gross=money([i for i in invoices if start <= i.issue_date < add_months(start, 1)]),
        )
        for start in (add_months(spend_from, n) for n in range(SPEND_MONTHS))
    )
    return StatementDocument(
        month=month,
        period_end=period_end,
        currency=currency,
        customer=customer_of(account, vat_reference=account.vat_reference),
        opening_balance=opening,
        closing_balance=closing,
        invoices=tuple(
            StatementInvoice(
                number=i.number,
                issue_date=i.issue_date,
                gross=Money(i.gross_minor, i.currency),
                status=i.status,
            )
            for i in in_month
        ),
        payments=tuple(r.payment for r in received_in_month),
        spend=spend,
    )
