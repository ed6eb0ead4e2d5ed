"""Prometheus metrics: requests and latency by route and Slack action, payments, scheduled jobs.

Each app owns one `Metrics` with its own `CollectorRegistry` (never prometheus_client's global
default), so a test can build several apps in one process. `GET /metrics` (`bot/web.py`) serves
it in Prometheus' text format to whoever sends `Authorization: Bearer <METRICS_TOKEN>`; with no
`METRICS_TOKEN` set the endpoint answers 404: internals are not published by default.

What a scrape of `/metrics` covers
----------------------------------
- **The web app.** `python -m bot serve` runs gunicorn with `--workers` processes (default 2),
  each with `--threads` threads; a process counts only what it served. With one process (`serve
  --workers 1`, `socket`, the sandbox, the tests) the app's registry is the whole story. With
  several, start `serve` with `PROMETHEUS_MULTIPROC_DIR` naming a directory of its own: then
  prometheus_client keeps every process's values in files there, `/metrics` adds them up over
  all workers, and `serve` empties the directory as it starts (`prepare_multiprocess_dir`).
  prometheus_client decides this when it is imported, so the variable must be in the
  environment before the process starts (set it for `serve` only, not for the worker). Without
  it a scrape sees only the worker that answered it, and `serve` logs a warning saying so.
- **The worker** (`python -m bot worker`) runs the scheduled jobs, and through `reconcile` and
  autopay settles payments too. It has its own registry, which it serves on
  `WORKER_METRICS_PORT` (bound to `HOST`) when that is set; that listener has no token, so it
  belongs on a private network only. Job runs and the payments a job settles are counted there,
  not in the web app's `/metrics`.

Label values never come straight from a request: a route is Flask's URL rule (never the path,
which holds one-time tokens), and a Slack action is kept only when it is one the app defines
(`bot.ui.ids`, the `/portal` words, the events it subscribes to), anything else, forged or
unknown, is counted as `other`. So hostile input cannot grow the number of series.

Payments are counted by outcome when the transaction that moved them commits (a rolled back
move counts nothing), and reach the metrics of every app on that payment's database engine:
`attach` ties a `Metrics` to an engine, and services that only hold a session or the `Deps`
(payments, the job runner) find it that way without anything else passing it down.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, object_session

from bot.settings import Settings
from bot.ui.ids import PORTAL_COMMAND, Act, Cb

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SLACK_EVENTS_ROUTE = "/slack/events"
OTHER = "other"
# Seconds: Slack wants an ack within 3 s; most requests answer in tens of milliseconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0)

# The `/portal` words (handlers/commands.py), plain `/portal` being the menu.
COMMAND_WORDS = frozenset(
    {
        "account",
        "password",
        "card",
        "credits",
        "buy",
        "services",
        "invoices",
        "pay",
        "users",
        "vat",
        "finance",
        "help",
    }
)
MENU = "menu"
EVENT_TYPES = frozenset({"app_home_opened"})  # the events manifest.yml subscribes to
_ACTION_IDS = frozenset(item.value for item in Act)
_CALLBACK_IDS = frozenset(item.value for item in Cb)
# Slack's request kinds, as the `kind` label spells them.
_INTERACTION_KINDS = frozenset(
    {"block_actions", "view_submission", "view_closed", "block_suggestion", "shortcut"}
)
_METHODS = frozenset({"GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"})

# `Payment.failure_code`s of our own (bot/payments.py), as the `outcome` label names them;
# any other code on a failed payment is a decline by the bank.
_FAILURE_OUTCOMES = {
    "not_charged": "not_charged",
    "stripe_rejected": "rejected",
    "not_confirmed": "not_confirmed",
    "refund_pending": "refunded",
    "refunded": "refunded",
}
PAYMENT_OUTCOMES = (
    "succeeded",
    "declined",
    "requires_action",
    "processing",
    "stripe_unreachable",
    "not_charged",
    "rejected",
    "not_confirmed",
    "refunded",
)


class Metrics:
    """One app's counters and histograms, in a registry of its own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.http_requests = Counter(
            "portal_http_requests",
            "HTTP requests answered, by method, route (Flask's URL rule) and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "portal_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.slack_requests = Counter(
            "portal_slack_requests",
            "Requests to /slack/events by kind (command, block_actions, view_submission, "
            "event...), action (command word, action_id, callback_id, event type) and status.",
            ["kind", "action", "status"],
            registry=self.registry,
        )
        self.slack_latency = Histogram(
            "portal_slack_request_duration_seconds",
            "Time to answer (ack) a request to /slack/events, by kind and action.",
            ["kind", "action"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.payments = Counter(
            "portal_payments",
            "Payments moved to an outcome (succeeded, declined, requires_action, ...), counted "
            "when the move commits.",
            ["outcome"],
            registry=self.registry,
        )
        self.job_runs = Counter(
            "portal_job_runs",
            "Scheduled job runs by job and outcome (succeeded, failed, skipped: another "
            "worker held the slot's lease).",
            ["job", "outcome"],
            registry=self.registry,
        )
        self.job_duration = Histogram(
            "portal_job_duration_seconds",
            "How long a scheduled job ran (runs that took their lease only).",
            ["job"],
            buckets=JOB_BUCKETS,
            registry=self.registry,
        )

    # Recording -------------------------------------------------------------------------------

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in _METHODS else OTHER
        self.http_requests.labels(method, route, str(status)).inc()
        self.http_latency.labels(method, route).observe(seconds)

    def observe_slack(self, kind: str, action: str, status: int, seconds: float) -> None:
        self.slack_requests.labels(kind, action, str(status)).inc()
        self.slack_latency.labels(kind, action).observe(seconds)

    def observe_job(self, job_id: str, outcome: str, seconds: float | None) -> None:
        self.job_runs.labels(job_id, outcome).inc()
        if seconds is not None:
            self.job_duration.labels(job_id).observe(seconds)

    # Engines ---------------------------------------------------------------------------------

    def attach(self, engine: Engine) -> Metrics:
        """Count the payments and job runs of `engine`'s database here too."""
        with _attached_lock:
            found = _attached.setdefault(engine, [])
            if self not in found:
                found.append(self)
        return self

    # Exposition ------------------------------------------------------------------------------

    def exposition(self) -> tuple[bytes, str]:
        """The text format and its content type: every worker's values in multiprocess mode."""
        if multiprocess_dir() is not None:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


_attached_lock = threading.Lock()
_attached: weakref.WeakKeyDictionary[Engine, list[Metrics]] = weakref.WeakKeyDictionary()


def attached_to(engine: Engine) -> list[Metrics]:
    with _attached_lock:
        return list(_attached.get(engine, ()))


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess_dir(workers: int) -> None:
    """Before gunicorn forks: empty the multiprocess directory, or warn that it is missing."""
    directory = multiprocess_dir()
    if directory is None:
        if workers > 1:
            log.warning(
                "%s is not set: with %d worker processes, /metrics shows only the one that "
                "answers each scrape",
                MULTIPROC_ENV,
                workers,
            )
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):  # a previous run's values would be added in otherwise
        stale.unlink()


def authorized(header: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))


