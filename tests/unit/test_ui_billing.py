"""The credits, services and invoices builders: golden dicts, and views Slack would accept."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.credits import CreditsEntry, CreditsSummary, Purchase
from bot.invoice_list import Direction, InvoicePage, InvoiceSummary, PageCursor
from bot.money import Money
from bot.quotes import PriceTier, Quote, quote_credits, quote_service_hours
from bot.sandbox.slack_api import validate_blocks, validate_view
from bot.ui import credits as credits_ui
from bot.ui import invoices as invoices_ui
from bot.ui import services as services_ui
from bot.ui.ids import Act, Blk, Cb
from store.enums import InvoiceKind, InvoiceStatus, LineUnit, VatTreatment
from store.models import Invoice, InvoiceLine, Service

TODAY = date(2026, 11, 24)
LONDON = ZoneInfo("Europe/London")
TIERS = [
    PriceTier(1, 99, Money(100, "GBP")),
    PriceTier(100, 499, Money(90, "GBP")),
    PriceTier(500, None, Money(80, "GBP")),
]


def credits_quote(quantity: int, treatment: VatTreatment = VatTreatment.UK_STANDARD) -> Quote:
    return quote_credits(quantity, tiers=TIERS, treatment=treatment, on=TODAY)


def consultancy(hours: str, treatment: VatTreatment = VatTreatment.UK_STANDARD) -> Quote:
    return quote_service_hours(
        service_name="Consultancy",
        hourly_rate=Money(9500, "GBP"),
        hours=Decimal(hours),
        treatment=treatment,
        on=TODAY,
    )


def summary(number: int, *, status: InvoiceStatus = InvoiceStatus.OPEN) -> InvoiceSummary:
    return InvoiceSummary(
        id=100 + number,
        sequence=number,
        number=f"INV-{number:06d}",
        issue_date=date(2026, 11, number % 28 + 1),
        due_date=date(2026, 12, number % 28 + 1),
        status=status,
        gross=Money(9000 * number, "GBP"),
    )


def service_invoice(
    treatment: VatTreatment = VatTreatment.UK_STANDARD, vat_reference: str | None = None
) -> Invoice:
    rate = Decimal("0.2") if treatment is VatTreatment.UK_STANDARD else Decimal(0)
    vat = 4750 if rate else 0
    return Invoice(
        id=7,
        account_id=1,
        sequence=123,
        number="INV-000123",
        kind=InvoiceKind.SERVICES,
        issue_date=TODAY,
        tax_point=TODAY,
        due_date=date(2026, 12, 8),
        currency="GBP",
        vat_treatment=treatment,
        vat_rate=rate,
        customer_vat_reference=vat_reference,
        net_minor=23750,
        vat_minor=vat,
        gross_minor=23750 + vat,
        status=InvoiceStatus.OPEN,
        lines=[
            InvoiceLine(
                position=1,
                description="Consultancy",
                quantity=Decimal("2.50"),
                unit=LineUnit.HOURS,
                unit_price_minor=9500,
                net_minor=23750,
                vat_rate=rate,
                vat_minor=vat,
                gross_minor=23750 + vat,
            )
        ],
    )


def unique_action_ids_per_block(blocks: list[dict[str, Any]]) -> None:
    for block in blocks:
        ids = [e["action_id"] for e in block.get("elements", []) if "action_id" in e]
        assert len(ids) == len(set(ids)), block


# -- Small pieces -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "shown"),
    [(Decimal("0.2"), "20%"), (Decimal("0.20"), "20%"), (Decimal("0.175"), "17.5%")],
)
def test_percent(rate: Decimal, shown: str) -> None:
    assert invoices_ui.percent(rate) == shown


@pytest.mark.parametrize(
    ("hours", "shown"),
    [("2.50", "2.5"), ("0.25", "0.25"), ("1000", "1,000"), ("1000.00", "1,000"), ("1", "1")],
)
def test_quantity(hours: str, shown: str) -> None:
    assert invoices_ui.quantity(Decimal(hours)) == shown


def test_vat_labels_say_which_treatment() -> None:
    assert invoices_ui.vat_label(VatTreatment.UK_STANDARD, Decimal("0.2")) == "VAT at 20%"
    assert (
        invoices_ui.vat_label(VatTreatment.EU_REVERSE_CHARGE, Decimal(0)) == "VAT (reverse charge)"
    )
    assert (
        invoices_ui.vat_label(VatTreatment.OUTSIDE_SCOPE, Decimal(0)) == "VAT (outside the scope)"
    )


def test_status_words() -> None:
    due = date(2026, 12, 1)
    assert invoices_ui.status_word(InvoiceStatus.OPEN, due, TODAY) == "Unpaid"
    assert invoices_ui.status_word(InvoiceStatus.OPEN, due, date(2026, 12, 2)) == "Overdue"
    assert invoices_ui.status_word(InvoiceStatus.PAID, due, date(2026, 12, 2)) == "Paid"
    assert invoices_ui.status_word(InvoiceStatus.PAYING, due, TODAY) == "Payment in progress"


# -- Credits ----------------------------------------------------------------------------------


def test_credits_message_golden() -> None:
    listed = CreditsSummary(
        balance=650,
        purchases=[Purchase(2, "INV-000002", 500, datetime(2026, 7, 1, 23, 30, tzinfo=UTC))],
        earlier_purchases=3,
    )
    assert credits_ui.credits_message(listed, can_buy=True, tz=LONDON) == {
        "text": "Credits balance: 650 credits",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Credits"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Balance:* 650 credits"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Purchases*"}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    # 23:30 UTC on 1 July is 00:30 on 2 July in London (BST)
                    "text": "2 Jul 2026 · 500 credits · invoice INV-000002",
                },
                "accessory": {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Download PDF"},
                    "action_id": Act.DOWNLOAD_INVOICE,
                    "value": "2",
                },
            },
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": "And 3 earlier purchases."}],
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*Usage*\nNo usage reported yet."},
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Purchase credits"},
                        "action_id": Act.MENU_BUY_CREDITS,
                        "style": "primary",
                    }
                ],
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Return to Account"},
                        "action_id": Act.RETURN_TO_ACCOUNT,
                    }
                ],
            },
        ],
    }


def test_credits_message_with_nothing_bought_and_no_right_to_buy() -> None:
    message = credits_ui.credits_message(
        CreditsSummary(balance=1, purchases=[], earlier_purchases=0), can_buy=False, tz=LONDON
    )
    assert message["text"] == "Credits balance: 1 credit"
    assert message["blocks"][2]["text"]["text"] == credits_ui.NO_PURCHASES
    assert [b["elements"][0]["action_id"] for b in message["blocks"] if b["type"] == "actions"] == [
        Act.RETURN_TO_ACCOUNT
    ]


def test_purchase_modal_before_anything_is_typed_golden() -> None:
    assert credits_ui.purchase_modal(CreditsEntry(text=None, tiers=TIERS)) == {
        "type": "modal",
        "callback_id": Cb.PURCHASE_CREDITS,
        "title": {"type": "plain_text", "text": "Purchase credits"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "submit": {"type": "plain_text", "text": "Confirm"},
        "private_metadata": "",
        "blocks": [
            {
                "type": "input",
                "block_id": Blk.CREDITS,
                "label": {"type": "plain_text", "text": "Number of credits"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": Act.CREDITS_INPUT,
                    "placeholder": {"type": "plain_text", "text": "e.g. 150"},
                    "dispatch_action_config": {"trigger_actions_on": ["on_character_entered"]},
                },
                "optional": False,
                "dispatch_action": True,
            },
            {
                "type": "section",
                "block_id": Blk.QUOTE,
                "text": {"type": "mrkdwn", "text": "Enter a number of credits to see the price."},
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "Price per credit: £1.00 for 1–99 · £0.90 for 100–499 · "
                        "£0.80 for 500 or more",
                    }
                ],
            },
        ],
    }


@pytest.mark.parametrize(
    ("treatment", "vat_line", "gross", "wording"),
    [
        (VatTreatment.UK_STANDARD, "*VAT at 20%:* £27.00", "£162.00", "_UK VAT at the standard"),
        (
            VatTreatment.EU_NO_VAT_REFERENCE,
            "*VAT at 20%:* £27.00",
            "£162.00",
            "until we have your VAT reference: add it with `/portal vat`",
        ),
        (
            VatTreatment.EU_REVERSE_CHARGE,
            "*VAT (reverse charge):* £0.00",
            "£135.00",
            "_Reverse charge: customer to account for VAT_",
        ),
        (
            VatTreatment.OUTSIDE_SCOPE,
            "*VAT (outside the scope):* £0.00",
            "£135.00",
            "_Outside the scope of UK VAT_",
        ),
    ],
)
def test_the_quote_section_for_each_vat_treatment(
    treatment: VatTreatment, vat_line: str, gross: str, wording: str
) -> None:
    view = credits_ui.purchase_modal(
        CreditsEntry(text="150", tiers=TIERS, quote=credits_quote(150, treatment))
    )
    assert view["blocks"][0]["element"]["initial_value"] == "150"
    lines = view["blocks"][1]["text"]["text"].split("\n")
    assert lines[:4] == [
        "*150 credits*",
        "*Cost per credit:* £0.90",
        "*Net total:* £135.00",
        vat_line,
    ]
    assert lines[4] == f"*Gross total:* {gross}"
    assert wording in lines[5]
    assert validate_view(view) == []


def test_a_problem_replaces_the_figures() -> None:
    view = credits_ui.purchase_modal(
        CreditsEntry(text="abc", tiers=TIERS, problem="Enter a whole number of credits, like 150.")
    )
    assert (
        view["blocks"][1]["text"]["text"] == ":warning: Enter a whole number of credits, like 150."
    )


def test_a_long_entry_is_cut_to_fit_the_field() -> None:
    view = credits_ui.purchase_modal(CreditsEntry(text="9" * 50, tiers=TIERS, problem="Too many"))
    assert view["blocks"][0]["element"]["initial_value"] == "9" * 20


def test_purchase_confirmation_has_pay_now_and_carries_the_order() -> None:
    view = credits_ui.purchase_confirm_view(credits_quote(500), channel_id="C0GENERAL")
    assert view["callback_id"] == Cb.PURCHASE_CONFIRM
    assert view["title"] == {"type": "plain_text", "text": "Confirm purchase"}
    assert view["submit"] == {"type": "plain_text", "text": "Pay Now"}
    assert view["close"] == {"type": "plain_text", "text": "Back"}
    assert json.loads(view["private_metadata"]) == {"credits": 500, "channel": "C0GENERAL"}
    assert [f["text"] for f in view["blocks"][0]["fields"]] == [
        "*Number of credits*\n500",
        "*Cost per credit*\n£0.80",
        "*Net total*\n£400.00",
        "*VAT at 20%*\n£80.00",
        "*Gross total*\n£480.00",
    ]
    assert view["blocks"][2] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": credits_ui.PAY_NOW_NOTE}],
    }
    assert "not available yet" not in json.dumps(view)
    assert not any(block["type"] == "actions" for block in view["blocks"])
    assert validate_view(view) == []
    # Without a channel (from the App Home) only the credits are carried.
    alone = credits_ui.purchase_confirm_view(credits_quote(500))
    assert json.loads(alone["private_metadata"]) == {"credits": 500}


def test_the_purchase_modal_carries_the_conversation_it_started_in() -> None:
    view = credits_ui.purchase_modal(CreditsEntry(text=None, tiers=TIERS), channel_id="C0GENERAL")
    assert json.loads(view["private_metadata"]) == {"channel": "C0GENERAL"}
    assert invoices_ui.conversation_in(view["private_metadata"]) == "C0GENERAL"


# -- Services ---------------------------------------------------------------------------------


def test_services_modal_golden() -> None:
    services = [
        Service(id=1, name="Consultancy", hourly_rate_minor=9500, currency="GBP", active=True),
        Service(id=3, name="Training", hourly_rate_minor=7500, currency="GBP", active=True),
    ]
    assert services_ui.services_modal(services) == {
        "type": "modal",
        "callback_id": Cb.SERVICES,
        "title": {"type": "plain_text", "text": "Pay for services"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "submit": {"type": "plain_text", "text": "Create Invoice"},
        "private_metadata": "",
        "blocks": [
            {
                "type": "input",
                "block_id": Blk.SERVICE,
                "label": {"type": "plain_text", "text": "Service"},
                "element": {
                    "type": "static_select",
                    "action_id": Act.SERVICE_INPUT,
                    "placeholder": {"type": "plain_text", "text": "Choose a service"},
                    "options": [
                        {
                            "text": {"type": "plain_text", "text": "Consultancy — £95.00 an hour"},
                            "value": "1",
                        },
                        {
                            "text": {"type": "plain_text", "text": "Training — £75.00 an hour"},
                            "value": "3",
                        },
                    ],
                },
                "optional": False,
            },
            {
                "type": "input",
                "block_id": Blk.HOURS,
                "label": {"type": "plain_text", "text": "Number of hours"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": Act.HOURS_INPUT,
                    "placeholder": {"type": "plain_text", "text": "e.g. 2.5"},
                    "max_length": 12,
                },
                "optional": False,
                "hint": {
                    "type": "plain_text",
                    "text": "From 0.25 to 1,000 hours, in quarter hours (0.25, 0.5, 0.75 …).",
                },
            },
        ],
    }


def test_create_invoice_confirmation_carries_the_order() -> None:
    view = services_ui.services_confirm_view(1, consultancy("2.50"))
    assert view["callback_id"] == Cb.SERVICES_CONFIRM
    assert view["title"]["text"] == "Create Invoice"
    assert view["submit"]["text"] == "OK"
    assert json.loads(view["private_metadata"]) == {"service_id": 1, "hours": "2.50"}
    assert [f["text"] for f in view["blocks"][0]["fields"]] == [
        "*Service*\nConsultancy",
        "*Number of hours*\n2.5",
        "*Hourly rate*\n£95.00",
        "*Net total*\n£237.50",
        "*VAT at 20%*\n£47.50",
        "*Gross total*\n£285.00",
    ]
    assert validate_view(view) == []


# -- Invoices ---------------------------------------------------------------------------------


def test_a_middle_page_has_previous_and_next_in_rows_of_their_own() -> None:
    page = InvoicePage(
        number=2,
        invoices=[summary(n) for n in range(15, 5, -1)],
        newer=PageCursor(Direction.NEWER, 15, 1),
        older=PageCursor(Direction.OLDER, 6, 3),
    )
    message = invoices_ui.invoices_message(page, today=TODAY)
    blocks = message["blocks"]
    assert message["text"] == "Invoices, page 2"
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Invoices"}}
    assert blocks[1]["elements"][0]["text"] == "Page 2 · newest first"
    assert blocks[2:4] == [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*INV-000015* · 16 Nov 2026 · Unpaid · £1,350.00"},
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "View"},
                    "action_id": Act.VIEW_INVOICE,
                    "value": "115",
                },
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Download PDF"},
                    "action_id": Act.DOWNLOAD_INVOICE,
                    "value": "115",
                },
            ],
        },
    ]
    nav = blocks[22:24]
    assert nav == [
        {
            "type": "actions",
            "block_id": invoices_ui.NEWER_BLOCK,
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Previous"},
                    "action_id": Act.INVOICES_PAGE,
                    "value": "newer:15:1",
                }
            ],
        },
        {
            "type": "actions",
            "block_id": invoices_ui.OLDER_BLOCK,
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Next"},
                    "action_id": Act.INVOICES_PAGE,
                    "value": "older:6:3",
                }
            ],
        },
    ]
    assert blocks[24]["elements"][0]["action_id"] == Act.RETURN_TO_ACCOUNT
    assert len(blocks) == 25
    unique_action_ids_per_block(blocks)
    assert validate_blocks(blocks) == []


def test_the_empty_state_and_notes() -> None:
    empty = InvoicePage(number=1, invoices=[], newer=None, older=None)
    message = invoices_ui.invoices_message(empty, today=TODAY)
    assert message["text"] == "You have no invoices yet."
    missing = InvoicePage(
        number=1,
        invoices=[summary(1)],
        newer=None,
        older=None,
        missing_page=7,
        page_count=1,
    )
    text = invoices_ui.invoices_message(missing, today=TODAY)["blocks"][1]["elements"][0]["text"]
    assert (
        text
        == ":information_source: There is no page 7: your invoices fill 1 page. Here is page 1."
    )
    assert (
        invoices_ui.not_a_page_note("x" * 40)
        == f"“{'x' * 20}” is not a page number, so here is page 1."
    )


def test_unpaid_rows_have_pay_now_for_those_who_may_pay() -> None:
    page = InvoicePage(
        number=1,
        invoices=[
            summary(3),
            summary(2, status=InvoiceStatus.PAYING),
            summary(1, status=InvoiceStatus.PAID),
        ],
        newer=None,
        older=None,
    )
    message = invoices_ui.invoices_message(page, today=TODAY, can_pay=True)
    rows = [b for b in message["blocks"] if b["type"] == "actions"][:3]
    assert [[e["text"]["text"] for e in row["elements"]] for row in rows] == [
        ["View", "Download PDF", "Pay now"],
        ["View", "Download PDF"],  # already being paid
        ["View", "Download PDF"],  # paid
    ]
    assert rows[0]["elements"][2] == {
        "type": "button",
        "text": {"type": "plain_text", "text": "Pay now"},
        "action_id": Act.PAY_INVOICE,
        "value": "103",
    }
    viewer = invoices_ui.invoices_message(page, today=TODAY)
    assert Act.PAY_INVOICE not in json.dumps(viewer)
    assert validate_blocks(message["blocks"]) == []


def test_invoice_detail_view_says_what_a_vat_invoice_says() -> None:
    view = invoices_ui.invoice_detail_view(service_invoice(), today=TODAY)
    assert view["callback_id"] == Cb.INVOICE_DETAIL
    assert view["title"]["text"] == "Invoice INV-000123"
    assert "submit" not in view
    assert [f["text"] for f in view["blocks"][0]["fields"]] == [
        "*Invoice number*\nINV-000123",
        "*Status*\nUnpaid",
        "*Issue date*\n24 Nov 2026",
        "*Tax point*\n24 Nov 2026",
        "*Due date*\n8 Dec 2026",
    ]
    assert view["blocks"][2]["text"]["text"] == (
        "*Consultancy*\n2.5 hours × £95.00 = £237.50 · VAT at 20%"
    )
    assert view["blocks"][4]["text"]["text"] == (
        "*Net total:* £237.50\n*VAT at 20%:* £47.50\n*Gross total:* £285.00"
    )
    assert view["blocks"][5]["elements"][0]["text"] == "UK VAT at the standard rate"
    assert validate_view(view) == []


def test_reverse_charge_detail_shows_the_customers_vat_number() -> None:
    invoice = service_invoice(VatTreatment.EU_REVERSE_CHARGE, "DE136695976")
    view = invoices_ui.invoice_detail_view(invoice, today=TODAY)
    assert view["blocks"][5]["elements"][0]["text"] == (
        "Reverse charge: customer to account for VAT (customer VAT number DE136695976)"
    )
    assert "*VAT (reverse charge):* £0.00" in view["blocks"][4]["text"]["text"]


def test_invoice_created_view_and_message() -> None:
    invoice = service_invoice()
    view = invoices_ui.invoice_created_view(invoice, channel_id="C0GENERAL")
    assert view["callback_id"] == Cb.INVOICE_CREATED
    assert view["blocks"][0]["text"]["text"] == (
        ":white_check_mark: Invoice INV-000123 has been created."
    )
    assert view["blocks"][-1]["elements"] == [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "View invoice"},
            "action_id": Act.VIEW_INVOICE,
            "value": "7",
            "style": "primary",
        },
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Download PDF"},
            "action_id": Act.DOWNLOAD_INVOICE,
            "value": "7",
        },
    ]
    payable = invoices_ui.invoice_created_view(invoice, channel_id="C0GENERAL", can_pay=True)
    assert [e["text"]["text"] for e in payable["blocks"][-1]["elements"]] == [
        "View invoice",
        "Pay now",
        "Download PDF",
    ]
    assert payable["blocks"][-1]["elements"][1]["action_id"] == Act.PAY_INVOICE
    assert payable["blocks"][-1]["elements"][1]["value"] == "7"
    # The conversation the flow started in, where "Download PDF" posts the file.
    assert json.loads(view["private_metadata"]) == {"channel": "C0GENERAL"}
    assert invoices_ui.conversation_in(view["private_metadata"]) == "C0GENERAL"
    assert invoices_ui.invoice_created_view(invoice)["private_metadata"] == ""
    assert validate_view(view) == []
    message = invoices_ui.invoice_created_message(invoice)
    assert message["text"] == "Invoice INV-000123 has been created."
    assert "Gross total £285.00, due by 8 Dec 2026." in json.dumps(message, ensure_ascii=False)
    assert message["blocks"][-1]["elements"][0]["action_id"] == Act.RETURN_TO_ACCOUNT
