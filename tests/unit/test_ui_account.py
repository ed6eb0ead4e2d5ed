"""The account and users builders: golden dicts for the small ones, structure for the rest,
and Slack's own limits (checked by the fake's validator) for every view and message."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.countries import EU_MEMBER_STATES, country_names
from bot.sandbox.slack_api import validate_blocks, validate_view
from bot.ui import account as account_ui
from bot.ui import users as users_ui
from bot.ui.ids import Act, Blk, Cb
from store.enums import Role
from store.models import Account, AccountUser

NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
URL = "https://portal.example/secure/x"


def _account(**overrides: Any) -> Account:
    fields: dict[str, Any] = {
        "id": 7,
        "company_name": "Acme Widgets Ltd",
        "country": "GB",
        "vat_reference": None,
        "contact_email": "billing@acme.example",
        "contact_phone": None,
        "finance_channel_id": None,
        "currency": "GBP",
    }
    fields.update(overrides)
    return Account(**fields)


def _member(user: str, role: Role, *, added_by: str = "UADMIN") -> AccountUser:
    return AccountUser(account_id=7, slack_user_id=user, role=role, added_by=added_by, added_at=NOW)


def _action_ids(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["action_id"]] if isinstance(value.get("action_id"), str) else []
        return found + [i for item in value.values() for i in _action_ids(item)]
    if isinstance(value, list):
        return [i for item in value for i in _action_ids(item)]
    return []


def _texts(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(_texts(v) for v in value.values())
    if isinstance(value, list):
        return "\n".join(_texts(v) for v in value)
    return ""


# -- Countries -----------------------------------------------------------------------------------


def _codes(groups: list[dict[str, Any]]) -> list[str]:
    return [option["value"] for group in groups for option in group["options"]]


def test_an_empty_query_lists_the_uk_then_the_eu_first_within_slacks_limit() -> None:
    groups = account_ui.country_option_groups(country_names(), "")
    assert [group["label"]["text"] for group in groups] == [
        "UK",
        "European Union",
        "Rest of the world",
    ]
    codes = _codes(groups)
    assert codes[:2] == ["GB", "XI"]
    assert set(codes[2:29]) == EU_MEMBER_STATES
    assert len(codes) == 100
    assert codes[2] == "AT"  # Austria: the EU in alphabetical order


def test_typing_finds_countries_by_name_code_alias_and_without_accents() -> None:
    names = country_names()
    assert _codes(account_ui.country_option_groups(names, "ger"))[0] == "DE"
    assert "DE" in _codes(account_ui.country_option_groups(names, "GER"))
    assert _codes(account_ui.country_option_groups(names, "fr"))[0] == "FR"
    assert _codes(account_ui.country_option_groups(names, "uk"))[0] == "GB"
    assert _codes(account_ui.country_option_groups(names, "england")) == ["GB"]
    assert "CI" in _codes(account_ui.country_option_groups(names, "cote"))
    assert "US" in _codes(account_ui.country_option_groups(names, "united st"))
    assert account_ui.country_option_groups(names, "qqqq") == []


def test_within_a_group_names_starting_with_the_query_come_first() -> None:
    groups = account_ui.country_option_groups(country_names(), "ni")
    rest_of_world = _codes(groups[-1:])
    # The code NI (Nicaragua), then names starting "Ni", then words and the rest, A to Z.
    assert rest_of_world[:6] == ["NI", "NE", "NG", "NU", "AF", "AL"]
    assert _codes(groups[:1]) == ["GB"]  # "United Kingdom" contains "ni"; the UK still leads


def test_country_options_fit_slack() -> None:
    for option in account_ui.country_option_groups(country_names(), "")[2]["options"]:
        assert len(option["text"]["text"]) <= 75
        assert len(option["value"]) <= 150


def test_the_country_select_searches_from_the_first_keystroke() -> None:
    block = account_ui.country_select(label="Country", initial=("DE", "Germany"))
    assert block == {
        "type": "input",
        "block_id": Blk.COUNTRY,
        "label": {"type": "plain_text", "text": "Country"},
        "element": {
            "type": "external_select",
            "action_id": Act.COUNTRY_INPUT,
            "placeholder": {"type": "plain_text", "text": "Type to search"},
            "min_query_length": 0,
            "initial_option": {"text": {"type": "plain_text", "text": "Germany"}, "value": "DE"},
        },
        "optional": False,
    }


# -- Set-up and links ------------------------------------------------------------------------------


def test_the_set_up_offer_golden() -> None:
    assert account_ui.set_up_offer() == {
        "text": (
            "This workspace has no Admin Portal account yet. As a workspace admin, you can set "
            "one up: you will be its first admin."
        ),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Admin Portal"}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": (
                        "This workspace has no Admin Portal account yet. As a workspace admin, "
                        "you can set one up: you will be its first admin."
                    ),
                },
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Set up account"},
                        "action_id": Act.SET_UP_ACCOUNT,
                        "style": "primary",
                    }
                ],
            },
        ],
    }


def test_the_set_up_refusal_says_who_can() -> None:
    message = account_ui.set_up_refused()
    assert "only a workspace admin or owner can set it up" in message["text"]
    assert _action_ids(message) == []


def test_the_set_up_modal_asks_for_the_four_fields_and_no_password() -> None:
    view = account_ui.set_up_modal()
    assert validate_view(view) == []
    assert view["callback_id"] == Cb.SET_UP_ACCOUNT
    inputs = [block for block in view["blocks"] if block["type"] == "input"]
    assert [block["block_id"] for block in inputs] == [
        Blk.COMPANY_NAME,
        Blk.COUNTRY,
        Blk.EMAIL,
        Blk.VAT_REFERENCE,
    ]
    assert [block["optional"] for block in inputs] == [False, False, False, True]
    assert "password" not in _texts(inputs).lower()


@pytest.mark.parametrize(
    ("message", "label"),
    [
        (
            account_ui.confirm_password_link("https://portal.example/secure/x"),
            "Enter your password",
        ),
        (account_ui.change_password_link("https://portal.example/secure/x"), "Change password"),
        (
            account_ui.account_created("Acme", "https://portal.example/secure/x"),
            "Set your password",
        ),
    ],
)
def test_links_are_a_url_button_and_the_url_in_text(message: dict[str, Any], label: str) -> None:
    assert validate_blocks(message["blocks"]) == []
    buttons = [
        element
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert buttons == [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": label},
            "action_id": Act.OPEN_LINK,
            "style": "primary",
            "url": URL,
        }
    ]
    assert f"works for 10 minutes: {URL}" in _texts(message)


# -- The Account view ----------------------------------------------------------------------------


def test_the_account_view_for_an_admin() -> None:
    account = _account(
        contact_phone="+442079460018", vat_reference="GB123", finance_channel_id="C0FIN"
    )
    message = account_ui.account_message(account, countries=country_names(), can_edit=True)
    assert validate_blocks(message["blocks"]) == []
    fields = message["blocks"][1]["fields"]
    assert [field["text"] for field in fields] == [
        "*Company*\nAcme Widgets Ltd",
        "*Contact email*\nbilling@acme.example",
        "*Contact number*\n+442079460018",
        "*Country*\nUnited Kingdom",
        "*VAT reference*\nGB123",
        "*Finance channel*\n<#C0FIN>",
    ]
    assert _action_ids(message) == [
        Act.UPDATE_CONTACT_DETAILS,
        Act.CHANGE_PASSWORD,
        Act.EDIT_VAT,
        Act.CHOOSE_FINANCE_CHANNEL,
        Act.RETURN_TO_ACCOUNT,
    ]
    assert "Update email address/contact details" in _texts(message)
    assert "VAT on your invoices: UK VAT at the standard rate." in _texts(message)


def test_the_account_view_for_others_has_no_admin_buttons_and_explains_eu_vat() -> None:
    account = _account(country="FR")
    message = account_ui.account_message(account, countries=country_names(), can_edit=False)
    assert _action_ids(message) == [Act.RETURN_TO_ACCOUNT]
    text = _texts(message)
    assert "*Contact number*\nNot given" in text
    assert "*Finance channel*\nNot chosen" in text
    assert (
        "will not remove the VAT unless you have already provided us with a VAT Reference" in text
    )


# -- Contact details -----------------------------------------------------------------------------


def test_the_contact_details_modal_says_blank_keeps_the_current_values() -> None:
    view = account_ui.contact_details_modal(_account(contact_phone="+442079460018"))
    assert validate_view(view) == []
    assert view["callback_id"] == Cb.CONTACT_DETAILS
    assert view["submit"] == {"type": "plain_text", "text": "Update Details"}
    email, phone = view["blocks"]
    assert (email["block_id"], email["optional"]) == (Blk.EMAIL, True)
    assert email["hint"]["text"] == "Leave blank to keep billing@acme.example."
    assert (phone["block_id"], phone["optional"]) == (Blk.PHONE, True)
    assert phone["hint"]["text"] == "Leave blank to keep +442079460018."


def test_contact_details_success_uses_the_portals_words() -> None:
    message = account_ui.contact_details_updated(_account(), changed=True)
    assert message["text"] == "Your details have been successfully updated."
    assert _action_ids(message) == [Act.RETURN_TO_ACCOUNT]


# -- VAT -----------------------------------------------------------------------------------------


def test_the_vat_modal_starts_from_the_current_details() -> None:
    view = account_ui.vat_details_modal(
        _account(country="DE", vat_reference="DE136695976"), countries=country_names()
    )
    assert validate_view(view) == []
    country, reference = view["blocks"]
    assert country["element"]["initial_option"]["value"] == "DE"
    assert country["element"]["initial_option"]["text"]["text"] == "Germany"
    assert reference["element"]["initial_value"] == "DE136695976"


def test_vat_success_names_the_treatment() -> None:
    message = account_ui.vat_details_updated(
        _account(country="DE", vat_reference="DE136695976"), countries=country_names()
    )
    assert "Reverse charge: customer to account for VAT" in _texts(message)
    assert "Country: Germany" in _texts(message)


# -- Finance channel -----------------------------------------------------------------------------


def test_the_finance_channel_modal_offers_public_and_private_channels() -> None:
    view = account_ui.finance_channel_modal("C0FIN")
    assert validate_view(view) == []
    element = view["blocks"][1]["element"]
    assert element["type"] == "conversations_select"
    assert element["filter"] == {"include": ["public", "private"], "exclude_bot_users": True}
    assert element["initial_conversation"] == "C0FIN"
    assert (
        "initial_conversation" not in account_ui.finance_channel_modal(None)["blocks"][1]["element"]
    )


def test_the_finance_channel_hello_golden() -> None:
    text = "This channel will now receive Admin Portal notifications for Acme Widgets Ltd."
    assert account_ui.finance_channel_hello("Acme Widgets Ltd") == {
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f":wave: {text}"}}],
    }


# -- Users ---------------------------------------------------------------------------------------


def test_the_users_list_for_an_admin() -> None:
    members = [_member("UADMIN", Role.ADMIN, added_by="UADMIN"), _member("UFIN", Role.FINANCE)]
    message = users_ui.users_message(members, can_manage=True)
    assert validate_blocks(message["blocks"]) == []
    text = _texts(message)
    assert (
        "<@UFIN> — *Finance*\nAdded by <@UADMIN> <!date^1795516200^{date_short_pretty}|24 Nov 2026>"
        in text
    )
    assert _action_ids(message) == [
        Act.ADD_USER,
        Act.CHANGE_ROLE,
        Act.REMOVE_USER,
        Act.CHANGE_ROLE,
        Act.REMOVE_USER,
        Act.RETURN_TO_ACCOUNT,
    ]
    remove = message["blocks"][-2]["elements"][1]
    assert remove["value"] == "UFIN"
    assert remove["confirm"]["style"] == "danger"
    assert remove["confirm"]["confirm"]["text"] == "Remove"


def test_the_users_list_for_a_viewer_has_no_buttons_but_the_way_back() -> None:
    message = users_ui.users_message([_member("UADMIN", Role.ADMIN)], can_manage=False)
    assert _action_ids(message) == [Act.RETURN_TO_ACCOUNT]


def test_a_long_users_list_is_paged_within_slacks_block_limit() -> None:
    members = [_member(f"U{n:04d}", Role.VIEWER) for n in range(45)]
    first = users_ui.users_message(members, can_manage=True, banner="<@U0001> is now Viewer.")
    assert validate_blocks(first["blocks"]) == []
    assert len(first["blocks"]) <= 50
    assert "Page 1 of 3 · 45 users" in _texts(first)
    assert "<@U0019>" in _texts(first)
    assert "<@U0020>" not in _texts(first)
    middle = users_ui.users_message(members, can_manage=True, page=2)
    pages = [
        b
        for b in middle["blocks"]
        if b["type"] == "actions" and b["elements"][0]["action_id"] == Act.USERS_PAGE
    ]
    assert [block["elements"][0]["value"] for block in pages] == ["1", "3"]
    last = users_ui.users_message(members, can_manage=True, page=99)
    assert "Page 3 of 3" in _texts(last)
    assert "<@U0044>" in _texts(last)


def test_the_add_user_modal_golden() -> None:
    view = users_ui.add_user_modal()
    assert validate_view(view) == []
    assert view["callback_id"] == Cb.ADD_USER
    person, role = view["blocks"]
    assert person["block_id"] == Blk.USER
    assert person["element"] == {
        "type": "users_select",
        "action_id": Act.USER_INPUT,
        "placeholder": {"type": "plain_text", "text": "Choose someone in this workspace"},
    }
    assert role["block_id"] == Blk.ROLE
    assert role["element"]["options"] == [
        {"text": {"type": "plain_text", "text": "Admin"}, "value": "admin"},
        {"text": {"type": "plain_text", "text": "Finance"}, "value": "finance"},
        {"text": {"type": "plain_text", "text": "Viewer"}, "value": "viewer"},
    ]


def test_the_change_role_modal_carries_the_user_and_their_role() -> None:
    view = users_ui.change_role_modal("UFIN", Role.FINANCE)
    assert validate_view(view) == []
    assert view["callback_id"] == Cb.CHANGE_ROLE
    assert view["private_metadata"] == "UFIN"
    assert view["blocks"][1]["element"]["initial_option"] == {
        "text": {"type": "plain_text", "text": "Finance"},
        "value": "finance",
    }
