"""Account set-up, the Account view, contact details, password link, VAT and payment details:
from `/portal` to the success message, over signed requests, with what the fake Slack received
and the state read back from the store. (The finance channel's tests are in test_finance.py.)"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.links import open_password_window
from bot.sandbox.slack_api import RecordedCall
from bot.sandbox.slack_requests import conversations_select, external_select, plain_text
from bot.ui import account as account_ui
from bot.ui.ids import Act, Blk, Cb
from store.enums import LinkPurpose, Role
from store.models import Account, AccountUser, AuditEntry, OneTimeLink, Workspace
from tests.slack.conftest import (
    ADMIN,
    FINANCE,
    STRANGER,
    TEAM_ID,
    VIEWER,
    WORKSPACE_ADMIN,
    Portal,
    action_ids,
    text_of,
)

# -- Helpers -------------------------------------------------------------------------------------


def opened_modal(app: Portal, user: str, callback_id: str) -> dict[str, Any]:
    """The modal the app opened for `user`, once views.open has arrived."""
    app.fake.wait_for(
        "views.open",
        lambda call: (
            call.response.get("ok") is True and call.response["view"]["callback_id"] == callback_id
        ),
    )
    stack = app.fake.modal_stack(user)
    assert stack, "no modal open"
    assert stack[-1]["callback_id"] == callback_id
    return stack[-1]


def link_url(call: RecordedCall) -> str:
    """The URL button's address in a posted link message."""
    for block in call.params.get("blocks") or []:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("url"):
                assert element["action_id"] == Act.OPEN_LINK
                return str(element["url"])
    raise AssertionError(f"no URL button in {text_of(call.params)[:200]}")


def links_of(app: Portal, purpose: LinkPurpose | None = None) -> list[tuple[str, LinkPurpose]]:
    def read(session: Session) -> list[tuple[str, LinkPurpose]]:
        rows = session.scalars(select(OneTimeLink)).all()
        return [(r.slack_user_id, r.purpose) for r in rows if purpose in (None, r.purpose)]

    return list(app.read(read))


def snapshot(app: Portal) -> tuple[Any, ...]:
    """Everything an admin action could change: account fields, users, audit, links."""

    def read(session: Session) -> tuple[Any, ...]:
        accounts = [
            (a.company_name, a.country, a.vat_reference, a.contact_email, a.contact_phone,
             a.finance_channel_id)
            for a in session.scalars(select(Account).order_by(Account.id))
        ]  # fmt: skip
        users = sorted((u.slack_user_id, u.role) for u in session.scalars(select(AccountUser)))
        audit = session.scalar(select(func.count()).select_from(AuditEntry))
        links = session.scalar(select(func.count()).select_from(OneTimeLink))
        return (accounts, users, audit, links)

    return tuple(app.read(read))


def wait_replies(
    app: Portal, contains: str, count: int, timeout: float = 5.0
) -> list[RecordedCall]:
    """Wait until `count` private answers contain `contains`; returns them, oldest first."""
    deadline = time.monotonic() + timeout
    while True:
        found = [c for c in app.replies() if contains in text_of(c.params)]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) == count, f"{len(found)} answers contain {contains!r}"
            return found
        time.sleep(0.02)


def open_window(app: Portal, account_id: int, user: str) -> None:
    with app.session() as session:
        open_password_window(
            session=session, account_id=account_id, slack_user_id=user, now=app.clock()
        )


# -- Account set-up ------------------------------------------------------------------------------


def _set_up_values(
    *,
    company: str = "Wendy's Widgets Ltd",
    country: str | None = "GB",
    email: str = "ap@wendy.example",
    vat: str | None = None,
) -> dict[str, Any]:
    return {
        Blk.COMPANY_NAME: {Act.COMPANY_NAME_INPUT: plain_text(company)},
        Blk.COUNTRY: {Act.COUNTRY_INPUT: external_select(country)},
        Blk.EMAIL: {Act.EMAIL_INPUT: plain_text(email)},
        Blk.VAT_REFERENCE: {Act.VAT_REFERENCE_INPUT: plain_text(vat)},
    }


