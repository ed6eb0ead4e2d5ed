"""Invoice and statement PDFs posted into the conversation, read back from the fake Slack.

Every test ends where a person would look: a `files.completeUploadExternal` call that shared
the file in a conversation, whose uploaded bytes are a PDF naming what Slack showed.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from bot.invoices import create_invoice, mark_paid
from bot.pricing import active_services, quote_credits_for, quote_service_for
from bot.sandbox.slack_api import RecordedCall
from bot.ui.ids import Act, Cb
from bot.users import add_user
from store.enums import InvoiceKind, Role
from store.models import Account
from tests.conftest import NOW
from tests.factories import make_account
from tests.slack.conftest import (
    ADMIN,
    FINANCE,
    GENERAL,
    STRANGER,
    VIEWER,
    Portal,
    action_ids,
    text_of,
)
from tests.slack.test_services import to_confirmation

PUBLIC, PRIVATE = "C0RANDOM", "C0SECRET"
UPLOAD = "files.completeUploadExternal"


# -- Helpers ----------------------------------------------------------------------------------


def add_invoice(app: Portal, account_id: int, *, hours: str = "1.75", paid: bool = False) -> int:
    """A Training invoice on the account (paid when asked); its id."""

    def create(session: Session) -> int:
        account = session.get_one(Account, account_id)
        service = next(s for s in active_services(session=session) if s.name == "Training")
        quote = quote_service_for(
            session=session,
            account=account,
            service_id=service.id,
            hours=Decimal(hours),
            on=NOW.date(),
        )
        invoice = create_invoice(
            session=session,
            account=account,
            kind=InvoiceKind.SERVICES,
            quotes=[quote],
            actor=ADMIN,
            now=NOW,
        )
        if paid:
            mark_paid(session=session, invoice=invoice, now=NOW, actor=ADMIN)
        return invoice.id

    return int(app.read(create))


def buy_credits(app: Portal, account_id: int, quantity: int) -> int:
    """A paid credits purchase, through the services; its invoice id."""

    def buy(session: Session) -> int:
        account = session.get_one(Account, account_id)
        quote = quote_credits_for(
            session=session, account=account, quantity=quantity, on=NOW.date()
        )
        invoice = create_invoice(
            session=session,
            account=account,
            kind=InvoiceKind.CREDITS,
            quotes=[quote],
            actor=ADMIN,
            now=NOW,
        )
        mark_paid(session=session, invoice=invoice, now=NOW, actor=ADMIN)
        return invoice.id

    return int(app.read(buy))


def shared(app: Portal) -> RecordedCall:
    """The first upload Slack completed and shared in a conversation."""
    return app.fake.wait_for(UPLOAD, lambda call: call.response.get("ok") is True)


def pdf_text(app: Portal, upload: RecordedCall) -> str:
    """The text of the uploaded PDF, whitespace made single spaces."""
    [item] = upload.params["files"]
    data = app.fake.file_bytes(item["id"])
    assert data.startswith(b"%PDF-")
    pages = PdfReader(io.BytesIO(data)).pages
    return " ".join(" ".join(page.extract_text().split()) for page in pages)


def file_name(app: Portal, upload: RecordedCall) -> str:
    [item] = upload.params["files"]
    [file] = [f for f in app.fake.files() if f["id"] == item["id"]]
    return str(file["name"])


def invoices_list(app: Portal, user: str = ADMIN, **where: Any) -> dict[str, Any]:
    """`/portal invoices` in a channel (#general unless told): the message it answers with."""
    app.command(user, "invoices", **where)
    call = app.wait_reply("Page 1 · newest first")
    channel = where.get("channel_id", GENERAL)
    # The fake keeps earlier tests' messages: the newest one with these blocks is this answer.
    return [m for m in app.fake.messages(channel) if m["blocks"] == call.params.get("blocks")][-1]


def nothing_uploaded(app: Portal) -> bool:
    return app.fake.calls("files.getUploadURLExternal") == []


# -- "Download PDF" wherever an invoice is shown -----------------------------------------------


def test_view_invoice_after_pay_for_services_posts_the_pdf(app: Portal) -> None:
    app.make_account()
    confirm = to_confirmation(app, "2.5")
    app.sender.view_submission(ADMIN, confirm, {})
    created = app.fake.modal_stack(ADMIN)[-1]
    assert created["callback_id"] == Cb.INVOICE_CREATED
    shown = text_of(created)
    assert "Invoice INV-000001 has been created." in shown
    assert {Act.VIEW_INVOICE, Act.DOWNLOAD_INVOICE} <= action_ids(created)

    app.fake.clear()
    response = app.sender.block_action(ADMIN, Act.DOWNLOAD_INVOICE, view=created)
    assert response.status_code == 200
    upload = shared(app)
    # Into the channel where /portal services was typed, carried through the three modals.
    assert upload.params["channel_id"] == GENERAL
    assert upload.params["initial_comment"] == "INV-000001 — 24 Nov 2026 — £285.00 — Unpaid"
    assert file_name(app, upload) == "INV-000001.pdf"
    text = pdf_text(app, upload)
    assert "Invoice INV-000001" in text
    assert "Due by 8 Dec 2026, pay in Slack with /portal pay" in text
    assert "£285.00" in text
    posted = [m for m in app.fake.messages(GENERAL) if m["files"]][-1]
    assert posted["text"] == "INV-000001 — 24 Nov 2026 — £285.00 — Unpaid"
    assert posted["files"][0]["name"] == "INV-000001.pdf"
    assert app.fake.calls("conversations.join") == []


def test_the_invoices_list_and_the_detail_post_the_pdf_for_a_viewer(app: Portal) -> None:
    account_id = app.make_account()
    add_invoice(app, account_id, hours="1.75", paid=True)
    message = invoices_list(app, VIEWER)
    row = text_of(message)
    assert "*INV-000001* · 24 Nov 2026 · Paid · £157.50" in row
    assert Act.DOWNLOAD_INVOICE in action_ids(message)

    app.fake.clear()
    app.sender.block_action(VIEWER, Act.DOWNLOAD_INVOICE, message=message)
    upload = shared(app)
    assert upload.params["channel_id"] == GENERAL
    assert upload.params["initial_comment"] == "INV-000001 — 24 Nov 2026 — £157.50 — Paid"
    text = pdf_text(app, upload)
    assert "Invoice INV-000001" in text
    assert "Paid on 24 Nov 2026" in text
    assert "1.75 hours" in text

    # "View" opens the detail, whose own "Download PDF" posts into the same conversation.
    app.fake.clear()
    app.sender.block_action(VIEWER, Act.VIEW_INVOICE, message=message)
    app.fake.wait_for("views.open")
    [detail] = app.fake.modal_stack(VIEWER)
    assert Act.DOWNLOAD_INVOICE in action_ids(detail)
    app.sender.block_action(VIEWER, Act.DOWNLOAD_INVOICE, view=detail)
    assert shared(app).params["channel_id"] == GENERAL


def test_each_credits_purchase_posts_its_invoice(app: Portal) -> None:
    account_id = app.make_account()
    buy_credits(app, account_id, 150)
    app.command(FINANCE, "credits")
    call = app.wait_reply("*Balance:* 150 credits")
    assert "24 Nov 2026 · 150 credits · invoice INV-000001" in text_of(call.params)
    message = [m for m in app.fake.messages(GENERAL) if m["blocks"] == call.params["blocks"]][-1]

    app.fake.clear()
    app.sender.block_action(FINANCE, Act.DOWNLOAD_INVOICE, message=message)
    upload = shared(app)
    assert upload.params["initial_comment"] == "INV-000001 — 24 Nov 2026 — £162.00 — Paid"
    text = pdf_text(app, upload)
    assert "Invoice INV-000001" in text
    assert "150 credits" in text
    assert "Paid on 24 Nov 2026" in text


def test_from_the_app_home_the_pdf_goes_to_the_dm(app: Portal) -> None:
    account_id = app.make_account()
    invoice_id = add_invoice(app, account_id)
    home = {"type": "home", "id": "VHOME", "blocks": []}
    app.sender.block_action(ADMIN, Act.DOWNLOAD_INVOICE, value=str(invoice_id), view=home)
    upload = shared(app)
    assert upload.params["channel_id"] == f"D{ADMIN}"
    assert "Invoice INV-000001" in pdf_text(app, upload)
    assert app.fake.calls("chat.postMessage") == []  # nothing to apologise for


# -- When the bot is not in the channel ------------------------------------------------------


def test_in_a_public_channel_without_the_bot_it_joins_and_posts_there(app: Portal) -> None:
    account_id = app.make_account()
    add_invoice(app, account_id)
    app.fake.add_channel(PUBLIC, "random", bot_is_member=False)
    message = invoices_list(app, channel_id=PUBLIC, channel_name="random")

    app.fake.clear()
    app.sender.block_action(ADMIN, Act.DOWNLOAD_INVOICE, message=message)
    upload = shared(app)
    refused = app.fake.calls(UPLOAD)[0]
    assert refused.response["error"] == "not_in_channel"
    assert app.fake.last("conversations.join").params["channel"] == PUBLIC
    assert upload.params["channel_id"] == PUBLIC
    assert "Invoice INV-000001" in pdf_text(app, upload)
    assert app.fake.channel(PUBLIC)["is_member"] is True
    assert app.fake.calls("conversations.open") == []


def test_in_a_private_channel_without_the_bot_it_sends_a_dm_and_says_so(app: Portal) -> None:
    account_id = app.make_account()
    add_invoice(app, account_id)
    app.fake.add_channel(PRIVATE, "secret", is_private=True, bot_is_member=False)
    message = invoices_list(app, channel_id=PRIVATE, channel_name="secret")

    app.fake.clear()
    app.sender.block_action(ADMIN, Act.DOWNLOAD_INVOICE, message=message)
    upload = shared(app)
    assert app.fake.calls(UPLOAD)[0].response["error"] == "channel_not_found"
    assert not app.fake.last("conversations.join").response["ok"]
    assert app.fake.last("conversations.open").params["users"] == ADMIN
    assert upload.params["channel_id"] == f"D{ADMIN}"
    assert "Invoice INV-000001" in pdf_text(app, upload)
    told = app.wait_reply("so I've sent INV-000001 to you directly")
    assert f"I'm not in <#{PRIVATE}>" in text_of(told.params)
    assert told.method == "response_url"  # privately, in the channel where they asked
    assert app.fake.channel(PRIVATE)["is_member"] is False


def test_any_other_failure_is_explained(app: Portal) -> None:
    account_id = app.make_account()
    add_invoice(app, account_id)

    def ghost(session: Session) -> None:  # on the account, but gone from Slack
        account = session.get_one(Account, account_id)
        add_user(
            session=session,
            account=account,
            slack_user_id="UGHOST",
            role=Role.VIEWER,
            added_by=ADMIN,
            now=NOW,
        )

    app.read(ghost)
    app.fake.add_channel(PRIVATE, "secret", is_private=True, bot_is_member=False)
    message = invoices_list(app, channel_id=PRIVATE, channel_name="secret")
    app.fake.clear()
    app.sender.block_action("UGHOST", Act.DOWNLOAD_INVOICE, message=message)
    app.wait_reply("I couldn't post INV-000001: Slack answered “user_not_found”.")
    assert [call.response.get("ok") for call in app.fake.calls(UPLOAD)] == [False]


# -- Who may ask ----------------------------------------------------------------------------


def test_another_accounts_invoice_is_refused_and_nothing_is_uploaded(app: Portal) -> None:
    app.make_account()

    def theirs(session: Session) -> int:
        other = make_account(session, now=NOW, company_name="Other Ltd", admin_user_id="UOTHER")
        session.flush()
        return other.id

    their_invoice = add_invoice(app, app.read(theirs))
    for user, value, refusal in (
        (ADMIN, str(their_invoice), "That invoice could not be found on this account."),
        (ADMIN, "1 OR 1=1", "That invoice could not be found on this account."),
        (STRANGER, str(their_invoice), "You don't have access to this account's Admin Portal"),
    ):
        app.fake.clear()
        app.sender.block_action(user, Act.DOWNLOAD_INVOICE, value=value)
        app.wait_reply(refusal)
        assert nothing_uploaded(app)


# -- The monthly statement -------------------------------------------------------------------


def test_the_statement_of_this_month_is_posted(app: Portal) -> None:
    account_id = app.make_account()
    add_invoice(app, account_id, hours="2")
    buy_credits(app, account_id, 150)
    app.command(VIEWER, "invoices statement")
    upload = shared(app)
    assert upload.params["channel_id"] == GENERAL
    assert file_name(app, upload) == "statement-2026-11.pdf"
    assert upload.params["initial_comment"] == (
        "Statement November 2026 — Acme Widgets Ltd — balance owed £180.00 on 24 Nov 2026"
    )
    text = pdf_text(app, upload)
    assert "Statement November 2026" in text
    assert "Invoice INV-000001 (open)" in text
    assert "Invoice INV-000002 (paid)" in text
    assert "Invoiced per month, Dec 2025 to Nov 2026" in text


@pytest.mark.parametrize("asked", ["2026-10", "Oct 2026", "october", "OCTOBER 2026"])
def test_a_statement_for_a_named_month(app: Portal, asked: str) -> None:
    app.make_account()
    app.command(ADMIN, f"invoices statement {asked}")
    upload = shared(app)
    assert file_name(app, upload) == "statement-2026-10.pdf"
    assert "Statement October 2026" in pdf_text(app, upload)


def test_a_bad_or_future_month_is_refused_with_the_forms(app: Portal) -> None:
    app.make_account()
    app.command(ADMIN, "invoices statement next tuesday")
    told = app.wait_reply("“next tuesday” is not a month I know.")
    assert "`/portal invoices statement 2026-11`" in text_of(told.params)
    app.command(ADMIN, "invoices statement 2027-01")
    app.wait_reply("There is no statement for January 2027 yet: that month has not begun.")
    app.command(STRANGER, "invoices statement")
    app.wait_reply("You don't have access to this account's Admin Portal")
    assert nothing_uploaded(app)
