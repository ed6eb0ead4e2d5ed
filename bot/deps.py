"""The one bundle of dependencies handed to handlers, pages and jobs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.gateway import StripeGateway, is_stripe_itself, make_stripe_client
from bot.installations import Installations, TokenSeal
from bot.settings import Settings
from store.db import make_engine, make_session_factory, transaction
from store.models import Account, Workspace

log = logging.getLogger(__name__)

# A rotating bot token is refreshed when it has less than this long to live.
TOKEN_REFRESH_MINUTES = 120


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Deps:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    slack: WebClient
    clock: Callable[[], datetime]
    gateway: StripeGateway | None = None  # None without STRIPE_API_KEY (Slack-only tests)
    # A distributed app's installations (None with one workspace and SLACK_BOT_TOKEN).
    installations: Installations | None = None

    def slack_for(self, team_id: str) -> WebClient:
        """The Web API client of workspace `team_id`, for work outside a Slack request.

        A Slack request brings its own client (Bolt's `client`, with the token of the
        workspace it came from); jobs, pages and webhooks use this. With one workspace it is
        `slack`; a distributed app uses the workspace's installed bot token, refreshed first
        when it rotates and is about to expire. A workspace that uninstalled the app gets a
        client without a token: Slack answers `not_authed` and the caller's usual handling of a
        failed Slack call applies.
        """
        if self.installations is None:
            return self.slack
        bot = self.installations.find_bot_for_team(team_id)
        if bot is None:
            log.warning("Workspace %s has no installation: nothing is sent to it.", team_id)
            return make_slack_client(self.settings, token=None)
        if bot.bot_refresh_token and bot.bot_token_expires_at is not None:
            try:
                refreshed = self._token_rotator().perform_bot_token_rotation(
                    bot=bot, minutes_before_expiration=TOKEN_REFRESH_MINUTES
                )
            except SlackTokenRotationError:
                # Slack revokes a refresh token once used: another process that refreshed
                # the same token a moment ago has saved the new one, so use that.
                refreshed = self.installations.find_bot_for_team(team_id)
                if refreshed is None or refreshed.bot_token == bot.bot_token:
                    raise
                log.info("Workspace %s: its token was refreshed by another process.", team_id)
            else:
                if refreshed is not None:
                    self.installations.save_bot(refreshed)
            bot = refreshed or bot
        return make_slack_client(self.settings, token=bot.bot_token)

    def slack_for_account(self, account_id: int) -> WebClient:
        """The Web API client of the workspace account `account_id` belongs to."""
        if self.installations is None:
            return self.slack
        with transaction(self.session_factory, read_only=True) as session:
            team_id = session.scalar(
                select(Workspace.team_id)
                .join(Account, Account.workspace_id == Workspace.id)
                .where(Account.id == account_id)
            )
        return self.slack_for(team_id or "")

    def _token_rotator(self) -> TokenRotator:
        secret = self.settings.SLACK_CLIENT_SECRET
        return TokenRotator(
            client_id=self.settings.SLACK_CLIENT_ID or "",
            client_secret=secret.get_secret_value() if secret else "",
            client=make_slack_client(self.settings, token=None),
        )


def make_slack_client(settings: Settings, token: str | None = None) -> WebClient:
    """A Web API client on `SLACK_API_URL`, retrying rate limits and dropped connections."""
    if token is None and settings.SLACK_BOT_TOKEN is not None and not settings.distributed:
        token = settings.SLACK_BOT_TOKEN.get_secret_value()
    return WebClient(
        token=token,
        base_url=settings.SLACK_API_URL,
        timeout=10,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
        ],
    )


def build_deps(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Deps:
    engine = engine or make_engine(settings.DATABASE_URL)
    return Deps(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        slack=make_slack_client(settings),
        clock=clock,
        gateway=_gateway(settings) if settings.STRIPE_API_KEY is not None else None,
        installations=make_installations(settings, engine) if settings.distributed else None,
    )


def make_installations(settings: Settings, engine: Engine) -> Installations:
    key = settings.SLACK_TOKEN_KEY
    return Installations(
        client_id=settings.SLACK_CLIENT_ID or "",
        engine=engine,
        seal=TokenSeal(key.get_secret_value() if key else ""),
    )


def _gateway(settings: Settings) -> StripeGateway:
    # Retrying a request is safe only where Stripe's idempotency keys are honoured: Stripe
    # itself, not a local Stripe-compatible server (localstripe has none).
    stripe_itself = is_stripe_itself(settings)
    client = make_stripe_client(settings, max_network_retries=2 if stripe_itself else 0)
    return StripeGateway(client, no_redirects=stripe_itself)
