"""Payment details in a portal without card payments set up (no Stripe key): said plainly.

The flows with Stripe (the billing address, the card page link, Pay Now, the pay modal) run
against localstripe in `tests/payments/test_slack_payments.py`.
"""

from __future__ import annotations

from bot.sandbox.slack_requests import external_select, plain_text
from bot.ui.ids import Act, Blk, Cb
from tests.slack.conftest import ADMIN, FINANCE, VIEWER, Portal, action_ids, text_of

NOT_SET_UP = "Card payments are not set up on this portal yet"


def test_an_admin_is_told_card_payments_are_not_set_up(app: Portal) -> None:
    app.make_account()
    app.command(ADMIN, "card")
    details = app.wait_reply("You don't have any valid payment details")
    assert NOT_SET_UP in text_of(details.params)
    assert action_ids(details.params) == {Act.RETURN_TO_ACCOUNT}  # nothing to add a card with

    app.sender.block_action(ADMIN, Act.ADD_PAYMENT_DETAILS)
    app.fake.wait_for("response_url", lambda c: NOT_SET_UP in text_of(c.params))
    assert app.fake.calls("views.open") == []

    crafted = {
        "id": "V0CRAFTED",
        "type": "modal",
        "callback_id": Cb.BILLING_ADDRESS,
        "private_metadata": "",
        "blocks": [],
    }
    values = {
        Blk.FORENAME: {Act.FORENAME_INPUT: plain_text("Ada")},
        Blk.COUNTRY: {Act.COUNTRY_INPUT: external_select("GB")},
    }
    answer = app.sender.view_submission(ADMIN, crafted, values, apply_response=False).json()
    assert answer["response_action"] == "update"
    assert NOT_SET_UP in text_of(answer["view"])
    assert app.account().billing_forename is None


def test_others_see_the_details_without_the_note_or_the_button(app: Portal) -> None:
    app.make_account()
    for user in (FINANCE, VIEWER):
        app.fake.clear()
        app.command(user, "card")
        details = app.wait_reply("You don't have any valid payment details")
        assert NOT_SET_UP not in text_of(details.params)
        assert action_ids(details.params) == {Act.RETURN_TO_ACCOUNT}
