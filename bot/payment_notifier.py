"""Posting the payment and card messages (`bot/ui/payments.py`) to Slack.

The person who started a payment is told ephemerally in the channel they used (a direct
message when that fails: the channel is gone, or the bot left it); the finance channel gets a
notice where the account's feed settings send it (`bot.notifications`: the kind on, not paused,
over the payment threshold, routed; the service resolved that into `finance_channel_id` and the
invoice's thread). Autopay and auto top-up are nobody's to tell in person. A failed Slack call
is logged and never undoes what was done: every call here happens after the transaction that
changed anything has committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import notifications
from bot.payments import CardSaved, PaymentOutcome
from bot.ui import payments as ui
from bot.ui.common import Message

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message for one place: ephemeral for `ephemeral_for` in `channel`, or a post."""

    channel: str
    message: Message
    ephemeral_for: str | None = None
    thread_ts: str | None = None  # a finance notice about an invoice with a thread already


def to_person(user_id: str, channel_id: str | None, message: Message) -> Delivery:
    if channel_id:
        return Delivery(channel_id, message, ephemeral_for=user_id)
    return Delivery(user_id, message)  # a direct message


def payment_deliveries(outcome: PaymentOutcome, *, tell_person: bool = True) -> list[Delivery]:
    """Who hears about `outcome`: the person who paid, and the finance channel when settled."""
    found: list[Delivery] = []
    person = outcome.requested_by
    if tell_person and person and not notifications.is_system_actor(person):
        found.append(to_person(person, outcome.channel_id, ui.payment_message(outcome)))
    notice = notifications.payment_notice(outcome) if outcome.settled_now else None
    if notice is not None and outcome.finance_channel_id:
        found.append(
            Delivery(outcome.finance_channel_id, notice, thread_ts=outcome.finance_thread_ts)
        )
    return found


def card_deliveries(
    result: CardSaved, *, user_id: str | None, channel_id: str | None
) -> list[Delivery]:
    """Who hears about a card saved or removed (only when the card on file changed)."""
    found: list[Delivery] = []
    if user_id and result.card is not None and result.saved:
        found.append(to_person(user_id, channel_id, ui.card_saved_message(result.card)))
    elif user_id and result.problem:
        found.append(to_person(user_id, channel_id, ui.card_not_saved_message(result.problem)))
    if result.changed and result.finance_channel_id:
        found.append(Delivery(result.finance_channel_id, notifications.card_notice(result)))
    return found


def send(slack: WebClient, deliveries: list[Delivery]) -> None:
    """Post each delivery; failures are logged (method and Slack's error code) and skipped."""
    for item in deliveries:
        if item.ephemeral_for is not None:
            if _call(
                slack.chat_postEphemeral,
                channel=item.channel,
                user=item.ephemeral_for,
                **item.message,
            ):
                continue
            _call(slack.chat_postMessage, channel=item.ephemeral_for, **item.message)
        elif item.thread_ts:
            _call(
                slack.chat_postMessage,
                channel=item.channel,
                thread_ts=item.thread_ts,
                **item.message,
            )
        else:
            _call(slack.chat_postMessage, channel=item.channel, **item.message)


def notify_payment(slack: WebClient, outcome: PaymentOutcome, *, tell_person: bool = True) -> None:
    send(slack, payment_deliveries(outcome, tell_person=tell_person))


def _call(method: Callable[..., Any], **kwargs: Any) -> bool:
    name = getattr(method, "__name__", "chat")
    channel = kwargs.get("channel")
    try:
        method(**kwargs)
    except SlackApiError as exc:
        log.warning("Slack %s to %s failed: %s", name, channel, exc.response.get("error"))
        return False
    except (SlackClientError, OSError) as exc:
        log.warning("Slack %s to %s failed: %s", name, channel, type(exc).__name__)
        return False
    return True
