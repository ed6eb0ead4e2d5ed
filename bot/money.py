"""Money in integer minor units with its currency. Never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, get_currency_precision


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
        """`£1,234.56` — for Slack text and PDFs only, never for arithmetic."""
        return str(format_currency(self.major, self.currency, locale=locale))

    def __str__(self) -> str:
        return self.format()


def total(amounts: list[Money], currency: str) -> Money:
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result
