"""Invoices: the list a page at a time, the invoice detail and "created" views, "Pay now".

Also the pieces every money screen shares: dates, percentages, hours and the VAT line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.invoice_list import InvoicePage, InvoiceSummary
from bot.invoices import LONDON
from bot.money import Money
from bot.pdf import Due, InvoiceDocument, Paid, PaymentState, StatementDocument
from bot.ui import finance as finance_ui
from bot.ui.common import (
    Block,
    Message,
    actions,
    button,
    context,
    divider,
    header,
    modal,
    notice,
    return_to_account,
    success,
    text_section,
)
from bot.ui.ids import PORTAL_COMMAND, Act, Blk, Cb
from bot.vat import TREATMENT_WORDING
from store.enums import InvoiceStatus, LineUnit, VatTreatment
from store.models import Invoice

if TYPE_CHECKING:  # bot.autopay imports these builders through the payment notices
    from bot.autopay import HistoryEntry

NO_INVOICES = "You have no invoices yet."
NO_UNPAID = "You have no unpaid invoices."
PAY_NOW = "Pay now"
NEWER_BLOCK = f"{Blk.NAVIGATION}_newer"
OLDER_BLOCK = f"{Blk.NAVIGATION}_older"
_STATUS_WORDS: dict[InvoiceStatus, str] = {
    InvoiceStatus.OPEN: "Unpaid",
    InvoiceStatus.PAYING: "Payment in progress",
    InvoiceStatus.PAID: "Paid",
    InvoiceStatus.VOID: "Void",
}
_UNIT_WORDS: dict[LineUnit, tuple[str, str]] = {
    LineUnit.CREDITS: ("credit", "credits"),
    LineUnit.HOURS: ("hour", "hours"),
}
_MAX_LINES = 40  # far more than any invoice has; keeps a view inside Slack's 100 blocks
DOWNLOAD_PDF = "Download PDF"
_CONVERSATION = re.compile(r"[CDG][A-Z0-9]{2,30}")


# -- Shared pieces ------------------------------------------------------------------------------


def day(value: date) -> str:
    """`24 Nov 2026`."""
    return f"{value.day} {value:%b %Y}"


def percent(rate: Decimal) -> str:
    """`Decimal("0.20")` → `20%`, `Decimal("0.175")` → `17.5%`."""
    return f"{(rate * 100).normalize():f}%"


def quantity(value: Decimal) -> str:
    """`2.50` → `2.5`, `1000` → `1,000`."""
    return f"{value.normalize():,f}"


def quantity_of(value: Decimal, unit: LineUnit) -> str:
    one, many = _UNIT_WORDS[unit]
    return f"{quantity(value)} {one if value == 1 else many}"


def vat_label(treatment: VatTreatment, rate: Decimal) -> str:
    if rate:
        return f"VAT at {percent(rate)}"
    if treatment is VatTreatment.EU_REVERSE_CHARGE:
        return "VAT (reverse charge)"
    return "VAT (outside the scope)"


def treatment_note(treatment: VatTreatment, vat_reference: str | None = None) -> str:
    """The VAT treatment in the invoice's words, and what the customer can do about it."""
    note = TREATMENT_WORDING[treatment]
    if treatment is VatTreatment.EU_REVERSE_CHARGE and vat_reference:
        note += f" (customer VAT number {vat_reference})"
    if treatment is VatTreatment.EU_NO_VAT_REFERENCE:
        note += (
            f". VAT is not removed for an EU customer until we have your VAT reference: "
            f"add it with `{PORTAL_COMMAND} vat`."
        )
    return note


def totals_lines(
    *, net: Money, vat: Money, gross: Money, treatment: VatTreatment, rate: Decimal
) -> list[str]:
    """`*Net total:* £135.00`, the VAT line and `*Gross total:* £162.00`."""
    return [
        f"*Net total:* {net.format()}",
        f"*{vat_label(treatment, rate)}:* {vat.format()}",
        f"*Gross total:* {gross.format()}",
    ]


def fields(*pairs: tuple[str, str]) -> Block:
    """A section of up to 10 label/value fields."""
    return {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": f"*{label}*\n{value}"} for label, value in pairs],
    }


def download_button(invoice_id: int) -> Block:
    """The "Download PDF" button: posts the invoice's PDF into the conversation."""
    return button(DOWNLOAD_PDF, Act.DOWNLOAD_INVOICE, value=str(invoice_id))


