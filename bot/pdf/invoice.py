"""The invoice PDF: a pure function of an `InvoiceDocument` and the `Supplier`."""

from __future__ import annotations

from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table, TableStyle

from bot.pdf.documents import Due, InvoiceDocument, Paid, PaymentState, Supplier, Voided
from bot.pdf.layout import (
    CONTENT_WIDTH,
    FONT,
    FONT_BOLD,
    HEADER_FILL,
    INK,
    MASK,
    MUTED,
    RULE,
    build_pdf,
    card_brand_name,
    customer_paragraphs,
    day,
    markup,
    money,
    percent,
    quantity,
    styles,
    supplier_paragraphs,
)
from bot.vat import TREATMENT_WORDING
from store.enums import VatTreatment

LINE_HEADER = ("Description", "Quantity", "Unit price", "VAT rate", "Net amount")
_LINE_WIDTHS = (0.42, 0.16, 0.14, 0.10, 0.18)
PAY_IN_SLACK = "pay in Slack with /portal pay"
# Treatments that charge no UK VAT: their VAT row says "VAT", not "VAT 0%", and the wording
# beside the totals explains why.
_NO_UK_VAT = frozenset({VatTreatment.EU_REVERSE_CHARGE, VatTreatment.OUTSIDE_SCOPE})


def payment_wording(payment: PaymentState) -> str:
    """`Paid on 24 Nov 2026 by Visa •••• 4242` or `Due by 8 Dec 2026, pay in Slack with …`."""
    if isinstance(payment, Paid):
        text = f"Paid on {day(payment.on)}"
        if payment.card_brand and payment.card_last4:
            return f"{text} by {card_brand_name(payment.card_brand)} {MASK} {payment.card_last4}"
        if payment.card_last4:
            return f"{text} by card {MASK} {payment.card_last4}"
        return text
    if isinstance(payment, Due):
        if payment.in_progress:
            return f"Payment in progress (due by {day(payment.by)})"
        return f"Due by {day(payment.by)}, {PAY_IN_SLACK}"
    if isinstance(payment, Voided):
        when = f" on {day(payment.on)}" if payment.on else ""
        return f"Void: this invoice was cancelled{when} and nothing is owed"
    raise TypeError(f"unknown payment state {payment!r}")


def _header(doc: InvoiceDocument, supplier: Supplier) -> Table:
    st = styles()
    dates = Table(
        [
            ["Issue date", day(doc.issue_date)],
            ["Tax point", day(doc.tax_point)],
            ["Due date", day(doc.due_date)],
            ["Currency", doc.currency],
        ],
        colWidths=(28 * mm, 32 * mm),
        hAlign="RIGHT",
        style=TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 9),
                ("TEXTCOLOR", (0, 0), (0, -1), MUTED),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ("RIGHTPADDING", (-1, 0), (-1, -1), 0),
            ]
        ),
    )
    right = [Paragraph(f"Invoice {markup(doc.number)}", st.title), Spacer(1, 3 * mm), dates]
    return Table(
        [[supplier_paragraphs(supplier), right]],
        colWidths=(CONTENT_WIDTH * 0.55, CONTENT_WIDTH * 0.45),
        style=TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 9),  # else the cells fall back to Helvetica
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (0, 0), 0),
                ("RIGHTPADDING", (-1, 0), (-1, 0), 0),
            ]
        ),
    )


def _lines_table(doc: InvoiceDocument) -> Table:
    st = styles()
    rows: list[list[Any]] = [list(LINE_HEADER)]
    for line in doc.lines:
        rows.append(
            [
                Paragraph(markup(line.description), st.cell),
                quantity(line.quantity, line.unit),
                money(line.unit_price),
                "n/a" if doc.vat_treatment in _NO_UK_VAT else percent(line.vat_rate),
                money(line.net),
            ]
        )
    return Table(
        rows,
        colWidths=[CONTENT_WIDTH * share for share in _LINE_WIDTHS],
        repeatRows=1,  # the header row is drawn again at the top of every page
        style=TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 8.5),
                ("FONT", (0, 0), (-1, 0), FONT_BOLD, 8.5),
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
                ("TEXTCOLOR", (0, 0), (-1, -1), INK),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.5, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        ),
    )


def _totals(doc: InvoiceDocument) -> Table:
    rows: list[list[str]] = [["Net total", money(doc.net)]]
    for rate in doc.vat_summary:
        if doc.vat_treatment in _NO_UK_VAT or len(doc.vat_summary) == 1:
            label = "VAT" if doc.vat_treatment in _NO_UK_VAT else f"VAT {percent(rate.rate)}"
        else:
            label = f"VAT {percent(rate.rate)} on {money(rate.net)}"
        rows.append([label, money(rate.vat)])
    rows.append(["Total", money(doc.gross)])
    if doc.vat_in_sterling is not None:
        rows.append(["VAT in sterling", money(doc.vat_in_sterling)])
    last_total = len(rows) - (2 if doc.vat_in_sterling is not None else 1)
    return Table(
        rows,
        colWidths=(45 * mm, 32 * mm),
        hAlign="RIGHT",
        style=TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 9),
                ("FONT", (0, last_total), (-1, last_total), FONT_BOLD, 10),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("LINEABOVE", (0, last_total), (-1, last_total), 0.8, INK),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (-1, 0), (-1, -1), 0),
            ]
        ),
    )


def _vat_wording(doc: InvoiceDocument) -> list[Paragraph]:
    st = styles()
    paragraphs = [Paragraph(markup(TREATMENT_WORDING[doc.vat_treatment]), st.heading)]
    if doc.vat_treatment is VatTreatment.EU_REVERSE_CHARGE and doc.customer.vat_reference:
        paragraphs.append(
            Paragraph(f"Customer VAT number {markup(doc.customer.vat_reference)}", st.body)
        )
    if doc.vat_in_sterling is not None:
        paragraphs.append(
            Paragraph(
                f"The VAT on this {markup(doc.currency)} invoice is "
                f"{markup(money(doc.vat_in_sterling))} in sterling.",
                st.small,
            )
        )
    return paragraphs


def render_invoice(doc: InvoiceDocument, supplier: Supplier) -> bytes:
    """The invoice as a PDF. Pure: the same document and supplier always give the same bytes."""
    st = styles()
    story: list[Any] = [
        _header(doc, supplier),
        Spacer(1, 6 * mm),
        *customer_paragraphs(doc.customer, "Bill to"),
        Paragraph(markup(payment_wording(doc.payment)), st.notice),
        Spacer(1, 2 * mm),
        _lines_table(doc),
        Spacer(1, 4 * mm),
        KeepTogether([_totals(doc), Spacer(1, 4 * mm), *_vat_wording(doc)]),
    ]
    return build_pdf(
        story,
        title=f"Invoice {doc.number}",
        author=supplier.name,
        subject=f"Invoice {doc.number} to {doc.customer.company_name}",
        footer=f"{supplier.name} \u00b7 VAT number {supplier.vat_number} \u00b7 "
        f"Invoice {doc.number}",
    )
