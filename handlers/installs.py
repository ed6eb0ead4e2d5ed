"""A workspace removes the app or revokes its tokens: its tokens go, its account stays.

Bolt delivers `app_uninstalled` and `tokens_revoked` without an authorization check (the
workspace's token may already be gone). With one workspace and SLACK_BOT_TOKEN there is no
installation store: the events are only recorded.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt import App

from bot import audit
from bot.deps import Deps
from handlers._support import Who, guard, unit_of_work, who

log = logging.getLogger(__name__)


def on_app_uninstalled(deps: Deps, body: dict[str, Any]) -> None:
    origin = who(body)
    if deps.installations is not None:
        deps.installations.delete_all(
            enterprise_id=body.get("enterprise_id"), team_id=origin.team_id
        )
    _record(deps, origin, "slack.app_uninstalled")


def on_tokens_revoked(deps: Deps, body: dict[str, Any], event: dict[str, Any]) -> None:
    origin = who(body)
    team_id = origin.team_id
    enterprise_id = body.get("enterprise_id")
    tokens = event.get("tokens") or {}
    if deps.installations is not None:
        for user_id in tokens.get("oauth") or []:
            deps.installations.delete_installation(
                enterprise_id=enterprise_id, team_id=team_id, user_id=str(user_id)
            )
        if tokens.get("bot"):
            deps.installations.delete_bot(enterprise_id=enterprise_id, team_id=team_id)
    _record(deps, origin, "slack.tokens_revoked")


def _record(deps: Deps, origin: Who, action: str) -> None:
    """The account's audit log says the app lost its access; the account itself is kept."""
    log.info("%s for workspace %s: its Slack tokens were deleted", action, origin.team_id)
    with unit_of_work(deps, origin) as (session, visitor):
        audit.record(
            session=session,
            account_id=visitor.account.id if visitor.account is not None else None,
            actor="slack",
            action=action,
            now=deps.clock(),
            team=origin.team_id,
        )


def register(app: App, deps: Deps) -> None:
    app.event("app_uninstalled")(guard(partial(on_app_uninstalled, deps)))
    app.event("tokens_revoked")(guard(partial(on_tokens_revoked, deps)))
