"""An account's invoices a page at a time, newest first, and its unpaid invoices.

Paging is keyset paging on the `(account_id, sequence)` index (`ix_invoices_account_id_sequence`):
a page is "the next 10 invoices older (or newer) than sequence S", a range read from the index,
so the 1,000th page costs what the first does. Only jumping straight to page N (`/portal
invoices 7`) counts entries, and then only in the index, to find where page N starts.

Reading page N from the oldest end instead (after counting the account's invoices) was measured
and is not cheaper on PostgreSQL: `count(*)` over the account's range of the index costs about
what skipping the same entries with OFFSET does, and it is a second statement. Making the jump
independent of N needs each invoice's position within its account stored beside it.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, ScalarSelect, Select, and_, func, select
from sqlalchemy.orm import Session

from bot.money import Money
from store.enums import InvoiceStatus
from store.models import Invoice

PAGE_SIZE = 10
UNPAID_LISTED = 20  # the unpaid list shows this many; the rest are counted in the total
UNPAID = (InvoiceStatus.OPEN, InvoiceStatus.PAYING)
_CURSOR = re.compile(r"^(older|newer):(\d{1,18}):(\d{1,9})$")


@dataclass(frozen=True, slots=True)
class InvoiceSummary:
    """One invoice as a list shows it."""

    id: int
    sequence: int
    number: str
    issue_date: date
    due_date: date
    status: InvoiceStatus
    gross: Money


class Direction(enum.StrEnum):
    OLDER = "older"  # "Next": the invoices before the cursor's sequence
    NEWER = "newer"  # "Previous": the invoices after it


@dataclass(frozen=True, slots=True)
class PageCursor:
    """Where a "Next" or "Previous" button continues: after or before one sequence.

    `page` is only for display ("Page 3"); the rows come from the sequence alone.
    """

    direction: Direction
    sequence: int
    page: int

    def encode(self) -> str:
        return f"{self.direction.value}:{self.sequence}:{self.page}"

    @classmethod
    def parse(cls, text: str | None) -> PageCursor | None:
        """The cursor in a button's value; None for anything that is not one."""
        match = _CURSOR.match((text or "").strip())
        if match is None:
            return None
        direction, sequence, page = match.groups()
        return cls(Direction(direction), int(sequence), max(1, int(page)))


@dataclass(frozen=True, slots=True)
class InvoicePage:
    number: int  # 1 for the newest invoices
    invoices: list[InvoiceSummary]
    newer: PageCursor | None  # for "Previous"; None on the first page
    older: PageCursor | None  # for "Next"; None on the last page
    missing_page: int | None = None  # a page asked for that does not exist (page 1 instead)
    page_count: int | None = None  # known only when a missing page was asked for

    @property
    def empty(self) -> bool:
        return not self.invoices


_SummaryRow = Select[int, int, str, date, date, InvoiceStatus, int, str]


def _summary_columns() -> _SummaryRow:
    return select(
        Invoice.id,
        Invoice.sequence,
        Invoice.number,
        Invoice.issue_date,
        Invoice.due_date,
        Invoice.status,
        Invoice.gross_minor,
        Invoice.currency,
    )


def _summary_query(account_id: int) -> _SummaryRow:
    return _summary_columns().where(Invoice.account_id == account_id)


def _summaries(session: Session, query: _SummaryRow) -> list[InvoiceSummary]:
    return [
        InvoiceSummary(
            id=row.id,
            sequence=row.sequence,
            number=row.number,
            issue_date=row.issue_date,
            due_date=row.due_date,
            status=row.status,
            gross=Money(int(row.gross_minor), row.currency),
        )
        for row in session.execute(query)
    ]


def _older_from(
    session: Session,
    account_id: int,
    *,
    below: int | ScalarSelect[int] | None,
    inclusive: bool,
    size: int,
) -> tuple[list[InvoiceSummary], bool]:
    """Up to `size` invoices newest first, from `below` down; and whether older ones follow.

    One range read of the index: `size + 1` rows, the extra one only saying "there is more".
    """
    query = _summary_query(account_id)
    if below is not None:
        bound = Invoice.sequence <= below if inclusive else Invoice.sequence < below
        query = query.where(bound)
    rows = _summaries(session, query.order_by(Invoice.sequence.desc()).limit(size + 1))
    return rows[:size], len(rows) > size


def _newer_than(
    session: Session, account_id: int, *, above: int, size: int
) -> tuple[list[InvoiceSummary], bool]:
    """Up to `size` invoices just above `above`, newest first; and whether newer ones follow."""
    query = (
        _summary_query(account_id)
        .where(Invoice.sequence > above)
        .order_by(Invoice.sequence.asc())
        .limit(size + 1)
    )
    rows = _summaries(session, query)
    return rows[:size][::-1], len(rows) > size


