"""`GET /metrics`: signed Slack requests, payments against localstripe and job runs, counted.

Each test reads `/metrics` over HTTP before and after, and checks how the counters moved, so
what other tests did to the same app does not matter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from bot import metrics
from bot.deps import build_deps
from bot.metrics import COMMAND_WORDS, slack_labels
from bot.payments import Payments, transition_payment
from bot.sandbox.slack_api import FakeSlack
from bot.sandbox.slack_requests import SlackRequestSender
from bot.scheduler import JOBS_BY_ID, JobRunner, JobSpec, Worker
from bot.server import BackgroundServer, build_web
from bot.settings import Settings
from bot.ui.ids import Act, Cb
from handlers import commands
from store.db import make_engine
from store.enums import PaymentStatus
from store.migrate import upgrade_to_head
from store.models import Payment
from tests.conftest import NOW, reset_database
from tests.payments import conftest as pay
from tests.served import serve_env, served
from tests.slack.conftest import (
    ADMIN,
    BOT_TOKEN,
    SIGNING_SECRET,
    TEAM_ID,
    Clock,
    Portal,
    free_port,
)

TOKEN = "metrics-scrape-token-for-the-tests"
ROOT = Path(__file__).parents[2]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(base_url: str, token: str = TOKEN) -> Samples:
    response = requests.get(
        f"{base_url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def any_status(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How far a counter with a `status` label moved, whatever the status."""
    total = 0.0
    for key, count in after.items():
        found, found_labels = key
        rest = {k: v for k, v in found_labels if k != "status"}
        if found == name and rest == labels:
            total += count - before.get(key, 0.0)
    return total


def label_values(samples: Samples, name: str, label: str) -> set[str]:
    return {dict(labels)[label] for (found, labels) in samples if found == name}


@pytest.fixture(scope="module")
def metered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """The Slack app as in tests/slack/conftest.py, with METRICS_TOKEN set."""
    fake = FakeSlack(bot_token=BOT_TOKEN, team_id=TEAM_ID).start()
    fake.add_user(ADMIN, "ada")
    port = free_port()
    settings = Settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,  # type: ignore[arg-type]
        SLACK_SIGNING_SECRET=SIGNING_SECRET,  # type: ignore[arg-type]
        SLACK_API_URL=fake.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path_factory.mktemp('metrics') / 'portal.db'}",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        METRICS_TOKEN=TOKEN,  # type: ignore[arg-type]
    )
    engine = make_engine(settings.DATABASE_URL)
    upgrade_to_head(engine)
    clock = Clock()
    deps = build_deps(settings, engine=engine, clock=clock)
    server = BackgroundServer(build_web(settings, deps), port=port).start()
    sender = SlackRequestSender(
        f"{server.url}/slack/events", SIGNING_SECRET, team_id=TEAM_ID, fake=fake
    )
    portal = Portal(fake=fake, sender=sender, deps=deps, clock=clock, url=server.url)
    portal.make_account()
    try:
        yield portal
    finally:
        sender.close()
        server.stop()
        fake.stop()
        engine.dispose()


# -- Who may read it ----------------------------------------------------------------------------


def test_metrics_are_not_served_without_a_token_setting(portal: Portal) -> None:
    response = requests.get(f"{portal.url}/metrics", timeout=10)
    assert response.status_code == 404
    assert "portal_" not in response.text


