"""Small builders of domain objects for tests, through the real services."""

from __future__ import annotations

import itertools
from datetime import datetime

from sqlalchemy.orm import Session

from bot.accounts import AccountSetup, set_up_account
from store.models import Account

_teams = itertools.count(1)


def make_account(
    session: Session,
    *,
    now: datetime,
    country: str = "GB",
    vat_reference: str | None = None,
    company_name: str = "Acme Widgets Ltd",
    contact_email: str = "billing@acme.example",
    admin_user_id: str = "UADMIN",
) -> Account:
    number = next(_teams)
    return set_up_account(
        session=session,
        team_id=f"T{number:06d}",
        team_name=f"Team {number}",
        setup=AccountSetup(
            company_name=company_name,
            country=country,
            contact_email=contact_email,
            vat_reference=vat_reference,
        ),
        admin_user_id=admin_user_id,
        now=now,
    )
