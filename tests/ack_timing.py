"""How long the app took to acknowledge each Slack request (the ack is the HTTP response)."""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import parse_qs

import requests

_lock = threading.Lock()
SEEN: list[tuple[float, str]] = []


def _kind(request: requests.PreparedRequest) -> str:
    try:
        return _describe(request)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return "malformed"


def _describe(request: requests.PreparedRequest) -> str:
    body = request.body or b""
    text = body.decode() if isinstance(body, bytes) else str(body)
    if text.startswith("{"):
        event = json.loads(text).get("event", {})
        return f"event {event.get('type', '?')}"
    form = parse_qs(text)
    if "command" in form:
        return f"command {form['command'][0]} {form.get('text', [''])[0]}".strip()
    if "payload" in form:
        payload = json.loads(form["payload"][0])
        kind = payload.get("type", "?")
        if kind == "block_actions":
            return f"action {payload['actions'][0].get('action_id')}"
        if kind in ("view_submission", "view_closed"):
            return f"{kind} {payload['view'].get('callback_id')}"
        return f"{kind} {payload.get('action_id', '')}".strip()
    return "other"


def record(response: requests.Response, *_args: Any, **_kwargs: Any) -> requests.Response:
    if response.request.url and response.request.url.endswith("/slack/events"):
        with _lock:
            SEEN.append((response.elapsed.total_seconds(), _kind(response.request)))
    return response


def summary() -> str | None:
    with _lock:
        seen = sorted(SEEN)
    if not seen:
        return None
    slowest, kind = seen[-1]
    median = seen[len(seen) // 2][0]
    p99 = seen[min(len(seen) - 1, int(len(seen) * 0.99))][0]
    return (
        f"Slack acks: {len(seen)} requests; median {median * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, slowest {slowest * 1000:.0f} ms ({kind})"
    )
