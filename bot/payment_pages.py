"""The card page and the payment page: Stripe's own card field, reached by one-time links.

- `/secure/add-card/<token>` (link purpose `add_card`): a SetupIntent is created for each page
  load; Stripe.js mounts the Card Element and calls `confirmCardSetup`; the page then posts
  only the SetupIntent's id (with the CSRF token) back here, and the app reads the SetupIntent
  back from Stripe, attaches its card to the customer if needed, makes it the default and
  keeps brand, last 4 and expiry.
- `/secure/pay/<token>` (link purpose `pay`, bound to one payment): `confirmCardPayment` on
  that payment's PaymentIntent (with the Card Element when there is no card on file); the page
  posts back, the app reads the PaymentIntent back and settles the payment.

The card number goes from the browser to Stripe only: no form field here holds it, and what
is posted back is an intent id, which means nothing without the secret key. The Content
Security Policy lets in exactly the Stripe.js origin (script, frames, API) and the page's own
inline script by a per-response nonce. The page framing (CSRF cookie and hidden field, security
headers, friendly error pages, Slack told after the change committed) follows `bot/pages.py`.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, make_response, render_template, request

from bot import links, rate_limit
from bot.deps import Deps
from bot.errors import PermissionDenied
from bot.gateway import StripeUnavailable
from bot.pages import CSRF_FIELD, handle_page_errors, is_https, limit_posts, security_headers
from bot.payment_notifier import card_deliveries, payment_deliveries, send
from bot.payments import Payments, PaymentUnavailable
from bot.roles import Action
from bot.roles import require as require_role
from bot.settings import Settings
from bot.ui.payments import SUCCESS
from bot.users import role_of
from store.db import transaction
from store.enums import LinkPurpose, PaymentStatus
from store.models import Account, OneTimeLink, Payment

log = logging.getLogger(__name__)

SETUP_INTENT_FIELD = "setup_intent"
PAYMENT_INTENT_FIELD = "payment_intent"
MAX_BODY_BYTES = 4 * 1024  # a CSRF token and an intent id
_SETUP_INTENT = re.compile(r"seti_[A-Za-z0-9_]{1,200}")
_PAYMENT_INTENT = re.compile(r"pi_[A-Za-z0-9_]{1,200}")
_CSRF_BYTES = 32
_MAX_CSRF_LENGTH = 100
_TRY_AGAIN = (
    "We couldn't reach our card payment provider just now and nothing was changed. "
    "Reload this page in a minute to try again."
)


def page_headers(settings: Settings, nonce: str) -> dict[str, str]:
    """The secure pages' headers, Stripe.js let in, plus this response's script nonce."""
    headers = security_headers(settings, stripe=True)
    directives = [
        f"{directive} 'nonce-{nonce}'" if directive.startswith("script-src ") else directive
        for directive in headers["Content-Security-Policy"].split("; ")
    ]
    headers["Content-Security-Policy"] = "; ".join(directives)
    return headers


@dataclass(frozen=True, slots=True)
class _Visit:
    """A valid, unused link and who opened it, read in a transaction that has ended."""

    link_id: int
    account_id: int
    user_id: str
    channel_id: str | None
    company: str
    billing_name: str
    payment_id: int | None


class _Stop(Exception):
    """End the request with this response."""

    def __init__(self, response: Response) -> None:
        super().__init__("stop")
        self.response = response


class PaymentPages:
    """The two pages, bound to the app's settings and dependencies."""

    def __init__(self, settings: Settings, deps: Deps) -> None:
        self.settings = settings
        self.deps = deps
        self.https = is_https(settings)
        self.csrf_cookie = "__Host-portal_pay_csrf" if self.https else "portal_pay_csrf"

    # Framing ----------------------------------------------------------------------------------

    def render(
        self,
        template: str,
        *,
        title: str,
        status: int = 200,
        form: bool = False,
        **context: Any,
    ) -> Response:
        nonce = secrets.token_urlsafe(16)
        csrf_token = secrets.token_urlsafe(_CSRF_BYTES) if form else None
        html = render_template(
            template,
            title=title,
            nonce=nonce,
            csrf_token=csrf_token,
            stripe_js_url=self.settings.STRIPE_JS_URL,
            publishable_key=self.settings.STRIPE_PUBLISHABLE_KEY or "",
            **context,
        )
        response = make_response(html, status)
        response.headers.update(page_headers(self.settings, nonce))
        if csrf_token:
            response.set_cookie(
                self.csrf_cookie,
                csrf_token,
                path="/",
                secure=self.https,
                httponly=True,
                samesite="Strict",
            )
        return response

    def problem(
        self,
        message: str,
        *,
        title: str,
        status: int,
        company: str | None = None,
        reference: str | None = None,
    ) -> Response:
        return self.render(
            "secure/problem.html",
            title=title,
            status=status,
            message=message,
            reference=reference,
            company=company,
        )

    def done(self, visit: _Visit, *, title: str, message: str, details: list[str]) -> Response:
        return self.render(
            "secure/done.html",
            title=title,
            message=message,
            details=details,
            company=visit.company,
        )

    def _csrf_ok(self) -> bool:
        cookie = request.cookies.get(self.csrf_cookie, "")
        sent = request.form.get(CSRF_FIELD, "")
        if not cookie or not sent or len(cookie) > _MAX_CSRF_LENGTH:
            return False
        return hmac.compare_digest(cookie.encode("utf-8"), sent.encode("utf-8"))

    def _check_csrf(self) -> None:
        if request.method == "POST" and not self._csrf_ok():
            raise _Stop(
                self.problem(
                    "This page has expired or the form was not sent from it. Reload the page "
                    "and try again.",
                    title="Please try again",
                    status=400,
                )
            )

    def _open(self, token: str, purpose: LinkPurpose, action: Action) -> _Visit:
        """The link behind `token` if it is valid and its user may still do `action`."""
        now = self.deps.clock()
        try:
            with transaction(self.deps.session_factory) as session:
                link = links.open_link(
                    session=session, settings=self.settings, token=token, purpose=purpose, now=now
                )
                account = session.get_one(Account, link.account_id)
                role = role_of(
                    session=session, account_id=account.id, slack_user_id=link.slack_user_id
                )
                require_role(role, action)
                name = " ".join(
                    part for part in (account.billing_forename, account.billing_surname) if part
                )
                return _Visit(
                    link_id=link.id,
                    account_id=account.id,
                    user_id=link.slack_user_id,
                    channel_id=link.channel_id,
                    company=account.company_name,
                    billing_name=name or account.company_name,
                    payment_id=link.payment_id,
                )
        except links.LinkInvalid as exc:
            raise _Stop(
                self.problem(exc.message, title="This link can't be used", status=exc.http_status)
            ) from exc
        except PermissionDenied as exc:
            raise _Stop(self.problem(exc.message, title="Not allowed", status=403)) from exc

    def _use(self, visit: _Visit) -> bool:
        """Use the link up; False when another request already did (a double submit)."""
        with transaction(self.deps.session_factory) as session:
            link = session.get_one(OneTimeLink, visit.link_id)
            try:
                links.use_link(session=session, link=link, now=self.deps.clock())
            except links.LinkUsed:
                return False
            return True

    def _payments(self) -> Payments:
        try:
            return Payments.from_deps(self.deps)
        except PaymentUnavailable as exc:
            raise _Stop(
                self.problem(exc.message, title="Card payments are unavailable", status=503)
            ) from exc

    def _unavailable(self, visit: _Visit) -> _Stop:
        return _Stop(
            self.problem(_TRY_AGAIN, title="Please try again", status=503, company=visit.company)
        )

    # The card page ----------------------------------------------------------------------------

    def card(self, token: str) -> Response:
        self._check_csrf()
        visit = self._open(token, LinkPurpose.ADD_CARD, Action.MANAGE_PAYMENT_DETAILS)
        payments = self._payments()
        error = None
        if request.method == "POST":
            setup_intent_id = request.form.get(SETUP_INTENT_FIELD, "")
            if not _SETUP_INTENT.fullmatch(setup_intent_id):
                return self.problem(
                    "The card page sent something unexpected. Reload the page and try again.",
                    title="Please try again",
                    status=400,
                    company=visit.company,
                )
            try:
                result = payments.save_card_from_setup_intent(
                    setup_intent_id=setup_intent_id,
                    actor=visit.user_id,
                    account_id=visit.account_id,
                )
            except StripeUnavailable as exc:
                raise self._unavailable(visit) from exc
            if result is not None and result.saved and result.card is not None:
                # The request that uses the link up tells the person; the finance channel
                # hears from whichever request (or webhook) changed the card on file.
                used = self._use(visit)
                send(
                    self.deps.slack_for_account(visit.account_id),
                    card_deliveries(
                        result,
                        user_id=visit.user_id if used else None,
                        channel_id=visit.channel_id,
                    ),
                )
                return self.done(
                    visit,
                    title="Card saved",
                    message=SUCCESS,
                    details=[
                        f"The card on file is now {result.card.masked}.",
                        "It pays future invoices automatically.",
                    ],
                )
            error = (result.problem if result else None) or "The card was not saved."
        try:
            intent = payments.open_card_setup(account_id=visit.account_id)
        except PaymentUnavailable as exc:
            raise self._unavailable(visit) from exc
        return self.render(
            "payments/card.html",
            title="Add Payment Details",
            status=200 if error is None else 422,
            form=True,
            company=visit.company,
            billing_name=visit.billing_name,
            client_secret=intent.client_secret,
            error=error,
        )

    # The payment page -------------------------------------------------------------------------

    def pay(self, token: str) -> Response:
        self._check_csrf()
        visit = self._open(token, LinkPurpose.PAY, Action.PAY_INVOICES)
        payments = self._payments()
        with transaction(self.deps.session_factory) as session:
            payment = session.get(Payment, visit.payment_id) if visit.payment_id else None
            if payment is None or payment.account_id != visit.account_id:
                return self.problem(
                    links.LinkInvalid().message, title="This link can't be used", status=404
                )
        if request.method == "POST":
            sent = request.form.get(PAYMENT_INTENT_FIELD, "")
            if sent and not _PAYMENT_INTENT.fullmatch(sent):
                return self.problem(
                    "The payment page sent something unexpected. Reload the page and try again.",
                    title="Please try again",
                    status=400,
                    company=visit.company,
                )
        try:
            page = payments.payment_page(payment_id=payment.id)
        except PaymentUnavailable as exc:
            raise self._unavailable(visit) from exc
        outcome = page.outcome
        if outcome.settled_now:
            send(self.deps.slack_for_account(outcome.account_id), payment_deliveries(outcome))
        if outcome.status is PaymentStatus.SUCCEEDED:
            self._use(visit)
            details = [f"{outcome.amount} paid for {', '.join(outcome.invoice_numbers)}."]
            if outcome.credits_granted:
                details.append(
                    f"{outcome.credits_granted:,} credits added: the balance is now "
                    f"{outcome.credits_balance:,} credits."
                )
            return self.done(visit, title="Payment made", message=SUCCESS, details=details)
        if outcome.status is PaymentStatus.FAILED:
            return self.problem(
                f"This payment didn't go through: {outcome.reason or 'it was declined.'} "
                "Nothing was charged; you can pay again from Slack.",
                title="Payment not made",
                status=410,
                company=visit.company,
            )
        intent = page.intent
        if intent is None or intent.client_secret is None:
            return self.done(
                visit,
                title="Payment in progress",
                message="The payment is being processed.",
                details=["You will be told in Slack as soon as it is through."],
            )
        error = outcome.reason if request.method == "POST" else None
        needs_card = intent.payment_method_id is None
        return self.render(
            "payments/payment.html",
            title="Make a payment",
            status=200,
            form=True,
            company=visit.company,
            billing_name=visit.billing_name,
            amount=str(outcome.amount),
            invoices=", ".join(outcome.invoice_numbers),
            client_secret=intent.client_secret,
            needs_card=needs_card,
            # Stripe itself wants the card again after `authentication_required`; while the
            # intent is `requires_action` Stripe.js only needs the client secret.
            confirm_with=(
                intent.payment_method_id
                if intent.status == "requires_payment_method" and not needs_card
                else ""
            ),
            card=outcome.card.masked if outcome.card else None,
            error=error,
        )


