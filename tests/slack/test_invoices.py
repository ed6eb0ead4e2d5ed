"""Invoices: newest first, 10 a page with Next and Previous, one invoice's detail, unpaid ones."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

from sqlalchemy.orm import Session

from bot.invoices import create_invoice
from bot.pricing import active_services, quote_service_for
from bot.ui.ids import Act, Cb
from bot.ui.invoices import NEWER_BLOCK, OLDER_BLOCK
from store.enums import InvoiceKind
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


def add_invoices(app: Portal, account_id: int, count: int, *, hours: str = "1") -> list[int]:
    """`count` one-line service invoices, a day apart, oldest first; their ids."""

    def create(session: Session) -> list[int]:
        account = session.get_one(Account, account_id)
        service = next(s for s in active_services(session=session) if s.name == "Training")
        ids = []
        for day in range(count):
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
                now=NOW + timedelta(days=day),
            )
            ids.append(invoice.id)
        return ids

    return list(app.read(create))


def numbers_in(message: dict[str, Any]) -> list[str]:
    """The invoice numbers listed, in order: each row is the invoice's line of text followed
    by its "View" and "Download PDF" buttons."""
    blocks = message["blocks"]
    return [
        block["text"]["text"].split("*")[1]
        for block, after in pairwise(blocks)
        if block["type"] == "section"
        and {Act.VIEW_INVOICE, Act.DOWNLOAD_INVOICE}
        <= {element.get("action_id") for element in after.get("elements", [])}
    ]


def nav_value(message: dict[str, Any], block_id: str) -> str | None:
    for block in message["blocks"]:
        if block.get("block_id") == block_id:
            return str(block["elements"][0]["value"])
    return None


def latest_message(app: Portal) -> dict[str, Any]:
    return app.fake.messages(GENERAL)[-1]


def turn(app: Portal, message: dict[str, Any], block_id: str) -> dict[str, Any]:
    """Press "Next" or "Previous" on `message`; the message as it then reads."""
    value = nav_value(message, block_id)
    assert value is not None, f"no {block_id} button"
    app.fake.clear()
    response = app.sender.block_action(
        ADMIN, Act.INVOICES_PAGE, value=value, block_id=block_id, message=message
    )
    assert response.status_code == 200
    call = app.fake.wait_for("response_url")
    assert call.params["replace_original"] is True
    return latest_message(app)


def expected(first: int, last: int) -> list[str]:
    return [f"INV-{n:06d}" for n in range(first, last - 1, -1)]


def test_no_invoices_yet(app: Portal) -> None:
    app.make_account()
    app.command(VIEWER, "invoices")
    reply = app.wait_reply("You have no invoices yet.")
    assert action_ids(reply.params) == {Act.RETURN_TO_ACCOUNT}


def test_25_invoices_page_by_page_with_next_and_previous(app: Portal) -> None:
    account_id = app.make_account()
    add_invoices(app, account_id, 25)
    app.command(ADMIN, "invoices")
    app.wait_reply("Page 1 · newest first")
    page1 = latest_message(app)
    posted = len(app.fake.messages(GENERAL))
    assert numbers_in(page1) == expected(25, 16)
    assert "*INV-000025* · 18 Dec 2026 · Unpaid · £90.00" in text_of(page1)
    assert nav_value(page1, NEWER_BLOCK) is None

    page2 = turn(app, page1, OLDER_BLOCK)
    assert "Page 2 · newest first" in text_of(page2)
    assert numbers_in(page2) == expected(15, 6)
    page3 = turn(app, page2, OLDER_BLOCK)
    assert "Page 3 · newest first" in text_of(page3)
    assert numbers_in(page3) == expected(5, 1)
    assert nav_value(page3, OLDER_BLOCK) is None

    back = turn(app, page3, NEWER_BLOCK)
    assert "Page 2 · newest first" in text_of(back)
    assert numbers_in(back) == expected(15, 6)
    first = turn(app, back, NEWER_BLOCK)
    assert "Page 1 · newest first" in text_of(first)
    assert numbers_in(first) == expected(25, 16)
    assert nav_value(first, NEWER_BLOCK) is None
    assert len(app.fake.messages(GENERAL)) == posted  # every turn replaced the one message


def test_a_page_number_jumps_straight_there(app: Portal) -> None:
    account_id = app.make_account()
    add_invoices(app, account_id, 25)
    app.command(VIEWER, "invoices 3")
    page3 = app.wait_reply("Page 3 · newest first").params
    assert numbers_in(page3) == expected(5, 1)
    assert nav_value(page3, OLDER_BLOCK) is None
    assert nav_value(page3, NEWER_BLOCK) is not None


def test_pages_that_do_not_exist_answer_with_page_1_and_a_note(app: Portal) -> None:
    account_id = app.make_account()
    add_invoices(app, account_id, 25)
    for text, note in (
        ("invoices 9", "There is no page 9: your invoices fill 3 pages. Here is page 1."),
        ("invoices abc", "“abc” is not a page number, so here is page 1."),
        ("invoices 0", "“0” is not a page number, so here is page 1."),
        ("invoices -2", "“-2” is not a page number, so here is page 1."),
        ("invoices 99999999999", "is not a page number, so here is page 1."),
    ):
        app.fake.clear()
        app.command(ADMIN, text)
        reply = app.wait_reply(note).params
        assert numbers_in(reply) == expected(25, 16), text
        assert "Page 1 · newest first" in text_of(reply)


def test_a_crafted_cursor_answers_with_page_1(app: Portal) -> None:
    account_id = app.make_account()
    add_invoices(app, account_id, 12)
    app.command(ADMIN, "invoices")
    app.wait_reply("Page 1")
    page1 = latest_message(app)
    app.fake.clear()
    app.sender.block_action(
        ADMIN, Act.INVOICES_PAGE, value="drop table", block_id=OLDER_BLOCK, message=page1
    )
    app.fake.wait_for("response_url")
    assert numbers_in(latest_message(app)) == expected(12, 3)


def test_view_opens_the_invoice_detail(app: Portal) -> None:
    account_id = app.make_account()
    [invoice_id] = add_invoices(app, account_id, 1, hours="1.75")
    app.command(VIEWER, "invoices")
    app.wait_reply("Page 1")
    message = latest_message(app)
    app.sender.block_action(VIEWER, Act.VIEW_INVOICE, value=str(invoice_id), message=message)
    app.fake.wait_for("views.open")
    [detail] = app.fake.modal_stack(VIEWER)
    assert detail["callback_id"] == Cb.INVOICE_DETAIL
    text = text_of(detail)
    assert "Invoice INV-000001" in text
    assert "1.75 hours × £75.00 = £131.25" in text
    assert "*VAT at 20%:* £26.25" in text
    assert "*Gross total:* £157.50" in text


def test_another_accounts_invoice_is_refused(app: Portal) -> None:
    app.make_account()

    def theirs(session: Session) -> int:
        other = make_account(session, now=NOW, company_name="Other Ltd", admin_user_id="UOTHER")
        session.flush()
        return other.id

    other_id = app.read(theirs)
    [their_invoice] = add_invoices(app, other_id, 1)
    response = app.sender.block_action(ADMIN, Act.VIEW_INVOICE, value=str(their_invoice))
    assert response.status_code == 200
    app.wait_reply("That invoice could not be found on this account.")
    app.sender.block_action(ADMIN, Act.VIEW_INVOICE, value="not-a-number")
    app.fake.wait_for(
        "response_url",
        lambda c: "could not be found" in text_of(c.params) and c.params is not None,
    )
    assert app.fake.calls("views.open") == []
    app.sender.block_action(STRANGER, Act.VIEW_INVOICE, value=str(their_invoice))
    app.wait_reply("You don't have access to this account's Admin Portal")
    assert app.fake.calls("views.open") == []


def test_pay_without_card_payments_set_up_says_so(app: Portal) -> None:
    # This harness runs without Stripe; tests/payments/test_slack_payments.py pays for real.
    account_id = app.make_account()
    ids = add_invoices(app, account_id, 2)
    app.command(FINANCE, "pay")
    app.wait_reply("Card payments are not set up on this portal yet")
    app.sender.block_action(FINANCE, Act.PAY_INVOICE, value=str(ids[0]))
    app.fake.wait_for("response_url", lambda c: "Card payments are not set up" in text_of(c.params))
    assert app.fake.calls("views.open") == []


def test_pay_with_nothing_unpaid_and_for_a_viewer(app: Portal) -> None:
    app.make_account()
    app.command(ADMIN, "pay")
    app.wait_reply("You have no unpaid invoices.")
    app.command(VIEWER, "pay")
    app.wait_reply("Only an account admin or finance can do that; you are a viewer.")
