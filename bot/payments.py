"""Card payments: a row before Stripe is asked, one PaymentIntent per row, one way to settle.

Paying (Pay Now for a credits purchase or for chosen invoices) runs in three steps, and no
transaction is ever open while Stripe is asked:

- T1 decides under row locks (`SELECT ... FOR UPDATE` on the invoices): either there is
  already a payment for exactly these invoices (a double click, a Slack retry, a concurrent
  submission: answer with its state), or a new `Payment` row is committed — invoice ids,
  amount, attempt number and the idempotency key `invoices:{ids}:attempt:{n}`, unique in the
  database — with its invoices moved to `paying`;
- the PaymentIntent is created with that key as Stripe's idempotency key and the payment id in
  its metadata, so it can be found again even if this process dies before T2;
- T2 locks the row again and applies what Stripe said, unless a webhook already did.

`complete_from_intent` is the one way a payment is settled from a PaymentIntent read back from
Stripe: after Pay Now, when the customer returns from the payment page, on a webhook, and in
`reconcile`, which reads back every payment left without an answer (Stripe was unreachable, or
the process died) and settles it. Applying a state that already holds is a no-op, so any of
them may run in any order, any number of times.

Services here take no Slack payload and answer with plain outcomes; `bot/ui/payments.py` turns
those into messages and `bot/payment_notifier.py` posts them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import audit, credits, invoices, links, metrics, notifications, pricing
from bot.dashboard import CardOnFile, card_on_file
from bot.deps import Deps
from bot.errors import FieldError, InvalidTransition, NotFound, UserFacingError
from bot.gateway import (
    AuthenticationRequired,
    BillingDetails,
    CardDeclined,
    CardSummary,
    Intent,
    StripeGateway,
    StripeRejected,
    StripeUnavailable,
)
from bot.money import Money
from bot.portal import first_time
from bot.settings import Settings
from store.db import transaction
from store.enums import EventSource, InvoiceKind, InvoiceStatus, LinkPurpose, PaymentStatus
from store.models import Account, Invoice, OneTimeLink, Payment, PaymentInvoice, ProcessedEvent

log = logging.getLogger(__name__)

T = TypeVar("T")

# A payment still `created` this long after its row was written lost the process that was
# asking Stripe; one Stripe could not answer about is only declared "not charged" after this
# long too, since Stripe's search takes up to a minute to show a new PaymentIntent.
STALE_AFTER = timedelta(minutes=2)
# A payment waiting for the customer (payment page) this long is cancelled by reconcile.
ACTION_EXPIRES_AFTER = timedelta(days=1)
_T1_ATTEMPTS = 3  # a concurrent twin that wins a unique key makes T1 look again

# `Payment.failure_code` values of our own (Stripe's decline codes are kept as they come).
UNREACHABLE = "stripe_unreachable"  # Stripe was asked and did not answer; reconcile reads back
NOT_CHARGED = "not_charged"  # Stripe has no PaymentIntent for the payment: nothing was taken
NOT_CONFIRMED = "not_confirmed"  # the customer did not confirm on the payment page in time
REJECTED = "stripe_rejected"  # Stripe refused the request itself
REFUND_PENDING = "refund_pending"  # charged after the invoices were settled otherwise
REFUNDED = "refunded"  # ... and that charge was refunded in full

ACTIVE = (PaymentStatus.CREATED, PaymentStatus.PROCESSING, PaymentStatus.REQUIRES_ACTION)

# The payment state machine: every allowed move, and nothing else.
PAYMENT_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.CREATED: frozenset(
        {
            PaymentStatus.PROCESSING,
            PaymentStatus.REQUIRES_ACTION,
            PaymentStatus.SUCCEEDED,
            PaymentStatus.FAILED,
        }
    ),
    PaymentStatus.PROCESSING: frozenset(
        {PaymentStatus.REQUIRES_ACTION, PaymentStatus.SUCCEEDED, PaymentStatus.FAILED}
    ),
    PaymentStatus.REQUIRES_ACTION: frozenset(
        {PaymentStatus.PROCESSING, PaymentStatus.SUCCEEDED, PaymentStatus.FAILED}
    ),
    PaymentStatus.SUCCEEDED: frozenset(),
    # A late success: Stripe took the money after we had given up (accepted only while the
    # invoices are still open; otherwise the charge is refunded).
    PaymentStatus.FAILED: frozenset({PaymentStatus.SUCCEEDED}),
}

INVOICES_FIELD = "invoices"
TRY_AGAIN = (
    "We couldn't reach our card payment provider just now. Please try again in a minute: "
    "you will not be charged twice."
)
_GENERIC_DECLINE = "Your bank declined the card without giving a reason."
_DECLINE_REASONS: dict[str, str] = {
    "insufficient_funds": "The card doesn't have enough money available.",
    "expired_card": "The card has expired.",
    "incorrect_cvc": "The card's security code (CVC) is not right.",
    "invalid_cvc": "The card's security code (CVC) is not right.",
    "incorrect_number": "The card number is not right.",
    "invalid_number": "The card number is not right.",
    "invalid_expiry_month": "The card's expiry date is not right.",
    "invalid_expiry_year": "The card's expiry date is not right.",
    "incorrect_zip": "The postcode doesn't match the card's billing address.",
    "card_velocity_exceeded": "The card has gone over its spending limit.",
    "withdrawal_count_limit_exceeded": "The card has gone over its spending limit.",
    "processing_error": "The bank had a problem processing the card. Try again in a few minutes.",
    "card_not_supported": "This card can't be used for this kind of payment.",
    "currency_not_supported": "This card can't pay in this currency.",
    "authentication_required": "Your bank needs you to confirm this payment.",
    "payment_intent_authentication_failure": "Your bank could not confirm it was you.",
    "setup_intent_authentication_failure": "Your bank could not confirm it was you.",
    # Stripe asks that the real reason for these is not shown; a generic decline it is.
    "lost_card": _GENERIC_DECLINE,
    "stolen_card": _GENERIC_DECLINE,
    "fraudulent": _GENERIC_DECLINE,
    "pickup_card": _GENERIC_DECLINE,
    "merchant_blacklist": _GENERIC_DECLINE,
    "do_not_honor": _GENERIC_DECLINE,
    "generic_decline": _GENERIC_DECLINE,
    "card_declined": _GENERIC_DECLINE,
}
_DECLINE_ADVICE = "Use another card (Change Payment Details), or ask your bank."


def decline_reason(code: str | None, decline_code: str | None = None) -> str:
    """Stripe's decline and error codes in words a person understands."""
    reason = _DECLINE_REASONS.get(decline_code or "") or _DECLINE_REASONS.get(code or "")
    return reason or _GENERIC_DECLINE


