"""The invoice PDF: a pure function of an `InvoiceDocument` and the `Supplier`."""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table, TableStyle
from reportlab.platypus.tables import CellStyle

from bot.pdf.documents import (
    DocumentLine,
    Due,
    InvoiceDocument,
    Paid,
    PaymentState,
    Supplier,
    Voided,
)
from bot.pdf.layout import (
    CONTENT_WIDTH,
    FONT,
    FONT_BOLD,
    HEADER_FILL,
    INK,
    INSET,
    MASK,
    RULE,
    TEXT_WIDTH,
    Banner,
    Beside,
    Column,
    Line,
    Pairs,
    TextStack,
    Totals,
    build_pdf,
    card_brand_name,
    customer_lines,
    day,
    money,
    percent,
    printable,
    quantity,
    supplier_lines,
    wrap,
)
from bot.vat import TREATMENT_WORDING
from store.enums import VatTreatment

LINE_HEADER = ("Description", "Quantity", "Unit price", "VAT rate", "Net amount")
_LINE_WIDTHS = (0.40, 0.18, 0.14, 0.10, 0.18)
_CELL_SIZE, _CELL_LEADING = 8.5, 10.5
_CELL_PADDING = INSET  # reportlab's default left and right padding of a table cell
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


def _header(doc: InvoiceDocument, supplier: Supplier) -> Beside:
    """The vendor on the left; the invoice number and its dates on the right."""
    title = Line(f"Invoice {doc.number}", font=FONT_BOLD, size=18, leading=22, space_after=8)
    dates = [
        ("Issue date", day(doc.issue_date)),
        ("Tax point", day(doc.tax_point)),
        ("Due date", day(doc.due_date)),
        ("Currency", doc.currency),
    ]
    return Beside(
        [TextStack(supplier_lines(supplier), TEXT_WIDTH * 0.55)],
        [TextStack([title], TEXT_WIDTH * 0.45, align="RIGHT"), Pairs(dates, 58 * mm)],
    )


def line_cells(doc: InvoiceDocument, line: DocumentLine) -> list[str]:
    """One line's texts, in `LINE_HEADER`'s order."""
    return [
        printable(line.description),
        quantity(line.quantity, line.unit),
        money(line.unit_price),
        "n/a" if doc.vat_treatment in _NO_UK_VAT else percent(line.vat_rate),
        money(line.net),
    ]


def _cell_style(name: str, font: str, align: str) -> CellStyle:
    """A line table cell's look: 8.5 pt ink text, top-aligned, 4 pt above and below."""
    style = CellStyle(name)
    style.fontname, style.fontsize, style.leading = font, _CELL_SIZE, _CELL_LEADING
    style.color = INK
    style.alignment = align
    style.valign = "TOP"
    style.topPadding = style.bottomPadding = 4
    return style


# Built once, at import, and shared by every table: the header's cells and the lines' cells
# each take one style for the description (left) and one for the figures (right), so a table
# needs no per-cell style commands (a FONT or ALIGN command restyles each cell it covers,
# which cost more than laying out the lines), only its header band and rules. reportlab only
# reads these styles: `_LINES_STYLE` has no command that would change them in place.
_HEADER_CELLS = (
    _cell_style("header", FONT_BOLD, "LEFT"),
    *[_cell_style("header figure", FONT_BOLD, "RIGHT")] * 4,
)
_LINE_CELLS = (
    _cell_style("line", FONT, "LEFT"),
    *[_cell_style("line figure", FONT, "RIGHT")] * 4,
)
_LINES_STYLE = TableStyle(
    [
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("LINEBELOW", (0, 0), (-1, -1), 0.5, RULE),
    ]
)
_LINE_WIDTHS_PT = [CONTENT_WIDTH * share for share in _LINE_WIDTHS]
# Plain text cells (a long description wrapped here, onto several lines) rather than a
# Paragraph per line: the same look at a fraction of the cost (benchmarks/pdf.py).
_DESCRIPTION_WIDTH = _LINE_WIDTHS_PT[0] - 2 * _CELL_PADDING
_ROW_HEIGHT = _CELL_LEADING + 2 * 4  # one line of text and its padding above and below


def _lines_table(doc: InvoiceDocument) -> Table:
    rows: list[list[str]] = [list(LINE_HEADER)]
    heights = [_ROW_HEIGHT]
    for line in doc.lines:
        cells = line_cells(doc, line)
        cells[0] = wrap(cells[0], _DESCRIPTION_WIDTH, FONT, _CELL_SIZE)
        rows.append(cells)
        # Known here, so the table need not measure every cell: only the description wraps.
        heights.append(_ROW_HEIGHT + _CELL_LEADING * cells[0].count("\n"))
    return Table(
        rows,
        colWidths=_LINE_WIDTHS_PT,
        rowHeights=heights,
        repeatRows=1,  # the header row is drawn again at the top of every page
        style=_LINES_STYLE,
        cellStyles=[list(_HEADER_CELLS), *(list(_LINE_CELLS) for _ in doc.lines)],
    )


def _totals(doc: InvoiceDocument) -> Totals:
    rows = [("Net total", money(doc.net))]
    summary = doc.vat_summary
    for rate in summary:
        if doc.vat_treatment in _NO_UK_VAT or len(summary) == 1:
            label = "VAT" if doc.vat_treatment in _NO_UK_VAT else f"VAT {percent(rate.rate)}"
        else:
            label = f"VAT {percent(rate.rate)} on {money(rate.net)}"
        rows.append((label, money(rate.vat)))
    rows.append(("Total", money(doc.gross)))
    if doc.vat_in_sterling is not None:
        rows.append(("VAT in sterling", money(doc.vat_in_sterling)))
    return Totals(rows, rule_above=len(rows) - (2 if doc.vat_in_sterling is not None else 1))


def _vat_wording(doc: InvoiceDocument) -> TextStack:
    lines = [
        Line(TREATMENT_WORDING[doc.vat_treatment], font=FONT_BOLD, size=10, leading=14),
    ]
    if doc.vat_treatment is VatTreatment.EU_REVERSE_CHARGE and doc.customer.vat_reference:
        lines.append(Line(f"Customer VAT number {doc.customer.vat_reference}"))
    if doc.vat_in_sterling is not None:
        lines.append(
            Line(
                f"The VAT on this {doc.currency} invoice is {money(doc.vat_in_sterling)} "
                "in sterling.",
                size=8,
                leading=11,
            )
        )
    return TextStack(lines, TEXT_WIDTH)


def render_invoice(doc: InvoiceDocument, supplier: Supplier) -> bytes:
    """The invoice as a PDF. Pure: the same document and supplier always give the same bytes."""
    story = [
        Column(
            [
                _header(doc, supplier),
                7 * mm,
                TextStack(customer_lines(doc.customer, "Bill to"), TEXT_WIDTH),
                4 * mm,
                Banner(payment_wording(doc.payment)),
            ]
        ),
        Spacer(1, 4 * mm),
        _lines_table(doc),
        Spacer(1, 4 * mm),
        Column([_totals(doc), 4 * mm, _vat_wording(doc)]),
    ]
    return build_pdf(
        story,
        title=f"Invoice {doc.number}",
        author=supplier.name,
        subject=f"Invoice {doc.number} to {doc.customer.company_name}",
        footer=f"{supplier.name} \u00b7 VAT number {supplier.vat_number} \u00b7 "
        f"Invoice {doc.number}",
    )
