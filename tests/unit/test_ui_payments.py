"""The payment screens' builders: payment details, the billing address, the pay modal and the
modal Pay Now leaves ("Working…", then the outcome). Golden dicts, and views Slack accepts."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from bot.countries import country_names
from bot.dashboard import CardOnFile
from bot.invoice_list import InvoiceSummary, UnpaidInvoices
from bot.money import Money
from bot.payments import INVOICES_FIELD, BillingAddress, PaymentOutcome
from bot.sandbox.slack_api import validate_blocks, validate_view
from bot.ui import payments as ui
from bot.ui.ids import Act, Blk, Cb
from store.enums import InvoiceStatus, PaymentStatus
from store.models import Account

TODAY = date(2026, 11, 24)
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


def invoice(number: int, status: InvoiceStatus = InvoiceStatus.OPEN) -> InvoiceSummary:
    return InvoiceSummary(
        id=100 + number,
        sequence=number,
        number=f"INV-{number:06d}",
        issue_date=date(2026, 11, 1) + timedelta(days=number - 1),
        due_date=date(2026, 11, 15) + timedelta(days=number - 1),
        status=status,
        gross=Money(10000 * number, "GBP"),
    )


def unpaid(*invoices: InvoiceSummary, count: int | None = None) -> UnpaidInvoices:
    total = sum((i.gross for i in invoices), Money.zero("GBP"))
    return UnpaidInvoices(invoices=list(invoices), count=count or len(invoices), total=total)


def action_ids(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["action_id"]} if isinstance(value.get("action_id"), str) else set()
        return found.union(*(action_ids(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(action_ids(v) for v in value))
    return set()


# -- Payment details ------------------------------------------------------------------------------


def test_payment_details_for_an_admin_with_a_card_golden() -> None:
    message = ui.payment_details_message(VISA, valid=True, can_manage=True, configured=True)
    assert message == {
        "text": "*Card on file*\nVisa •••• 4242, expires 12/2030",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Payment details"}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*Card on file*\nVisa •••• 4242, expires 12/2030\n"
                    "It pays future invoices automatically.",
                },
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Change Payment Details"},
                        "action_id": Act.ADD_PAYMENT_DETAILS,
                        "style": "primary",
                    },
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Return to Account"},
                        "action_id": Act.RETURN_TO_ACCOUNT,
                    },
                ],
            },
        ],
    }


@pytest.mark.parametrize("card", [None, replace(VISA, exp_year=2025)])
def test_no_valid_card_offers_add_payment_details(card: CardOnFile | None) -> None:
    message = ui.payment_details_message(card, valid=False, can_manage=True, configured=True)
    assert message["text"] == "You don't have any valid payment details."
    buttons = message["blocks"][-1]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Add Payment Details", "Return to Account"]
    if card is not None:
        assert "The card on file, Visa •••• 4242, expires 12/2025, has expired." in json.dumps(
            message, ensure_ascii=False
        )
    assert validate_blocks(message["blocks"]) == []


def test_payment_details_for_others_and_without_stripe() -> None:
    others = ui.payment_details_message(VISA, valid=True, can_manage=False, configured=True)
    assert action_ids(others) == {Act.RETURN_TO_ACCOUNT}
    unset = ui.payment_details_message(None, valid=False, can_manage=True, configured=False)
    assert action_ids(unset) == {Act.RETURN_TO_ACCOUNT}
    assert unset["blocks"][2] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f":information_source: {ui.PAYMENTS_NOT_SET_UP}"}],
    }


def test_the_billing_address_modal_asks_for_what_the_service_checks() -> None:
    account = Account(country="GB", billing_forename="Ada", billing_town="London")
    view = ui.billing_address_modal(
        account, countries=country_names(), changing=False, channel_id="C0PORTAL"
    )
    assert (view["callback_id"], view["title"]["text"], view["submit"]["text"]) == (
        Cb.BILLING_ADDRESS,
        "Add Payment Details",
        "Add Card",
    )
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    # Each input's block id is the field name BillingAddress.problems() reports.
    assert {b["block_id"] for b in inputs} == {f.name for f in dataclasses.fields(BillingAddress)}
    assert [b["label"]["text"] for b in inputs] == [
        "Forename",
        "Surname",
        "Address line 1",
        "Address line 2",
        "Town or city",
        "Postcode",
        "Country",
    ]
    assert [b["block_id"] for b in inputs if b["optional"]] == [Blk.LINE2]
    assert inputs[0]["element"]["initial_value"] == "Ada"
    assert inputs[4]["element"]["initial_value"] == "London"
    country = inputs[-1]["element"]
    assert (country["type"], country["action_id"]) == ("external_select", Act.COUNTRY_INPUT)
    assert country["initial_option"]["value"] == "GB"
    assert json.loads(view["private_metadata"]) == {"channel": "C0PORTAL"}
    assert "card number" in view["blocks"][0]["text"]["text"]
    assert validate_view(view) == []
    changing = ui.billing_address_modal(account, countries=country_names(), changing=True)
    assert changing["title"]["text"] == "Change Payment Details"
    assert changing["private_metadata"] == ""


# -- The pay modal --------------------------------------------------------------------------------


def test_the_pay_modal_golden() -> None:
    view = ui.pay_invoices_modal(
        unpaid(invoice(1), invoice(2)),
        chosen=[102],
        today=TODAY,
        card=VISA,
        card_valid=True,
        channel_id="C0PORTAL",
    )
    assert view == {
        "type": "modal",
        "callback_id": Cb.PAY_INVOICES,
        "title": {"type": "plain_text", "text": "Pay invoices"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "submit": {"type": "plain_text", "text": "Pay Now"},
        "private_metadata": '{"channel": "C0PORTAL"}',
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "Pay Now takes one payment for the invoices ticked, from "
                    "Visa •••• 4242, expires 12/2030.",
                },
            },
            {
                "type": "input",
                "block_id": Blk.INVOICES,
                "dispatch_action": True,
                "label": {"type": "plain_text", "text": "Invoices to pay"},
                "element": {
                    "type": "checkboxes",
                    "action_id": Act.INVOICES_INPUT,
                    "options": [
                        {
                            "text": {"type": "mrkdwn", "text": "*INV-000001* · £100.00"},
                            "description": {
                                "type": "plain_text",
                                "text": "Issued 1 Nov 2026 · due 15 Nov 2026 · Overdue",
                            },
                            "value": "101",
                        },
                        {
                            "text": {"type": "mrkdwn", "text": "*INV-000002* · £200.00"},
                            "description": {
                                "type": "plain_text",
                                "text": "Issued 2 Nov 2026 · due 16 Nov 2026 · Overdue",
                            },
                            "value": "102",
                        },
                    ],
                    "initial_options": [
                        {
                            "text": {"type": "mrkdwn", "text": "*INV-000002* · £200.00"},
                            "description": {
                                "type": "plain_text",
                                "text": "Issued 2 Nov 2026 · due 16 Nov 2026 · Overdue",
                            },
                            "value": "102",
                        }
                    ],
                },
                "optional": False,
            },
            {
                "type": "section",
                "block_id": Blk.PAY_TOTAL,
                "text": {"type": "mrkdwn", "text": "*Total to pay:* £200.00 (1 invoice)"},
            },
        ],
    }
    assert validate_view(view) == []
    assert Blk.INVOICES == INVOICES_FIELD  # the service's errors land under the checkboxes


def test_the_pay_modal_without_a_card_and_with_nothing_ticked() -> None:
    view = ui.pay_invoices_modal(
        unpaid(invoice(1)), chosen=[], today=TODAY, card=None, card_valid=False
    )
    text = json.dumps(view, ensure_ascii=False)
    assert "There is no valid card on file: Pay Now gives you a link" in text
    assert "*Total to pay:* nothing yet: tick the invoices to pay." in text
    assert "initial_options" not in view["blocks"][1]["element"]
    assert validate_view(view) == []


def test_the_pay_modal_keeps_within_slacks_ten_checkboxes() -> None:
    many = [invoice(n) for n in range(1, 21)]
    many[3] = invoice(4, InvoiceStatus.PAYING)
    extra = invoice(25)  # beyond the unpaid list: named by "Pay now"
    view = ui.pay_invoices_modal(
        unpaid(*many, count=30),
        first=[125],
        chosen=[125],
        today=TODAY,
        card=VISA,
        card_valid=True,
        also=[extra],
    )
    options = view["blocks"][1]["element"]["options"]
    assert [o["value"] for o in options] == [
        *(str(100 + n) for n in (1, 2, 3, 5, 6, 7, 8, 9, 10)),
        "125",
    ]
    assert view["blocks"][1]["element"]["initial_options"] == [options[-1]]
    notes = [b["elements"][0]["text"] for b in view["blocks"] if b["type"] == "context"]
    assert notes == [
        "Showing 10 of your 30 unpaid invoices, oldest first; pay the rest afterwards.",
        "Already being paid: INV-000004.",
    ]
    assert validate_view(view) == []


def test_invoices_to_offer_puts_the_named_ones_first_then_the_oldest() -> None:
    listed = [invoice(n) for n in range(1, 13)]
    offered = ui.invoices_to_offer(listed, [112, 111])
    assert [i.id for i in offered] == [101, 102, 103, 104, 105, 106, 107, 108, 111, 112]
    assert ui.invoices_to_offer([invoice(1, InvoiceStatus.PAID)], [101]) == []


def test_nothing_to_pay() -> None:
    assert ui.nothing_to_pay_message(unpaid())["text"] == "You have no unpaid invoices."
    busy = ui.nothing_to_pay_message(unpaid(invoice(3, InvoiceStatus.PAYING)))
    assert busy["text"] == (
        "Your unpaid invoices are already being paid: INV-000003. There is nothing to pay now."
    )


# -- After Pay Now --------------------------------------------------------------------------------


def test_working_then_the_outcome_in_the_same_modal() -> None:
    working = ui.paying_for_credits(150, external_id="paying:V1")
    assert working == {
        "type": "modal",
        "callback_id": Cb.NOTICE,
        "title": {"type": "plain_text", "text": "Purchase credits"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": ":hourglass_flowing_sand: Paying for 150 credits…",
                },
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "This takes a few seconds. The outcome is shown here and sent "
                        "to you too.",
                    }
                ],
            },
        ],
        "private_metadata": "",
        "external_id": "paying:V1",
        "clear_on_close": True,
    }
    assert "Paying 2 invoices…" in json.dumps(
        ui.paying_invoices(2, external_id="x"), ensure_ascii=False
    )
    done = ui.payment_result_modal(PAID, title="Purchase credits", external_id="paying:V1")
    assert done["external_id"] == "paying:V1"
    assert done["blocks"] == ui.payment_message(PAID)["blocks"][:-1]  # not "Return to Account"
    assert validate_view(done) == []


def test_the_outcome_modal_keeps_the_payment_page_link() -> None:
    waiting = replace(
        PAID,
        status=PaymentStatus.REQUIRES_ACTION,
        payment_link="https://portal.example/secure/pay/TOKEN",
    )
    done = ui.payment_result_modal(waiting, title="Pay invoices", external_id="e")
    assert action_ids(done) == {Act.OPEN_LINK}
    assert "https://portal.example/secure/pay/TOKEN" in json.dumps(done)
    failed = replace(PAID, status=PaymentStatus.FAILED, reason="The card has expired.")
    assert action_ids(ui.payment_result_modal(failed, title="t", external_id="e")) == set()
    problem = ui.payment_problem_modal("Card payments are off.", title="t", external_id="e")
    assert problem["blocks"][0]["text"]["text"] == ":x: Card payments are off."
    assert validate_view(problem) == []
