"""Credits: the balance and purchases, the "Purchase credits" modal with its live quote, and
the confirmation view with "Pay Now"."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from bot.credits import CreditsEntry, CreditsSummary
from bot.quotes import PriceTier, Quote
from bot.ui import finance as finance_ui
from bot.ui.common import (
    Block,
    Message,
    actions,
    button,
    context,
    header,
    modal,
    return_to_account,
    text_input,
    text_section,
)
from bot.ui.ids import Act, Blk, Cb
from bot.ui.invoices import (
    conversation_metadata,
    day,
    download_button,
    fields,
    totals_lines,
    treatment_note,
    vat_label,
)
from bot.usage import UsageEntry

NO_PURCHASES = "You haven't purchased any credits yet."
ENTER_A_NUMBER = "Enter a number of credits to see the price."
PAY_NOW = "Pay Now"
PAY_NOW_NOTE = (
    "Pay Now charges the card on file, or gives you a link to the secure payment page when "
    "there is none. The credits are added as soon as the payment succeeds."
)


def credits_message(
    summary: CreditsSummary, used: Sequence[UsageEntry] = (), *, can_buy: bool, tz: ZoneInfo
) -> Message:
    """The Credits area: balance, then each purchase with its date, credits and invoice, and
    a button that posts that invoice's PDF."""
    balance = f"{summary.balance:,} credit{'' if summary.balance == 1 else 's'}"
    blocks: list[Block] = [header("Credits"), text_section(f"*Balance:* {balance}")]
    if summary.purchases:
        blocks.append(text_section("*Purchases*"))
        for purchase in summary.purchases:
            row = text_section(
                f"{day(purchase.granted_at.astimezone(tz).date())} · "
                f"{purchase.credits:,} credits · invoice {purchase.invoice_number}"
            )
            row["accessory"] = download_button(purchase.invoice_id)  # posts its invoice PDF
            blocks.append(row)
        if summary.earlier_purchases:
            blocks.append(context(f"And {summary.earlier_purchases:,} earlier purchases."))
    else:
        blocks.append(text_section(NO_PURCHASES))
    blocks.extend(finance_ui.usage_blocks(used, tz=tz))
    if can_buy:
        blocks.append(
            actions(button("Purchase credits", Act.MENU_BUY_CREDITS, style="primary")),
        )
    blocks.append(return_to_account())
    return {"text": f"Credits balance: {balance}", "blocks": blocks}


def tiers_text(tiers: Sequence[PriceTier]) -> str:
    """`Price per credit: £1.00 for 1-99 · £0.90 for 100-499 · £0.80 for 500 or more`."""
    parts = [
        f"{tier.unit_price.format()} for "
        + (
            f"{tier.min_quantity:,}–{tier.max_quantity:,}"
            if tier.max_quantity is not None
            else f"{tier.min_quantity:,} or more"
        )
        for tier in tiers
    ]
    return "Price per credit: " + " · ".join(parts)


def quote_text(quote: Quote) -> str:
    """The live quote: what the number typed costs, per credit and in total."""
    lines = [
        f"*{quantity_words(quote)}*",
        f"*Cost per credit:* {quote.unit_price.format()}",
        *totals_lines(
            net=quote.net,
            vat=quote.vat,
            gross=quote.gross,
            treatment=quote.vat_treatment,
            rate=quote.vat_rate,
        ),
        f"_{treatment_note(quote.vat_treatment)}_",
    ]
    return "\n".join(lines)


def quantity_words(quote: Quote) -> str:
    credits = int(quote.quantity)
    return f"{credits:,} credit{'' if credits == 1 else 's'}"


def purchase_modal(entry: CreditsEntry, *, channel_id: str | None = None) -> dict[str, Any]:
    """The "Purchase credits" modal: the number typed and its price, updated as it changes.

    It carries `channel_id`, the conversation the purchase started in, where the outcome of
    Pay Now is said."""
    if entry.quote is not None:
        quote = quote_text(entry.quote)
    elif entry.problem is not None:
        quote = f":warning: {entry.problem}"
    else:
        quote = ENTER_A_NUMBER
    blocks: list[Block] = [
        text_input(
            Blk.CREDITS,
            Act.CREDITS_INPUT,
            "Number of credits",
            initial=(entry.text or "")[:20] or None,
            placeholder="e.g. 150",
            dispatch=True,
        ),
        text_section(quote, block_id=Blk.QUOTE),
    ]
    if entry.tiers:
        blocks.append(context(tiers_text(entry.tiers)))
    return modal(
        Cb.PURCHASE_CREDITS,
        "Purchase credits",
        blocks,
        submit="Confirm",
        private_metadata=conversation_metadata(channel_id),
    )


def purchase_confirm_view(quote: Quote, *, channel_id: str | None = None) -> dict[str, Any]:
    """The confirmation of a purchase: what it costs, and "Pay Now". It carries the number of
    credits and the conversation the purchase started in."""
    blocks: list[Block] = [
        fields(
            ("Number of credits", f"{int(quote.quantity):,}"),
            ("Cost per credit", quote.unit_price.format()),
            ("Net total", quote.net.format()),
            (vat_label(quote.vat_treatment, quote.vat_rate), quote.vat.format()),
            ("Gross total", quote.gross.format()),
        ),
        context(treatment_note(quote.vat_treatment)),
        context(PAY_NOW_NOTE),
    ]
    return modal(
        Cb.PURCHASE_CONFIRM,
        "Confirm purchase",
        blocks,
        submit=PAY_NOW,
        close="Back",
        private_metadata=conversation_metadata(channel_id, credits=int(quote.quantity)),
    )
