from decimal import Decimal

import pytest
from babel.numbers import format_currency, get_currency_precision
from hypothesis import given
from hypothesis import strategies as st

from bot.money import Money, round_half_up, total


def test_formats_pounds_with_grouping_and_pence() -> None:
    assert Money(123456, "GBP").format() == "£1,234.56"
    assert Money(5, "GBP").format() == "£0.05"
    assert Money(-250, "EUR").format() == "-€2.50"


def test_refuses_floats_and_bools() -> None:
    with pytest.raises(TypeError):
        Money(1.5, "GBP")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "GBP")
    with pytest.raises(TypeError):
        Money(100, "GBP").times(0.2)  # type: ignore[arg-type]


def test_refuses_mixing_currencies() -> None:
    with pytest.raises(ValueError, match="GBP with EUR"):
        Money(100, "GBP") + Money(100, "EUR")


def test_from_decimal_refuses_fractions_of_a_penny() -> None:
    assert Money.from_decimal(Decimal("12.50"), "GBP") == Money(1250, "GBP")
    with pytest.raises(ValueError, match="whole number of minor units"):
        Money.from_decimal(Decimal("0.001"), "GBP")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2.5", 3), ("3.5", 4), ("2.4999", 2), ("-2.5", -3), ("0.5", 1), ("1", 1)],
)
def test_rounds_half_up_away_from_zero(value: str, expected: int) -> None:
    assert round_half_up(Decimal(value)) == expected


def test_times_rounds_once() -> None:
    # 20% of 1,234p is 246.8p: 247p, not a float 246.79999.
    assert Money(1234, "GBP").times(Decimal("0.20")) == Money(247, "GBP")
    assert Money(9500, "GBP").times(Decimal("0.25")) == Money(2375, "GBP")


@given(st.lists(st.integers(min_value=-(10**12), max_value=10**12), max_size=20))
def test_total_is_the_integer_sum(amounts: list[int]) -> None:
    result = total([Money(a, "GBP") for a in amounts], "GBP")
    assert result == Money(sum(amounts), "GBP")
    assert type(result.amount_minor) is int


LOCALES = ("en_GB", "de_DE", "fr_FR", "de_CH", "en_IN", "nl_NL", "ja_JP")
CURRENCIES = ("GBP", "EUR", "USD", "JPY", "CHF", "INR", "BHD")


@given(
    st.integers(min_value=-(10**18), max_value=10**18),
    st.sampled_from(CURRENCIES),
    st.sampled_from(LOCALES),
)
def test_format_says_exactly_what_babel_says(amount: int, currency: str, locale: str) -> None:
    major = Decimal(amount).scaleb(-get_currency_precision(currency))
    assert Money(amount, currency).format(locale) == format_currency(major, currency, locale=locale)


@pytest.mark.parametrize("amount", [0, 1, -1, 99, 100, 123456, -123456, 10**15, -(10**17)])
def test_format_edges_match_babel(amount: int) -> None:
    for currency in CURRENCIES:
        major = Decimal(amount).scaleb(-get_currency_precision(currency))
        assert Money(amount, currency).format() == format_currency(major, currency, locale="en_GB")
