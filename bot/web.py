"""The web server: Slack's one request URL, the health check, the secure pages, Stripe's webhook."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from flask import Flask, Response, jsonify, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from bot import metrics, rate_limit
from bot.deps import Deps
from bot.settings import Settings
from store.db import unreachable

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 3.0  # a load balancer's check usually gives up after 5


class DatabaseProbe:
    """`SELECT 1` for /healthz, waited for at most `timeout` seconds.

    A database that refuses connections fails the probe at once; one that has gone silent
    (a network partition) would hold the request until TCP gives up, minutes later. So the
    probe runs in a thread of its own, one at a time: /healthz answers 503 when it has not
    finished in time, and the next check waits for the same probe until it ends.
    """

    def __init__(self, engine: Engine, timeout: float = HEALTH_TIMEOUT_SECONDS) -> None:
        self._engine = engine
        self._timeout = timeout
        self._lock = threading.Lock()
        self._running: Future[bool] | None = None

    def healthy(self) -> bool:
        with self._lock:
            running = self._running
            if running is None or running.done():
                running = self._running = Future()
                threading.Thread(
                    target=self._probe, args=(running,), name="healthz-probe", daemon=True
                ).start()
        try:
            return running.result(timeout=self._timeout)
        except FutureTimeout:
            return False

    def _probe(self, result: Future[bool]) -> None:
        try:
            with self._engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            result.set_result(False)
        except Exception as exc:  # a bug: raised again in the request that waits for it
            result.set_exception(exc)
        else:
            result.set_result(True)


def create_web_app(settings: Settings, deps: Deps, bolt_app: App) -> Flask:
    web = Flask("bot", template_folder="templates", static_folder=None)
    web.config.update(MAX_CONTENT_LENGTH=1024 * 1024)
    if settings.TRUSTED_PROXY_HOPS:  # only then is X-Forwarded-For the client's address
        hops = settings.TRUSTED_PROXY_HOPS
        web.wsgi_app = ProxyFix(web.wsgi_app, x_for=hops)  # type: ignore[method-assign]
    metrics.instrument(web, settings, deps.engine)  # GET /metrics, and every request timed
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

    if deps.installations is not None:  # distributed: "Add to Slack" and its redirect
        from bot.app import INSTALL_PATH, REDIRECT_PATH  # noqa: PLC0415 - bot.app imports handlers

        @web.get(INSTALL_PATH)
        def slack_install() -> Response:
            response: Response = slack.handle(request)
            return response

        @web.get(REDIRECT_PATH)
        def slack_oauth_redirect() -> Response:
            response: Response = slack.handle(request)
            return response

    @web.errorhandler(SQLAlchemyError)
    def database_error(error: SQLAlchemyError) -> tuple[Response, int]:
        """The database is down: 503 and "try again", so Stripe delivers its webhook again later
        (an event is recorded only with the change it makes). Routes of a blueprint with its own
        error handler (the secure pages) answer through theirs instead."""
        if not unreachable(error):
            raise error  # a bug: Flask's own 500, logged with its traceback
        cause = getattr(error, "orig", None) or error
        log.warning(
            "database unavailable on %s %s: %s", request.method, request.path, type(cause).__name__
        )
        if request.path == webhooks.WEBHOOK_PATH:
            response = jsonify(error="The database is unavailable; deliver again later.")
        else:
            response = Response(
                "We can't reach our records right now. Please try again in a minute.",
                mimetype="text/plain",
            )
        response.headers["Retry-After"] = "60"
        return response, 503

    probe = DatabaseProbe(deps.engine)

    @web.get("/healthz")
    def healthz() -> tuple[Response, int]:
        if not probe.healthy():
            return jsonify(status="unavailable", database="unreachable"), 503
        return jsonify(status="ok", database="ok"), 200

    from bot import pages  # noqa: PLC0415 - the pages import Flask blueprints lazily

    # One count of form posts for every secure page (bot/rate_limit.py).
    limiter = rate_limit.SecurePostLimiter.from_settings(settings)
    web.register_blueprint(pages.blueprint(settings, deps, limiter=limiter))

    from bot import payment_pages, webhooks  # noqa: PLC0415 - as above

    web.register_blueprint(payment_pages.blueprint(settings, deps, limiter=limiter))
    webhooks.register_webhook(web, settings, deps)

    from bot import usage  # noqa: PLC0415 - as above

    web.register_blueprint(usage.blueprint(settings, deps))
    return web
