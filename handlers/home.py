"""The App Home tab: the same dashboard as the menu, published when the tab opens."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.dashboard import dashboard
from bot.deps import Deps
from bot.portal import NO_ACCOUNT
from bot.roles import NO_ACCESS
from bot.ui import menu
from handlers._support import Who, guard, unit_of_work, who


def publish_home(deps: Deps, client: WebClient, team_id: str, user_id: str) -> None:
    """Render and publish `user_id`'s Home tab from the current state."""
    with unit_of_work(deps, Who(team_id=team_id, user_id=user_id)) as (session, visitor):
        if visitor.account is None:
            view = menu.home_without_access(NO_ACCOUNT)
        elif visitor.role is None:
            view = menu.home_without_access(NO_ACCESS)
        else:
            board = dashboard(
                session=session,
                account=visitor.account,
                role=visitor.role,
                today=deps.clock().date(),
            )
            view = menu.home_view(board)
    client.views_publish(user_id=user_id, view=view)


def on_home_opened(
    deps: Deps, body: dict[str, Any], event: dict[str, Any], client: WebClient
) -> None:
    if event.get("tab", "home") != "home":
        return
    origin = who(body)
    publish_home(deps, client, origin.team_id, origin.user_id)


def register(app: App, deps: Deps) -> None:
    app.event("app_home_opened")(guard(partial(on_home_opened, deps)))
