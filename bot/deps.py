"""The one bundle of dependencies handed to handlers, pages and jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.gateway import StripeGateway, is_stripe_itself, make_stripe_client
from bot.settings import Settings
from store.db import make_engine, make_session_factory


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


def make_slack_client(settings: Settings, token: str | None = None) -> WebClient:
    """A Web API client on `SLACK_API_URL`, retrying rate limits and dropped connections."""
    if token is None and settings.SLACK_BOT_TOKEN is not None:
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
    )


def _gateway(settings: Settings) -> StripeGateway:
    # Retrying a request is safe only where Stripe's idempotency keys are honoured: Stripe
    # itself, not a local Stripe-compatible server (localstripe has none).
    stripe_itself = is_stripe_itself(settings)
    client = make_stripe_client(settings, max_network_retries=2 if stripe_itself else 0)
    return StripeGateway(client, no_redirects=stripe_itself)
