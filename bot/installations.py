"""Where a distributed app keeps each workspace's Slack tokens: sealed, on the app's database.

When the app is installed into many workspaces through OAuth (`SLACK_CLIENT_ID` and
`SLACK_CLIENT_SECRET` set), slack_sdk's SQLAlchemy installation store keeps every installation
and bot token in `slack_installations` and `slack_bots` (migration 0006), and its OAuth state
store keeps the state of each "Add to Slack" in `slack_oauth_states`.

Tokens are never stored in plain text: `Installations` seals every token with Fernet (AES-128
in CBC mode with an HMAC) under `SLACK_TOKEN_KEY` before it reaches the database, and opens it
when Bolt or a job asks for it. `SLACK_TOKEN_KEY` may list several keys, comma separated: the
first seals, any of them opens, so a key is rotated by putting a new one first.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import TypeVar

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, and_, desc

from store.models import Base, slack_bots, slack_installations, slack_oauth_states

log = logging.getLogger(__name__)

STATE_EXPIRY_SECONDS = 600  # an "Add to Slack" must be finished within 10 minutes
_SEALED = "fernet:"
_TOKEN_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")

Entity = TypeVar("Entity", Bot, Installation)


class TokenKeyError(ValueError):
    """SLACK_TOKEN_KEY is missing or is not a list of Fernet keys."""


def new_token_key() -> str:
    """A fresh key for SLACK_TOKEN_KEY (32 random bytes, URL-safe base64)."""
    return Fernet.generate_key().decode("ascii")


class TokenSeal:
    """Seals and opens tokens with the keys of SLACK_TOKEN_KEY (the first one seals)."""

    def __init__(self, keys: str) -> None:
        parts = [part.strip() for part in keys.split(",") if part.strip()]
        if not parts:
            raise TokenKeyError("SLACK_TOKEN_KEY is empty: run `python -m bot token-key`.")
        try:
            self._fernet = MultiFernet([Fernet(part.encode("ascii")) for part in parts])
        except (ValueError, UnicodeEncodeError) as exc:
            raise TokenKeyError(
                "SLACK_TOKEN_KEY must be Fernet keys (32 url-safe base64-encoded bytes), comma "
                "separated: run `python -m bot token-key` for a new one."
            ) from exc

    def seal(self, token: str | None) -> str | None:
        if token is None or token.startswith(_SEALED):
            return token
        return _SEALED + self._fernet.encrypt(token.encode("utf-8")).decode("ascii")

    def open(self, value: str | None) -> str | None:
        """The token in `value`; `value` itself when it was never sealed (a fresh entity)."""
        if value is None or not value.startswith(_SEALED):
            return value
        try:
            return self._fernet.decrypt(value.removeprefix(_SEALED).encode("ascii")).decode()
        except InvalidToken:
            # A key was dropped from SLACK_TOKEN_KEY too soon: the workspace must reinstall.
            log.error("A stored Slack token does not open with any key of SLACK_TOKEN_KEY.")
            return None

    def sealed(self, entity: Entity) -> Entity:
        return self._with_tokens(entity, self.seal)

    def opened(self, entity: Entity | None) -> Entity | None:
        return None if entity is None else self._with_tokens(entity, self.open)

    @staticmethod
    def _with_tokens(entity: Entity, change: Callable[[str | None], str | None]) -> Entity:
        copied = copy.copy(entity)
        for name in _TOKEN_FIELDS:
            if hasattr(copied, name):
                setattr(copied, name, change(getattr(copied, name)))
        return copied


class Installations(SQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy installation store on the app's own tables, tokens sealed."""

    def __init__(self, *, client_id: str, engine: Engine, seal: TokenSeal) -> None:
        super().__init__(client_id=client_id, engine=engine, logger=log)
        # The tables Alembic created (store.models), not slack_sdk's own copies of them.
        self.metadata = Base.metadata
        self.installations = slack_installations
        self.bots = slack_bots
        self._seal = seal

    def create_tables(self) -> None:
        raise RuntimeError("The Slack installation tables are created by `python -m bot migrate`.")

    def save(self, installation: Installation) -> None:
        super().save(self._seal.sealed(installation))

    def save_bot(self, bot: Bot) -> None:
        super().save_bot(self._seal.sealed(bot))

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = super().find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self._seal.opened(found)

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = super().find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self._seal.opened(found)

    def find_bot_for_team(self, team_id: str) -> Bot | None:
        """The latest bot of workspace `team_id`, whether or not it is in an Enterprise org."""
        column = self.bots.c
        query = (
            self.bots.select()
            .where(
                and_(
                    column.client_id == self.client_id,
                    column.team_id == team_id,
                    column.bot_token.is_not(None),
                )
            )
            .order_by(desc(column.installed_at))
            .limit(1)
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        return self._seal.opened(self.build_bot_entity(row)) if row is not None else None


def make_state_store(engine: Engine) -> SQLAlchemyOAuthStateStore:
    """slack_sdk's OAuth state store on `slack_oauth_states` (created by Alembic)."""
    store = SQLAlchemyOAuthStateStore(
        expiration_seconds=STATE_EXPIRY_SECONDS, engine=engine, logger=log
    )
    store.metadata = Base.metadata
    store.oauth_states = slack_oauth_states
    return store
