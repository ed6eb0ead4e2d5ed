"""The composition root: builds the Bolt app with every handler and the one error policy."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient

import handlers
from bot.deps import TOKEN_REFRESH_MINUTES, Deps
from bot.installations import make_state_store
from bot.portal import first_time
from bot.settings import Settings
from handlers._support import error_text, tell_user
from store.db import transaction
from store.enums import EventSource

# The bot scopes the app asks for (manifest.yml's `oauth_config.scopes.bot`, checked by a test).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "users:read",
    "channels:read",
    "groups:read",
    "channels:join",
    "files:write",
    "im:write",
)
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


def create_app(settings: Settings, deps: Deps) -> App:
    """The Bolt app: one workspace's bot token, or (distributed) each installation's.

    Distributed (`deps.installations` set): Bolt serves "Add to Slack" on `INSTALL_PATH` and
    finishes installs on `REDIRECT_PATH` with slack_sdk's SQLAlchemy stores on the app's
    database, and answers every request with the token of the workspace it came from,
    refreshing a rotating token before it expires.
    """
    signing_secret = settings.SLACK_SIGNING_SECRET
    app = App(
        signing_secret=signing_secret.get_secret_value() if signing_secret else None,
        # SLACK_API_URL, and the bot token with one workspace (none when distributed).
        client=deps.slack,
        installation_store=deps.installations,
        installation_store_bot_only=True if deps.installations is not None else None,
        oauth_settings=_oauth_settings(settings, deps),
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


def _oauth_settings(settings: Settings, deps: Deps) -> OAuthSettings | None:
    if deps.installations is None:
        return None
    secret = settings.SLACK_CLIENT_SECRET
    base = (settings.PUBLIC_BASE_URL or "").rstrip("/")
    return OAuthSettings(
        client_id=settings.SLACK_CLIENT_ID,
        client_secret=secret.get_secret_value() if secret else None,
        scopes=list(BOT_SCOPES),
        redirect_uri=f"{base}{REDIRECT_PATH}" if base else None,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=settings.SLACK_AUTHORIZE_URL,
        installation_store=deps.installations,
        installation_store_bot_only=True,  # the app acts as its bot, never as a person
        state_store=make_state_store(deps.engine),
        token_rotation_expiration_minutes=TOKEN_REFRESH_MINUTES,
        logger=logging.getLogger("bot.slack.oauth"),
    )


# The Events API event types the app acts on (manifest.yml subscribes to exactly these).
HANDLED_EVENTS = frozenset({"app_home_opened", "app_uninstalled", "tokens_revoked"})


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
