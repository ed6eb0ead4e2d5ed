"""Invoices in a real database: numbering, totals, state changes, and concurrent creation."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.errors import InvalidTransition, NotFound
from bot.invoices import create_invoice, get_invoice, mark_paid, transition, void
from bot.pricing import active_services, quote_credits_for, quote_service_for
from store.db import make_session_factory, transaction
from store.enums import InvoiceKind, InvoiceStatus, LineUnit, VatTreatment
from store.models import Account, AuditEntry, Invoice
from tests.conftest import NOW
from tests.factories import make_account


def service_id(session: Session, name: str) -> int:
    return next(s.id for s in active_services(session=session) if s.name == name)


def test_a_service_invoice_carries_its_lines_totals_and_vat(session: Session) -> None:
    account = make_account(session, now=NOW)
    quote = quote_service_for(
        session=session,
        account=account,
        service_id=service_id(session, "Consultancy"),
        hours=Decimal("2"),
        on=NOW.date(),
    )
    invoice = create_invoice(
        session=session,
        account=account,
        kind=InvoiceKind.SERVICES,
        quotes=[quote],
        actor="UADMIN",
        now=NOW,
    )
    session.expire_all()
    stored = session.get(Invoice, invoice.id)
    assert stored is not None
    assert stored.number.startswith("INV-")
    assert len(stored.number) == 10
    assert (stored.net_minor, stored.vat_minor, stored.gross_minor) == (19000, 3800, 22800)
    assert stored.vat_treatment is VatTreatment.UK_STANDARD
    assert stored.vat_rate == Decimal("0.2")
    assert stored.status is InvoiceStatus.OPEN
    assert stored.issue_date == NOW.date()
    assert stored.due_date == NOW.date() + timedelta(days=14)
    assert stored.created_at == NOW
    [line] = stored.lines
    assert (line.description, line.quantity, line.unit, line.unit_price_minor) == (
        "Consultancy",
        Decimal("2.00"),
        LineUnit.HOURS,
        9500,
    )
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.account_id == account.id)
    ).all()
    assert "invoice.created" in actions


def test_numbers_are_consecutive(session: Session) -> None:
    account = make_account(session, now=NOW)
    quote = quote_credits_for(session=session, account=account, quantity=10, on=NOW.date())
    numbers = [
        create_invoice(
            session=session,
            account=account,
            kind=InvoiceKind.CREDITS,
            quotes=[quote],
            actor="U1",
            now=NOW,
        ).sequence
        for _ in range(5)
    ]
    assert numbers == list(range(numbers[0], numbers[0] + 5))


def test_a_rolled_back_invoice_does_not_burn_its_number(session: Session) -> None:
    account = make_account(session, now=NOW)
    quote = quote_credits_for(session=session, account=account, quantity=10, on=NOW.date())

    def create() -> int:
        return create_invoice(
            session=session,
            account=account,
            kind=InvoiceKind.CREDITS,
            quotes=[quote],
            actor="U1",
            now=NOW,
        ).sequence

    first = create()
    savepoint = session.begin_nested()
    create()
    savepoint.rollback()
    assert create() == first + 1


def test_the_same_creation_key_creates_one_invoice(session: Session) -> None:
    account = make_account(session, now=NOW)
    quote = quote_credits_for(session=session, account=account, quantity=10, on=NOW.date())
    first = create_invoice(
        session=session,
        account=account,
        kind=InvoiceKind.CREDITS,
        quotes=[quote],
        actor="U1",
        now=NOW,
        creation_key="view:V123",
    )
    again = create_invoice(
        session=session,
        account=account,
        kind=InvoiceKind.CREDITS,
        quotes=[quote],
        actor="U1",
        now=NOW,
        creation_key="view:V123",
    )
    assert again.id == first.id
    count = session.scalars(select(Invoice).where(Invoice.account_id == account.id)).all()
    assert len(count) == 1


def test_wrong_transitions_are_refused_and_change_nothing(session: Session) -> None:
    account = make_account(session, now=NOW)
    quote = quote_credits_for(session=session, account=account, quantity=10, on=NOW.date())
    paid = create_invoice(
        session=session,
        account=account,
        kind=InvoiceKind.CREDITS,
        quotes=[quote],
        actor="U1",
        now=NOW,
    )
    mark_paid(session=session, invoice=paid, now=NOW, actor="U1")
    with pytest.raises(InvalidTransition, match="already paid"):
        mark_paid(session=session, invoice=paid, now=NOW, actor="U1")

    voided = create_invoice(
        session=session,
        account=account,
        kind=InvoiceKind.SERVICES,
        quotes=[quote],
        actor="U1",
        now=NOW,
    )
    void(session=session, invoice=voided, now=NOW, actor="U1")
    with pytest.raises(InvalidTransition, match="voided and cannot be paid"):
        mark_paid(session=session, invoice=voided, now=NOW, actor="U1")
    session.flush()
    session.expire_all()
    assert session.get(Invoice, voided.id).status is InvoiceStatus.VOID  # type: ignore[union-attr]
    assert session.get(Invoice, voided.id).paid_at is None  # type: ignore[union-attr]


def test_paying_then_back_to_open(session: Session) -> None:
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
    transition(invoice, InvoiceStatus.PAYING)
    transition(invoice, InvoiceStatus.OPEN)
    transition(invoice, InvoiceStatus.PAYING)
    mark_paid(session=session, invoice=invoice, now=NOW, actor="U1")
    assert invoice.status is InvoiceStatus.PAID
    assert invoice.paid_at == NOW


def test_another_accounts_invoice_is_not_found(session: Session) -> None:
    mine = make_account(session, now=NOW)
    theirs = make_account(session, now=NOW, admin_user_id="UOTHER")
    quote = quote_credits_for(session=session, account=theirs, quantity=10, on=NOW.date())
    invoice = create_invoice(
        session=session,
        account=theirs,
        kind=InvoiceKind.CREDITS,
        quotes=[quote],
        actor="U1",
        now=NOW,
    )
    with pytest.raises(NotFound):
        get_invoice(session=session, account_id=mine.id, invoice_id=invoice.id)
    assert get_invoice(session=session, account_id=theirs.id, invoice_id=invoice.id) is invoice


class _RollBack(Exception):
    """Raised inside a transaction on purpose, to roll it back."""


def _create_concurrently(engine: Engine, threads: int, per_thread: int) -> tuple[list[int], int]:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        account = make_account(session, now=NOW)
        quote = quote_credits_for(session=session, account=account, quantity=150, on=NOW.date())
        account_id = account.id
    rolled_back = 0
    lock = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def worker(index: int) -> None:
        nonlocal rolled_back
        start.wait()
        for i in range(per_thread):
            try:
                with transaction(factory) as session:
                    account = session.get_one(Account, account_id)
                    create_invoice(
                        session=session,
                        account=account,
                        kind=InvoiceKind.CREDITS,
                        quotes=[quote],
                        actor=f"U{index}",
                        now=NOW,
                    )
                    if (i + index) % 7 == 0:
                        raise _RollBack
            except _RollBack:
                with lock:
                    rolled_back += 1
            except BaseException as exc:  # collected and re-raised in the main thread
                errors.append(exc)
                return

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert not errors, errors
    with factory() as session:
        sequences = list(
            session.scalars(
                select(Invoice.sequence)
                .where(Invoice.account_id == account_id)
                .order_by(Invoice.sequence)
            )
        )
        numbers = list(
            session.scalars(select(Invoice.number).where(Invoice.account_id == account_id))
        )
    assert len(set(numbers)) == len(numbers)
    return sequences, rolled_back


@pytest.mark.postgres
def test_concurrent_creation_on_postgresql_is_gap_free(committing_engine: Engine) -> None:
    if committing_engine.dialect.name != "postgresql":
        pytest.skip("the 8-thread run is the PostgreSQL proof; SQLite runs the smaller one below")
    sequences, rolled_back = _create_concurrently(committing_engine, threads=8, per_thread=50)
    assert rolled_back > 0
    assert len(sequences) == 8 * 50 - rolled_back
    assert sequences == list(range(1, len(sequences) + 1))


def test_concurrent_creation_is_gap_free(committing_engine: Engine) -> None:
    sequences, rolled_back = _create_concurrently(committing_engine, threads=4, per_thread=10)
    assert rolled_back > 0
    assert sequences == list(range(1, 4 * 10 - rolled_back + 1))


def test_the_same_creation_key_racing_creates_one_invoice_and_burns_no_number(
    committing_engine: Engine,
) -> None:
    factory = make_session_factory(committing_engine)
    with transaction(factory) as session:
        account_id = make_account(session, now=NOW).id
    first_holds = threading.Event()
    release = threading.Event()
    results: dict[str, int] = {}
    errors: list[BaseException] = []

    def create(name: str, hold: bool) -> None:
        try:
            with transaction(factory) as session:
                account = session.get_one(Account, account_id)
                quote = quote_credits_for(
                    session=session, account=account, quantity=5, on=NOW.date()
                )
                invoice = create_invoice(
                    session=session,
                    account=account,
                    kind=InvoiceKind.SERVICES,
                    quotes=[quote],
                    actor="U1",
                    now=NOW,
                    creation_key="services:V-RACE",
                )
                results[name] = invoice.id
                if hold:
                    first_holds.set()
                    release.wait(10)
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    first = threading.Thread(target=create, args=("first", True))
    first.start()
    assert first_holds.wait(10)
    second = threading.Thread(target=create, args=("second", False))
    second.start()
    second.join(0.3)  # it is now waiting for the first transaction's lock
    release.set()
    first.join(10)
    second.join(10)
    assert not errors, errors
    assert results["first"] == results["second"]
    with transaction(factory) as session:
        account = session.get_one(Account, account_id)
        quote = quote_credits_for(session=session, account=account, quantity=5, on=NOW.date())
        following = create_invoice(
            session=session,
            account=account,
            kind=InvoiceKind.SERVICES,
            quotes=[quote],
            actor="U1",
            now=NOW,
        )
        sequences = sorted(session.scalars(select(Invoice.sequence)))
    assert sequences == [1, 2]
    assert following.sequence == 2
