"""`POST /stripe/webhook`: Stripe's events, verified, recorded once, applied by reading back.

The `Stripe-Signature` header is checked over the raw body with the webhook secret (400 when
it fails, and nothing changes). Each event id is recorded in `processed_events` in the same
transaction as the change it causes, so a replay changes nothing. Events are never trusted
for state: the handler reads the PaymentIntent, SetupIntent, PaymentMethod or Customer back
from Stripe and settles it with the same service functions the pages and `reconcile` use, so
events may arrive in any order, late, or not at all.

Answers: 200 when the event was applied, already seen or is of no interest; 400 for a bad
signature; 503 when Stripe could not be asked (Stripe retries the delivery later).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, Response, jsonify, request

from bot.deps import Deps
from bot.gateway import InvalidSignature, StripeRejected, StripeUnavailable, WebhookEvent
from bot.payment_notifier import Delivery, card_deliveries, payment_deliveries, send
from bot.payments import CardSaved, Payments
from bot.settings import Settings

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/stripe/webhook"


@dataclass(frozen=True, slots=True)
class Handled:
    """What became of one event: `changed`, `unchanged`, `duplicate` or `ignored`."""

    result: str
    deliveries: list[Delivery] = field(default_factory=list)
    account_id: int | None = None  # whose workspace the deliveries go to


def _payment_intent(payments: Payments, event_id: str, object_id: str) -> Handled:
    outcome = payments.complete_from_intent(payment_intent_id=object_id, event_id=event_id)
    if outcome is None:
        return Handled("ignored")
    if not outcome.settled_now:
        return Handled("unchanged")
    return Handled("changed", payment_deliveries(outcome), outcome.account_id)


def _card_news(result: CardSaved | None) -> Handled:
    if result is None:
        return Handled("ignored")
    if not result.changed:
        return Handled("unchanged")
    return Handled(
        "changed", card_deliveries(result, user_id=None, channel_id=None), result.account_id
    )


def _setup_intent(payments: Payments, event_id: str, object_id: str) -> Handled:
    return _card_news(
        payments.save_card_from_setup_intent(
            setup_intent_id=object_id, actor="stripe", event_id=event_id
        )
    )


def _detached(payments: Payments, event_id: str, object_id: str) -> Handled:
    return _card_news(payments.forget_detached_card(payment_method_id=object_id, event_id=event_id))


def _customer(payments: Payments, event_id: str, object_id: str) -> Handled:
    return _card_news(payments.sync_default_card(customer_id=object_id, event_id=event_id))


# The events handled, by type; every other type is recorded and ignored.
HANDLERS: dict[str, Callable[[Payments, str, str], Handled]] = {
    "payment_intent.succeeded": _payment_intent,
    "payment_intent.payment_failed": _payment_intent,
    "setup_intent.succeeded": _setup_intent,
    "payment_method.detached": _detached,
    "customer.updated": _customer,
}


def handle_event(payments: Payments, event: WebhookEvent) -> Handled:
    """Apply one verified event; raises `StripeUnavailable` when Stripe can't be read back."""
    if payments.event_seen(event.id):
        return Handled("duplicate")
    handler = HANDLERS.get(event.type)
    if handler is None or event.object_id is None:
        payments.record_event(event.id)
        return Handled("ignored")
    try:
        return handler(payments, event.id, event.object_id)
    except StripeRejected as exc:
        if not exc.missing:
            raise
        log.info("Stripe event %s names an object Stripe doesn't have; ignored", event.id)
        payments.record_event(event.id)
        return Handled("ignored")


def register_webhook(web: Flask, settings: Settings, deps: Deps) -> None:
    """Add `POST /stripe/webhook` to the web app."""

    @web.post(WEBHOOK_PATH)
    def stripe_webhook() -> tuple[Response, int]:
        secret = settings.STRIPE_WEBHOOK_SECRET
        if deps.gateway is None or secret is None or not secret.get_secret_value():
            return jsonify(error="Stripe webhooks are not configured here."), 503
        payload = request.get_data(cache=False)
        try:
            event = deps.gateway.parse_webhook(
                payload, request.headers.get("Stripe-Signature"), secret.get_secret_value()
            )
        except InvalidSignature as exc:
            log.warning("Rejected a Stripe webhook: %s", exc.message)
            return jsonify(error="The Stripe-Signature header does not verify."), 400
        try:
            handled = handle_event(Payments.from_deps(deps), event)
        except StripeUnavailable as exc:
            log.warning("Stripe event %s not applied yet: %s", event.id, exc)
            return jsonify(error="Stripe could not be reached; deliver again later."), 503
        if handled.account_id is not None:
            send(deps.slack_for_account(handled.account_id), handled.deliveries)
        return jsonify(received=True, event=event.id, result=handled.result), 200
