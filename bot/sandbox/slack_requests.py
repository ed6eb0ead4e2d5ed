"""Signed requests in Slack's own payload formats, sent to an app's events URL.

`SlackRequestSender` plays the Slack side of the conversation with the app: slash commands,
interactions (`block_actions`, `view_submission`, `view_closed`, `block_suggestion`) and Events
API callbacks, each signed with the app's signing secret exactly as Slack signs them. Given a
`FakeSlack`, trigger ids and response URLs come from it (so the app's `views.open` and
`respond()` land there) and the fake's modal stack follows what the user did and what the app
answered, as it would in Slack.

The module-level helpers (`plain_text`, `static_select`, `number`, ...) build the per-element
entries of `view.state.values`:
`sender.view_submission(user, view, values={"credits": {"credits_input": number("150")}})`.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlencode

import requests

from bot.sandbox.slack_api import FakeSlack

if TYPE_CHECKING:
    from types import TracebackType

__all__ = [
    "SlackRequestSender",
    "channels_select",
    "checkboxes",
    "conversations_select",
    "datepicker",
    "email",
    "external_select",
    "multi_static_select",
    "number",
    "option",
    "plain_text",
    "radio_buttons",
    "static_select",
    "users_select",
]

JsonDict = dict[str, Any]

DEFAULT_CHANNEL_ID = "C0GENERAL"
DEFAULT_CHANNEL_NAME = "general"
_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
_TEXT_INPUT_TYPES = frozenset(
    {"button", "plain_text_input", "number_input", "email_text_input", "url_text_input"}
)

# ---------------------------------------------------------------------------------------------
# view.state.values entries, one per input element, in Slack's format
# ---------------------------------------------------------------------------------------------


def option(value: str, text: str | None = None) -> JsonDict:
    """An option object as Slack puts it in `selected_option(s)`."""
    shown = text if text is not None else value
    return {"text": {"type": "plain_text", "text": shown, "emoji": True}, "value": value}


def plain_text(value: str | None) -> JsonDict:
    """A `plain_text_input`'s state (None: left empty)."""
    return {"type": "plain_text_input", "value": value}


def email(value: str | None) -> JsonDict:
    """An `email_text_input`'s state."""
    return {"type": "email_text_input", "value": value}


def number(value: str | int | float | Decimal | None) -> JsonDict:
    """A `number_input`'s state; Slack sends the number as the string the user typed."""
    return {"type": "number_input", "value": None if value is None else str(value)}


def static_select(value: str | None, text: str | None = None) -> JsonDict:
    """A `static_select`'s state (None: nothing selected)."""
    selected = None if value is None else option(value, text)
    return {"type": "static_select", "selected_option": selected}


def external_select(value: str | None, text: str | None = None) -> JsonDict:
    """An `external_select`'s state (None: nothing selected)."""
    selected = None if value is None else option(value, text)
    return {"type": "external_select", "selected_option": selected}


def radio_buttons(value: str | None, text: str | None = None) -> JsonDict:
    """A `radio_buttons` element's state (None: nothing selected)."""
    selected = None if value is None else option(value, text)
    return {"type": "radio_buttons", "selected_option": selected}


def multi_static_select(values: Iterable[str]) -> JsonDict:
    """A `multi_static_select`'s state."""
    return {"type": "multi_static_select", "selected_options": [option(v) for v in values]}


def checkboxes(values: Iterable[str]) -> JsonDict:
    """A `checkboxes` element's state: the values of the ticked boxes."""
    return {"type": "checkboxes", "selected_options": [option(v) for v in values]}


def users_select(user_id: str | None) -> JsonDict:
    """A `users_select`'s state."""
    return {"type": "users_select", "selected_user": user_id}


def conversations_select(channel: str | None) -> JsonDict:
    """A `conversations_select`'s state."""
    return {"type": "conversations_select", "selected_conversation": channel}


def channels_select(channel: str | None) -> JsonDict:
    """A `channels_select`'s state."""
    return {"type": "channels_select", "selected_channel": channel}


def datepicker(date: str | dt.date | None) -> JsonDict:
    """A `datepicker`'s state (`YYYY-MM-DD`)."""
    selected = date.isoformat() if isinstance(date, dt.date) else date
    return {"type": "datepicker", "selected_date": selected}


# ---------------------------------------------------------------------------------------------
# Looking elements up in blocks (to fill in what Slack copies from the element)
# ---------------------------------------------------------------------------------------------


