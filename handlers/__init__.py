"""Slack listeners: parse the payload, ack fast, call one service, render a view.

Each area has one module with `register(app, deps)`; `register_all` wires every one.
"""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from handlers import account, commands, credits, home, invoices, services, users


def register_all(app: App, deps: Deps) -> None:
    for area in (commands, home, account, users, credits, services, invoices):
        area.register(app, deps)