def test_metrics_need_the_bearer_token(metered: Portal) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        response = requests.get(f"{metered.url}/metrics", headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "portal_" not in response.text
    assert scrape(metered.url)  # the right token reads them


# -- Requests by route and Slack action -----------------------------------------------------------


def test_slack_requests_are_counted_by_kind_and_action(metered: Portal) -> None:
    before = scrape(metered.url)
    metered.command(ADMIN)
    metered.command(ADMIN, "invoices 2")
    metered.command(ADMIN, "help")
    metered.command(ADMIN, "no-such-word")
    assert metered.sender.block_action(ADMIN, Act.MENU_HELP).status_code == 200
    assert metered.sender.app_home_opened(ADMIN).status_code == 200
    after = scrape(metered.url)

    slack = "portal_slack_requests_total"
    assert moved(before, after, slack, kind="command", action="menu", status="200") == 1
    assert moved(before, after, slack, kind="command", action="invoices", status="200") == 1
    assert moved(before, after, slack, kind="command", action="help", status="200") == 1
    assert moved(before, after, slack, kind="command", action="other", status="200") == 1
    assert moved(before, after, slack, kind="block_actions", action="menu_help", status="200") == 1
    assert moved(before, after, slack, kind="event", action="app_home_opened", status="200") == 1
    # Latency: one observation per request, by the same labels, and the route's too.
    latency = "portal_slack_request_duration_seconds_count"
    assert moved(before, after, latency, kind="command", action="invoices") == 1
    assert moved(before, after, "portal_http_requests_total", **_route("/slack/events", "200")) == 6
    assert (
        moved(
            before,
            after,
            "portal_http_request_duration_seconds_count",
            method="POST",
            route="/slack/events",
        )
        == 6
    )
    assert (
        moved(
            before,
            after,
            "portal_http_request_duration_seconds_sum",
            method="POST",
            route="/slack/events",
        )
        > 0
    )


def test_forged_ids_count_as_other_and_add_no_series(metered: Portal) -> None:
    before = scrape(metered.url)
    forged = [f"forged_action_{n}" for n in range(25)]
    for action_id in forged:
        payload = _block_actions(action_id)
        assert metered.sender.send_payload(payload).status_code == 404  # Bolt: no listener
    view = {"type": "view_submission", "user": {"id": ADMIN}, "team": {"id": TEAM_ID}}
    view["view"] = {"id": "V1", "callback_id": "forged_view", "state": {"values": {}}}
    metered.sender.send_payload(view)
    event = {
        "type": "event_callback",
        "team_id": TEAM_ID,
        "event": {"type": "forged_event_type", "user": ADMIN},
    }
    metered.sender.send_json(event)
    after = scrape(metered.url)

    slack = "portal_slack_requests_total"
    assert moved(before, after, slack, kind="block_actions", action="other", status="404") == 25
    assert any_status(before, after, slack, kind="view_submission", action="other") == 1
    assert any_status(before, after, slack, kind="event", action="other") == 1
    actions = label_values(after, slack, "action")
    assert not any(name.startswith("forged") for name in actions)
    allowed = set(Act) | set(Cb) | COMMAND_WORDS | {"menu", "other", "app_home_opened"}
    assert actions <= allowed


def test_a_badly_signed_request_is_counted_as_refused(metered: Portal) -> None:
    before = scrape(metered.url)
    body = b"command=%2Fportal&text=account&user_id=UADMIN"
    response = metered.sender.send(
        body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64
    )
    assert response.status_code == 401
    after = scrape(metered.url)
    slack = "portal_slack_requests_total"
    assert moved(before, after, slack, kind="command", action="account", status="401") == 1
    assert moved(before, after, slack, kind="command", action="account", status="200") == 0


def test_other_routes_are_labelled_by_rule_not_by_path(metered: Portal) -> None:
    before = scrape(metered.url)
    secret_path = "/secure/change-password/some-one-time-token-value"
    requests.get(f"{metered.url}{secret_path}", timeout=10)
    requests.get(f"{metered.url}/no/such/page/xyz", timeout=10)
    requests.get(f"{metered.url}/healthz", timeout=10)
    after = scrape(metered.url)
    requests_total = "portal_http_requests_total"
    rule = "/secure/change-password/<token>"
    assert moved(before, after, requests_total, method="GET", route=rule, status="404") == 1
    assert moved(before, after, requests_total, method="GET", route="unmatched", status="404") == 1
    assert moved(before, after, requests_total, method="GET", route="/healthz", status="200") == 1
    routes = label_values(after, requests_total, "route")
    assert not any("one-time-token" in route or "xyz" in route for route in routes)


# -- Scheduled jobs -----------------------------------------------------------------------------


def test_job_runs_and_failures_are_counted_by_job(metered: Portal) -> None:
    def broken(_deps: object) -> str:
        raise RuntimeError("the job broke")

    failing = replace(JOBS_BY_ID["tidy-up"], id="tidy-up-broken", run=broken)
    jobs: dict[str, JobSpec] = {"tidy-up": JOBS_BY_ID["tidy-up"], failing.id: failing}
    runner = JobRunner(metered.deps, holder="worker-metrics", jobs=jobs)
    metered.clock.now = NOW + timedelta(days=3)
    before = scrape(metered.url)
    assert runner.run("tidy-up").ran
    assert not runner.run("tidy-up").ran  # the slot has run: skipped
    assert runner.run(failing.id).outcome.startswith("failed")
    after = scrape(metered.url)
    runs = "portal_job_runs_total"
    assert moved(before, after, runs, job="tidy-up", outcome="succeeded") == 1
    assert moved(before, after, runs, job="tidy-up", outcome="skipped") == 1
    assert moved(before, after, runs, job="tidy-up-broken", outcome="failed") == 1
    durations = "portal_job_duration_seconds_count"
    assert moved(before, after, durations, job="tidy-up") == 1
    assert moved(before, after, durations, job="tidy-up-broken") == 1


def test_the_worker_serves_its_job_metrics_on_its_own_port(metered: Portal) -> None:
    port = free_port()
    settings = metered.deps.settings.model_copy(update={"WORKER_METRICS_PORT": port})
    deps = replace(metered.deps, settings=settings)
    worker = Worker.create(deps, blocking=False)
    worker.start()
    try:
        metered.clock.now = NOW + timedelta(days=5)
        assert worker.runner.run("tidy-up").ran
        response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert response.status_code == 200
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        }
        assert value(samples, "portal_job_runs_total", job="tidy-up", outcome="succeeded") == 1
    finally:
        worker.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