def _block_elements(block: JsonDict) -> list[JsonDict]:
    found = [block[key] for key in ("accessory", "element") if isinstance(block.get(key), dict)]
    elements = block.get("elements")
    if block.get("type") == "actions" and isinstance(elements, list):
        found.extend(element for element in elements if isinstance(element, dict))
    return found


def _find_element(blocks: Any, action_id: str, block_id: str | None) -> tuple[str, JsonDict] | None:
    if not isinstance(blocks, list):
        return None
    for block in blocks:
        if not isinstance(block, dict) or (
            block_id is not None and block.get("block_id") != block_id
        ):
            continue
        for element in _block_elements(block):
            if element.get("action_id") == action_id:
                return str(block.get("block_id") or ""), element
    return None


def _element_options(element: JsonDict) -> list[JsonDict]:
    options = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            options.extend(o for o in group.get("options") or [] if isinstance(o, dict))
    return options


def _chosen_option(element: JsonDict, choice: str | JsonDict) -> JsonDict:
    if isinstance(choice, dict):
        return copy.deepcopy(choice)
    for candidate in _element_options(element):
        if candidate.get("value") == choice:
            return copy.deepcopy(candidate)
    return option(choice)


def _response_body(response: requests.Response) -> JsonDict | None:
    if not response.content.strip():
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


