"""Quotes: documented tier prices, gross = net + VAT always, and no float anywhere."""

import ast
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import FieldError
from bot.money import Money
from bot.quotes import (
    PriceTier,
    Quote,
    parse_credit_quantity,
    parse_hours,
    quote_credits,
    quote_service_hours,
)
from store.enums import LineUnit, VatTreatment

TODAY = date(2026, 11, 24)
TIERS = [
    PriceTier(1, 99, Money(100, "GBP")),
    PriceTier(100, 499, Money(90, "GBP")),
    PriceTier(500, None, Money(80, "GBP")),
]
treatments = st.sampled_from(list(VatTreatment))
hours = st.integers(min_value=1, max_value=4000).map(lambda quarters: Decimal(quarters) / 4)


def assert_exact(quote: Quote) -> None:
    for money in (quote.unit_price, quote.net, quote.vat, quote.gross):
        assert type(money.amount_minor) is int
    assert isinstance(quote.quantity, Decimal)
    assert isinstance(quote.vat_rate, Decimal)
    assert quote.gross == quote.net + quote.vat


@given(st.integers(min_value=1, max_value=1_000_000), treatments)
def test_credit_quotes_add_up(quantity: int, treatment: VatTreatment) -> None:
    quote = quote_credits(quantity, tiers=TIERS, treatment=treatment, on=TODAY)
    assert_exact(quote)
    assert quote.net == quote.unit_price.times(quantity)
    assert quote.unit is LineUnit.CREDITS


@given(hours, st.integers(min_value=1, max_value=100_000), treatments)
def test_service_quotes_add_up(quantity: Decimal, rate_minor: int, treatment: VatTreatment) -> None:
    quote = quote_service_hours(
        service_name="Consultancy",
        hourly_rate=Money(rate_minor, "GBP"),
        hours=quantity,
        treatment=treatment,
        on=TODAY,
    )
    assert_exact(quote)


@pytest.mark.parametrize(
    ("quantity", "unit_minor", "net_minor"),
    [
        (1, 100, 100),
        (99, 100, 9900),
        (100, 90, 9000),
        (499, 90, 44910),
        (500, 80, 40000),
        (1_000_000, 80, 80_000_000),
    ],
)
def test_tier_boundaries_price_as_documented(
    quantity: int, unit_minor: int, net_minor: int
) -> None:
    quote = quote_credits(quantity, tiers=TIERS, treatment=VatTreatment.UK_STANDARD, on=TODAY)
    assert quote.unit_price == Money(unit_minor, "GBP")
    assert quote.net == Money(net_minor, "GBP")


@given(st.integers(min_value=1, max_value=1_000_000))
def test_a_larger_order_never_costs_less_per_credit(quantity: int) -> None:
    small = quote_credits(quantity, tiers=TIERS, treatment=VatTreatment.OUTSIDE_SCOPE, on=TODAY)
    assert Money(80, "GBP") <= small.unit_price <= Money(100, "GBP")


def test_consultancy_hours_quote() -> None:
    quote = quote_service_hours(
        service_name="Consultancy",
        hourly_rate=Money(9500, "GBP"),
        hours=Decimal("2.25"),
        treatment=VatTreatment.UK_STANDARD,
        on=TODAY,
    )
    assert (quote.net, quote.vat, quote.gross) == (
        Money(21375, "GBP"),
        Money(4275, "GBP"),
        Money(25650, "GBP"),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "at least 1 credit"),
        ("-5", "at least 1 credit"),
        ("abc", "whole number of credits"),
        ("1.5", "whole number of credits"),
        ("", "whole number of credits"),
        ("NaN", "whole number of credits"),
        ("1e3", "whole number of credits"),
        (str(10**12), "at most 1,000,000"),
        ("9" * 5000, "whole number of credits"),
    ],
)
def test_bad_credit_quantities_are_refused(text: str, message: str) -> None:
    with pytest.raises(FieldError, match=message) as caught:
        parse_credit_quantity(text)
    assert caught.value.field == "credits"


def test_credit_quantities_accept_grouping_and_spaces() -> None:
    assert parse_credit_quantity(" 150 ") == 150
    assert parse_credit_quantity("1,000") == 1000
    assert parse_credit_quantity("1,000,000") == 1_000_000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "at least 0.25"),
        ("0.1", "at least 0.25"),
        ("0.3", "multiple of 0.25"),
        ("x", "number of hours"),
        ("Infinity", "number of hours"),
        ("1000.25", "at most 1,000"),
        ("-2", "at least 0.25"),
    ],
)
def test_bad_hours_are_refused(text: str, message: str) -> None:
    with pytest.raises(FieldError, match=message) as caught:
        parse_hours(text)
    assert caught.value.field == "hours"


def test_hours_in_quarters_are_accepted() -> None:
    assert parse_hours("0.25") == Decimal("0.25")
    assert parse_hours("1.5") == Decimal("1.50")
    assert parse_hours("1000") == Decimal("1000.00")


MONEY_PATHS = ["money", "vat", "quotes", "pricing", "invoices", "credits"]


@pytest.mark.parametrize("module", MONEY_PATHS)
def test_no_float_in_money_paths(module: str) -> None:
    source = (Path(__file__).parents[2] / "bot" / f"{module}.py").read_text()
    tree = ast.parse(source)
    offenders = [
        node.lineno
        for node in ast.walk(tree)
        if (isinstance(node, ast.Constant) and type(node.value) is float)
        or (isinstance(node, ast.Name) and node.id == "float" and not _in_isinstance(tree, node))
        or (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div))
    ]
    assert offenders == [], f"float or true division in bot/{module}.py at lines {offenders}"


def _in_isinstance(tree: ast.AST, name: ast.Name) -> bool:
    """`isinstance(x, float)` is how Money refuses floats; that mention is allowed."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "isinstance"
            and name in node.args
        ):
            return True
    return False
