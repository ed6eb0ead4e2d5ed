"""What people are told about payments and the card on file, and the screens that lead there
(pure builders, no I/O).

The messages go to the person who acted: `payment_message` answers the one who pressed Pay Now
(from a `bot.payments.PaymentOutcome`), the card messages the one who saved a card; the finance
channel's notices are built by `bot.ui.finance`. The views are "Payment details" with its
billing address modal, the pay modal (unpaid invoices with checkboxes and the total of those
ticked), and the modal that says "Working…" after Pay Now and then shows the outcome.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from bot.dashboard import CardOnFile
from bot.invoice_list import InvoiceSummary, UnpaidInvoices
from bot.money import Money
from bot.payments import PaymentOutcome
from bot.ui.account import country_select
from bot.ui.common import (
    Block,
    Message,
    actions,
    button,
    context,
    header,
    modal,
    notice,
    plain,
    success,
    text_input,
    text_section,
)
from bot.ui.ids import Act, Blk, Cb
from bot.ui.invoices import NO_UNPAID, conversation_metadata, day, status_word
from store.enums import InvoiceStatus, PaymentStatus
from store.models import Account

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


# Payment details -------------------------------------------------------------------------------

NO_VALID_CARD = "You don't have any valid payment details"
PAYMENTS_NOT_SET_UP = "Card payments are not set up on this portal yet."
ADD_PAYMENT_DETAILS = "Add Payment Details"
CHANGE_PAYMENT_DETAILS = "Change Payment Details"


def payment_details_message(
    card: CardOnFile | None, *, valid: bool, can_manage: bool, configured: bool
) -> Message:
    """The card on file, masked, or "You don't have any valid payment details"; for an admin,
    "Change Payment Details" or "Add Payment Details" (when card payments are set up)."""
    if card is None:
        lines = [NO_VALID_CARD + "."]
    elif not valid:
        lines = [NO_VALID_CARD + ".", f"The card on file, {card.masked}, has expired."]
    else:
        lines = [f"*Card on file*\n{card.masked}", "It pays future invoices automatically."]
    blocks: list[Block] = [header("Payment details"), text_section("\n".join(lines))]
    buttons = [button("Return to Account", Act.RETURN_TO_ACCOUNT)]
    if can_manage and configured:
        label = CHANGE_PAYMENT_DETAILS if card is not None and valid else ADD_PAYMENT_DETAILS
        buttons.insert(0, button(label, Act.ADD_PAYMENT_DETAILS, style="primary"))
    elif can_manage:
        blocks.append(context(f":information_source: {PAYMENTS_NOT_SET_UP}"))
    blocks.append(actions(*buttons))
    return {"text": lines[0], "blocks": blocks}


def billing_address_modal(
    account: Account,
    *,
    countries: Mapping[str, str],
    changing: bool,
    channel_id: str | None = None,
) -> dict[str, Any]:
    """The billing address (forename, surname, address lines, town, postcode, country), filled
    in from what the account has; "Add Card" leads to the secure card page."""
    country = account.billing_country or account.country
    blocks: list[Block] = [
        text_section(
            "Your billing address, as your card's bank knows it. Next, you enter the card on a "
            "secure page: the card number goes to Stripe, never to us or to Slack."
        ),
        text_input(
            Blk.FORENAME,
            Act.FORENAME_INPUT,
            "Forename",
            initial=account.billing_forename,
            max_length=100,
        ),
        text_input(
            Blk.SURNAME,
            Act.SURNAME_INPUT,
            "Surname",
            initial=account.billing_surname,
            max_length=100,
        ),
        text_input(
            Blk.LINE1,
            Act.LINE1_INPUT,
            "Address line 1",
            initial=account.billing_line1,
            max_length=200,
        ),
        text_input(
            Blk.LINE2,
            Act.LINE2_INPUT,
            "Address line 2",
            initial=account.billing_line2,
            optional=True,
            max_length=200,
        ),
        text_input(
            Blk.TOWN,
            Act.TOWN_INPUT,
            "Town or city",
            initial=account.billing_town,
            max_length=100,
        ),
        text_input(
            Blk.POSTCODE,
            Act.POSTCODE_INPUT,
            "Postcode",
            initial=account.billing_postcode,
            max_length=20,
        ),
        country_select(label="Country", initial=(country, countries.get(country, country))),
    ]
    return modal(
        Cb.BILLING_ADDRESS,
        CHANGE_PAYMENT_DETAILS if changing else ADD_PAYMENT_DETAILS,
        blocks,
        submit="Add Card",
        private_metadata=conversation_metadata(channel_id),
    )


# The pay modal ----------------------------------------------------------------------------------

MAX_CHECKBOXES = 10  # Slack's limit on the options of one checkboxes element
PAY_INVOICES = "Pay invoices"
CHOOSE_AN_INVOICE = "Choose at least one invoice to pay."


def invoices_to_offer(
    invoices: Iterable[InvoiceSummary], first: Collection[int]
) -> list[InvoiceSummary]:
    """The unpaid invoices the pay modal offers, oldest first: those in `first`, then the
    oldest others, at most `MAX_CHECKBOXES`. Invoices already being paid are not offered."""
    payable: dict[int, InvoiceSummary] = {}
    for invoice in invoices:
        if invoice.status is InvoiceStatus.OPEN:
            payable.setdefault(invoice.id, invoice)
    picked = [invoice for invoice in payable.values() if invoice.id in first][:MAX_CHECKBOXES]
    others = [invoice for invoice in payable.values() if invoice.id not in first]
    offered = picked + others[: MAX_CHECKBOXES - len(picked)]
    return sorted(offered, key=lambda invoice: invoice.sequence)


def _invoice_option(invoice: InvoiceSummary, today: date) -> dict[str, Any]:
    return {
        "text": {"type": "mrkdwn", "text": f"*{invoice.number}* · {invoice.gross.format()}"},
        "description": plain(
            f"Issued {day(invoice.issue_date)} · due {day(invoice.due_date)} · "
            f"{status_word(invoice.status, invoice.due_date, today)}"
        ),
        "value": str(invoice.id),
    }


def _selection_total(
    offered: Sequence[InvoiceSummary], chosen: Collection[int], zero: Money
) -> str:
    ticked = [invoice for invoice in offered if invoice.id in chosen]
    if not ticked:
        return "*Total to pay:* nothing yet: tick the invoices to pay."
    total = sum((invoice.gross for invoice in ticked), zero)
    count = "1 invoice" if len(ticked) == 1 else f"{len(ticked)} invoices"
    return f"*Total to pay:* {total.format()} ({count})"


def _paying_with(card: CardOnFile | None, card_valid: bool) -> str:
    if card is not None and card_valid:
        return f"Pay Now takes one payment for the invoices ticked, from {card.masked}."
    return (
        "There is no valid card on file: Pay Now gives you a link to the secure payment page, "
        "where you pay with a card."
    )


def pay_invoices_modal(
    unpaid: UnpaidInvoices,
    *,
    first: Collection[int] = (),
    chosen: Collection[int],
    today: date,
    card: CardOnFile | None,
    card_valid: bool,
    channel_id: str | None = None,
    also: Sequence[InvoiceSummary] = (),
) -> dict[str, Any]:
    """ "Pay invoices": the unpaid invoices with checkboxes (`chosen` ticked), the total of the
    ticked ones, and "Pay Now". The invoices in `first` and `chosen` are offered before the
    oldest others; `also` adds invoices beyond the unpaid list (one a "Pay now" button named,
    or one the modal offered before)."""
    offered = invoices_to_offer([*unpaid.invoices, *also], [*first, *chosen])
    options = [_invoice_option(invoice, today) for invoice in offered]
    ticked = [
        entry for entry, invoice in zip(options, offered, strict=True) if invoice.id in chosen
    ]
    element: Block = {"type": "checkboxes", "action_id": Act.INVOICES_INPUT, "options": options}
    if ticked:
        element["initial_options"] = ticked
    blocks: list[Block] = [
        text_section(_paying_with(card, card_valid)),
        {
            "type": "input",
            "block_id": Blk.INVOICES,
            "dispatch_action": True,  # each tick updates the total
            "label": plain("Invoices to pay"),
            "element": element,
            "optional": False,
        },
        text_section(
            _selection_total(offered, chosen, Money.zero(unpaid.total.currency)),
            block_id=Blk.PAY_TOTAL,
        ),
    ]
    notes = []
    if unpaid.count > len(offered):
        notes.append(
            f"Showing {len(offered)} of your {unpaid.count:,} unpaid invoices, oldest first; "
            "pay the rest afterwards."
        )
    in_progress = [
        invoice.number for invoice in unpaid.invoices if invoice.status is InvoiceStatus.PAYING
    ]
    if in_progress:
        notes.append("Already being paid: " + ", ".join(in_progress) + ".")
    blocks.extend(context(note) for note in notes)
    return modal(
        Cb.PAY_INVOICES,
        PAY_INVOICES,
        blocks,
        submit="Pay Now",
        private_metadata=conversation_metadata(channel_id),
    )


def nothing_to_pay_message(unpaid: UnpaidInvoices) -> Message:
    """`/portal pay` with no invoice to tick: none unpaid, or all already being paid."""
    if not unpaid.invoices:
        return success(NO_UNPAID)
    numbers = ", ".join(invoice.number for invoice in unpaid.invoices)
    return notice(
        f"Your unpaid invoices are already being paid: {numbers}. There is nothing to pay now."
    )


# After Pay Now ------------------------------------------------------------------------------------


def _held(view: dict[str, Any], external_id: str) -> dict[str, Any]:
    """A view the app updates later, found by `external_id`; Close closes the whole stack."""
    view["external_id"] = external_id
    view["clear_on_close"] = True
    return view


def paying_modal(text: str, *, title: str, external_id: str) -> dict[str, Any]:
    """What Pay Now shows at once, while the payment is taken ("Working…")."""
    blocks = [
        text_section(f":hourglass_flowing_sand: {text}"),
        context("This takes a few seconds. The outcome is shown here and sent to you too."),
    ]
    return _held(modal(Cb.NOTICE, title, blocks, close="Close"), external_id)


def paying_for_credits(quantity: int, *, external_id: str) -> dict[str, Any]:
    return paying_modal(
        f"Paying for {_credits(quantity)}…", title="Purchase credits", external_id=external_id
    )


def paying_invoices(count: int, *, external_id: str) -> dict[str, Any]:
    what = "1 invoice" if count == 1 else f"{count} invoices"
    return paying_modal(f"Paying {what}…", title=PAY_INVOICES, external_id=external_id)


def _navigation(block: Block) -> bool:
    """An actions block of buttons that lead elsewhere in Slack (not a link to a page)."""
    return block.get("type") == "actions" and not all(
        "url" in element for element in block.get("elements", [])
    )


def payment_result_modal(
    outcome: PaymentOutcome, *, title: str, external_id: str
) -> dict[str, Any]:
    """The outcome of Pay Now in the modal: what `payment_message` says, and the payment page
    link when there is one."""
    blocks = [block for block in payment_message(outcome)["blocks"] if not _navigation(block)]
    return _held(modal(Cb.NOTICE, title, blocks, close="Close"), external_id)


def payment_problem_modal(text: str, *, title: str, external_id: str) -> dict[str, Any]:
    """Pay Now could not start (card payments not set up, an invoice no longer payable…)."""
    return _held(modal(Cb.NOTICE, title, [text_section(f":x: {text}")], close="Close"), external_id)
