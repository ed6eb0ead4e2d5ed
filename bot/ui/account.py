"""Account set-up, the Account view, contact details, VAT and the finance channel.

Pure builders: domain objects in, Block Kit out. Links to the secure pages arrive as URLs; the
builders never see a token's meaning, and no builder ever asks for a password.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from bot.countries import EU_MEMBER_STATES, UK
from bot.ui.common import (
    Block,
    Message,
    actions,
    button,
    context,
    header,
    modal,
    notice_modal,
    option,
    plain,
    return_to_account,
    success,
    text_input,
    text_section,
)
from bot.ui.ids import PORTAL_COMMAND, Act, Blk, Cb
from bot.vat import TREATMENT_WORDING, vat_treatment
from store.enums import VatTreatment
from store.models import Account

APP_NAME = "Admin Portal"
MAX_OPTIONS = 100  # Slack's limit on the options in one block_suggestion answer
LINK_MINUTES = 10
EU_VAT_NOTE = (
    "If you are paying from any EU country, the system will not remove the VAT unless you "
    "have already provided us with a VAT Reference."
)

# -- Countries ---------------------------------------------------------------------------------

# What people type for a country whose English name they would not search by.
COUNTRY_ALIASES: Mapping[str, str] = {
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "usa": "US",
    "america": "US",
    "holland": "NL",
}
_UK_ORDER = ("GB", "XI")
_GROUP_LABELS = ("UK", "European Union", "Rest of the world")


def _folded(text: str) -> str:
    """Lower case without accents, so "cote" finds "Côte d'Ivoire"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _match_rank(code: str, name: str, query: str) -> int | None:
    """How well `query` matches a country (lower is better), or None when it does not."""
    if not query:
        return 0
    folded = _folded(name)
    if query.upper() == code or COUNTRY_ALIASES.get(query) == code:
        return 0
    if folded.startswith(query):
        return 1
    if any(word.startswith(query) for word in folded.replace("-", " ").split()):
        return 2
    if query in folded or any(
        alias.startswith(query) and c == code for alias, c in COUNTRY_ALIASES.items()
    ):
        return 3
    return None


def _group_of(code: str) -> int:
    if code in UK:
        return 0
    return 1 if code in EU_MEMBER_STATES else 2


def country_option_groups(
    countries: Mapping[str, str], query: str, *, limit: int = MAX_OPTIONS
) -> list[dict[str, Any]]:
    """The countries matching `query` for an `external_select`: the UK, then the EU, then the
    rest, best matches first within each; at most `limit` options in all."""
    wanted = _folded(" ".join(query.split()))
    ranked: list[tuple[int, int, int, str, str]] = []
    for code, name in countries.items():
        rank = _match_rank(code, name, wanted)
        if rank is not None:
            uk_position = _UK_ORDER.index(code) if code in _UK_ORDER else 0
            ranked.append((_group_of(code), rank, uk_position, _folded(name), code))
    ranked.sort()
    groups: list[dict[str, Any]] = []
    for group, _rank, _uk, _key, code in ranked[:limit]:
        if not groups or groups[-1]["label"]["text"] != _GROUP_LABELS[group]:
            groups.append({"label": plain(_GROUP_LABELS[group]), "options": []})
        groups[-1]["options"].append(option(countries[code], code))
    return groups


def country_select(
    *, label: str, initial: tuple[str, str] | None = None, hint: str | None = None
) -> Block:
    """An input block with the searchable country list (`external_select`, Blk.COUNTRY)."""
    element: Block = {
        "type": "external_select",
        "action_id": Act.COUNTRY_INPUT,
        "placeholder": plain("Type to search"),
        "min_query_length": 0,
    }
    if initial is not None:
        code, name = initial
        element["initial_option"] = option(name, code)
    block: Block = {
        "type": "input",
        "block_id": Blk.COUNTRY,
        "label": plain(label),
        "element": element,
        "optional": False,
    }
    if hint:
        block["hint"] = plain(hint)
    return block


# -- Account set-up ----------------------------------------------------------------------------


def set_up_offer() -> Message:
    """What a workspace admin or owner sees when the workspace has no account yet."""
    text = (
        "This workspace has no Admin Portal account yet. As a workspace admin, you can set "
        "one up: you will be its first admin."
    )
    return {
        "text": text,
        "blocks": [
            header(APP_NAME),
            text_section(text),
            actions(button("Set up account", Act.SET_UP_ACCOUNT, style="primary")),
        ],
    }


