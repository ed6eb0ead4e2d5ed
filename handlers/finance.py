"""`/portal finance`: the finance channel and its feed — what is sent where, pause, the payment
threshold, "Send test notification", the credit balance warning and auto top-up, autopay.

Every entry point (command word, menu button, the settings' buttons, each modal's submission)
checks the role in its own unit of work: the feed is an admin's to set
(`Action.SET_FINANCE_CHANNEL`), autopay too (`Action.MANAGE_PAYMENT_DETAILS`). A channel is
only accepted once the app can post there: a public channel is joined, a private one must have
invited the app, and the answer says how.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import notifications
from bot.accounts import set_finance_channel
from bot.deps import Deps
from bot.errors import FieldError, UserFacingError
from bot.money import Money
from bot.notifications import FeedSettings, Kind
from bot.portal import Visitor
from bot.roles import Action
from bot.ui import account as account_ui
from bot.ui import finance as finance_ui
from bot.ui.ids import Act, Blk, Cb
from handlers._support import (
    Answer,
    Entry,
    Request,
    Who,
    field_value,
    guard,
    in_place,
    on_button,
    send,
    submit_then_send,
    unit_of_work,
    who,
)
from store.models import Account

# Slack escapes a channel named in a command (`should_escape: true`) as <#C0123|finance>.
CHANNEL_MENTION = re.compile(r"<#(?P<id>[CG][A-Z0-9]{2,})(?:\|(?P<name>[^>]*))?>")


def _feed(
    deps: Deps, visitor: Visitor, session: Any, action: Action
) -> tuple[Account, FeedSettings]:
    account = visitor.require(action)
    today = deps.clock().astimezone(deps.settings.timezone).date()
    feed = notifications.feed_settings(
        session=session, account=account, defaults=deps.settings, today=today
    )
    return account, feed


# -- The settings ---------------------------------------------------------------------------------


def show_finance_settings(deps: Deps, req: Request) -> None:
    """`/portal finance` and the menu's "Finance channel": the settings, for an admin."""
    with unit_of_work(deps, req.origin) as (session, visitor):
        _account, feed = _feed(deps, visitor, session, Action.SET_FINANCE_CHANNEL)
    req.reply(finance_ui.settings_message(feed), replace=in_place(req))


def set_finance_channel_from_command(deps: Deps, req: Request) -> None:
    """`/portal finance [#channel | pause | resume | test]`; the settings when nothing follows."""
    word = req.args.strip()
    actions: dict[str, Entry] = {
        "": show_finance_settings,
        "pause": partial(_set_paused, paused=True),
        "resume": partial(_set_paused, paused=False),
        "test": send_test_notification,
    }
    entry = actions.get(word.lower())
    if entry is not None:
        entry(deps, req)
        return
    _require_channel_admin(deps, req.origin)
    mention = CHANNEL_MENTION.fullmatch(word)
    if mention is None:
        req.reply(account_ui.finance_channel_usage())
        return
    channel_id = mention["id"]
    label = f"#{mention['name']}" if mention["name"] else f"<#{channel_id}>"
    ensure_app_in_channel(req.client, channel_id, label=label)
    send(req, _save_finance_channel(deps, req.origin, channel_id))


def _require_channel_admin(deps: Deps, origin: Who) -> str | None:
    """Check the role before touching Slack channels; returns the current finance channel."""
    with unit_of_work(deps, origin) as (_session, visitor):
        return visitor.require(Action.SET_FINANCE_CHANNEL).finance_channel_id


def ensure_app_in_channel(
    client: WebClient, channel_id: str, *, label: str, field: str | None = None
) -> None:
    """Make sure the app can post in the channel: join a public one, refuse a private one it
    was not invited to. Raises a `FieldError` on `field` (in a modal) or a `UserFacingError`."""

    def refuse(message: str) -> UserFacingError:
        return FieldError(field, message) if field else UserFacingError(message)

    invite = (
        f"Invite the app to {label} first (type `/invite @{account_ui.APP_NAME}` in the "
        "channel), then choose it again."
    )
    try:
        info = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as exc:
        if exc.response.get("error") == "channel_not_found":
            raise refuse(f"I can't see {label}. If it is a private channel: {invite}") from exc
        raise
    if info.get("is_im") or info.get("is_mpim"):
        raise refuse("Choose a channel, not a direct message.")
    if info.get("is_archived"):
        raise refuse(f"{label} is archived: choose another channel.")
    if info.get("is_member"):
        return
    if info.get("is_private"):
        raise refuse(invite)
    client.conversations_join(channel=channel_id)


