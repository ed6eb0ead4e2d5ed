"""The /portal menu, the App Home dashboard and the help text."""

from __future__ import annotations

from typing import Any

from bot.dashboard import Dashboard
from bot.roles import Action, can
from bot.ui.common import Block, Message, actions, button, context, divider, header, text_section
from bot.ui.ids import PORTAL_COMMAND, Act, Blk

# Menu buttons in the portal's words, each with the action it needs.
MENU_ITEMS: tuple[tuple[str, Act, Action], ...] = (
    ("Account", Act.MENU_ACCOUNT, Action.VIEW),
    ("Payment details", Act.MENU_CARD, Action.VIEW),
    ("Credits", Act.MENU_CREDITS, Action.VIEW),
    ("Purchase credits", Act.MENU_BUY_CREDITS, Action.BUY_CREDITS),
    ("Pay for services", Act.MENU_SERVICES, Action.CREATE_SERVICE_INVOICE),
    ("Invoices", Act.MENU_INVOICES, Action.VIEW),
    ("Users", Act.MENU_USERS, Action.VIEW),
    ("VAT reference", Act.MENU_VAT, Action.SET_VAT_DETAILS),
    ("Finance channel", Act.MENU_FINANCE, Action.SET_FINANCE_CHANNEL),
    ("Help", Act.MENU_HELP, Action.VIEW),
)

HELP_LINES: tuple[tuple[str, str], ...] = (
    ("", "open the menu"),
    ("account", "your account and contact details"),
    ("password", "change the Admin Portal password (on a secure page)"),
    ("card", "payment details"),
    ("credits", "credits balance and purchases"),
    ("buy [N]", "purchase credits"),
    ("services", "pay for services (creates an invoice)"),
    ("invoices [page]", "your invoices, newest first"),
    ("invoices statement [month]", "the month's statement of account, as a PDF"),
    ("pay", "pay unpaid invoices"),
    ("users", "who can use the portal, and their roles"),
    ("vat", "country and VAT reference"),
    ("finance [#channel | pause | resume | test]", "billing notifications for finance"),
    ("help", "this list"),
)


def help_message(intro: str | None = None) -> Message:
    lines = "\n".join(
        f"`{PORTAL_COMMAND}{' ' + word if word else ''}` — {what}" for word, what in HELP_LINES
    )
    text = (intro + "\n\n" if intro else "") + "*Admin Portal commands*\n" + lines
    return {
        "text": text,
        "blocks": [text_section(text), actions(button("Return to Account", Act.RETURN_TO_ACCOUNT))],
    }


def _summary(board: Dashboard) -> list[Block]:
    if board.card is None:
        card = "You don't have any valid payment details"
    elif not board.card_valid:
        card = f"{board.card.masked} (expired): you don't have any valid payment details"
    else:
        card = board.card.masked
    unpaid = (
        f"{board.unpaid_count} unpaid, {board.unpaid_total.format()}"
        if board.unpaid_count
        else "None unpaid"
    )
    return [
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Credits*\n{board.credits_balance:,}"},
                {"type": "mrkdwn", "text": f"*Invoices*\n{unpaid}"},
                {"type": "mrkdwn", "text": f"*Payment details*\n{card}"},
                {"type": "mrkdwn", "text": f"*Your role*\n{board.role.value.title()}"},
            ],
        }
    ]


def _menu_buttons(board: Dashboard) -> list[Block]:
    allowed = [
        button(label, action_id, style="primary" if action_id is Act.MENU_BUY_CREDITS else None)
        for label, action_id, action in MENU_ITEMS
        if can(board.role, action)
    ]
    # Slack allows 25 elements in an actions block; split in rows of 5 for a tidy layout.
    return [
        actions(*allowed[i : i + 5], block_id=f"{Blk.MENU}_{i // 5}")
        for i in range(0, len(allowed), 5)
    ]


def menu_message(board: Dashboard) -> Message:
    title = f"Admin Portal — {board.company_name}"
    blocks = [header(title), *_summary(board), *_menu_buttons(board)]
    return {"text": title, "blocks": blocks}


def home_view(board: Dashboard) -> dict[str, Any]:
    blocks = [
        header(f"Admin Portal — {board.company_name}"),
        *_summary(board),
        divider(),
        *_menu_buttons(board),
        context(f"Type `{PORTAL_COMMAND} help` in any channel for the commands."),
    ]
    return {"type": "home", "blocks": blocks}


def home_without_access(message: str) -> dict[str, Any]:
    return {
        "type": "home",
        "blocks": [header("Admin Portal"), text_section(message)],
    }