def test_a_workspace_admin_sets_up_the_account_end_to_end(app: Portal) -> None:
    app.command(WORKSPACE_ADMIN)
    offer = app.wait_reply("Set up account")
    assert Act.SET_UP_ACCOUNT in action_ids(offer.params)
    assert app.fake.calls("users.info")[0].params["user"] == WORKSPACE_ADMIN

    app.sender.block_action(WORKSPACE_ADMIN, Act.SET_UP_ACCOUNT)
    modal = opened_modal(app, WORKSPACE_ADMIN, Cb.SET_UP_ACCOUNT)
    assert "password" not in text_of([b for b in modal["blocks"] if b["type"] == "input"]).lower()

    suggested = app.sender.block_suggestion(WORKSPACE_ADMIN, Act.COUNTRY_INPUT, "ger", view=modal)
    assert suggested.json()["option_groups"][0]["options"][0]["value"] == "DE"

    # A bad email first: a field error under the email, and nothing is created.
    bad = app.sender.view_submission(
        WORKSPACE_ADMIN, modal, _set_up_values(country="DE", email="not-an-email")
    )
    assert bad.json()["response_action"] == "errors"
    assert set(bad.json()["errors"]) == {Blk.EMAIL}
    assert app.read(lambda s: s.scalar(select(func.count()).select_from(Account))) == 0

    response = app.sender.view_submission(
        WORKSPACE_ADMIN, modal, _set_up_values(country="DE", vat="DE 136 695 976")
    )
    assert response.status_code == 200
    assert not response.content.strip()  # closes the modal
    assert app.fake.modal_stack(WORKSPACE_ADMIN) == []

    created = app.wait_reply("is set up, and you are its first admin")
    url = link_url(created)
    assert url.startswith(f"{app.url}/secure/set-password/")
    assert "works for 10 minutes" in text_of(created.params)
    assert created.params["channel"] == WORKSPACE_ADMIN  # privately, to them alone
    app.wait_reply("Admin Portal — Wendy's Widgets Ltd")  # the menu follows

    account = app.account()
    assert (account.company_name, account.country, account.vat_reference) == (
        "Wendy's Widgets Ltd",
        "DE",
        "DE136695976",
    )
    assert account.contact_email == "ap@wendy.example"
    assert app.read(lambda s: s.scalar(select(Workspace.team_id))) == TEAM_ID
    assert app.read(
        lambda s: [(u.slack_user_id, u.role) for u in s.scalars(select(AccountUser))]
    ) == [(WORKSPACE_ADMIN, Role.ADMIN)]
    assert links_of(app) == [(WORKSPACE_ADMIN, LinkPurpose.SET_PASSWORD)]
    # The link opens the set-password page.
    assert app.sender.session.get(url, timeout=5).status_code == 200


def test_someone_who_is_not_a_workspace_admin_cannot_set_up(app: Portal) -> None:
    app.command(STRANGER)
    refusal = app.wait_reply("only a workspace admin or owner can set it up")
    assert Act.SET_UP_ACCOUNT not in action_ids(refusal.params)

    app.sender.block_action(STRANGER, Act.SET_UP_ACCOUNT)  # the button, sent anyway
    wait_replies(app, "only a workspace admin or owner can set it up", 2)
    assert app.fake.calls("views.open") == []

    crafted = app.sender.view_submission(STRANGER, account_ui.set_up_modal(), _set_up_values())
    assert crafted.json()["response_action"] == "update"
    assert account_ui.SET_UP_ADMINS_ONLY in text_of(crafted.json()["view"])
    suggestions = app.sender.block_suggestion(
        STRANGER, Act.COUNTRY_INPUT, "", view=account_ui.set_up_modal()
    )
    assert suggestions.json() == {"options": []}
    assert app.read(lambda s: s.scalar(select(func.count()).select_from(Account))) == 0
    assert links_of(app) == []


