"""The card and payment pages over plain HTTP: links, roles, CSRF, headers, odd requests."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from bot.links import issue_link
from bot.payments import BillingAddress
from store.enums import InvoiceStatus, LinkPurpose, PaymentStatus
from tests.payments.conftest import (
    ADMIN,
    FINANCE,
    NEEDS_AUTH,
    PORTAL_CHANNEL,
    VIEWER,
    VISA,
    PaymentsHarness,
)

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
SECRET = re.compile(r'data-secret="([^"]+)"')
ADDRESS = BillingAddress(
    forename="Ada",
    surname="Lovelace",
    line1="1 Example Street",
    town="London",
    postcode="EC1A 1AA",
    country="GB",
)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def _link(app: PaymentsHarness, account_id: int, purpose: LinkPurpose, user: str = ADMIN) -> str:
    with app.session() as session:
        return issue_link(
            session=session,
            settings=app.settings,
            account_id=account_id,
            slack_user_id=user,
            purpose=purpose,
            channel_id=PORTAL_CHANNEL,
            now=app.clock(),
        )


def test_the_card_page_sends_its_headers_and_a_fresh_setup_intent(
    app: PaymentsHarness, http: requests.Session
) -> None:
    account_id = app.make_account()
    url = app.payments.begin_card_setup(
        account_id=account_id, user_id=ADMIN, channel_id=PORTAL_CHANNEL, address=ADDRESS
    )
    first, second = http.get(url, timeout=10), http.get(url, timeout=10)

    assert first.status_code == second.status_code == 200
    assert first.headers["Cache-Control"] == "no-store"
    assert first.headers["X-Frame-Options"] == "DENY"
    nonce = re.search(r"'nonce-([^']+)'", first.headers["Content-Security-Policy"])
    assert nonce is not None
    assert f'<script nonce="{nonce.group(1)}">' in first.text
    assert f'<script src="{app.stripe_server.url}/js.stripe.com/v3/"></script>' in first.text
    assert "portal_pay_csrf" in first.headers["Set-Cookie"]
    secrets = {SECRET.search(page.text).group(1) for page in (first, second)}  # type: ignore[union-attr]
    assert len(secrets) == 2
    assert all(s.startswith("seti_") for s in secrets)
    assert 'name="card' not in first.text  # no form field could ever carry the card
    account = app.account(account_id)
    assert (account.billing_forename, account.billing_town, account.billing_country) == (
        "Ada",
        "London",
        "GB",
    )


def test_only_admins_open_the_card_page_and_money_roles_the_payment_page(
    app: PaymentsHarness, http: requests.Session
) -> None:
    account_id = app.make_account()
    assert (
        http.get(_link(app, account_id, LinkPurpose.ADD_CARD, FINANCE), timeout=10).status_code
        == 403
    )
    assert (
        http.get(_link(app, account_id, LinkPurpose.ADD_CARD, VIEWER), timeout=10).status_code
        == 403
    )
    # A link for one page does not open the other.
    card = _link(app, account_id, LinkPurpose.ADD_CARD)
    assert http.get(card.replace("/add-card/", "/pay/"), timeout=10).status_code == 404
    assert http.get(card.replace("/add-card/", "/change-password/"), timeout=10).status_code == 404
    # A payment page link bound to no payment is no link at all.
    assert http.get(_link(app, account_id, LinkPurpose.PAY, FINANCE), timeout=10).status_code == 404


def test_posts_need_the_csrf_token_and_a_setup_intent_of_this_account(
    app: PaymentsHarness, http: requests.Session
) -> None:
    account_id = app.make_account()
    other_id = app.make_account()
    url = app.payments.begin_card_setup(
        account_id=account_id, user_id=ADMIN, channel_id=PORTAL_CHANNEL, address=ADDRESS
    )
    foreign = app.payments.open_card_setup(account_id=other_id)
    assert foreign.client_secret is not None
    app.stripe_server.confirm_setup_intent(foreign.client_secret, VISA)

    no_cookie = requests.post(url, data={"csrf_token": "x", "setup_intent": foreign.id}, timeout=10)
    csrf = CSRF_INPUT.search(http.get(url, timeout=10).text).group(1)  # type: ignore[union-attr]
    bogus = http.post(
        url, data={"csrf_token": csrf, "setup_intent": "4242424242424242"}, timeout=10
    )
    theirs = http.post(url, data={"csrf_token": csrf, "setup_intent": foreign.id}, timeout=10)

    assert no_cookie.status_code == 400
    assert bogus.status_code == 400
    assert theirs.status_code == 400
    assert "belongs to another account" in theirs.text
    assert app.account(account_id).card_last4 is None
    assert app.account(other_id).card_last4 is None
    assert app.slack.calls() == []


def test_the_payment_page_after_the_payment_went_through(
    app: PaymentsHarness, http: requests.Session
) -> None:
    account_id = app.make_account()
    app.save_card(account_id, NEEDS_AUTH)
    invoice_id = app.service_invoice(account_id)
    outcome = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=FINANCE, channel_id=PORTAL_CHANNEL
    )
    assert outcome.payment_link is not None
    page = http.get(outcome.payment_link, timeout=10)
    assert page.status_code == 200
    assert "Your bank needs you to confirm this payment with Visa •••• 3155" in page.text
    (intent,) = app.stripe_server.payment_intents()
    assert f'data-secret="{intent["client_secret"]}"' in page.text

    # Stripe.js finished; the page posts back only the PaymentIntent id.
    app.stripe_server.authenticate(intent["id"], intent["client_secret"], success=True)
    csrf = CSRF_INPUT.search(page.text).group(1)  # type: ignore[union-attr]
    done = http.post(
        outcome.payment_link, data={"csrf_token": csrf, "payment_intent": intent["id"]}, timeout=10
    )
    assert done.status_code == 200
    assert "Your transaction was successful" in done.text
    assert app.invoice(invoice_id).status is InvoiceStatus.PAID
    assert http.get(outcome.payment_link, timeout=10).status_code == 410


def test_a_failed_authentication_keeps_the_payment_waiting_and_says_why(
    app: PaymentsHarness, http: requests.Session
) -> None:
    account_id = app.make_account()
    app.save_card(account_id, NEEDS_AUTH)
    invoice_id = app.service_invoice(account_id)
    outcome = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=ADMIN, channel_id=PORTAL_CHANNEL
    )
    assert outcome.payment_link is not None
    page = http.get(outcome.payment_link, timeout=10)
    (intent,) = app.stripe_server.payment_intents()
    app.stripe_server.authenticate(intent["id"], intent["client_secret"], success=False)
    csrf = CSRF_INPUT.search(page.text).group(1)  # type: ignore[union-attr]

    back = http.post(
        outcome.payment_link, data={"csrf_token": csrf, "payment_intent": intent["id"]}, timeout=10
    )

    assert back.status_code == 200
    assert "Your bank could not confirm it was you." in back.text
    assert app.invoice(invoice_id).status is InvoiceStatus.PAYING
    rows = app.payment_rows()
    assert [p.status for p in rows] == [PaymentStatus.REQUIRES_ACTION]


def test_stripe_down_when_the_card_page_opens(app: PaymentsHarness, http: requests.Session) -> None:
    account_id = app.make_account()
    url = app.payments.begin_card_setup(
        account_id=account_id, user_id=ADMIN, channel_id=PORTAL_CHANNEL, address=ADDRESS
    )
    app.stripe_server.stop()
    try:
        page = http.get(url, timeout=10)
    finally:
        app.stripe_server.start(from_scratch=False)
    assert page.status_code == 503
    assert "try again" in page.text
    assert http.get(url, timeout=10).status_code == 200  # the link still works afterwards