class PaymentUnavailable(UserFacingError):
    """Stripe could not be reached before anything was started; nothing changed."""

    def __init__(self, message: str = TRY_AGAIN) -> None:
        super().__init__(message)


def transition_payment(payment: Payment, to: PaymentStatus) -> None:
    """Move `payment` to `to`, or raise `InvalidTransition` saying why not."""
    if to in PAYMENT_TRANSITIONS[payment.status]:
        payment.status = to
        metrics.payment_moved(payment)  # counted by outcome if the move commits
        return
    raise InvalidTransition(
        f"Payment {payment.id} is {payment.status.value} and cannot become {to.value}."
    )


# ----------------------------------------------------------------------------------------------
# What the services answer
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BillingAddress:
    """The billing address modal: forename, surname, address lines, town, postcode, country."""

    forename: str
    surname: str
    line1: str
    town: str
    postcode: str
    country: str  # ISO 3166-1 alpha-2
    line2: str | None = None

    def problems(self) -> dict[str, str]:
        """Field name -> message for each required field left empty or too long."""
        limits = {
            "forename": (self.forename, 100, "Enter the forename."),
            "surname": (self.surname, 100, "Enter the surname."),
            "line1": (self.line1, 200, "Enter the first line of the address."),
            "town": (self.town, 100, "Enter the town or city."),
            "postcode": (self.postcode, 20, "Enter the postcode."),
        }
        found = {}
        for name, (value, limit, missing) in limits.items():
            if not value.strip():
                found[name] = missing
            elif len(value.strip()) > limit:
                found[name] = f"Use at most {limit} characters."
        if self.line2 and len(self.line2.strip()) > 200:
            found["line2"] = "Use at most 200 characters."
        if len(self.country) != 2 or not self.country.isalpha():
            found["country"] = "Choose the country from the list."
        return found


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    """Where a payment stands, with what the people involved need to be told."""

    payment_id: int
    account_id: int
    status: PaymentStatus
    amount: Money
    invoice_numbers: tuple[str, ...]
    credits_granted: int  # credits this payment added (once it succeeded)
    credits_balance: int
    card: CardOnFile | None
    reason: str | None  # why it failed or waits, in plain English
    failure_code: str | None
    payment_link: str | None  # the payment page, when the customer must act
    needs_card: bool  # no card was tried: the payment page asks for one
    settled_now: bool  # this call moved the payment to this state: tell people
    requested_by: str | None
    channel_id: str | None
    finance_channel_id: str | None  # where the finance notice goes (None: not sent)
    invoice_ids: tuple[int, ...] = ()
    finance_thread_ts: str | None = None  # the invoice's thread in that channel, if any

    @property
    def retry_later(self) -> bool:
        """Stripe could not be reached, or nothing was charged: try again in a minute."""
        if self.status is PaymentStatus.FAILED:
            return self.failure_code == NOT_CHARGED
        return self.failure_code == UNREACHABLE and self.status in ACTIVE


@dataclass(frozen=True, slots=True)
class CardSaved:
    """The card on file after saving (or forgetting) one."""

    account_id: int
    card: CardOnFile | None
    saved: bool  # the card on file is the card asked about
    changed: bool  # this call changed the card on file: tell people
    replaced: bool  # a different card was on file before
    problem: str | None  # why it was not saved, in plain English
    actor: str
    finance_channel_id: str | None


@dataclass(frozen=True, slots=True)
class PaymentPage:
    """What the payment page needs: the payment and, while it waits, its PaymentIntent."""

    outcome: PaymentOutcome
    intent: Intent | None  # None once the payment no longer waits for the customer


@dataclass
class ReconcileReport:
    checked: int = 0
    outcomes: list[PaymentOutcome] = field(default_factory=list)
    stripe_unreachable: bool = False  # stopped early: Stripe still can't be reached

    @property
    def settled(self) -> list[PaymentOutcome]:
        return [outcome for outcome in self.outcomes if outcome.settled_now]


@dataclass(frozen=True, slots=True)
class _NewPayment:
    """T1's decision to charge: everything the Stripe call needs, read under the locks."""

    payment_id: int
    account_id: int
    idempotency_key: str
    amount_minor: int
    currency: str
    customer_id: str
    payment_method_id: str | None  # None: no valid card on file, the payment page it is
    invoice_numbers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Existing:
    """T1 found a payment for exactly these invoices: answer with it instead of charging."""

    payment_id: int


# ----------------------------------------------------------------------------------------------
# The service
# ----------------------------------------------------------------------------------------------


