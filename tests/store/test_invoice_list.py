"""Paging an account's invoices by keyset on (account_id, sequence), on SQLite and PostgreSQL."""

import math
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from bot.invoice_list import (
    Direction,
    InvoicePage,
    PageCursor,
    first_page,
    page_at,
    page_count,
    page_number,
    unpaid_invoices,
)
from bot.invoices import create_invoice, mark_paid, void
from bot.pricing import quote_credits_for
from store.enums import InvoiceKind
from store.models import Account, Invoice
from tests.conftest import NOW
from tests.factories import make_account


def invoice(session: Session, account: Account, day: int = 0) -> Invoice:
    quote = quote_credits_for(session=session, account=account, quantity=10, on=NOW.date())
    return create_invoice(
        session=session,
        account=account,
        kind=InvoiceKind.CREDITS,
        quotes=[quote],
        actor="U1",
        now=NOW + timedelta(days=day),
    )


@pytest.fixture
def two_accounts(session: Session) -> tuple[Account, Account, list[Invoice]]:
    """25 invoices for `mine`, interleaved with 20 of `theirs`; mine oldest first."""
    mine = make_account(session, now=NOW)
    theirs = make_account(session, now=NOW, company_name="Other Ltd", admin_user_id="U2")
    own: list[Invoice] = []
    for day in range(25):
        own.append(invoice(session, mine, day))
        if day < 20:
            invoice(session, theirs, day)
    return mine, theirs, own


def numbers(page: InvoicePage) -> list[str]:
    return [row.number for row in page.invoices]


def test_pages_of_ten_newest_first_with_next_and_previous(
    session: Session, two_accounts: tuple[Account, Account, list[Invoice]]
) -> None:
    mine, _, own = two_accounts
    newest_first = [i.number for i in reversed(own)]

    page1 = first_page(session=session, account_id=mine.id)
    assert numbers(page1) == newest_first[:10]
    assert (page1.number, page1.newer) == (1, None)
    assert page1.older is not None

    page2 = page_at(session=session, account_id=mine.id, cursor=page1.older)
    assert numbers(page2) == newest_first[10:20]
    assert page2.number == 2
    assert page2.older is not None

    page3 = page_at(session=session, account_id=mine.id, cursor=page2.older)
    assert numbers(page3) == newest_first[20:]
    assert (page3.number, page3.older) == (3, None)
    assert page3.newer is not None

    back = page_at(session=session, account_id=mine.id, cursor=page3.newer)
    assert numbers(back) == newest_first[10:20]
    assert back.number == 2
    assert back.newer is not None
    again = page_at(session=session, account_id=mine.id, cursor=back.newer)
    assert numbers(again) == newest_first[:10]
    assert (again.number, again.newer) == (1, None)


def test_jumping_to_a_page_number(
    session: Session, two_accounts: tuple[Account, Account, list[Invoice]]
) -> None:
    mine, theirs, own = two_accounts
    newest_first = [i.number for i in reversed(own)]
    assert page_count(session=session, account_id=mine.id) == 3
    assert page_count(session=session, account_id=theirs.id) == 2
    page3 = page_number(session=session, account_id=mine.id, number=3)
    assert numbers(page3) == newest_first[20:]
    assert page3.number == 3
    assert page3.older is None
    assert page3.newer == PageCursor(Direction.NEWER, own[4].sequence, 2)
    page2 = page_number(session=session, account_id=mine.id, number=2)
    assert numbers(page2) == newest_first[10:20]
    assert page2.missing_page is None


def test_a_page_past_the_end_is_page_1_saying_so(
    session: Session, two_accounts: tuple[Account, Account, list[Invoice]]
) -> None:
    mine, _, own = two_accounts
    page = page_number(session=session, account_id=mine.id, number=4)
    assert page.number == 1
    assert (page.missing_page, page.page_count) == (4, 3)
    assert numbers(page)[0] == own[-1].number


def test_each_account_pages_through_exactly_its_own_invoices(
    session: Session, two_accounts: tuple[Account, Account, list[Invoice]]
) -> None:
    mine, theirs, own = two_accounts
    for account, count in ((mine, 25), (theirs, 20)):
        seen: list[int] = []
        page = first_page(session=session, account_id=account.id)
        while True:
            seen.extend(row.id for row in page.invoices)
            if page.older is None:
                break
            page = page_at(session=session, account_id=account.id, cursor=page.older)
        assert len(seen) == len(set(seen)) == count
        is_mine = {i.id for i in own} >= set(seen)
        assert is_mine is (account is mine)


