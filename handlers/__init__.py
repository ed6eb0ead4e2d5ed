"""Slack listeners: parse the payload, ack fast, call one service, render a view.

Each area has one module with `register(app, deps)`; `register_all` wires every one.
"""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from handlers import (
    account,
    commands,
    credits,
    finance,
    home,
    installs,
    invoices,
    payments,
    services,
    users,
)


def register_all(app: App, deps: Deps) -> None:
    areas = (
        commands,
        home,
        installs,
        account,
        finance,
        users,
        credits,
        services,
        invoices,
        payments,
    )
    for area in areas:
        area.register(app, deps)
