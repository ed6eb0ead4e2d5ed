"""Payment details and what every Pay Now shares.

- "Payment details" (`/portal card`, the menu): the card on file, masked, and for an admin
  "Add Payment Details" / "Change Payment Details": the billing address modal, then the link to
  the secure card page, posted to the one person who asked. The card number is typed on that
  page, into Stripe's own field; it never passes through Slack or this app.
- Pay Now (the credits purchase confirmation in `handlers/credits.py`, the pay modal in
  `handlers/invoices.py`): the submission is checked and answered at once with a "Working…"
  view; after the ack the payments service takes the payment (`bot.payments`: one row, one
  PaymentIntent, idempotent), the outcome replaces "Working…", the person is told privately
  and the finance channel as the payment notifier routes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.countries import country_names
from bot.dashboard import card_on_file
from bot.deps import Deps
from bot.errors import UserFacingError
from bot.payment_notifier import notify_payment, send, to_person
from bot.payments import BillingAddress, PaymentOutcome, Payments
from bot.portal import first_time
from bot.roles import Action, can
from bot.ui import payments as payments_ui
from bot.ui.common import Message, notice
from bot.ui.ids import Act, Blk, Cb
from bot.ui.invoices import conversation_in
from handlers._support import (
    Request,
    Who,
    answer_submission,
    field_value,
    guard,
    in_place,
    on_button,
    unit_of_work,
    who,
)
from store.enums import EventSource, PaymentStatus
from store.models import Account

log = logging.getLogger(__name__)

# Slack shows the ack's "Working…" view once it has the HTTP answer, which can be a moment after
# the payment is through: until then that view is "not found", so it is looked for again, for
# a second and a half at most (the listener's thread is held meanwhile).
_FIND_ATTEMPTS = 15
_FIND_PAUSE_SECONDS = 0.1


def register(app: App, deps: Deps) -> None:
    """Wire this area's ids to their listeners."""
    app.action(Act.ADD_PAYMENT_DETAILS)(guard(partial(on_button, open_billing_address, deps)))
    app.view(Cb.BILLING_ADDRESS)(guard(partial(add_card, deps)))


def card_payments(deps: Deps) -> Payments:
    """The payments service; says plainly when card payments are not set up (no Stripe key)."""
    return Payments.from_deps(deps)


def tell(client: WebClient, user_id: str, channel_id: str | None, message: Message) -> None:
    """Privately: ephemeral in the conversation the flow started in, else a direct message."""
    send(client, [to_person(user_id, channel_id, message)])


# -- Payment details ----------------------------------------------------------------------------


def show_payment_details(deps: Deps, req: Request) -> None:
    """`/portal card` and "Payment details": the card on file, or that there is none."""
    today = deps.clock().astimezone(deps.settings.timezone).date()
    with unit_of_work(deps, req.origin) as (_session, visitor):
        account = visitor.require(Action.VIEW)
        card = card_on_file(account)
        can_manage = can(visitor.role, Action.MANAGE_PAYMENT_DETAILS)
    message = payments_ui.payment_details_message(
        card,
        valid=card is not None and not card.expired(today),
        can_manage=can_manage,
        configured=deps.gateway is not None,
    )
    req.reply(message, replace=in_place(req))


def open_billing_address(deps: Deps, req: Request) -> None:
    """ "Add Payment Details" / "Change Payment Details": the billing address modal."""
    today = deps.clock().astimezone(deps.settings.timezone).date()
    with unit_of_work(deps, req.origin) as (_session, visitor):
        account = visitor.require(Action.MANAGE_PAYMENT_DETAILS)
        card_payments(deps)
        card = card_on_file(account)
        view = payments_ui.billing_address_modal(
            account,
            countries=country_names(),
            changing=card is not None and not card.expired(today),
            channel_id=req.origin.channel_id,
        )
    req.open_modal(view)


def billing_address(view: dict[str, Any]) -> BillingAddress:
    """The billing address modal's fields, as the payments service takes them."""
    return BillingAddress(
        forename=field_value(view, Blk.FORENAME, Act.FORENAME_INPUT),
        surname=field_value(view, Blk.SURNAME, Act.SURNAME_INPUT),
        line1=field_value(view, Blk.LINE1, Act.LINE1_INPUT),
        line2=field_value(view, Blk.LINE2, Act.LINE2_INPUT) or None,
        town=field_value(view, Blk.TOWN, Act.TOWN_INPUT),
        postcode=field_value(view, Blk.POSTCODE, Act.POSTCODE_INPUT),
        country=field_value(view, Blk.COUNTRY, Act.COUNTRY_INPUT, "selected_option"),
    )


