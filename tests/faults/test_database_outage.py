"""PostgreSQL cut off under the served app, then back: 503s and "try again", nothing lost.

`python -m bot serve` reaches PostgreSQL through a `TcpProxy`; the test cuts the proxy (every
connection reset, new ones refused) and restores it, never touching the server or the app.
While cut, `/healthz` says 503, a person's `/portal` is acknowledged and answered in plain words,
and a Stripe webhook gets a 503 so Stripe delivers it again. Once back, the same delivery is
applied exactly once and the person and the finance channel are told once.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, make_url, select

from bot.sandbox.slack_api import FakeSlack, RecordedCall
from bot.sandbox.slack_requests import plain_text
from bot.ui.ids import Act, Blk, Cb
from bot.ui.payments import SUCCESS
from bot.web import HEALTH_TIMEOUT_SECONDS
from store.enums import InvoiceStatus, PaymentStatus
from store.models import Invoice, Payment, ProcessedEvent
from tests.faults.conftest import ServedApp, new_served_app, sender_for, wait_until
from tests.faults.tcp_proxy import TcpProxy
from tests.payments.conftest import (
    ADMIN,
    FINANCE_CHANNEL,
    NEEDS_AUTH,
    PORTAL_CHANNEL,
    PaymentsHarness,
    sign,
)
from tests.slack.conftest import text_of

UNREACHABLE = "We can't reach our records right now, so we couldn't finish that"


def _health(app: ServedApp) -> tuple[int, Any]:
    answer = requests.get(f"{app.url}/healthz", timeout=10)
    return answer.status_code, answer.json()


def _deliver(app: ServedApp, event: dict[str, Any]) -> requests.Response:
    """One delivery of `event`, signed as Stripe signs it."""
    body, header = sign(event)
    return requests.post(
        f"{app.url}/stripe/webhook",
        data=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": header},
        timeout=15,
    )


def _answers(slack: FakeSlack, user: str, contains: str) -> list[RecordedCall]:
    """What `user` was told privately (response_url, ephemeral, DM) containing `contains`."""
    return [
        call
        for call in slack.calls()
        if (
            call.method == "response_url"
            or (
                call.method in ("chat.postEphemeral", "chat.postMessage")
                and user in (call.params.get("user"), call.params.get("channel"))
            )
        )
        and contains in text_of(call.params)
    ]


def test_database_cut_off_then_back_loses_nothing(
    harness: PaymentsHarness, served: list[ServedApp], tmp_path: Path, faults_engine: Engine
) -> None:
    slack = harness.slack
    # A payment waiting for the customer, who then confirms it on Stripe's page: Stripe has
    # the money and an event to deliver, and the app has not heard yet.
    account_id = harness.make_account()
    harness.save_card(account_id, NEEDS_AUTH)
    invoice_id = harness.service_invoice(account_id)
    waiting = harness.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=ADMIN, channel_id=PORTAL_CHANNEL
    )
    assert waiting.status is PaymentStatus.REQUIRES_ACTION
    (intent,) = harness.stripe_server.payment_intents()
    harness.stripe_server.authenticate(intent["id"], intent["client_secret"], success=True)
    (event,) = harness.stripe_server.events("payment_intent.succeeded")
    slack.clear()

    database = make_url(faults_engine.url.render_as_string(hide_password=False))
    with TcpProxy(database.host or "127.0.0.1", database.port or 5432) as proxy:
        app = new_served_app(
            served,
            tmp_path,
            database_url=database.set(port=proxy.port).render_as_string(hide_password=False),
            stripe_base=harness.stripe_server.url,
            slack=slack,
        ).start()
        assert _health(app) == (200, {"status": "ok", "database": "ok"})
        with sender_for(app, slack, account_id) as sender:
            menu = sender.slash_command(ADMIN, "", channel_id=PORTAL_CHANNEL)
            assert menu.status_code == 200
            slack.wait_for("response_url", lambda c: "Purchase credits" in text_of(c.params))
            assert sender.slash_command(ADMIN, "buy 100", channel_id=PORTAL_CHANNEL).ok
            opened = slack.wait_for("views.open", timeout=10)
            assert opened.response is not None
            purchase = slack.view(opened.response["view"]["id"])
            assert purchase["callback_id"] == Cb.PURCHASE_CREDITS
            slack.clear()

            proxy.cut()

            assert _health(app) == (503, {"status": "unavailable", "database": "unreachable"})
            # The person's command is acknowledged (Slack shows no failure of its own) and
            # answered in plain words.
            command = sender.slash_command(ADMIN, "", channel_id=PORTAL_CHANNEL)
            assert command.status_code == 200
            told = slack.wait_for(
                "response_url", lambda c: UNREACHABLE in text_of(c.params), timeout=10
            )
            said = text_of(told.params)
            assert "Please try again in a minute." in said
            assert "went wrong on our side" not in said
            # A form submitted meanwhile is answered in the modal, in the same words.
            submitted = sender.view_submission(
                ADMIN, purchase, {Blk.CREDITS: {Act.CREDITS_INPUT: plain_text("100")}}
            )
            assert submitted.status_code == 200
            assert submitted.json()["response_action"] == "update"
            assert UNREACHABLE in text_of(submitted.json()["view"])
            # Stripe's delivery is refused with a 5xx, so Stripe delivers it again later.
            refused = _deliver(app, event)
            assert refused.status_code == 503, refused.text
            assert refused.headers["Retry-After"] == "60"
            assert refused.json() == {"error": "The database is unavailable; deliver again later."}
            assert _answers(slack, ADMIN, SUCCESS) == []

            proxy.restore()

            assert _health(app) == (200, {"status": "ok", "database": "ok"})
            # Stripe delivers again: applied once; any further delivery is a duplicate.
            applied = _deliver(app, event)
            assert (applied.status_code, applied.json()["result"]) == (200, "changed")
            assert _deliver(app, event).json()["result"] == "duplicate"
            # And the person can use the portal again.
            assert sender.slash_command(ADMIN, "", channel_id=PORTAL_CHANNEL).status_code == 200
            slack.wait_for("response_url", lambda c: "Purchase credits" in text_of(c.params))

        assert proxy.connections >= 2  # the app really went through the proxy, before and after
    assert proxy.alive_threads == 0

    assert harness.invoice(invoice_id).status is InvoiceStatus.PAID
    assert harness.count(Invoice) == 1  # the purchase submitted while cut off left nothing
    assert [p.status for p in harness.payment_rows()] == [PaymentStatus.SUCCEEDED]
    assert harness.read(lambda s: s.scalars(select(ProcessedEvent.key)).all()) == [event["id"]]
    payment = harness.read(lambda s: s.get_one(Payment, waiting.payment_id))
    assert payment.stripe_payment_intent_id == intent["id"]
    wait_until(lambda: len(_answers(slack, ADMIN, SUCCESS)) == 1, 5, "the person told")
    (finance,) = harness.told("chat.postMessage", FINANCE_CHANNEL)
    assert "Payment received" in finance.params["text"]
    assert len(_answers(slack, ADMIN, SUCCESS)) == 1


def test_a_silent_database_gets_503_in_bounded_time_and_work_resumes(
    harness: PaymentsHarness, served: list[ServedApp], tmp_path: Path, faults_engine: Engine
) -> None:
    """A network partition: connections stay open and nothing answers, then it heals."""
    slack = harness.slack
    account_id = harness.make_account()
    slack.clear()
    database = make_url(faults_engine.url.render_as_string(hide_password=False))
    with TcpProxy(database.host or "127.0.0.1", database.port or 5432) as proxy:
        app = new_served_app(
            served,
            tmp_path,
            database_url=database.set(port=proxy.port).render_as_string(hide_password=False),
            stripe_base=harness.stripe_server.url,
            slack=slack,
        ).start()
        assert _health(app) == (200, {"status": "ok", "database": "ok"})
        with sender_for(app, slack, account_id) as sender:
            proxy.stall()

            # Health checks answer 503 within their bound, the first and the ones after it.
            for _check in range(2):
                started = time.monotonic()
                assert _health(app) == (503, {"status": "unavailable", "database": "unreachable"})
                assert time.monotonic() - started < HEALTH_TIMEOUT_SECONDS + 1.5
            # Slack still gets its acknowledgement in time; the answer waits for the database.
            started = time.monotonic()
            assert sender.slash_command(ADMIN, "", channel_id=PORTAL_CHANNEL).status_code == 200
            assert time.monotonic() - started < 3  # Slack's deadline for an ack
            time.sleep(0.5)
            assert slack.calls("response_url") == []

            proxy.restore()

            # The partition heals: the waiting command is answered, health comes back.
            menu = slack.wait_for(
                "response_url", lambda c: "Purchase credits" in text_of(c.params), timeout=10
            )
            assert UNREACHABLE not in text_of(menu.params)
            wait_until(lambda: _health(app)[0] == 200, 10, "/healthz to answer 200")
    assert proxy.alive_threads == 0
