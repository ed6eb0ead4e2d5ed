"""Invoice and statement PDFs as files posted into Slack.

Three steps, each its own function so that a handler can keep its transaction short: build
the document from the store (`invoice_for_pdf`, `statement_for_pdf`), render it to a named
file (`invoice_file`, `statement_file`), and deliver the file into a conversation
(`post_file`). Delivery takes a `WebClient` and ids, never a Slack payload: into the
conversation asked for; when the bot is not in it, into it after joining (a public channel),
or else to the person by direct message, and the `Delivery` says which.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session

from bot.errors import UserFacingError
from bot.invoices import get_invoice
from bot.pdf import (
    InvoiceDocument,
    StatementDocument,
    Supplier,
    invoice_document,
    invoice_payments,
    render_invoice,
    render_statement,
    statement_document,
)
from bot.pdf.documents import STERLING
from bot.pdf.layout import month_title
from bot.pdf.sources import add_months
from bot.ui.ids import PORTAL_COMMAND
from store.models import Account

log = logging.getLogger(__name__)

# What Slack answers when the bot may not post in a conversation: `not_in_channel` for a
# public channel it has not joined, `channel_not_found` for a private one (or a DM) it is
# not in, which Slack will not even admit exists.
NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found"})
_FIRST_YEAR = 2000  # statements are not offered for months before this
_MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_ISO_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_NAMED_MONTH = re.compile(r"([a-z]+)\.?(?:\s+(\d{4}))?")
STATEMENT_FORMS = (
    f"`{PORTAL_COMMAND} invoices statement` for this month, or name the month: "
    f"`{PORTAL_COMMAND} invoices statement 2026-11`, `… statement Nov 2026` or "
    "`… statement November`."
)


@dataclass(frozen=True, slots=True)
class PdfFile:
    """A rendered PDF and what Slack shows of it."""

    filename: str  # "INV-000123.pdf"
    title: str  # "Invoice INV-000123"
    name: str  # how a sentence names it: "INV-000123", "the November 2026 statement"
    content: bytes


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where a file went: `channel_id` it was posted in; `joined` when the bot joined that
    public channel to post there; `instead_of` the conversation it could not post in, when
    the file went to the person's direct messages instead."""

    channel_id: str
    joined: bool = False
    instead_of: str | None = None


class PostFailed(UserFacingError):
    """Slack would not take the file, for a reason other than the bot not being there."""


# -- Invoices --------------------------------------------------------------------------------


def invoice_for_pdf(
    *, session: Session, account: Account, invoice_id: int, tz: ZoneInfo
) -> InvoiceDocument:
    """What the PDF of one of `account`'s invoices shows; another account's invoice is not
    found, like a missing one."""
    invoice = get_invoice(session=session, account_id=account.id, invoice_id=invoice_id)
    if invoice.currency != STERLING and invoice.vat_minor:
        # The store keeps no exchange rates, and a VAT invoice in another currency must show
        # its VAT in sterling (docs/adr/0005-invoice-pdfs.md).
        raise UserFacingError(
            f"Invoice {invoice.number} is in {invoice.currency}, and its VAT in sterling is "
            "not recorded, so its PDF cannot be produced here. Please contact us for a copy."
        )
    payments = invoice_payments(session=session, invoice=invoice)
    return invoice_document(invoice, account, payments, tz=tz)


def invoice_file(document: InvoiceDocument, supplier: Supplier) -> PdfFile:
    """`INV-000123.pdf`."""
    return PdfFile(
        filename=f"{document.number}.pdf",
        title=f"Invoice {document.number}",
        name=document.number,
        content=render_invoice(document, supplier),
    )


# -- Statements ------------------------------------------------------------------------------


def parse_statement_month(text: str, *, today: date) -> date:
    """The first day of the month asked for: empty for this month, `2026-11`, `Nov 2026`,
    `November 2026`, or `November` alone for the most recent November that has begun.
    A month that has not begun, or text that is not a month, is refused with the forms."""
    asked = " ".join(text.lower().split())
    this_month = today.replace(day=1)
    if not asked:
        return this_month
    month = _iso_month(asked) or _named_month(asked, this_month)
    if month is None:
        raise UserFacingError(
            f"“{text.strip()[:40]}” is not a month I know. Ask for {STATEMENT_FORMS}"
        )
    if month > this_month:
        raise UserFacingError(
            f"There is no statement for {month_title(month)} yet: that month has not begun."
        )
    return month