def test_a_second_set_up_is_refused(app: Portal) -> None:
    app.make_account()
    app.sender.block_action(WORKSPACE_ADMIN, Act.SET_UP_ACCOUNT)
    app.wait_reply("already has an Admin Portal account")
    assert app.fake.calls("views.open") == []
    before = snapshot(app)

    crafted = app.sender.view_submission(
        WORKSPACE_ADMIN, account_ui.set_up_modal(), _set_up_values()
    )
    assert crafted.json() == {
        "response_action": "errors",
        "errors": {Blk.COMPANY_NAME: "This workspace already has an account."},
    }
    assert snapshot(app) == before


def test_country_suggestions_put_the_uk_and_the_eu_first(app: Portal) -> None:
    app.command(WORKSPACE_ADMIN)
    app.wait_reply("Set up account")
    view = account_ui.set_up_modal()
    everything = app.sender.block_suggestion(
        WORKSPACE_ADMIN, Act.COUNTRY_INPUT, "", view=view
    ).json()
    groups = everything["option_groups"]
    assert [g["label"]["text"] for g in groups] == ["UK", "European Union", "Rest of the world"]
    assert [o["value"] for o in groups[0]["options"]] == ["GB", "XI"]
    assert len(groups[1]["options"]) == 27
    assert sum(len(g["options"]) for g in groups) == 100

    germany = app.sender.block_suggestion(
        WORKSPACE_ADMIN, Act.COUNTRY_INPUT, "ger", view=view
    ).json()
    first = germany["option_groups"][0]["options"][0]
    assert first == {"text": {"type": "plain_text", "text": "Germany"}, "value": "DE"}


# -- The Account view ----------------------------------------------------------------------------


def test_an_admin_sees_the_account_with_its_buttons(app: Portal) -> None:
    app.make_account()
    app.command(ADMIN, "account")
    reply = app.wait_reply("Account — Acme Widgets Ltd")
    text = text_of(reply.params)
    for shown in ("billing@acme.example", "United Kingdom", "*VAT reference*\nNone", "Not chosen"):
        assert shown in text
    assert {
        Act.UPDATE_CONTACT_DETAILS,
        Act.CHANGE_PASSWORD,
        Act.EDIT_VAT,
        Act.CHOOSE_FINANCE_CHANNEL,
    } <= action_ids(reply.params)
    assert "Update email address/contact details" in text


@pytest.mark.parametrize("user", [FINANCE, VIEWER])
def test_others_see_the_account_without_admin_buttons(app: Portal, user: str) -> None:
    app.make_account()
    app.sender.block_action(user, Act.MENU_ACCOUNT)
    reply = app.wait_reply("Account — Acme Widgets Ltd")
    assert reply.params.get("replace_original") is True  # in place of the menu
    assert action_ids(reply.params) == {Act.RETURN_TO_ACCOUNT}


# -- Contact details -----------------------------------------------------------------------------


def _contact_values(email: str | None, phone: str | None) -> dict[str, Any]:
    return {
        Blk.EMAIL: {Act.EMAIL_INPUT: plain_text(email)},
        Blk.PHONE: {Act.PHONE_INPUT: plain_text(phone)},
    }


def test_contact_details_within_the_password_window(app: Portal) -> None:
    account_id = app.make_account()
    open_window(app, account_id, ADMIN)
    app.sender.block_action(ADMIN, Act.UPDATE_CONTACT_DETAILS)
    modal = opened_modal(app, ADMIN, Cb.CONTACT_DETAILS)
    assert "Leave blank to keep billing@acme.example." in text_of(modal)
    assert modal["submit"]["text"] == "Update Details"

    response = app.sender.view_submission(
        ADMIN, modal, _contact_values("New.Billing@Acme.example", "020 7946 0018")
    )
    assert not response.content.strip()
    done = app.wait_reply("Your details have been successfully updated.")
    assert Act.RETURN_TO_ACCOUNT in action_ids(done.params)
    account = app.account()
    assert (account.contact_email, account.contact_phone) == (
        "New.Billing@acme.example",
        "+442079460018",
    )
    assert links_of(app) == []  # no password link was needed


