"""Money in integer minor units with its currency. Never a float."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale
from babel.numbers import (
    format_currency,
    get_currency_precision,
    get_decimal_symbol,
    get_group_symbol,
)


def minor_unit_exponent(currency: str) -> int:
    """Decimal places of `currency`'s minor unit (2 for GBP and EUR, 0 for JPY)."""
    return int(get_currency_precision(currency))


def round_half_up(value: Decimal) -> int:
    """Round an amount in minor units to a whole minor unit, halves away from zero.

    This is the one rounding rule for money (docs/adr/0001-money-and-rounding.md).
    """
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True, order=False)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int):
            raise TypeError(f"Money needs integer minor units, got {self.amount_minor!r}")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise ValueError(f"not an ISO 4217 currency code: {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, major: Decimal, currency: str) -> Money:
        """Exact major units (`Decimal('12.50')`) to Money; refuses fractions of a minor unit."""
        if not isinstance(major, Decimal):
            raise TypeError("Money.from_decimal needs a Decimal")
        scaled = major.scaleb(minor_unit_exponent(currency))
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{major} {currency} is not a whole number of minor units")
        return cls(int(scaled), currency)

    def _same_currency(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount_minor < other.amount_minor

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount_minor <= other.amount_minor

    def times(self, factor: Decimal | int) -> Money:
        """This amount times an exact factor (a quantity or a rate), rounded half-up once."""
        if isinstance(factor, float):
            raise TypeError("Money.times refuses floats; pass a Decimal")
        return Money(round_half_up(Decimal(self.amount_minor) * Decimal(factor)), self.currency)

    @property
    def major(self) -> Decimal:
        return Decimal(self.amount_minor).scaleb(-minor_unit_exponent(self.currency))

    def format(self, locale: str = "en_GB") -> str:
        """`£1,234.56` — for Slack text and PDFs only, never for arithmetic.

        Exactly what babel's `format_currency` says, through a pattern checked against babel
        once per currency and locale (babel itself takes ~0.2 ms a call; a long invoice PDF
        formats hundreds of amounts).
        """
        pattern = _currency_pattern(self.currency, locale)
        if pattern is not None and len(str(abs(self.amount_minor))) <= _FAST_DIGITS:
            return pattern.apply(self.amount_minor)
        return _babel_format(self.amount_minor, self.currency, locale)

    def __str__(self) -> str:
        return self.format()


# -- Formatting ----------------------------------------------------------------------------------

_FAST_DIGITS = 15  # amounts with more digits than this go to babel every time


def _babel_format(amount_minor: int, currency: str, locale: str) -> str:
    major = Decimal(amount_minor).scaleb(-minor_unit_exponent(currency))
    return str(format_currency(major, currency, locale=locale))


def _group(digits: str, separator: str, primary: int, secondary: int) -> str:
    """`1234567` → `1,234,567` (3, 3) or `12,34,567` (3, 2)."""
    if len(digits) <= primary:
        return digits
    head, groups = digits[:-primary], [digits[-primary:]]
    while len(head) > secondary:
        groups.append(head[-secondary:])
        head = head[:-secondary]
    groups.append(head)
    return separator.join(reversed(groups))


@dataclass(frozen=True, slots=True)
class _CurrencyPattern:
    """How one locale writes one currency: the text around the number for each sign, the
    group and decimal symbols and the grouping sizes."""

    precision: int
    positive: tuple[str, str]
    negative: tuple[str, str]
    group: str
    decimal: str
    primary: int
    secondary: int

    def number(self, magnitude: int) -> str:
        digits = str(magnitude).rjust(self.precision + 1, "0")
        whole = digits[: len(digits) - self.precision] if self.precision else digits
        grouped = _group(whole, self.group, self.primary, self.secondary)
        if not self.precision:
            return grouped
        return f"{grouped}{self.decimal}{digits[-self.precision :]}"

    def apply(self, amount_minor: int) -> str:
        prefix, suffix = self.negative if amount_minor < 0 else self.positive
        return f"{prefix}{self.number(abs(amount_minor))}{suffix}"


def _probes(precision: int) -> list[int]:
    """Amounts of every length up to `_FAST_DIGITS` digits, of both signs, and zero."""
    digits = "9876543210987654321"
    lengths = range(1, _FAST_DIGITS + 1)
    amounts = [int(digits[:n]) for n in lengths] + [10**n for n in range(precision + 4)]
    return [0, *amounts, *(-a for a in amounts)]


@functools.lru_cache(maxsize=256)
def _currency_pattern(currency: str, locale: str) -> _CurrencyPattern | None:
    """The pattern for `currency` in `locale`, or None when it does not reproduce babel's
    output for every probe (a locale rule this shortcut does not model): babel then formats
    every amount itself."""
    try:
        parsed = Locale.parse(locale)
        grouping = parsed.currency_formats["standard"].grouping
        pattern = _CurrencyPattern(
            precision=minor_unit_exponent(currency),
            positive=("", ""),
            negative=("", ""),
            group=str(get_group_symbol(parsed)),
            decimal=str(get_decimal_symbol(parsed)),
            primary=int(grouping[0]),
            secondary=int(grouping[1]),
        )
    except (KeyError, ValueError, TypeError, IndexError):
        return None
    affixes = []
    for probe in (123456789, -123456789):
        shown = _babel_format(probe, currency, locale)
        prefix, found, suffix = shown.partition(pattern.number(abs(probe)))
        if not found or pattern.number(abs(probe)) in suffix:
            return None
        affixes.append((prefix, suffix))
    pattern = _CurrencyPattern(
        precision=pattern.precision,
        positive=affixes[0],
        negative=affixes[1],
        group=pattern.group,
        decimal=pattern.decimal,
        primary=pattern.primary,
        secondary=pattern.secondary,
    )
    for probe in _probes(pattern.precision):
        if pattern.apply(probe) != _babel_format(probe, currency, locale):
            return None
    return pattern


def total(amounts: list[Money], currency: str) -> Money:
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result
