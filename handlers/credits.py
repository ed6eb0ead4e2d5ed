"""Listeners for the credits area: the balance, "Purchase credits" with its live quote, and
Pay Now on the confirmation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import credits, usage
from bot.deps import Deps
from bot.errors import FieldError, UserFacingError
from bot.payments import PaymentOutcome, Payments
from bot.quotes import check_credit_quantity
from bot.roles import Action, can
from bot.ui import credits as credits_ui
from bot.ui import payments as payments_ui
from bot.ui.ids import PORTAL_COMMAND, Act, Blk, Cb
from bot.ui.invoices import conversation_in
from handlers._support import Request, answer_submission, field_value, guard, unit_of_work, who
from handlers.payments import PayNow, pay_now_pressed, settle_after_ack

START_AGAIN = f"Please start again with `{PORTAL_COMMAND} buy`."


def register(app: App, deps: Deps) -> None:
    """Wire this area's ids to their listeners."""
    app.action(Act.CREDITS_INPUT)(guard(partial(update_quote, deps)))
    app.view(Cb.PURCHASE_CREDITS)(guard(partial(confirm_purchase, deps)))
    app.view(Cb.PURCHASE_CONFIRM)(guard(partial(pay_for_credits, deps)))


def show_credits(deps: Deps, req: Request) -> None:
    with unit_of_work(deps, req.origin) as (session, visitor):
        account = visitor.require(Action.VIEW)
        summary = credits.credits_summary(session=session, account_id=account.id)
        used = usage.recent_usage(session=session, account_id=account.id)
        can_buy = can(visitor.role, Action.BUY_CREDITS)
    tz = ZoneInfo(deps.settings.APP_TIMEZONE)
    req.reply(credits_ui.credits_message(summary, used, can_buy=can_buy, tz=tz))


def open_purchase(deps: Deps, req: Request) -> None:
    """`/portal buy [N]` and "Purchase credits": the modal, with N's quote when given."""
    with unit_of_work(deps, req.origin) as (session, visitor):
        account = visitor.require(Action.BUY_CREDITS)
        entry = credits.price_credits_entry(
            session=session, account=account, text=req.args, on=deps.clock().date()
        )
    req.open_modal(credits_ui.purchase_modal(entry, channel_id=req.origin.channel_id))


@dataclass(frozen=True, slots=True)
class CreditsTyped:
    """A keystroke's dispatch from "Number of credits": what is typed, in which view."""

    text: str | None
    view_id: str
    view_hash: str | None
    channel_id: str | None  # where the purchase started, carried by the modal

    @classmethod
    def parse(cls, body: dict[str, Any]) -> CreditsTyped:
        view = body.get("view") or {}
        action = (body.get("actions") or [{}])[0]
        value = action.get("value")
        return cls(
            text=value if isinstance(value, str) else None,
            view_id=str(view.get("id", "")),
            view_hash=view.get("hash"),
            channel_id=conversation_in(str(view.get("private_metadata") or "")),
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
            view_id=typed.view_id,
            hash=typed.view_hash,
            view=credits_ui.purchase_modal(entry, channel_id=typed.channel_id),
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
        channel_id = conversation_in(str(view.get("private_metadata") or ""))
        confirm = credits_ui.purchase_confirm_view(quote, channel_id=channel_id)
        return {"response_action": "push", "view": confirm}

    answer_submission(ack, work)


@dataclass(frozen=True, slots=True)
class PurchaseConfirmed:
    """Pay Now on the confirmation: the credits it carries, where the purchase started, and
    the confirmation's view id (the purchase's creation key)."""

    quantity: int
    channel_id: str | None
    view_id: str

    @classmethod
    def parse(cls, view: dict[str, Any]) -> PurchaseConfirmed:
        """Validated again: anyone can send a payload."""
        metadata = str(view.get("private_metadata") or "")
        try:
            carried = json.loads(metadata or "{}")
            quantity = check_credit_quantity(int(carried["credits"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise UserFacingError(
                f"This confirmation can no longer be used. {START_AGAIN}"
            ) from exc
        except FieldError as exc:
            raise UserFacingError(f"{exc.message} {START_AGAIN}") from exc
        return cls(quantity, conversation_in(metadata), str(view.get("id") or ""))


def pay_for_credits(
    deps: Deps, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
) -> None:
    """Pay Now: re-check the role, say "Working…" at once, then charge the card on file (one
    invoice and one charge per confirmation, however often Pay Now arrives) and say how it
    went."""
    origin = who(body)
    pressed: list[tuple[PayNow, int]] = []

    def work() -> dict[str, Any]:
        with unit_of_work(deps, origin) as (session, visitor):
            account = visitor.require(Action.BUY_CREDITS)
            confirmed = PurchaseConfirmed.parse(view)
            press = pay_now_pressed(
                deps,
                session,
                account,
                origin,
                view_id=confirmed.view_id,
                channel_id=confirmed.channel_id,
            )
        pressed.append((press, confirmed.quantity))
        working = payments_ui.paying_for_credits(confirmed.quantity, external_id=press.external_id)
        return {"response_action": "update", "view": working}

    answer_submission(ack, work)
    if not pressed:
        return
    press, quantity = pressed[0]

    def purchase(payments: Payments) -> PaymentOutcome:
        return payments.start_credits_purchase(
            account_id=press.account_id,
            quantity=quantity,
            creation_key=press.view_id,
            user_id=press.user_id,
            channel_id=press.channel_id,
        )

    settle_after_ack(deps, client, press, title="Purchase credits", pay=purchase)