def test_blank_keeps_the_current_value(app: Portal) -> None:
    account_id = app.make_account()
    open_window(app, account_id, ADMIN)
    app.sender.block_action(ADMIN, Act.UPDATE_CONTACT_DETAILS)
    modal = opened_modal(app, ADMIN, Cb.CONTACT_DETAILS)
    both_blank = app.sender.view_submission(ADMIN, modal, _contact_values(None, "  "))
    assert set(both_blank.json()["errors"]) == {Blk.EMAIL}
    app.sender.view_submission(ADMIN, modal, _contact_values(None, "+44 20 7946 0018"))
    app.wait_reply("Your details have been successfully updated.")
    account = app.account()
    assert (account.contact_email, account.contact_phone) == (
        "billing@acme.example",
        "+442079460018",
    )


def test_outside_the_window_the_password_link_comes_first(app: Portal) -> None:
    account_id = app.make_account()
    app.command(ADMIN, "account")
    app.wait_reply("Account — Acme Widgets Ltd")
    app.sender.block_action(ADMIN, Act.UPDATE_CONTACT_DETAILS)
    link = app.wait_reply("Enter your password")
    assert link_url(link).startswith(f"{app.url}/secure/confirm-password/")
    assert link.params["response_type"] == "ephemeral"
    assert app.fake.calls("views.open") == []
    assert links_of(app) == [(ADMIN, LinkPurpose.CONFIRM_PASSWORD)]

    # A submission crafted without confirming the password changes nothing.
    before = snapshot(app)
    view = account_ui.contact_details_modal(app.account())
    crafted = app.sender.view_submission(ADMIN, view, _contact_values("evil@example.com", None))
    answer = crafted.json()
    assert answer["response_action"] == "update"
    assert "enter your password" in text_of(answer["view"]).lower()
    app.fake.wait_for("chat.postMessage", lambda c: c.params.get("channel") == ADMIN)
    assert app.account().contact_email == "billing@acme.example"
    after = snapshot(app)
    assert after[:3] == before[:3]  # only a fresh confirm-password link was added

    # The window closes after 15 minutes.
    open_window(app, account_id, ADMIN)
    app.clock.advance(minutes=16)
    late = app.sender.view_submission(ADMIN, view, _contact_values("late@example.com", None))
    assert late.json()["response_action"] == "update"
    assert app.account().contact_email == "billing@acme.example"


def test_a_bad_email_is_a_field_error_and_changes_nothing(app: Portal) -> None:
    account_id = app.make_account()
    open_window(app, account_id, ADMIN)
    app.command(ADMIN, "account")
    app.wait_reply("Account — Acme Widgets Ltd")
    app.sender.block_action(ADMIN, Act.UPDATE_CONTACT_DETAILS)
    modal = opened_modal(app, ADMIN, Cb.CONTACT_DETAILS)
    before = snapshot(app)
    response = app.sender.view_submission(
        ADMIN, modal, _contact_values("billing@", "020 7946 0018")
    )
    assert response.json()["response_action"] == "errors"
    assert list(response.json()["errors"]) == [Blk.EMAIL]
    assert "Enter a valid email address" in response.json()["errors"][Blk.EMAIL]
    assert app.fake.view(modal["id"])["errors"] == response.json()["errors"]  # Slack accepted
    assert snapshot(app) == before


def test_a_bad_phone_is_a_field_error_and_changes_nothing(app: Portal) -> None:
    account_id = app.make_account()
    open_window(app, account_id, ADMIN)
    app.sender.block_action(ADMIN, Act.UPDATE_CONTACT_DETAILS)
    modal = opened_modal(app, ADMIN, Cb.CONTACT_DETAILS)
    before = snapshot(app)
    for phone in ("12345", "call me"):
        response = app.sender.view_submission(
            ADMIN, modal, _contact_values("new@acme.example", phone)
        )
        assert list(response.json()["errors"]) == [Blk.PHONE]
    assert snapshot(app) == before


