"""Listeners for the invoices area: the list a page at a time, unpaid invoices, one invoice."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import invoice_list
from bot.deps import Deps
from bot.errors import NotFound
from bot.invoice_list import PageCursor
from bot.invoices import get_invoice
from bot.roles import Action
from bot.ui import invoices as invoices_ui
from bot.ui.ids import Act
from handlers._support import Request, guard, unit_of_work, who

_MAX_PAGE_DIGITS = 7


def register(app: App, deps: Deps) -> None:
    """Wire this area's ids to their listeners."""
    app.action(Act.INVOICES_PAGE)(guard(partial(turn_page, deps)))
    app.action(Act.VIEW_INVOICE)(guard(partial(view_invoice, deps)))


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
    """`/portal invoices [page]` and "Invoices": newest first, 10 a page."""
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


def view_invoice(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """The "View" and "View invoice" buttons: one of the asker's own invoices, in a modal."""
    ack()
    origin = who(body)
    invoice_id = _invoice_id(body)
    with unit_of_work(deps, origin) as (session, visitor):
        account = visitor.require(Action.VIEW)
        invoice = get_invoice(session=session, account_id=account.id, invoice_id=invoice_id)
        view = invoices_ui.invoice_detail_view(invoice, today=deps.clock().date())
    # From a modal ("View invoice" after creating one) the detail goes on top of it.
    from_modal = (body.get("view") or {}).get("type") == "modal"
    if from_modal:
        client.views_push(trigger_id=origin.trigger_id, view=view)
    else:
        client.views_open(trigger_id=origin.trigger_id, view=view)