@dataclass(frozen=True, slots=True)
class CardSetUp:
    """An accepted billing address: whose, and where the card page link goes."""

    account_id: int
    address: BillingAddress
    channel_id: str | None


def add_card(
    deps: Deps, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
) -> None:
    """ "Add Card": check the address (errors under their fields), close the modal, then save
    the address at Stripe and post the link to the card page."""
    origin = who(body)
    accepted: list[CardSetUp] = []

    def work() -> dict[str, Any]:
        with unit_of_work(deps, origin) as (_session, visitor):
            account = visitor.require(Action.MANAGE_PAYMENT_DETAILS)
            card_payments(deps)
        address = billing_address(view)
        problems = address.problems()  # the names are the modal's block ids
        if problems:
            return {"response_action": "errors", "errors": problems}
        channel_id = conversation_in(str(view.get("private_metadata") or ""))
        accepted.append(CardSetUp(account.id, address, channel_id))
        return {"response_action": "clear"}

    answer_submission(ack, work)
    for setup in accepted:
        try:
            url = card_payments(deps).begin_card_setup(
                account_id=setup.account_id,
                user_id=origin.user_id,
                channel_id=setup.channel_id,
                address=setup.address,
            )
        except UserFacingError as exc:
            tell(client, origin.user_id, setup.channel_id, notice(exc.message))
            continue
        tell(client, origin.user_id, setup.channel_id, payments_ui.card_link_message(url))


# -- Pay Now ------------------------------------------------------------------------------------


def held_view(view_id: str) -> str:
    """The `external_id` of the view Pay Now leaves in place of the submitted one."""
    return f"paying:{view_id}"


@dataclass(frozen=True, slots=True)
class PayNow:
    """One Pay Now submission, checked and acknowledged: what the payment after the ack needs."""

    account_id: int
    user_id: str
    channel_id: str | None
    view_id: str
    first: bool  # False: the same submission again (a double click, a Slack retry)

    @property
    def external_id(self) -> str:
        return held_view(self.view_id)


def pay_now_pressed(
    deps: Deps,
    session: Session,
    account: Account,
    origin: Who,
    *,
    view_id: str,
    channel_id: str | None,
) -> PayNow:
    """In the submission's unit of work, after the role check: card payments must be set up,
    and the submission is recorded, so that the same one arriving again tells nobody twice."""
    card_payments(deps)
    if not view_id:
        raise UserFacingError("This form can no longer be used. Please start again.")
    first = first_time(
        session=session, source=EventSource.SLACK, key=f"pay_now:{view_id}", now=deps.clock()
    )
    return PayNow(account.id, origin.user_id, channel_id, view_id, first)


def settle_after_ack(
    deps: Deps,
    client: WebClient,
    press: PayNow,
    *,
    title: str,
    pay: Callable[[Payments], PaymentOutcome],
) -> None:
    """Take the payment, then say how it went: in the modal, privately to the person, and to the
    finance channel when this call settled it.

    Whoever settles a payment tells the person (this call, a twin submission, or the webhook);
    a submission that finds it settled already says nothing more, and the first submission
    says where a payment still going stands ("being processed", "try again in a minute")."""
    try:
        outcome = pay(card_payments(deps))
    except UserFacingError as exc:
        tell(client, press.user_id, press.channel_id, notice(exc.message))
        problem = payments_ui.payment_problem_modal(
            exc.message, title=title, external_id=press.external_id
        )
        show_in_modal(client, press.external_id, problem)
        return
    if outcome.settled_now or (press.first and not settled(outcome)):
        tell(client, press.user_id, press.channel_id, payments_ui.payment_message(outcome))
    notify_payment(client, outcome, tell_person=False)
    result = payments_ui.payment_result_modal(outcome, title=title, external_id=press.external_id)
    show_in_modal(client, press.external_id, result)


def settled(outcome: PaymentOutcome) -> bool:
    """Paid, or failed for good: whoever settled it has said so."""
    final = outcome.status in (PaymentStatus.SUCCEEDED, PaymentStatus.FAILED)
    return final and not outcome.retry_later


def show_in_modal(client: WebClient, external_id: str, view: dict[str, Any]) -> None:
    """Replace the "Working…" view. One the person has closed stays closed: the outcome has
    been sent to them anyway, so a view that can't be updated is only logged."""
    for _attempt in range(_FIND_ATTEMPTS):
        try:
            client.views_update(external_id=external_id, view=view)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error != "not_found":
                log.warning("could not show the payment outcome in the modal: %s", error)
                return
        else:
            return
        time.sleep(_FIND_PAUSE_SECONDS)
    log.info("the payment modal %s was closed before the outcome was shown", external_id)
