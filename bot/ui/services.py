"""The "Pay for services" screens: a service and a number of hours, then the "Create Invoice"
confirmation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.money import Money
from bot.quotes import Quote
from bot.ui.common import Block, context, modal, option, plain, text_input
from bot.ui.ids import Act, Blk, Cb
from bot.ui.invoices import (
    conversation_metadata,
    fields,
    quantity,
    treatment_note,
    vat_label,
)
from store.models import Service

NO_SERVICES = "No services are on sale at the moment. Please try again later."
_MAX_OPTIONS = 100  # Slack's limit for a static_select


def service_label(service: Service) -> str:
    """`Consultancy — £95.00 an hour`."""
    rate = Money(service.hourly_rate_minor, service.currency)
    return f"{service.name} — {rate.format()} an hour"


def services_modal(services: Sequence[Service], *, channel_id: str | None = None) -> dict[str, Any]:
    """The "Pay for services" modal: "Service" from the catalogue and "Number of hours".

    It carries `channel_id`, the conversation the flow started in, through to the created
    invoice, whose "Download PDF" posts there."""
    service_select: Block = {
        "type": "input",
        "block_id": Blk.SERVICE,
        "label": plain("Service"),
        "element": {
            "type": "static_select",
            "action_id": Act.SERVICE_INPUT,
            "placeholder": plain("Choose a service"),
            "options": [option(service_label(s), str(s.id)) for s in services[:_MAX_OPTIONS]],
        },
        "optional": False,
    }
    blocks: list[Block] = [
        service_select,
        text_input(
            Blk.HOURS,
            Act.HOURS_INPUT,
            "Number of hours",
            placeholder="e.g. 2.5",
            hint="From 0.25 to 1,000 hours, in quarter hours (0.25, 0.5, 0.75 …).",
            max_length=12,
        ),
    ]
    return modal(
        Cb.SERVICES,
        "Pay for services",
        blocks,
        submit="Create Invoice",
        private_metadata=conversation_metadata(channel_id),
    )


def services_confirm_view(
    service_id: int, quote: Quote, *, channel_id: str | None = None
) -> dict[str, Any]:
    """The "Create Invoice" confirmation: what the invoice will say; OK creates it."""
    blocks: list[Block] = [
        fields(
            ("Service", quote.description),
            ("Number of hours", quantity(quote.quantity)),
            ("Hourly rate", quote.unit_price.format()),
            ("Net total", quote.net.format()),
            (vat_label(quote.vat_treatment, quote.vat_rate), quote.vat.format()),
            ("Gross total", quote.gross.format()),
        ),
        context(treatment_note(quote.vat_treatment)),
        context("Press OK to create the invoice."),
    ]
    metadata = conversation_metadata(channel_id, service_id=service_id, hours=str(quote.quantity))
    return modal(
        Cb.SERVICES_CONFIRM,
        "Create Invoice",
        blocks,
        submit="OK",
        close="Back",
        private_metadata=metadata,
    )