def _page(
    number: int, rows: list[InvoiceSummary], *, has_newer: bool, has_older: bool
) -> InvoicePage:
    if not has_newer:
        number = 1
    newer = PageCursor(Direction.NEWER, rows[0].sequence, max(1, number - 1)) if has_newer else None
    older = PageCursor(Direction.OLDER, rows[-1].sequence, number + 1) if has_older else None
    return InvoicePage(number=number, invoices=rows, newer=newer, older=older)


def first_page(*, session: Session, account_id: int, size: int = PAGE_SIZE) -> InvoicePage:
    rows, more = _older_from(session, account_id, below=None, inclusive=False, size=size)
    if not rows:
        return InvoicePage(number=1, invoices=[], newer=None, older=None)
    return _page(1, rows, has_newer=False, has_older=more)


def page_at(
    *, session: Session, account_id: int, cursor: PageCursor, size: int = PAGE_SIZE
) -> InvoicePage:
    """The page a "Next" or "Previous" button leads to; the first page if it leads nowhere.

    Each is one range read. The invoice the cursor names lies on the side the person came
    from, so that side needs no query of its own.
    """
    if cursor.direction is Direction.OLDER:
        rows, more = _older_from(
            session, account_id, below=cursor.sequence, inclusive=False, size=size
        )
        if not rows:
            return first_page(session=session, account_id=account_id, size=size)
        return _page(cursor.page, rows, has_newer=True, has_older=more)
    rows, more = _newer_than(session, account_id, above=cursor.sequence, size=size)
    if not rows or not more:
        # Back at the newest invoices: the first page, whole even if some arrived meanwhile.
        return first_page(session=session, account_id=account_id, size=size)
    return _page(cursor.page, rows, has_newer=True, has_older=True)


def page_count(*, session: Session, account_id: int, size: int = PAGE_SIZE) -> int:
    count = session.scalar(
        select(func.count()).select_from(Invoice).where(Invoice.account_id == account_id)
    )
    return math.ceil(int(count or 0) / size)


def page_number(
    *, session: Session, account_id: int, number: int, size: int = PAGE_SIZE
) -> InvoicePage:
    """Page `number` (1 is the newest); page 1, saying so, when there is no such page."""
    if number <= 1:
        return first_page(session=session, account_id=account_id, size=size)
    # Where page `number` starts, found in the index and read in the same statement as the
    # page itself (the database looks the start up once).
    start = (
        select(Invoice.sequence)
        .where(Invoice.account_id == account_id)
        .order_by(Invoice.sequence.desc())
        .offset((number - 1) * size)
        .limit(1)
        .scalar_subquery()
    )
    rows, more = _older_from(session, account_id, below=start, inclusive=True, size=size)
    if not rows:  # no invoice that far back: there is no such page
        first = first_page(session=session, account_id=account_id, size=size)
        return InvoicePage(
            number=first.number,
            invoices=first.invoices,
            newer=first.newer,
            older=first.older,
            missing_page=number,
            page_count=page_count(session=session, account_id=account_id, size=size),
        )
    return _page(number, rows, has_newer=True, has_older=more)


@dataclass(frozen=True, slots=True)
class UnpaidInvoices:
    invoices: list[InvoiceSummary]  # oldest first, at most UNPAID_LISTED of them
    count: int  # every unpaid invoice, listed or not
    total: Money  # of every unpaid invoice


def unpaid_of(session: Session, account_id: int) -> ColumnElement[bool]:
    """Which invoices are the account's unpaid ones, in a form read through the status index.

    An account's invoices only accumulate while few of them stay unpaid, so the short way to
    them is `ix_invoices_status_due_date`. PostgreSQL's statistics lead its planner there.
    SQLite keeps no statistics on how skewed `status` is and would walk every invoice of the
    account through `(account_id, sequence)` instead (3.6 ms rather than 0.1 ms for an account
    with 10,000 invoices, on every menu and Home tab), so there the account is compared as
    `account_id + 0`, which no index serves.
    """
    if session.get_bind().dialect.name == "sqlite":
        account = (Invoice.account_id + 0) == account_id
    else:
        account = Invoice.account_id == account_id
    return and_(account, Invoice.status.in_(UNPAID))


def unpaid_totals(*, session: Session, account_id: int) -> tuple[int, int]:
    """How many of the account's invoices are unpaid, and their gross total in minor units."""
    count, gross = session.execute(
        select(func.count(), func.coalesce(func.sum(Invoice.gross_minor), 0)).where(
            unpaid_of(session, account_id)
        )
    ).one()
    return int(count), int(gross)


def unpaid_invoices(
    *, session: Session, account_id: int, currency: str, limit: int = UNPAID_LISTED
) -> UnpaidInvoices:
    """Open invoices (and those being paid), oldest first, with the count and total of all."""
    count, gross = unpaid_totals(session=session, account_id=account_id)
    listed = _summaries(
        session,
        _summary_columns()
        .where(unpaid_of(session, account_id))
        .order_by(Invoice.sequence.asc())
        .limit(limit),
    )
    return UnpaidInvoices(invoices=listed, count=count, total=Money(gross, currency))
