"""Invoice and statement PDFs built from real invoices in the database, read back as text."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from bot.invoices import create_invoice, mark_paid, void
from bot.pdf import (
    Supplier,
    invoice_document,
    invoice_payments,
    render_invoice,
    render_statement,
    statement_document,
)
from bot.pricing import active_services, quote_credits_for, quote_service_for
from bot.quotes import Quote
from store.enums import InvoiceKind, InvoiceStatus, PaymentStatus
from store.models import Account, Invoice, Payment
from tests.conftest import NOW
from tests.factories import make_account

SUPPLIER = Supplier(
    name="Example Cloud Software Ltd",
    address_lines=("1 Example Street", "London", "EC1A 1AA", "United Kingdom"),
    vat_number="GB123456789",
    company_number="01234567",
)
HEADER = "Description Quantity Unit price VAT rate Net amount"


def texts(data: bytes) -> list[str]:
    """Each page's text with runs of whitespace made single spaces."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


def with_address(account: Account, *lines: str, postcode: str) -> Account:
    account.billing_forename, account.billing_surname = "Jane", "Smith"
    account.billing_line1, account.billing_town = lines
    account.billing_postcode = postcode
    return account


def hours(session: Session, account: Account, service: str, amount: str) -> Quote:
    service_id = next(s.id for s in active_services(session=session) if s.name == service)
    return quote_service_for(
        session=session,
        account=account,
        service_id=service_id,
        hours=Decimal(amount),
        on=NOW.date(),
    )


def credits(session: Session, account: Account, quantity: int) -> Quote:
    return quote_credits_for(session=session, account=account, quantity=quantity, on=NOW.date())


def invoice_for(
    session: Session,
    account: Account,
    quotes: list[Quote],
    *,
    kind: InvoiceKind = InvoiceKind.SERVICES,
    now: datetime = NOW,
) -> Invoice:
    return create_invoice(
        session=session, account=account, kind=kind, quotes=quotes, actor="UADMIN", now=now
    )


def pay_by_card(
    session: Session,
    account: Account,
    invoices: list[Invoice],
    at: datetime,
    *,
    card: tuple[str, str] | None = ("visa", "4242"),
) -> None:
    """What a succeeded card payment leaves in the store: the payment row, with the card it
    charged (None: a payment recorded before payments kept it), and paid invoices."""
    brand, last4 = card if card is not None else (None, None)
    session.add(
        Payment(
            account_id=account.id,
            amount_minor=sum(invoice.gross_minor for invoice in invoices),
            currency="GBP",
            attempt=1,
            idempotency_key=f"invoice:{invoices[0].id}:attempt:1",
            stripe_payment_intent_id=f"pi_{invoices[0].id}",
            stripe_payment_method_id=account.card_payment_method_id,
            status=PaymentStatus.SUCCEEDED,
            card_brand=brand,
            card_last4=last4,
            created_at=at,
            updated_at=at,
            invoices=invoices,
        )
    )
    for invoice in invoices:
        mark_paid(session=session, invoice=invoice, now=at, actor="stripe")
    session.flush()


def rendered(session: Session, invoice: Invoice, account: Account) -> list[str]:
    payments = invoice_payments(session=session, invoice=invoice)
    return texts(render_invoice(invoice_document(invoice, account, payments), SUPPLIER))


# ---- invoices --------------------------------------------------------------------------------


def test_a_uk_invoice_carries_everything_a_vat_invoice_must(session: Session) -> None:
    account = with_address(
        make_account(session, now=NOW, company_name="Acme Widgets Ltd"),
        "2 Mill Lane",
        "Leeds",
        postcode="LS1 4AB",
    )
    invoice = invoice_for(
        session,
        account,
        [hours(session, account, "Consultancy", "2.25"), hours(session, account, "Training", "1")],
    )
    [text] = rendered(session, invoice, account)

    supplier = (
        "Example Cloud Software Ltd 1 Example Street London EC1A 1AA United Kingdom "
        "VAT number GB123456789 Company number 01234567"
    )
    assert supplier in text
    assert f"Invoice {invoice.number}" in text
    assert invoice.number == "INV-000001"
    assert "Issue date 24 Nov 2026 Tax point 24 Nov 2026 Due date 8 Dec 2026" in text
    assert "Bill to Acme Widgets Ltd Jane Smith 2 Mill Lane Leeds LS1 4AB United Kingdom" in text
    assert HEADER in text
    # 2.25 h at £95.00 = £213.75 (VAT £42.75); 1 h at £75.00 = £75.00 (VAT £15.00)
    assert "Consultancy 2.25 hours £95.00 20% £213.75" in text
    assert "Training 1.00 hours £75.00 20% £75.00" in text
    assert "Net total £288.75 VAT 20% £57.75 Total £346.50" in text
    assert "UK VAT at the standard rate" in text
    assert "Due by 8 Dec 2026, pay in Slack with /portal pay" in text
    assert "VAT in sterling" not in text  # a sterling invoice needs no conversion
    assert "Page 1 of 1" in text


