"""A fake Slack Web API server: enough of Slack, over real HTTP, to drive the app end to end.

`FakeSlack` serves `POST /api/<method>` on 127.0.0.1 (what `slack_sdk.WebClient(base_url=...)`
calls), models the workspace state the app touches (users, channels, messages, modals and App
Home, files, response URLs, OAuth codes, rate limits) and records every call for assertions.
It answers like Slack does: HTTP 200 with `{"ok": false, "error": ...}` for API errors, HTTP 429
with `Retry-After` when rate limited.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import math
import mimetypes
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self
from zoneinfo import ZoneInfo

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from types import TracebackType

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["FakeSlack", "RecordedCall", "validate_blocks", "validate_view"]

JsonDict = dict[str, Any]

DEFAULT_SCOPES = (
    "commands,chat:write,users:read,users:read.email,channels:read,channels:join,"
    "groups:read,im:write,files:write"
)
_MESSAGE_BLOCK_LIMIT = 50
_VIEW_BLOCK_LIMIT = 100
_VIEW_STACK_LIMIT = 3
# Fields sent form-encoded as JSON strings by slack_sdk (and by hand-written clients).
_JSON_FIELDS = frozenset({"blocks", "attachments", "view", "files", "metadata", "unfurls"})
# Web API methods that need no bot token (they are how a token is obtained).
_TOKENLESS_METHODS = frozenset({"oauth.v2.access", "api.test"})
_BOT_NAME = "bot"


@dataclass(frozen=True)
class RecordedCall:
    """One request the fake received: a Web API call, a response_url post or a file upload."""

    method: str
    params: dict[str, Any]
    token: str | None
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Workspace:
    team_id: str
    name: str
    domain: str
    bot_user_id: str
    bot_id: str


@dataclass
class _Context:
    method: str
    params: JsonDict
    token: str | None
    workspace: _Workspace


class _Failure(Exception):
    """A Web API error answer (`{"ok": false, "error": ...}`)."""

    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []

    def body(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error": self.error}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


class _QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without the per-request access log line."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


# --------------------------------------------------------------------------------------------
# Block Kit validation: the limits Slack enforces that an app most often trips over.
# --------------------------------------------------------------------------------------------


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        text = obj.get("text")
        if isinstance(text, str):
            return text
    return ""


def _check_length(problems: list[str], value: Any, limit: int, pointer: str) -> None:
    if isinstance(value, str) and len(value) > limit:
        problems.append(
            f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}]"
        )


def _elements_of(block: JsonDict) -> list[tuple[str, JsonDict]]:
    found: list[tuple[str, JsonDict]] = [
        (f"/{key}", block[key])
        for key in ("accessory", "element")
        if isinstance(block.get(key), dict)
    ]
    elements = block.get("elements")
    if block.get("type") == "actions" and isinstance(elements, list):
        found.extend(
            (f"/elements/{i}", element)
            for i, element in enumerate(elements)
            if isinstance(element, dict)
        )
    return found


def _check_element(element: JsonDict, pointer: str, problems: list[str]) -> None:
    _check_length(problems, element.get("action_id"), 255, f"{pointer}/action_id")
    if element.get("type") == "button":
        _check_length(problems, _text_of(element.get("text")), 75, f"{pointer}/text/text")
        _check_length(problems, element.get("value"), 2000, f"{pointer}/value")
    options = element.get("options")
    if not isinstance(options, list):
        return
    if len(options) > 100:
        problems.append(f"[ERROR] no more than 100 items allowed [json-pointer:{pointer}/options]")
    for i, option in enumerate(options):
        if isinstance(option, dict):
            _check_length(
                problems, _text_of(option.get("text")), 75, f"{pointer}/options/{i}/text/text"
            )
            _check_length(problems, option.get("value"), 150, f"{pointer}/options/{i}/value")


def _check_block(block: JsonDict, pointer: str, problems: list[str]) -> None:
    kind = block["type"]
    if kind == "header":
        _check_length(problems, _text_of(block.get("text")), 150, f"{pointer}/text/text")
    elif kind == "section":
        _check_length(problems, _text_of(block.get("text")), 3000, f"{pointer}/text/text")
    elif kind == "input":
        for required in ("label", "element"):
            if not isinstance(block.get(required), dict):
                problems.append(
                    f"[ERROR] missing required field: {required} [json-pointer:{pointer}]"
                )
    for suffix, element in _elements_of(block):
        _check_element(element, pointer + suffix, problems)


def validate_blocks(
    blocks: Any, *, limit: int = _MESSAGE_BLOCK_LIMIT, pointer: str = "/blocks"
) -> list[str]:
    """Slack-style `[ERROR] ... [json-pointer:...]` messages for a block list; empty when valid."""
    if not isinstance(blocks, list):
        return [f"[ERROR] must be an array [json-pointer:{pointer}]"]
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}]")
    seen_block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        here = f"{pointer}/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(f"[ERROR] missing required field: type [json-pointer:{here}]")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in seen_block_ids:
                problems.append(f"[ERROR] duplicate block_id [json-pointer:{here}/block_id]")
            seen_block_ids.add(block_id)
        _check_block(block, here, problems)
    return problems


def validate_view(view: Any, *, types: Iterable[str] = ("modal",)) -> list[str]:
    """Slack-style error messages for a modal or Home tab view; empty when valid."""
    if not isinstance(view, dict):
        return ["[ERROR] must be an object [json-pointer:/view]"]
    allowed = tuple(types)
    problems: list[str] = []
    if view.get("type") not in allowed:
        problems.append(f"[ERROR] must be one of {', '.join(allowed)} [json-pointer:/view/type]")
    if view.get("type") == "modal":
        if not isinstance(view.get("title"), dict):
            problems.append("[ERROR] missing required field: title [json-pointer:/view]")
        for key in ("title", "submit", "close"):
            _check_length(problems, _text_of(view.get(key)), 24, f"/view/{key}/text")
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(block, dict) and block.get("type") == "input" for block in blocks
        )
        if has_input and not isinstance(view.get("submit"), dict):
            problems.append(
                "[ERROR] must provide a submit property when using input blocks"
                " [json-pointer:/view]"
            )
    for key, limit in (("private_metadata", 3000), ("callback_id", 255), ("external_id", 255)):
        _check_length(problems, view.get(key), limit, f"/view/{key}")
    problems.extend(
        validate_blocks(view.get("blocks"), limit=_VIEW_BLOCK_LIMIT, pointer="/view/blocks")
    )
    return problems


def _carried_state(values: JsonDict, blocks: Any) -> JsonDict:
    """Input values Slack keeps across an update: same block_id and action_id in an input block."""
    kept: JsonDict = {}
    if not isinstance(blocks, list):
        return kept
    for block in blocks:
        if not isinstance(block, dict) or block.get("type") != "input":
            continue
        element = block.get("element")
        block_id = block.get("block_id")
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if not isinstance(block_id, str) or not isinstance(action_id, str):
            continue
        old = values.get(block_id)
        if isinstance(old, dict) and action_id in old:
            kept.setdefault(block_id, {})[action_id] = old[action_id]
    return kept


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes"}


def _split(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(item) for item in value]
    if not value:
        return []
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _new_hash() -> str:
    return f"{int(time.time())}.{secrets.token_hex(4)}"


class FakeSlack:
    """An in-process fake of Slack's Web API, served over HTTP on 127.0.0.1.

    Use as a context manager (or `start()` / `stop()`), point `slack_sdk.WebClient(base_url=
    fake.api_url)` at it, and read what the app did with `calls()`, `messages()`,
    `modal_stack()`, `home_view()` and `files()`. All methods are thread-safe.
    """

    def __init__(
        self,
        bot_token: str = "xoxb-test-token",  # noqa: S107 - a fake's well-known test token
        team_id: str = "T0001",
        team_name: str = "Acme Ltd",
        bot_user_id: str = "UBOT",
        app_id: str = "A0001",
        *,
        team_domain: str | None = None,
        scopes: str = DEFAULT_SCOPES,
        validate: bool = True,
    ) -> None:
        self.bot_token = bot_token
        self.team_id = team_id
        self.team_name = team_name
        self.bot_user_id = bot_user_id
        self.app_id = app_id
        self.scopes = scopes
        self.validate = validate
        # The app's (client id, client secret): `oauth.v2.access` then checks them.
        self.client_credentials: tuple[str, str] | None = None
        self._cond = threading.Condition(threading.RLock())
        self._server: BaseWSGIServer | None = None
        self._mounted_url: str | None = None  # served by another server (the sandbox)
        self._thread: threading.Thread | None = None
        self._seq = 0
        self._calls: list[RecordedCall] = []
        self._teams: dict[str, _Workspace] = {}
        self._tokens: dict[str, str] = {}
        self._users: dict[str, JsonDict] = {}
        self._channels: dict[str, JsonDict] = {}
        self._messages: list[JsonDict] = []
        self._views: dict[str, JsonDict] = {}
        self._stacks: dict[str, list[str]] = {}
        self._homes: dict[str, str] = {}
        self._triggers: dict[str, str] = {}
        self._used_triggers: set[str] = set()
        self._response_urls: dict[str, JsonDict] = {}
        self._files: dict[str, JsonDict] = {}
        self._file_bytes: dict[str, bytes] = {}
        self._oauth_codes: dict[str, JsonDict] = {}
        self._refresh_tokens: dict[str, JsonDict] = {}  # refresh token -> its grant
        self._token_expiry: dict[str, float] = {}  # rotating access token -> expiry (epoch)
        self._current_team = team_id  # the calling token's workspace, while a method runs
        self._rate_limits: dict[str, list[int]] = {}
        self._methods: dict[str, Callable[[_Context], JsonDict]] = {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "team.info": self._team_info,
            "oauth.v2.access": self._oauth_v2_access,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "users.lookupByEmail": self._users_lookup_by_email,
            "conversations.info": self._conversations_info,
            "conversations.join": self._conversations_join,
            "conversations.list": self._conversations_list,
            "conversations.open": self._conversations_open,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "files.info": self._files_info,
        }
        self.add_token(
            bot_token, team_id, team_name=team_name, bot_user_id=bot_user_id, domain=team_domain
        )
        self.add_user(bot_user_id, _BOT_NAME, is_bot=True)

    # ----------------------------------------------------------------------------------------
    # Server lifecycle
    # ----------------------------------------------------------------------------------------

    def start(self) -> Self:
        """Serve on 127.0.0.1 on a free port in a background thread."""
        if self._server is not None:
            return self
        server = make_server(
            "127.0.0.1", 0, self.wsgi_app, threaded=True, request_handler=_QuietRequestHandler
        )
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="FakeSlack",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port. Safe to call twice."""
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def mount(self, base_url: str) -> Self:
        """Say that another server serves `wsgi_app` at `base_url` (instead of `start()`).

        Response URLs, upload URLs and file links then point there.
        """
        self._mounted_url = base_url.rstrip("/")
        return self

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`; only while started (or mounted)."""
        if self._server is None:
            if self._mounted_url is not None:
                return self._mounted_url
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def api_url(self) -> str:
        """What `slack_sdk.WebClient(base_url=...)` takes: `base_url + "/api/"`."""
        return self.base_url + "/api/"

    # ----------------------------------------------------------------------------------------
    # Recorded calls
    # ----------------------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        """Every call received so far, oldest first; only `method`'s when given."""
        with self._cond:
            return [call for call in self._calls if method is None or call.method == method]

    def last(self, method: str) -> RecordedCall:
        """The most recent call of `method`; AssertionError when there was none."""
        calls = self.calls(method)
        if not calls:
            raise AssertionError(f"no {method} call; calls made: {self._called_methods()}")
        return calls[-1]

    def wait_for(
        self,
        method: str,
        predicate: Callable[[RecordedCall], bool] | None = None,
        timeout: float = 5.0,
    ) -> RecordedCall:
        """The earliest recorded call of `method` matching `predicate`, waiting for it to arrive.

        Calls already recorded count, so `clear()` first (or use a predicate) when waiting for a
        second call of the same method. Raises AssertionError listing the calls made on timeout.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for call in self._calls:
                    if call.method == method and (predicate is None or predicate(call)):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no matching {method} call within {timeout}s; "
                        f"calls made: {self._called_methods()}"
                    )
                self._cond.wait(remaining)

    def clear(self) -> None:
        """Forget the recorded calls (state such as messages and views is kept)."""
        with self._cond:
            self._calls.clear()

    def _called_methods(self) -> list[str]:
        with self._cond:
            return [call.method for call in self._calls]

    def _record(
        self, method: str, params: JsonDict, token: str | None, status: int, response: JsonDict
    ) -> None:
        call = RecordedCall(
            method=method,
            params=copy.deepcopy(params),
            token=token,
            at=time.time(),
            status=status,
            response=copy.deepcopy(response),
        )
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    # ----------------------------------------------------------------------------------------
    # Workspace set-up
    # ----------------------------------------------------------------------------------------

    def add_token(
        self,
        token: str,
        team_id: str,
        *,
        team_name: str | None = None,
        bot_user_id: str | None = None,
        domain: str | None = None,
    ) -> None:
        """Accept `token` as a bot token of workspace `team_id` (created when new)."""
        with self._cond:
            workspace = self._teams.get(team_id)
            if workspace is None:
                name = team_name or f"Workspace {team_id}"
                workspace = _Workspace(
                    team_id=team_id,
                    name=name,
                    domain=domain
                    or "".join(c for c in name.lower() if c.isalnum())
                    or team_id.lower(),
                    bot_user_id=bot_user_id or f"UBOT{team_id}",
                    bot_id=f"B{team_id.removeprefix('T')}",
                )
                self._teams[team_id] = workspace
            self._tokens[token] = team_id

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        is_admin: bool = False,
        is_owner: bool = False,
        is_primary_owner: bool = False,
        is_bot: bool = False,
        tz: str = "Europe/London",
        email: str | None = None,
        locale: str = "en-GB",
        team_id: str | None = None,
    ) -> JsonDict:
        """Add (or replace) a user; `name` is the full name, the handle is derived from it."""
        handle = ".".join(name.lower().split()) or user_id.lower()
        offset = ZoneInfo(tz).utcoffset(datetime.now(UTC))
        user: JsonDict = {
            "id": user_id,
            "team_id": team_id or self.team_id,
            "name": handle,
            "deleted": False,
            "real_name": name,
            "tz": tz,
            "tz_label": tz,
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "is_admin": is_admin or is_owner or is_primary_owner,
            "is_owner": is_owner or is_primary_owner,
            "is_primary_owner": is_primary_owner,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "locale": locale,
            "profile": {
                "real_name": name,
                "real_name_normalized": name,
                "display_name": name,
                "display_name_normalized": name,
                "email": email or f"{handle}@example.com",
                "team": team_id or self.team_id,
            },
        }
        with self._cond:
            self._users[user_id] = user
        return copy.deepcopy(user)

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        bot_is_member: bool = True,
        team_id: str | None = None,
    ) -> JsonDict:
        """Add (or replace) a public or private channel of workspace `team_id` (the default's)."""
        channel: JsonDict = {
            "context_team_id": team_id or self.team_id,
            "id": channel_id,
            "name": name,
            "name_normalized": name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": is_private,
            "is_archived": False,
            "is_general": name == "general",
            "is_member": bot_is_member,
            "created": 1700000000,
            "creator": "",
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }
        with self._cond:
            self._channels[channel_id] = channel
        return copy.deepcopy(channel)

    def set_bot_membership(self, channel_id: str, is_member: bool) -> None:
        """Invite the bot to (or remove it from) a channel, as a person would in Slack."""
        with self._cond:
            self._channels[channel_id]["is_member"] = is_member

    def add_oauth_code(
        self,
        code: str,
        team_id: str,
        team_name: str,
        bot_token: str,
        *,
        bot_user_id: str | None = None,
        authed_user_id: str = "U0INSTALLER",
        scope: str | None = None,
        app_id: str | None = None,
        expires_in: int | None = None,
    ) -> None:
        """Make `oauth.v2.access` exchange `code` (once) for `bot_token` of workspace `team_id`.

        With `expires_in` (seconds) the token rotates, as with Slack's token rotation turned
        on: the answer carries a refresh token, and `grant_type=refresh_token` exchanges it for
        a new token (and a new refresh token) that lives `expires_in` seconds again.
        """
        with self._cond:
            self._oauth_codes[code] = {
                "expires_in": expires_in,
                "team_id": team_id,
                "team_name": team_name,
                "bot_token": bot_token,
                "bot_user_id": bot_user_id or f"UBOT{team_id}",
                "authed_user_id": authed_user_id,
                "scope": scope or self.scopes,
                "app_id": app_id or self.app_id,
            }

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 429 and `Retry-After`."""
        with self._cond:
            self._rate_limits[method] = [times, retry_after]

    # ----------------------------------------------------------------------------------------
    # Ids, triggers and response URLs
    # ----------------------------------------------------------------------------------------

    def _next(self) -> int:
        with self._cond:
            self._seq += 1
            return self._seq

    def _next_ts(self) -> str:
        n = self._next()
        return f"{1700000000 + n // 10000}.{(n % 10000) * 100:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{self._next():04d}{secrets.token_hex(3).upper()}"

    def new_trigger_id(self, user_id: str = "") -> str:
        """A trigger id as Slack puts in interaction payloads, remembered as `user_id`'s."""
        trigger_id = f"{self._next()}.{int(time.time())}.{secrets.token_hex(16)}"
        with self._cond:
            self._triggers[trigger_id] = user_id
        return trigger_id

    def new_response_url(
        self,
        *,
        channel_id: str | None = None,
        user_id: str | None = None,
        message_ts: str | None = None,
    ) -> str:
        """`base_url + "/response/<id>"`; posts to it become messages in `channel_id`.

        `user_id` is who sees ephemeral responses; `message_ts` is the "original" message that
        `replace_original` / `delete_original` act on.
        """
        hook_id = secrets.token_hex(12)
        with self._cond:
            self._response_urls[hook_id] = {
                "channel": channel_id,
                "user": user_id,
                "message_ts": message_ts,
            }
        return f"{self.base_url}/response/{hook_id}"

    # ----------------------------------------------------------------------------------------
    # Reading state
    # ----------------------------------------------------------------------------------------

    def messages(self, channel: str | None = None) -> list[JsonDict]:
        """Stored messages, oldest first (copies); only `channel`'s when given."""
        with self._cond:
            return [
                copy.deepcopy(message)
                for message in self._messages
                if channel is None or message["channel"] == channel
            ]

    def modal_stack(self, user_id: str) -> list[JsonDict]:
        """The user's open modals, root first (copies)."""
        with self._cond:
            return [
                copy.deepcopy(self._views[view_id]) for view_id in self._stacks.get(user_id, [])
            ]

    def home_view(self, user_id: str) -> JsonDict | None:
        """The user's published App Home view (a copy), or None."""
        with self._cond:
            view_id = self._homes.get(user_id)
            return copy.deepcopy(self._views[view_id]) if view_id is not None else None

    def view(self, view_id: str) -> JsonDict:
        """An open modal or published Home view by id (a copy); KeyError when not open."""
        with self._cond:
            return copy.deepcopy(self._views[view_id])

    def user(self, user_id: str) -> JsonDict | None:
        """A user as `users.info` returns it (a copy), or None."""
        with self._cond:
            user = self._users.get(user_id)
            return copy.deepcopy(user) if user is not None else None

    def channel(self, channel_id: str) -> JsonDict | None:
        """A channel as `conversations.info` returns it (a copy), or None."""
        with self._cond:
            channel = self._channels.get(channel_id)
            return copy.deepcopy(channel) if channel is not None else None

    def files(self) -> list[JsonDict]:
        """Uploaded files (completed or not), oldest first (copies)."""
        with self._cond:
            return [copy.deepcopy(file) for file in self._files.values()]

    def file_bytes(self, file_id: str) -> bytes:
        """The bytes uploaded for `file_id`; KeyError when none arrived."""
        with self._cond:
            return self._file_bytes[file_id]

    # ----------------------------------------------------------------------------------------
    # What Slack does with interaction responses
    # ----------------------------------------------------------------------------------------

    def set_view_state(self, view_id: str, values: JsonDict) -> None:
        """Set what the user has entered in a view (`state.values`), as typing in Slack does."""
        with self._cond:
            self._views[view_id]["state"] = {"values": copy.deepcopy(values)}

    def apply_view_response(self, user_id: str, view_id: str, response: JsonDict | None) -> None:
        """Do what Slack does with the HTTP response body to a `view_submission`.

        None or `{}` closes the view (and any pushed above it); `response_action` `update`
        replaces it, `push` pushes a new view, `clear` closes the whole stack, and `errors`
        leaves the stack alone and stores the errors on the view under `"errors"`.
        Raises ValueError for a response Slack would reject (an invalid view, a fourth view,
        errors naming a block_id that is not an input block of the view).
        """
        with self._cond:
            stack = self._stacks.get(user_id, [])
            if view_id not in stack:
                raise ValueError(f"view {view_id} is not open for {user_id}")
            action = (response or {}).get("response_action")
            if not response or action is None:
                self._close_from(user_id, stack.index(view_id))
            elif action == "errors":
                self._views[view_id]["errors"] = self._checked_errors(
                    view_id, response.get("errors")
                )
            elif action == "clear":
                self._close_from(user_id, 0)
            elif action in {"update", "push"}:
                self._apply_view_change(user_id, view_id, action, response.get("view"))
            else:
                raise ValueError(f"unknown response_action {action!r}")

    def _checked_errors(self, view_id: str, errors: Any) -> dict[str, str]:
        """Slack rejects `errors` that are empty or name a block that is not an input block."""
        if not isinstance(errors, dict) or not errors:
            raise ValueError("response_action errors needs a non-empty errors object")
        inputs = {
            block.get("block_id")
            for block in self._views[view_id]["blocks"]
            if isinstance(block, dict) and block.get("type") == "input"
        }
        unknown = sorted(str(key) for key in errors if key not in inputs)
        if unknown:
            raise ValueError(f"errors name blocks that are not input blocks of the view: {unknown}")
        return {str(key): str(message) for key, message in errors.items()}

    def _apply_view_change(self, user_id: str, view_id: str, action: str, new_view: Any) -> None:
        problems = validate_view(new_view) if self.validate else []
        if problems or not isinstance(new_view, dict):
            raise ValueError(f"invalid view in response_action {action}: {problems}")
        if action == "update":
            self._replace_view(view_id, new_view)
            return
        if len(self._stacks[user_id]) >= _VIEW_STACK_LIMIT:
            raise ValueError("push_limit_reached")
        self._push_view(user_id, new_view, self._teams[self._views[view_id]["team_id"]])

    # ----------------------------------------------------------------------------------------
    # HTTP
    # ----------------------------------------------------------------------------------------

    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """The WSGI application the server runs (mountable elsewhere, e.g. in a sandbox)."""
        request = Request(environ)
        response = self._route(request)
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "api":
            return self._handle_api(parts[1], request)
        if len(parts) == 2 and parts[0] == "response" and request.method == "POST":
            return self._handle_response_url(parts[1], request)
        if len(parts) == 2 and parts[0] == "upload" and request.method == "POST":
            return self._handle_upload(parts[1], request)
        if len(parts) >= 2 and parts[0] == "files" and request.method == "GET":
            return self._handle_download(parts[1])
        return Response("not found", status=404, mimetype="text/plain")

    def _json(self, body: JsonDict, status: int = 200) -> Response:
        response = Response(json.dumps(body), status=status, mimetype="application/json")
        response.headers["X-OAuth-Scopes"] = self.scopes
        return response

    @staticmethod
    def _read_params(request: Request) -> JsonDict:
        params: JsonDict = dict(request.args.items())
        if request.is_json:
            body = request.get_json(silent=True)
            if isinstance(body, dict):
                params.update(body)
        else:
            params.update(request.form.items())
        for key in _JSON_FIELDS & params.keys():
            value = params[key]
            if isinstance(value, str) and value.strip()[:1] in {"[", "{"}:
                # Left as a string when it is not JSON; the method answers invalid_* for it.
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(value)
        return params

    def _take_rate_limit(self, method: str) -> int | None:
        with self._cond:
            limit = self._rate_limits.get(method)
            if not limit or limit[0] <= 0:
                return None
            limit[0] -= 1
            return limit[1]

    def _handle_api(self, method: str, request: Request) -> Response:
        params = self._read_params(request)
        token = params.pop("token", None)
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            token = authorization.removeprefix("Bearer ").strip()
        elif authorization.startswith("Basic "):  # an app's client id and secret (oauth.*)
            token = authorization.strip()
        token = str(token) if token else None
        retry_after = self._take_rate_limit(method)
        if retry_after is not None:
            body: JsonDict = {"ok": False, "error": "ratelimited"}
            self._record(method, params, token, 429, body)
            response = self._json(body, status=429)
            response.headers["Retry-After"] = str(retry_after)
            return response
        body = self._call(method, params, token)
        self._record(method, params, token, 200, body)
        return self._json(body)

    def _call(self, method: str, params: JsonDict, token: str | None) -> JsonDict:
        handler = self._methods.get(method)
        with self._cond:
            team_id = self._tokens.get(token) if token else None
            workspace = self._teams.get(team_id) if team_id else None
        try:
            if handler is None:
                raise _Failure("unknown_method")
            if method not in _TOKENLESS_METHODS:
                if token is None:
                    raise _Failure("not_authed")
                if workspace is None:
                    raise _Failure("invalid_auth")
                if token is not None and time.time() >= self._token_expiry.get(token, math.inf):
                    raise _Failure("token_expired")
            context = _Context(method, params, token, workspace or self._teams[self.team_id])
            with self._cond:
                self._current_team = context.workspace.team_id
                return handler(context)
        except _Failure as failure:
            return failure.body()

    # ----------------------------------------------------------------------------------------
    # Web API methods (each runs holding the lock)
    # ----------------------------------------------------------------------------------------

    @staticmethod
    def _require(params: JsonDict, *names: str) -> None:
        for name in names:
            if params.get(name) in (None, ""):
                raise _Failure("invalid_arguments", [f"[ERROR] missing required field: {name}"])

    def _api_test(self, ctx: _Context) -> JsonDict:
        return {"ok": True, "args": ctx.params}

    def _auth_test(self, ctx: _Context) -> JsonDict:
        ws = ctx.workspace
        return {
            "ok": True,
            "url": f"https://{ws.domain}.slack.com/",
            "team": ws.name,
            "user": _BOT_NAME,
            "team_id": ws.team_id,
            "user_id": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "is_enterprise_install": False,
        }

    def _team_info(self, ctx: _Context) -> JsonDict:
        ws = self._teams.get(str(ctx.params.get("team") or ctx.workspace.team_id))
        if ws is None:
            raise _Failure("team_not_found")
        return {
            "ok": True,
            "team": {"id": ws.team_id, "name": ws.name, "domain": ws.domain, "email_domain": ""},
        }

    def uninstall(self, team_id: str) -> None:
        """The workspace removes the app: every token of it stops working."""
        with self._cond:
            for token, team in list(self._tokens.items()):
                if team == team_id:
                    del self._tokens[token]
            for refresh, grant in list(self._refresh_tokens.items()):
                if grant["team_id"] == team_id:
                    del self._refresh_tokens[refresh]

    def _check_client(self, ctx: _Context) -> None:
        """The app's client id and secret, sent as HTTP Basic auth or as parameters."""
        if self.client_credentials is None:
            return
        client_id, client_secret = ctx.params.get("client_id"), ctx.params.get("client_secret")
        if ctx.token and ctx.token.startswith("Basic "):
            decoded = base64.b64decode(ctx.token.removeprefix("Basic ")).decode("utf-8")
            client_id, _, client_secret = decoded.partition(":")
        if (client_id, client_secret) != self.client_credentials:
            raise _Failure("invalid_client_id" if client_id else "bad_client_secret")

    def _oauth_v2_access(self, ctx: _Context) -> JsonDict:
        self._check_client(ctx)
        if ctx.params.get("grant_type") == "refresh_token":
            return self._refresh(str(ctx.params.get("refresh_token") or ""))
        grant = self._oauth_codes.pop(str(ctx.params.get("code") or ""), None)
        if grant is None:
            raise _Failure("invalid_code")
        self.add_token(
            grant["bot_token"],
            grant["team_id"],
            team_name=grant["team_name"],
            bot_user_id=grant["bot_user_id"],
        )
        rotation = self._rotation(grant["bot_token"], grant)
        return {
            **rotation,
            "ok": True,
            "app_id": grant["app_id"],
            "authed_user": {"id": grant["authed_user_id"]},
            "scope": grant["scope"],
            "token_type": "bot",
            "access_token": grant["bot_token"],
            "bot_user_id": self._teams[grant["team_id"]].bot_user_id,
            "team": {"id": grant["team_id"], "name": grant["team_name"]},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _rotation(self, token: str, grant: JsonDict) -> JsonDict:
        """A rotating token's expiry and refresh token (nothing for a token that never expires)."""
        if grant["expires_in"] is None:
            return {}
        refresh = f"xoxe-1-{secrets.token_hex(12)}"
        self._refresh_tokens[refresh] = grant
        self._token_expiry[token] = time.time() + grant["expires_in"]
        return {"refresh_token": refresh, "expires_in": grant["expires_in"]}

    def _refresh(self, refresh_token: str) -> JsonDict:
        grant = self._refresh_tokens.pop(refresh_token, None)
        if grant is None:
            raise _Failure("invalid_refresh_token")
        token = f"xoxe.xoxb-1-{secrets.token_hex(16)}"
        self._tokens[token] = grant["team_id"]
        return {
            "ok": True,
            "app_id": grant["app_id"],
            "token_type": "bot",
            "access_token": token,
            "scope": grant["scope"],
            "bot_user_id": self._teams[grant["team_id"]].bot_user_id,
            "team": {"id": grant["team_id"], "name": grant["team_name"]},
            "enterprise": None,
            "is_enterprise_install": False,
            **self._rotation(token, grant),
        }

    def _user_json(self, user_id: str, *, include_locale: bool) -> JsonDict:
        user = copy.deepcopy(self._users[user_id])
        if not include_locale:
            user.pop("locale", None)
        return user

    def _visible_user(self, user_id: str) -> bool:
        """A user of the calling token's workspace: other workspaces' people are not found."""
        user = self._users.get(user_id)
        return user is not None and user["team_id"] == self._current_team

    def _visible_channel(self, channel_id: str) -> bool:
        info = self._channels.get(channel_id)
        return info is not None and info["context_team_id"] == self._current_team

    def _users_info(self, ctx: _Context) -> JsonDict:
        user_id = str(ctx.params.get("user") or "")
        if not self._visible_user(user_id):
            raise _Failure("user_not_found")
        include_locale = _flag(ctx.params.get("include_locale", False))
        return {"ok": True, "user": self._user_json(user_id, include_locale=include_locale)}

    def _users_list(self, ctx: _Context) -> JsonDict:
        include_locale = _flag(ctx.params.get("include_locale", False))
        members = [
            self._user_json(user_id, include_locale=include_locale)
            for user_id in self._users
            if self._visible_user(user_id)
        ]
        return {"ok": True, "members": members, "response_metadata": {"next_cursor": ""}}

    def _users_lookup_by_email(self, ctx: _Context) -> JsonDict:
        email = str(ctx.params.get("email") or "").lower()
        for user_id, user in self._users.items():
            if user["profile"]["email"].lower() == email and self._visible_user(user_id):
                return {"ok": True, "user": self._user_json(user_id, include_locale=False)}
        raise _Failure("users_not_found")

    def _dm_channel(self, channel_id: str) -> JsonDict:
        user_id = channel_id.removeprefix("D")
        return {
            "id": channel_id,
            "created": 1700000000,
            "is_im": True,
            "is_channel": False,
            "is_group": False,
            "is_mpim": False,
            "is_private": True,
            "is_archived": False,
            "is_member": True,
            "user": user_id,
        }

    def _find_channel(self, channel: str) -> str:
        """Resolve an id, `#name`, name, DM id or user id to a channel id Slack would post in."""
        if self._visible_channel(channel) or channel.startswith("D"):
            return channel
        if self._visible_user(channel):
            return "D" + channel
        name = channel.removeprefix("#")
        for channel_id, info in self._channels.items():
            if info["name"] == name and self._visible_channel(channel_id):
                return channel_id
        raise _Failure("channel_not_found")

    def _postable_channel(self, channel: Any) -> str:
        """The channel id to post in, or the error Slack gives a bot that cannot post there."""
        if not channel:
            raise _Failure("channel_not_found")
        channel_id = self._find_channel(str(channel))
        info = self._channels.get(channel_id)
        if info is not None and not info["is_member"]:
            raise _Failure("channel_not_found" if info["is_private"] else "not_in_channel")
        return channel_id

    def _conversations_info(self, ctx: _Context) -> JsonDict:
        channel_id = self._find_channel(str(ctx.params.get("channel") or ""))
        if channel_id.startswith("D"):
            return {"ok": True, "channel": self._dm_channel(channel_id)}
        info = self._channels[channel_id]
        if info["is_private"] and not info["is_member"]:
            raise _Failure("channel_not_found")
        return {"ok": True, "channel": copy.deepcopy(info)}

    def _conversations_join(self, ctx: _Context) -> JsonDict:
        channel_id = str(ctx.params.get("channel") or "")
        info = self._channels.get(channel_id) if self._visible_channel(channel_id) else None
        if info is None:
            raise _Failure("channel_not_found")
        if info["is_private"]:
            raise _Failure("method_not_supported_for_channel_type")
        already = info["is_member"]
        info["is_member"] = True
        body: JsonDict = {"ok": True, "channel": copy.deepcopy(info)}
        if already:
            body["warning"] = "already_in_channel"
            body["response_metadata"] = {"warnings": ["already_in_channel"]}
        return body

    def _conversations_list(self, ctx: _Context) -> JsonDict:
        types = set(_split(ctx.params.get("types") or "public_channel"))
        found = [
            copy.deepcopy(info)
            for channel_id, info in self._channels.items()
            if self._visible_channel(channel_id)
            and (
                ("private_channel" in types and info["is_private"] and info["is_member"])
                or ("public_channel" in types and not info["is_private"])
            )
        ]
        start = int(ctx.params.get("cursor") or 0)
        limit = int(ctx.params.get("limit") or 100) or 100
        page = found[start : start + limit]
        next_cursor = str(start + limit) if start + limit < len(found) else ""
        return {"ok": True, "channels": page, "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_open(self, ctx: _Context) -> JsonDict:
        if ctx.params.get("channel"):
            channel_id = self._find_channel(str(ctx.params["channel"]))
            return {"ok": True, "channel": {"id": channel_id}}
        users = _split(ctx.params.get("users"))
        if not users:
            raise _Failure("users_list_not_supplied")
        for user_id in users:
            if not self._visible_user(user_id):
                raise _Failure("user_not_found")
        channel_id = "D" + users[0] if len(users) == 1 else "G" + "".join(sorted(users))
        return {"ok": True, "channel": {"id": channel_id}}

    def _check_message_content(self, params: JsonDict, *, required: bool = True) -> None:
        blocks = params.get("blocks")
        if isinstance(blocks, str):
            raise _Failure("invalid_blocks_format")
        if blocks is not None and self.validate:
            problems = validate_blocks(blocks)
            if problems:
                raise _Failure("invalid_blocks", problems)
        if required and not (params.get("text") or blocks or params.get("attachments")):
            raise _Failure("no_text")

    def _store_message(
        self,
        ws: _Workspace,
        channel_id: str,
        params: JsonDict,
        *,
        ephemeral_for: str | None = None,
        source: str = "api",
        files: list[JsonDict] | None = None,
    ) -> JsonDict:
        message: JsonDict = {
            "type": "message",
            "channel": channel_id,
            "ts": self._next_ts(),
            "text": params.get("text") or "",
            "blocks": params.get("blocks") or [],
            "attachments": params.get("attachments") or [],
            "thread_ts": params.get("thread_ts") or None,
            "user": ephemeral_for,
            "ephemeral": ephemeral_for is not None,
            "bot_user_id": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "app_id": self.app_id,
            "team": ws.team_id,
            "metadata": params.get("metadata"),
            "files": files or [],
            "source": source,
        }
        self._messages.append(message)
        return message

    def add_message(
        self, channel: str, text: str, *, author: str, ephemeral_for: str | None = None
    ) -> JsonDict:
        """Store a message written by a person (or by Slackbot, `USLACKBOT`), not by the app.

        What a person types into a channel, or Slackbot's "/x failed" notes; it is kept with the
        app's messages (so they read in order) under `"author"`, and calls nothing.
        """
        with self._cond:
            try:
                channel_id = self._find_channel(channel)
            except _Failure as failure:
                raise ValueError(f"{failure.error}: {channel}") from None
            message = self._store_message(
                self._teams[self.team_id],
                channel_id,
                {"text": text},
                ephemeral_for=ephemeral_for,
                source="person",
            )
            message.update(author=author, bot_user_id=None, bot_id=None, app_id=None)
            return copy.deepcopy(message)

    @staticmethod
    def as_slack_message(message: JsonDict) -> JsonDict:
        """A stored message in the shape Slack returns it (authored by the bot)."""
        shaped: JsonDict = {
            "type": "message",
            "subtype": "bot_message",
            "text": message.get("text", ""),
            "ts": message.get("ts"),
            "user": message.get("bot_user_id"),
            "bot_id": message.get("bot_id"),
            "app_id": message.get("app_id"),
            "team": message.get("team"),
            "blocks": copy.deepcopy(message.get("blocks") or []),
        }
        for key in ("attachments", "files", "thread_ts", "metadata"):
            if message.get(key):
                shaped[key] = copy.deepcopy(message[key])
        return shaped

    def _find_message(self, channel_id: str, ts: str) -> JsonDict:
        for message in self._messages:
            if (
                message["channel"] == channel_id
                and message["ts"] == ts
                and not message["ephemeral"]
            ):
                return message
        raise _Failure("message_not_found")

    def _chat_post_message(self, ctx: _Context) -> JsonDict:
        channel_id = self._postable_channel(ctx.params.get("channel"))
        self._check_message_content(ctx.params)
        message = self._store_message(ctx.workspace, channel_id, ctx.params)
        return {
            "ok": True,
            "channel": channel_id,
            "ts": message["ts"],
            "message": self.as_slack_message(message),
        }

    def _chat_post_ephemeral(self, ctx: _Context) -> JsonDict:
        self._require(ctx.params, "user")
        channel_id = self._postable_channel(ctx.params.get("channel"))
        user_id = str(ctx.params["user"])
        if not self._visible_user(user_id):
            raise _Failure("user_not_in_channel")
        self._check_message_content(ctx.params)
        message = self._store_message(ctx.workspace, channel_id, ctx.params, ephemeral_for=user_id)
        return {"ok": True, "message_ts": message["ts"]}

    def _chat_update(self, ctx: _Context) -> JsonDict:
        self._require(ctx.params, "channel", "ts")
        channel_id = self._find_channel(str(ctx.params["channel"]))
        message = self._find_message(channel_id, str(ctx.params["ts"]))
        self._check_message_content(ctx.params, required=False)
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in ctx.params:
                message[key] = ctx.params[key]
        return {
            "ok": True,
            "channel": channel_id,
            "ts": message["ts"],
            "text": message["text"],
            "message": self.as_slack_message(message),
        }

    def _chat_delete(self, ctx: _Context) -> JsonDict:
        self._require(ctx.params, "channel", "ts")
        channel_id = self._find_channel(str(ctx.params["channel"]))
        message = self._find_message(channel_id, str(ctx.params["ts"]))
        self._messages.remove(message)
        return {"ok": True, "channel": channel_id, "ts": message["ts"]}

    def _chat_get_permalink(self, ctx: _Context) -> JsonDict:
        self._require(ctx.params, "channel", "message_ts")
        channel_id = self._find_channel(str(ctx.params["channel"]))
        message = self._find_message(channel_id, str(ctx.params["message_ts"]))
        link = f"https://{ctx.workspace.domain}.slack.com/archives/{channel_id}/p"
        return {
            "ok": True,
            "channel": channel_id,
            "permalink": link + message["ts"].replace(".", ""),
        }

    # Views -------------------------------------------------------------------------------------

    def _take_trigger(self, trigger_id: Any) -> str:
        trigger = str(trigger_id or "")
        if not trigger:
            raise _Failure("invalid_arguments", ["[ERROR] missing required field: trigger_id"])
        if trigger in self._used_triggers:
            raise _Failure("exchanged_trigger_id")
        if trigger not in self._triggers:
            raise _Failure("invalid_trigger_id")
        self._used_triggers.add(trigger)
        return self._triggers.pop(trigger)

    def _checked_view(self, view: Any, view_type: str) -> JsonDict:
        if view in (None, ""):
            raise _Failure("invalid_arguments", ["[ERROR] missing required field: view"])
        if not isinstance(view, dict):
            raise _Failure(
                "invalid_arguments", ["[ERROR] failed to parse view [json-pointer:/view]"]
            )
        problems = validate_view(view, types=(view_type,)) if self.validate else []
        if problems:
            raise _Failure("invalid_arguments", problems)
        external_id = view.get("external_id")
        if external_id and any(v.get("external_id") == external_id for v in self._views.values()):
            raise _Failure("duplicate_external_id")
        return view

    def _build_view(
        self,
        view: JsonDict,
        ws: _Workspace,
        *,
        root_view_id: str | None,
        previous_view_id: str | None,
    ) -> JsonDict:
        view_id = self._new_id("V")
        built: JsonDict = {
            "id": view_id,
            "team_id": ws.team_id,
            "type": view.get("type"),
            "blocks": copy.deepcopy(view.get("blocks") or []),
            "private_metadata": view.get("private_metadata") or "",
            "callback_id": view.get("callback_id") or "",
            "state": {"values": {}},
            "hash": _new_hash(),
            "title": copy.deepcopy(view.get("title")),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": copy.deepcopy(view.get("close")),
            "submit": copy.deepcopy(view.get("submit")),
            "previous_view_id": previous_view_id,
            "root_view_id": root_view_id or view_id,
            "app_id": self.app_id,
            "external_id": view.get("external_id") or "",
            "app_installed_team_id": ws.team_id,
            "bot_id": ws.bot_id,
        }
        self._views[view_id] = built
        return built

    def _replace_view(self, view_id: str, view: JsonDict) -> JsonDict:
        current = self._views[view_id]
        old_values = current["state"]["values"]
        for key in ("type", "blocks", "title", "close", "submit"):
            current[key] = copy.deepcopy(view.get(key))
        current["blocks"] = current["blocks"] or []
        current["private_metadata"] = view.get("private_metadata") or ""
        current["callback_id"] = view.get("callback_id") or ""
        current["external_id"] = view.get("external_id") or current["external_id"]
        current["clear_on_close"] = bool(view.get("clear_on_close", False))
        current["notify_on_close"] = bool(view.get("notify_on_close", False))
        current["state"] = {"values": _carried_state(old_values, current["blocks"])}
        current["hash"] = _new_hash()
        current.pop("errors", None)
        return current

    def _push_view(self, user_id: str, view: JsonDict, ws: _Workspace) -> JsonDict:
        stack = self._stacks.setdefault(user_id, [])
        root = stack[0] if stack else None
        built = self._build_view(
            view, ws, root_view_id=root, previous_view_id=stack[-1] if stack else None
        )
        stack.append(built["id"])
        return built

    def _close_from(self, user_id: str, index: int) -> None:
        stack = self._stacks.get(user_id, [])
        for view_id in stack[index:]:
            self._views.pop(view_id, None)
        del stack[index:]

    def _views_open(self, ctx: _Context) -> JsonDict:
        view = self._checked_view(ctx.params.get("view"), "modal")
        user_id = self._take_trigger(ctx.params.get("trigger_id"))
        self._close_from(user_id, 0)
        return {"ok": True, "view": copy.deepcopy(self._push_view(user_id, view, ctx.workspace))}

    def _views_push(self, ctx: _Context) -> JsonDict:
        view = self._checked_view(ctx.params.get("view"), "modal")
        user_id = self._take_trigger(ctx.params.get("trigger_id"))
        if len(self._stacks.get(user_id, [])) >= _VIEW_STACK_LIMIT:
            raise _Failure("push_limit_reached")
        return {"ok": True, "view": copy.deepcopy(self._push_view(user_id, view, ctx.workspace))}

    def _views_update(self, ctx: _Context) -> JsonDict:
        view_id = str(ctx.params.get("view_id") or "")
        external_id = str(ctx.params.get("external_id") or "")
        if not view_id and not external_id:
            raise _Failure(
                "invalid_arguments", ["[ERROR] either view_id or external_id is required"]
            )
        if not view_id:
            view_id = next(
                (vid for vid, v in self._views.items() if v["external_id"] == external_id), ""
            )
        current = self._views.get(view_id)
        if current is None:
            raise _Failure("not_found")
        view = ctx.params.get("view")
        if isinstance(view, dict) and view.get("external_id") == current["external_id"]:
            view = {key: value for key, value in view.items() if key != "external_id"}
        view = self._checked_view(view, str(current["type"]))
        given_hash = ctx.params.get("hash")
        if given_hash and given_hash != current["hash"]:
            raise _Failure("hash_conflict")
        return {"ok": True, "view": copy.deepcopy(self._replace_view(view_id, view))}

    def _views_publish(self, ctx: _Context) -> JsonDict:
        self._require(ctx.params, "user_id")
        user_id = str(ctx.params["user_id"])
        if not self._visible_user(user_id):
            raise _Failure("user_not_found")
        view = self._checked_view(ctx.params.get("view"), "home")
        view_id = self._homes.get(user_id)
        if view_id is None:
            built = self._build_view(view, ctx.workspace, root_view_id=None, previous_view_id=None)
            self._homes[user_id] = built["id"]
            return {"ok": True, "view": copy.deepcopy(built)}
        given_hash = ctx.params.get("hash")
        if given_hash and given_hash != self._views[view_id]["hash"]:
            raise _Failure("hash_conflict")
        return {"ok": True, "view": copy.deepcopy(self._replace_view(view_id, view))}

    # Files -------------------------------------------------------------------------------------

    def _files_get_upload_url(self, ctx: _Context) -> JsonDict:
        self._require(ctx.params, "filename", "length")
        try:
            length = int(ctx.params["length"])
        except ValueError:
            raise _Failure("invalid_arguments", ["[ERROR] length must be an integer"]) from None
        file_id = self._new_id("F")
        filename = str(ctx.params["filename"])
        extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "binary"
        ws = ctx.workspace
        self._files[file_id] = {
            "id": file_id,
            "created": int(time.time()),
            "timestamp": int(time.time()),
            "name": filename,
            "title": filename,
            "mimetype": mimetypes.guess_type(filename)[0] or "application/octet-stream",
            "filetype": extension,
            "pretty_type": extension.upper(),
            "user": ws.bot_user_id,
            "user_team": ws.team_id,
            "size": length,
            "mode": "hosted",
            "is_external": False,
            "is_public": False,
            "url_private": f"{self.base_url}/files/{file_id}/{filename}",
            "url_private_download": f"{self.base_url}/files/{file_id}/{filename}?download=1",
            "permalink": f"https://{ws.domain}.slack.com/files/{ws.bot_user_id}/{file_id}/{filename}",
            "channels": [],
            "groups": [],
            "ims": [],
            "alt_txt": ctx.params.get("alt_txt"),
            "completed": False,
        }
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _completed_file(self, item: Any) -> JsonDict:
        if not isinstance(item, dict) or item.get("id") not in self._files:
            raise _Failure("file_not_found")
        file = self._files[item["id"]]
        if item["id"] not in self._file_bytes:
            raise _Failure("file_upload_not_found")
        if item.get("title"):
            file["title"] = item["title"]
        file["completed"] = True
        return file

    def _files_complete_upload(self, ctx: _Context) -> JsonDict:
        items = ctx.params.get("files")
        if not isinstance(items, list) or not items:
            raise _Failure("invalid_arguments", ["[ERROR] files must be a non-empty array"])
        channels = _split(ctx.params.get("channels")) or _split(ctx.params.get("channel_id"))
        channel_ids = [self._postable_channel(channel) for channel in channels]
        files = [self._completed_file(item) for item in items]
        for channel_id in channel_ids:
            info = self._channels.get(channel_id)
            kind = "ims" if info is None else ("groups" if info["is_private"] else "channels")
            for file in files:
                if channel_id not in file[kind]:
                    file[kind].append(channel_id)
                file["is_public"] = file["is_public"] or kind == "channels"
            params = {
                "text": ctx.params.get("initial_comment"),
                "thread_ts": ctx.params.get("thread_ts"),
            }
            shared = [self._file_json(file) for file in files]
            self._store_message(ctx.workspace, channel_id, params, source="files", files=shared)
        return {"ok": True, "files": [self._file_json(file) for file in files]}

    @staticmethod
    def _file_json(file: JsonDict) -> JsonDict:
        return {key: copy.deepcopy(value) for key, value in file.items() if key != "completed"}

    def _files_info(self, ctx: _Context) -> JsonDict:
        file = self._files.get(str(ctx.params.get("file") or ""))
        if file is None or not file["completed"]:
            raise _Failure("file_not_found")
        return {
            "ok": True,
            "file": self._file_json(file),
            "comments": [],
            "response_metadata": {"next_cursor": ""},
        }

    def _handle_upload(self, file_id: str, request: Request) -> Response:
        data = request.get_data()  # the raw body, whatever Content-Type urllib put on it
        with self._cond:
            known = file_id in self._files
            if known:
                self._file_bytes[file_id] = data
        status = 200 if known else 404
        self._record("file_upload", {"file_id": file_id, "length": len(data)}, None, status, {})
        if not known:
            return Response("file not found", status=404, mimetype="text/plain")
        return Response(f"OK - {len(data)}", status=200, mimetype="text/plain")

    def _handle_download(self, file_id: str) -> Response:
        with self._cond:
            data = self._file_bytes.get(file_id)
            file = self._files.get(file_id)
        if data is None or file is None:
            return Response("file not found", status=404, mimetype="text/plain")
        return Response(data, status=200, mimetype=file["mimetype"])

    # response_url ------------------------------------------------------------------------------

    def _handle_response_url(self, hook_id: str, request: Request) -> Response:
        body = request.get_json(silent=True, force=True)
        params: JsonDict = body if isinstance(body, dict) else {}
        with self._cond:
            hook = self._response_urls.get(hook_id)
            if hook is None:
                answer: JsonDict = {"ok": False, "error": "no_active_hooks"}
                status = 404
            elif not isinstance(body, dict):
                answer, status = {"ok": False, "error": "invalid_payload"}, 400
            else:
                answer, status = self._respond(hook, params), 200
        self._record("response_url", params, None, status, answer)
        return Response(json.dumps(answer), status=status, mimetype="application/json")

    def _respond(self, hook: JsonDict, params: JsonDict) -> JsonDict:
        channel_id = hook["channel"] or ""
        original = next(
            (
                message
                for message in self._messages
                if message["ts"] == hook["message_ts"] and message["channel"] == channel_id
            ),
            None,
        )
        if _flag(params.get("delete_original", False)):
            if original is not None:
                self._messages.remove(original)
            return {"ok": True}
        if _flag(params.get("replace_original", False)) and original is not None:
            for key in ("text", "blocks", "attachments"):
                if key in params:
                    original[key] = params[key]
            return {"ok": True}
        in_channel = params.get("response_type") == "in_channel"
        self._store_message(
            self._teams[self.team_id],
            channel_id,
            params,
            ephemeral_for=None if in_channel else (hook["user"] or ""),
            source="response_url",
        )
        return {"ok": True}
