"""An account's unpaid invoices (the menu, the Home tab, `/portal pay`): its own, and quickly."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bot.dashboard import dashboard
from bot.invoice_list import unpaid_invoices, unpaid_of, unpaid_totals
from bot.invoices import create_invoice, mark_paid
from bot.pricing import quote_credits_for
from store.enums import InvoiceKind, Role
from store.models import Account, Invoice
from tests.conftest import NOW
from tests.factories import make_account


def invoice(session: Session, account: Account, quantity: int, day: int) -> Invoice:
    quote = quote_credits_for(session=session, account=account, quantity=quantity, on=NOW.date())
    return create_invoice(
        session=session,
        account=account,
        kind=InvoiceKind.CREDITS,
        quotes=[quote],
        actor="U1",
        now=NOW + timedelta(days=day),
    )


def test_only_the_accounts_own_unpaid_invoices_are_counted_and_listed(session: Session) -> None:
    mine = make_account(session, now=NOW)
    theirs = make_account(session, now=NOW, company_name="Other Ltd", admin_user_id="U2")
    own = [invoice(session, mine, 100 + day, day) for day in range(4)]
    for day in range(3):
        invoice(session, theirs, 500, day)  # unpaid too, and larger
    mark_paid(session=session, invoice=own[0], now=NOW, actor="U1")

    count, gross = unpaid_totals(session=session, account_id=mine.id)
    assert count == 3
    assert gross == sum(i.gross_minor for i in own[1:])
    unpaid = unpaid_invoices(session=session, account_id=mine.id, currency="GBP")
    assert [i.number for i in unpaid.invoices] == [i.number for i in own[1:]]
    board = dashboard(session=session, account=mine, role=Role.ADMIN, today=date(2026, 11, 24))
    assert (board.unpaid_count, board.unpaid_total.amount_minor) == (3, gross)


def test_sqlite_finds_unpaid_invoices_through_the_status_index(session: Session) -> None:
    """Not by walking every invoice of the account, which SQLite would choose unprompted."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("PostgreSQL chooses its plan from statistics")
    query = select(func.count()).select_from(Invoice).where(unpaid_of(session, 1))
    sql = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    plan = " ".join(str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    assert "ix_invoices_status_due_date" in plan
    assert "ix_invoices_account_id_sequence" not in plan
