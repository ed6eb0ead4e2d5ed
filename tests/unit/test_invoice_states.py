import pytest

from bot.errors import InvalidTransition
from bot.invoices import TRANSITIONS, format_invoice_number, transition
from store.enums import InvoiceStatus
from store.models import Invoice

ALLOWED = {
    (InvoiceStatus.OPEN, InvoiceStatus.PAYING),
    (InvoiceStatus.OPEN, InvoiceStatus.PAID),
    (InvoiceStatus.OPEN, InvoiceStatus.VOID),
    (InvoiceStatus.PAYING, InvoiceStatus.PAID),
    (InvoiceStatus.PAYING, InvoiceStatus.OPEN),
}


def invoice_in(status: InvoiceStatus) -> Invoice:
    return Invoice(number="INV-000042", status=status)


def test_the_table_is_exactly_the_documented_machine() -> None:
    table = {(start, end) for start, ends in TRANSITIONS.items() for end in ends}
    assert table == ALLOWED


@pytest.mark.parametrize("start", list(InvoiceStatus))
@pytest.mark.parametrize("end", list(InvoiceStatus))
def test_only_allowed_moves_happen(start: InvoiceStatus, end: InvoiceStatus) -> None:
    invoice = invoice_in(start)
    if (start, end) in ALLOWED:
        transition(invoice, end)
        assert invoice.status is end
    else:
        with pytest.raises(InvalidTransition):
            transition(invoice, end)
        assert invoice.status is start


def test_paying_a_void_invoice_is_refused_clearly() -> None:
    with pytest.raises(InvalidTransition, match="INV-000042 has been voided and cannot be paid"):
        transition(invoice_in(InvoiceStatus.VOID), InvoiceStatus.PAID)


def test_paying_a_paid_invoice_is_refused_clearly() -> None:
    with pytest.raises(InvalidTransition, match="INV-000042 is already paid"):
        transition(invoice_in(InvoiceStatus.PAID), InvoiceStatus.PAID)
    with pytest.raises(InvalidTransition, match="already paid"):
        transition(invoice_in(InvoiceStatus.PAID), InvoiceStatus.PAYING)


def test_numbers_are_zero_padded() -> None:
    assert format_invoice_number(1) == "INV-000001"
    assert format_invoice_number(123) == "INV-000123"
