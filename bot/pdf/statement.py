"""The monthly statement PDF: a pure function of a `StatementDocument` and the `Supplier`."""

from __future__ import annotations

from typing import Any

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Spacer, Table, TableStyle

from bot.money import Money
from bot.pdf.documents import StatementDocument, Supplier
from bot.pdf.layout import (
    CONTENT_WIDTH,
    FONT,
    FONT_BOLD,
    HEADER_FILL,
    INK,
    INSET,
    MUTED,
    RULE,
    TEXT_WIDTH,
    Beside,
    Line,
    TextStack,
    build_pdf,
    customer_lines,
    day,
    money,
    month_abbreviation,
    month_title,
    printable,
    supplier_lines,
    wrap,
)

ACTIVITY_HEADER = ("Date", "Details", "Invoiced", "Received", "Balance owed")
_ACTIVITY_WIDTHS = (0.15, 0.40, 0.15, 0.15, 0.15)
BAR = colors.HexColor("#4a154b")


def _header(statement: StatementDocument, supplier: Supplier) -> Beside:
    """The vendor on the left; the statement's month, period and currency on the right."""
    title = [
        Line(
            f"Statement {month_title(statement.month)}",
            font=FONT_BOLD,
            size=16,
            leading=20,
            space_after=8,
        ),
        Line(f"{day(statement.month)} to {day(statement.period_end)}"),
        Line(f"Amounts in {statement.currency}", color=MUTED),
    ]
    return Beside(
        [TextStack(supplier_lines(supplier), TEXT_WIDTH * 0.45)],
        [TextStack(title, TEXT_WIDTH * 0.55, align="RIGHT")],
    )


def _summary(statement: StatementDocument) -> Table:
    month = month_title(statement.month)
    rows = [
        [f"Balance owed on {day(statement.month)}", money(statement.opening_balance)],
        [f"Invoiced in {month}", money(statement.invoiced)],
        [f"Received in {month}", money(statement.received)],
        [f"Balance owed on {day(statement.period_end)}", money(statement.closing_balance)],
    ]
    return Table(
        rows,
        colWidths=(70 * mm, 32 * mm),
        hAlign="LEFT",
        style=TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 9),
                ("FONT", (0, -1), (-1, -1), FONT_BOLD, 10),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, INK),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        ),
    )


def _activity(statement: StatementDocument) -> Table:
    """Invoices and payments in date order (an invoice before a payment on the same day), with
    the balance owed after each."""
    details_width = CONTENT_WIDTH * _ACTIVITY_WIDTHS[1] - 2 * INSET
    entries: list[tuple[tuple[Any, ...], str, Money | None, Money | None]] = []
    for invoice in statement.invoices:
        details = f"Invoice {invoice.number} ({invoice.status.value})"
        entries.append(((invoice.issue_date, 0, invoice.number), details, invoice.gross, None))
    for payment in statement.payments:
        key = (payment.received_on, 1, ",".join(payment.invoice_numbers))
        entries.append((key, payment.description, None, payment.amount))
    entries.sort(key=lambda entry: entry[0])

    balance = statement.opening_balance
    rows: list[list[Any]] = [
        list(ACTIVITY_HEADER),
        [day(statement.month), "Balance brought forward", "", "", money(balance)],
    ]
    for key, details, invoiced, received in entries:
        if invoiced is not None:
            balance = balance + invoiced
        if received is not None:
            balance = balance - received
        rows.append(
            [
                day(key[0]),
                wrap(printable(details), details_width, FONT, 8.5),
                money(invoiced) if invoiced is not None else "",
                money(received) if received is not None else "",
                money(balance),
            ]
        )
    if not entries:
        rows.append(["", "No invoices or payments in this month", "", "", ""])
    rows.append(
        [
            day(statement.period_end),
            "Totals, balance carried forward",
            money(statement.invoiced),
            money(statement.received),
            money(statement.closing_balance),
        ]
    )
    return Table(
        rows,
        colWidths=[CONTENT_WIDTH * share for share in _ACTIVITY_WIDTHS],
        repeatRows=1,  # the header row is drawn again at the top of every page
        style=TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 8.5, 10.5),
                ("FONT", (0, 0), (-1, 0), FONT_BOLD, 8.5, 10.5),
                ("FONT", (0, -1), (-1, -1), FONT_BOLD, 8.5, 10.5),
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
                ("TEXTCOLOR", (0, 0), (-1, -1), INK),
                ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.5, RULE),
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, INK),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        ),
    )


def _axis_label(currency: str) -> Any:
    def label(tick: Any) -> str:
        # reportlab picks the axis ticks itself and hands them over as floats; they are whole
        # minor units (the bars are integers), so round once here, at the drawing's edge.
        amount = money(Money(round(tick), currency))
        return amount.removesuffix(".00")

    return label


def spend_chart(statement: StatementDocument) -> Drawing:
    """Bars of the gross invoiced in each of the last 12 months, drawn with reportlab's own
    graphics. Bar heights are the integer minor units themselves: no float conversion."""
    width, height = TEXT_WIDTH, 56 * mm
    drawing = Drawing(width, height, initialFontName=FONT, initialFontSize=8)
    first, last = statement.spend[0].month, statement.spend[-1].month
    drawing.add(
        String(
            0,
            height - 10,
            f"Invoiced per month, {month_abbreviation(first)} {first.year} to "
            f"{month_abbreviation(last)} {last.year}",
            fontName=FONT_BOLD,
            fontSize=9,
            fillColor=INK,
        )
    )
    chart = VerticalBarChart()
    chart.x, chart.y = 16 * mm, 8 * mm
    chart.width, chart.height = width - chart.x, height - chart.y - 10 * mm
    chart.data = [[month.gross.amount_minor for month in statement.spend]]
    chart.bars[0].fillColor = BAR
    chart.bars[0].strokeColor = None
    chart.barSpacing = 2
    chart.categoryAxis.categoryNames = [month_abbreviation(m.month) for m in statement.spend]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 7.5
    chart.categoryAxis.labels.fillColor = MUTED
    chart.categoryAxis.strokeColor = RULE
    chart.valueAxis.valueMin = 0
    chart.valueAxis.rangeRound = "ceiling"  # the top bar ends at or under a labelled line
    if max(chart.data[0]) == 0:
        chart.valueAxis.valueMax = 100  # an empty year still gets a readable axis
        chart.valueAxis.valueStep = 100
    chart.valueAxis.labelTextFormat = _axis_label(statement.currency)
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labels.fillColor = MUTED
    chart.valueAxis.strokeColor = RULE
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = RULE
    drawing.add(chart)
    return drawing


def render_statement(statement: StatementDocument, supplier: Supplier) -> bytes:
    """The monthly statement as a PDF. Pure: the same input always gives the same bytes."""
    story: list[Any] = [
        _header(statement, supplier),
        Spacer(1, 7 * mm),
        TextStack(customer_lines(statement.customer, "Account"), TEXT_WIDTH),
        Spacer(1, 5 * mm),
        _summary(statement),
        Spacer(1, 6 * mm),
        TextStack([Line("Invoices and payments", font=FONT_BOLD, size=10, leading=14)], TEXT_WIDTH),
        Spacer(1, 1 * mm),
        _activity(statement),
        Spacer(1, 8 * mm),
    ]
    if statement.spend:
        story.append(KeepTogether([spend_chart(statement)]))
    return build_pdf(
        story,
        title=f"Statement {month_title(statement.month)}",
        author=supplier.name,
        subject=f"Statement for {statement.customer.company_name}",
        footer=f"{supplier.name} \u00b7 Statement {month_title(statement.month)}",
    )
