"""The sandbox's people, channels and demo account, made through the real services.

The workspace has three people to switch between (a workspace admin who is the account's
admin, a finance member and a viewer), two more members with no role (to add as users), the
#general channel and the finance channel. The account is a UK company with a password, a few
invoices (paid and open, one of them overdue), credits bought and the default catalogue
(from the migrations). Made once, on the first start with an empty database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from bot import pricing
from bot.accounts import (
    AccountSetup,
    account_for_team,
    set_finance_channel,
    set_up_account,
    update_contact_details,
)
from bot.invoices import create_invoice, mark_paid
from bot.passwords import set_password
from bot.users import add_user
from store.enums import InvoiceKind, Role
from store.models import Account

TEAM_ID = "T0SANDBOX"
TEAM_NAME = "Bramble & Finch"
TEAM_DOMAIN = "bramblefinch"
COMPANY_NAME = "Bramble & Finch Ltd"
CONTACT_EMAIL = "accounts@bramblefinch.example"
CONTACT_PHONE = "+44 20 7946 0018"  # Ofcom's range for drama: never a real line
VAT_REFERENCE = "GB999999973"  # valid by its check digits, and nobody's
PASSWORD = "Orchard-Lantern-Puzzle-58"  # noqa: S105 - the sandbox's published demo password


@dataclass(frozen=True, slots=True)
class Person:
    """Someone in the sandbox workspace."""

    user_id: str
    name: str
    title: str  # what the person switch says about them
    role: Role | None = None  # their role on the account
    workspace_admin: bool = False
    switchable: bool = True  # offered in the switch between people


@dataclass(frozen=True, slots=True)
class Channel:
    channel_id: str
    name: str


ADMIN = Person(
    "U01ALEX",
    "Alex Morgan",
    "Workspace admin · account admin",
    role=Role.ADMIN,
    workspace_admin=True,
)
FINANCE = Person("U02FIONA", "Fiona Grant", "Finance", role=Role.FINANCE)
VIEWER = Person("U03VIKRAM", "Vikram Shah", "Viewer", role=Role.VIEWER)
PEOPLE: tuple[Person, ...] = (
    ADMIN,
    FINANCE,
    VIEWER,
    Person("U04PRIYA", "Priya Patel", "No role yet", switchable=False),
    Person("U05TOM", "Tom Baker", "No role yet", switchable=False),
)
GENERAL = Channel("C01GENERAL", "general")
FINANCE_CHANNEL = Channel("C02FINANCE", "finance")
CHANNELS: tuple[Channel, ...] = (GENERAL, FINANCE_CHANNEL)


@dataclass(frozen=True, slots=True)
class DemoInvoice:
    """One invoice of the demo history: when it was made and, if paid, when."""

    days_ago: int
    credits: int = 0
    service: str | None = None
    hours: str = "0"
    paid_days_ago: int | None = None


HISTORY: tuple[DemoInvoice, ...] = (
    DemoInvoice(days_ago=62, credits=500, paid_days_ago=62),
    DemoInvoice(days_ago=41, service="Consultancy", hours="3", paid_days_ago=35),
    DemoInvoice(days_ago=20, credits=150, paid_days_ago=20),
    DemoInvoice(days_ago=19, service="Training", hours="1.5"),  # open and overdue
    DemoInvoice(days_ago=2, service="Development", hours="4"),  # open
)


def ensure_demo_account(*, session: Session, now: datetime) -> tuple[Account, bool]:
    """The sandbox workspace's account, made on first use; (account, whether it was made)."""
    existing = account_for_team(session=session, team_id=TEAM_ID)
    if existing is not None:
        return existing, False
    return create_demo_account(session=session, now=now), True


def create_demo_account(*, session: Session, now: datetime) -> Account:
    """Everything the demo shows, as if it had been done over the last two months."""
    started = now - timedelta(days=70)
    account = set_up_account(
        session=session,
        team_id=TEAM_ID,
        team_name=TEAM_NAME,
        setup=AccountSetup(
            company_name=COMPANY_NAME,
            country="GB",
            contact_email=CONTACT_EMAIL,
            vat_reference=VAT_REFERENCE,
        ),
        admin_user_id=ADMIN.user_id,
        now=started,
    )
    set_password(
        session=session, account=account, new_password=PASSWORD, actor=ADMIN.user_id, now=started
    )
    update_contact_details(
        session=session,
        account=account,
        email="",
        phone=CONTACT_PHONE,
        actor=ADMIN.user_id,
        now=started,
    )
    for person in PEOPLE:
        if person.role is not None and person.role is not Role.ADMIN:
            add_user(
                session=session,
                account=account,
                slack_user_id=person.user_id,
                role=person.role,
                added_by=ADMIN.user_id,
                now=started + timedelta(hours=1),
            )
    set_finance_channel(
        session=session,
        account=account,
        channel_id=FINANCE_CHANNEL.channel_id,
        actor=ADMIN.user_id,
        now=started + timedelta(hours=2),
    )
    _make_history(session=session, account=account, history=HISTORY, now=now)
    session.flush()
    return account


def _make_history(
    *, session: Session, account: Account, history: Sequence[DemoInvoice], now: datetime
) -> None:
    services = {service.name: service for service in pricing.active_services(session=session)}
    for item in history:
        made = now - timedelta(days=item.days_ago)
        if item.service is None:
            quote = pricing.quote_credits_for(
                session=session, account=account, quantity=item.credits, on=made.date()
            )
            kind = InvoiceKind.CREDITS
        else:
            quote = pricing.quote_service_for(
                session=session,
                account=account,
                service_id=services[item.service].id,
                hours=Decimal(item.hours),
                on=made.date(),
            )
            kind = InvoiceKind.SERVICES
        actor = FINANCE.user_id if item.service is None else ADMIN.user_id
        invoice = create_invoice(
            session=session, account=account, kind=kind, quotes=[quote], actor=actor, now=made
        )
        if item.paid_days_ago is not None:
            paid = now - timedelta(days=item.paid_days_ago) + timedelta(minutes=5)
            mark_paid(session=session, invoice=invoice, now=paid, actor=actor)