def blueprint(
    settings: Settings, deps: Deps, *, limiter: rate_limit.SecurePostLimiter | None = None
) -> Blueprint:
    """The card and payment pages under `/secure/`, with headers, CSRF, rate limits, errors."""
    pages = PaymentPages(settings, deps)
    limiter = limiter or rate_limit.SecurePostLimiter.from_settings(settings)
    bp = Blueprint("payment_pages", __name__, url_prefix="/secure", template_folder="templates")

    @bp.before_request
    def _limit_request_size() -> None:
        request.max_content_length = MAX_BODY_BYTES
        request.max_form_parts = 10

    limit_posts(bp, pages.problem, limiter)

    @bp.route(f"/{links.purpose_slug(LinkPurpose.ADD_CARD)}/<token>", methods=["GET", "POST"])
    def card(token: str) -> Response:
        try:
            return pages.card(token)
        except _Stop as stop:
            return stop.response

    @bp.route(f"/{links.purpose_slug(LinkPurpose.PAY)}/<token>", methods=["GET", "POST"])
    def pay(token: str) -> Response:
        try:
            return pages.pay(token)
        except _Stop as stop:
            return stop.response

    handle_page_errors(
        bp,
        pages.problem,
        what="Payment page",
        too_large="That was more than this page sends.",
        retry="Try again in a minute: you will not be charged twice.",
        failed="Something went wrong on our side. Try again in a minute: you will not be "
        "charged twice.",
    )

    return bp
