"""The sandbox Slack: a page that behaves like a Slack workspace, and its JSON API.

`SandboxWorkspace` is Slack's side of the conversation with the app. It holds the fake Web API
(`FakeSlack`: what the app posts, opens and publishes lands there) and sends the app, for the
person using the page, the same signed requests in the same payload formats that Slack sends
(`SlackRequestSender`): slash commands, `block_actions`, `view_submission`, `view_closed`,
`block_suggestion` and `app_home_opened`, applying the app's answers to the modal stack as
Slack would. The page only reports what the person did, in a simple form; the payloads are
built here, in Python, from the blocks the app sent.

`create_workspace_app` serves it all on one port: the page (`/`, `/static/…`), its JSON API
(`/sandbox/…`) and the fake Web API itself (`/api/…`, `/response/…`, `/upload/…`,
`/files/…`), so `SLACK_API_URL` is this server's `/api/`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import requests
from flask import Flask, Response, abort, jsonify, request, send_from_directory

from bot.sandbox.blockkit import (
    REQUIRED_FIELD,
    action_fields,
    escape_command_text,
    find_element,
    missing_required,
    state_values,
)
from bot.sandbox.demo import Channel, Person
from bot.sandbox.slack_api import FakeSlack
from bot.sandbox.slack_requests import SlackRequestSender

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

JsonDict = dict[str, Any]

STATIC = Path(__file__).parent / "static"
APP_NAME = "Admin Portal"
COMMAND = "/portal"
SLACKBOT = "USLACKBOT"
# Paths the fake Web API answers; everything else is the page and its JSON API.
_FAKE_PREFIXES = ("/api/", "/response/", "/upload/", "/files/")


class SandboxError(Exception):
    """Something the page asked for that Slack would not allow, or the app's failure to answer.

    `status` is the HTTP status of the JSON answer; the message is shown to the person.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class Where:
    """Where an element was used: a message (channel and ts), a modal, or the App Home."""

    surface: str  # "message", "modal" or "home"
    channel: str = ""
    ts: str = ""
    view_id: str = ""

    @classmethod
    def parse(cls, data: JsonDict) -> Where:
        surface = str(data.get("surface") or "")
        if surface not in {"message", "modal", "home"}:
            raise SandboxError("surface must be message, modal or home")
        return cls(
            surface=surface,
            channel=str(data.get("channel") or ""),
            ts=str(data.get("ts") or ""),
            view_id=str(data.get("view_id") or ""),
        )


