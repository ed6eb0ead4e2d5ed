"""`/portal [word]`, the menu buttons and "Return to Account": the ways into every flow."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.card_numbers import CARD_NUMBER_MESSAGE, looks_like_card_number
from bot.dashboard import dashboard
from bot.deps import Deps
from bot.roles import Action
from bot.ui import common, menu
from bot.ui.ids import PORTAL_COMMAND, Act
from handlers import account, credits, finance, invoices, payments, services, users
from handlers._support import Entry, Request, guard, on_button, unit_of_work, who


def show_menu(deps: Deps, req: Request) -> None:
    with unit_of_work(deps, req.origin) as (session, visitor):
        if visitor.account is None:
            message = None
        else:
            board_account = visitor.require(Action.VIEW)
            board = dashboard(
                session=session,
                account=board_account,
                role=visitor.role,  # type: ignore[arg-type] # require() checked it
                today=deps.clock().date(),
            )
            message = menu.menu_message(board)
    if message is None:
        account.offer_set_up(deps, req)
        return
    req.reply(message, replace=req.body.get("type") == "block_actions")


def show_help(deps: Deps, req: Request) -> None:
    req.reply(menu.help_message())


def _words() -> dict[str, Entry]:
    return {
        "account": account.show_account,
        "password": account.send_change_password_link,
        "card": payments.show_payment_details,
        "credits": credits.show_credits,
        "buy": credits.open_purchase,
        "services": services.open_services,
        "invoices": invoices.show_invoices,
        "pay": invoices.show_unpaid,
        "users": users.show_users,
        "vat": account.open_vat_details,
        "finance": finance.set_finance_channel_from_command,
        "help": show_help,
    }


def _menu_buttons() -> dict[Act, Entry]:
    return {
        Act.MENU_ACCOUNT: account.show_account,
        Act.MENU_PASSWORD: account.send_change_password_link,
        Act.MENU_CARD: payments.show_payment_details,
        Act.MENU_CREDITS: credits.show_credits,
        Act.MENU_BUY_CREDITS: credits.open_purchase,
        Act.MENU_SERVICES: services.open_services,
        Act.MENU_INVOICES: invoices.show_invoices,
        Act.MENU_PAY: invoices.show_unpaid,
        Act.MENU_USERS: users.show_users,
        Act.MENU_VAT: account.open_vat_details,
        Act.MENU_FINANCE: finance.show_finance_settings,
        Act.MENU_HELP: show_help,
        Act.RETURN_TO_ACCOUNT: show_menu,
    }


def route(text: str) -> tuple[str, str]:
    """Split `/portal` text into its word (lower-cased) and the rest."""
    word, _, rest = text.strip().partition(" ")
    return word.lower(), rest.strip()


def portal_command(
    deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, respond: Any
) -> None:
    ack()
    text = str(body.get("text", ""))
    req = Request(body=body, client=client, respond=respond, origin=who(body))
    if looks_like_card_number(text):
        req.reply(common.notice(CARD_NUMBER_MESSAGE))
        return
    word, args = route(text)
    req = Request(body=body, client=client, respond=respond, origin=who(body), args=args)
    if not word:
        show_menu(deps, req)
        return
    entry = _words().get(word)
    if entry is None:
        req.reply(menu.help_message(f"I don't know `{PORTAL_COMMAND} {word[:40]}`."))
        return
    entry(deps, req)


def _ack_only(ack: Ack) -> None:
    ack()


def register(app: App, deps: Deps) -> None:
    app.command(PORTAL_COMMAND)(guard(partial(portal_command, deps)))
    for action_id, entry in _menu_buttons().items():
        app.action(action_id)(guard(partial(on_button, entry, deps)))
    app.action(Act.OPEN_LINK)(guard(_ack_only))