class SlackRequestSender:
    """Sends Slack's HTTP requests (signed, in Slack's formats) to an app's events URL.

    Every send method returns the app's `requests.Response`, and accepts `retry_num` (adds
    `X-Slack-Retry-Num` and `X-Slack-Retry-Reason: http_timeout`) and `timestamp` (to sign and
    send a stale `X-Slack-Request-Timestamp`).
    """

    def __init__(
        self,
        events_url: str,
        signing_secret: str,
        *,
        team_id: str = "T0001",
        team_domain: str = "acme",
        api_app_id: str = "A0001",
        fake: FakeSlack | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        verification_token: str = "legacy-verification-token",  # noqa: S107 - Slack's legacy field
        bot_user_id: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.team_domain = team_domain
        self.api_app_id = api_app_id
        self.fake = fake
        self.clock = clock
        self.verification_token = verification_token
        default_bot = fake.bot_user_id if fake is not None and fake.team_id == team_id else "UBOT"
        self.bot_user_id = bot_user_id or default_bot
        self.timeout = timeout
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()

    def close(self) -> None:
        """Close the HTTP session if this sender created it."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -----------------------------------------------------------------------------------------
    # Signing and sending
    # -----------------------------------------------------------------------------------------

    def signature(self, body: bytes, timestamp: int) -> str:
        """`X-Slack-Signature` for `body` sent at `timestamp`: `v0=` + HMAC-SHA256 hex."""
        base = b"v0:" + str(timestamp).encode() + b":" + body
        digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        return f"v0={digest}"

    def send(
        self,
        body: bytes,
        content_type: str,
        *,
        retry_num: int | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> requests.Response:
        """POST a raw body with Slack's headers; `signature` overrides the computed one."""
        sent_at = int(self.clock()) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            "User-Agent": _USER_AGENT,
            "X-Slack-Request-Timestamp": str(sent_at),
            "X-Slack-Signature": signature or self.signature(body, sent_at),
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return self.session.post(self.events_url, data=body, headers=headers, timeout=self.timeout)

    def send_form(
        self,
        fields: Mapping[str, str],
        *,
        retry_num: int | None = None,
        timestamp: int | None = None,
    ) -> requests.Response:
        """POST form-encoded fields (how Slack sends slash commands)."""
        body = urlencode(list(fields.items())).encode()
        return self.send(
            body, "application/x-www-form-urlencoded", retry_num=retry_num, timestamp=timestamp
        )

    def send_payload(
        self, payload: JsonDict, *, retry_num: int | None = None, timestamp: int | None = None
    ) -> requests.Response:
        """POST an interaction payload as Slack does: form field `payload` holding JSON."""
        return self.send_form(
            {"payload": json.dumps(payload)}, retry_num=retry_num, timestamp=timestamp
        )

    def send_json(
        self, body: JsonDict, *, retry_num: int | None = None, timestamp: int | None = None
    ) -> requests.Response:
        """POST a JSON body (how Slack sends Events API callbacks)."""
        return self.send(
            json.dumps(body).encode(), "application/json", retry_num=retry_num, timestamp=timestamp
        )

    # -----------------------------------------------------------------------------------------
    # Pieces shared by the payloads
    # -----------------------------------------------------------------------------------------

    def _now_ts(self) -> str:
        return f"{self.clock():.6f}"

    def _trigger_id(self, user_id: str) -> str:
        if self.fake is not None:
            return self.fake.new_trigger_id(user_id)
        return f"{secrets.randbelow(10**12)}.{int(self.clock())}.{secrets.token_hex(16)}"

    def _response_url(
        self, kind: str, *, channel_id: str, user_id: str, message_ts: str | None = None
    ) -> str:
        if self.fake is not None:
            return self.fake.new_response_url(
                channel_id=channel_id, user_id=user_id, message_ts=message_ts
            )
        return (
            f"https://hooks.slack.com/{kind}/{self.team_id}/"
            f"{secrets.randbelow(10**12)}/{secrets.token_urlsafe(18)}"
        )

    def _user_name(self, user_id: str) -> str:
        user = self.fake.user(user_id) if self.fake is not None else None
        return str(user["name"]) if user is not None else user_id.lower()

    def _user(self, user_id: str) -> JsonDict:
        name = self._user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _team(self) -> JsonDict:
        return {"id": self.team_id, "domain": self.team_domain}

    def _channel_name(self, channel_id: str, given: str | None) -> str:
        if given is not None:
            return given
        channel = self.fake.channel(channel_id) if self.fake is not None else None
        if channel is not None:
            return str(channel["name"])
        if channel_id == DEFAULT_CHANNEL_ID:
            return DEFAULT_CHANNEL_NAME
        return "directmessage" if channel_id.startswith("D") else channel_id.lower()

    def _payload_view(self, view: JsonDict, values: JsonDict | None) -> JsonDict:
        """The view as Slack includes it in payloads: every field present, with `state`."""
        shaped = copy.deepcopy(view)
        shaped.pop("errors", None)
        view_id = shaped.setdefault("id", "V" + secrets.token_hex(5).upper())
        defaults: JsonDict = {
            "team_id": self.team_id,
            "type": "modal",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "hash": f"{int(self.clock())}.{secrets.token_hex(4)}",
            "title": None,
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": self.api_app_id,
            "external_id": "",
            "app_installed_team_id": self.team_id,
            "bot_id": "B" + self.team_id.removeprefix("T"),
        }
        for key, value in defaults.items():
            shaped.setdefault(key, value)
        if values is not None:
            shaped["state"] = {"values": copy.deepcopy(values)}
        else:
            shaped.setdefault("state", {"values": {}})
        return shaped

    def _fake_holding(self, user_id: str, view_id: str) -> FakeSlack | None:
        """The fake, when it has this view open for the user."""
        if self.fake is None:
            return None
        stack = self.fake.modal_stack(user_id)
        return self.fake if any(view["id"] == view_id for view in stack) else None

    @staticmethod
    def _payload_message(message: JsonDict) -> JsonDict:
        if "ephemeral" in message and "bot_user_id" in message:  # a message stored by FakeSlack
            return FakeSlack.as_slack_message(message)
        return copy.deepcopy(message)

    def _interaction(self, kind: str, user_id: str, *, trigger: bool = True) -> JsonDict:
        payload: JsonDict = {
            "type": kind,
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
        }
        if trigger:
            payload["trigger_id"] = self._trigger_id(user_id)
        payload.update({"team": self._team(), "enterprise": None, "is_enterprise_install": False})
        return payload

    def _add_message_source(
        self,
        payload: JsonDict,
        user_id: str,
        *,
        channel_id: str | None,
        channel_name: str | None,
        message: JsonDict | None,
        message_ts: str | None,
    ) -> str:
        """Add container/channel/message for an interaction in a message; returns channel id."""
        channel = channel_id or (message or {}).get("channel") or DEFAULT_CHANNEL_ID
        ts = (message or {}).get("ts") or message_ts or self._now_ts()
        is_ephemeral = True if message is None else bool(message.get("ephemeral", False))
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": is_ephemeral,
        }
        payload["channel"] = {"id": channel, "name": self._channel_name(channel, channel_name)}
        if message is not None:
            payload["message"] = self._payload_message(message)
        return str(ts)

    # -----------------------------------------------------------------------------------------
    # Slash commands
    # -----------------------------------------------------------------------------------------

    def slash_command(
        self,
        user_id: str,
        text: str = "",
        *,
        command: str = "/portal",
        channel_id: str = DEFAULT_CHANNEL_ID,
        channel_name: str = DEFAULT_CHANNEL_NAME,
        user_name: str | None = None,
        retry_num: int | None = None,
        timestamp: int | None = None,
    ) -> requests.Response:
        """A slash command, form-encoded with exactly Slack's fields."""
        fields = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name if user_name is not None else self._user_name(user_id),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self._response_url("commands", channel_id=channel_id, user_id=user_id),
            "trigger_id": self._trigger_id(user_id),
        }
        return self.send_form(fields, retry_num=retry_num, timestamp=timestamp)

    # -----------------------------------------------------------------------------------------
    # Interactions
    # -----------------------------------------------------------------------------------------

    def block_action(
        self,
        user_id: str,
        action_id: str,
        *,
        block_id: str | None = None,
        value: str | None = None,
        action_type: str | None = None,
        selected_option: str | JsonDict | None = None,
        selected_options: Iterable[str | JsonDict] | None = None,
        selected_user: str | None = None,
        selected_channel: str | None = None,
        selected_date: str | None = None,
        view: JsonDict | None = None,
        channel_id: str | None = None,
        channel_name: str | None = None,
        message: JsonDict | None = None,
        message_ts: str | None = None,
        state_values: JsonDict | None = None,
        retry_num: int | None = None,
        timestamp: int | None = None,
    ) -> requests.Response:
        """A `block_actions` interaction: one element used in a view or in a message.

        The element is looked up by `action_id` in the view's (or message's) blocks to fill in
        `block_id`, `type`, the button's `text` and `value` and the options' texts; pass them
        to override. In a view, `state_values` (else the view's own `state`) is sent as the
        view's state and, with a fake, becomes the open view's state there.
        """
        blocks = (view or message or {}).get("blocks")
        found = _find_element(blocks, action_id, block_id)
        element = found[1] if found is not None else {}
        kind = action_type or str(element.get("type") or "button")
        action: JsonDict = {
            "action_id": action_id,
            "block_id": block_id or (found[0] if found is not None else "") or "b",
            "type": kind,
            "action_ts": self._now_ts(),
        }
        if kind == "button" and isinstance(element.get("text"), dict):
            action["text"] = copy.deepcopy(element["text"])
        if element.get("style"):
            action["style"] = element["style"]
        if selected_option is not None:
            action["selected_option"] = _chosen_option(element, selected_option)
        elif selected_options is not None:
            action["selected_options"] = [_chosen_option(element, o) for o in selected_options]
        elif selected_user is not None:
            action["selected_user"] = selected_user
        elif selected_channel is not None:
            key = "selected_conversation" if kind == "conversations_select" else "selected_channel"
            action[key] = selected_channel
        elif selected_date is not None:
            action["selected_date"] = selected_date
        elif value is not None or (kind in _TEXT_INPUT_TYPES and "value" in element):
            action["value"] = value if value is not None else element.get("value")

        payload = self._interaction("block_actions", user_id)
        if view is not None:
            shaped = self._payload_view(view, state_values)
            payload["container"] = {"type": "view", "view_id": shaped["id"]}
            payload["view"] = shaped
            fake = self._fake_holding(user_id, shaped["id"])
            if fake is not None and state_values is not None:
                fake.set_view_state(shaped["id"], state_values)
        else:
            ts = self._add_message_source(
                payload,
                user_id,
                channel_id=channel_id,
                channel_name=channel_name,
                message=message,
                message_ts=message_ts,
            )
            payload["state"] = {"values": copy.deepcopy(state_values or {})}
            payload["response_url"] = self._response_url(
                "actions", channel_id=payload["channel"]["id"], user_id=user_id, message_ts=ts
            )
        payload["actions"] = [action]
        return self.send_payload(payload, retry_num=retry_num, timestamp=timestamp)

    def view_submission(
        self,
        user_id: str,
        view: JsonDict,
        values: JsonDict,
        *,
        apply_response: bool = True,
        retry_num: int | None = None,
        timestamp: int | None = None,
    ) -> requests.Response:
        """A `view_submission`: the user pressed Submit with `values` entered.

        With a fake holding this view open for the user, the values become its state and
        (unless `apply_response` is False) the app's HTTP 200 answer is applied to the modal
        stack as Slack would (`FakeSlack.apply_view_response`).
        """
        shaped = self._payload_view(view, values)
        payload = self._interaction("view_submission", user_id)
        payload.update(
            {
                "view": shaped,
                "response_urls": [],
                "is_enterprise_install": False,
                "enterprise": None,
            }
        )
        fake = self._fake_holding(user_id, shaped["id"])
        if fake is not None:
            fake.set_view_state(shaped["id"], values)
        response = self.send_payload(payload, retry_num=retry_num, timestamp=timestamp)
        if fake is not None and apply_response and response.status_code == 200:
            fake.apply_view_response(user_id, shaped["id"], _response_body(response))
        return response

    def view_closed(
        self,
        user_id: str,
        view: JsonDict,
        *,
        is_cleared: bool = False,
        retry_num: int | None = None,
        timestamp: int | None = None,
    ) -> requests.Response:
        """A `view_closed`: the user closed the modal. With a fake, the view is closed there."""
        shaped = self._payload_view(view, None)
        payload = self._interaction("view_closed", user_id, trigger=False)
        payload.update({"view": shaped, "is_cleared": is_cleared})
        fake = self._fake_holding(user_id, shaped["id"])
        response = self.send_payload(payload, retry_num=retry_num, timestamp=timestamp)
        if fake is not None:
            closing = {"response_action": "clear"} if is_cleared else None
            fake.apply_view_response(user_id, shaped["id"], closing)
        return response

    def block_suggestion(
        self,
        user_id: str,
        action_id: str,
        value: str,
        *,
        block_id: str | None = None,
        view: JsonDict | None = None,
        channel_id: str | None = None,
        message: JsonDict | None = None,
        retry_num: int | None = None,
        timestamp: int | None = None,
    ) -> requests.Response:
        """A `block_suggestion`: an `external_select` asks for options matching `value`."""
        found = _find_element((view or message or {}).get("blocks"), action_id, block_id)
        payload = self._interaction("block_suggestion", user_id, trigger=False)
        if view is not None:
            shaped = self._payload_view(view, None)
            payload["container"] = {"type": "view", "view_id": shaped["id"]}
            payload["view"] = shaped
        else:
            self._add_message_source(
                payload,
                user_id,
                channel_id=channel_id,
                channel_name=None,
                message=message,
                message_ts=None,
            )
        payload.update(
            {
                "action_id": action_id,
                "block_id": block_id or (found[0] if found is not None else "") or "b",
                "value": value,
            }
        )
        return self.send_payload(payload, retry_num=retry_num, timestamp=timestamp)

    # -----------------------------------------------------------------------------------------
    # Events API
    # -----------------------------------------------------------------------------------------

    def event(
        self,
        event: JsonDict,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        timestamp: int | None = None,
    ) -> requests.Response:
        """An `event_callback` envelope around `event` (its `event_ts` filled in if missing)."""
        inner = copy.deepcopy(event)
        inner.setdefault("event_ts", self._now_ts())
        body: JsonDict = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.api_app_id,
            "event": inner,
            "type": "event_callback",
            "event_id": event_id or "Ev" + secrets.token_hex(5).upper(),
            "event_time": int(self.clock()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + secrets.token_urlsafe(24),
        }
        return self.send_json(body, retry_num=retry_num, timestamp=timestamp)

    def app_home_opened(
        self,
        user_id: str,
        *,
        tab: str = "home",
        event_id: str | None = None,
        retry_num: int | None = None,
        timestamp: int | None = None,
    ) -> requests.Response:
        """`app_home_opened`; with a fake, the user's published Home view is included."""
        event: JsonDict = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": "D" + user_id,
            "tab": tab,
            "event_ts": self._now_ts(),
        }
        home = self.fake.home_view(user_id) if self.fake is not None and tab == "home" else None
        if home is not None:
            event["view"] = self._payload_view(home, None)
        return self.event(event, event_id=event_id, retry_num=retry_num, timestamp=timestamp)

    def url_verification(
        self, challenge: str, *, retry_num: int | None = None, timestamp: int | None = None
    ) -> requests.Response:
        """The Events API `url_verification` handshake."""
        body = {
            "token": self.verification_token,
            "challenge": challenge,
            "type": "url_verification",
        }
        return self.send_json(body, retry_num=retry_num, timestamp=timestamp)