class Payments:
    """Cards and payments, over the database and the Stripe gateway."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        gateway: StripeGateway,
        settings: Settings,
        clock: Callable[[], datetime],
    ) -> None:
        self.session_factory = session_factory
        self.gateway = gateway
        self.settings = settings
        self.clock = clock

    @classmethod
    def from_deps(cls, deps: Deps) -> Payments:
        if deps.gateway is None:
            raise PaymentUnavailable(
                "Card payments are not set up on this portal yet (no Stripe key)."
            )
        return cls(
            session_factory=deps.session_factory,
            gateway=deps.gateway,
            settings=deps.settings,
            clock=deps.clock,
        )

    # The card on file -------------------------------------------------------------------------

    def begin_card_setup(
        self, *, account_id: int, user_id: str, channel_id: str | None, address: BillingAddress
    ) -> str:
        """Save the billing address at Stripe and here, then a link to the card page.

        Raises `FieldError` for a bad field and `PaymentUnavailable` when Stripe can't be
        reached (nothing is saved then).
        """
        problems = address.problems()
        if problems:
            name, message = next(iter(problems.items()))
            raise FieldError(name, message)
        with transaction(self.session_factory) as session:
            account = _account(session, account_id)
            customer_id = account.stripe_customer_id
            billing = BillingDetails(
                name=f"{address.forename.strip()} {address.surname.strip()}",
                email=account.contact_email,
                line1=address.line1.strip(),
                line2=(address.line2 or "").strip() or None,
                town=address.town.strip(),
                postcode=address.postcode.strip().upper(),
                country=address.country.upper(),
            )
        try:
            if customer_id is None:
                customer_id = self.gateway.create_customer(
                    billing,
                    account_id=account_id,
                    idempotency_key=_customer_key(account_id, billing),
                )
            else:
                self.gateway.update_customer(customer_id, billing)
        except StripeUnavailable as exc:
            raise PaymentUnavailable from exc
        except StripeRejected as exc:
            log.warning("Stripe refused the billing details of account %s: %s", account_id, exc)
            raise PaymentUnavailable(
                "Our card payment provider refused these billing details. Check them and try again."
            ) from exc
        now = self.clock()
        with transaction(self.session_factory) as session:
            account = _account(session, account_id, lock=True)
            if account.stripe_customer_id is None:
                account.stripe_customer_id = customer_id
            account.billing_forename = address.forename.strip()
            account.billing_surname = address.surname.strip()
            account.billing_line1 = billing.line1
            account.billing_line2 = billing.line2
            account.billing_town = billing.town
            account.billing_postcode = billing.postcode
            account.billing_country = billing.country
            account.updated_at = now
            audit.record(
                session=session,
                account_id=account_id,
                actor=user_id,
                action="billing_address.updated",
                now=now,
            )
            return links.issue_link(
                session=session,
                settings=self.settings,
                account_id=account_id,
                slack_user_id=user_id,
                purpose=LinkPurpose.ADD_CARD,
                channel_id=channel_id,
                now=now,
            )

    def open_card_setup(self, *, account_id: int) -> Intent:
        """A fresh SetupIntent for the card page (one per page load; its secret stays there)."""
        customer_id = self._ensure_customer(account_id)
        try:
            return self.gateway.create_setup_intent(customer_id=customer_id, account_id=account_id)
        except (StripeUnavailable, StripeRejected) as exc:
            raise PaymentUnavailable from exc

    def save_card_from_setup_intent(
        self,
        *,
        setup_intent_id: str,
        actor: str,
        account_id: int | None = None,
        event_id: str | None = None,
    ) -> CardSaved | None:
        """Read a SetupIntent back and make its card the card on file.

        The card page passes `account_id` (the SetupIntent must be that account's); a webhook
        passes `event_id` and the account is found from the SetupIntent's customer. None when
        the SetupIntent belongs to no account here. Raises `StripeUnavailable`.
        """
        try:
            intent = self.gateway.retrieve_setup_intent(setup_intent_id)
        except StripeRejected as exc:
            if not exc.missing or account_id is None:
                raise
            raise NotFound("That card set-up could not be found: reload the page.") from exc
        with transaction(self.session_factory) as session:
            account = self._account_for_customer(session, intent.customer_id, account_id)
            if account is None:
                self._note_event(session, event_id)
                return None
            found_id, customer_id = account.id, account.stripe_customer_id
        if customer_id is None or intent.customer_id != customer_id:
            raise NotFound("That card set-up belongs to another account.")
        if intent.status != "succeeded" or intent.payment_method_id is None:
            problem = (
                decline_reason(intent.error_code, intent.decline_code)
                if intent.error_code
                else "The card has not been confirmed yet."
            )
            return self._card_result(found_id, saved=False, problem=problem, actor=actor)
        try:
            card = self.gateway.card_summary(intent.payment_method_id)
            if card.customer_id != customer_id:
                card = self.gateway.attach_payment_method(
                    card.payment_method_id, customer_id=customer_id
                )
        except CardDeclined as declined:
            problem = decline_reason(declined.code, declined.decline_code)
            return self._card_result(found_id, saved=False, problem=problem, actor=actor)
        return self._store_card(
            found_id, card, actor=actor, event_id=event_id, make_default=True, only_if_newer=True
        )

    def sync_default_card(self, *, customer_id: str, event_id: str | None) -> CardSaved | None:
        """`customer.updated`: when Stripe's default card differs from ours, take the newer."""
        customer = self.gateway.retrieve_customer(customer_id)
        with transaction(self.session_factory) as session:
            account = self._account_for_customer(session, customer_id, None)
            if (
                account is None
                or customer.default_payment_method_id is None
                or customer.default_payment_method_id == account.card_payment_method_id
            ):
                self._note_event(session, event_id)
                return None
            found_id = account.id
        card = self.gateway.card_summary(customer.default_payment_method_id)
        if card.customer_id != customer_id:
            self.record_event(event_id)
            return None
        return self._store_card(
            found_id,
            card,
            actor="stripe",
            event_id=event_id,
            make_default=False,
            only_if_newer=True,
        )

    def forget_detached_card(
        self, *, payment_method_id: str, event_id: str | None
    ) -> CardSaved | None:
        """`payment_method.detached`: the card on file is gone when Stripe says it is."""
        try:
            still_with: str | None = self.gateway.card_summary(payment_method_id).customer_id
        except StripeRejected as exc:
            if not exc.missing:
                raise
            still_with = None
        now = self.clock()
        with transaction(self.session_factory) as session:
            if not self._note_event(session, event_id):
                return None
            account = session.scalar(
                select(Account)
                .where(Account.card_payment_method_id == payment_method_id)
                .with_for_update()
            )
            if account is None or (still_with and still_with == account.stripe_customer_id):
                return None
            account.card_brand = account.card_last4 = account.card_payment_method_id = None
            account.card_exp_month = account.card_exp_year = None
            account.updated_at = now
            audit.record(
                session=session,
                account_id=account.id,
                actor="stripe",
                action="card.removed",
                now=now,
                payment_method=payment_method_id,
            )
            return CardSaved(
                account_id=account.id,
                card=None,
                saved=False,
                changed=True,
                replaced=True,
                problem=None,
                actor="stripe",
                finance_channel_id=_card_news_channel(session, account.id),
            )

    # Paying -----------------------------------------------------------------------------------

    def start_credits_purchase(
        self,
        *,
        account_id: int,
        quantity: int,
        creation_key: str,
        user_id: str,
        channel_id: str | None,
    ) -> PaymentOutcome:
        """Pay Now on a credits purchase: its invoice is created here, in T1, once per key."""
        self._ensure_customer(account_id)
        return self._pay(
            account_id,
            user_id,
            channel_id,
            lambda session, account, now: (
                self._credits_invoice(
                    session=session,
                    account=account,
                    quantity=quantity,
                    creation_key=creation_key,
                    user_id=user_id,
                    now=now,
                ),
            ),
        )

    def pay_invoices(
        self, *, account_id: int, invoice_ids: Iterable[int], user_id: str, channel_id: str | None
    ) -> PaymentOutcome:
        """Pay Now on chosen invoices: one charge for all of them."""
        chosen = tuple(sorted(set(invoice_ids)))
        if not chosen:
            raise FieldError(INVOICES_FIELD, "Choose at least one invoice to pay.")
        self._ensure_customer(account_id)
        return self._pay(account_id, user_id, channel_id, lambda _s, _a, _n: chosen)

    def complete_from_intent(
        self, *, payment_intent_id: str, event_id: str | None = None
    ) -> PaymentOutcome | None:
        """Read a PaymentIntent back and settle its payment; None when it is not one of ours."""
        intent = self.gateway.retrieve_payment_intent(payment_intent_id)
        with transaction(self.session_factory) as session:
            payment = session.scalar(
                select(Payment).where(Payment.stripe_payment_intent_id == intent.id)
            )
            if payment is None:
                payment = _payment_named_in(session, intent)
            if payment is None:
                self._note_event(session, event_id)
                return None
            payment_id = payment.id
        return self._apply(payment_id, intent, event_id=event_id)

    def settle_payment(self, *, payment_id: int) -> PaymentOutcome:
        """Read one payment back from Stripe and settle it; raises `StripeUnavailable`."""
        now = self.clock()
        with transaction(self.session_factory) as session:
            payment = session.get_one(Payment, payment_id)
            status, intent_id = payment.status, payment.stripe_payment_intent_id
            failure_code, updated_at = payment.failure_code, payment.updated_at
            if status is PaymentStatus.SUCCEEDED or (
                status is PaymentStatus.FAILED and failure_code != REFUND_PENDING and not intent_id
            ):
                return self._outcome(session, payment, settled_now=False)
        if status is PaymentStatus.FAILED and failure_code == REFUND_PENDING:
            return self._refund(payment_id)
        if intent_id is None:
            intent = self.gateway.find_payment_intent(
                metadata_key="payment_id", value=str(payment_id)
            )
            if intent is None:
                return self._not_charged(payment_id, older_than=now - STALE_AFTER)
        elif status is PaymentStatus.REQUIRES_ACTION and updated_at <= now - ACTION_EXPIRES_AFTER:
            intent = self._cancel(intent_id)
        else:
            intent = self.gateway.retrieve_payment_intent(intent_id)
        return self._apply(payment_id, intent, event_id=None)

    def reconcile(self) -> ReconcileReport:
        """Settle every payment left without an answer; callable now, scheduled later.

        Reads back payments `processing`, `created` for longer than `STALE_AFTER`, waiting
        for the customer for longer than `ACTION_EXPIRES_AFTER`, and refunds still owed.
        Stops at the first sign that Stripe is still unreachable.
        """
        now = self.clock()
        with transaction(self.session_factory) as session:
            due = list(
                session.scalars(
                    select(Payment.id)
                    .where(
                        or_(
                            Payment.status == PaymentStatus.PROCESSING,
                            and_(
                                Payment.status == PaymentStatus.CREATED,
                                Payment.updated_at <= now - STALE_AFTER,
                            ),
                            and_(
                                Payment.status == PaymentStatus.REQUIRES_ACTION,
                                Payment.updated_at <= now - ACTION_EXPIRES_AFTER,
                            ),
                            and_(
                                Payment.status == PaymentStatus.FAILED,
                                Payment.failure_code == REFUND_PENDING,
                            ),
                        )
                    )
                    .order_by(Payment.id)
                )
            )
        report = ReconcileReport()
        for payment_id in due:
            try:
                outcome = self.settle_payment(payment_id=payment_id)
            except StripeUnavailable as exc:
                log.warning("Reconcile stopped: Stripe is unreachable (%s)", exc)
                report.stripe_unreachable = True
                break
            except StripeRejected as exc:
                log.error("Reconcile could not read payment %s back: %s", payment_id, exc)
                continue
            report.checked += 1
            report.outcomes.append(outcome)
        return report

    def payment_page(self, *, payment_id: int) -> PaymentPage:
        """The payment and, while it waits for the customer, its PaymentIntent read back."""
        with transaction(self.session_factory) as session:
            payment = session.get_one(Payment, payment_id)
            intent_id = payment.stripe_payment_intent_id
            if payment.status not in ACTIVE or intent_id is None:
                return PaymentPage(self._outcome(session, payment, settled_now=False), None)
        try:
            intent = self.gateway.retrieve_payment_intent(intent_id)
        except (StripeUnavailable, StripeRejected) as exc:
            raise PaymentUnavailable from exc
        outcome = self._apply(payment_id, intent, event_id=None)
        waiting = outcome.status is PaymentStatus.REQUIRES_ACTION
        return PaymentPage(outcome, intent if waiting else None)

    # Webhook bookkeeping ----------------------------------------------------------------------

    def event_seen(self, event_id: str) -> bool:
        with transaction(self.session_factory) as session:
            return (
                session.scalar(
                    select(ProcessedEvent.id).where(
                        ProcessedEvent.source == EventSource.STRIPE, ProcessedEvent.key == event_id
                    )
                )
                is not None
            )

    def record_event(self, event_id: str | None) -> bool:
        """Record a Stripe event as processed; False when it already was."""
        with transaction(self.session_factory) as session:
            return self._note_event(session, event_id)

    def _note_event(self, session: Session, event_id: str | None) -> bool:
        if event_id is None:
            return True
        return first_time(
            session=session, source=EventSource.STRIPE, key=event_id, now=self.clock()
        )

    # T1 -----------------------------------------------------------------------------------------

    def _pay(
        self,
        account_id: int,
        user_id: str,
        channel_id: str | None,
        choose: Callable[[Session, Account, datetime], Sequence[int]],
        *,
        again: bool = True,
    ) -> PaymentOutcome:
        decision = _retry_on_conflict(lambda: self._decide(account_id, user_id, channel_id, choose))
        if isinstance(decision, _Existing):
            return self._answer_existing(
                decision.payment_id, user_id, channel_id, retry=again, choose=choose
            )
        return self._charge(decision)

    def _decide(
        self,
        account_id: int,
        user_id: str,
        channel_id: str | None,
        choose: Callable[[Session, Account, datetime], Sequence[int]],
    ) -> _NewPayment | _Existing:
        now = self.clock()
        with transaction(self.session_factory) as session:
            account = _account(session, account_id)
            chosen = tuple(sorted(set(choose(session, account, now))))
            locked = list(
                session.scalars(
                    select(Invoice)
                    .where(Invoice.id.in_(chosen), Invoice.account_id == account_id)
                    .order_by(Invoice.id)
                    .with_for_update()
                )
            )
            if len(locked) != len(chosen):
                raise NotFound("One of those invoices could not be found on this account.")
            existing = _payment_for_exactly(session, chosen)
            if existing is not None:
                return _Existing(existing.id)
            _check_payable(session, locked)
            currencies = {invoice.currency for invoice in locked}
            if len(currencies) != 1:
                raise FieldError(INVOICES_FIELD, "Pay invoices in different currencies separately.")
            prefix = f"invoices:{','.join(str(invoice_id) for invoice_id in chosen)}"
            attempt = 1 + int(
                session.scalar(
                    select(func.coalesce(func.max(Payment.attempt), 0)).where(
                        Payment.idempotency_key.like(f"{prefix}:attempt:%")
                    )
                )
                or 0
            )
            payment = Payment(
                account_id=account_id,
                amount_minor=sum(invoice.gross_minor for invoice in locked),
                currency=currencies.pop(),
                attempt=attempt,
                idempotency_key=f"{prefix}:attempt:{attempt}",
                status=PaymentStatus.CREATED,
                requested_by=user_id,
                channel_id=channel_id,
                created_at=now,
                updated_at=now,
            )
            session.add(payment)
            session.flush()  # a twin's committed key fails here: T1 runs again and finds it
            session.add_all(
                PaymentInvoice(payment_id=payment.id, invoice_id=invoice.id) for invoice in locked
            )
            for invoice in locked:
                invoices.transition(invoice, InvoiceStatus.PAYING)
            today = now.astimezone(self.settings.timezone).date()
            card = card_on_file(account)
            usable = card is not None and not card.expired(today)
            audit.record(
                session=session,
                account_id=account_id,
                actor=user_id,
                action="payment.started",
                now=now,
                payment=payment.id,
                invoices=[invoice.number for invoice in locked],
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                attempt=attempt,
            )
            if account.stripe_customer_id is None:  # _ensure_customer runs before T1
                raise PaymentUnavailable
            return _NewPayment(
                payment_id=payment.id,
                account_id=account_id,
                idempotency_key=payment.idempotency_key,
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                customer_id=account.stripe_customer_id,
                payment_method_id=account.card_payment_method_id if usable else None,
                invoice_numbers=tuple(invoice.number for invoice in locked),
            )

    def _credits_invoice(
        self,
        *,
        session: Session,
        account: Account,
        quantity: int,
        creation_key: str,
        user_id: str,
        now: datetime,
    ) -> int:
        today = now.astimezone(self.settings.timezone).date()
        quote = pricing.quote_credits_for(
            session=session, account=account, quantity=quantity, on=today
        )
        invoice = invoices.create_invoice(
            session=session,
            account=account,
            kind=InvoiceKind.CREDITS,
            quotes=[quote],
            actor=user_id,
            now=now,
            tz=self.settings.timezone,
            creation_key=f"credits:{creation_key}",
        )
        return invoice.id

    def _answer_existing(
        self,
        payment_id: int,
        user_id: str,
        channel_id: str | None,
        *,
        retry: bool,
        choose: Callable[[Session, Account, datetime], Sequence[int]],
    ) -> PaymentOutcome:
        """A second Pay Now for the same invoices: its state, never a second charge."""
        now = self.clock()
        with transaction(self.session_factory) as session:
            payment = session.get_one(Payment, payment_id)
            if payment.status is PaymentStatus.REQUIRES_ACTION:
                link = self._payment_link(session, payment, user_id, channel_id, now)
                return self._outcome(session, payment, settled_now=False, link=link)
            stale = payment.status in (PaymentStatus.CREATED, PaymentStatus.PROCESSING) and (
                payment.failure_code == UNREACHABLE or payment.updated_at <= now - STALE_AFTER
            )
            if not stale:
                return self._outcome(session, payment, settled_now=False)
        # The earlier attempt never heard from Stripe: find out what happened to it first.
        try:
            outcome = self.settle_payment(payment_id=payment_id)
        except StripeUnavailable:
            with transaction(self.session_factory) as session:
                return self._outcome(
                    session, session.get_one(Payment, payment_id), settled_now=False
                )
        if outcome.status is PaymentStatus.FAILED and outcome.failure_code == NOT_CHARGED and retry:
            return self._pay(outcome.account_id, user_id, channel_id, choose, again=False)
        return outcome

    # The Stripe call and T2 ---------------------------------------------------------------------

    def _charge(self, new: _NewPayment) -> PaymentOutcome:
        metadata = {
            "payment_id": str(new.payment_id),
            "account_id": str(new.account_id),
            "invoices": ",".join(new.invoice_numbers),
        }
        try:
            if new.payment_method_id is not None:
                intent = self.gateway.charge_off_session(
                    customer_id=new.customer_id,
                    payment_method_id=new.payment_method_id,
                    amount_minor=new.amount_minor,
                    currency=new.currency,
                    idempotency_key=new.idempotency_key,
                    metadata=metadata,
                )
            else:
                intent = self.gateway.create_payment_intent(
                    customer_id=new.customer_id,
                    amount_minor=new.amount_minor,
                    currency=new.currency,
                    idempotency_key=new.idempotency_key,
                    metadata=metadata,
                )
        except CardDeclined as declined:
            return self._declined(new.payment_id, declined)
        except AuthenticationRequired as needed:
            return self._needs_customer(
                new.payment_id, needed.payment_intent_id, new.payment_method_id
            )
        except StripeUnavailable as exc:
            return self._unreachable(new.payment_id, exc)
        except StripeRejected as exc:
            return self._rejected(new.payment_id, exc)
        return self._apply(new.payment_id, intent, event_id=None)

    def _apply(self, payment_id: int, intent: Intent, *, event_id: str | None) -> PaymentOutcome:
        """T2: apply a PaymentIntent read back from Stripe to its payment, once."""
        now = self.clock()
        with transaction(self.session_factory) as session:
            payment = _locked_payment(session, payment_id)
            if not self._note_event(session, event_id):
                return self._outcome(session, payment, settled_now=False)
            changed, refund_due = _apply_intent(session, payment, intent, now)
            link = None
            person = _person(payment)
            if changed and payment.status is PaymentStatus.REQUIRES_ACTION and person:
                link = self._payment_link(session, payment, person, payment.channel_id, now)
            outcome = self._outcome(session, payment, settled_now=changed, link=link)
        if refund_due:
            return self._refund(payment_id)
        return outcome

    def _declined(self, payment_id: int, declined: CardDeclined) -> PaymentOutcome:
        now = self.clock()
        with transaction(self.session_factory) as session:
            payment = _locked_payment(session, payment_id)
            if payment.status not in ACTIVE:  # a webhook got here first
                return self._outcome(session, payment, settled_now=False)
            if declined.payment_intent_id and payment.stripe_payment_intent_id is None:
                payment.stripe_payment_intent_id = declined.payment_intent_id
            _fail(
                session,
                payment,
                declined.decline_code or declined.code or "card_declined",
                decline_reason(declined.code, declined.decline_code),
                now,
            )
            return self._outcome(session, payment, settled_now=True)

    def _needs_customer(
        self, payment_id: int, intent_id: str, method_id: str | None
    ) -> PaymentOutcome:
        """Stripe's `authentication_required`: the customer confirms on the payment page."""
        now = self.clock()
        with transaction(self.session_factory) as session:
            payment = _locked_payment(session, payment_id)
            if payment.status not in (PaymentStatus.CREATED, PaymentStatus.PROCESSING):
                return self._outcome(session, payment, settled_now=False)
            payment.stripe_payment_intent_id = intent_id
            payment.stripe_payment_method_id = method_id
            transition_payment(payment, PaymentStatus.REQUIRES_ACTION)
            payment.failure_code = "authentication_required"
            payment.failure_reason = decline_reason("authentication_required")
            payment.updated_at = now
            link = None
            if person := _person(payment):
                link = self._payment_link(session, payment, person, payment.channel_id, now)
            return self._outcome(session, payment, settled_now=True, link=link)

    def _unreachable(self, payment_id: int, exc: StripeUnavailable) -> PaymentOutcome:
        """No answer from Stripe: keep the row for reconcile, or fail it when nothing happened."""
        now = self.clock()
        with transaction(self.session_factory) as session:
            payment = _locked_payment(session, payment_id)
            if payment.status is not PaymentStatus.CREATED:
                return self._outcome(session, payment, settled_now=False)
            when = f"{now.astimezone(self.settings.timezone):%H:%M %Z}"
            if exc.outcome_unknown:
                transition_payment(payment, PaymentStatus.PROCESSING)
                payment.failure_code = UNREACHABLE
                payment.failure_reason = (
                    f"Stripe did not answer at {when} ({exc.message}); the reconcile step reads "
                    "the payment back."
                )
                payment.updated_at = now
            else:
                _fail(
                    session,
                    payment,
                    NOT_CHARGED,
                    f"Stripe turned the request away at {when} ({exc.message}); nothing was "
                    "charged.",
                    now,
                )
            return self._outcome(session, payment, settled_now=False)

    def _rejected(self, payment_id: int, exc: StripeRejected) -> PaymentOutcome:
        log.error("Stripe refused payment %s: %s", payment_id, exc)
        now = self.clock()
        with transaction(self.session_factory) as session:
            payment = _locked_payment(session, payment_id)
            if payment.status is not PaymentStatus.CREATED:
                return self._outcome(session, payment, settled_now=False)
            _fail(
                session,
                payment,
                REJECTED,
                "Our card payment provider refused the payment request, so nothing was charged. "
                "Please contact support.",
                now,
            )
            return self._outcome(session, payment, settled_now=True)

    def _not_charged(self, payment_id: int, *, older_than: datetime) -> PaymentOutcome:
        """Stripe has no PaymentIntent for the payment: fail it and reopen its invoices."""
        now = self.clock()
        with transaction(self.session_factory) as session:
            payment = _locked_payment(session, payment_id)
            unanswered = payment.status in (PaymentStatus.CREATED, PaymentStatus.PROCESSING)
            if not unanswered or payment.updated_at > older_than:
                return self._outcome(session, payment, settled_now=False)
            _fail(
                session,
                payment,
                NOT_CHARGED,
                "Stripe has no record of this payment, so nothing was charged.",
                now,
            )
            return self._outcome(session, payment, settled_now=True)

    def _cancel(self, intent_id: str) -> Intent:
        """Cancel a PaymentIntent nobody confirmed; if it moved on meanwhile, read it back."""
        try:
            return self.gateway.cancel_payment_intent(intent_id)
        except StripeRejected:
            return self.gateway.retrieve_payment_intent(intent_id)

    def _refund(self, payment_id: int) -> PaymentOutcome:
        """Refund a charge Stripe took after the invoices were settled another way."""
        with transaction(self.session_factory) as session:
            payment = session.get_one(Payment, payment_id)
            intent_id, key = payment.stripe_payment_intent_id, payment.idempotency_key
            if payment.failure_code != REFUND_PENDING or intent_id is None:
                return self._outcome(session, payment, settled_now=False)
        refund = self.gateway.refund(intent_id, idempotency_key=f"refund:{key}")
        now = self.clock()
        with transaction(self.session_factory) as session:
            payment = _locked_payment(session, payment_id)
            if payment.failure_code == REFUND_PENDING:
                payment.failure_code = REFUNDED
                payment.failure_reason = (
                    "Stripe took this payment after the invoices had been settled another way, "
                    f"so it was refunded in full (refund {refund.id})."
                )
                payment.updated_at = now
                audit.record(
                    session=session,
                    account_id=payment.account_id,
                    actor="stripe",
                    action="payment.refunded",
                    now=now,
                    payment=payment.id,
                    refund=refund.id,
                )
            return self._outcome(session, payment, settled_now=False)

    # Shared steps -----------------------------------------------------------------------------

    def _ensure_customer(self, account_id: int) -> str:
        """The account's Stripe customer, created (once) when it has none yet."""
        with transaction(self.session_factory) as session:
            account = _account(session, account_id)
            if account.stripe_customer_id is not None:
                return account.stripe_customer_id
            billing = _billing_of(account)
        try:
            customer_id = self.gateway.create_customer(
                billing, account_id=account_id, idempotency_key=_customer_key(account_id, billing)
            )
        except (StripeUnavailable, StripeRejected) as exc:
            raise PaymentUnavailable from exc
        with transaction(self.session_factory) as session:
            account = _account(session, account_id, lock=True)
            if account.stripe_customer_id is None:
                account.stripe_customer_id = customer_id
            return account.stripe_customer_id

    def _store_card(
        self,
        account_id: int,
        card: CardSummary,
        *,
        actor: str,
        event_id: str | None,
        make_default: bool,
        only_if_newer: bool,
    ) -> CardSaved:
        """Make `card` the card on file, unless a newer card is already there."""
        with transaction(self.session_factory) as session:
            account = _account(session, account_id)
            current_id, customer_id = account.card_payment_method_id, account.stripe_customer_id
        if only_if_newer and current_id not in (None, card.payment_method_id):
            try:
                current = self.gateway.card_summary(current_id)
            except StripeRejected:
                current = None
            if (
                current is not None
                and current.customer_id == customer_id
                and current.created > card.created
            ):
                self.record_event(event_id)  # an older card's late news: the newer one stays
                return self._card_result(account_id, saved=False, problem=None, actor=actor)
        if make_default and customer_id is not None:
            self.gateway.set_default_payment_method(customer_id, card.payment_method_id)
        now = self.clock()
        with transaction(self.session_factory) as session:
            account = _account(session, account_id, lock=True)
            if not self._note_event(session, event_id):
                return self._card_result(
                    account_id, saved=False, problem=None, actor=actor, session=session
                )
            same = (
                account.card_payment_method_id == card.payment_method_id
                and account.card_last4 == card.last4
                and account.card_exp_month == card.exp_month
                and account.card_exp_year == card.exp_year
            )
            replaced = account.card_payment_method_id not in (None, card.payment_method_id)
            if not same:
                account.card_payment_method_id = card.payment_method_id
                account.card_brand = card.brand
                account.card_last4 = card.last4
                account.card_exp_month = card.exp_month
                account.card_exp_year = card.exp_year
                account.updated_at = now
                audit.record(
                    session=session,
                    account_id=account_id,
                    actor=actor,
                    action="card.saved",
                    now=now,
                    brand=card.brand,
                    last4=card.last4,
                    replaced=replaced,
                )
            return CardSaved(
                account_id=account_id,
                card=card_on_file(account),
                saved=True,
                changed=not same,
                replaced=replaced,
                problem=None,
                actor=actor,
                finance_channel_id=_card_news_channel(session, account_id),
            )

    def _card_result(
        self,
        account_id: int,
        *,
        saved: bool,
        problem: str | None,
        actor: str,
        session: Session | None = None,
    ) -> CardSaved:
        def build(s: Session) -> CardSaved:
            account = _account(s, account_id)
            return CardSaved(
                account_id=account_id,
                card=card_on_file(account),
                saved=saved,
                changed=False,
                replaced=False,
                problem=problem,
                actor=actor,
                finance_channel_id=account.finance_channel_id,
            )

        if session is not None:
            return build(session)
        with transaction(self.session_factory) as fresh:
            return build(fresh)

    def _account_for_customer(
        self, session: Session, customer_id: str | None, account_id: int | None
    ) -> Account | None:
        if account_id is not None:
            return _account(session, account_id)
        if customer_id is None:
            return None
        return session.scalar(select(Account).where(Account.stripe_customer_id == customer_id))

    def _payment_link(
        self,
        session: Session,
        payment: Payment,
        user_id: str,
        channel_id: str | None,
        now: datetime,
    ) -> str:
        url = links.issue_link(
            session=session,
            settings=self.settings,
            account_id=payment.account_id,
            slack_user_id=user_id,
            purpose=LinkPurpose.PAY,
            channel_id=channel_id,
            now=now,
        )
        token = url.rsplit("/", 1)[-1]
        link = session.scalar(
            select(OneTimeLink).where(OneTimeLink.token_hash == links.token_hash(token))
        )
        if link is None:
            raise RuntimeError("the link just issued is not in the database")
        link.payment_id = payment.id
        return url

    def _outcome(
        self,
        session: Session,
        payment: Payment,
        *,
        settled_now: bool,
        link: str | None = None,
    ) -> PaymentOutcome:
        account = session.get_one(Account, payment.account_id)
        covered = sorted(payment.invoices, key=lambda invoice: invoice.sequence)
        granted = 0
        if payment.status is PaymentStatus.SUCCEEDED:
            granted = sum(
                credits.credits_on_invoice(invoice)
                for invoice in covered
                if invoice.kind is InvoiceKind.CREDITS
            )
        amount = Money(payment.amount_minor, payment.currency)
        route = notifications.route_payment(
            session=session,
            account_id=payment.account_id,
            status=payment.status,
            amount=amount,
            invoices=covered,
            requested_by=payment.requested_by,
        )
        return PaymentOutcome(
            payment_id=payment.id,
            account_id=payment.account_id,
            status=payment.status,
            amount=amount,
            invoice_numbers=tuple(invoice.number for invoice in covered),
            credits_granted=granted,
            credits_balance=credits.balance(session=session, account_id=payment.account_id),
            card=card_on_file(account),
            reason=payment.failure_reason,
            failure_code=payment.failure_code,
            payment_link=link,
            needs_card=payment.stripe_payment_method_id is None,
            settled_now=settled_now,
            requested_by=payment.requested_by,
            channel_id=payment.channel_id,
            finance_channel_id=route.channel_id if route is not None else None,
            invoice_ids=tuple(invoice.id for invoice in covered),
            finance_thread_ts=route.thread_ts if route is not None else None,
        )


# ----------------------------------------------------------------------------------------------
# Applying what Stripe says
# ----------------------------------------------------------------------------------------------

# Stripe error codes on a `requires_payment_method` PaymentIntent that mean "ask the customer".
_NEEDS_CUSTOMER = frozenset({"authentication_required"})


def _status_for(intent: Intent, current: PaymentStatus) -> PaymentStatus:
    """The payment status a PaymentIntent's status means, given where the payment stands."""
    if intent.status == "succeeded":
        return PaymentStatus.SUCCEEDED
    if intent.status in ("processing", "requires_capture"):
        return PaymentStatus.PROCESSING
    if intent.status in ("requires_action", "requires_confirmation"):
        return PaymentStatus.REQUIRES_ACTION
    if intent.status == "canceled":
        return PaymentStatus.FAILED
    # requires_payment_method: no card yet (the payment page), a failed try on the page (the
    # customer may try again), or an off-session decline (failed).
    if (
        intent.error_code is None
        or intent.error_code in _NEEDS_CUSTOMER
        or current is PaymentStatus.REQUIRES_ACTION
    ):
        return PaymentStatus.REQUIRES_ACTION
    return PaymentStatus.FAILED


def _apply_intent(
    session: Session, payment: Payment, intent: Intent, now: datetime
) -> tuple[bool, bool]:
    """Apply `intent` to the locked `payment`: (changed, refund due). Idempotent."""
    named = intent.metadata.get("payment_id")
    if (named is not None and named != str(payment.id)) or (
        payment.stripe_payment_intent_id not in (None, intent.id)
    ):
        log.warning("PaymentIntent %s does not belong to payment %s", intent.id, payment.id)
        return False, False
    if payment.failure_code in (REFUND_PENDING, REFUNDED):
        return False, False  # its money is being, or has been, given back: final
    payment.stripe_payment_intent_id = intent.id
    if intent.payment_method_id:
        payment.stripe_payment_method_id = intent.payment_method_id
    target = _status_for(intent, payment.status)
    if target is payment.status or target not in PAYMENT_TRANSITIONS[payment.status]:
        # Already so (a replay, a webhook after the read-back), or final: nothing moves. A
        # customer's failed try on the payment page still updates the reason shown there.
        if target is PaymentStatus.REQUIRES_ACTION is payment.status and intent.error_code:
            payment.failure_code = intent.decline_code or intent.error_code
            payment.failure_reason = decline_reason(intent.error_code, intent.decline_code)
        return False, False
    covered = _locked_invoices(session, payment)
    if target is PaymentStatus.SUCCEEDED:
        return _succeed(session, payment, intent, covered, now)
    if target is PaymentStatus.FAILED:
        if intent.status == "canceled":
            code = NOT_CONFIRMED
            reason = "The payment was not confirmed in time, so it was cancelled."
        else:
            code = intent.decline_code or intent.error_code or "card_declined"
            reason = decline_reason(intent.error_code, intent.decline_code)
        _fail(session, payment, code, reason, now, covered=covered)
        return True, False
    transition_payment(payment, target)
    payment.failure_code = intent.error_code
    payment.failure_reason = (
        decline_reason(intent.error_code, intent.decline_code) if intent.error_code else None
    )
    payment.updated_at = now
    return True, False


def _succeed(
    session: Session, payment: Payment, intent: Intent, covered: list[Invoice], now: datetime
) -> tuple[bool, bool]:
    """Stripe has the money: mark the invoices paid (granting credits), or give it back."""
    # After we gave up on a payment its invoices may have been paid, or be being paid, by
    # another one; money that comes in then is refunded, never kept twice.
    payable = (
        (InvoiceStatus.OPEN,)
        if payment.status is PaymentStatus.FAILED
        else (InvoiceStatus.PAYING, InvoiceStatus.OPEN)
    )
    if any(invoice.status not in payable for invoice in covered):
        if payment.status is not PaymentStatus.FAILED:
            transition_payment(payment, PaymentStatus.FAILED)
        payment.failure_code = REFUND_PENDING
        payment.failure_reason = "Charged after the invoices were settled another way."
        payment.updated_at = now
        return True, True
    transition_payment(payment, PaymentStatus.SUCCEEDED)
    payment.failure_code = payment.failure_reason = None
    payment.updated_at = now
    if intent.card_last4:  # the card charged, as the invoice PDF names it
        payment.card_brand, payment.card_last4 = intent.card_brand, intent.card_last4
    actor = payment.requested_by or "stripe"
    for invoice in covered:
        invoices.mark_paid(session=session, invoice=invoice, now=now, actor=actor)
    audit.record(
        session=session,
        account_id=payment.account_id,
        actor=actor,
        action="payment.succeeded",
        now=now,
        payment=payment.id,
        payment_intent=intent.id,
    )
    return True, False


def _fail(
    session: Session,
    payment: Payment,
    code: str,
    reason: str,
    now: datetime,
    *,
    covered: list[Invoice] | None = None,
) -> None:
    """Fail `payment` and reopen its invoices (none is left `paying`)."""
    transition_payment(payment, PaymentStatus.FAILED)
    payment.failure_code = code[:64]
    payment.failure_reason = reason
    payment.updated_at = now
    for invoice in covered if covered is not None else _locked_invoices(session, payment):
        if invoice.status is InvoiceStatus.PAYING:
            invoices.transition(invoice, InvoiceStatus.OPEN)
    audit.record(
        session=session,
        account_id=payment.account_id,
        actor=payment.requested_by or "stripe",
        action="payment.failed",
        now=now,
        payment=payment.id,
        code=payment.failure_code,
    )


# ----------------------------------------------------------------------------------------------
# Queries
# ----------------------------------------------------------------------------------------------


def _account(session: Session, account_id: int, *, lock: bool = False) -> Account:
    query = select(Account).where(Account.id == account_id)
    account = session.scalar(query.with_for_update() if lock else query)
    if account is None:
        raise NotFound("This workspace has no Admin Portal account.")
    return account


def _person(payment: Payment) -> str | None:
    """Who pressed Pay Now, to give a payment link to; None for autopay and auto top-up."""
    who = payment.requested_by
    return None if not who or notifications.is_system_actor(who) else who


def _card_news_channel(session: Session, account_id: int) -> str | None:
    """Where news of the card on file goes, by the account's finance channel settings."""
    route = notifications.route_for(
        session=session, account_id=account_id, kind=notifications.Kind.CARD_CHANGED
    )
    return route.channel_id if route is not None else None


def _locked_payment(session: Session, payment_id: int) -> Payment:
    payment = session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())
    if payment is None:
        raise NotFound("That payment could not be found.")
    return payment


