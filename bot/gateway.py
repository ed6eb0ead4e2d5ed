"""The Stripe gateway: the one module that imports `stripe`.

`StripeGateway` wraps an injected `stripe.StripeClient` (its base URL is `STRIPE_API_BASE`, so
tests and the sandbox point it at localstripe) and speaks the portal's language: customers,
SetupIntents, the card on file, off-session PaymentIntents with an idempotency key, read-backs
and refunds. What comes back are small frozen dataclasses, and what goes wrong is one of the
exceptions below, so the services never see a stripe type:

- `CardDeclined` — the bank said no (with Stripe's code and decline code);
- `AuthenticationRequired` — the bank wants the customer to confirm (SCA);
- `StripeUnavailable` — Stripe could not be reached or failed on its side: try again later.
  `outcome_unknown` is True when the request may have reached Stripe (a timeout, a dropped
  connection, a 5xx), so whatever it asked for may have happened;
- `StripeRejected` — Stripe refused the request itself (a missing object, a bad parameter);
- `InvalidSignature` — a webhook whose `Stripe-Signature` does not verify.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

import stripe

from bot.settings import Settings

if TYPE_CHECKING:
    from stripe.params import (
        CustomerCreateParams,
        CustomerUpdateParams,
        PaymentIntentCreateParams,
        SetupIntentCreateParams,
    )

DEFAULT_TIMEOUT = 30.0  # seconds per request; a PaymentIntent confirmation can take a while
STRIPE_API = "https://api.stripe.com"
WEBHOOK_TOLERANCE = 300  # seconds: Stripe's own default for the signed timestamp
# Listing PaymentIntents to find one by metadata is the fallback where search is missing
# (localstripe); scan at most this many, newest first on Stripe.
_MAX_SCANNED = 1000


class StripeProblem(Exception):
    """Something Stripe said or failed to say; the message is safe to log, not to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StripeUnavailable(StripeProblem):
    """Stripe could not be reached, timed out, rate-limited us or failed on its side."""

    def __init__(self, message: str, *, outcome_unknown: bool) -> None:
        super().__init__(message)
        self.outcome_unknown = outcome_unknown


