"""What every listener shares: who is asking, one unit of work, and how to answer."""

from __future__ import annotations

import inspect
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.card_numbers import refuse_card_number
from bot.deps import Deps
from bot.errors import FieldError, UserFacingError
from bot.portal import Visitor, visit
from bot.ui import common
from bot.ui.common import Message
from store.db import transaction, unreachable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Who:
    """Where a request came from, parsed once from any Slack payload."""

    team_id: str
    user_id: str
    channel_id: str | None = None
    trigger_id: str | None = None


def who(body: dict[str, Any]) -> Who:
    """Read team, user, channel and trigger from a command, interaction or event body."""
    if "command" in body:  # slash command form post
        return Who(
            team_id=str(body.get("team_id", "")),
            user_id=str(body.get("user_id", "")),
            channel_id=body.get("channel_id"),
            trigger_id=body.get("trigger_id"),
        )
    if body.get("type") == "event_callback":
        event = body.get("event") or {}
        return Who(team_id=str(body.get("team_id", "")), user_id=str(event.get("user", "")))
    team = body.get("team") or {}
    user = body.get("user") or {}
    channel = body.get("channel") or {}
    container = body.get("container") or {}
    return Who(
        team_id=str(team.get("id") or user.get("team_id") or ""),
        user_id=str(user.get("id", "")),
        channel_id=channel.get("id") or container.get("channel_id"),
        trigger_id=body.get("trigger_id"),
    )


@contextmanager
def unit_of_work(
    deps: Deps, origin: Who, *, read_only: bool = False
) -> Iterator[tuple[Session, Visitor]]:
    """One transaction, and the visitor (account and role) it serves.

    `read_only=True` for flows that only show something (the menu, a page of invoices, a
    quote, the Home tab): they then take no write lock on SQLite, and a write in them fails.
    """
    with transaction(deps.session_factory, read_only=read_only) as session:
        yield session, visit(session=session, team_id=origin.team_id, user_id=origin.user_id)


def reply(
    body: dict[str, Any],
    respond: Any,
    client: WebClient,
    message: dict[str, Any],
    *,
    replace: bool = False,
) -> None:
    """Answer the person privately: in place of the message they acted on, or beside it.

    From the App Home there is no response URL, so the answer goes to the app's DM.
    """
    if body.get("response_url"):
        respond(**message, response_type="ephemeral", replace_original=replace)
        return
    origin = who(body)
    client.chat_postMessage(channel=origin.user_id, **message)


def answer_submission(ack: Any, work: Callable[[], dict[str, Any] | None]) -> None:
    """Run a view submission's work, then ack with its response action.

    A `FieldError` answers `response_action: errors` under its field; any other
    `UserFacingError` replaces the modal with the message. Either way the work's transaction
    was rolled back, so a rejected submission changes nothing.
    """
    try:
        response = work()
    except FieldError as exc:
        ack(response_action="errors", errors={exc.field: exc.message})
        return
    except UserFacingError as exc:
        ack(response_action="update", view=common.notice_modal(exc.message))
        return
    if response:
        ack(**response)
    else:
        ack()


@dataclass(frozen=True)
class Request:
    """One person's request, whichever way it came (command word, menu button, Home)."""

    body: dict[str, Any]
    client: WebClient
    respond: Any
    origin: Who
    args: str = ""

    def reply(self, message: dict[str, Any], *, replace: bool = False) -> None:
        reply(self.body, self.respond, self.client, message, replace=replace)

    def open_modal(self, view: dict[str, Any]) -> dict[str, Any]:
        """Open `view` as a modal on this request's trigger; returns Slack's view object."""
        response = self.client.views_open(trigger_id=self.origin.trigger_id, view=view)
        opened: dict[str, Any] = response["view"]
        return opened


Entry = Callable[[Deps, Request], None]
"""What a command word and a menu button both call: the start of one flow."""


DATABASE_UNAVAILABLE = (
    "We can't reach our records right now, so we couldn't finish that "
    "(reference {reference}). Please try again in a minute."
)


