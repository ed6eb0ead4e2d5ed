"""The closed sets of values the store keeps: roles, statuses, treatments."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    ADMIN = "admin"
    FINANCE = "finance"
    VIEWER = "viewer"


class VatTreatment(enum.StrEnum):
    """How UK VAT applies to an invoice, decided by the customer's country and VAT reference."""

    UK_STANDARD = "uk_standard"  # UK customer (GB or XI): UK VAT at the standard rate
    EU_REVERSE_CHARGE = "eu_reverse_charge"  # EU business with a valid VAT reference
    EU_NO_VAT_REFERENCE = "eu_no_vat_reference"  # EU customer without one: UK VAT charged
    OUTSIDE_SCOPE = "outside_scope"  # outside the UK and the EU


class InvoiceKind(enum.StrEnum):
    CREDITS = "credits"
    SERVICES = "services"


class InvoiceStatus(enum.StrEnum):
    OPEN = "open"
    PAYING = "paying"
    PAID = "paid"
    VOID = "void"


class LineUnit(enum.StrEnum):
    CREDITS = "credits"
    HOURS = "hours"


class LedgerKind(enum.StrEnum):
    PURCHASE = "purchase"
    USAGE = "usage"
    ADJUSTMENT = "adjustment"


class PaymentStatus(enum.StrEnum):
    CREATED = "created"  # our row exists; Stripe not yet asked
    PROCESSING = "processing"  # Stripe asked, no final answer yet
    REQUIRES_ACTION = "requires_action"  # the customer must confirm on the payment page
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class EventSource(enum.StrEnum):
    SLACK = "slack"
    STRIPE = "stripe"


class LinkPurpose(enum.StrEnum):
    """What a one-time link to a secure page is for; the page and the link must agree."""

    CONFIRM_PASSWORD = "confirm_password"  # noqa: S105 - a purpose name
    CHANGE_PASSWORD = "change_password"  # noqa: S105 - a purpose name
    SET_PASSWORD = "set_password"  # noqa: S105 - a purpose name
    ADD_CARD = "add_card"  # the card page: Stripe's card field and a SetupIntent
    PAY = "pay"  # the payment page: one payment that needs the customer (no card, or SCA)
