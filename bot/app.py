"""The composition root: builds the Bolt app with every handler and the one error policy."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

import handlers
from bot.deps import Deps
from bot.portal import first_time
from bot.settings import Settings
from handlers._support import error_text, tell_user
from store.db import transaction
from store.enums import EventSource


def create_app(settings: Settings, deps: Deps) -> App:
    signing_secret = settings.SLACK_SIGNING_SECRET
    app = App(
        signing_secret=signing_secret.get_secret_value() if signing_secret else None,
        client=deps.slack,  # carries the bot token and SLACK_API_URL
        token_verification_enabled=False,
        process_before_response=False,
        # Listeners run here after their ack; a Pay Now holds one while Stripe answers.
        listener_executor=ThreadPoolExecutor(max_workers=32, thread_name_prefix="listener"),
        logger=logging.getLogger("bot.slack"),
    )
    app.middleware(_skip_repeated_events(deps))
    handlers.register_all(app, deps)
    app.error(_on_error)
    return app


# The Events API event types the app acts on (manifest.yml subscribes to exactly these).
HANDLED_EVENTS = frozenset({"app_home_opened"})


def _skip_repeated_events(deps: Deps) -> Callable[..., Any]:
    """Events API retries carry the same `event_id`: act on each event once."""

    def middleware(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse | None:
        event_id = body.get("event_id") if isinstance(body, dict) else None
        event = body.get("event") if isinstance(body, dict) else None
        kind = event.get("type") if isinstance(event, dict) else None
        handled = isinstance(kind, str) and kind in HANDLED_EVENTS
        if handled and isinstance(event_id, str) and event_id:
            with transaction(deps.session_factory) as session:
                fresh = first_time(
                    session=session,
                    source=EventSource.SLACK,
                    key=f"event:{event_id}",
                    now=deps.clock(),
                )
            if not fresh:
                return BoltResponse(status=200, body="")
        return next()

    return middleware


def _on_error(error: Exception, body: dict[str, Any], client: WebClient, respond: Any) -> None:
    """Errors outside the guarded listeners (middleware): same policy, same wording."""
    tell_user(error_text(error), body, client, respond)