def _save_finance_channel(deps: Deps, origin: Who, channel_id: str) -> Answer:
    with unit_of_work(deps, origin) as (session, visitor):
        account = visitor.require(Action.SET_FINANCE_CHANNEL)
        set_finance_channel(
            session=session,
            account=account,
            channel_id=channel_id,
            actor=origin.user_id,
            now=deps.clock(),
        )
        hello = account_ui.finance_channel_hello(account.company_name)
    return Answer(
        replies=(finance_ui.channel_set(channel_id),), channel_posts=((channel_id, hello),)
    )


def open_finance_channel(deps: Deps, req: Request) -> None:
    """ "Change channel" (and the Account view's "Finance channel"): the channel chooser."""
    current = _require_channel_admin(deps, req.origin)
    req.open_modal(account_ui.finance_channel_modal(current))


def _on_finance_channel_submitted(
    deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, respond: Any
) -> None:
    req = Request(body=body, client=client, respond=respond, origin=who(body))
    view = body["view"]

    def work() -> Answer:
        channel_id = field_value(view, Blk.CHANNEL, Act.CHANNEL_INPUT, "selected_conversation")
        if not channel_id:
            raise FieldError(Blk.CHANNEL, "Choose a channel.")
        _require_channel_admin(deps, req.origin)  # before the app joins anything
        ensure_app_in_channel(client, channel_id, label="that channel", field=Blk.CHANNEL)
        return _save_finance_channel(deps, req.origin, channel_id)

    submit_then_send(ack, req, work)


# -- Pause, test, autopay -------------------------------------------------------------------------


def _button_value(req: Request) -> str:
    return str(((req.body.get("actions") or [{}])[0]).get("value") or "")


def toggle_pause(deps: Deps, req: Request) -> None:
    """ "Pause notifications" / "Resume notifications"."""
    _set_paused(deps, req, paused=_button_value(req) != "resume")


def _set_paused(deps: Deps, req: Request, *, paused: bool) -> None:
    with unit_of_work(deps, req.origin) as (session, visitor):
        account = visitor.require(Action.SET_FINANCE_CHANNEL)
        notifications.set_paused(
            session=session,
            account=account,
            paused=paused,
            actor=req.origin.user_id,
            now=deps.clock(),
        )
    req.reply(finance_ui.paused_message(paused))


def send_test_notification(deps: Deps, req: Request) -> None:
    """ "Send test notification": one to every channel that receives something."""
    with unit_of_work(deps, req.origin) as (session, visitor):
        _account, feed = _feed(deps, visitor, session, Action.SET_FINANCE_CHANNEL)
    report = notifications.send_test(req.client, feed, by=f"<@{req.origin.user_id}>")
    req.reply(finance_ui.test_sent_message(report))


def toggle_autopay(deps: Deps, req: Request) -> None:
    """ "Turn autopay on" / "Turn autopay off"."""
    on = _button_value(req) == "on"
    with unit_of_work(deps, req.origin) as (session, visitor):
        account, feed = _feed(deps, visitor, session, Action.MANAGE_PAYMENT_DETAILS)
        notifications.set_autopay(
            session=session, account=account, on=on, actor=req.origin.user_id, now=deps.clock()
        )
    req.reply(finance_ui.autopay_message(on, card_valid=feed.card_valid))


# -- Choose notifications -------------------------------------------------------------------------


def open_notifications(deps: Deps, req: Request) -> None:
    with unit_of_work(deps, req.origin) as (session, visitor):
        _account, feed = _feed(deps, visitor, session, Action.SET_FINANCE_CHANNEL)
    req.open_modal(finance_ui.notifications_modal(feed))