def instrument(web: Flask, settings: Settings, engine: Engine) -> Metrics:
    """Time and count every request of `web`, and serve `GET /metrics`."""
    metrics = Metrics().attach(engine)
    token = settings.METRICS_TOKEN.get_secret_value() if settings.METRICS_TOKEN else ""

    @web.before_request
    def _start_clock() -> None:
        g.metrics_started = time.perf_counter()

    @web.after_request
    def _count(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is None:
            return response
        seconds = time.perf_counter() - started
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.observe_request(request.method, route, response.status_code, seconds)
        if route == SLACK_EVENTS_ROUTE:
            # Bolt has read (and cached) the body already; parsing it again costs microseconds.
            kind, action = slack_labels(request.content_type, request.get_data(cache=True))
            metrics.observe_slack(kind, action, response.status_code, seconds)
        return response

    @web.get("/metrics")
    def prometheus_metrics() -> Response:
        if not token:
            return Response("Not found", status=404, mimetype="text/plain")
        if not authorized(request.headers.get("Authorization"), token):
            return Response(
                "Send Authorization: Bearer <METRICS_TOKEN>.",
                status=401,
                mimetype="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        body, content_type = metrics.exposition()
        return Response(body, status=200, content_type=content_type)

    return metrics


# -- Slack requests ------------------------------------------------------------------------------


def slack_labels(content_type: str | None, body: bytes) -> tuple[str, str]:
    """(kind, action) of a request to /slack/events, each from a fixed set of values."""
    try:
        if (content_type or "").startswith("application/json"):
            return _event_labels(json.loads(body))
        form = parse_qs(body.decode("utf-8"), max_num_fields=100)
    except (ValueError, UnicodeDecodeError):
        return OTHER, OTHER
    if "payload" in form:
        try:
            return _interaction_labels(json.loads(form["payload"][0]))
        except ValueError:
            return OTHER, OTHER
    if "command" in form:
        return "command", _command_action(form)
    return OTHER, OTHER


def _command_action(form: Mapping[str, list[str]]) -> str:
    if form["command"][0] != PORTAL_COMMAND:
        return OTHER
    word = (form.get("text") or [""])[0].strip().partition(" ")[0].lower()
    if not word:
        return MENU
    return word if word in COMMAND_WORDS else OTHER


def _event_labels(body: Any) -> tuple[str, str]:
    if not isinstance(body, dict):
        return OTHER, OTHER
    if body.get("type") == "url_verification":
        return "url_verification", "url_verification"
    if body.get("type") != "event_callback":
        return OTHER, OTHER
    inner = body.get("event")
    kind = inner.get("type") if isinstance(inner, dict) else None
    return "event", kind if isinstance(kind, str) and kind in EVENT_TYPES else OTHER


def _interaction_labels(payload: Any) -> tuple[str, str]:
    if not isinstance(payload, dict):
        return OTHER, OTHER
    kind = payload.get("type")
    if not isinstance(kind, str) or kind not in _INTERACTION_KINDS:
        return OTHER, OTHER
    if kind == "block_actions":
        actions = payload.get("actions")
        first = actions[0] if isinstance(actions, list) and actions else None
        name = first.get("action_id") if isinstance(first, dict) else None
        return kind, _known(name, _ACTION_IDS)
    if kind == "block_suggestion":
        return kind, _known(payload.get("action_id"), _ACTION_IDS)
    if kind in ("view_submission", "view_closed"):
        view = payload.get("view")
        name = view.get("callback_id") if isinstance(view, dict) else None
        return kind, _known(name, _CALLBACK_IDS)
    return kind, OTHER  # the app defines no shortcuts


def _known(name: object, known: Iterable[str]) -> str:
    return name if isinstance(name, str) and name in known else OTHER


# -- Payments ------------------------------------------------------------------------------------

_MOVED = "portal.metrics.payments_moved"
_COMMITTING = "portal.metrics.payments_committing"


def payment_outcome(status: str, failure_code: str | None) -> str:
    """The `outcome` label of a payment in `status` with `failure_code`."""
    if status == "failed":
        return _FAILURE_OUTCOMES.get(failure_code or "", "declined")
    if status == "processing" and failure_code == "stripe_unreachable":
        return "stripe_unreachable"
    return status if status in PAYMENT_OUTCOMES else OTHER


def payment_moved(payment: Any) -> None:
    """`payment`'s status changed in its session: count its outcome if that commits."""
    session = object_session(payment)
    if session is None:
        return
    moved: dict[int, Any] | None = session.info.get(_MOVED)
    if moved is None:
        moved = session.info[_MOVED] = {}
        event.listen(session, "before_commit", _before_commit)
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)
    moved[id(payment)] = payment


def _before_commit(session: Session) -> None:
    # The outcome is read here, once the code that moved the payment has set its failure code
    # too, and counted only once the commit succeeds.
    moved: dict[int, Any] = session.info.pop(_MOVED, None) or {}
    session.info.setdefault(_COMMITTING, []).extend(
        payment_outcome(str(payment.status.value), payment.failure_code)
        for payment in moved.values()
    )
    session.info[_MOVED] = {}


def _after_commit(session: Session) -> None:
    outcomes: list[str] = session.info.pop(_COMMITTING, None) or []
    if not outcomes:
        return
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    for metrics in attached_to(engine):
        for outcome in outcomes:
            metrics.payments.labels(outcome).inc()


def _after_rollback(session: Session) -> None:
    session.info.pop(_COMMITTING, None)
    if session.info.get(_MOVED):
        session.info[_MOVED] = {}


# -- Jobs ----------------------------------------------------------------------------------------


def job_ran(engine: Engine, job_id: str, outcome: str, seconds: float | None = None) -> None:
    """A scheduled job's run (or skip), counted in every `Metrics` attached to `engine`."""
    for metrics in attached_to(engine):
        metrics.observe_job(job_id, outcome, seconds)
