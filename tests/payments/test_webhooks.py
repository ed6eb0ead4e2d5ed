"""`POST /stripe/webhook` over HTTP: signatures on the raw body, each event once, any order.

Events are either delivered by localstripe itself (registered with `POST /_config/webhooks/{id}`,
signed with the shared secret) or taken from localstripe's own event list and delivered again
by the test, signed the same way, to replay them or change their order.
"""

from __future__ import annotations

import time
from typing import Any

import requests
from sqlalchemy import select

from store.enums import EventSource, InvoiceStatus, PaymentStatus
from store.models import Payment, ProcessedEvent
from tests.payments.conftest import (
    ADMIN,
    DECLINES,
    FINANCE_CHANNEL,
    NEEDS_AUTH,
    PORTAL_CHANNEL,
    VISA,
    PaymentsHarness,
)


def _wait_for(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _event(event_id: str, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": obj},
    }


def _waiting_payment(app: PaymentsHarness) -> tuple[int, int, dict[str, Any]]:
    """An account whose card needs authentication, and a payment waiting for the customer."""
    account_id = app.make_account()
    app.save_card(account_id, NEEDS_AUTH)
    invoice_id = app.service_invoice(account_id)
    outcome = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=ADMIN, channel_id=PORTAL_CHANNEL
    )
    assert outcome.status is PaymentStatus.REQUIRES_ACTION
    (intent,) = app.stripe_server.payment_intents()
    return invoice_id, outcome.payment_id, intent


def test_a_bad_signature_gets_400_and_changes_nothing(app: PaymentsHarness) -> None:
    invoice_id, payment_id, intent = _waiting_payment(app)
    app.stripe_server.authenticate(intent["id"], intent["client_secret"], success=True)
    event = _event(
        "evt_forged", "payment_intent.succeeded", {"id": intent["id"], "object": "payment_intent"}
    )

    forged = app.deliver(event, secret="whsec_not_the_secret")
    unsigned = requests.post(f"{app.url}/stripe/webhook", json=event, timeout=10)
    body, header = app.sign(event)
    tampered = requests.post(
        f"{app.url}/stripe/webhook",
        data=body.replace(b"evt_forged", b"evt_forgeD"),
        headers={"Stripe-Signature": header},
        timeout=10,
    )

    assert [r.status_code for r in (forged, unsigned, tampered)] == [400, 400, 400]
    assert app.count(ProcessedEvent) == 0
    assert app.invoice(invoice_id).status is InvoiceStatus.PAYING
    assert (
        app.read(lambda s: s.get_one(Payment, payment_id).status) is PaymentStatus.REQUIRES_ACTION
    )
    assert app.slack.calls() == []


def test_localstripe_delivers_success_and_the_payment_settles_without_the_page(
    app: PaymentsHarness,
) -> None:
    app.stripe_server.register_webhook(f"{app.url}/stripe/webhook")
    invoice_id, payment_id, intent = _waiting_payment(app)

    # The customer authenticated, then closed the page before it came back to the app.
    app.stripe_server.authenticate(intent["id"], intent["client_secret"], success=True)

    _wait_for(lambda: app.invoice(invoice_id).status is InvoiceStatus.PAID)
    assert app.read(lambda s: s.get_one(Payment, payment_id).status) is PaymentStatus.SUCCEEDED
    told = app.slack.wait_for(
        "chat.postEphemeral", lambda c: "Your transaction was successful" in c.params["text"]
    )
    assert (told.params["channel"], told.params["user"]) == (PORTAL_CHANNEL, ADMIN)
    app.slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == FINANCE_CHANNEL)
    recorded = app.read(lambda s: list(s.scalars(select(ProcessedEvent.key))))
    (succeeded,) = app.stripe_server.events("payment_intent.succeeded")
    assert succeeded["id"] in recorded


def test_the_same_event_three_times_changes_state_once(app: PaymentsHarness) -> None:
    invoice_id, payment_id, intent = _waiting_payment(app)
    app.stripe_server.authenticate(intent["id"], intent["client_secret"], success=True)
    (event,) = app.stripe_server.events("payment_intent.succeeded")

    answers = [app.deliver(event) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["result"] for a in answers] == ["changed", "duplicate", "duplicate"]
    assert app.invoice(invoice_id).status is InvoiceStatus.PAID
    assert app.read(
        lambda s: s.scalars(
            select(ProcessedEvent.key).where(ProcessedEvent.source == EventSource.STRIPE)
        ).all()
    ) == [event["id"]]
    finance = app.told("chat.postMessage", FINANCE_CHANNEL)
    assert len(finance) == 1
    assert "Payment received" in finance[0].params["text"]
    # The customer comes back to the page afterwards: already settled, nobody told twice.
    page = app.payments.payment_page(payment_id=payment_id)
    assert (page.outcome.status, page.outcome.settled_now) == (PaymentStatus.SUCCEEDED, False)


