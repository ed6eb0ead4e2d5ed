"""The real app, the real `stripe` library and localstripe, each over real HTTP.

`LocalStripe` runs localstripe (GPL: only ever run, as a separate process) on a free
127.0.0.1 port; its data is flushed between tests with `DELETE /_config/data`, and the fault
tests stop it (SIGTERM, then a restart that reloads its state) or freeze it (SIGSTOP/SIGCONT:
requests reach it and get no answer). `PaymentsHarness` runs the whole web app (Slack events,
secure pages, card and payment pages, Stripe webhook) on a werkzeug server, with the fake Slack
Web API and a hand-moved clock. Both are plain classes so the browser tests can use them too.

localstripe is started through the sandbox's launcher (`bot.sandbox.stripe_server`), which keeps
its state in a file of this run's own instead of the fixed /tmp/localstripe.pickle, so runs on
the same machine never share state, and the restart reloads exactly what this run saved.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, func, select

from bot import invoices, pricing
from bot.accounts import set_finance_channel
from bot.deps import Deps, build_deps
from bot.gateway import StripeGateway, make_stripe_client
from bot.payments import Payments
from bot.sandbox.slack_api import FakeSlack, RecordedCall
from bot.server import BackgroundServer, build_web
from bot.settings import Settings
from bot.users import add_user
from store.db import transaction
from store.enums import InvoiceKind, Role
from store.models import Account, Invoice, Payment
from tests.conftest import NOW, reset_database
from tests.factories import make_account

SECRET_KEY = "sk_test_portal_payments"
PUBLISHABLE_KEY = "pk_test_portal_payments"
WEBHOOK_SECRET = "whsec_test_portal_payments"
SIGNING_SECRET = "test-signing-secret-payments"
BOT_TOKEN = "xoxb-test-token"
USAGE_TOKEN = "usage-token-for-the-tests"  # the usage API's bearer token (tests/jobs)
TEAM_ID = "T0PAY"
ADMIN, FINANCE, VIEWER = "UADMIN", "UFIN", "UVIEW"
PORTAL_CHANNEL, FINANCE_CHANNEL = "C0PORTAL", "C0FINANCE"

VISA = "4242424242424242"  # succeeds
DECLINES = "4000000000000341"  # attaches, then every charge is declined
NEEDS_AUTH = "4000002500003155"  # the bank asks the customer to authenticate
STRIPE_TIMEOUT = 2.0  # seconds: localstripe answers in milliseconds unless frozen


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _localstripe_command(port: int, state: Path) -> list[str]:
    # The sandbox's launcher: 127.0.0.1 only, and its state in a file of this run's own rather
    # than localstripe's fixed /tmp/localstripe.pickle, which another run may be writing.
    return [
        sys.executable,
        "-m",
        "bot.sandbox.stripe_server",
        "--port",
        str(port),
        "--state",
        str(state),
    ]


class LocalStripe:
    """localstripe in its own process, and the calls Stripe.js and Stripe's dashboard make."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state = Path(tempfile.mkdtemp(prefix="localstripe-")) / "state.pickle"
        self._process: subprocess.Popen[bytes] | None = None
        self.http = requests.Session()
        self.http.auth = (SECRET_KEY, "")

    # The process --------------------------------------------------------------------------

    def start(self, *, from_scratch: bool = True) -> LocalStripe:
        if from_scratch:
            self.state.unlink(missing_ok=True)
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter's localstripe
            _localstripe_command(self.port, self.state),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                if requests.get(f"{self.url}/js.stripe.com/v3/", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                pass
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"localstripe did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Terminate it (its state stays in its pickle for `start(from_scratch=False)`)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # in case it was frozen
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP: connections are accepted by the kernel and never answered."""
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGCONT)

    def close(self) -> None:
        self.stop()
        self.http.close()

    # Configuration ------------------------------------------------------------------------

    def flush(self) -> None:
        self.http.delete(f"{self.url}/_config/data", timeout=5).raise_for_status()

    def register_webhook(self, url: str, secret: str = WEBHOOK_SECRET) -> None:
        self.http.post(
            f"{self.url}/_config/webhooks/portal",
            data={"url": url, "secret": secret},
            timeout=5,
        ).raise_for_status()

    def unregister_webhook(self) -> None:
        # localstripe has no delete; point the hook at a closed port instead.
        self.register_webhook(f"http://127.0.0.1:{free_port()}/gone")

    # The browser's side, as localstripe's Stripe.js does it (publishable key only) ----------

    def confirm_setup_intent(self, client_secret: str, number: str) -> dict[str, Any]:
        """`stripe.confirmCardSetup` with a card typed into the Card Element."""
        setup_intent = client_secret.split("_secret_", maxsplit=1)[0]
        body = {
            "key": PUBLISHABLE_KEY,
            "use_stripe_sdk": True,
            "client_secret": client_secret,
            "payment_method_data": {
                "type": "card",
                "card": {"number": number, "exp_month": "12", "exp_year": "2030", "cvc": "123"},
                "billing_details": {"address": {"postal_code": "EC1A 1AA"}},
            },
        }
        answer = requests.post(
            f"{self.url}/v1/setup_intents/{setup_intent}/confirm", data=json.dumps(body), timeout=5
        ).json()
        if answer.get("status") == "requires_action":  # "Complete authentication"
            answer = requests.post(
                f"{self.url}/v1/setup_intents/{setup_intent}/confirm",
                data=json.dumps(
                    {"key": PUBLISHABLE_KEY, "use_stripe_sdk": True, "client_secret": client_secret}
                ),
                timeout=5,
            ).json()
        return dict(answer)

    def authenticate(self, payment_intent: str, client_secret: str, *, success: bool) -> Any:
        """`stripe.confirmCardPayment`: the customer completes (or fails) 3-D Secure."""
        return requests.post(
            f"{self.url}/v1/payment_intents/{payment_intent}/_authenticate",
            params={"success": "true" if success else "false"},
            data=json.dumps({"key": PUBLISHABLE_KEY, "client_secret": client_secret}),
            timeout=5,
        ).json()

    # Reading its state, as the Stripe dashboard would ---------------------------------------

    def get(self, path: str, **params: Any) -> Any:
        answer = self.http.get(f"{self.url}{path}", params=params, timeout=5)
        answer.raise_for_status()
        return answer.json()

    def post(self, path: str, **data: Any) -> Any:
        answer = self.http.post(f"{self.url}{path}", data=data, timeout=5)
        answer.raise_for_status()
        return answer.json()

    def payment_intents(self) -> list[dict[str, Any]]:
        return list(self.get("/v1/payment_intents", limit=100)["data"])

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return list(self.get("/v1/events", type=event_type, limit=100)["data"])


@dataclass
class Clock:
    """`Deps.clock` that tests move by hand."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class PaymentsHarness:
    """The running app with localstripe and the fake Slack; helpers to arrange and read."""

    stripe_server: LocalStripe
    slack: FakeSlack
    engine: Engine
    clock: Clock
    settings: Settings
    deps: Deps
    payments: Payments
    server: BackgroundServer
    seeded: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    # Arranging ------------------------------------------------------------------------------

    def session(self) -> Any:
        return transaction(self.deps.session_factory)

    def make_account(self, *, finance_channel: bool = True) -> int:
        """An account whose admin is ADMIN, with FINANCE and VIEWER users."""
        with self.session() as session:
            account = make_account(session, now=self.clock(), admin_user_id=ADMIN)
            account.workspace.team_id = f"{TEAM_ID}{account.id}"
            for user, role in ((FINANCE, Role.FINANCE), (VIEWER, Role.VIEWER)):
                add_user(
                    session=session,
                    account=account,
                    slack_user_id=user,
                    role=role,
                    added_by=ADMIN,
                    now=self.clock(),
                )
            if finance_channel:
                set_finance_channel(
                    session=session,
                    account=account,
                    channel_id=FINANCE_CHANNEL,
                    actor=ADMIN,
                    now=self.clock(),
                )
            session.flush()
            return account.id

    def save_card(self, account_id: int, number: str = VISA) -> None:
        """The card page's round trip without a browser: SetupIntent, Stripe.js, read-back."""
        intent = self.payments.open_card_setup(account_id=account_id)
        assert intent.client_secret is not None
        answer = self.stripe_server.confirm_setup_intent(intent.client_secret, number)
        assert answer.get("status") == "succeeded", answer
        saved = self.payments.save_card_from_setup_intent(
            setup_intent_id=intent.id, actor=ADMIN, account_id=account_id
        )
        assert saved is not None
        assert saved.saved, saved

    def service_invoice(self, account_id: int, hours: str = "2") -> int:
        """An open service invoice (Consultancy, £95/h, UK VAT)."""
        with self.session() as session:
            account = session.get_one(Account, account_id)
            service = next(
                s for s in pricing.active_services(session=session) if s.name == "Consultancy"
            )
            quote = pricing.quote_service_for(
                session=session,
                account=account,
                service_id=service.id,
                hours=Decimal(hours),
                on=self.clock().date(),
            )
            invoice = invoices.create_invoice(
                session=session,
                account=account,
                kind=InvoiceKind.SERVICES,
                quotes=[quote],
                actor=ADMIN,
                now=self.clock(),
            )
            return invoice.id

    # Reading --------------------------------------------------------------------------------

    def read(self, fn: Any) -> Any:
        with self.session() as session:
            return fn(session)

    def invoice(self, invoice_id: int) -> Invoice:
        return self.read(lambda s: s.get_one(Invoice, invoice_id))  # type: ignore[no-any-return]

    def account(self, account_id: int) -> Account:
        return self.read(lambda s: s.get_one(Account, account_id))  # type: ignore[no-any-return]

    def payment_rows(self) -> list[Payment]:
        return self.read(lambda s: list(s.scalars(select(Payment).order_by(Payment.id))))  # type: ignore[no-any-return]

    def count(self, model: Any) -> int:
        return int(self.read(lambda s: s.scalar(select(func.count()).select_from(model))))

    def told(self, method: str, channel: str) -> list[RecordedCall]:
        return [call for call in self.slack.calls(method) if call.params.get("channel") == channel]

    def sign(self, event: dict[str, Any], *, secret: str = WEBHOOK_SECRET) -> tuple[bytes, str]:
        return sign(event, secret=secret)

    def deliver(self, event: dict[str, Any], *, secret: str = WEBHOOK_SECRET) -> requests.Response:
        body, header = sign(event, secret=secret)
        return requests.post(
            f"{self.url}/stripe/webhook",
            data=body,
            headers={"Content-Type": "application/json", "Stripe-Signature": header},
            timeout=10,
        )

    def reset(self) -> None:
        reset_database(self.engine)
        self.stripe_server.flush()
        self.slack.clear()
        self.clock.now = NOW


def sign(event: dict[str, Any], *, secret: str = WEBHOOK_SECRET) -> tuple[bytes, str]:
    """A body and `Stripe-Signature` header as Stripe (and localstripe) make them."""
    body = json.dumps(event, indent=2, sort_keys=True).encode("utf-8")
    timestamp = int(time.time())
    signed = hmac.new(secret.encode("utf-8"), b"%d.%s" % (timestamp, body), hashlib.sha256)
    return body, f"t={timestamp},v1={signed.hexdigest()}"


def stripe_settings(stripe_server: LocalStripe, **more: Any) -> Settings:
    return Settings(
        STRIPE_API_KEY=SECRET_KEY,  # type: ignore[arg-type]
        STRIPE_PUBLISHABLE_KEY=PUBLISHABLE_KEY,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,  # type: ignore[arg-type]
        STRIPE_API_BASE=stripe_server.url,
        STRIPE_JS_URL=f"{stripe_server.url}/js.stripe.com/v3/",
        **more,
    )


def gateway_for_tests(settings: Settings) -> StripeGateway:
    """The gateway as the tests use it: no network retries, a short timeout."""
    client = make_stripe_client(settings, max_network_retries=0, timeout=STRIPE_TIMEOUT)
    return StripeGateway(client, no_redirects=False)


def start_fake_slack() -> FakeSlack:
    fake = FakeSlack(bot_token=BOT_TOKEN, team_id=TEAM_ID).start()
    for user, name in ((ADMIN, "ada"), (FINANCE, "fin"), (VIEWER, "vic")):
        fake.add_user(user, name)
    fake.add_channel(PORTAL_CHANNEL, "portal")
    fake.add_channel(FINANCE_CHANNEL, "finance")
    return fake


def start_harness(engine: Engine, stripe_server: LocalStripe, slack: FakeSlack) -> PaymentsHarness:
    """The whole web app for `engine`, on a free port, talking to `stripe_server`."""
    port = free_port()
    settings = stripe_settings(
        stripe_server,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=engine.url.render_as_string(hide_password=False),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        USAGE_API_TOKEN=USAGE_TOKEN,
    )
    clock = Clock()
    deps = build_deps(settings, engine=engine, clock=clock)
    deps = replace(deps, gateway=gateway_for_tests(settings))
    server = BackgroundServer(build_web(settings, deps), port=port).start()
    return PaymentsHarness(
        stripe_server=stripe_server,
        slack=slack,
        engine=engine,
        clock=clock,
        settings=settings,
        deps=deps,
        payments=Payments.from_deps(deps),
        server=server,
    )


@pytest.fixture(scope="session")
def localstripe() -> Iterator[LocalStripe]:
    server = LocalStripe().start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def payments_slack() -> Iterator[FakeSlack]:
    fake = start_fake_slack()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def running_app(
    engine: Engine, localstripe: LocalStripe, payments_slack: FakeSlack
) -> Iterator[PaymentsHarness]:
    harness = start_harness(engine, localstripe, payments_slack)
    yield harness
    harness.server.stop()


@pytest.fixture
def app(running_app: PaymentsHarness) -> Iterator[PaymentsHarness]:
    """The running app, an empty database and localstripe, no Slack calls, the clock at NOW."""
    if running_app.stripe_server._process is None:  # a fault test left it stopped
        running_app.stripe_server.start()
    running_app.reset()
    yield running_app
    running_app.stripe_server.unregister_webhook()
