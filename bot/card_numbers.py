"""Spotting card numbers typed where they must never be: Slack keeps what is typed there."""

from __future__ import annotations

import re

from bot.errors import FieldError

CARD_NUMBER_MESSAGE = "Please don't paste card numbers into Slack."
# 13 to 19 digits, optionally grouped by single spaces or dashes; not part of a longer number.
_CANDIDATE = re.compile(r"(?<![\d+])\d(?:[ -]?\d){12,18}(?!\d)")
_CARD_PREFIXES = ("2", "3", "4", "5", "6")  # Mastercard 2-series, Amex/Diners/JCB, Visa, ...


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def looks_like_card_number(text: str) -> bool:
    """True when `text` holds a Luhn-valid 13-19 digit number with a card network's prefix."""
    for match in _CANDIDATE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if digits.startswith(_CARD_PREFIXES) and luhn_valid(digits):
            return True
    return False


def refuse_card_number(text: str, *, field: str) -> str:
    """`text` unchanged, or a `FieldError` on `field` when it holds a card number."""
    if looks_like_card_number(text):
        raise FieldError(field, CARD_NUMBER_MESSAGE)
    return text