def pay_now_button(invoice_id: int) -> Block:
    """The "Pay now" button: the pay modal, with this invoice ticked."""
    return button(PAY_NOW, Act.PAY_INVOICE, value=str(invoice_id))


def conversation_metadata(channel_id: str | None, **carried: Any) -> str:
    """A modal's `private_metadata`: what it carries, and the conversation its flow started
    in, where a "Download PDF" inside it posts the file."""
    if channel_id:
        carried["channel"] = channel_id
    return json.dumps(carried) if carried else ""


def conversation_in(metadata: str) -> str | None:
    """The conversation `conversation_metadata` carried, if it looks like a channel id."""
    try:
        carried = json.loads(metadata or "{}")
    except ValueError:
        return None
    channel = carried.get("channel") if isinstance(carried, dict) else None
    if isinstance(channel, str) and _CONVERSATION.fullmatch(channel):
        return channel
    return None


def status_word(status: InvoiceStatus, due_date: date, today: date) -> str:
    if status is InvoiceStatus.OPEN and due_date < today:
        return "Overdue"
    return _STATUS_WORDS[status]


# -- The invoices list ----------------------------------------------------------------------------


def _invoice_row(invoice: InvoiceSummary, today: date, *, can_pay: bool) -> list[Block]:
    """The invoice's number, date, status and amount, then "View", "Download PDF" and, for an
    unpaid invoice and someone who may pay it, "Pay now"."""
    buttons = [button("View", Act.VIEW_INVOICE, value=str(invoice.id)), download_button(invoice.id)]
    if can_pay and invoice.status is InvoiceStatus.OPEN:
        buttons.append(pay_now_button(invoice.id))
    return [
        text_section(
            f"*{invoice.number}* · {day(invoice.issue_date)} · "
            f"{status_word(invoice.status, invoice.due_date, today)} · {invoice.gross.format()}"
        ),
        actions(*buttons),
    ]


def not_a_page_note(text: str) -> str:
    return f"“{text[:20]}” is not a page number, so here is page 1."


def no_such_page_note(missing: int, count: int) -> str:
    pages = "1 page" if count == 1 else f"{count:,} pages"
    return f"There is no page {missing:,}: your invoices fill {pages}. Here is page 1."


def invoices_message(
    page: InvoicePage, *, today: date, note: str | None = None, can_pay: bool = False
) -> Message:
    """One page of invoices, newest first, with "Previous" and "Next" when there are more;
    `can_pay` adds "Pay now" to each unpaid one."""
    if page.missing_page is not None and note is None and page.page_count is not None:
        note = no_such_page_note(page.missing_page, page.page_count)
    blocks: list[Block] = [header("Invoices")]
    if note:
        blocks.append(context(f":information_source: {note}"))
    if page.empty:
        blocks.extend([text_section(NO_INVOICES), return_to_account()])
        return {"text": NO_INVOICES, "blocks": blocks}
    blocks.append(context(f"Page {page.number:,} · newest first"))
    for invoice in page.invoices:
        blocks.extend(_invoice_row(invoice, today, can_pay=can_pay))
    # Slack wants action ids unique within a block, so each direction has its own row.
    if page.newer is not None:
        blocks.append(
            actions(
                button("Previous", Act.INVOICES_PAGE, value=page.newer.encode()),
                block_id=NEWER_BLOCK,
            )
        )
    if page.older is not None:
        blocks.append(
            actions(
                button("Next", Act.INVOICES_PAGE, value=page.older.encode()),
                block_id=OLDER_BLOCK,
            )
        )
    blocks.append(return_to_account())
    return {"text": f"Invoices, page {page.number:,}", "blocks": blocks}


# -- One invoice ----------------------------------------------------------------------------------


def _line(invoice: Invoice, position: int) -> Block:
    line = invoice.lines[position]
    unit_price = Money(line.unit_price_minor, invoice.currency)
    net = Money(line.net_minor, invoice.currency)
    return text_section(
        f"*{line.description}*\n{quantity_of(line.quantity, line.unit)} × "
        f"{unit_price.format()} = {net.format()}"
        + (f" · VAT at {percent(line.vat_rate)}" if line.vat_rate else "")
    )