SET_UP_ADMINS_ONLY = "Only a workspace admin or owner can set up the Admin Portal account."


def set_up_refused() -> Message:
    text = (
        "This workspace has no Admin Portal account yet, and only a workspace admin or owner "
        f"can set it up. Ask one of them to run `{PORTAL_COMMAND}`."
    )
    return {"text": text, "blocks": [text_section(text)]}


def already_set_up() -> Message:
    text = f"This workspace already has an Admin Portal account: run `{PORTAL_COMMAND}` to use it."
    return {"text": text, "blocks": [text_section(text), return_to_account()]}


def set_up_modal() -> dict[str, Any]:
    blocks = [
        text_section(
            "Set up your Admin Portal account. Your password is set on a secure page "
            "afterwards: it is never typed into Slack."
        ),
        text_input(Blk.COMPANY_NAME, Act.COMPANY_NAME_INPUT, "Company name", max_length=200),
        country_select(label="Country", hint="Where your company is registered for VAT."),
        text_input(
            Blk.EMAIL,
            Act.EMAIL_INPUT,
            "Billing email",
            placeholder="accounts@example.com",
            hint="Invoices and important account messages go here.",
            max_length=254,
        ),
        text_input(
            Blk.VAT_REFERENCE,
            Act.VAT_REFERENCE_INPUT,
            "VAT reference",
            optional=True,
            placeholder="e.g. GB123456789 or DE123456789",
            hint=EU_VAT_NOTE,
            max_length=20,
        ),
    ]
    return modal(Cb.SET_UP_ACCOUNT, "Set up account", blocks, submit="Set up account")


def _link_blocks(intro: str, label: str, url: str) -> list[Block]:
    return [
        text_section(intro),
        actions(button(label, Act.OPEN_LINK, url=url, style="primary")),
        context(
            f"This link is for you alone and works for {LINK_MINUTES} minutes: {url}\n"
            "Passwords are only ever typed on this secure page, never into Slack."
        ),
    ]


def account_created(company_name: str, set_password_url: str) -> Message:
    text = f"The Admin Portal account for {company_name} is set up, and you are its first admin."
    blocks = [
        text_section(f":white_check_mark: {text}"),
        *_link_blocks(
            "Next, set the account's password on the secure page.",
            "Set your password",
            set_password_url,
        ),
    ]
    return {"text": text, "blocks": blocks}


# -- Secure page links -------------------------------------------------------------------------


def confirm_password_link(url: str) -> Message:
    """The portal's "Enter your password" step, before contact details can change."""
    text = (
        "Enter your password first: for your security, the portal asks for it before your "
        "contact details change. Once you have entered it, you can update them from Slack for "
        "15 minutes."
    )
    return {"text": text, "blocks": _link_blocks(text, "Enter your password", url)}


def change_password_link(url: str) -> Message:
    text = "Change the Admin Portal password on the secure page."
    return {"text": text, "blocks": _link_blocks(text, "Change password", url)}


def password_needed_modal() -> dict[str, Any]:
    """Shown when a contact details form arrives after the 15-minute password window."""
    return notice_modal(
        "For your security, enter your password before your details change: I have sent you "
        "a link to the secure page. Nothing has been changed.",
        title="Enter your password",
    )


# -- The Account view --------------------------------------------------------------------------


def _country_text(account: Account, countries: Mapping[str, str]) -> str:
    return countries.get(account.country, account.country)


def _channel_text(channel_id: str | None) -> str:
    return f"<#{channel_id}>" if channel_id else "Not chosen"


def account_message(account: Account, *, countries: Mapping[str, str], can_edit: bool) -> Message:
    treatment = vat_treatment(account.country, account.vat_reference)
    fields = [
        ("Company", account.company_name),
        ("Contact email", account.contact_email),
        ("Contact number", account.contact_phone or "Not given"),
        ("Country", _country_text(account, countries)),
        ("VAT reference", account.vat_reference or "None"),
        ("Finance channel", _channel_text(account.finance_channel_id)),
    ]
    blocks: list[Block] = [
        header(f"Account — {account.company_name}"),
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{value}"} for name, value in fields],
        },
        context(f"VAT on your invoices: {TREATMENT_WORDING[treatment]}."),
    ]
    if treatment is VatTreatment.EU_NO_VAT_REFERENCE:
        blocks.append(context(EU_VAT_NOTE))
    if can_edit:
        blocks.append(
            actions(
                button("Update email address/contact details", Act.UPDATE_CONTACT_DETAILS),
                button("Change password", Act.CHANGE_PASSWORD),
                button("VAT reference", Act.EDIT_VAT),
                button("Finance channel", Act.CHOOSE_FINANCE_CHANNEL),
            )
        )
    blocks.append(return_to_account())
    return {"text": f"Account — {account.company_name}", "blocks": blocks}