def _locked_invoices(session: Session, payment: Payment) -> list[Invoice]:
    return list(
        session.scalars(
            select(Invoice)
            .join(PaymentInvoice, PaymentInvoice.invoice_id == Invoice.id)
            .where(PaymentInvoice.payment_id == payment.id)
            .order_by(Invoice.id)
            .with_for_update()
        )
    )


def _payment_for_exactly(session: Session, chosen: tuple[int, ...]) -> Payment | None:
    """The payment answering Pay Now for exactly `chosen`: one still going, or the one that
    paid them all. A payment covering only some of them is a conflict."""
    candidates = session.scalars(
        select(Payment)
        .join(PaymentInvoice, PaymentInvoice.payment_id == Payment.id)
        .where(
            PaymentInvoice.invoice_id.in_(chosen),
            or_(Payment.status.in_(ACTIVE), Payment.status == PaymentStatus.SUCCEEDED),
        )
        .distinct()
        .order_by(Payment.id.desc())
    ).all()
    for payment in candidates:
        covered = tuple(sorted(invoice.id for invoice in payment.invoices))
        if covered == chosen:
            return payment
        if payment.status in ACTIVE:
            numbers = ", ".join(invoice.number for invoice in payment.invoices)
            raise InvalidTransition(
                f"A payment for {numbers} is already under way. Wait for it to finish, then "
                "choose the invoices again."
            )
    return None


