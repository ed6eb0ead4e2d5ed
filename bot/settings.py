"""One validated settings object, read once from the environment at start-up."""

from __future__ import annotations

import enum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///var/admin-portal.db"


class Mode(enum.StrEnum):
    """What the process was started to do; each mode needs its own variables."""

    SERVE = "serve"
    SOCKET = "socket"
    WORKER = "worker"
    SANDBOX = "sandbox"
    MIGRATE = "migrate"


# The variables each mode cannot run without. The sandbox brings its own Slack and Stripe.
_REQUIRED: dict[Mode, tuple[str, ...]] = {
    Mode.SERVE: (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "STRIPE_API_KEY",
        "STRIPE_PUBLISHABLE_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "PUBLIC_BASE_URL",
    ),
    Mode.SOCKET: (
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "STRIPE_API_KEY",
        "STRIPE_PUBLISHABLE_KEY",
        "PUBLIC_BASE_URL",
    ),
    Mode.WORKER: ("SLACK_BOT_TOKEN", "STRIPE_API_KEY"),
    Mode.SANDBOX: (),
    Mode.MIGRATE: (),
}


class SettingsError(Exception):
    """The environment does not describe a runnable configuration; the message says why."""


class Settings(BaseSettings):
    """Every environment variable the app reads. Secrets are `SecretStr` and never printed."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=True, extra="ignore")

    SLACK_BOT_TOKEN: SecretStr | None = None
    SLACK_SIGNING_SECRET: SecretStr | None = None
    SLACK_APP_TOKEN: SecretStr | None = None
    SLACK_API_URL: str = "https://slack.com/api/"
    # A distributed app (many workspaces, each installing through OAuth) sets these three
    # instead of SLACK_BOT_TOKEN. SLACK_TOKEN_KEY: Fernet keys, comma separated, the first
    # sealing new tokens (`python -m bot token-key` makes one); rotate by putting a new key first.
    SLACK_CLIENT_ID: str | None = None
    SLACK_CLIENT_SECRET: SecretStr | None = None
    SLACK_TOKEN_KEY: SecretStr | None = None
    # Where "Add to Slack" sends the person (Slack's own page; the sandbox serves its own).
    SLACK_AUTHORIZE_URL: str = "https://slack.com/oauth/v2/authorize"
    STRIPE_API_KEY: SecretStr | None = None
    STRIPE_PUBLISHABLE_KEY: str | None = None
    STRIPE_WEBHOOK_SECRET: SecretStr | None = None
    STRIPE_API_BASE: str = "https://api.stripe.com"
    STRIPE_JS_URL: str = "https://js.stripe.com/v3/"
    DATABASE_URL: str = DEFAULT_DATABASE_URL
    PUBLIC_BASE_URL: str | None = None
    HOST: str = "127.0.0.1"
    PORT: int = Field(default=3000, ge=1, le=65535)
    APP_TIMEZONE: str = "Europe/London"
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # The vendor, as every invoice names it. Set these in production; the defaults are
    # placeholders for the sandbox and tests.
    SUPPLIER_NAME: str = "Example Cloud Software Ltd"
    SUPPLIER_ADDRESS: str = "1 Example Street\nLondon\nEC1A 1AA\nUnited Kingdom"
    SUPPLIER_VAT_NUMBER: str = "GB000000000"
    SUPPLIER_COMPANY_NUMBER: str = "00000000"
    # `POST /api/usage`: the vendor's platform sends `Authorization: Bearer <this>`. Unset: the
    # endpoint answers 401 to everyone.
    USAGE_API_TOKEN: SecretStr | None = None
    # `GET /metrics` (Prometheus): the scraper sends `Authorization: Bearer <this>`. Unset: the
    # endpoint answers 404. `WORKER_METRICS_PORT`: the worker serves its own metrics there (on
    # HOST, no token: a private network only). See bot/metrics.py.
    METRICS_TOKEN: SecretStr | None = None
    WORKER_METRICS_PORT: int | None = Field(default=None, ge=1, le=65535)
    # How many proxies in front of the app add the client's address to X-Forwarded-For. 0
    # (default): the header is ignored, since anyone can send it; the rate limits of the secure
    # pages then count the connecting address.
    TRUSTED_PROXY_HOPS: int = Field(default=0, ge=0, le=5)
    # Form posts to the secure pages allowed in 10 minutes, per client address and per one-time
    # link, in each server process (bot/rate_limit.py); more are answered 429.
    SECURE_POSTS_PER_ADDRESS: int = Field(default=100, ge=1, le=100_000)
    SECURE_POSTS_PER_LINK: int = Field(default=10, ge=1, le=1_000)
    # The low credit balance warning for accounts that have not chosen a threshold (0: off).
    LOW_BALANCE_DEFAULT_CREDITS: int = Field(default=100, ge=0, le=1_000_000)
    # How many autopay charges the worker makes at once.
    AUTOPAY_CONCURRENCY: int = Field(default=4, ge=1, le=32)

    @field_validator("APP_TIMEZONE")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    @field_validator("SLACK_API_URL")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.APP_TIMEZONE)

    @property
    def has_slack_tokens(self) -> bool:
        return (
            self.SLACK_BOT_TOKEN is not None or self.SLACK_APP_TOKEN is not None or self.distributed
        )

    @property
    def distributed(self) -> bool:
        """Installed into many workspaces through OAuth, rather than one with a bot token."""
        return bool(self.SLACK_CLIENT_ID) and self.SLACK_CLIENT_SECRET is not None

    def _required(self, mode: Mode) -> tuple[str, ...]:
        names = _REQUIRED[mode]
        if self.distributed and mode in (Mode.SERVE, Mode.WORKER):
            # Each workspace's token comes from its installation, sealed with SLACK_TOKEN_KEY.
            oauth = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_TOKEN_KEY")
            names = oauth + tuple(name for name in names if name != "SLACK_BOT_TOKEN")
        return names

    def missing_for(self, mode: Mode) -> list[str]:
        """The variables `mode` needs that are unset or empty, in a stable order."""
        missing = []
        for name in self._required(mode):
            value = getattr(self, name)
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            if not text:
                missing.append(name)
        return missing

    def require(self, mode: Mode) -> Settings:
        if self.distributed and self.SLACK_BOT_TOKEN is not None:
            raise SettingsError(
                "Set either SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET (installed into many workspaces through OAuth), not both."
            )
        if self.distributed and mode is Mode.SOCKET:
            raise SettingsError(
                "Socket Mode serves one workspace: use 'serve' for an app installed through OAuth."
            )
        missing = self.missing_for(mode)
        if missing:
            raise SettingsError(
                f"Cannot start '{mode.value}': set {', '.join(missing)} in the environment "
                "(see the configuration table in README.md)."
            )
        return self


def load_settings(mode: Mode, environ: dict[str, str] | None = None) -> Settings:
    """Read and validate the environment for `mode`, naming every bad or missing variable."""
    try:
        settings = Settings(**environ) if environ is not None else Settings()  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"Invalid configuration: {problems}") from exc
    return settings.require(mode)