# -- Payments -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paying(engine: Engine) -> Iterator[pay.PaymentsHarness]:
    """The whole app with localstripe, as tests/payments runs it, with METRICS_TOKEN set."""
    stripe_server = pay.LocalStripe().start()
    slack = pay.start_fake_slack()
    port = free_port()
    settings = pay.stripe_settings(
        stripe_server,
        SLACK_BOT_TOKEN=pay.BOT_TOKEN,
        SLACK_SIGNING_SECRET=pay.SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=engine.url.render_as_string(hide_password=False),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        METRICS_TOKEN=TOKEN,
    )
    clock = pay.Clock()
    deps = replace(
        build_deps(settings, engine=engine, clock=clock), gateway=pay.gateway_for_tests(settings)
    )
    server = BackgroundServer(build_web(settings, deps), port=port).start()
    harness = pay.PaymentsHarness(
        stripe_server=stripe_server,
        slack=slack,
        engine=engine,
        clock=clock,
        settings=settings,
        deps=deps,
        payments=Payments.from_deps(deps),
        server=server,
    )
    harness.reset()
    try:
        yield harness
    finally:
        server.stop()
        slack.stop()
        stripe_server.close()
        reset_database(engine)


def test_payments_are_counted_by_outcome(paying: pay.PaymentsHarness) -> None:
    before = scrape(paying.url)
    statuses = []
    for number in (pay.VISA, pay.DECLINES, pay.NEEDS_AUTH):
        account_id = paying.make_account()
        paying.save_card(account_id, number)
        outcome = paying.payments.start_credits_purchase(
            account_id=account_id,
            quantity=100,
            creation_key=f"V0METRICS{account_id}",
            user_id=pay.ADMIN,
            channel_id=pay.PORTAL_CHANNEL,
        )
        statuses.append(outcome.status.value)
    assert statuses == ["succeeded", "failed", "requires_action"]
    after = scrape(paying.url)
    total = "portal_payments_total"
    assert moved(before, after, total, outcome="succeeded") == 1
    assert moved(before, after, total, outcome="declined") == 1
    assert moved(before, after, total, outcome="requires_action") == 1
    assert sum(moved(before, after, total, outcome=o) for o in metrics.PAYMENT_OUTCOMES) == 3


