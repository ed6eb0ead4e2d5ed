"""A card number typed anywhere in Slack is refused, and nothing is done with it."""

from __future__ import annotations

from bot.card_numbers import CARD_NUMBER_MESSAGE
from bot.sandbox.slack_requests import plain_text
from bot.ui.ids import Act, Blk
from tests.slack.conftest import ADMIN, Portal, text_of


def test_a_card_number_in_the_command_is_refused(app: Portal) -> None:
    app.make_account()
    app.command(ADMIN, "buy 4242 4242 4242 4242")
    app.wait_reply(CARD_NUMBER_MESSAGE)
    assert app.fake.calls("views.open") == []


def test_a_card_number_in_a_form_field_is_a_field_error(app: Portal) -> None:
    app.make_account()
    app.command(ADMIN, "buy")
    app.fake.wait_for("views.open")
    [modal] = app.fake.modal_stack(ADMIN)
    response = app.sender.view_submission(
        ADMIN, modal, {Blk.CREDITS: {Act.CREDITS_INPUT: plain_text("4000 0025 0000 3155")}}
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert answer["errors"] == {Blk.CREDITS: CARD_NUMBER_MESSAGE}
    assert "4000" not in text_of(app.fake.calls())