def _iso_month(asked: str) -> date | None:
    found = _ISO_MONTH.fullmatch(asked)
    if found is None:
        return None
    year, month = int(found[1]), int(found[2])
    if year < _FIRST_YEAR or not 1 <= month <= 12:
        return None
    return date(year, month, 1)


def _named_month(asked: str, this_month: date) -> date | None:
    found = _NAMED_MONTH.fullmatch(asked)
    if found is None or len(found[1]) < 3:
        return None
    numbers = [n for n, name in enumerate(_MONTHS, 1) if name.startswith(found[1])]
    if len(numbers) != 1:
        return None
    if found[2] is not None:
        year = int(found[2])
        return date(year, numbers[0], 1) if year >= _FIRST_YEAR else None
    month = date(this_month.year, numbers[0], 1)
    return month if month <= this_month else add_months(month, -12)


def statement_for_pdf(
    *, session: Session, account: Account, month: date, today: date, tz: ZoneInfo
) -> StatementDocument:
    """The statement of `account` for `month` (its first day) as it stands `today`."""
    return statement_document(session=session, account=account, month=month, today=today, tz=tz)


def statement_file(statement: StatementDocument, supplier: Supplier) -> PdfFile:
    """`statement-2026-11.pdf`."""
    return PdfFile(
        filename=f"statement-{statement.month:%Y-%m}.pdf",
        title=f"Statement {month_title(statement.month)}",
        name=f"the {month_title(statement.month)} statement",
        content=render_statement(statement, supplier),
    )


# -- Delivery --------------------------------------------------------------------------------


def post_file(
    client: WebClient,
    file: PdfFile,
    *,
    comment: str,
    channel_id: str | None,
    user_id: str,
) -> Delivery:
    """Post `file` with `comment` into `channel_id`, or `user_id`'s DM with the app when there
    is no channel (the App Home) or the bot cannot post in it and cannot join it."""
    if channel_id:
        if _uploaded(client, file, comment, channel_id):
            return Delivery(channel_id=channel_id)
        if _joined(client, channel_id) and _uploaded(client, file, comment, channel_id):
            return Delivery(channel_id=channel_id, joined=True)
    direct = _direct_message_channel(client, file, user_id)
    if not _uploaded(client, file, comment, direct):
        raise PostFailed(f"I couldn't send {file.name} to you: Slack would not let me post it.")
    return Delivery(channel_id=direct, instead_of=channel_id)


def _uploaded(client: WebClient, file: PdfFile, comment: str, channel_id: str) -> bool:
    """Upload and share `file` in `channel_id` (files.getUploadURLExternal, the upload,
    files.completeUploadExternal); False when the bot is not a member there."""
    try:
        client.files_upload_v2(
            channel=channel_id,
            filename=file.filename,
            title=file.title,
            content=file.content,
            initial_comment=comment,
        )
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "")
        if error in NOT_A_MEMBER:
            return False
        raise PostFailed(_refused(file, error)) from exc
    except (SlackClientError, OSError) as exc:  # the upload itself failed, or no connection
        log.warning("uploading %s failed", file.filename, exc_info=True)
        raise PostFailed(
            f"I couldn't upload {file.name} to Slack just now. Please try again in a minute."
        ) from exc
    return True


def _joined(client: WebClient, channel_id: str) -> bool:
    """Join a public channel; False for one the bot may not join (private, archived, a DM)."""
    try:
        client.conversations_join(channel=channel_id)
    except SlackApiError as exc:
        log.info("could not join %s: %s", channel_id, exc.response.get("error"))
        return False
    return True


def _direct_message_channel(client: WebClient, file: PdfFile, user_id: str) -> str:
    try:
        opened = client.conversations_open(users=user_id)
    except SlackApiError as exc:
        raise PostFailed(_refused(file, str(exc.response.get("error") or ""))) from exc
    return str(opened["channel"]["id"])


def _refused(file: PdfFile, error: str) -> str:
    return (
        f"I couldn't post {file.name}: Slack answered “{error or 'an error'}”. "
        "Please try again in a minute, and tell us if it keeps happening."
    )