def _check_payable(session: Session, locked: list[Invoice]) -> None:
    for invoice in locked:
        if invoice.status is not InvoiceStatus.OPEN:
            invoices.transition(invoice, InvoiceStatus.PAYING)  # raises, saying why not


def _payment_named_in(session: Session, intent: Intent) -> Payment | None:
    """The payment a PaymentIntent's metadata names (found before its id was stored)."""
    named = intent.metadata.get("payment_id", "")
    if not named.isdigit():
        return None
    payment = session.get(Payment, int(named))
    account = intent.metadata.get("account_id")
    if payment is None or (account is not None and account != str(payment.account_id)):
        return None
    return payment


def _billing_of(account: Account) -> BillingDetails:
    name = " ".join(part for part in (account.billing_forename, account.billing_surname) if part)
    return BillingDetails(
        name=name or account.company_name,
        email=account.contact_email,
        line1=account.billing_line1,
        line2=account.billing_line2,
        town=account.billing_town,
        postcode=account.billing_postcode,
        country=account.billing_country,
    )


def _customer_key(account_id: int, billing: BillingDetails) -> str:
    """Stripe's idempotency key for creating the account's customer with these details."""
    digest = hashlib.sha256(repr(billing).encode("utf-8")).hexdigest()[:16]
    return f"account:{account_id}:customer:{digest}"


def _retry_on_conflict(step: Callable[[], T]) -> T:
    """Run a T1 again when a concurrent twin won a unique key (it then finds the twin's row)."""
    for attempt in range(_T1_ATTEMPTS):
        try:
            return step()
        except IntegrityError:
            if attempt == _T1_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
