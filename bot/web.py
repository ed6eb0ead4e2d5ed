"""The web server: Slack's one request URL, the health check, the secure pages, Stripe's webhook."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.deps import Deps
from bot.settings import Settings

log = logging.getLogger(__name__)


def create_web_app(settings: Settings, deps: Deps, bolt_app: App) -> Flask:
    web = Flask("bot", template_folder="templates", static_folder=None)
    web.config.update(MAX_CONTENT_LENGTH=1024 * 1024)
    slack = SlackRequestHandler(bolt_app)

    @web.post("/slack/events")
    def slack_events() -> Response | tuple[str, int]:
        try:
            response: Response = slack.handle(request)
        except Exception:  # Bolt itself can trip on a malformed payload it has verified
            response = Response(status=500)
            log.warning("Bolt failed on a Slack request", exc_info=True)
        if response.status_code == 500:
            # Bolt answers 500 when a middleware (its own or ours) fails, which only a
            # malformed payload makes happen; the cause is logged, the sender told it was bad.
            return "Bad request", 400
        return response

    @web.get("/healthz")
    def healthz() -> tuple[Response, int]:
        try:
            with deps.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return jsonify(status="unavailable", database="unreachable"), 503
        return jsonify(status="ok", database="ok"), 200

    from bot import pages  # noqa: PLC0415 - the pages import Flask blueprints lazily

    web.register_blueprint(pages.blueprint(settings, deps))

    from bot import payment_pages, webhooks  # noqa: PLC0415 - as above

    web.register_blueprint(payment_pages.blueprint(settings, deps))
    webhooks.register_webhook(web, settings, deps)

    from bot import usage  # noqa: PLC0415 - as above

    web.register_blueprint(usage.blueprint(settings, deps))
    return web
