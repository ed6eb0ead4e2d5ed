"""The card page and the payment page in Debian's Chromium, with localstripe's own Stripe.js.

The card is typed into the Card Element (localstripe's stand-in for Stripe's card field), goes
to localstripe, and the app only ever sees an intent id: every request the page sends to the
app is recorded and checked for the card number.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.payment_notifier import notify_payment
from bot.payments import BillingAddress
from store.enums import InvoiceStatus, PaymentStatus
from tests.payments.conftest import (
    ADMIN,
    FINANCE_CHANNEL,
    NEEDS_AUTH,
    PORTAL_CHANNEL,
    VISA,
    LocalStripe,
    PaymentsHarness,
    start_fake_slack,
    start_harness,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADDRESS = BillingAddress(
    forename="Ada",
    surname="Lovelace",
    line1="1 Example Street",
    town="London",
    postcode="EC1A 1AA",
    country="GB",
)

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"Debian's Chromium is not installed at {CHROMIUM}"
)

if Path(CHROMIUM).exists():
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request, expect, sync_playwright


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def running(engine: Engine) -> Iterator[PaymentsHarness]:
    stripe_server = LocalStripe().start()
    slack = start_fake_slack()
    harness = start_harness(engine, stripe_server, slack)
    yield harness
    harness.server.stop()
    slack.stop()
    stripe_server.close()


@pytest.fixture
def app(running: PaymentsHarness) -> PaymentsHarness:
    running.reset()
    return running


class AppTraffic:
    """Every request the page sends to the app (not to Stripe)."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> None:
        if request.url.startswith(self.origin):
            self.requests.append(request)

    def assert_no_card_number(self, number: str) -> None:
        assert self.requests, "the page sent nothing to the app"
        for request in self.requests:
            sent = request.url + (request.post_data or "") + str(request.headers)
            assert number not in sent, request.url
            assert number[-8:] not in sent, request.url

    def posted_fields(self) -> list[set[str]]:
        """The field names of every form the page posted to the app."""
        return [
            {pair.split("=", 1)[0] for pair in (request.post_data or "").split("&")}
            for request in self.requests
            if request.method == "POST"
        ]


@pytest.fixture
def page(browser: Browser, app: PaymentsHarness) -> Iterator[tuple[Page, AppTraffic]]:
    """A fresh context recording app-bound requests; fails on Content Security Policy errors."""
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    traffic = AppTraffic(app.url)
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            problems.append(message.text)

    page.on("request", traffic)
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page, traffic
    context.close()
    assert problems == [], problems


def _type_card(page: Page, number: str) -> None:
    """Type into localstripe's Card Element, as a person would."""
    element = page.locator("#card-element")
    element.locator('input[placeholder="number"]').fill(number)
    element.locator('input[placeholder="exp_month"]').fill("12")
    element.locator('input[placeholder="exp_year"]').fill("30")
    element.locator('input[placeholder="cvc"]').fill("123")
    element.locator('input[placeholder="postal_code"]').fill("EC1A")