def test_a_payment_move_that_rolls_back_is_not_counted(paying: pay.PaymentsHarness) -> None:
    account_id = paying.make_account()
    invoice_id = paying.service_invoice(account_id)
    before = scrape(paying.url)

    def move_then_fail() -> None:
        with paying.session() as session:
            payment = Payment(
                account_id=account_id,
                amount_minor=100,
                currency="GBP",
                attempt=1,
                idempotency_key=f"metrics-rollback:{invoice_id}",
                status=PaymentStatus.CREATED,
                created_at=NOW,
                updated_at=NOW,
            )
            session.add(payment)
            session.flush()
            transition_payment(payment, PaymentStatus.SUCCEEDED)
            raise RuntimeError("the transaction fails after the move")

    with pytest.raises(RuntimeError, match="fails after the move"):
        move_then_fail()
    after = scrape(paying.url)
    assert moved(before, after, "portal_payments_total", outcome="succeeded") == 0


# -- Several gunicorn workers ---------------------------------------------------------------------


def test_under_gunicorn_with_two_workers_metrics_add_up_every_worker(tmp_path: Path) -> None:
    """`serve --workers 2` with PROMETHEUS_MULTIPROC_DIR: each scrape counts both workers."""
    port = free_port()
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    (multiproc / "counter_99999.db").write_bytes(b"left by an earlier run")  # emptied at start
    with FakeSlack(bot_token=BOT_TOKEN, team_id=TEAM_ID) as fake:
        env = serve_env(
            port=port,
            database=tmp_path / "served.db",
            slack_api_url=fake.api_url,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            METRICS_TOKEN=TOKEN,
            PROMETHEUS_MULTIPROC_DIR=str(multiproc),
        )
        with served(env, workers=2, threads=2) as base:
            # New connections each time, so both workers answer some of them.
            for _ in range(40):
                assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
            with SlackRequestSender(f"{base}/slack/events", SIGNING_SECRET, fake=fake) as sender:
                for _ in range(6):
                    assert sender.slash_command(ADMIN, "help").status_code == 200
            workers = {path.name.rsplit("_", 1)[1] for path in multiproc.glob("counter_*.db")}
            assert "99999.db" not in workers
            assert len(workers) == 2  # both workers counted something
            for _ in range(4):  # whichever worker answers the scrape, the totals are the same
                samples = scrape(base)
                healthz = {"method": "GET", "route": "/healthz", "status": "200"}
                assert value(samples, "portal_http_requests_total", **healthz) == 41
                help_command = {"kind": "command", "action": "help", "status": "200"}
                assert value(samples, "portal_slack_requests_total", **help_command) == 6


# -- Labels from hostile bodies -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"[1, 2]"),
        ("application/json", b"{not json"),
        ("application/json", b'{"type": "event_callback", "event": "x"}'),
        ("application/x-www-form-urlencoded", b"payload=%5B%5D"),
        ("application/x-www-form-urlencoded", b"payload=%7Bbad"),
        ("application/x-www-form-urlencoded", b'payload={"type": "block_actions", "actions": 7}'),
        ("application/x-www-form-urlencoded", b"\xff\xfe"),
        ("application/x-www-form-urlencoded", b"command=%2Fother&text=account"),
        (None, b""),
    ],
)
def test_malformed_bodies_get_bounded_labels(content_type: str | None, body: bytes) -> None:
    kind, action = slack_labels(content_type, body)
    assert action == "other"
    assert kind in {"other", "event", "block_actions", "command"}


def test_the_command_words_are_the_handlers_words() -> None:
    assert set(commands._words()) == COMMAND_WORDS


def _route(route: str, status: str) -> dict[str, str]:
    return {"method": "POST", "route": route, "status": status}


def _block_actions(action_id: str) -> dict[str, object]:
    return {
        "type": "block_actions",
        "user": {"id": ADMIN, "team_id": TEAM_ID},
        "team": {"id": TEAM_ID},
        "api_app_id": "A0PORTAL",
        "trigger_id": "1.2.3",
        "container": {"type": "message", "channel_id": "C0GENERAL"},
        "channel": {"id": "C0GENERAL"},
        "response_url": "https://hooks.slack.invalid/1",
        "actions": [{"action_id": action_id, "block_id": "b", "type": "button", "value": "x"}],
    }