class StripeRejected(StripeProblem):
    """Stripe refused the request: an unknown object, a bad parameter, a key problem."""

    def __init__(self, message: str, *, status: int | None, code: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    @property
    def missing(self) -> bool:
        return self.status == 404 or self.code == "resource_missing"


class CardDeclined(StripeProblem):
    """The card was declined; `code`/`decline_code` are Stripe's, `message` Stripe's words."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None,
        decline_code: str | None = None,
        payment_intent_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.decline_code = decline_code
        self.payment_intent_id = payment_intent_id


class AuthenticationRequired(StripeProblem):
    """The bank asks the customer to confirm the payment (SCA) on the payment page."""

    def __init__(self, payment_intent_id: str) -> None:
        super().__init__(f"PaymentIntent {payment_intent_id} needs the customer to authenticate")
        self.payment_intent_id = payment_intent_id


class InvalidSignature(StripeProblem):
    """A webhook body whose `Stripe-Signature` header does not verify (or is not JSON)."""


# ----------------------------------------------------------------------------------------------
# What comes back
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BillingDetails:
    """Who the customer is at Stripe: the billing name, email and address."""

    name: str
    email: str | None = None
    line1: str | None = None
    line2: str | None = None
    town: str | None = None
    postcode: str | None = None
    country: str | None = None

    def address(self) -> dict[str, str]:
        parts = {
            "line1": self.line1,
            "line2": self.line2,
            "city": self.town,
            "postal_code": self.postcode,
            "country": self.country,
        }
        return {key: value for key, value in parts.items() if value}


@dataclass(frozen=True, slots=True)
class CardSummary:
    """A saved card as the portal shows it; never more than brand, last 4 and expiry."""

    payment_method_id: str
    customer_id: str | None
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    created: int  # Stripe's Unix time: of two cards, the newer one is the card on file


@dataclass(frozen=True, slots=True)
class Intent:
    """A PaymentIntent or SetupIntent, read back from Stripe."""

    id: str
    kind: Literal["payment", "setup"]
    status: str
    customer_id: str | None
    payment_method_id: str | None
    client_secret: str | None
    amount_minor: int | None = None
    currency: str | None = None  # upper case, like ours
    metadata: Mapping[str, str] = field(default_factory=dict)
    error_code: str | None = None  # last_payment_error / last_setup_error
    decline_code: str | None = None
    error_message: str | None = None
    # The card a PaymentIntent charged (or tries to), when Stripe sends its payment method
    # expanded: the charge and the read-back ask for it.
    card_brand: str | None = None
    card_last4: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    id: str
    default_payment_method_id: str | None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class RefundSummary:
    id: str
    status: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified webhook event: its id, type and the id and type of its object."""

    id: str
    type: str
    object_id: str | None
    object_type: str | None


# ----------------------------------------------------------------------------------------------
# The client
# ----------------------------------------------------------------------------------------------


def make_stripe_client(
    settings: Settings, *, max_network_retries: int, timeout: float = DEFAULT_TIMEOUT
) -> stripe.StripeClient:
    """A StripeClient on `STRIPE_API_BASE`. Tests pass `max_network_retries=0`."""
    if settings.STRIPE_API_KEY is None or not settings.STRIPE_API_KEY.get_secret_value():
        raise RuntimeError("STRIPE_API_KEY must be set to talk to Stripe")
    return stripe.StripeClient(
        settings.STRIPE_API_KEY.get_secret_value(),
        base_addresses={"api": settings.STRIPE_API_BASE.rstrip("/")},
        max_network_retries=max_network_retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def _field(obj: object, name: str) -> Any:
    """A field of a Stripe object, or None: Stripe-compatible servers leave some out."""
    return getattr(obj, name, None)


def _id_of(value: object) -> str | None:
    """The id of an expandable field: the string itself, or the expanded object's id."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    found = getattr(value, "id", None)
    return found if isinstance(found, str) else None


def _plain(value: object) -> dict[str, Any]:
    if value is None:
        return {}
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        result = to_dict()
        return dict(result) if isinstance(result, dict) else {}
    return dict(value) if isinstance(value, Mapping) else {}


def _metadata(value: object) -> dict[str, str]:
    return {str(key): str(item) for key, item in _plain(value).items()}


def _error_fields(error: object) -> tuple[str | None, str | None, str | None]:
    data = _plain(error)
    return data.get("code"), data.get("decline_code"), data.get("message")


_INTENT_ID = re.compile(r"(pi|seti)_[A-Za-z0-9_]{1,200}")


@contextmanager
def _translated() -> Iterator[None]:
    """Turn stripe's exceptions into the gateway's; nothing of stripe's escapes."""
    try:
        yield
    except stripe.CardError as exc:
        code, decline_code, _ = _error_fields(exc.error)
        raise CardDeclined(
            exc.user_message or "The card was declined.",
            code=exc.code or code,
            decline_code=decline_code,
            payment_intent_id=_id_of(exc.error.payment_intent) if exc.error else None,
        ) from exc
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise StripeUnavailable(
            f"{type(exc).__name__}: {exc.user_message or exc}",
            outcome_unknown=isinstance(exc, stripe.APIConnectionError),
        ) from exc
    except stripe.SignatureVerificationError as exc:
        raise InvalidSignature(str(exc.user_message or "bad signature")) from exc
    except stripe.StripeError as exc:
        status = exc.http_status
        if status is None or status >= 500 or isinstance(exc, stripe.APIError):
            raise StripeUnavailable(
                f"{type(exc).__name__} (HTTP {status}): {exc.user_message}", outcome_unknown=True
            ) from exc
        raise StripeRejected(
            f"{type(exc).__name__} (HTTP {status}): {exc.user_message}",
            status=status,
            code=exc.code,
        ) from exc


def is_stripe_itself(settings: Settings) -> bool:
    """Whether `STRIPE_API_BASE` is Stripe's own API rather than a compatible local server."""
    return settings.STRIPE_API_BASE.rstrip("/") == STRIPE_API


class StripeGateway:
    """Everything the portal asks of Stripe, over one injected `stripe.StripeClient`.

    `no_redirects`: send `automatic_payment_methods[allow_redirects]=never` with every intent,
    so an off-session card confirmation needs no `return_url` (Stripe itself). localstripe
    predates automatic payment methods and refuses the parameter; it only takes cards anyway.
    """

    def __init__(self, client: stripe.StripeClient, *, no_redirects: bool = True) -> None:
        self._client = client
        self._no_redirects = no_redirects
        self._search_works: bool | None = None  # learnt on first use (localstripe has none)

    def _intent_params(self, params: dict[str, Any]) -> dict[str, Any]:
        if self._no_redirects:
            params["automatic_payment_methods"] = {"enabled": True, "allow_redirects": "never"}
        return params

    # Customers --------------------------------------------------------------------------------

    def create_customer(
        self, billing: BillingDetails, *, account_id: int, idempotency_key: str
    ) -> str:
        params: dict[str, Any] = {"name": billing.name, "metadata": {"account_id": account_id}}
        if billing.email:
            params["email"] = billing.email
        if billing.address():
            params["address"] = billing.address()
        with _translated():
            customer = self._client.v1.customers.create(
                params=cast("CustomerCreateParams", params),
                options={"idempotency_key": idempotency_key},
            )
        return customer.id

    def update_customer(self, customer_id: str, billing: BillingDetails) -> None:
        params: dict[str, Any] = {"name": billing.name}
        if billing.email:
            params["email"] = billing.email
        if billing.address():
            params["address"] = billing.address()
        with _translated():
            self._client.v1.customers.update(
                customer_id, params=cast("CustomerUpdateParams", params)
            )

    def retrieve_customer(self, customer_id: str) -> CustomerSummary:
        with _translated():
            customer = self._client.v1.customers.retrieve(customer_id)
        settings = _plain(_field(customer, "invoice_settings"))
        return CustomerSummary(
            id=customer.id,
            default_payment_method_id=_id_of(settings.get("default_payment_method")),
            deleted=bool(_field(customer, "deleted")),
        )

    # Cards --------------------------------------------------------------------------------------

    def create_setup_intent(self, *, customer_id: str, account_id: int) -> Intent:
        """A SetupIntent to save a card for off-session use; its client secret is for the page."""
        with _translated():
            params = self._intent_params(
                {
                    "customer": customer_id,
                    "usage": "off_session",
                    "metadata": {"account_id": str(account_id)},
                }
            )
            intent = self._client.v1.setup_intents.create(
                params=cast("SetupIntentCreateParams", params)
            )
        return self._setup_intent(intent)

    def retrieve_setup_intent(self, setup_intent_id: str) -> Intent:
        if not _INTENT_ID.fullmatch(setup_intent_id) or not setup_intent_id.startswith("seti_"):
            raise StripeRejected("not a SetupIntent id", status=404, code="resource_missing")
        with _translated():
            intent = self._client.v1.setup_intents.retrieve(setup_intent_id)
        return self._setup_intent(intent)

    def card_summary(self, payment_method_id: str) -> CardSummary:
        with _translated():
            method = self._client.v1.payment_methods.retrieve(payment_method_id)
        return self._card(method)

    def attach_payment_method(self, payment_method_id: str, *, customer_id: str) -> CardSummary:
        with _translated():
            method = self._client.v1.payment_methods.attach(
                payment_method_id, params={"customer": customer_id}
            )
        return self._card(method)

    def set_default_payment_method(self, customer_id: str, payment_method_id: str) -> None:
        with _translated():
            self._client.v1.customers.update(
                customer_id,
                params={"invoice_settings": {"default_payment_method": payment_method_id}},
            )

    # Payments ---------------------------------------------------------------------------------

    def charge_off_session(
        self,
        *,
        customer_id: str,
        payment_method_id: str,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> Intent:
        """Create and confirm an off-session PaymentIntent with the card on file.

        Raises `CardDeclined`, or `AuthenticationRequired` when the bank wants the customer
        (Stripe's `authentication_required` error; localstripe answers `requires_action`
        instead, which comes back as an `Intent` in that status).
        """
        try:
            with _translated():
                params = self._intent_params(
                    {
                        "amount": amount_minor,
                        "currency": currency.lower(),
                        "customer": customer_id,
                        "payment_method": payment_method_id,
                        "confirm": True,
                        "off_session": True,
                        "metadata": dict(metadata),
                        "expand": ["payment_method"],  # the card charged, for the records
                    }
                )
                intent = self._client.v1.payment_intents.create(
                    params=cast("PaymentIntentCreateParams", params),
                    options={"idempotency_key": idempotency_key},
                )
        except CardDeclined as declined:
            intent_id = declined.payment_intent_id or self._intent_of_declined(declined)
            if declined.code == "authentication_required" and intent_id:
                raise AuthenticationRequired(intent_id) from declined
            raise CardDeclined(
                declined.message,
                code=declined.code,
                decline_code=declined.decline_code,
                payment_intent_id=intent_id,
            ) from declined
        return self._payment_intent(intent)

    def create_payment_intent(
        self,
        *,
        customer_id: str,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> Intent:
        """An unconfirmed PaymentIntent for the payment page (no card on file)."""
        with _translated():
            params = self._intent_params(
                {
                    "amount": amount_minor,
                    "currency": currency.lower(),
                    "customer": customer_id,
                    "metadata": dict(metadata),
                }
            )
            intent = self._client.v1.payment_intents.create(
                params=cast("PaymentIntentCreateParams", params),
                options={"idempotency_key": idempotency_key},
            )
        return self._payment_intent(intent)

    def retrieve_payment_intent(self, payment_intent_id: str) -> Intent:
        if not _INTENT_ID.fullmatch(payment_intent_id) or not payment_intent_id.startswith("pi_"):
            raise StripeRejected("not a PaymentIntent id", status=404, code="resource_missing")
        with _translated():
            intent = self._client.v1.payment_intents.retrieve(
                payment_intent_id, params={"expand": ["payment_method"]}
            )
        return self._payment_intent(intent)

    def cancel_payment_intent(self, payment_intent_id: str) -> Intent:
        with _translated():
            intent = self._client.v1.payment_intents.cancel(payment_intent_id)
        return self._payment_intent(intent)

    def find_payment_intent(self, *, metadata_key: str, value: str) -> Intent | None:
        """The PaymentIntent whose metadata says `metadata_key: value`, if Stripe has one.

        Stripe's search API is eventually consistent (new objects show within a minute), so a
        caller that finds nothing waits before concluding nothing was created. Where search is
        missing (localstripe) the PaymentIntents are listed instead.
        """
        if self._search_works is not False:
            try:
                with _translated():
                    found = self._client.v1.payment_intents.search(
                        params={"query": f"metadata['{metadata_key}']:'{value}'", "limit": 10}
                    )
                self._search_works = True
                for intent in found.data:
                    return self._payment_intent(intent)
                return None
            except StripeRejected as rejected:
                if not rejected.missing:
                    raise
                self._search_works = False
        with _translated():
            listed = self._client.v1.payment_intents.list(params={"limit": 100})
            for scanned, intent in enumerate(listed.auto_paging_iter()):
                if scanned >= _MAX_SCANNED:
                    break
                if _metadata(_field(intent, "metadata")).get(metadata_key) == value:
                    return self._payment_intent(intent)
        return None

    def refund(self, payment_intent_id: str, *, idempotency_key: str) -> RefundSummary:
        with _translated():
            refund = self._client.v1.refunds.create(
                params={"payment_intent": payment_intent_id},
                options={"idempotency_key": idempotency_key},
            )
        return RefundSummary(
            id=refund.id, status=str(_field(refund, "status")), amount_minor=refund.amount
        )

    # Webhooks ---------------------------------------------------------------------------------

    def parse_webhook(self, payload: bytes, signature: str | None, secret: str) -> WebhookEvent:
        """Verify `Stripe-Signature` over the raw body, then read the event's ids."""
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidSignature("the body is not UTF-8") from exc
        with _translated():
            stripe.WebhookSignature.verify_header(text, signature, secret, WEBHOOK_TOLERANCE)
        try:
            event = json.loads(text)
            event_id, event_type = event["id"], event["type"]
            data = event.get("data", {}).get("object", {})
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidSignature("the body is not a Stripe event") from exc
        if not isinstance(event_id, str) or not isinstance(event_type, str):
            raise InvalidSignature("the body is not a Stripe event")
        object_id = data.get("id") if isinstance(data, dict) else None
        object_type = data.get("object") if isinstance(data, dict) else None
        return WebhookEvent(
            id=event_id,
            type=event_type,
            object_id=object_id if isinstance(object_id, str) else None,
            object_type=object_type if isinstance(object_type, str) else None,
        )

    # Conversions ------------------------------------------------------------------------------

    def _intent_of_declined(self, declined: CardDeclined) -> str | None:
        """The PaymentIntent behind a decline, from its charge when the error doesn't say."""
        cause = declined.__cause__
        charge_id = None
        if isinstance(cause, stripe.CardError) and cause.error is not None:
            charge_id = _plain(cause.error).get("charge")
        if not isinstance(charge_id, str):
            return None
        try:
            with _translated():
                charge = self._client.v1.charges.retrieve(charge_id)
        except StripeProblem:
            return None
        return _id_of(_field(charge, "payment_intent"))

    @staticmethod
    def _payment_intent(intent: stripe.PaymentIntent) -> Intent:
        code, decline_code, message = _error_fields(_field(intent, "last_payment_error"))
        currency = _field(intent, "currency")
        # An expanded payment method carries its card; an id alone (not expanded) does not.
        card = _plain(_field(_field(intent, "payment_method"), "card"))
        brand, last4 = card.get("brand"), card.get("last4")
        return Intent(
            id=intent.id,
            kind="payment",
            status=str(intent.status),
            customer_id=_id_of(_field(intent, "customer")),
            payment_method_id=_id_of(_field(intent, "payment_method")),
            client_secret=_field(intent, "client_secret"),
            amount_minor=_field(intent, "amount"),
            currency=currency.upper() if isinstance(currency, str) else None,
            metadata=_metadata(_field(intent, "metadata")),
            error_code=code,
            decline_code=decline_code,
            error_message=message,
            card_brand=brand if isinstance(brand, str) else None,
            card_last4=last4 if isinstance(last4, str) else None,
        )

    @staticmethod
    def _setup_intent(intent: stripe.SetupIntent) -> Intent:
        code, decline_code, message = _error_fields(_field(intent, "last_setup_error"))
        return Intent(
            id=intent.id,
            kind="setup",
            status=str(intent.status),
            customer_id=_id_of(_field(intent, "customer")),
            payment_method_id=_id_of(_field(intent, "payment_method")),
            client_secret=_field(intent, "client_secret"),
            metadata=_metadata(_field(intent, "metadata")),
            error_code=code,
            decline_code=decline_code,
            error_message=message,
        )

    @staticmethod
    def _card(method: stripe.PaymentMethod) -> CardSummary:
        card = _field(method, "card")
        if card is None:
            raise StripeRejected("that payment method is not a card", status=400, code=None)
        return CardSummary(
            payment_method_id=method.id,
            customer_id=_id_of(_field(method, "customer")),
            brand=str(card.brand),
            last4=str(card.last4),
            exp_month=int(card.exp_month),
            exp_year=int(card.exp_year),
            created=int(_field(method, "created") or 0),
        )