def _shot(page: Page, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 0


def test_the_card_page_saves_a_card_and_slack_shows_it(
    app: PaymentsHarness, page: tuple[Page, AppTraffic], tmp_path: Path
) -> None:
    browser_page, traffic = page
    account_id = app.make_account()
    url = app.payments.begin_card_setup(
        account_id=account_id, user_id=ADMIN, channel_id=PORTAL_CHANNEL, address=ADDRESS
    )

    response = browser_page.goto(url)
    assert response is not None
    assert response.status == 200
    policy = dict(
        directive.split(" ", 1)
        for directive in response.headers["content-security-policy"].split("; ")
    )
    # Exactly the Stripe.js origin, and the page's own script by its nonce.
    assert policy["script-src"].startswith(f"{app.stripe_server.url} 'nonce-")
    assert len(policy["script-src"].split()) == 2
    assert policy["frame-src"] == policy["connect-src"] == app.stripe_server.url
    assert policy["default-src"] == "'none'"
    expect(browser_page.get_by_role("heading", level=1)).to_have_text("Add Payment Details")
    _type_card(browser_page, VISA)
    _shot(browser_page, tmp_path, "card-typed")
    browser_page.get_by_role("button", name="Save card").click()

    expect(browser_page.get_by_role("heading", level=1)).to_have_text("Card saved")
    expect(browser_page.get_by_role("main")).to_contain_text("Your transaction was successful")
    expect(browser_page.get_by_role("main")).to_contain_text("Visa •••• 4242, expires 12/2030")
    _shot(browser_page, tmp_path, "card-saved")

    told = app.slack.wait_for("chat.postEphemeral")
    assert (told.params["channel"], told.params["user"]) == (PORTAL_CHANNEL, ADMIN)
    assert "Your transaction was successful" in told.params["text"]
    assert "Visa •••• 4242, expires 12/2030" in str(told.params["blocks"])
    finance = app.slack.wait_for("chat.postMessage")
    assert finance.params["channel"] == FINANCE_CHANNEL
    assert "Card added by <@UADMIN>: Visa •••• 4242, expires 12/2030" in finance.params["text"]
    account = app.account(account_id)
    assert (account.card_brand, account.card_last4, account.card_exp_month) == ("visa", "4242", 12)
    assert account.billing_postcode == "EC1A 1AA"

    # The card number never went to the app: only a SetupIntent id and the CSRF token did.
    traffic.assert_no_card_number(VISA)
    assert traffic.posted_fields() == [{"csrf_token", "setup_intent"}]

    again = browser_page.goto(url)
    assert again is not None
    assert again.status == 410  # used up


def test_authentication_needed_is_completed_on_the_payment_page(
    app: PaymentsHarness, page: tuple[Page, AppTraffic], tmp_path: Path
) -> None:
    browser_page, traffic = page
    account_id = app.make_account()
    card_url = app.payments.begin_card_setup(
        account_id=account_id, user_id=ADMIN, channel_id=PORTAL_CHANNEL, address=ADDRESS
    )
    browser_page.goto(card_url)
    _type_card(browser_page, NEEDS_AUTH)
    browser_page.get_by_role("button", name="Save card").click()
    # Saving this card asks for authentication too: localstripe's 3-D Secure box.
    browser_page.get_by_role("button", name="Complete authentication").click()
    expect(browser_page.get_by_role("heading", level=1)).to_have_text("Card saved")
    invoice_id = app.service_invoice(account_id)
    app.slack.clear()

    outcome = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=ADMIN, channel_id=PORTAL_CHANNEL
    )
    notify_payment(app.deps.slack, outcome)
    assert outcome.status is PaymentStatus.REQUIRES_ACTION
    posted = app.slack.wait_for("chat.postEphemeral")
    assert outcome.payment_link is not None
    assert outcome.payment_link in str(posted.params["blocks"])

    browser_page.goto(outcome.payment_link)
    expect(browser_page.get_by_role("heading", level=1)).to_have_text("Make a payment")
    expect(browser_page.get_by_role("main")).to_contain_text("Pay £228.00 for INV-000001")
    _shot(browser_page, tmp_path, "payment-page")
    browser_page.get_by_role("button", name="Pay £228.00").click()
    browser_page.get_by_role("button", name="Complete authentication").click()

    expect(browser_page.get_by_role("heading", level=1)).to_have_text("Payment made")
    expect(browser_page.get_by_role("main")).to_contain_text("Your transaction was successful")
    _shot(browser_page, tmp_path, "payment-made")
    assert app.invoice(invoice_id).status is InvoiceStatus.PAID
    assert len(app.stripe_server.payment_intents()) == 1
    success = app.slack.wait_for(
        "chat.postEphemeral", lambda c: "Your transaction was successful" in c.params["text"]
    )
    assert success.params["user"] == ADMIN
    app.slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == FINANCE_CHANNEL)
    traffic.assert_no_card_number(NEEDS_AUTH)
    assert traffic.posted_fields() == [
        {"csrf_token", "setup_intent"},
        {"csrf_token", "payment_intent"},
    ]


def test_a_card_the_bank_refuses_is_not_saved(
    app: PaymentsHarness, page: tuple[Page, AppTraffic]
) -> None:
    browser_page, traffic = page
    account_id = app.make_account()
    url = app.payments.begin_card_setup(
        account_id=account_id, user_id=ADMIN, channel_id=PORTAL_CHANNEL, address=ADDRESS
    )
    browser_page.goto(url)
    _type_card(browser_page, "4000000000000002")  # declined when attached
    browser_page.get_by_role("button", name="Save card").click()

    expect(browser_page.get_by_role("alert")).to_have_text("Your card was declined.")
    expect(browser_page.get_by_role("button", name="Save card")).to_be_enabled()
    assert app.account(account_id).card_last4 is None
    assert traffic.posted_fields() == []
    assert app.slack.calls("chat.postEphemeral") == []