def error_text(error: Exception) -> str:
    """What the person is told: a `UserFacingError` as it is, anything else as a reference."""
    if isinstance(error, UserFacingError):
        return error.message
    reference = secrets.token_hex(3).upper()
    if unreachable(error):
        # An outage, not a bug: no traceback (it would carry SQL parameters), just its cause.
        cause = getattr(error, "orig", None) or error
        first_line = (str(cause).strip().splitlines() or [""])[0]
        log.warning(
            "database unavailable, reference %s: %s: %s",
            reference,
            type(cause).__name__,
            first_line[:200],
        )
        # Not "nothing was changed": a flow of several transactions may have committed some.
        return DATABASE_UNAVAILABLE.format(reference=reference)
    log.error("unhandled error, reference %s", reference, exc_info=error)
    return (
        f"Sorry, something went wrong on our side (reference {reference}). "
        "Please try again in a minute."
    )


def tell_user(text: str, body: dict[str, Any], client: WebClient, respond: Any) -> None:
    """Say `text` privately to whoever sent `body`; a failure to say it is only logged."""
    try:
        reply(body, respond, client, common.notice(text))
    except Exception:  # the last resort of the error policy must not raise in turn
        log.warning("could not tell the user about an error", exc_info=True)


def guard(listener: Callable[..., None]) -> Callable[..., None]:
    """Wrap a listener so that no exception reaches Bolt.

    Bolt turns an exception raised just after `ack()` into a lost acknowledgement (Slack then
    shows the person a failure of its own), so every listener is registered through this: it
    passes the listener the arguments it names, answers a forgotten ack, and tells the person
    what went wrong — in the modal for a view submission, privately otherwise.
    """
    wanted = inspect.getfullargspec(inspect.unwrap(listener)).args

    def guarded(  # noqa: PLR0917 - Bolt passes these by name
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        respond: Any,
        context: BoltContext,
        payload: dict[str, Any],
    ) -> None:
        available: dict[str, Any] = {
            "ack": ack,
            "body": body,
            "client": client,
            "respond": respond,
            "context": context,
            "payload": payload,
            "view": body.get("view"),
            "action": payload,
            "event": body.get("event"),
            "command": body,
            "options": payload,
        }
        try:
            listener(**{name: available[name] for name in wanted})
        except Exception as exc:  # the one place listener errors are turned into answers
            text = error_text(exc)
            if ack.response is None and body.get("type") == "view_submission":
                ack(response_action="update", view=common.notice_modal(text))
                return
            if ack.response is None:
                ack()
            tell_user(text, body, client, respond)

    return guarded


def field_value(view: dict[str, Any], block_id: str, action_id: str, key: str = "value") -> str:
    """One element's entry in `view.state.values`, as a string ("" when left empty).

    `key` names what the element reports: `value` (text inputs), `selected_option` (selects,
    whose option value is returned), `selected_user`, `selected_conversation`. Whatever looks
    like a card number is refused under its field: Slack keeps what is typed in it.
    """
    values = (view.get("state") or {}).get("values") or {}
    entry = (values.get(block_id) or {}).get(action_id) or {}
    found = entry.get(key)
    if isinstance(found, dict):
        found = found.get("value")
    text = str(found) if isinstance(found, str) else ""
    return refuse_card_number(text, field=block_id)


@dataclass(frozen=True, slots=True)
class Answer:
    """What a submission's work decided: the ack's response, then messages to send after it."""

    response: dict[str, Any] | None = None
    replies: tuple[Message, ...] = ()  # to the person, privately
    channel_posts: tuple[tuple[str, Message], ...] = ()  # (channel id, message)


def submit_then_send(ack: Ack, req: Request, work: Callable[[], Answer]) -> None:
    """Ack the submission with the work's response (or its errors), then send its messages.

    Slack calls that only tell people something happen after the ack, so the modal answers
    at once; a rejected submission sends nothing.
    """
    done: list[Answer] = []

    def run() -> dict[str, Any] | None:
        answer = work()
        done.append(answer)
        return answer.response

    answer_submission(ack, run)
    for answer in done:
        send(req, answer)


def send(req: Request, answer: Answer) -> None:
    """Post the answer's channel messages, then its private replies to the person."""
    for channel_id, message in answer.channel_posts:
        req.client.chat_postMessage(channel=channel_id, **message)
    for message in answer.replies:
        req.reply(message)


def on_button(  # noqa: PLR0917 - Bolt passes listener arguments by name, positionally bound
    entry: Entry, deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, respond: Any
) -> None:
    """A button that starts a flow: ack, then the flow's entry."""
    ack()
    entry(deps, Request(body=body, client=client, respond=respond, origin=who(body)))


def in_place(req: Request) -> bool:
    """Whether to answer in place of the message the person clicked (navigation)."""
    return req.body.get("type") == "block_actions"
