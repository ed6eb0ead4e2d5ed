"""Invoice and statement PDFs from plain documents: wording, fonts, determinism. No database."""

from __future__ import annotations

import io
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from bot.money import Money
from bot.pdf import (
    Customer,
    DocumentLine,
    Due,
    InvoiceDocument,
    MonthSpend,
    Paid,
    StatementDocument,
    StatementInvoice,
    StatementPayment,
    Supplier,
    Voided,
    payment_wording,
    pdf_sha256,
    render_invoice,
    render_statement,
    supplier_from_settings,
)
from bot.pdf.layout import covers, day, percent, printable, quantity
from bot.settings import Settings
from store.enums import InvoiceStatus, LineUnit, VatTreatment

ROOT = Path(__file__).resolve().parents[2]
SUPPLIER = Supplier(
    name="Example Cloud Software Ltd",
    address_lines=("1 Example Street", "London", "EC1A 1AA", "United Kingdom"),
    vat_number="GB123456789",
    company_number="01234567",
)
CUSTOMER = Customer(
    company_name="Müller & Søn ApS",
    address_lines=("Zoë Ćirić", "Østergade 1", "1100 København"),
    country_name="Denmark",
    vat_reference="DK13585628",
)


def gbp(pence: int) -> Money:
    return Money(pence, "GBP")


def consultancy(hours: str = "2.25", currency: str = "GBP") -> DocumentLine:
    net = Money(9500, currency).times(Decimal(hours))
    rate = Decimal("0.2")
    return DocumentLine(
        description="Consultancy",
        quantity=Decimal(hours),
        unit=LineUnit.HOURS,
        unit_price=Money(9500, currency),
        net=net,
        vat_rate=rate,
        vat=net.times(rate),
    )


def invoice(count: int = 1, **changes: object) -> InvoiceDocument:
    rows = tuple(consultancy() for _ in range(count))
    net = gbp(sum(line.net.amount_minor for line in rows))
    vat = gbp(sum(line.vat.amount_minor for line in rows))
    doc = InvoiceDocument(
        number="INV-000123",
        issue_date=date(2026, 11, 24),
        tax_point=date(2026, 11, 24),
        due_date=date(2026, 12, 8),
        currency="GBP",
        vat_treatment=VatTreatment.UK_STANDARD,
        customer=CUSTOMER,
        lines=rows,
        net=net,
        vat=vat,
        gross=net + vat,
        payment=Paid(on=date(2026, 11, 24), card_brand="visa", card_last4="4242"),
    )
    return replace(doc, **changes)  # type: ignore[arg-type]