# -- Contact details ---------------------------------------------------------------------------


def contact_details_modal(account: Account) -> dict[str, Any]:
    phone = account.contact_phone
    blocks = [
        text_input(
            Blk.EMAIL,
            Act.EMAIL_INPUT,
            "New email address",
            optional=True,
            placeholder="name@example.com",
            hint=f"Leave blank to keep {account.contact_email}.",
            max_length=254,
        ),
        text_input(
            Blk.PHONE,
            Act.PHONE_INPUT,
            "New contact number",
            optional=True,
            placeholder="020 7946 0018 or +44 20 7946 0018",
            hint=f"Leave blank to keep {phone}." if phone else "Leave blank to keep it empty.",
            max_length=32,
        ),
    ]
    return modal(Cb.CONTACT_DETAILS, "Contact details", blocks, submit="Update Details")


def contact_details_updated(account: Account, *, changed: bool) -> Message:
    if not changed:
        return success(
            "Your details are unchanged: they were already as entered.",
            f"Email: {account.contact_email}",
        )
    details = [f"Email: {account.contact_email}"]
    if account.contact_phone:
        details.append(f"Contact number: {account.contact_phone}")
    return success("Your details have been successfully updated.", *details)


# -- VAT ---------------------------------------------------------------------------------------


def vat_details_modal(account: Account, *, countries: Mapping[str, str]) -> dict[str, Any]:
    blocks = [
        country_select(
            label="Country",
            initial=(account.country, _country_text(account, countries)),
            hint="Where your company is registered for VAT.",
        ),
        text_input(
            Blk.VAT_REFERENCE,
            Act.VAT_REFERENCE_INPUT,
            "VAT reference",
            initial=account.vat_reference,
            optional=True,
            placeholder="e.g. GB123456789 or DE123456789",
            hint="Leave blank if you have none. " + EU_VAT_NOTE,
            max_length=20,
        ),
    ]
    return modal(Cb.VAT_DETAILS, "VAT reference", blocks, submit="Save")


def vat_details_updated(account: Account, *, countries: Mapping[str, str]) -> Message:
    treatment = vat_treatment(account.country, account.vat_reference)
    return success(
        "Your VAT details have been successfully updated.",
        f"Country: {_country_text(account, countries)}",
        f"VAT reference: {account.vat_reference or 'None'}",
        f"VAT on your invoices from now on: {TREATMENT_WORDING[treatment]}.",
    )


# -- Finance channel ---------------------------------------------------------------------------


def finance_channel_modal(current_channel_id: str | None) -> dict[str, Any]:
    element: Block = {
        "type": "conversations_select",
        "action_id": Act.CHANNEL_INPUT,
        "placeholder": plain("Choose a channel"),
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    if current_channel_id:
        element["initial_conversation"] = current_channel_id
    blocks = [
        text_section(
            "The finance channel receives the Admin Portal's notifications: payments, invoices, "
            "credits, card and security changes, and a digest of open and overdue invoices."
        ),
        {
            "type": "input",
            "block_id": Blk.CHANNEL,
            "label": plain("Finance channel"),
            "element": element,
            "optional": False,
            "hint": plain("For a private channel, invite the app to it first."),
        },
    ]
    return modal(Cb.FINANCE_CHANNEL, "Finance channel", blocks, submit="Save")


def finance_channel_hello(company_name: str) -> Message:
    text = f"This channel will now receive Admin Portal notifications for {company_name}."
    return {"text": text, "blocks": [text_section(f":wave: {text}")]}


def finance_channel_set(channel_id: str) -> Message:
    return success(
        f"The finance channel is now <#{channel_id}>.",
        "It will receive payment, invoice, credit and security notifications.",
    )


def finance_channel_usage() -> Message:
    text = (
        f"Name the channel like this: `{PORTAL_COMMAND} finance #finance`, "
        f"or run `{PORTAL_COMMAND} finance` to choose it from a list."
    )
    return {"text": text, "blocks": [text_section(text), return_to_account()]}
