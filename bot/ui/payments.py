"""What people are told about payments and the card on file (pure builders, no I/O).

Each builder takes a service outcome (`bot.payments.PaymentOutcome`, `CardSaved`) and returns a
Slack message. `payment_message` answers the person who pressed Pay Now; the `*_notice`
builders are for the account's finance channel.
"""

from __future__ import annotations

from bot.dashboard import CardOnFile
from bot.payments import CardSaved, PaymentOutcome
from bot.ui.common import (
    Message,
    actions,
    button,
    context,
    notice,
    success,
    text_section,
)
from bot.ui.ids import Act
from store.enums import PaymentStatus

SUCCESS = "Your transaction was successful"
LINK_LIFETIME_NOTE = "The link is for you alone and works for 10 minutes."


def _invoices(outcome: PaymentOutcome) -> str:
    numbers = outcome.invoice_numbers
    if not numbers:
        return "the payment"
    if len(numbers) == 1:
        return f"invoice {numbers[0]}"
    return "invoices " + ", ".join(numbers[:-1]) + f" and {numbers[-1]}"


def _credits(count: int) -> str:
    return f"{count:,} credit{'s' if count != 1 else ''}"


# To the person who pressed Pay Now ------------------------------------------------------------


def payment_message(outcome: PaymentOutcome) -> Message:
    """The answer to Pay Now (or to a payment settled later), whatever became of it."""
    if outcome.status is PaymentStatus.SUCCEEDED:
        return payment_succeeded_message(outcome)
    if outcome.retry_later:
        return try_again_message(outcome)
    if outcome.status is PaymentStatus.FAILED:
        return payment_failed_message(outcome)
    if outcome.status is PaymentStatus.REQUIRES_ACTION:
        return payment_link_message(outcome)
    return payment_in_progress_message(outcome)


def payment_succeeded_message(outcome: PaymentOutcome) -> Message:
    paid = f"{outcome.amount} paid for {_invoices(outcome)}"
    if outcome.card is not None:
        paid += f" with {outcome.card.brand.title()} •••• {outcome.card.last4}"
    details = [paid + "."]
    if outcome.credits_granted:
        details.append(
            f"{_credits(outcome.credits_granted)} added: the balance is now "
            f"{_credits(outcome.credits_balance)}."
        )
    return success(SUCCESS, *details)


def payment_failed_message(outcome: PaymentOutcome) -> Message:
    reason = outcome.reason or "The card was declined."
    text = (
        f":x: The payment of {outcome.amount} for {_invoices(outcome)} didn't go through. "
        f"{reason} Nothing was charged and the invoice is still open. "
        "Use another card (Change Payment Details), or ask your bank, then pay again."
    )
    return {
        "text": text,
        "blocks": [
            text_section(text),
            actions(
                button("Payment details", Act.MENU_CARD),
                button("Return to Account", Act.RETURN_TO_ACCOUNT),
            ),
        ],
    }


def payment_link_message(outcome: PaymentOutcome) -> Message:
    """The payment page link: no card on file, or the bank wants the customer (SCA)."""
    if outcome.needs_card:
        why = "There is no valid card on file, so the payment needs a card."
    else:
        why = "Your bank needs you to confirm this payment."
    text = f"{why} Open the secure payment page to pay {outcome.amount} for {_invoices(outcome)}."
    blocks = [text_section(f":lock: {text}")]
    if outcome.payment_link:
        blocks.append(
            actions(
                button(
                    "Open payment page",
                    Act.OPEN_LINK,
                    url=outcome.payment_link,
                    style="primary",
                )
            )
        )
        blocks.append(context(LINK_LIFETIME_NOTE))
    else:
        blocks.append(context("Press Pay Now again for a new link to the payment page."))
    return {"text": text, "blocks": blocks}


def payment_in_progress_message(outcome: PaymentOutcome) -> Message:
    return notice(
        f"The payment of {outcome.amount} for {_invoices(outcome)} is already being processed. "
        "You will be told here as soon as it is through: there is no need to pay again."
    )


def try_again_message(outcome: PaymentOutcome | None = None) -> Message:
    if outcome is not None and outcome.status is PaymentStatus.FAILED:
        text = (
            "We couldn't reach our card payment provider, so nothing was charged. "
            "Please try again in a minute."
        )
    else:
        text = (
            "We couldn't reach our card payment provider just now. Please try again in a "
            "minute: you will not be charged twice."
        )
    return notice(f":hourglass: {text}")


# The card on file -------------------------------------------------------------------------------


def card_link_message(url: str) -> Message:
    """The link to the card page, after the billing address modal."""
    text = "Enter the card on the secure card page: the card number goes to Stripe, never to us."
    return {
        "text": text,
        "blocks": [
            text_section(f":lock: {text}"),
            actions(button("Open card page", Act.OPEN_LINK, url=url, style="primary")),
            context(LINK_LIFETIME_NOTE),
        ],
    }


def card_saved_message(card: CardOnFile) -> Message:
    return success(
        SUCCESS,
        f"The card on file is now {card.masked}.",
        "It pays future invoices automatically.",
    )


def card_not_saved_message(problem: str) -> Message:
    return notice(f":x: The card was not saved. {problem}")


# To the finance channel -------------------------------------------------------------------------


def payment_succeeded_notice(outcome: PaymentOutcome) -> Message:
    who = f" by <@{outcome.requested_by}>" if outcome.requested_by else ""
    text = f"Payment received: {outcome.amount} for {_invoices(outcome)}{who}."
    lines = [f":moneybag: {text}"]
    if outcome.credits_granted:
        lines.append(f"{_credits(outcome.credits_granted)} added to the balance.")
    return {"text": text, "blocks": [text_section("\n".join(lines))]}


def payment_failed_notice(outcome: PaymentOutcome) -> Message:
    text = (
        f"Payment failed: {outcome.amount} for {_invoices(outcome)}. "
        f"{outcome.reason or 'The card was declined.'}"
    )
    return {"text": text, "blocks": [text_section(f":warning: {text}")]}


def card_saved_notice(result: CardSaved) -> Message:
    who = f"<@{result.actor}>" if result.actor != "stripe" else "Stripe"
    if result.card is None:
        text = f"The card on file was removed ({who})."
    else:
        verb = "changed" if result.replaced else "added"
        text = f"Card {verb} by {who}: {result.card.masked}."
    return {"text": text, "blocks": [text_section(f":credit_card: {text}")]}


def payment_notice(outcome: PaymentOutcome) -> Message | None:
    """The finance channel's notice of a settled payment, if it is news to them."""
    if outcome.status is PaymentStatus.SUCCEEDED:
        return payment_succeeded_notice(outcome)
    if outcome.status is PaymentStatus.FAILED and not outcome.retry_later:
        return payment_failed_notice(outcome)
    return None