def _ticked(view: dict[str, Any], block_id: str, action_id: str) -> set[Kind]:
    values = (view.get("state") or {}).get("values") or {}
    chosen = ((values.get(block_id) or {}).get(action_id) or {}).get("selected_options") or []
    found = set()
    for item in chosen:
        try:
            found.add(Kind(str(item.get("value"))))
        except ValueError:
            raise FieldError(block_id, "Choose from the list.") from None
    return found


@dataclass(frozen=True, slots=True)
class Shown:
    """What a "Choose notifications" form showed when it was opened (its private_metadata)."""

    on: frozenset[Kind]
    threshold: str

    @classmethod
    def parse(cls, metadata: Any) -> Shown | None:
        """None for anything that is not what `notifications_modal` wrote."""
        if not isinstance(metadata, str):
            return None
        try:
            shown: Any = json.loads(metadata)
            on = frozenset(Kind(value) for value in shown["on"])
            threshold = shown["threshold"]
        except (ValueError, TypeError, KeyError):
            return None
        return cls(on=on, threshold=threshold) if isinstance(threshold, str) else None


@dataclass(frozen=True, slots=True)
class NotificationsForm:
    ticked: set[Kind]
    threshold: str
    shown: Shown | None

    @classmethod
    def parse(cls, view: dict[str, Any]) -> NotificationsForm:
        money = _ticked(view, Blk.NOTIFY_MONEY, Act.NOTIFY_MONEY_INPUT)
        account = _ticked(view, Blk.NOTIFY_ACCOUNT, Act.NOTIFY_ACCOUNT_INPUT)
        if money - set(finance_ui.MONEY_KINDS) or account - set(finance_ui.ACCOUNT_KINDS):
            raise FieldError(Blk.NOTIFY_MONEY, "Choose from the list.")
        threshold = field_value(view, Blk.PAYMENT_THRESHOLD, Act.PAYMENT_THRESHOLD_INPUT)
        shown = Shown.parse(view.get("private_metadata"))
        return cls(ticked=money | account, threshold=threshold, shown=shown)

    def turned_on(self) -> set[Kind]:
        return self.ticked - self.shown.on if self.shown is not None else self.ticked

    def turned_off(self) -> set[Kind]:
        if self.shown is None:  # a form that does not say what it showed says everything
            return set(Kind) - self.ticked
        return set(self.shown.on - self.ticked)

    def threshold_changed(self, threshold: Money | None, currency: str) -> bool:
        """Whether the amount entered differs from the one the form showed."""
        if self.shown is None:
            return True
        try:
            shown = notifications.parse_threshold(self.shown.threshold, currency=currency)
        except FieldError:
            return True
        return threshold != shown


def _on_notifications_submitted(
    deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, respond: Any
) -> None:
    req = Request(body=body, client=client, respond=respond, origin=who(body))
    view = body["view"]

    def work() -> Answer:
        form = NotificationsForm.parse(view)
        with unit_of_work(deps, req.origin) as (session, visitor):
            account = visitor.require(Action.SET_FINANCE_CHANNEL)
            threshold = notifications.parse_threshold(form.threshold, currency=account.currency)
            enabled = notifications.set_kinds(
                session=session,
                account=account,
                turn_on=form.turned_on(),
                turn_off=form.turned_off(),
                threshold=threshold,
                set_threshold=form.threshold_changed(threshold, account.currency),
                actor=req.origin.user_id,
                now=deps.clock(),
            )
            session.flush()
            _account, feed = _feed(deps, visitor, session, Action.SET_FINANCE_CHANNEL)
        off = [finance_ui.KIND_LABELS[kind] for kind in Kind if kind not in enabled]
        details = [f"Off: {', '.join(off)}." if off else "Every notification is on."]
        if feed.payment_threshold is not None:
            details.append(f"Payments under {feed.payment_threshold} are not posted.")
        return Answer(replies=(finance_ui.settings_saved(*details),))

    submit_then_send(ack, req, work)


# -- Route a notification -------------------------------------------------------------------------


def open_route(deps: Deps, req: Request) -> None:
    with unit_of_work(deps, req.origin) as (session, visitor):
        _account, feed = _feed(deps, visitor, session, Action.SET_FINANCE_CHANNEL)
    req.open_modal(finance_ui.route_modal(feed))


