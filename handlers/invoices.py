"""Listeners for the invoices area: the list a page at a time, unpaid invoices, one invoice,
its PDF posted into the conversation, and the monthly statement."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import invoice_files, invoice_list
from bot.deps import Deps
from bot.errors import NotFound
from bot.invoice_files import PdfFile
from bot.invoice_list import PageCursor
from bot.invoices import get_invoice
from bot.pdf import supplier_from_settings
from bot.roles import Action
from bot.ui import invoices as invoices_ui
from bot.ui.ids import Act
from handlers._support import Request, Who, guard, unit_of_work, who

_MAX_PAGE_DIGITS = 7
STATEMENT_WORD = "statement"  # `/portal invoices statement [month]`


def register(app: App, deps: Deps) -> None:
    """Wire this area's ids to their listeners."""
    app.action(Act.INVOICES_PAGE)(guard(partial(turn_page, deps)))
    app.action(Act.VIEW_INVOICE)(guard(partial(view_invoice, deps)))
    app.action(Act.DOWNLOAD_INVOICE)(guard(partial(download_invoice, deps)))


@dataclass(frozen=True, slots=True)
class PageAsked:
    """`/portal invoices [page]`: the page number, or the text that was not one."""

    number: int = 1
    not_a_number: str | None = None

    @classmethod
    def parse(cls, args: str) -> PageAsked:
        text = args.strip()
        if not text:
            return cls()
        digits = text.removeprefix("page").strip()
        is_page = digits.isascii() and digits.isdigit() and len(digits) <= _MAX_PAGE_DIGITS
        if is_page and int(digits) >= 1:
            return cls(number=int(digits))
        return cls(not_a_number=text)


def show_invoices(deps: Deps, req: Request) -> None:
    """`/portal invoices [page]` and "Invoices": newest first, 10 a page.

    `/portal invoices statement [month]` posts the month's statement instead."""
    word, _, month = req.args.strip().partition(" ")
    if word.lower() == STATEMENT_WORD:
        post_statement(deps, req, month)
        return
    asked = PageAsked.parse(req.args)
    with unit_of_work(deps, req.origin) as (session, visitor):
        account = visitor.require(Action.VIEW)
        page = invoice_list.page_number(session=session, account_id=account.id, number=asked.number)
    note = invoices_ui.not_a_page_note(asked.not_a_number) if asked.not_a_number else None
    req.reply(invoices_ui.invoices_message(page, today=deps.clock().date(), note=note))


def turn_page(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, respond: Any) -> None:
    """The "Next" and "Previous" buttons: the page the cursor leads to, in place of this one."""
    ack()
    req = Request(body=body, client=client, respond=respond, origin=who(body))
    action = (body.get("actions") or [{}])[0]
    cursor = PageCursor.parse(action.get("value"))
    with unit_of_work(deps, req.origin) as (session, visitor):
        account = visitor.require(Action.VIEW)
        if cursor is None:
            page = invoice_list.first_page(session=session, account_id=account.id)
        else:
            page = invoice_list.page_at(session=session, account_id=account.id, cursor=cursor)
    req.reply(invoices_ui.invoices_message(page, today=deps.clock().date()), replace=True)


def show_unpaid(deps: Deps, req: Request) -> None:
    """`/portal pay`: open invoices and their total. Paying them comes with card payments."""
    with unit_of_work(deps, req.origin) as (session, visitor):
        account = visitor.require(Action.PAY_INVOICES)
        unpaid = invoice_list.unpaid_invoices(
            session=session, account_id=account.id, currency=account.currency
        )
    req.reply(invoices_ui.unpaid_message(unpaid, today=deps.clock().date()))


def _invoice_id(body: dict[str, Any]) -> int:
    value = str(((body.get("actions") or [{}])[0]).get("value") or "")
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise NotFound("That invoice could not be found on this account.")
    return int(value)


def conversation_of(body: dict[str, Any]) -> str | None:
    """Where a PDF asked for in `body` is posted: the conversation of the message the button
    is in, or, for a button in a modal, the one its flow started in (carried in the modal's
    `private_metadata`); None from the App Home, which means the person's DM with the app."""
    view = body.get("view") or {}
    if view.get("type") == "modal":
        return invoices_ui.conversation_in(str(view.get("private_metadata") or ""))
    if view:
        return None  # the App Home
    return who(body).channel_id


def view_invoice(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """The "View" and "View invoice" buttons: one of the asker's own invoices, in a modal."""
    ack()
    origin = who(body)
    invoice_id = _invoice_id(body)
    with unit_of_work(deps, origin) as (session, visitor):
        account = visitor.require(Action.VIEW)
        invoice = get_invoice(session=session, account_id=account.id, invoice_id=invoice_id)
        view = invoices_ui.invoice_detail_view(
            invoice, today=deps.clock().date(), channel_id=conversation_of(body)
        )
    # From a modal ("View invoice" after creating one) the detail goes on top of it.
    from_modal = (body.get("view") or {}).get("type") == "modal"
    if from_modal:
        client.views_push(trigger_id=origin.trigger_id, view=view)
    else:
        client.views_open(trigger_id=origin.trigger_id, view=view)


@dataclass(frozen=True, slots=True)
class PdfAsked:
    """A "Download PDF" click: who asked, for which invoice, and where to post it."""

    origin: Who
    invoice_id: int
    channel_id: str | None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> PdfAsked:
        return cls(origin=who(body), invoice_id=_invoice_id(body), channel_id=conversation_of(body))


def download_invoice(
    deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, respond: Any
) -> None:
    """The "Download PDF" buttons (the invoices list, an invoice's detail, a created invoice,
    each credits purchase): post one of the asker's own invoices into the conversation."""
    ack()
    asked = PdfAsked.parse(body)
    tz = deps.settings.timezone
    with unit_of_work(deps, asked.origin) as (session, visitor):
        account = visitor.require(Action.VIEW)
        document = invoice_files.invoice_for_pdf(
            session=session, account=account, invoice_id=asked.invoice_id, tz=tz
        )
    file = invoice_files.invoice_file(document, supplier_from_settings(deps.settings))
    comment = invoices_ui.invoice_file_comment(document, today=deps.clock().astimezone(tz).date())
    req = Request(body=body, client=client, respond=respond, origin=asked.origin)
    post_pdf(req, file, comment=comment, channel_id=asked.channel_id)


def post_statement(deps: Deps, req: Request, month_text: str) -> None:
    """`/portal invoices statement [month]`: the month's statement PDF, into the conversation."""
    tz = deps.settings.timezone
    today = deps.clock().astimezone(tz).date()
    with unit_of_work(deps, req.origin) as (session, visitor):
        account = visitor.require(Action.VIEW)
        month = invoice_files.parse_statement_month(month_text, today=today)
        statement = invoice_files.statement_for_pdf(
            session=session, account=account, month=month, today=today, tz=tz
        )
    file = invoice_files.statement_file(statement, supplier_from_settings(deps.settings))
    comment = invoices_ui.statement_file_comment(statement)
    post_pdf(req, file, comment=comment, channel_id=req.origin.channel_id)


def post_pdf(req: Request, file: PdfFile, *, comment: str, channel_id: str | None) -> None:
    """Post `file` where it was asked for; say so when it went to the person's DM instead."""
    delivery = invoice_files.post_file(
        req.client, file, comment=comment, channel_id=channel_id, user_id=req.origin.user_id
    )
    if delivery.instead_of:
        req.reply(invoices_ui.sent_directly_message(file.name, delivery.instead_of))
