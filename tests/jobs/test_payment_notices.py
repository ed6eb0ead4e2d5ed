"""The feed's payment and card notices obey the settings: routing, the payment threshold, each
kind on or off, and the invoice's thread. Against localstripe, through the same service calls
and notifier the Slack handlers, the card page and the webhooks use."""

from __future__ import annotations

import re

import requests
from sqlalchemy import select

from bot import notifications
from bot.payment_notifier import notify_payment
from bot.payments import BillingAddress
from bot.sandbox.slack_api import RecordedCall
from store.models import Account, FinanceSettings, NotificationPreference
from tests.payments.conftest import (
    ADMIN,
    FINANCE,
    FINANCE_CHANNEL,
    PORTAL_CHANNEL,
    VISA,
    PaymentsHarness,
)

Kind = notifications.Kind
SECURITY = "C0SECURITY"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
SECRET = re.compile(r'data-secret="([^"]+)"')


def finance(app: PaymentsHarness, channel: str = FINANCE_CHANNEL) -> list[RecordedCall]:
    return app.told("chat.postMessage", channel)


def set_kind(
    app: PaymentsHarness,
    account_id: int,
    kind: Kind,
    *,
    enabled: bool = True,
    channel: str | None = None,
) -> None:
    with app.session() as session:
        session.add(
            NotificationPreference(
                account_id=account_id,
                kind=kind,
                enabled=enabled,
                channel_id=channel,
                updated_at=app.clock(),
            )
        )


def set_threshold(app: PaymentsHarness, account_id: int, minor: int) -> None:
    with app.session() as session:
        session.add(
            FinanceSettings(
                account_id=account_id,
                paused=False,
                payment_threshold_minor=minor,
                updated_at=app.clock(),
            )
        )


def test_a_card_added_on_the_card_page_is_told_where_the_kind_is_routed(
    app: PaymentsHarness,
) -> None:
    app.slack.add_channel(SECURITY, "security")
    account_id = app.make_account()
    set_kind(app, account_id, Kind.CARD_CHANGED, channel=SECURITY)
    url = app.payments.begin_card_setup(
        account_id=account_id,
        user_id=ADMIN,
        channel_id=PORTAL_CHANNEL,
        address=BillingAddress(
            forename="Ada",
            surname="Lovelace",
            line1="1 Example Street",
            town="London",
            postcode="EC1A 1AA",
            country="GB",
        ),
    )
    with requests.Session() as http:
        page = http.get(url, timeout=10)
        csrf, secret = CSRF_INPUT.search(page.text), SECRET.search(page.text)
        assert csrf is not None
        assert secret is not None
        app.stripe_server.confirm_setup_intent(secret.group(1), VISA)
        done = http.post(
            url,
            data={
                "csrf_token": csrf.group(1),
                "setup_intent": secret.group(1).split("_secret_")[0],
            },
            timeout=10,
        )
    assert done.status_code == 200, done.text
    (notice,) = finance(app, SECURITY)
    assert notice.params["text"] == "Card added by <@UADMIN>: Visa •••• 4242, expires 12/2030."
    assert finance(app) == []


def test_payments_under_the_threshold_are_not_posted(app: PaymentsHarness) -> None:
    account_id = app.make_account()
    app.save_card(account_id, VISA)
    set_threshold(app, account_id, 50000)  # £500
    small = app.service_invoice(account_id, "2")  # £228
    big = app.service_invoice(account_id, "5")  # £570

    for invoice_id in (small, big):
        notify_payment(
            app.deps.slack,
            app.payments.pay_invoices(
                account_id=account_id, invoice_ids=[invoice_id], user_id=FINANCE, channel_id=None
            ),
        )

    (notice,) = finance(app)
    assert notice.params["text"] == "Payment received: £570.00 for invoice INV-000002 by <@UFIN>."


def test_a_payment_follows_its_invoice_into_the_thread(app: PaymentsHarness) -> None:
    account_id = app.make_account()
    app.save_card(account_id, VISA)
    invoice_id = app.service_invoice(account_id)
    created = notifications.announce_invoice_created(app.deps, invoice_id=invoice_id, actor=ADMIN)
    assert created is not None

    outcome = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=ADMIN, channel_id=PORTAL_CHANNEL
    )
    notify_payment(app.deps.slack, outcome)

    first, paid = finance(app)
    assert first.params["text"].startswith("Invoice INV-000001 created by <@UADMIN>")
    assert paid.params["text"] == "Payment received: £228.00 for invoice INV-000001 by <@UADMIN>."
    assert paid.params["thread_ts"] == created.ts


def test_credits_bought_is_its_own_kind(app: PaymentsHarness) -> None:
    account_id = app.make_account()
    app.save_card(account_id, VISA)

    bought = app.payments.start_credits_purchase(
        account_id=account_id, quantity=100, creation_key="V1", user_id=ADMIN, channel_id=None
    )
    notify_payment(app.deps.slack, bought)
    (notice,) = finance(app)
    assert notice.params["text"] == (
        "Payment received: £108.00 for invoice INV-000001 by <@UADMIN>: 100 credits bought."
    )

    set_kind(app, account_id, Kind.CREDITS_BOUGHT, enabled=False)
    again = app.payments.start_credits_purchase(
        account_id=account_id, quantity=100, creation_key="V2", user_id=ADMIN, channel_id=None
    )
    notify_payment(app.deps.slack, again)
    assert len(finance(app)) == 1  # off: the second purchase is not posted
    assert app.read(lambda s: s.scalar(select(Account.finance_channel_id))) == FINANCE_CHANNEL
