"""Slack tokens of distributed installs are sealed with SLACK_TOKEN_KEY; keys can be rotated."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from slack_sdk.oauth.installation_store.models.bot import Bot

from bot.installations import TokenKeyError, TokenSeal, new_token_key
from store.models import SEALED_TOKEN_LENGTH

TOKEN = "xoxb-1234-5678-abcdefghijklmnop"


def test_a_token_is_sealed_and_opened_again() -> None:
    seal = TokenSeal(new_token_key())
    sealed = seal.seal(TOKEN)
    assert sealed is not None
    assert sealed.startswith("fernet:")
    assert TOKEN not in sealed
    assert seal.seal(TOKEN) != sealed  # a fresh IV each time
    assert seal.open(sealed) == TOKEN
    assert seal.seal(sealed) == sealed  # sealing twice seals once
    assert seal.seal(None) is None
    assert seal.open(None) is None


def test_a_long_rotating_token_fits_the_widened_column() -> None:
    sealed = TokenSeal(new_token_key()).seal("xoxe.xoxb-1-" + "A" * 250)
    assert sealed is not None
    assert len(sealed) <= SEALED_TOKEN_LENGTH


def test_keys_rotate_the_first_seals_any_opens() -> None:
    old, new = new_token_key(), new_token_key()
    sealed_with_old = TokenSeal(old).seal(TOKEN)
    rotated = TokenSeal(f"{new}, {old}")
    assert rotated.open(sealed_with_old) == TOKEN
    assert TokenSeal(new).open(rotated.seal(TOKEN)) == TOKEN
    # A key dropped too soon: the token cannot be opened, and nothing pretends it can.
    assert TokenSeal(new).open(sealed_with_old) is None


def test_entities_are_copied_with_every_token_sealed() -> None:
    seal = TokenSeal(new_token_key())
    bot = Bot(
        app_id="A1",
        enterprise_id=None,
        team_id="T1",
        bot_token=TOKEN,
        bot_refresh_token="xoxe-1-refresh",
        bot_id="B1",
        bot_user_id="U1",
        bot_scopes="commands",
        installed_at=datetime.now(UTC).timestamp(),
    )
    sealed = seal.sealed(bot)
    assert bot.bot_token == TOKEN  # the original is untouched
    assert sealed.bot_token is not None
    assert sealed.bot_token.startswith("fernet:")
    assert sealed.bot_refresh_token is not None
    assert sealed.bot_refresh_token.startswith("fernet:")
    opened = seal.opened(sealed)
    assert opened is not None
    assert (opened.bot_token, opened.bot_refresh_token) == (TOKEN, "xoxe-1-refresh")


@pytest.mark.parametrize("keys", ["", " , ", "not-a-fernet-key", "é"])
def test_a_bad_key_is_refused_with_how_to_make_one(keys: str) -> None:
    with pytest.raises(TokenKeyError, match="python -m bot token-key"):
        TokenSeal(keys)
