"""How long a page of invoices takes to read, first page against last, with 10,000 invoices.

Run with `.venv/bin/python benchmarks/invoice_paging.py [runs]`. It builds an account with
10,000 invoices (interleaved with another account's 10,000) in a temporary SQLite file, and in
the PostgreSQL at `TEST_DATABASE_URL` when that is set (inside one transaction that is rolled
back, so that database is left as it was), then times, as the median of many runs:

- the first page and the last page through the keyset query the portal uses ("Next" from page
  999), whose ratio should stay at or below 1.2;
- jumping straight to the last page (`/portal invoices 1000`), which counts its way there in
  the index;
- for contrast, the same last page read with a plain OFFSET over the table's rows.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

from bot.accounts import AccountSetup, set_up_account
from bot.invoice_list import PAGE_SIZE, Direction, PageCursor, first_page, page_at, page_number
from bot.invoices import format_invoice_number
from store.db import make_engine
from store.enums import InvoiceKind, InvoiceStatus, VatTreatment
from store.migrate import upgrade_to_head
from store.models import Invoice

INVOICES = 10_000
TARGET_RATIO = 1.2
NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


def make_account(session: Session, team: str) -> int:
    account = set_up_account(
        session=session,
        team_id=team,
        team_name=team,
        setup=AccountSetup(
            company_name=f"Bench {team}",
            country="GB",
            contact_email="bench@example.com",
            vat_reference=None,
        ),
        admin_user_id="UBENCH",
        now=NOW,
    )
    return account.id


def fill(session: Session) -> tuple[int, int]:
    """Two accounts with INVOICES each, interleaved: (the first's id, where its last page starts).

    Rows are inserted in bulk (numbers follow sequences) rather than through `create_invoice`,
    which would take minutes; the paging queries read nothing else.
    """
    stamp = f"{time.time_ns() % 10**9}"
    mine = make_account(session, f"TBENCH{stamp}A")
    theirs = make_account(session, f"TBENCH{stamp}B")
    start = int(session.scalar(select(func.coalesce(func.max(Invoice.sequence), 0))) or 0) + 1
    rows: list[dict[str, Any]] = []
    for n in range(2 * INVOICES):
        sequence = start + n
        issued = date(2020, 1, 1) + timedelta(days=n // 10)
        rows.append(
            {
                "account_id": mine if n % 2 == 0 else theirs,
                "sequence": sequence,
                "number": format_invoice_number(sequence),
                "kind": InvoiceKind.CREDITS,
                "issue_date": issued,
                "tax_point": issued,
                "due_date": issued,
                "currency": "GBP",
                "customer_name": "Bench Ltd",  # invoices carry the customer as billed
                "customer_country": "GB",
                "vat_treatment": VatTreatment.UK_STANDARD,
                "vat_rate": Decimal("0.2"),
                "net_minor": 9000,
                "vat_minor": 1800,
                "gross_minor": 10800,
                "status": InvoiceStatus.PAID,
                "created_at": NOW,
            }
        )
    session.execute(insert(Invoice), rows)
    session.execute(text("ANALYZE"))
    # "Next" on page 999 continues after the 9,990th newest invoice.
    after = session.scalar(
        select(Invoice.sequence)
        .where(Invoice.account_id == mine)
        .order_by(Invoice.sequence.desc())
        .offset(INVOICES - PAGE_SIZE - 1)
        .limit(1)
    )
    assert after is not None
    return mine, int(after)


def median_ms(fn: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - started)
    return statistics.median(samples) / 1e6


def measure(name: str, session: Session, runs: int) -> str:
    account_id, after = fill(session)
    last_pages = INVOICES // PAGE_SIZE
    cursor = PageCursor(Direction.OLDER, after, last_pages)

    def first() -> None:
        page = first_page(session=session, account_id=account_id)
        assert len(page.invoices) == PAGE_SIZE
        assert page.number == 1

    def last() -> None:
        page = page_at(session=session, account_id=account_id, cursor=cursor)
        assert len(page.invoices) == PAGE_SIZE
        assert page.older is None

    def jump() -> None:
        page = page_number(session=session, account_id=account_id, number=last_pages)
        assert len(page.invoices) == PAGE_SIZE
        assert page.older is None

    def naive_offset() -> None:
        rows = session.execute(
            select(Invoice)
            .where(Invoice.account_id == account_id)
            .order_by(Invoice.sequence.desc())
            .offset(INVOICES - PAGE_SIZE)
            .limit(PAGE_SIZE)
        ).all()
        assert len(rows) == PAGE_SIZE
        session.expunge_all()

    for warm in (first, last, jump, naive_offset):
        warm()
    # Interleave the two timed queries so drift (caches, CPU frequency) hits both alike.
    firsts: list[float] = []
    lasts: list[float] = []
    for _ in range(max(1, runs // 20)):
        firsts.append(median_ms(first, 20))
        lasts.append(median_ms(last, 20))
    first_ms, last_ms = statistics.median(firsts), statistics.median(lasts)
    jump_ms = median_ms(jump, max(5, runs // 10))
    offset_ms = median_ms(naive_offset, max(5, runs // 10))
    ratio = last_ms / first_ms
    verdict = "within target" if ratio <= TARGET_RATIO else "ABOVE TARGET"
    print(f"{name}:")
    print(f"  first page (keyset)             {first_ms:8.3f} ms")
    print(f"  last page, page {last_pages:,} (keyset)  {last_ms:8.3f} ms")
    print(f"  ratio last/first                {ratio:8.2f}    ({verdict}: ≤ {TARGET_RATIO})")
    print(f"  jump to page {last_pages:,} by number    {jump_ms:8.3f} ms   (counts in the index)")
    print(f"  last page by OFFSET over rows   {offset_ms:8.3f} ms   (for contrast; not used)")
    if session.get_bind().dialect.name == "sqlite":
        plan = session.execute(
            text(
                "EXPLAIN QUERY PLAN SELECT id FROM invoices WHERE account_id = :a AND "
                "sequence < :s ORDER BY sequence DESC LIMIT 11"
            ),
            {"a": account_id, "s": after},
        ).all()
        print("  plan: " + "; ".join(str(row[-1]) for row in plan))
    return f"{name.partition(' ')[0]} last/first {ratio:.2f}x ({verdict}), jump {jump_ms:.2f} ms"


def run_sqlite(runs: int) -> str:
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        try:
            upgrade_to_head(engine)
            with Session(engine) as session, session.begin():
                return measure("SQLite (temporary file)", session, runs)
        finally:
            engine.dispose()


def run_postgresql(url: str, runs: int) -> str:
    engine: Engine = make_engine(url)
    try:
        upgrade_to_head(engine)
        with engine.connect() as connection:
            outer = connection.begin()
            try:
                with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
                    return measure("PostgreSQL (TEST_DATABASE_URL, rolled back)", session, runs)
            finally:
                outer.rollback()
    finally:
        engine.dispose()


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    print(
        f"Invoice paging: {INVOICES:,} invoices on one account (and {INVOICES:,} on another, "
        f"interleaved), {PAGE_SIZE} a page; medians of {runs} runs."
    )
    summaries = [run_sqlite(runs)]
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        summaries.append(run_postgresql(url, runs))
    else:
        print("PostgreSQL: skipped (set TEST_DATABASE_URL to measure it too)")
    print("SUMMARY " + "; ".join(summaries))  # the line benchmarks/run_all.py tabulates


if __name__ == "__main__":
    main()
