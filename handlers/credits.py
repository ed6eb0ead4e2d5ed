"""Listeners for the credits area: the balance, and "Purchase credits" with its live quote."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import credits
from bot.deps import Deps
from bot.roles import Action, can
from bot.ui import credits as credits_ui
from bot.ui.ids import Act, Blk, Cb
from handlers._support import Request, answer_submission, field_value, guard, unit_of_work, who


def register(app: App, deps: Deps) -> None:
    """Wire this area's ids to their listeners."""
    app.action(Act.CREDITS_INPUT)(guard(partial(update_quote, deps)))
    app.view(Cb.PURCHASE_CREDITS)(guard(partial(confirm_purchase, deps)))


def show_credits(deps: Deps, req: Request) -> None:
    with unit_of_work(deps, req.origin) as (session, visitor):
        account = visitor.require(Action.VIEW)
        summary = credits.credits_summary(session=session, account_id=account.id)
        can_buy = can(visitor.role, Action.BUY_CREDITS)
    tz = ZoneInfo(deps.settings.APP_TIMEZONE)
    req.reply(credits_ui.credits_message(summary, can_buy=can_buy, tz=tz))


def open_purchase(deps: Deps, req: Request) -> None:
    """`/portal buy [N]` and "Purchase credits": the modal, with N's quote when given."""
    with unit_of_work(deps, req.origin) as (session, visitor):
        account = visitor.require(Action.BUY_CREDITS)
        entry = credits.price_credits_entry(
            session=session, account=account, text=req.args, on=deps.clock().date()
        )
    req.open_modal(credits_ui.purchase_modal(entry))


@dataclass(frozen=True, slots=True)
class CreditsTyped:
    """A keystroke's dispatch from "Number of credits": what is typed, in which view."""

    text: str | None
    view_id: str
    view_hash: str | None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> CreditsTyped:
        view = body.get("view") or {}
        action = (body.get("actions") or [{}])[0]
        value = action.get("value")
        return cls(
            text=value if isinstance(value, str) else None,
            view_id=str(view.get("id", "")),
            view_hash=view.get("hash"),
        )


def update_quote(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """The live quote: price what is typed and update the modal, unless it changed since."""
    ack()
    typed = CreditsTyped.parse(body)
    with unit_of_work(deps, who(body)) as (session, visitor):
        account = visitor.require(Action.BUY_CREDITS)
        entry = credits.price_credits_entry(
            session=session, account=account, text=typed.text, on=deps.clock().date()
        )
    try:
        client.views_update(
            view_id=typed.view_id, hash=typed.view_hash, view=credits_ui.purchase_modal(entry)
        )
    except SlackApiError as exc:
        if exc.response.get("error") == "hash_conflict":
            return  # the modal changed after this keystroke; what was submitted is re-priced
        raise


def confirm_purchase(deps: Deps, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
    """The "Confirm" button: re-check the role, re-price the number, push the confirmation."""
    origin = who(body)

    def work() -> dict[str, Any]:
        with unit_of_work(deps, origin) as (session, visitor):
            account = visitor.require(Action.BUY_CREDITS)
            text = field_value(view, Blk.CREDITS, Act.CREDITS_INPUT)
            quote = credits.quote_purchase(
                session=session, account=account, text=text, on=deps.clock().date()
            )
        return {"response_action": "push", "view": credits_ui.purchase_confirm_view(quote)}

    answer_submission(ack, work)
