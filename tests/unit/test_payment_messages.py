"""Payment messages, decline wording and the payment state machine: pure, no I/O."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.dashboard import CardOnFile
from bot.errors import InvalidTransition
from bot.money import Money
from bot.payments import (
    PAYMENT_TRANSITIONS,
    UNREACHABLE,
    BillingAddress,
    PaymentOutcome,
    decline_reason,
    transition_payment,
)
from bot.ui import finance as finance_ui
from bot.ui import payments as ui
from store.enums import PaymentStatus
from store.models import Payment

VISA = CardOnFile(brand="visa", last4="4242", exp_month=12, exp_year=2030)
PAID = PaymentOutcome(
    payment_id=7,
    account_id=1,
    status=PaymentStatus.SUCCEEDED,
    amount=Money(10800, "GBP"),
    invoice_numbers=("INV-000001",),
    credits_granted=100,
    credits_balance=150,
    card=VISA,
    reason=None,
    failure_code=None,
    payment_link=None,
    needs_card=False,
    settled_now=True,
    requested_by="UADMIN",
    channel_id="C0PORTAL",
    finance_channel_id="C0FINANCE",
)


def test_the_success_message() -> None:
    assert ui.payment_message(PAID) == {
        "text": "Your transaction was successful",
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": ":white_check_mark: Your transaction was successful",
                },
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "£108.00 paid for invoice INV-000001 with Visa •••• 4242.",
                    }
                ],
            },
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": "100 credits added: the balance is now 150 credits."}
                ],
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Return to Account"},
                        "action_id": "return_to_account",
                    }
                ],
            },
        ],
    }


def test_the_payment_link_message_says_why_and_links_the_page() -> None:
    waiting = replace(
        PAID,
        status=PaymentStatus.REQUIRES_ACTION,
        invoice_numbers=("INV-000001", "INV-000002", "INV-000003"),
        payment_link="https://portal.example/secure/pay/TOKEN",
        failure_code="authentication_required",
    )
    message = ui.payment_message(waiting)
    assert message["text"] == (
        "Your bank needs you to confirm this payment. Open the secure payment page to pay "
        "£108.00 for invoices INV-000001, INV-000002 and INV-000003."
    )
    button = message["blocks"][1]["elements"][0]
    assert (button["url"], button["action_id"], button["style"]) == (
        "https://portal.example/secure/pay/TOKEN",
        "open_link",
        "primary",
    )
    no_card = ui.payment_message(replace(waiting, needs_card=True, card=None))
    assert no_card["text"].startswith("There is no valid card on file")
    assert finance_ui.payment_notice(waiting, by="<@UADMIN>") is None  # not news to finance


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (
            replace(
                PAID,
                status=PaymentStatus.FAILED,
                reason="The card has expired.",
                failure_code="expired_card",
            ),
            "didn't go through. The card has expired. Nothing was charged",
        ),
        (
            replace(PAID, status=PaymentStatus.PROCESSING, failure_code=UNREACHABLE),
            "Please try again in a minute: you will not be charged twice.",
        ),
        (
            replace(PAID, status=PaymentStatus.CREATED),
            "is already being processed",
        ),
    ],
)
def test_every_outcome_has_its_message(outcome: PaymentOutcome, expected: str) -> None:
    assert expected in ui.payment_message(outcome)["text"]


def test_decline_codes_in_plain_english() -> None:
    assert decline_reason("card_declined", "insufficient_funds") == (
        "The card doesn't have enough money available."
    )
    assert decline_reason("expired_card") == "The card has expired."
    assert decline_reason("incorrect_cvc") == "The card's security code (CVC) is not right."
    # Stripe asks that these reasons stay unsaid.
    assert decline_reason("card_declined", "stolen_card") == decline_reason("card_declined")
    assert decline_reason(None) == "Your bank declined the card without giving a reason."


def test_the_payment_state_machine_refuses_the_rest() -> None:
    payment = Payment(status=PaymentStatus.CREATED)
    transition_payment(payment, PaymentStatus.PROCESSING)
    transition_payment(payment, PaymentStatus.SUCCEEDED)
    assert PAYMENT_TRANSITIONS[PaymentStatus.SUCCEEDED] == frozenset()
    with pytest.raises(InvalidTransition):
        transition_payment(payment, PaymentStatus.FAILED)
    failed = Payment(status=PaymentStatus.FAILED)
    with pytest.raises(InvalidTransition):
        transition_payment(failed, PaymentStatus.PROCESSING)


def test_the_billing_address_names_each_bad_field() -> None:
    address = BillingAddress(
        forename=" ", surname="Lovelace", line1="", town="London", postcode="x" * 21, country="UK1"
    )
    assert address.problems() == {
        "forename": "Enter the forename.",
        "line1": "Enter the first line of the address.",
        "postcode": "Use at most 20 characters.",
        "country": "Choose the country from the list.",
    }
