"""Invoice and statement PDFs as Slack files: the month asked for, the file names, the line
posted with each file, the "sent to you directly" notice and the conversation a modal carries.
No database and no Slack: pure functions."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bot.errors import UserFacingError
from bot.invoice_files import invoice_file, parse_statement_month, statement_file
from bot.pdf import Due, Paid, Voided
from bot.sandbox.slack_api import validate_blocks, validate_view
from bot.ui import invoices as invoices_ui
from bot.ui import services as services_ui
from bot.ui.ids import Act
from tests.unit.test_pdf import SUPPLIER, invoice, statement
from tests.unit.test_ui_billing import TODAY, consultancy, service_invoice

# -- The month of a statement --------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "month"),
    [
        ("", date(2026, 11, 1)),
        ("   ", date(2026, 11, 1)),
        ("2026-11", date(2026, 11, 1)),
        ("2026-3", date(2026, 3, 1)),
        ("Nov 2026", date(2026, 11, 1)),
        ("november 2025", date(2025, 11, 1)),
        ("NOVEMBER", date(2026, 11, 1)),
        ("Sept", date(2026, 9, 1)),
        ("jun.", date(2026, 6, 1)),
        ("December", date(2025, 12, 1)),  # the most recent December that has begun
        ("dec  2025", date(2025, 12, 1)),
    ],
)
def test_the_forms_of_a_month(asked: str, month: date) -> None:
    assert parse_statement_month(asked, today=TODAY) == month


@pytest.mark.parametrize(
    "asked", ["next tuesday", "2026-13", "2026-00", "1999-12", "ju", "ma", "11/2026", "Nov 26"]
)
def test_what_is_not_a_month_is_answered_with_the_forms(asked: str) -> None:
    with pytest.raises(UserFacingError) as refused:
        parse_statement_month(asked, today=TODAY)
    assert f"“{asked}” is not a month I know." in refused.value.message
    assert "`/portal invoices statement 2026-11`" in refused.value.message


@pytest.mark.parametrize("asked", ["2026-12", "Dec 2026", "January 2027"])
def test_a_month_that_has_not_begun_is_refused(asked: str) -> None:
    with pytest.raises(UserFacingError, match="yet: that month has not begun"):
        parse_statement_month(asked, today=TODAY)


# -- Files and the line posted with them --------------------------------------------------


def test_invoice_and_statement_files_are_named_for_slack() -> None:
    pdf = invoice_file(invoice(), SUPPLIER)
    assert (pdf.filename, pdf.title, pdf.name) == (
        "INV-000123.pdf",
        "Invoice INV-000123",
        "INV-000123",
    )
    assert pdf.content.startswith(b"%PDF-")
    month = statement_file(statement(), SUPPLIER)
    assert (month.filename, month.title, month.name) == (
        "statement-2026-11.pdf",
        "Statement November 2026",
        "the November 2026 statement",
    )


@pytest.mark.parametrize(
    ("payment", "word"),
    [
        (Paid(on=date(2026, 11, 24), card_brand="visa", card_last4="4242"), "Paid"),
        (Due(by=date(2026, 12, 8)), "Unpaid"),
        (Due(by=date(2026, 11, 23)), "Overdue"),
        (Due(by=date(2026, 11, 23), in_progress=True), "Payment in progress"),
        (Voided(on=None), "Void"),
    ],
)
def test_the_line_posted_with_an_invoice(payment: object, word: str) -> None:
    document = invoice(payment=payment)
    assert invoices_ui.invoice_file_comment(document, today=TODAY) == (
        f"INV-000123 — 24 Nov 2026 — £256.50 — {word}"
    )


def test_the_line_posted_with_a_statement() -> None:
    assert invoices_ui.statement_file_comment(statement()) == (
        "Statement November 2026 — Müller & Søn ApS — balance owed £228.00 on 30 Nov 2026"
    )


def test_sent_directly_says_where_it_could_not_post() -> None:
    message = invoices_ui.sent_directly_message("INV-000123", "C0SECRET")
    text = "I'm not in <#C0SECRET>, so I've sent INV-000123 to you directly."
    assert message == {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
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
    in_a_dm = invoices_ui.sent_directly_message("the November 2026 statement", "D0SOMEONE")
    assert in_a_dm["text"] == (
        "I can't post here, so I've sent the November 2026 statement to you directly."
    )
    assert validate_blocks(message["blocks"]) == []


# -- "Download PDF" and the conversation a modal carries ------------------------------------


def test_the_invoice_detail_offers_the_pdf_in_the_conversation_it_came_from() -> None:
    view = invoices_ui.invoice_detail_view(service_invoice(), today=TODAY, channel_id="C0GENERAL")
    assert view["blocks"][-1] == {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Download PDF"},
                "action_id": Act.DOWNLOAD_INVOICE,
                "value": "7",
            }
        ],
    }
    assert invoices_ui.conversation_in(view["private_metadata"]) == "C0GENERAL"
    assert validate_view(view) == []


def test_pay_for_services_carries_the_conversation_to_the_confirmation() -> None:
    form = services_ui.services_modal([], channel_id="G0PRIVATE")
    assert json.loads(form["private_metadata"]) == {"channel": "G0PRIVATE"}
    assert services_ui.services_modal([])["private_metadata"] == ""
    confirm = services_ui.services_confirm_view(3, consultancy("2.5"), channel_id="C0GENERAL")
    assert json.loads(confirm["private_metadata"]) == {
        "service_id": 3,
        "hours": "2.5",
        "channel": "C0GENERAL",
    }


@pytest.mark.parametrize(
    "metadata",
    [
        "",
        "not json",
        "[]",
        json.dumps({"channel": 5}),
        json.dumps({"channel": "#general"}),
        json.dumps({"channel": "C0<script>"}),
        json.dumps({"channel": "U0ADMIN"}),
        json.dumps({"service_id": 3}),
    ],
)
def test_only_a_channel_id_is_taken_from_metadata(metadata: str) -> None:
    assert invoices_ui.conversation_in(metadata) is None