def test_a_reverse_charge_invoice_names_the_customers_vat_number(session: Session) -> None:
    account = with_address(
        make_account(
            session,
            now=NOW,
            country="DE",
            vat_reference="DE136695976",
            company_name="Beispiel GmbH",
        ),
        "Hauptstraße 5",
        "Berlin",
        postcode="10115",
    )
    invoice = invoice_for(session, account, [credits(session, account, 150)])
    [text] = rendered(session, invoice, account)

    assert "Bill to Beispiel GmbH Jane Smith Hauptstraße 5 Berlin 10115 Germany" in text
    assert "VAT number DE136695976" in text
    assert "150 credits 150 credits £0.90 n/a £135.00" in text
    assert "Net total £135.00 VAT £0.00 Total £135.00" in text
    assert "Reverse charge: customer to account for VAT" in text
    assert "Customer VAT number DE136695976" in text


def test_an_invoice_outside_the_scope_of_uk_vat_says_so(session: Session) -> None:
    account = make_account(session, now=NOW, country="US", company_name="Example Inc.")
    invoice = invoice_for(session, account, [hours(session, account, "Development", "3.5")])
    [text] = rendered(session, invoice, account)

    assert "Bill to Example Inc. United States" in text
    assert "Development 3.50 hours £110.00 n/a £385.00" in text
    assert "Net total £385.00 VAT £0.00 Total £385.00" in text
    assert "Outside the scope of UK VAT" in text
    assert "Reverse charge" not in text


