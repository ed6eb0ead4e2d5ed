"""The plain data the PDF renderers take: frozen values, no ORM objects, no I/O.

Everything a PDF shows is decided here or in `bot.pdf.sources`; the renderers only lay it out.
Amounts are `Money` (integer minor units); rates and quantities are exact `Decimal`s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from bot.money import Money, total
from store.enums import InvoiceStatus, LineUnit, VatTreatment

if TYPE_CHECKING:
    from bot.settings import Settings

STERLING = "GBP"


@dataclass(frozen=True, slots=True)
class Supplier:
    """The vendor as every invoice and statement names it."""

    name: str
    address_lines: tuple[str, ...]
    vat_number: str
    company_number: str


def supplier_from_settings(settings: Settings) -> Supplier:
    return Supplier(
        name=settings.SUPPLIER_NAME.strip(),
        address_lines=tuple(
            line.strip() for line in settings.SUPPLIER_ADDRESS.splitlines() if line.strip()
        ),
        vat_number=settings.SUPPLIER_VAT_NUMBER.strip(),
        company_number=settings.SUPPLIER_COMPANY_NUMBER.strip(),
    )


@dataclass(frozen=True, slots=True)
class Customer:
    """Who is billed: the account's company, billing address and (if given) VAT reference."""

    company_name: str
    address_lines: tuple[str, ...]
    country_name: str
    vat_reference: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One invoice line as stored: rounded once, so net + VAT is the line's gross."""

    description: str
    quantity: Decimal
    unit: LineUnit
    unit_price: Money
    net: Money
    vat_rate: Decimal
    vat: Money

    @property
    def gross(self) -> Money:
        return self.net + self.vat


@dataclass(frozen=True, slots=True)
class VatRateTotal:
    """The net charged at one VAT rate and the VAT on it (the sum of its lines' VAT)."""

    rate: Decimal
    net: Money
    vat: Money


@dataclass(frozen=True, slots=True)
class Paid:
    """Paid on `on`; with the card's brand (Stripe's name, like "visa") and last four digits
    when they are known."""

    on: date
    card_brand: str | None = None
    card_last4: str | None = None


@dataclass(frozen=True, slots=True)
class Due:
    """Not paid yet; `in_progress` while a card payment is being confirmed."""

    by: date
    in_progress: bool = False


@dataclass(frozen=True, slots=True)
class Voided:
    """Cancelled before it was paid; nothing is owed."""

    on: date | None


PaymentState = Paid | Due | Voided


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """Everything one invoice PDF shows.

    `net`, `vat` and `gross` are the stored totals; they must be the sums of the lines
    (docs/adr/0001-money-and-rounding.md), and a document that disagrees is refused. A
    non-sterling invoice must also carry its VAT in sterling (`vat_in_sterling`).
    """

    number: str
    issue_date: date
    tax_point: date
    due_date: date
    currency: str
    vat_treatment: VatTreatment
    customer: Customer
    lines: tuple[DocumentLine, ...]
    net: Money
    vat: Money
    gross: Money
    payment: PaymentState
    vat_in_sterling: Money | None = None

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValueError(f"invoice {self.number} has no lines")
        if self.net != total([line.net for line in self.lines], self.currency):
            raise ValueError(f"invoice {self.number}: the net total is not the sum of its lines")
        if self.vat != total([line.vat for line in self.lines], self.currency):
            raise ValueError(f"invoice {self.number}: the VAT total is not the sum of its lines")
        if self.gross != self.net + self.vat:
            raise ValueError(f"invoice {self.number}: gross is not net + VAT")
        if self.currency != STERLING:
            if self.vat_in_sterling is None:
                raise ValueError(
                    f"invoice {self.number} is in {self.currency}: its VAT must also be shown "
                    "in sterling (vat_in_sterling)"
                )
            if self.vat_in_sterling.currency != STERLING:
                raise ValueError("vat_in_sterling must be in GBP")

    @property
    def vat_summary(self) -> tuple[VatRateTotal, ...]:
        """One row per VAT rate on the invoice, highest rate first."""
        rates = sorted({line.vat_rate for line in self.lines}, reverse=True)
        return tuple(
            VatRateTotal(
                rate=rate,
                net=total([ln.net for ln in self.lines if ln.vat_rate == rate], self.currency),
                vat=total([ln.vat for ln in self.lines if ln.vat_rate == rate], self.currency),
            )
            for rate in rates
        )


@dataclass(frozen=True, slots=True)
class StatementInvoice:
    number: str
    issue_date: date
    gross: Money
    status: InvoiceStatus


@dataclass(frozen=True, slots=True)
class StatementPayment:
    """Money received: a succeeded card payment, or an invoice marked paid without one."""

    received_on: date
    amount: Money
    invoice_numbers: tuple[str, ...]
    description: str


@dataclass(frozen=True, slots=True)
class MonthSpend:
    month: date  # the first day of the month
    gross: Money


@dataclass(frozen=True, slots=True)
class StatementDocument:
    """One month of an account: what was invoiced and received, and what is owed.

    The balance owed at a moment is the gross of every non-void invoice issued by then minus
    every payment received by then; `closing_balance` must equal the opening balance plus the
    month's invoices minus the month's payments, or the document is refused.
    """

    month: date  # the first day of the month
    period_end: date  # the month's last day, or today for the current month
    currency: str
    customer: Customer
    opening_balance: Money
    closing_balance: Money
    invoices: tuple[StatementInvoice, ...]
    payments: tuple[StatementPayment, ...]
    spend: tuple[MonthSpend, ...]  # oldest first, ending with `month`

    def __post_init__(self) -> None:
        if self.month.day != 1:
            raise ValueError("a statement's month is given by its first day")
        expected = self.opening_balance + self.invoiced - self.received
        if expected != self.closing_balance:
            raise ValueError(
                f"statement for {self.month:%Y-%m} does not reconcile: opening + invoiced - "
                f"received is {expected.amount_minor}, "
                f"closing is {self.closing_balance.amount_minor}"
            )

    @property
    def invoiced(self) -> Money:
        return total([invoice.gross for invoice in self.invoices], self.currency)

    @property
    def received(self) -> Money:
        return total([payment.amount for payment in self.payments], self.currency)
