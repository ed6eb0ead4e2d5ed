"""Listeners for the invoices area: the list a page at a time, one invoice, its PDF posted into
the conversation, the monthly statement, and the pay modal ("Pay invoices": the unpaid invoices
with checkboxes, the total of those ticked, and Pay Now)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot import autopay, invoice_files, invoice_list
from bot.dashboard import card_on_file
from bot.deps import Deps
from bot.errors import FieldError, NotFound
from bot.invoice_files import PdfFile
from bot.invoice_list import InvoiceSummary, PageCursor
from bot.invoices import get_invoice
from bot.money import Money
from bot.payments import PaymentOutcome, Payments
from bot.pdf import supplier_from_settings
from bot.roles import Action, can
from bot.ui import invoices as invoices_ui
from bot.ui import payments as payments_ui
from bot.ui.ids import Act, Blk, Cb
from handlers._support import Request, Who, answer_submission, guard, unit_of_work, who
from handlers.payments import PayNow, card_payments, pay_now_pressed, settle_after_ack
from store.models import Account, Invoice

_MAX_PAGE_DIGITS = 7
_MAX_ID_DIGITS = 18
STATEMENT_WORD = "statement"  # `/portal invoices statement [month]`


def register(app: App, deps: Deps) -> None:
    """Wire this area's ids to their listeners."""
    app.action(Act.INVOICES_PAGE)(guard(partial(turn_page, deps)))
    app.action(Act.VIEW_INVOICE)(guard(partial(view_invoice, deps)))
    app.action(Act.DOWNLOAD_INVOICE)(guard(partial(download_invoice, deps)))
    app.action(Act.PAY_INVOICE)(guard(partial(pay_invoice, deps)))
    app.action(Act.INVOICES_INPUT)(guard(partial(update_pay_total, deps)))
    app.view(Cb.PAY_INVOICES)(guard(partial(pay_invoices, deps)))


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
        can_pay = can(visitor.role, Action.PAY_INVOICES)
    note = invoices_ui.not_a_page_note(asked.not_a_number) if asked.not_a_number else None
    message = invoices_ui.invoices_message(
        page, today=deps.clock().date(), note=note, can_pay=can_pay
    )
    req.reply(message)


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
        can_pay = can(visitor.role, Action.PAY_INVOICES)
    message = invoices_ui.invoices_message(page, today=deps.clock().date(), can_pay=can_pay)
    req.reply(message, replace=True)


def _invoice_id(body: dict[str, Any]) -> int:
    value = str(((body.get("actions") or [{}])[0]).get("value") or "")
    if not _is_id(value):
        raise NotFound("That invoice could not be found on this account.")
    return int(value)


def _is_id(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) <= _MAX_ID_DIGITS


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
            invoice,
            today=deps.clock().date(),
            channel_id=conversation_of(body),
            history=autopay.invoice_history(session=session, invoice=invoice),
            tz=ZoneInfo(deps.settings.APP_TIMEZONE),
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


# -- The pay modal -----------------------------------------------------------------------------


def show_unpaid(deps: Deps, req: Request) -> None:
    """`/portal pay` and "Pay invoices": the pay modal, nothing ticked yet; or that there is
    nothing to pay."""
    open_pay_modal(deps, req, invoice_id=None)


def pay_invoice(
    deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, respond: Any
) -> None:
    """ "Pay now" on an invoice (the invoices list, a created invoice): the pay modal with that
    invoice ticked, on top of the modal the button was in, if any."""
    ack()
    req = Request(body=body, client=client, respond=respond, origin=who(body))
    with unit_of_work(deps, req.origin) as (_session, visitor):
        visitor.require(Action.PAY_INVOICES)  # before the payload is read any further
    open_pay_modal(deps, req, invoice_id=_invoice_id(body))


def open_pay_modal(deps: Deps, req: Request, *, invoice_id: int | None) -> None:
    chosen = () if invoice_id is None else (invoice_id,)
    with unit_of_work(deps, req.origin) as (session, visitor):
        account = visitor.require(Action.PAY_INVOICES)
        view, unpaid = _pay_modal(
            deps,
            session,
            account,
            first=chosen,
            chosen=chosen,
            channel_id=conversation_of(req.body),
        )
    if view is None:
        req.reply(payments_ui.nothing_to_pay_message(unpaid))
        return
    card_payments(deps)  # says plainly when card payments are not set up
    if (req.body.get("view") or {}).get("type") == "modal":
        req.client.views_push(trigger_id=req.origin.trigger_id, view=view)
    else:
        req.open_modal(view)


def _pay_modal(
    deps: Deps,
    session: Session,
    account: Account,
    *,
    first: tuple[int, ...],
    chosen: tuple[int, ...],
    channel_id: str | None,
) -> tuple[dict[str, Any] | None, invoice_list.UnpaidInvoices]:
    """The pay modal offering `first` (if still unpaid) before the oldest others, with `chosen`
    ticked; None when there is nothing to tick."""
    unpaid = invoice_list.unpaid_invoices(
        session=session, account_id=account.id, currency=account.currency
    )
    listed = {invoice.id for invoice in unpaid.invoices}
    also = [
        _summary(get_invoice(session=session, account_id=account.id, invoice_id=invoice_id))
        for invoice_id in first
        if invoice_id not in listed
    ]
    if not payments_ui.invoices_to_offer([*unpaid.invoices, *also], first):
        return None, unpaid
    today = deps.clock().astimezone(deps.settings.timezone).date()
    card = card_on_file(account)
    view = payments_ui.pay_invoices_modal(
        unpaid,
        first=first,
        chosen=chosen,
        today=today,
        card=card,
        card_valid=card is not None and not card.expired(today),
        channel_id=channel_id,
        also=also,
    )
    return view, unpaid