@dataclass
class SandboxWorkspace:
    """The people, the channels, the fake Web API and the requests sent to the app."""

    fake: FakeSlack
    events_url: str
    signing_secret: str
    team_id: str
    team_name: str
    team_domain: str
    people: Sequence[Person]
    channels: Sequence[Channel]
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/London"))
    timeout: float = 10.0
    secure_pages_url: str = ""
    notes: Sequence[str] = ()  # shown in the page's "About this sandbox" panel
    _seen: dict[str, float] = field(default_factory=dict, repr=False)

    @classmethod
    def create(
        cls,
        *,
        fake: FakeSlack,
        events_url: str,
        signing_secret: str,
        team_name: str,
        team_domain: str,
        people: Sequence[Person],
        channels: Sequence[Channel],
        **options: Any,
    ) -> SandboxWorkspace:
        """The workspace over `fake`, whose people and channels are added to it."""
        for person in people:
            fake.add_user(person.user_id, person.name, is_admin=person.workspace_admin)
        for channel in channels:
            fake.add_channel(channel.channel_id, channel.name)
        return cls(
            fake=fake,
            events_url=events_url,
            signing_secret=signing_secret,
            team_id=fake.team_id,
            team_name=team_name,
            team_domain=team_domain,
            people=people,
            channels=channels,
            **options,
        )

    # -- Sending to the app ------------------------------------------------------------------

    def _sender(self) -> SlackRequestSender:
        return SlackRequestSender(
            self.events_url,
            self.signing_secret,
            team_id=self.team_id,
            team_domain=self.team_domain,
            fake=self.fake,
            timeout=self.timeout,
        )

    def _send(
        self, what: str, call: Callable[[SlackRequestSender], requests.Response]
    ) -> requests.Response:
        """Send one request to the app, with a sender (and HTTP session) of its own."""
        try:
            with self._sender() as sender:
                return call(sender)
        except requests.Timeout:
            raise SandboxError(f"The app did not answer the {what} in time.", status=504) from None
        except requests.ConnectionError:
            raise SandboxError(f"The app could not be reached for the {what}.", 502) from None

    # -- People and places -------------------------------------------------------------------

    def person(self, user_id: str) -> Person:
        for person in self.people:
            if person.user_id == user_id:
                return person
        raise SandboxError(f"There is nobody called {user_id!r} in this workspace.", 404)

    def channel(self, channel_id: str) -> Channel:
        for channel in self.channels:
            if channel.channel_id == channel_id:
                return channel
        raise SandboxError(f"There is no channel {channel_id!r} in this workspace.", 404)

    @staticmethod
    def app_dm(user_id: str) -> str:
        """The person's conversation with the app (its Messages tab)."""
        return "D" + user_id

    def _handles(self) -> dict[str, str]:
        handles = {}
        for person in self.people:
            user = self.fake.user(person.user_id)
            if user is not None:
                handles[str(user["name"])] = person.user_id
        return handles

    # -- What the person sees ----------------------------------------------------------------

    def state(self, user_id: str) -> JsonDict:
        """Everything the page shows this person; `version` changes when anything does."""
        self.person(user_id)
        places = [c.channel_id for c in self.channels] + [self.app_dm(user_id)]
        messages: dict[str, list[JsonDict]] = {place: [] for place in places}
        for message in self.fake.messages():
            place = message["channel"]
            if place not in messages or message.get("thread_ts"):
                continue
            if message.get("ephemeral") and message.get("user") != user_id:
                continue
            messages[place].append(self._message_json(message))
        home = self.fake.home_view(user_id)
        body: JsonDict = {
            "workspace": {"name": self.team_name, "domain": self.team_domain},
            "app": {"name": APP_NAME, "bot_user_id": self.fake.bot_user_id},
            "me": user_id,
            "people": [self._person_json(p) for p in self.people],
            "channels": [{"id": c.channel_id, "name": c.name} for c in self.channels],
            "app_dm": self.app_dm(user_id),
            "messages": messages,
            "modals": [self._view_json(view) for view in self.fake.modal_stack(user_id)],
            "home": self._view_json(home) if home is not None else None,
            "secure_pages_url": self.secure_pages_url,
            "notes": list(self.notes),
        }
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        body["version"] = digest[:16]
        return body

    def about(self) -> JsonDict:
        """Who can be switched to, and who the page starts as (the first of them)."""
        people = [self._person_json(p) for p in self.people if p.switchable]
        return {"people": people, "default_person": people[0]["id"] if people else ""}

    def _person_json(self, person: Person) -> JsonDict:
        user = self.fake.user(person.user_id) or {}
        return {
            "id": person.user_id,
            "name": person.name,
            "handle": user.get("name", ""),
            "title": person.title,
            "switchable": person.switchable,
        }

    def _posted_at(self, ts: str) -> str:
        """When the page first saw a message (the fake's timestamps are only an order)."""
        seen = self._seen.setdefault(ts, time.time())
        return datetime.fromtimestamp(seen, self.tz).strftime("%H:%M")

    def _message_json(self, message: JsonDict) -> JsonDict:
        author = message.get("author")
        return {
            "ts": message["ts"],
            "text": message.get("text") or "",
            "blocks": message.get("blocks") or [],
            "attachments": message.get("attachments") or [],
            "files": [
                {
                    "id": file.get("id"),
                    "name": file.get("name"),
                    "title": file.get("title"),
                    "mimetype": file.get("mimetype"),
                    "pretty_type": file.get("pretty_type"),
                    "size": file.get("size"),
                    "url": file.get("url_private"),
                }
                for file in message.get("files") or []
            ],
            "ephemeral": bool(message.get("ephemeral")),
            "author": author if isinstance(author, str) else None,  # None: the app
            "at": self._posted_at(str(message["ts"])),
        }

    @staticmethod
    def _view_json(view: JsonDict) -> JsonDict:
        keys = ("id", "type", "title", "submit", "close", "blocks", "callback_id", "hash")
        shaped = {key: view.get(key) for key in keys}
        shaped["state"] = (view.get("state") or {}).get("values") or {}
        shaped["errors"] = view.get("errors") or {}
        return shaped

    # -- What the person does ----------------------------------------------------------------

    def type_message(self, user_id: str, channel_id: str, text: str) -> None:
        """The message box: `/portal …` runs the command; anything else is posted as said."""
        self.person(user_id)
        text = text.strip()
        if not text:
            return
        channel = self.channel(channel_id)
        if not text.startswith("/"):
            self.fake.add_message(channel.channel_id, text, author=user_id)
            return
        command, _, rest = text.partition(" ")
        if command != COMMAND:
            self._slackbot(
                user_id,
                channel_id,
                f"`{command[:40]}` is not a valid command. In Slack, all messages that start "
                f"with the “/” character are interpreted as commands. This app's is `{COMMAND}`.",
            )
            return
        escaped = escape_command_text(
            rest.strip(),
            channels={c.name: c.channel_id for c in self.channels},
            users=self._handles(),
        )
        response = self._send(
            "command",
            lambda sender: sender.slash_command(
                user_id, escaped, channel_id=channel.channel_id, channel_name=channel.name
            ),
        )
        if response.status_code != 200:
            self._slackbot(
                user_id,
                channel_id,
                f"`{COMMAND}` failed with the error “dispatch_failed” "
                f"(the app answered HTTP {response.status_code}).",
            )
            return
        if response.content.strip():  # an immediate answer in the acknowledgement
            self._show_ack_message(user_id, channel_id, response)

    def _show_ack_message(self, user_id: str, channel_id: str, response: requests.Response) -> None:
        try:
            body = response.json()
        except ValueError:
            body = {"text": response.text}
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return
        url = self.fake.new_response_url(channel_id=channel_id, user_id=user_id)
        requests.post(url, json=body, timeout=self.timeout)

    def _slackbot(self, user_id: str, channel_id: str, text: str) -> None:
        self.fake.add_message(channel_id, text, author=SLACKBOT, ephemeral_for=user_id)

    def open_home(self, user_id: str) -> None:
        """The person opened the app's Home tab: Slack sends `app_home_opened`."""
        self.person(user_id)
        response = self._send("Home tab", lambda sender: sender.app_home_opened(user_id))
        _require_ok(response, "Home tab")

    def act(
        self,
        user_id: str,
        where: Where,
        *,
        block_id: str,
        action_id: str,
        entered: Any = None,
        state: JsonDict | None = None,
    ) -> None:
        """The person used an interactive element: Slack sends `block_actions`."""
        self.person(user_id)
        if where.surface == "message":
            message = self._visible_message(user_id, where.channel, where.ts)
            element = self._element(message.get("blocks"), block_id, action_id)
            response = self._send(
                "button",
                lambda sender: sender.block_action(
                    user_id,
                    action_id,
                    block_id=block_id or None,
                    message=message,
                    channel_id=message["channel"],
                    state_values=state_values(message.get("blocks"), state),
                    **action_fields(element, entered),
                ),
            )
        else:
            view = self._surface_view(user_id, where)
            element = self._element(view.get("blocks"), block_id, action_id)
            response = self._send(
                "action",
                lambda sender: sender.block_action(
                    user_id,
                    action_id,
                    block_id=block_id or None,
                    view=view,
                    state_values=state_values(view.get("blocks"), state),
                    **action_fields(element, entered),
                ),
            )
        _require_ok(response, "action")

    def submit(self, user_id: str, view_id: str, state: JsonDict | None) -> JsonDict:
        """The modal's submit button: `view_submission`, and the app's answer applied."""
        self.person(user_id)
        view = self._open_modal(user_id, view_id)
        values = state_values(view.get("blocks"), state)
        missing = missing_required(view.get("blocks"), values)
        if missing:  # Slack's client says so itself, and sends nothing
            self.fake.set_view_state(view_id, values)
            self.fake.apply_view_response(
                user_id,
                view_id,
                {"response_action": "errors", "errors": dict.fromkeys(missing, REQUIRED_FIELD)},
            )
            return {"ok": True, "sent": False}
        try:
            response = self._send(
                "submission", lambda sender: sender.view_submission(user_id, view, values)
            )
        except ValueError as exc:  # the fake refused the answer, as Slack would
            raise SandboxError(f"Slack would refuse the app's answer: {exc}", 502) from None
        if response.status_code != 200:
            raise SandboxError("We had some trouble connecting. Try again?", 502)
        return {"ok": True, "sent": True}

    def close_modal(self, user_id: str, view_id: str, *, everything: bool = False) -> None:
        """Cancel (back to the modal below) or the close icon (all); `view_closed` if asked."""
        self.person(user_id)
        view = self._open_modal(user_id, view_id)
        if view.get("notify_on_close"):
            response = self._send(
                "close", lambda sender: sender.view_closed(user_id, view, is_cleared=everything)
            )
            _require_ok(response, "close")
            return  # the sender closed it in the fake, as Slack does
        self.fake.apply_view_response(
            user_id, view_id, {"response_action": "clear"} if everything else None
        )

    def suggest(
        self, user_id: str, where: Where, *, block_id: str, action_id: str, query: str
    ) -> JsonDict:
        """An `external_select` asks for options: `block_suggestion`, and the app's options."""
        self.person(user_id)
        if where.surface == "message":
            message = self._visible_message(user_id, where.channel, where.ts)
            response = self._send(
                "options",
                lambda sender: sender.block_suggestion(
                    user_id,
                    action_id,
                    query,
                    block_id=block_id or None,
                    message=message,
                    channel_id=message["channel"],
                ),
            )
        else:
            view = self._surface_view(user_id, where)
            response = self._send(
                "options",
                lambda sender: sender.block_suggestion(
                    user_id, action_id, query, block_id=block_id or None, view=view
                ),
            )
        _require_ok(response, "options")
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if isinstance(body.get("option_groups"), list):
            return {"ok": True, "option_groups": body["option_groups"]}
        options = body.get("options")
        return {"ok": True, "options": options if isinstance(options, list) else []}

    # -- Finding what was used ---------------------------------------------------------------

    def _visible_message(self, user_id: str, channel_id: str, ts: str) -> JsonDict:
        for message in self.fake.messages(channel_id):
            if message["ts"] != ts:
                continue
            if message.get("ephemeral") and message.get("user") != user_id:
                break
            return message
        raise SandboxError("That message is no longer there.", 404)

    def _open_modal(self, user_id: str, view_id: str) -> JsonDict:
        for view in self.fake.modal_stack(user_id):
            if view["id"] == view_id:
                return view
        raise SandboxError("That modal is no longer open.", 409)

    def _surface_view(self, user_id: str, where: Where) -> JsonDict:
        if where.surface == "home":
            home = self.fake.home_view(user_id)
            if home is None:
                raise SandboxError("The Home tab has not been published yet.", 409)
            return home
        return self._open_modal(user_id, where.view_id)

    @staticmethod
    def _element(blocks: Any, block_id: str, action_id: str) -> JsonDict:
        element = find_element(blocks, block_id, action_id)
        if element is None:
            raise SandboxError("That button or field is no longer there.", 409)
        return element


