"""Prices from the database (credit tiers, the service catalogue) and quotes for an account."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import FieldError, NotFound
from bot.money import Money
from bot.quotes import PriceTier, Quote, quote_credits, quote_service_hours
from bot.vat import vat_treatment
from store.models import Account, CreditPriceTier, Service

SERVICE_FIELD = "service"


def credit_tiers(*, session: Session, currency: str) -> list[PriceTier]:
    rows = session.scalars(
        select(CreditPriceTier)
        .where(CreditPriceTier.currency == currency)
        .order_by(CreditPriceTier.min_quantity)
    )
    return [
        PriceTier(row.min_quantity, row.max_quantity, Money(row.unit_price_minor, row.currency))
        for row in rows
    ]


def active_services(*, session: Session) -> list[Service]:
    return list(
        session.scalars(select(Service).where(Service.active.is_(True)).order_by(Service.name))
    )


def get_active_service(*, session: Session, service_id: int) -> Service:
    service = session.get(Service, service_id)
    if service is None or not service.active:
        raise FieldError(SERVICE_FIELD, "Choose a service from the list.")
    return service


def quote_credits_for(*, session: Session, account: Account, quantity: int, on: date) -> Quote:
    tiers = credit_tiers(session=session, currency=account.currency)
    if not tiers:
        raise NotFound(f"Credits are not on sale in {account.currency}.")
    return quote_credits(
        quantity,
        tiers=tiers,
        treatment=vat_treatment(account.country, account.vat_reference),
        on=on,
    )


def quote_service_for(
    *, session: Session, account: Account, service_id: int, hours: Decimal, on: date
) -> Quote:
    service = get_active_service(session=session, service_id=service_id)
    return quote_service_hours(
        service_name=service.name,
        hourly_rate=Money(service.hourly_rate_minor, service.currency),
        hours=hours,
        treatment=vat_treatment(account.country, account.vat_reference),
        on=on,
    )