def _on_route_submitted(
    deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, respond: Any
) -> None:
    req = Request(body=body, client=client, respond=respond, origin=who(body))
    view = body["view"]

    def work() -> Answer:
        kind = notifications.parse_kind(
            field_value(view, Blk.ROUTE_KIND, Act.ROUTE_KIND_INPUT, "selected_option")
        )
        channel_id = field_value(
            view, Blk.ROUTE_CHANNEL, Act.ROUTE_CHANNEL_INPUT, "selected_conversation"
        )
        finance_channel = _require_channel_admin(deps, req.origin)  # before joining anything
        if channel_id:
            ensure_app_in_channel(client, channel_id, label="that channel", field=Blk.ROUTE_CHANNEL)
        elif finance_channel is None:
            raise FieldError(
                Blk.ROUTE_CHANNEL, "There is no finance channel yet: choose where to send it."
            )
        with unit_of_work(deps, req.origin) as (session, visitor):
            notifications.route_kind(
                session=session,
                account=visitor.require(Action.SET_FINANCE_CHANNEL),
                kind=kind,
                channel_id=channel_id or None,
                actor=req.origin.user_id,
                now=deps.clock(),
            )
        where = f"<#{channel_id}>" if channel_id else "the finance channel"
        label = finance_ui.KIND_LABELS[kind]
        return Answer(replies=(finance_ui.settings_saved(f"{label} now goes to {where}."),))

    submit_then_send(ack, req, work)


# -- Credit balance ------------------------------------------------------------------------------


def open_balance(deps: Deps, req: Request) -> None:
    with unit_of_work(deps, req.origin) as (session, visitor):
        _account, feed = _feed(deps, visitor, session, Action.SET_FINANCE_CHANNEL)
    req.open_modal(finance_ui.balance_modal(feed))


def _on_balance_submitted(
    deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, respond: Any
) -> None:
    req = Request(body=body, client=client, respond=respond, origin=who(body))
    view = body["view"]

    def work() -> Answer:
        alerts = notifications.BalanceAlerts.parse(
            low_balance=field_value(view, Blk.LOW_BALANCE, Act.LOW_BALANCE_INPUT),
            top_up_below=field_value(view, Blk.TOP_UP_BELOW, Act.TOP_UP_BELOW_INPUT),
            top_up_credits=field_value(view, Blk.TOP_UP_CREDITS, Act.TOP_UP_CREDITS_INPUT),
        )
        with unit_of_work(deps, req.origin) as (session, visitor):
            account = visitor.require(Action.SET_FINANCE_CHANNEL)
            notifications.set_balance_alerts(
                session=session,
                account=account,
                alerts=alerts,
                actor=req.origin.user_id,
                now=deps.clock(),
            )
            session.flush()
            _account, feed = _feed(deps, visitor, session, Action.SET_FINANCE_CHANNEL)
        return Answer(replies=(finance_ui.balance_saved(feed),))

    submit_then_send(ack, req, work)


# -- Wiring --------------------------------------------------------------------------------------


def register(app: App, deps: Deps) -> None:
    """Wire this area's ids to their listeners."""
    buttons: dict[Act, Entry] = {
        Act.CHOOSE_FINANCE_CHANNEL: open_finance_channel,
        Act.FINANCE_NOTIFICATIONS: open_notifications,
        Act.FINANCE_ROUTE: open_route,
        Act.FINANCE_BALANCE: open_balance,
        Act.FINANCE_PAUSE: toggle_pause,
        Act.FINANCE_TEST: send_test_notification,
        Act.FINANCE_AUTOPAY: toggle_autopay,
    }
    for action_id, entry in buttons.items():
        app.action(action_id)(guard(partial(on_button, entry, deps)))
    app.view(Cb.FINANCE_CHANNEL)(guard(partial(_on_finance_channel_submitted, deps)))
    app.view(Cb.FINANCE_NOTIFICATIONS)(guard(partial(_on_notifications_submitted, deps)))
    app.view(Cb.FINANCE_ROUTE)(guard(partial(_on_route_submitted, deps)))
    app.view(Cb.FINANCE_BALANCE)(guard(partial(_on_balance_submitted, deps)))