# -- Change password -----------------------------------------------------------------------------


def test_change_password_posts_a_one_time_link(app: Portal) -> None:
    app.make_account()
    app.command(ADMIN, "password")
    link = app.wait_reply("Change the Admin Portal password")
    url = link_url(link)
    assert url.startswith(f"{app.url}/secure/change-password/")
    assert link.params["response_type"] == "ephemeral"
    assert links_of(app) == [(ADMIN, LinkPurpose.CHANGE_PASSWORD)]
    assert app.sender.session.get(url, timeout=5).status_code == 200

    app.sender.block_action(ADMIN, Act.CHANGE_PASSWORD)
    second = wait_replies(app, "Change the Admin Portal password", 2)[1]
    assert link_url(second) != url  # a new link each time
    assert app.sender.block_action(ADMIN, Act.OPEN_LINK).status_code == 200  # only acked


# -- VAT reference -------------------------------------------------------------------------------


def _vat_values(country: str, reference: str | None) -> dict[str, Any]:
    return {
        Blk.COUNTRY: {Act.COUNTRY_INPUT: external_select(country)},
        Blk.VAT_REFERENCE: {Act.VAT_REFERENCE_INPUT: plain_text(reference)},
    }


@pytest.mark.parametrize(
    ("reference", "says"),
    [
        ("DE136695977", "The check digits of this VAT reference are wrong"),
        ("FR40303265045", "starts with FR, but the account's country is Germany"),
    ],
)
def test_an_invalid_vat_reference_is_a_field_error(app: Portal, reference: str, says: str) -> None:
    app.make_account()
    app.command(ADMIN, "vat")
    modal = opened_modal(app, ADMIN, Cb.VAT_DETAILS)
    before = snapshot(app)
    response = app.sender.view_submission(ADMIN, modal, _vat_values("DE", reference))
    errors = response.json()["errors"]
    assert list(errors) == [Blk.VAT_REFERENCE]
    assert says in errors[Blk.VAT_REFERENCE]
    assert snapshot(app) == before


def test_a_valid_german_vat_reference_means_reverse_charge(app: Portal) -> None:
    app.make_account()
    app.command(ADMIN, "help")
    app.wait_reply("Admin Portal commands")
    app.sender.block_action(ADMIN, Act.MENU_VAT)
    modal = opened_modal(app, ADMIN, Cb.VAT_DETAILS)
    initial = modal["blocks"][0]["element"]["initial_option"]
    assert initial["value"] == "GB"
    suggested = app.sender.block_suggestion(ADMIN, Act.COUNTRY_INPUT, "germ", view=modal)
    assert suggested.json()["option_groups"][0]["options"][0]["value"] == "DE"

    app.sender.view_submission(ADMIN, modal, _vat_values("DE", "de136695976"))
    done = app.wait_reply("Your VAT details have been successfully updated.")
    assert "Reverse charge: customer to account for VAT" in text_of(done.params)
    account = app.account()
    assert (account.country, account.vat_reference) == ("DE", "DE136695976")

    # And back to no reference: UK VAT is charged again.
    app.fake.clear()
    app.sender.block_action(ADMIN, Act.EDIT_VAT)
    modal = opened_modal(app, ADMIN, Cb.VAT_DETAILS)
    assert modal["blocks"][1]["element"]["initial_value"] == "DE136695976"
    app.sender.view_submission(ADMIN, modal, _vat_values("DE", ""))
    again = app.wait_reply("Your VAT details have been successfully updated.")
    assert "no EU VAT reference has been provided" in text_of(again.params)
    assert app.account().vat_reference is None


# -- Payment details -----------------------------------------------------------------------------


def _set_card(app: Portal, month: int, year: int) -> None:
    with app.session() as session:
        account = session.scalars(select(Account)).one()
        account.card_brand, account.card_last4 = "visa", "4242"
        account.card_exp_month, account.card_exp_year = month, year


