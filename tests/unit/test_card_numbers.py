import pytest

from bot.card_numbers import (
    CARD_NUMBER_MESSAGE,
    looks_like_card_number,
    luhn_valid,
    refuse_card_number,
)
from bot.errors import FieldError


@pytest.mark.parametrize(
    "text",
    [
        "4242424242424242",
        "4242 4242 4242 4242",
        "my card is 4000-0025-0000-3155 thanks",
        "5555555555554444",
        "378282246310005",  # Amex, 15 digits
        "6011111111111117",
    ],
)
def test_card_numbers_are_spotted(text: str) -> None:
    assert looks_like_card_number(text)
    with pytest.raises(FieldError, match=CARD_NUMBER_MESSAGE) as caught:
        refuse_card_number(text, field="email")
    assert caught.value.field == "email"


@pytest.mark.parametrize(
    "text",
    [
        "4242424242424241",  # fails the Luhn check
        "1000000000000",  # 10^12 credits: no card prefix, not Luhn-valid
        "+44 20 7946 0018",
        "+4420794600181234",  # an international number, not a card
        "150",
        "DE136695976",
        "12345678901234567890123",  # longer than any card number
        "",
    ],
)
def test_other_numbers_pass(text: str) -> None:
    assert not looks_like_card_number(text)
    assert refuse_card_number(text, field="x") == text


def test_luhn() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