def test_events_out_of_order_change_state_once(app: PaymentsHarness) -> None:
    """Attempt 1 is declined, attempt 2 succeeds; Stripe delivers the news backwards."""
    account_id = app.make_account()
    app.save_card(account_id, DECLINES)
    invoice_id = app.service_invoice(account_id)
    first = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=ADMIN, channel_id=None
    )
    assert first.status is PaymentStatus.FAILED
    app.save_card(account_id, VISA)
    second = app.payments.pay_invoices(
        account_id=account_id, invoice_ids=[invoice_id], user_id=ADMIN, channel_id=None
    )
    assert second.status is PaymentStatus.SUCCEEDED
    app.slack.clear()
    (failed,) = app.stripe_server.events("payment_intent.payment_failed")
    (succeeded,) = app.stripe_server.events("payment_intent.succeeded")

    answers = [app.deliver(e) for e in (succeeded, failed, succeeded, failed)]

    assert [a.json()["result"] for a in answers] == [
        "unchanged",
        "unchanged",
        "duplicate",
        "duplicate",
    ]
    statuses = app.read(lambda s: list(s.scalars(select(Payment.status).order_by(Payment.id))))
    assert statuses == [PaymentStatus.FAILED, PaymentStatus.SUCCEEDED]
    assert app.invoice(invoice_id).status is InvoiceStatus.PAID
    assert app.slack.calls() == []


def test_a_success_event_before_the_app_heard_back_settles_it_once(app: PaymentsHarness) -> None:
    """The webhook wins the race with the customer's return to the payment page."""
    invoice_id, payment_id, intent = _waiting_payment(app)
    app.stripe_server.authenticate(intent["id"], intent["client_secret"], success=True)
    (event,) = app.stripe_server.events("payment_intent.succeeded")

    assert app.deliver(event).json()["result"] == "changed"
    page = app.payments.payment_page(payment_id=payment_id)
    again = app.payments.complete_from_intent(payment_intent_id=intent["id"])

    assert page.outcome.status is PaymentStatus.SUCCEEDED
    assert not page.outcome.settled_now
    assert again is not None
    assert not again.settled_now
    assert app.invoice(invoice_id).status is InvoiceStatus.PAID


def test_setup_intent_succeeded_saves_a_card_the_page_never_reported(app: PaymentsHarness) -> None:
    account_id = app.make_account()
    intent = app.payments.open_card_setup(account_id=account_id)
    assert intent.client_secret is not None
    app.stripe_server.confirm_setup_intent(intent.client_secret, VISA)  # tab closed afterwards
    event = _event(
        "evt_seti_1", "setup_intent.succeeded", {"id": intent.id, "object": "setup_intent"}
    )

    answers = [app.deliver(event).json()["result"] for _ in range(2)]

    assert answers == ["changed", "duplicate"]
    account = app.account(account_id)
    assert (account.card_brand, account.card_last4, account.card_exp_year) == ("visa", "4242", 2030)
    customer = app.stripe_server.get(f"/v1/customers/{account.stripe_customer_id}")
    assert customer["invoice_settings"]["default_payment_method"] == account.card_payment_method_id
    (notice,) = app.told("chat.postMessage", FINANCE_CHANNEL)
    assert "Card added" in notice.params["text"]


def test_customer_updated_and_payment_method_detached_keep_the_card_on_file_in_step(
    app: PaymentsHarness,
) -> None:
    account_id = app.make_account()
    app.save_card(account_id, VISA)
    old = app.account(account_id).card_payment_method_id
    customer = app.account(account_id).stripe_customer_id
    assert old is not None
    assert customer is not None
    # The dashboard adds another card and makes it the default.
    new = app.stripe_server.post(
        "/v1/payment_methods",
        type="card",
        **{
            "card[number]": "5555555555554444",
            "card[exp_month]": "3",
            "card[exp_year]": "2031",
            "card[cvc]": "123",
        },
    )
    app.stripe_server.post(f"/v1/payment_methods/{new['id']}/attach", customer=customer)
    app.stripe_server.post(
        f"/v1/customers/{customer}", **{"invoice_settings[default_payment_method]": new["id"]}
    )
    updated = _event("evt_cus_1", "customer.updated", {"id": customer, "object": "customer"})
    # The old card's detach arrives first, then the customer update, then a stale old-card set-up.
    app.stripe_server.post(f"/v1/payment_methods/{old}/detach")
    detached = _event(
        "evt_pm_1", "payment_method.detached", {"id": old, "object": "payment_method"}
    )

    assert app.deliver(detached).json()["result"] == "changed"
    assert app.account(account_id).card_last4 is None
    assert app.deliver(updated).json()["result"] == "changed"
    account = app.account(account_id)
    assert (account.card_payment_method_id, account.card_last4, account.card_exp_month) == (
        new["id"],
        "4444",
        3,
    )
    # The old card's detach again (a replay with a new id): the new card stays.
    again = _event("evt_pm_2", "payment_method.detached", {"id": old, "object": "payment_method"})
    assert app.deliver(again).json()["result"] == "ignored"
    assert app.account(account_id).card_payment_method_id == new["id"]
    texts = [c.params["text"] for c in app.told("chat.postMessage", FINANCE_CHANNEL)]
    assert texts == [
        "The card on file was removed (Stripe).",
        "Card added by Stripe: Visa •••• 4444, expires 03/2031.",
    ]


def test_an_unknown_event_type_is_recorded_and_ignored(app: PaymentsHarness) -> None:
    event = _event("evt_other", "charge.refunded", {"id": "ch_1", "object": "charge"})
    assert app.deliver(event).json()["result"] == "ignored"
    assert app.deliver(event).json()["result"] == "duplicate"
    assert app.count(ProcessedEvent) == 1
