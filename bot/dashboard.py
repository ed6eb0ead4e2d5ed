"""The dashboard the menu and the App Home show: credits, card on file, unpaid invoices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from bot import credits
from bot.invoice_list import unpaid_totals
from bot.money import Money
from store.enums import Role
from store.models import Account


@dataclass(frozen=True, slots=True)
class CardOnFile:
    brand: str
    last4: str
    exp_month: int
    exp_year: int

    def expired(self, today: date) -> bool:
        return (self.exp_year, self.exp_month) < (today.year, today.month)

    @property
    def masked(self) -> str:
        return (
            f"{self.brand.title()} •••• {self.last4}, expires {self.exp_month:02d}/{self.exp_year}"
        )


@dataclass(frozen=True, slots=True)
class Dashboard:
    company_name: str
    role: Role
    credits_balance: int
    card: CardOnFile | None
    card_valid: bool
    unpaid_count: int
    unpaid_total: Money


def card_on_file(account: Account) -> CardOnFile | None:
    if not (account.card_last4 and account.card_exp_month and account.card_exp_year):
        return None
    return CardOnFile(
        brand=account.card_brand or "card",
        last4=account.card_last4,
        exp_month=account.card_exp_month,
        exp_year=account.card_exp_year,
    )


def dashboard(*, session: Session, account: Account, role: Role, today: date) -> Dashboard:
    count, gross = unpaid_totals(session=session, account_id=account.id)
    card = card_on_file(account)
    return Dashboard(
        company_name=account.company_name,
        role=role,
        credits_balance=credits.balance(session=session, account_id=account.id),
        card=card,
        card_valid=card is not None and not card.expired(today),
        unpaid_count=count,
        unpaid_total=Money(gross, account.currency),
    )
