"""Credits are granted when their invoice is paid, once, and the balance is the ledger's sum."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import credits
from bot.invoices import create_invoice, mark_paid
from bot.pricing import quote_credits_for
from store.enums import InvoiceKind, LedgerKind
from store.models import CreditLedgerEntry
from tests.conftest import NOW
from tests.factories import make_account


def buy(session: Session, account, quantity: int):  # type: ignore[no-untyped-def]
    quote = quote_credits_for(session=session, account=account, quantity=quantity, on=NOW.date())
    return create_invoice(
        session=session,
        account=account,
        kind=InvoiceKind.CREDITS,
        quotes=[quote],
        actor="U1",
        now=NOW,
    )


def test_credits_arrive_only_when_the_invoice_is_paid(session: Session) -> None:
    account = make_account(session, now=NOW)
    invoice = buy(session, account, 150)
    assert credits.balance(session=session, account_id=account.id) == 0
    with pytest.raises(ValueError, match="only for a paid invoice"):
        credits.grant_for_invoice(session=session, invoice=invoice, now=NOW)
    mark_paid(session=session, invoice=invoice, now=NOW, actor="U1")
    assert credits.balance(session=session, account_id=account.id) == 150


def test_granting_twice_is_a_no_op(session: Session) -> None:
    account = make_account(session, now=NOW)
    invoice = buy(session, account, 500)
    mark_paid(session=session, invoice=invoice, now=NOW, actor="U1")
    again = credits.grant_for_invoice(session=session, invoice=invoice, now=NOW)
    assert again is not None
    assert credits.balance(session=session, account_id=account.id) == 500
    entries = session.scalars(
        select(CreditLedgerEntry).where(CreditLedgerEntry.account_id == account.id)
    ).all()
    assert len(entries) == 1
    assert entries[0].kind is LedgerKind.PURCHASE
    assert entries[0].reason == f"Purchase, invoice {invoice.number}"


def test_usage_lowers_the_balance_and_purchases_list_newest_first(session: Session) -> None:
    account = make_account(session, now=NOW)
    first = buy(session, account, 100)
    mark_paid(session=session, invoice=first, now=NOW, actor="U1")
    second = buy(session, account, 40)
    mark_paid(session=session, invoice=second, now=NOW + timedelta(days=1), actor="U1")
    session.add(
        CreditLedgerEntry(
            account_id=account.id,
            kind=LedgerKind.USAGE,
            credits=-30,
            reason="Platform usage",
            reference="usage-1",
            occurred_at=NOW,
            created_at=NOW,
        )
    )
    session.flush()
    assert credits.balance(session=session, account_id=account.id) == 110
    listed = credits.purchases(session=session, account_id=account.id)
    assert [(p.invoice_number, p.credits) for p in listed] == [
        (second.number, 40),
        (first.number, 100),
    ]


def test_service_invoices_grant_no_credits(session: Session) -> None:
    account = make_account(session, now=NOW)
    quote = quote_credits_for(session=session, account=account, quantity=10, on=NOW.date())
    invoice = create_invoice(
        session=session,
        account=account,
        kind=InvoiceKind.SERVICES,
        quotes=[quote],
        actor="U1",
        now=NOW,
    )
    mark_paid(session=session, invoice=invoice, now=NOW, actor="U1")
    assert credits.balance(session=session, account_id=account.id) == 0
