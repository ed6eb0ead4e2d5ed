"""The gateway over the real `stripe` library and localstripe: what comes back, what is raised."""

from __future__ import annotations

import json
import time

import pytest

from bot.gateway import (
    BillingDetails,
    CardDeclined,
    InvalidSignature,
    StripeGateway,
    StripeRejected,
    StripeUnavailable,
    make_stripe_client,
)
from bot.settings import Settings
from tests.payments.conftest import (
    DECLINES,
    NEEDS_AUTH,
    SECRET_KEY,
    VISA,
    WEBHOOK_SECRET,
    LocalStripe,
    free_port,
    gateway_for_tests,
    sign,
    stripe_settings,
)

BILLING = BillingDetails(
    name="Ada Lovelace",
    email="billing@acme.example",
    line1="1 Example Street",
    town="London",
    postcode="EC1A 1AA",
    country="GB",
)


@pytest.fixture
def gateway(localstripe: LocalStripe) -> StripeGateway:
    """The gateway alone over localstripe (emptied first): no database needed."""
    localstripe.flush()
    return gateway_for_tests(stripe_settings(localstripe))


def _saved_card(gateway: StripeGateway, stripe_server: LocalStripe, number: str) -> tuple[str, str]:
    customer = gateway.create_customer(BILLING, account_id=1, idempotency_key=f"k-{time.time()}")
    intent = gateway.create_setup_intent(customer_id=customer, account_id=1)
    assert intent.client_secret is not None
    stripe_server.confirm_setup_intent(intent.client_secret, number)
    read_back = gateway.retrieve_setup_intent(intent.id)
    assert read_back.status == "succeeded"
    assert read_back.payment_method_id is not None
    card = gateway.attach_payment_method(read_back.payment_method_id, customer_id=customer)
    gateway.set_default_payment_method(customer, card.payment_method_id)
    return customer, card.payment_method_id


def test_a_card_is_saved_through_a_setup_intent(
    localstripe: LocalStripe, gateway: StripeGateway
) -> None:
    customer, method = _saved_card(gateway, localstripe, VISA)
    card = gateway.card_summary(method)
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("visa", "4242", 12, 2030)
    assert card.customer_id == customer
    assert gateway.retrieve_customer(customer).default_payment_method_id == method
    stored = localstripe.get(f"/v1/customers/{customer}")
    assert stored["name"] == "Ada Lovelace"
    assert stored["address"] == {
        "line1": "1 Example Street",
        "city": "London",
        "postal_code": "EC1A 1AA",
        "country": "GB",
    }


def test_off_session_charges_succeed_decline_or_ask_for_the_customer(
    localstripe: LocalStripe, gateway: StripeGateway
) -> None:
    outcomes = {}
    for number in (VISA, DECLINES, NEEDS_AUTH):
        customer, method = _saved_card(gateway, localstripe, number)
        try:
            intent = gateway.charge_off_session(
                customer_id=customer,
                payment_method_id=method,
                amount_minor=10800,
                currency="GBP",
                idempotency_key=f"test:{number}",
                metadata={"payment_id": number[-4:]},
            )
        except CardDeclined as declined:
            outcomes[number] = ("declined", declined.code, declined.payment_intent_id)
        else:
            assert (intent.amount_minor, intent.currency) == (10800, "GBP")
            assert intent.metadata["payment_id"] == number[-4:]
            outcomes[number] = (intent.status, None, intent.id)
    assert outcomes[VISA][0] == "succeeded"
    charged = gateway.retrieve_payment_intent(outcomes[VISA][2])
    assert (charged.card_brand, charged.card_last4) == ("visa", "4242")  # the card charged
    assert outcomes[NEEDS_AUTH][0] == "requires_action"  # localstripe's off-session SCA
    status, code, declined_intent = outcomes[DECLINES]
    assert (status, code) == ("declined", "card_declined")
    assert declined_intent is not None
    assert declined_intent.startswith("pi_")
    assert gateway.retrieve_payment_intent(declined_intent).error_code == "card_declined"


def test_a_payment_intent_is_found_by_its_metadata(
    localstripe: LocalStripe, gateway: StripeGateway
) -> None:
    customer, method = _saved_card(gateway, localstripe, VISA)
    for payment_id in ("7", "8"):
        gateway.charge_off_session(
            customer_id=customer,
            payment_method_id=method,
            amount_minor=500,
            currency="GBP",
            idempotency_key=f"find:{payment_id}",
            metadata={"payment_id": payment_id},
        )
    found = gateway.find_payment_intent(metadata_key="payment_id", value="8")
    assert found is not None
    assert found.metadata["payment_id"] == "8"
    assert gateway.find_payment_intent(metadata_key="payment_id", value="9") is None


def test_a_refund_gives_the_money_back(localstripe: LocalStripe, gateway: StripeGateway) -> None:
    customer, method = _saved_card(gateway, localstripe, VISA)
    intent = gateway.charge_off_session(
        customer_id=customer,
        payment_method_id=method,
        amount_minor=1234,
        currency="GBP",
        idempotency_key="refund-me",
        metadata={},
    )
    refund = gateway.refund(intent.id, idempotency_key="refund:refund-me")
    assert (refund.status, refund.amount_minor) == ("succeeded", 1234)


def test_unknown_objects_are_rejected_not_unavailable(gateway: StripeGateway) -> None:
    with pytest.raises(StripeRejected) as missing:
        gateway.retrieve_payment_intent("pi_doesNotExist")
    assert missing.value.missing
    with pytest.raises(StripeRejected):
        gateway.retrieve_setup_intent("not-an-id")


def test_an_unreachable_stripe_is_unavailable_with_an_unknown_outcome() -> None:
    settings = Settings(
        STRIPE_API_KEY=SECRET_KEY,  # type: ignore[arg-type]
        STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}",
    )
    gateway = StripeGateway(make_stripe_client(settings, max_network_retries=0, timeout=1))
    with pytest.raises(StripeUnavailable) as down:
        gateway.retrieve_customer("cus_x")
    assert down.value.outcome_unknown


def test_webhook_signatures_are_checked_on_the_raw_body(
    localstripe: LocalStripe, gateway: StripeGateway
) -> None:
    event = {
        "id": "evt_1",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_1", "object": "payment_intent"}},
    }
    body, header = sign(event)
    parsed = gateway.parse_webhook(body, header, WEBHOOK_SECRET)
    assert (parsed.id, parsed.type, parsed.object_id, parsed.object_type) == (
        "evt_1",
        "payment_intent.succeeded",
        "pi_1",
        "payment_intent",
    )
    tampered = body.replace(b"pi_1", b"pi_2")
    stale = f"t={int(time.time()) - 3600},v1=" + header.split("v1=")[1]
    for payload, signature, secret in (
        (tampered, header, WEBHOOK_SECRET),
        (body, header, "whsec_someone_else"),
        (body, None, WEBHOOK_SECRET),
        (body, "t=1,v1=00", WEBHOOK_SECRET),
        (body, stale, WEBHOOK_SECRET),
        (b"\xff\xfe", header, WEBHOOK_SECRET),
    ):
        with pytest.raises(InvalidSignature):
            gateway.parse_webhook(payload, signature, secret)
    not_an_event, not_an_event_header = sign({"hello": "world"})
    with pytest.raises(InvalidSignature):
        gateway.parse_webhook(not_an_event, not_an_event_header, WEBHOOK_SECRET)
    assert json.loads(body)["id"] == "evt_1"