def test_payment_details_show_the_card_masked_or_none(app: Portal) -> None:
    app.make_account()
    app.command(VIEWER, "card")
    none = app.wait_reply("You don't have any valid payment details")
    assert action_ids(none.params) == {Act.RETURN_TO_ACCOUNT}  # no Add button yet

    _set_card(app, 12, 2030)
    app.sender.block_action(FINANCE, Act.MENU_CARD)
    card = app.wait_reply("Visa •••• 4242, expires 12/2030")
    assert action_ids(card.params) == {Act.RETURN_TO_ACCOUNT}

    _set_card(app, 10, 2026)  # the clock says November 2026
    app.fake.clear()
    app.command(ADMIN, "card")
    expired = app.wait_reply("You don't have any valid payment details")
    assert "Visa •••• 4242, expires 10/2026, has expired" in text_of(expired.params)


def test_a_stranger_sees_no_account_details(app: Portal) -> None:
    app.make_account()
    app.command(STRANGER, "account")
    app.wait_reply("You don't have access to this account's Admin Portal")
    app.command(STRANGER, "card")
    wait_replies(app, "You don't have access to this account's Admin Portal", 2)
    assert "billing@acme.example" not in text_of([c.params for c in app.replies()])


# -- Nobody but an admin reaches an admin action, by any route -----------------------------------

ADMIN_WORDS = ("password", "vat", "finance", "finance <#C0FINANCE|finance>")
ADMIN_BUTTONS = (
    Act.UPDATE_CONTACT_DETAILS,
    Act.CHANGE_PASSWORD,
    Act.EDIT_VAT,
    Act.CHOOSE_FINANCE_CHANNEL,
    Act.MENU_PASSWORD,
    Act.MENU_VAT,
    Act.MENU_FINANCE,
)


@pytest.mark.parametrize(
    ("user", "refusal"),
    [
        (FINANCE, "Only an account admin can do that; you are a finance."),
        (VIEWER, "Only an account admin can do that; you are a viewer."),
        (STRANGER, "You don't have access to this account's Admin Portal."),
    ],
)
def test_no_admin_account_action_for_others_by_any_route(
    app: Portal, user: str, refusal: str
) -> None:
    account_id = app.make_account()
    app.fake.add_channel("C0OPEN", "open", bot_is_member=False)
    open_window(app, account_id, user)  # even with a confirmed password
    before = snapshot(app)

    for word in ADMIN_WORDS:
        app.command(user, word)
    for action_id in ADMIN_BUTTONS:
        app.sender.block_action(user, action_id)
    wait_replies(app, refusal, len(ADMIN_WORDS) + len(ADMIN_BUTTONS))

    account = app.account()
    crafted = {
        Cb.CONTACT_DETAILS: (
            account_ui.contact_details_modal(account),
            _contact_values("evil@example.com", "+44 20 7946 0018"),
        ),
        Cb.VAT_DETAILS: (
            account_ui.vat_details_modal(account, countries={"GB": "United Kingdom"}),
            _vat_values("DE", "DE136695976"),
        ),
        Cb.FINANCE_CHANNEL: (
            account_ui.finance_channel_modal(None),
            {Blk.CHANNEL: {Act.CHANNEL_INPUT: conversations_select("C0OPEN")}},
        ),
    }
    for callback_id, (view, entered) in crafted.items():
        response = app.sender.view_submission(user, view, entered)
        answer = response.json()
        assert answer["response_action"] == "update", callback_id
        assert refusal in text_of(answer["view"]), callback_id
    set_up = app.sender.view_submission(user, account_ui.set_up_modal(), _set_up_values())
    assert account_ui.SET_UP_ADMINS_ONLY in text_of(set_up.json())
    suggestions = app.sender.block_suggestion(
        user, Act.COUNTRY_INPUT, "ger", view=account_ui.vat_details_modal(account, countries={})
    )
    assert suggestions.json() == {"options": []}

    assert snapshot(app) == before
    assert app.fake.calls("views.open") == []
    assert app.fake.calls("conversations.join") == []
    assert not [c for c in app.fake.calls("chat.postMessage") if c.params["channel"][0] in "CG"]
