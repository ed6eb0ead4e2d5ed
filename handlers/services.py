"""Listeners for "Pay for services": choose a service and hours, confirm, OK creates the invoice."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import notifications, pricing
from bot.deps import Deps
from bot.errors import FieldError, UserFacingError
from bot.invoices import create_invoice
from bot.portal import first_time
from bot.quotes import parse_hours
from bot.roles import Action, can
from bot.ui import common
from bot.ui import invoices as invoices_ui
from bot.ui import services as services_ui
from bot.ui.ids import PORTAL_COMMAND, Act, Blk, Cb
from handlers._support import Request, answer_submission, field_value, guard, unit_of_work, who
from store.enums import EventSource, InvoiceKind

START_AGAIN = f"Please start again with `{PORTAL_COMMAND} services`."


def register(app: App, deps: Deps) -> None:
    """Wire this area's ids to their listeners."""
    app.view(Cb.SERVICES)(guard(partial(review_service_invoice, deps)))
    app.view(Cb.SERVICES_CONFIRM)(guard(partial(create_service_invoice, deps)))


def open_services(deps: Deps, req: Request) -> None:
    """`/portal services` and "Pay for services": the modal with the catalogue."""
    with unit_of_work(deps, req.origin) as (session, visitor):
        visitor.require(Action.CREATE_SERVICE_INVOICE)
        services = pricing.active_services(session=session)
        view = (
            services_ui.services_modal(services, channel_id=req.origin.channel_id)
            if services
            else None
        )
    if view is None:
        req.reply(common.notice(services_ui.NO_SERVICES))
        return
    req.open_modal(view)


@dataclass(frozen=True, slots=True)
class ServiceOrder:
    """A service and a number of hours, parsed from the form or the confirmation."""

    service_id: int
    hours: Decimal

    @classmethod
    def from_form(cls, view: dict[str, Any]) -> ServiceOrder:
        """Parse "Service" and "Number of hours"; every bad field is reported at once."""
        errors: dict[str, str] = {}
        service_id = 0
        hours = Decimal(0)
        try:
            service_id = parse_service_id(
                field_value(view, Blk.SERVICE, Act.SERVICE_INPUT, "selected_option") or None
            )
        except FieldError as exc:
            errors[exc.field] = exc.message
        try:
            hours = parse_hours(field_value(view, Blk.HOURS, Act.HOURS_INPUT))
        except FieldError as exc:
            errors[exc.field] = exc.message
        if errors:
            raise FormErrors(errors)
        return cls(service_id=service_id, hours=hours)

    @classmethod
    def from_metadata(cls, metadata: str) -> ServiceOrder:
        """What the confirmation carries; validated again, since anyone can send a payload."""
        try:
            carried = json.loads(metadata or "{}")
            service_id = int(carried["service_id"])
            hours = parse_hours(str(carried["hours"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise UserFacingError(
                f"This confirmation can no longer be used. {START_AGAIN}"
            ) from exc
        except FieldError as exc:
            raise UserFacingError(f"{exc.message} {START_AGAIN}") from exc
        return cls(service_id=service_id, hours=hours)


def started_in(view: dict[str, Any]) -> str | None:
    """The conversation the flow started in, carried from modal to modal for "Download PDF"."""
    return invoices_ui.conversation_in(str(view.get("private_metadata") or ""))


class FormErrors(Exception):
    """Several fields of one form are wrong: answered as `response_action: errors`."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def parse_service_id(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError as exc:
        raise FieldError(pricing.SERVICE_FIELD, "Choose a service from the list.") from exc


def review_service_invoice(
    deps: Deps, ack: Ack, body: dict[str, Any], view: dict[str, Any]
) -> None:
    """The "Create Invoice" button: re-check the role, price the order, push the confirmation."""
    origin = who(body)

    def work() -> dict[str, Any]:
        with unit_of_work(deps, origin) as (session, visitor):
            account = visitor.require(Action.CREATE_SERVICE_INVOICE)
            try:
                order = ServiceOrder.from_form(view)
            except FormErrors as exc:
                return {"response_action": "errors", "errors": exc.errors}
            quote = pricing.quote_service_for(
                session=session,
                account=account,
                service_id=order.service_id,
                hours=order.hours,
                on=deps.clock().date(),
            )
        confirm = services_ui.services_confirm_view(
            order.service_id, quote, channel_id=started_in(view)
        )
        return {"response_action": "push", "view": confirm}

    answer_submission(ack, work)


def create_service_invoice(
    deps: Deps, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
) -> None:
    """OK: create the invoice once per confirmation view, however often OK arrives."""
    origin = who(body)
    view_id = str(view.get("id", ""))
    told: list[dict[str, Any]] = []
    created_ids: list[int] = []

    def work() -> dict[str, Any]:
        order = ServiceOrder.from_metadata(str(view.get("private_metadata") or ""))
        now = deps.clock()
        with unit_of_work(deps, origin) as (session, visitor):
            account = visitor.require(Action.CREATE_SERVICE_INVOICE)
            try:
                quote = pricing.quote_service_for(
                    session=session,
                    account=account,
                    service_id=order.service_id,
                    hours=order.hours,
                    on=now.date(),
                )
            except FieldError as exc:  # the service was withdrawn since the form was sent
                raise UserFacingError(f"{exc.message} {START_AGAIN}") from exc
            invoice = create_invoice(
                session=session,
                account=account,
                kind=InvoiceKind.SERVICES,
                quotes=[quote],
                actor=visitor.user_id,
                now=now,
                creation_key=f"services:{view_id}",
            )
            if first_time(
                session=session, source=EventSource.SLACK, key=f"services:{view_id}", now=now
            ):
                told.append(invoices_ui.invoice_created_message(invoice))
                created_ids.append(invoice.id)
            created = invoices_ui.invoice_created_view(
                invoice,
                channel_id=started_in(view),
                can_pay=can(visitor.role, Action.PAY_INVOICES),
            )
        return {"response_action": "update", "view": created}

    answer_submission(ack, work)
    for message in told:
        client.chat_postMessage(channel=origin.user_id, **message)
    for invoice_id in created_ids:  # the finance channel's "invoice created", once
        notifications.announce_invoice_created(deps, invoice_id=invoice_id, actor=origin.user_id)