def _summary(invoice: Invoice) -> InvoiceSummary:
    return InvoiceSummary(
        id=invoice.id,
        sequence=invoice.sequence,
        number=invoice.number,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        status=invoice.status,
        gross=Money(invoice.gross_minor, invoice.currency),
    )


@dataclass(frozen=True, slots=True)
class InvoicesTicked:
    """The pay modal's checkboxes: the invoices ticked and those offered, in which view."""

    ticked: tuple[int, ...]
    offered: tuple[int, ...]
    view_id: str
    view_hash: str | None
    channel_id: str | None

    @classmethod
    def parse(cls, view: Any, selected: Any) -> InvoicesTicked:
        """`selected`: the checkboxes' `selected_options`, from the action or the view state.
        Raises `FieldError` under the checkboxes for a value that is not an invoice id."""
        if not isinstance(view, dict):
            view = {}
        values = [
            str(option.get("value") or "") if isinstance(option, dict) else ""
            for option in (selected if isinstance(selected, list) else [])
        ]
        if len(values) > payments_ui.MAX_CHECKBOXES or not all(_is_id(v) for v in values):
            raise FieldError(Blk.INVOICES, "Choose the invoices from the list.")
        offered: list[int] = []
        blocks = view.get("blocks")
        for block in blocks if isinstance(blocks, list) else []:
            if isinstance(block, dict) and block.get("block_id") == Blk.INVOICES:
                offered = [int(value) for value in _option_values(block.get("element"))]
        return cls(
            ticked=tuple(dict.fromkeys(int(value) for value in values)),
            offered=tuple(offered),
            view_id=str(view.get("id") or ""),
            view_hash=view.get("hash"),
            channel_id=invoices_ui.conversation_in(str(view.get("private_metadata") or "")),
        )

    @classmethod
    def from_state(cls, view: dict[str, Any]) -> InvoicesTicked:
        """The boxes ticked when the modal was submitted."""
        values = _mapping(_mapping(view.get("state")).get("values"))
        entry = _mapping(_mapping(values.get(Blk.INVOICES)).get(Act.INVOICES_INPUT))
        return cls.parse(view, entry.get("selected_options"))

    @classmethod
    def from_action(cls, body: dict[str, Any]) -> InvoicesTicked:
        """The boxes ticked now, from a tick's `block_actions`."""
        actions = body.get("actions")
        action = actions[0] if isinstance(actions, list) and actions else {}
        selected = action.get("selected_options") if isinstance(action, dict) else None
        return cls.parse(body.get("view"), selected)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _option_values(element: Any) -> list[str]:
    options = element.get("options") if isinstance(element, dict) else None
    values = [
        str(option.get("value") or "")
        for option in (options if isinstance(options, list) else [])
        if isinstance(option, dict)
    ]
    return [value for value in values if _is_id(value)]


def update_pay_total(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """A tick or untick in the pay modal: the total of the invoices ticked, in the modal."""
    ack()
    with unit_of_work(deps, who(body)) as (session, visitor):
        account = visitor.require(Action.PAY_INVOICES)
        ticked = InvoicesTicked.from_action(body)
        updated, _unpaid = _pay_modal(
            deps,
            session,
            account,
            first=ticked.offered,
            chosen=ticked.ticked,
            channel_id=ticked.channel_id,
        )
    if updated is None:
        return  # everything was paid meanwhile; Pay Now says so
    try:
        client.views_update(view_id=ticked.view_id, hash=ticked.view_hash, view=updated)
    except SlackApiError as exc:
        if exc.response.get("error") == "hash_conflict":
            return  # ticked again since: that tick's update follows
        raise


def pay_invoices(
    deps: Deps, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
) -> None:
    """Pay Now in the pay modal: re-check the role and the invoices (each must be this
    account's; one at least), say "Working…" at once, then one charge for all of them."""
    origin = who(body)
    pressed: list[tuple[PayNow, tuple[int, ...]]] = []

    def work() -> dict[str, Any]:
        with unit_of_work(deps, origin) as (session, visitor):
            account = visitor.require(Action.PAY_INVOICES)
            ticked = InvoicesTicked.from_state(view)
            if not ticked.ticked:
                raise FieldError(Blk.INVOICES, payments_ui.CHOOSE_AN_INVOICE)
            for invoice_id in ticked.ticked:
                get_invoice(session=session, account_id=account.id, invoice_id=invoice_id)
            press = pay_now_pressed(
                deps,
                session,
                account,
                origin,
                view_id=ticked.view_id,
                channel_id=ticked.channel_id,
            )
        pressed.append((press, ticked.ticked))
        working = payments_ui.paying_invoices(len(ticked.ticked), external_id=press.external_id)
        return {"response_action": "update", "view": working}

    answer_submission(ack, work)
    if not pressed:
        return
    press, invoice_ids = pressed[0]

    def pay(payments: Payments) -> PaymentOutcome:
        return payments.pay_invoices(
            account_id=press.account_id,
            invoice_ids=invoice_ids,
            user_id=press.user_id,
            channel_id=press.channel_id,
        )

    settle_after_ack(deps, client, press, title=payments_ui.PAY_INVOICES, pay=pay)