def _require_ok(response: requests.Response, what: str) -> None:
    if response.status_code != 200:
        raise SandboxError(
            f"The app answered the {what} with HTTP {response.status_code}.", status=502
        )


# -- The web server ---------------------------------------------------------------------------


def _payload() -> JsonDict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise SandboxError("Send a JSON object.", 415)
    return data


def _text(data: JsonDict, key: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise SandboxError(f"{key} is required.")
    return value


def _state(data: JsonDict) -> JsonDict | None:
    state = data.get("state")
    if state is None:
        return None
    if not isinstance(state, dict) or not all(isinstance(v, dict) for v in state.values()):
        raise SandboxError("state must map block ids to {action id: value}.")
    return state


def create_workspace_app(workspace: SandboxWorkspace, *, allowed_hosts: Iterable[str]) -> Any:
    """The sandbox's WSGI app: the page, its JSON API and the fake Web API on one port.

    `allowed_hosts` are the `Host` headers accepted (`127.0.0.1:3000`, `localhost:3000`): the
    page's API changes things, so a web page elsewhere must not reach it through DNS tricks,
    and its POSTs take JSON only, which a cross-site form cannot send.
    """
    hosts = frozenset(allowed_hosts)
    page = Flask("bot.sandbox", static_folder=str(STATIC), static_url_path="/static")
    page.config.update(MAX_CONTENT_LENGTH=256 * 1024, JSON_SORT_KEYS=False)

    @page.before_request
    def _local_only() -> None:
        if request.host not in hosts:
            abort(403)

    @page.errorhandler(SandboxError)
    def _refused(error: SandboxError) -> tuple[Response, int]:
        return jsonify(ok=False, error=error.message), error.status

    @page.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @page.get("/")
    def index() -> Response:
        return send_from_directory(STATIC, "index.html")

    @page.get("/sandbox/workspace")
    def about() -> Response:
        return jsonify(workspace.about())

    @page.get("/sandbox/state")
    def state() -> Response:
        user = request.args.get("user", "")
        body = workspace.state(user)
        if request.args.get("since") == body["version"]:
            return jsonify(version=body["version"], unchanged=True)
        return jsonify(body)

    @page.post("/sandbox/message")
    def message() -> Response:
        data = _payload()
        workspace.type_message(_text(data, "user"), _text(data, "channel"), _text(data, "text"))
        return jsonify(ok=True)

    @page.post("/sandbox/home")
    def home() -> Response:
        workspace.open_home(_text(_payload(), "user"))
        return jsonify(ok=True)

    @page.post("/sandbox/action")
    def action() -> Response:
        data = _payload()
        workspace.act(
            _text(data, "user"),
            Where.parse(data),
            block_id=_text(data, "block_id", required=False),
            action_id=_text(data, "action_id"),
            entered=data.get("entered"),
            state=_state(data),
        )
        return jsonify(ok=True)

    @page.post("/sandbox/submit")
    def submit() -> Response:
        data = _payload()
        return jsonify(workspace.submit(_text(data, "user"), _text(data, "view_id"), _state(data)))

    @page.post("/sandbox/close")
    def close() -> Response:
        data = _payload()
        workspace.close_modal(
            _text(data, "user"), _text(data, "view_id"), everything=bool(data.get("everything"))
        )
        return jsonify(ok=True)

    @page.post("/sandbox/suggest")
    def suggest() -> Response:
        data = _payload()
        return jsonify(
            workspace.suggest(
                _text(data, "user"),
                Where.parse(data),
                block_id=_text(data, "block_id", required=False),
                action_id=_text(data, "action_id"),
                query=_text(data, "query", required=False),
            )
        )

    def dispatch(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "")
        if path.startswith(_FAKE_PREFIXES):
            return workspace.fake.wsgi_app(environ, start_response)
        return page.wsgi_app(environ, start_response)

    return dispatch