def test_cursors_that_lead_nowhere_fall_back_to_page_1(
    session: Session, two_accounts: tuple[Account, Account, list[Invoice]]
) -> None:
    mine, _, own = two_accounts
    past_the_end = PageCursor(Direction.OLDER, own[0].sequence, 4)
    assert page_at(session=session, account_id=mine.id, cursor=past_the_end).number == 1
    before_the_start = PageCursor(Direction.NEWER, own[-1].sequence, 7)
    page = page_at(session=session, account_id=mine.id, cursor=before_the_start)
    assert (page.number, numbers(page)[0]) == (1, own[-1].number)
    assert PageCursor.parse("older:12:3") == PageCursor(Direction.OLDER, 12, 3)
    for garbage in ("", "older:x:1", "sideways:1:1", "older:1", "older:1:1:1", None):
        assert PageCursor.parse(garbage) is None


def test_no_invoices(session: Session) -> None:
    account = make_account(session, now=NOW)
    page = first_page(session=session, account_id=account.id)
    assert page.empty
    assert (page.newer, page.older) == (None, None)
    assert page_count(session=session, account_id=account.id) == 0


def test_unpaid_invoices_oldest_first_with_the_total_of_all(session: Session) -> None:
    account = make_account(session, now=NOW)
    made = [invoice(session, account, day) for day in range(5)]
    mark_paid(session=session, invoice=made[0], now=NOW, actor="U1")
    void(session=session, invoice=made[1], now=NOW, actor="U1")
    unpaid = unpaid_invoices(session=session, account_id=account.id, currency="GBP", limit=2)
    assert [i.number for i in unpaid.invoices] == [made[2].number, made[3].number]
    assert unpaid.count == 3
    assert unpaid.total.amount_minor == 3 * made[2].gross_minor


def test_sqlite_reads_pages_from_the_account_sequence_index(session: Session) -> None:
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the query plan check is for SQLite")
    plan = session.execute(
        text(
            "EXPLAIN QUERY PLAN SELECT id FROM invoices WHERE account_id = 1 AND sequence < 50 "
            "ORDER BY sequence DESC LIMIT 11"
        )
    ).all()
    detail = " ".join(str(row[-1]) for row in plan)
    assert "ix_invoices_account_id_sequence" in detail
    assert "TEMP B-TREE" not in detail  # no sort: the index gives the order


@pytest.mark.parametrize("size", [3, 5, 10])
def test_every_page_by_number_is_the_page_next_leads_to(
    session: Session,
    two_accounts: tuple[Account, Account, list[Invoice]],
    size: int,
) -> None:
    """Each page jumped to has the rows, number and buttons of the same page reached by "Next"
    from page 1 (25 invoices: a last page of 1, of 5 and of 5); one past the last is page 1,
    saying so."""
    mine, _, _ = two_accounts
    walked = [first_page(session=session, account_id=mine.id, size=size)]
    while walked[-1].older is not None:
        cursor = walked[-1].older
        walked.append(page_at(session=session, account_id=mine.id, cursor=cursor, size=size))
    assert len(walked) == math.ceil(25 / size)
    for number, expected in enumerate(walked, start=1):
        jumped = page_number(session=session, account_id=mine.id, number=number, size=size)
        assert (jumped.number, numbers(jumped)) == (expected.number, numbers(expected))
        assert (jumped.newer, jumped.older) == (expected.newer, expected.older)
        assert jumped.missing_page is None
        if jumped.newer is not None:  # "Previous" from a jumped-to page goes one page back
            back = page_at(session=session, account_id=mine.id, cursor=jumped.newer, size=size)
            assert (back.number, numbers(back)) == (number - 1, numbers(walked[number - 2]))
    past = page_number(session=session, account_id=mine.id, number=len(walked) + 1, size=size)
    assert (past.number, past.missing_page, past.page_count) == (1, len(walked) + 1, len(walked))
    assert numbers(past) == numbers(walked[0])
