"""Quotes: what a number of credits or hours of a service costs, with VAT. Pure functions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from bot.errors import FieldError
from bot.money import Money
from bot.vat import vat_rate
from store.enums import LineUnit, VatTreatment

CREDITS_FIELD = "credits"
HOURS_FIELD = "hours"
MIN_CREDITS, MAX_CREDITS = 1, 1_000_000
HOURS_STEP = Decimal("0.25")
MIN_HOURS, MAX_HOURS = Decimal("0.25"), Decimal(1000)
_GROUPED_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")


@dataclass(frozen=True, slots=True)
class PriceTier:
    min_quantity: int
    max_quantity: int | None
    unit_price: Money

    def covers(self, quantity: int) -> bool:
        return quantity >= self.min_quantity and (
            self.max_quantity is None or quantity <= self.max_quantity
        )


@dataclass(frozen=True, slots=True)
class Quote:
    """One priced line with its VAT: what an invoice line will say."""

    description: str
    quantity: Decimal
    unit: LineUnit
    unit_price: Money
    net: Money
    vat_treatment: VatTreatment
    vat_rate: Decimal
    vat: Money
    gross: Money

    @property
    def currency(self) -> str:
        return self.net.currency


def _price_line(
    *,
    description: str,
    quantity: Decimal,
    unit: LineUnit,
    unit_price: Money,
    treatment: VatTreatment,
    on: date,
) -> Quote:
    net = unit_price.times(quantity)
    rate = vat_rate(treatment, on)
    vat = net.times(rate)
    return Quote(
        description=description,
        quantity=quantity,
        unit=unit,
        unit_price=unit_price,
        net=net,
        vat_treatment=treatment,
        vat_rate=rate,
        vat=vat,
        gross=net + vat,
    )


def tier_for(quantity: int, tiers: Sequence[PriceTier]) -> PriceTier:
    for tier in sorted(tiers, key=lambda t: t.min_quantity, reverse=True):
        if tier.covers(quantity):
            return tier
    raise LookupError(f"no credit price tier covers {quantity} credits")


def quote_credits(
    quantity: int, *, tiers: Sequence[PriceTier], treatment: VatTreatment, on: date
) -> Quote:
    """`quantity` credits, every one at the price of the tier the quantity falls in."""
    check_credit_quantity(quantity)
    tier = tier_for(quantity, tiers)
    return _price_line(
        description=f"{quantity:,} credits",
        quantity=Decimal(quantity),
        unit=LineUnit.CREDITS,
        unit_price=tier.unit_price,
        treatment=treatment,
        on=on,
    )


def quote_service_hours(
    *, service_name: str, hourly_rate: Money, hours: Decimal, treatment: VatTreatment, on: date
) -> Quote:
    check_hours(hours)
    return _price_line(
        description=service_name,
        quantity=hours,
        unit=LineUnit.HOURS,
        unit_price=hourly_rate,
        treatment=treatment,
        on=on,
    )


def _parse_number(text: str) -> Decimal | None:
    cleaned = text.strip().replace(" ", "")
    if len(cleaned) > 32 or not _GROUPED_NUMBER.match(cleaned):
        return None
    try:
        value = Decimal(cleaned.replace(",", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def check_credit_quantity(quantity: int) -> int:
    if quantity < MIN_CREDITS:
        raise FieldError(CREDITS_FIELD, "Enter at least 1 credit.")
    if quantity > MAX_CREDITS:
        raise FieldError(CREDITS_FIELD, "You can buy at most 1,000,000 credits at a time.")
    return quantity


def parse_credit_quantity(text: str) -> int:
    """The "Number of credits" field: a whole number from 1 to 1,000,000."""
    value = _parse_number(text)
    if value is None or value != value.to_integral_value():
        raise FieldError(CREDITS_FIELD, "Enter a whole number of credits, like 150.")
    return check_credit_quantity(int(value))


def check_hours(hours: Decimal) -> Decimal:
    if hours < MIN_HOURS:
        raise FieldError(HOURS_FIELD, "Enter at least 0.25 hours (a quarter of an hour).")
    if hours > MAX_HOURS:
        raise FieldError(HOURS_FIELD, "You can buy at most 1,000 hours on one invoice.")
    if hours % HOURS_STEP != 0:
        raise FieldError(
            HOURS_FIELD, "Hours are sold in quarter hours: enter a multiple of 0.25, like 1.75."
        )
    return hours


def parse_hours(text: str) -> Decimal:
    """The "Number of hours" field: 0.25 to 1,000 in steps of 0.25."""
    value = _parse_number(text)
    if value is None:
        raise FieldError(HOURS_FIELD, "Enter a number of hours, like 2 or 1.5.")
    return check_hours(value).quantize(Decimal("0.01"))