def texts(data: bytes) -> list[str]:
    """Each page's text with runs of whitespace made single spaces."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


# ---- wording ---------------------------------------------------------------------------------


def test_dates_quantities_and_rates_read_as_an_accountant_expects() -> None:
    assert day(date(2026, 11, 24)) == "24 Nov 2026"
    assert day(date(2026, 12, 8)) == "8 Dec 2026"
    assert quantity(Decimal(150), LineUnit.CREDITS) == "150 credits"
    assert quantity(Decimal(1500), LineUnit.CREDITS) == "1,500 credits"
    assert quantity(Decimal(1), LineUnit.CREDITS) == "1 credit"
    assert quantity(Decimal("2.25"), LineUnit.HOURS) == "2.25 hours"
    assert quantity(Decimal("2.00"), LineUnit.HOURS) == "2.00 hours"
    assert percent(Decimal("0.2000")) == "20%"
    assert percent(Decimal("0.175")) == "17.5%"
    assert percent(Decimal(0)) == "0%"


def test_payment_status_wording() -> None:
    assert (
        payment_wording(Paid(date(2026, 11, 24), "visa", "4242"))
        == "Paid on 24 Nov 2026 by Visa •••• 4242"
    )
    assert (
        payment_wording(Paid(date(2026, 11, 24), "amex", "0005"))
        == "Paid on 24 Nov 2026 by American Express •••• 0005"
    )
    assert payment_wording(Paid(date(2026, 11, 24))) == "Paid on 24 Nov 2026"
    assert (
        payment_wording(Due(date(2026, 12, 8)))
        == "Due by 8 Dec 2026, pay in Slack with /portal pay"
    )
    assert payment_wording(Due(date(2026, 12, 8), in_progress=True)) == (
        "Payment in progress (due by 8 Dec 2026)"
    )
    assert payment_wording(Voided(date(2026, 11, 25))).startswith(
        "Void: this invoice was cancelled on 25 Nov 2026"
    )


def test_supplier_comes_from_settings() -> None:
    settings = Settings(
        SUPPLIER_NAME="Vendor Ltd",
        SUPPLIER_ADDRESS="2 High Street\n\nLeeds\nLS1 1AA ",
        SUPPLIER_VAT_NUMBER="GB999999973",
        SUPPLIER_COMPANY_NUMBER="09876543",
    )
    assert supplier_from_settings(settings) == Supplier(
        name="Vendor Ltd",
        address_lines=("2 High Street", "Leeds", "LS1 1AA"),
        vat_number="GB999999973",
        company_number="09876543",
    )


# ---- fonts -----------------------------------------------------------------------------------


def test_the_bundled_font_draws_currency_signs_the_card_mask_and_accented_names() -> None:
    assert covers("£€•")
    assert covers("Müller & Søn ApS, Zoë Ćirić, Łukasz, Šárka Nováková")


def test_characters_outside_the_font_fall_back_to_their_base_letter() -> None:
    assert not covers("Wałęsa Sp. z o.o.")
    assert printable("Wałęsa Sp. z o.o.") == "Wałesa Sp. z o.o."
    assert printable("Győr Kft.") == "Gyor Kft."
    assert printable("日本") == "??"


def embedded_font_names(data: bytes) -> set[str]:
    """The fonts every page uses, each checked to be an embedded TrueType subset."""
    names: set[str] = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        resources: Any = page["/Resources"]  # pypdf's generic objects, read as dicts
        fonts = resources["/Font"]
        for ref in fonts.values():
            font = ref.get_object()
            assert font["/Subtype"] == "/TrueType", font["/BaseFont"]
            assert "/FontFile2" in font["/FontDescriptor"].get_object()
            names.add(str(font["/BaseFont"]).split("+", 1)[1])
    return names


def test_fonts_are_embedded_and_non_ascii_text_extracts() -> None:
    data = render_invoice(invoice(), SUPPLIER)
    assert embedded_font_names(data) == {"BitstreamVeraSans-Roman", "BitstreamVeraSans-Bold"}
    assert embedded_font_names(render_statement(statement(), SUPPLIER)) == {
        "BitstreamVeraSans-Roman",
        "BitstreamVeraSans-Bold",
    }
    [text] = texts(data)
    assert "Müller & Søn ApS" in text
    assert "Zoë Ćirić Østergade 1 1100 København Denmark" in text
    assert "Paid on 24 Nov 2026 by Visa •••• 4242" in text


# ---- content ---------------------------------------------------------------------------------


def test_a_euro_invoice_shows_its_vat_in_sterling() -> None:
    line = consultancy(currency="EUR")
    doc = InvoiceDocument(
        number="INV-000200",
        issue_date=date(2026, 11, 24),
        tax_point=date(2026, 11, 24),
        due_date=date(2026, 12, 8),
        currency="EUR",
        vat_treatment=VatTreatment.EU_NO_VAT_REFERENCE,
        customer=replace(CUSTOMER, vat_reference=None),
        lines=(line,),
        net=line.net,
        vat=line.vat,
        gross=line.gross,
        payment=Due(date(2026, 12, 8)),
        vat_in_sterling=gbp(3716),
    )
    [text] = texts(render_invoice(doc, SUPPLIER))
    assert "Unit price VAT rate Net amount Consultancy 2.25 hours €95.00 20% €213.75" in text
    assert "Net total €213.75 VAT 20% €42.75 Total €256.50 VAT in sterling £37.16" in text
    assert "no EU VAT reference has been provided" in text


def test_a_document_that_does_not_add_up_is_refused() -> None:
    with pytest.raises(ValueError, match="net total"):
        invoice(net=gbp(1))
    with pytest.raises(ValueError, match="gross"):
        invoice(gross=gbp(1))
    line = consultancy(currency="EUR")
    with pytest.raises(ValueError, match="sterling"):
        invoice(currency="EUR", lines=(line,), net=line.net, vat=line.vat, gross=line.gross)


def test_several_vat_rates_each_get_a_row() -> None:
    old = replace(consultancy(), vat_rate=Decimal("0.175"), vat=gbp(3741))
    doc = invoice(
        lines=(consultancy(), old),
        net=gbp(42750),
        vat=gbp(4275 + 3741),
        gross=gbp(42750 + 4275 + 3741),
    )
    assert [(r.rate, r.vat) for r in doc.vat_summary] == [
        (Decimal("0.2"), gbp(4275)),
        (Decimal("0.175"), gbp(3741)),
    ]
    [text] = texts(render_invoice(doc, SUPPLIER))
    assert "VAT 20% on £213.75 £42.75 VAT 17.5% on £213.75 £37.41" in text


# ---- determinism -----------------------------------------------------------------------------


def test_the_same_invoice_renders_to_the_same_bytes() -> None:
    first = render_invoice(invoice(count=3), SUPPLIER)
    second = render_invoice(invoice(count=3), SUPPLIER)
    assert first == second
    assert pdf_sha256(first) == pdf_sha256(second)
    assert len(pdf_sha256(first)) == 64
    other = render_invoice(invoice(count=3, number="INV-000124"), SUPPLIER)
    assert pdf_sha256(other) != pdf_sha256(first)
    metadata = PdfReader(io.BytesIO(first)).metadata
    assert metadata is not None
    assert metadata.title == "Invoice INV-000123"
    assert metadata.creation_date is not None
    assert metadata.creation_date.year == 2000  # reportlab's invariant timestamp, not now


def test_concurrent_renders_agree() -> None:
    expected = render_invoice(invoice(count=5), SUPPLIER)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: render_invoice(invoice(count=5), SUPPLIER), range(8)))
    assert all(result == expected for result in results)


def test_another_process_with_another_hash_seed_renders_the_same_bytes() -> None:
    script = (
        "import sys; from tests.unit.test_pdf import SUPPLIER, invoice; "
        "from bot.pdf import render_invoice, pdf_sha256; "
        "sys.stdout.write(pdf_sha256(render_invoice(invoice(count=3), SUPPLIER)))"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == pdf_sha256(render_invoice(invoice(count=3), SUPPLIER))


# ---- statement -------------------------------------------------------------------------------


def statement(**changes: object) -> StatementDocument:
    months = [date(2025, 12, 1)] + [date(2026, n, 1) for n in range(1, 12)]
    doc = StatementDocument(
        month=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        currency="GBP",
        customer=CUSTOMER,
        opening_balance=gbp(10000),
        closing_balance=gbp(10000 + 22800 - 10000),
        invoices=(
            StatementInvoice("INV-000007", date(2026, 11, 3), gbp(22800), InvoiceStatus.OPEN),
        ),
        payments=(
            StatementPayment(
                date(2026, 11, 2), gbp(10000), ("INV-000006",), "Card payment for INV-000006"
            ),
        ),
        spend=tuple(MonthSpend(m, gbp(1000 * i)) for i, m in enumerate(months)),
    )
    return replace(doc, **changes)  # type: ignore[arg-type]


def test_a_statement_that_does_not_reconcile_is_refused() -> None:
    with pytest.raises(ValueError, match="does not reconcile"):
        statement(closing_balance=gbp(1))


def test_a_statement_renders_deterministically_with_its_chart() -> None:
    data = render_statement(statement(), SUPPLIER)
    assert data == render_statement(statement(), SUPPLIER)
    [text] = texts(data)
    assert "Invoiced per month, Dec 2025 to Nov 2026" in text
    assert "Dec Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov" in text
    assert "£0" in text
    assert "£100" in text  # a value-axis label: the bars are drawn in pence, labelled in pounds


def test_a_year_without_spend_still_draws_an_axis() -> None:
    empty = tuple(MonthSpend(m.month, gbp(0)) for m in statement().spend)
    [text] = texts(render_statement(statement(spend=empty), SUPPLIER))
    assert "Dec Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov £0 £1" in text