def test_a_paid_invoice_names_the_card_and_the_day(session: Session) -> None:
    account = make_account(session, now=NOW)
    account.card_brand, account.card_last4 = "visa", "4242"
    account.card_payment_method_id = "pm_card_visa"
    invoice = invoice_for(
        session, account, [credits(session, account, 500)], kind=InvoiceKind.CREDITS
    )
    pay_by_card(session, account, [invoice], datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
    [text] = rendered(session, invoice, account)

    assert "Paid on 24 Nov 2026 by Visa •••• 4242" in text
    assert "Due by" not in text
    assert "500 credits 500 credits £0.80 20% £400.00" in text


def test_a_paid_invoice_names_the_card_charged_after_the_card_on_file_changes(
    session: Session,
) -> None:
    account = make_account(session, now=NOW)
    account.card_brand, account.card_last4 = "mastercard", "4444"
    account.card_payment_method_id = "pm_card_mastercard"
    invoice = invoice_for(
        session, account, [credits(session, account, 100)], kind=InvoiceKind.CREDITS
    )
    pay_by_card(session, account, [invoice], NOW, card=("mastercard", "4444"))
    # The customer then replaces the card on file with a Visa.
    account.card_brand, account.card_last4 = "visa", "4242"
    account.card_payment_method_id = "pm_card_visa"
    session.flush()
    [text] = rendered(session, invoice, account)

    assert "Paid on 24 Nov 2026 by Mastercard •••• 4444" in text
    assert "Visa" not in text
    assert "4242" not in text


def test_a_payment_from_before_cards_were_kept_names_its_card_only_if_still_on_file(
    session: Session,
) -> None:
    account = make_account(session, now=NOW)
    account.card_brand, account.card_last4 = "visa", "4242"
    account.card_payment_method_id = "pm_card_visa"
    kept, replaced = (
        invoice_for(session, account, [credits(session, account, n)], kind=InvoiceKind.CREDITS)
        for n in (100, 200)
    )
    pay_by_card(session, account, [kept], NOW, card=None)
    account.card_payment_method_id = "pm_card_visa_2"  # a new card: another payment method
    pay_by_card(session, account, [replaced], NOW, card=None)
    account.card_payment_method_id = "pm_card_visa"
    session.flush()

    # The payment's own payment method is still the card on file: that card was charged.
    [text] = rendered(session, kept, account)
    assert "Paid on 24 Nov 2026 by Visa •••• 4242" in text
    # Another payment method was charged, whose card is no longer known: none is named.
    [text] = rendered(session, replaced, account)
    assert "Paid on 24 Nov 2026 Description" in text  # the banner, then the lines' header
    assert "4242" not in text


def test_an_unpaid_credits_invoice_is_due_the_day_it_is_issued(session: Session) -> None:
    account = make_account(session, now=NOW)
    invoice = invoice_for(
        session, account, [credits(session, account, 10)], kind=InvoiceKind.CREDITS
    )
    [text] = rendered(session, invoice, account)
    assert "Due by 24 Nov 2026, pay in Slack with /portal pay" in text
    assert "Paid on" not in text


def test_a_void_invoice_says_nothing_is_owed(session: Session) -> None:
    account = make_account(session, now=NOW)
    invoice = invoice_for(session, account, [credits(session, account, 10)])
    void(session=session, invoice=invoice, now=NOW, actor="UADMIN")
    [text] = rendered(session, invoice, account)
    assert "Void: this invoice was cancelled on 24 Nov 2026 and nothing is owed" in text


def test_non_ascii_customer_names_render_and_extract(session: Session) -> None:
    account = with_address(
        make_account(session, now=NOW, country="DK", company_name="Müller & Søn ApS"),
        "Østergade 1",
        "København",
        postcode="1100",
    )
    account.billing_forename, account.billing_surname = "Zoë", "Ćirić"
    invoice = invoice_for(session, account, [hours(session, account, "Consultancy", "1")])
    data = render_invoice(invoice_document(invoice, account, []), SUPPLIER)
    [text] = texts(data)
    assert "Bill to Müller & Søn ApS Zoë Ćirić Østergade 1 København 1100 Denmark" in text
    metadata = PdfReader(io.BytesIO(data)).metadata
    assert metadata is not None
    assert metadata.subject == f"Invoice {invoice.number} to Müller & Søn ApS"


def test_a_long_invoice_repeats_its_header_and_numbers_its_pages(session: Session) -> None:
    account = make_account(session, now=NOW)
    quotes = [credits(session, account, 101 + n) for n in range(60)]
    invoice = invoice_for(session, account, quotes, kind=InvoiceKind.CREDITS)
    pages = rendered(session, invoice, account)

    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert f"Invoice {invoice.number}" in text  # the footer names the invoice on every page
    # Every page that holds lines starts its table with the header row.
    pages_with_lines = [text for text in pages if re.search(r"\d+ credits £0\.90", text)]
    assert len(pages_with_lines) >= 2
    for text in pages_with_lines:
        assert HEADER in text
    everything = " ".join(pages)
    for n in range(60):
        quantity = 101 + n
        net = f"£{quantity * 90 // 100}.{quantity * 90 % 100:02d}"
        assert f"{quantity} credits {quantity} credits £0.90 20% {net}" in everything
    assert f"Total £{invoice.gross_minor // 100:,}.{invoice.gross_minor % 100:02d}" in pages[-1]


# ---- the monthly statement -------------------------------------------------------------------


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture
def history(session: Session) -> tuple[Account, dict[str, Invoice]]:
    """Three months of an account's invoices and payments, with a void and a failed payment.

    Sep 10  A  100 credits  £108.00  paid by card the same day
    Oct  5  B  2 h          £228.00  paid by card on 3 Nov
    Oct 20  C  10 credits   £12.00   void
    Oct 28  D  50 credits   £60.00   open
    Nov 10  E  1.5 h        £135.00  marked paid on 12 Nov without a card payment
    Nov 20  F  200 credits  £216.00  open (a card payment for it failed)
    """
    account = make_account(session, now=at(9, 1), company_name="Zoë's Bakery Ltd")
    account.card_brand, account.card_last4 = "visa", "4242"
    account.card_payment_method_id = "pm_card_visa"
    plan = [
        ("A", credits(session, account, 100), InvoiceKind.CREDITS, at(9, 10)),
        ("B", hours(session, account, "Consultancy", "2"), InvoiceKind.SERVICES, at(10, 5)),
        ("C", credits(session, account, 10), InvoiceKind.CREDITS, at(10, 20)),
        ("D", credits(session, account, 50), InvoiceKind.CREDITS, at(10, 28)),
        ("E", hours(session, account, "Training", "1.5"), InvoiceKind.SERVICES, at(11, 10)),
        ("F", credits(session, account, 200), InvoiceKind.CREDITS, at(11, 20)),
    ]
    made = {
        key: invoice_for(session, account, [quote], kind=kind, now=when)
        for key, quote, kind, when in plan
    }
    pay_by_card(session, account, [made["A"]], at(9, 10, 11))
    pay_by_card(session, account, [made["B"]], at(11, 3))
    void(session=session, invoice=made["C"], now=at(10, 21), actor="UADMIN")
    mark_paid(session=session, invoice=made["E"], now=at(11, 12), actor="UFINANCE")
    session.add(
        Payment(
            account_id=account.id,
            amount_minor=made["F"].gross_minor,
            currency="GBP",
            attempt=1,
            idempotency_key=f"invoice:{made['F'].id}:attempt:1",
            status=PaymentStatus.FAILED,
            created_at=at(11, 20, 11),
            updated_at=at(11, 20, 11),
            invoices=[made["F"]],
        )
    )
    session.flush()
    assert [made[k].gross_minor for k in "ABCDEF"] == [10800, 22800, 1200, 6000, 13500, 21600]
    assert made["F"].status is InvoiceStatus.OPEN
    return account, made


def test_the_statement_balances_exclude_void_invoices_and_failed_payments(
    session: Session, history: tuple[Account, dict[str, Invoice]]
) -> None:
    account, made = history
    november = statement_document(
        session=session, account=account, month=date(2026, 11, 1), today=NOW.date()
    )
    # Before November: A + B + D invoiced (C is void) = £396.00, A paid £108.00.
    assert november.opening_balance.amount_minor == 39600 - 10800
    assert [i.number for i in november.invoices] == [made["E"].number, made["F"].number]
    assert [(p.received_on, p.amount.amount_minor) for p in november.payments] == [
        (date(2026, 11, 3), 22800),
        (date(2026, 11, 12), 13500),
    ]
    # What is still owed at the end: D and F.
    assert november.closing_balance.amount_minor == 6000 + 21600
    assert november.period_end == date(2026, 11, 24)  # the current month runs to today
    spend = {m.month: m.gross.amount_minor for m in november.spend}
    assert len(spend) == 12
    assert min(spend) == date(2025, 12, 1)
    assert spend[date(2026, 9, 1)] == 10800
    assert spend[date(2026, 10, 1)] == 22800 + 6000
    assert spend[date(2026, 11, 1)] == 13500 + 21600

    october = statement_document(
        session=session, account=account, month=date(2026, 10, 1), today=NOW.date()
    )
    assert october.opening_balance.amount_minor == 0
    assert october.period_end == date(2026, 10, 31)
    assert october.closing_balance == november.opening_balance
    assert [i.number for i in october.invoices] == [made["B"].number, made["D"].number]
    assert october.payments == ()


def test_the_statement_pdf_shows_every_figure_and_the_chart(
    session: Session, history: tuple[Account, dict[str, Invoice]]
) -> None:
    account, made = history
    statement = statement_document(
        session=session, account=account, month=date(2026, 11, 1), today=NOW.date()
    )
    [text] = texts(render_statement(statement, SUPPLIER))

    assert "Statement November 2026" in text
    assert "1 Nov 2026 to 24 Nov 2026" in text
    assert "Account Zoë's Bakery Ltd" in text
    assert (
        "Balance owed on 1 Nov 2026 £288.00 Invoiced in November 2026 £351.00 "
        "Received in November 2026 £363.00 Balance owed on 24 Nov 2026 £276.00"
    ) in text
    b, e, f = made["B"].number, made["E"].number, made["F"].number
    assert "1 Nov 2026 Balance brought forward £288.00" in text
    assert f"3 Nov 2026 Card payment for {b} £228.00 £60.00" in text
    assert f"10 Nov 2026 Invoice {e} (paid) £135.00 £195.00" in text
    assert f"12 Nov 2026 Invoice {e} marked paid £135.00 £60.00" in text
    assert f"20 Nov 2026 Invoice {f} (open) £216.00 £276.00" in text
    assert "Totals, balance carried forward £351.00 £363.00 £276.00" in text
    assert made["C"].number not in text  # void
    assert "Invoiced per month, Dec 2025 to Nov 2026" in text
    assert "Dec Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov" in text
    assert "Page 1 of 1" in text


def test_a_month_without_activity_carries_the_balance(
    session: Session, history: tuple[Account, dict[str, Invoice]]
) -> None:
    account, _ = history
    august = statement_document(
        session=session, account=account, month=date(2026, 8, 1), today=NOW.date()
    )
    assert august.opening_balance.amount_minor == august.closing_balance.amount_minor == 0
    [text] = texts(render_statement(august, SUPPLIER))
    assert "No invoices or payments in this month" in text
    assert "Invoiced per month, Sep 2025 to Aug 2026" in text


def test_a_statement_for_a_month_not_yet_begun_is_refused(session: Session) -> None:
    account = make_account(session, now=NOW)
    with pytest.raises(ValueError, match="not started"):
        statement_document(
            session=session, account=account, month=date(2026, 12, 1), today=NOW.date()
        )
    with pytest.raises(ValueError, match="first day"):
        statement_document(
            session=session, account=account, month=date(2026, 11, 2), today=NOW.date()
        )