def invoice_detail_view(
    invoice: Invoice,
    *,
    today: date,
    channel_id: str | None = None,
    history: Sequence[HistoryEntry] = (),
    tz: ZoneInfo = LONDON,
) -> dict[str, Any]:
    """What a VAT invoice says, as a modal: dates, status, lines, VAT and totals, and
    "Download PDF", which posts the PDF into `channel_id` (the conversation it was opened
    from)."""
    money = invoice.currency
    dates = [
        ("Invoice number", invoice.number),
        ("Status", status_word(invoice.status, invoice.due_date, today)),
        ("Issue date", day(invoice.issue_date)),
        ("Tax point", day(invoice.tax_point)),
        ("Due date", day(invoice.due_date)),
    ]
    if invoice.paid_at is not None:
        dates.append(("Paid on", day(invoice.paid_at.date())))
    blocks: list[Block] = [fields(*dates), divider()]
    blocks.extend(_line(invoice, i) for i in range(min(len(invoice.lines), _MAX_LINES)))
    blocks.append(divider())
    blocks.append(
        text_section(
            "\n".join(
                totals_lines(
                    net=Money(invoice.net_minor, money),
                    vat=Money(invoice.vat_minor, money),
                    gross=Money(invoice.gross_minor, money),
                    treatment=invoice.vat_treatment,
                    rate=invoice.vat_rate,
                )
            )
        )
    )
    blocks.append(context(treatment_note(invoice.vat_treatment, invoice.customer_vat_reference)))
    blocks.extend(finance_ui.history_blocks(history, tz=tz))  # each payment attempt, autopay's too
    blocks.append(actions(download_button(invoice.id)))
    return modal(
        Cb.INVOICE_DETAIL,
        f"Invoice {invoice.number}",
        blocks,
        close="Close",
        private_metadata=conversation_metadata(channel_id),
    )


def invoice_created_view(
    invoice: Invoice, *, channel_id: str | None = None, can_pay: bool = False
) -> dict[str, Any]:
    """The end of "Pay for services": the new invoice's number and totals, "View invoice",
    "Pay now" (with `can_pay`) and "Download PDF" (into `channel_id`, where the flow started)."""
    buttons = [button("View invoice", Act.VIEW_INVOICE, value=str(invoice.id), style="primary")]
    if can_pay:
        buttons.append(pay_now_button(invoice.id))
    buttons.append(download_button(invoice.id))
    money = invoice.currency
    blocks: list[Block] = [
        text_section(f":white_check_mark: Invoice {invoice.number} has been created."),
        text_section(
            "\n".join(
                totals_lines(
                    net=Money(invoice.net_minor, money),
                    vat=Money(invoice.vat_minor, money),
                    gross=Money(invoice.gross_minor, money),
                    treatment=invoice.vat_treatment,
                    rate=invoice.vat_rate,
                )
            )
        ),
        context(f"Payment is due by {day(invoice.due_date)}."),
        actions(*buttons),
    ]
    return modal(
        Cb.INVOICE_CREATED,
        "Invoice created",
        blocks,
        close="Close",
        private_metadata=conversation_metadata(channel_id),
    )


def invoice_created_message(invoice: Invoice) -> Message:
    """The success message sent beside the modal when a service invoice is created."""
    gross = Money(invoice.gross_minor, invoice.currency)
    return success(
        f"Invoice {invoice.number} has been created.",
        f"Gross total {gross.format()}, due by {day(invoice.due_date)}. "
        f"See it with `{PORTAL_COMMAND} invoices`.",
    )


# -- Invoice and statement PDFs in the conversation -------------------------------------------


def _payment_word(payment: PaymentState, today: date) -> str:
    if isinstance(payment, Paid):
        return "Paid"
    if isinstance(payment, Due):
        if payment.in_progress:
            return "Payment in progress"
        return "Overdue" if payment.by < today else "Unpaid"
    return "Void"


def invoice_file_comment(document: InvoiceDocument, *, today: date) -> str:
    """The line posted with an invoice PDF: `INV-000123 — 24 Nov 2026 — £162.00 — Paid`."""
    return (
        f"{document.number} — {day(document.issue_date)} — {document.gross.format()} — "
        f"{_payment_word(document.payment, today)}"
    )


def statement_file_comment(statement: StatementDocument) -> str:
    """`Statement November 2026 — Acme Widgets Ltd — balance owed £228.00 on 30 Nov 2026`."""
    return (
        f"Statement {statement.month:%B %Y} — {statement.customer.company_name} — balance owed "
        f"{statement.closing_balance.format()} on {day(statement.period_end)}"
    )


def sent_directly_message(name: str, instead_of: str) -> Message:
    """Said when a PDF went to the person's DM because the bot cannot post where they asked."""
    where = f"I'm not in <#{instead_of}>" if instead_of[:1] in "CG" else "I can't post here"
    return notice(f"{where}, so I've sent {name} to you directly.")
