"""The finance channel feed: where each kind of notification goes, and posting it.

Every notification the portal sends to a channel has a `NotificationKind`. An account's
settings decide, per kind, whether it is sent and where (the finance channel, or a channel the
kind is routed to); the whole feed can be paused; payment notifications can have an amount
threshold. `route_for` answers "where does this go now?" inside the caller's transaction, so
services that already hold one (payments, the password pages, the handlers) use it to address
their own messages; `post_once` resolves, posts and records in one go for the jobs.

Follow-ups about one invoice (created, reminded, paid) go into the thread of the first message
about it in that channel: `invoice_threads` keeps that message's ts per (invoice, channel).
Messages a job must send once (a reminder a day, a digest a period, an escalation) are claimed
in `notification_log` under a unique key before they are posted, so two workers or a rerun
never send them twice; a post that fails gives its claim back so the next run tries again.

Slack is only ever called outside a transaction, and a failed Slack call is logged and never
undoes what was done.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import audit
from bot.dashboard import card_on_file
from bot.errors import FieldError
from bot.money import Money
from bot.ui import finance as ui
from bot.ui.common import Message
from store.db import transaction
from store.enums import InvoiceKind, PaymentStatus, Role
from store.models import (
    Account,
    AccountUser,
    FinanceSettings,
    Invoice,
    InvoiceThread,
    NotificationKind,
    NotificationLog,
    NotificationPreference,
)

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.payments import CardSaved, PaymentOutcome
    from bot.settings import Settings

log = logging.getLogger(__name__)

Kind = NotificationKind

# Who a payment was made by when no person pressed Pay Now (`Payment.requested_by`).
AUTOPAY_ACTOR = "autopay"
TOP_UP_ACTOR = "auto-top-up"
SYSTEM_ACTORS = frozenset({AUTOPAY_ACTOR, TOP_UP_ACTOR})

# The amount threshold applies to these; the rest are always sent (when on).
PAYMENT_KINDS = frozenset({Kind.PAYMENT_RECEIVED, Kind.PAYMENT_FAILED, Kind.CREDITS_BOUGHT})
# About one invoice: these go into the invoice's thread.
INVOICE_KINDS = frozenset(
    {
        Kind.INVOICE_CREATED,
        Kind.INVOICE_OVERDUE,
        Kind.AUTOPAY_ATTENTION,
        Kind.PAYMENT_RECEIVED,
        Kind.PAYMENT_FAILED,
        Kind.CREDITS_BOUGHT,
    }
)

# Field names of the settings forms; the modals' input blocks carry the same ids.
THRESHOLD_FIELD = "payment_threshold"
ROUTE_KIND_FIELD = "route_kind"
LOW_BALANCE_FIELD = "low_balance"
TOP_UP_BELOW_FIELD = "top_up_below"
TOP_UP_CREDITS_FIELD = "top_up_credits"
MAX_CREDITS = 1_000_000


def is_system_actor(user_id: str | None) -> bool:
    return user_id in SYSTEM_ACTORS


def actor_words(user_id: str | None) -> str:
    """Who did something, as the feed says it: a mention, or what acted on its own."""
    if user_id == AUTOPAY_ACTOR:
        return "autopay"
    if user_id == TOP_UP_ACTOR:
        return "auto top-up"
    if user_id in (None, "", "stripe"):
        return "Stripe"
    return f"<@{user_id}>"


# ----------------------------------------------------------------------------------------------
# Where a notification goes
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    """One notification's destination: a channel, and the invoice thread to post in, if any."""

    channel_id: str
    thread_ts: str | None = None


def route_for(
    *,
    session: Session,
    account_id: int,
    kind: Kind,
    amount: Money | None = None,
    invoice_id: int | None = None,
) -> Route | None:
    """Where a notification of `kind` goes now; None when it is not to be sent.

    Not sent: the kind is off, the feed is paused, a payment is under the threshold, or
    there is no channel (no finance channel, and the kind is not routed elsewhere).
    """
    settings = session.get(FinanceSettings, account_id)
    if settings is not None and settings.paused:
        return None
    preference = session.get(NotificationPreference, (account_id, kind))
    if preference is not None and not preference.enabled:
        return None
    threshold = settings.payment_threshold_minor if settings is not None else None
    if (
        kind in PAYMENT_KINDS
        and amount is not None
        and threshold
        and amount.amount_minor < threshold
    ):
        return None
    channel = preference.channel_id if preference is not None else None
    if channel is None:
        channel = session.scalar(select(Account.finance_channel_id).where(Account.id == account_id))
    if not channel:
        return None
    thread_ts = None
    if invoice_id is not None and kind in INVOICE_KINDS:
        thread = session.get(InvoiceThread, (invoice_id, channel))
        thread_ts = thread.ts if thread is not None else None
    return Route(channel, thread_ts)


def route_payment(
    *,
    session: Session,
    account_id: int,
    status: PaymentStatus,
    amount: Money,
    invoices: Sequence[Invoice],
    requested_by: str | None,
) -> Route | None:
    """Where a settled payment's notice goes (called by the payments service as it answers)."""
    if status is PaymentStatus.SUCCEEDED:
        credits_only = bool(invoices) and all(i.kind is InvoiceKind.CREDITS for i in invoices)
        kind = Kind.CREDITS_BOUGHT if credits_only else Kind.PAYMENT_RECEIVED
    elif status is PaymentStatus.FAILED:
        if requested_by == AUTOPAY_ACTOR:
            return None  # autopay says it itself, with when it will try again
        kind = Kind.PAYMENT_FAILED
    else:
        return None
    invoice_id = invoices[0].id if len(invoices) == 1 else None
    return route_for(
        session=session, account_id=account_id, kind=kind, amount=amount, invoice_id=invoice_id
    )


def payment_notice(outcome: PaymentOutcome) -> Message | None:
    """The finance channel's notice of a settled payment, if it is news to them."""
    return ui.payment_notice(outcome, by=actor_words(outcome.requested_by))


def card_notice(result: CardSaved) -> Message:
    return ui.card_notice(result, by=actor_words(result.actor))


# ----------------------------------------------------------------------------------------------
# Posting
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Notice:
    """A notification to post for an account: its kind, its message, what it is about."""

    kind: Kind
    message: Message
    invoice_id: int | None = None
    amount: Money | None = None  # for the payment threshold


@dataclass(frozen=True, slots=True)
class Posted:
    channel_id: str
    ts: str


def post_once(
    slack: WebClient,
    session_factory: sessionmaker[Session],
    *,
    account_id: int,
    key: str,
    notice: Notice,
    now: datetime,
) -> Posted | None:
    """Post `notice` unless a notification with `key` was already sent for the account.

    The key is claimed (a unique row) before posting; a failed post gives it back. When the
    notice is not to be sent (off, paused, no channel) nothing is claimed.
    """
    with transaction(session_factory) as session:
        route = _route(session, account_id, notice)
        if route is None or not _claim(
            session, account_id=account_id, key=key, kind=notice.kind, route=route, now=now
        ):
            return None
    ts = send_to_channel(slack, route.channel_id, notice.message, thread_ts=route.thread_ts)
    with transaction(session_factory) as session:
        claimed = session.scalar(
            select(NotificationLog).where(
                NotificationLog.account_id == account_id, NotificationLog.key == key
            )
        )
        if ts is None:
            if claimed is not None:
                session.delete(claimed)
            return None
        if claimed is not None:
            claimed.ts = ts
    _remember_thread(session_factory, notice, route, ts, now)
    return Posted(route.channel_id, ts)


def tell_admins_once(
    slack: WebClient,
    session_factory: sessionmaker[Session],
    *,
    account_id: int,
    key: str,
    kind: Kind,
    message: Message,
    now: datetime,
) -> list[str]:
    """A direct message to each of the account's admins, once per key (not subject to the
    feed's settings: pausing the channel does not silence what admins must act on)."""
    with transaction(session_factory) as session:
        admins = list(
            session.scalars(
                select(AccountUser.slack_user_id)
                .where(AccountUser.account_id == account_id, AccountUser.role == Role.ADMIN)
                .order_by(AccountUser.id)
            )
        )
        if not admins or not _claim(
            session, account_id=account_id, key=key, kind=kind, route=None, now=now
        ):
            return []
    told = [admin for admin in admins if send_to_channel(slack, admin, message) is not None]
    if not told:
        with transaction(session_factory) as session:
            session.execute(
                delete(NotificationLog).where(
                    NotificationLog.account_id == account_id, NotificationLog.key == key
                )
            )
    return told


def send_to_channel(
    slack: WebClient, channel: str, message: Message, *, thread_ts: str | None = None
) -> str | None:
    """Post `message`; the message's ts, or None when Slack refused (logged, never raised).

    A public channel the app was removed from is joined again once; a private one can only be
    re-joined by an invitation, so that failure is logged.
    """
    extra: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
    for attempt in range(2):
        try:
            response = slack.chat_postMessage(channel=channel, **message, **extra)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error == "not_in_channel" and attempt == 0 and _join(slack, channel):
                continue
            log.warning("Slack chat.postMessage to %s failed: %s", channel, error)
            return None
        except (SlackClientError, OSError) as exc:
            log.warning("Slack chat.postMessage to %s failed: %s", channel, type(exc).__name__)
            return None
        return str(response.get("ts") or "") or None
    return None


def _join(slack: WebClient, channel: str) -> bool:
    try:
        slack.conversations_join(channel=channel)
    except (SlackApiError, SlackClientError, OSError):
        return False
    return True


def _route(session: Session, account_id: int, notice: Notice) -> Route | None:
    return route_for(
        session=session,
        account_id=account_id,
        kind=notice.kind,
        amount=notice.amount,
        invoice_id=notice.invoice_id,
    )


def _claim(
    session: Session,
    *,
    account_id: int,
    key: str,
    kind: Kind,
    route: Route | None,
    now: datetime,
) -> bool:
    try:
        with session.begin_nested():
            session.add(
                NotificationLog(
                    account_id=account_id,
                    key=key[:200],
                    kind=kind,
                    channel_id=route.channel_id if route else None,
                    sent_at=now,
                )
            )
    except IntegrityError:
        return False
    return True


def _remember_thread(
    session_factory: sessionmaker[Session], notice: Notice, route: Route, ts: str, now: datetime
) -> None:
    """The first message about an invoice in a channel starts its thread."""
    if notice.invoice_id is None or route.thread_ts is not None or notice.kind not in INVOICE_KINDS:
        return
    try:
        with transaction(session_factory) as session:
            session.add(
                InvoiceThread(
                    invoice_id=notice.invoice_id, channel_id=route.channel_id, ts=ts, created_at=now
                )
            )
    except IntegrityError:
        pass  # a message about the invoice posted at the same moment started it


# ----------------------------------------------------------------------------------------------
# What other parts of the portal announce
# ----------------------------------------------------------------------------------------------


def announce_invoice_created(deps: Deps, *, invoice_id: int, actor: str) -> Posted | None:
    """ "Invoice created" (service invoices), the start of the invoice's thread. Call it after
    the transaction that created the invoice committed; calling it twice posts once."""
    with transaction(deps.session_factory) as session:
        invoice = session.get(Invoice, invoice_id)
        if invoice is None or invoice.kind is not InvoiceKind.SERVICES:
            return None
        message = ui.invoice_created_notice(invoice, by=actor_words(actor))
        account_id = invoice.account_id
    return post_once(
        deps.slack_for_account(account_id),
        deps.session_factory,
        account_id=account_id,
        key=f"invoice-created:{invoice_id}",
        notice=Notice(Kind.INVOICE_CREATED, message, invoice_id=invoice_id),
        now=deps.clock(),
    )


def notices_for(
    *, session: Session, account_id: int, kind: Kind, message: Message
) -> list[tuple[str, Message]]:
    """(channel, message) for a notice the caller posts itself after its transaction, if the
    settings send it: the shape `handlers._support.Answer.channel_posts` takes."""
    route = route_for(session=session, account_id=account_id, kind=kind)
    return [] if route is None else [(route.channel_id, message)]


def send_notices(slack: WebClient, posts: Iterable[tuple[str, Message]]) -> None:
    """Post notices addressed by `notices_for`; failures are logged, never raised."""
    for channel, message in posts:
        send_to_channel(slack, channel, message)


# ----------------------------------------------------------------------------------------------
# The settings
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KindSetting:
    enabled: bool = True
    channel_id: str | None = None  # routed elsewhere; None: the finance channel


@dataclass(frozen=True, slots=True)
class FeedSettings:
    """An account's feed and balance settings, as `/portal finance` shows them."""

    account_id: int
    company_name: str
    channel_id: str | None
    paused: bool
    paused_by: str | None
    paused_at: datetime | None
    payment_threshold: Money | None
    kinds: dict[Kind, KindSetting]
    low_balance_below: int  # 0: off
    low_balance_is_default: bool
    top_up_below: int | None
    top_up_credits: int | None
    autopay: bool
    card_valid: bool
    currency: str = "GBP"

    def setting(self, kind: Kind) -> KindSetting:
        return self.kinds.get(kind, KindSetting())

    def destination(self, kind: Kind) -> str | None:
        setting = self.setting(kind)
        if not setting.enabled:
            return None
        return setting.channel_id or self.channel_id

    @property
    def routed(self) -> dict[Kind, str]:
        return {
            kind: setting.channel_id
            for kind, setting in sorted(self.kinds.items())
            if setting.enabled and setting.channel_id
        }

    @property
    def destinations(self) -> dict[str, list[Kind]]:
        """Each channel that receives something, with the kinds it receives, in kind order."""
        found: dict[str, list[Kind]] = {}
        for kind in Kind:
            channel = self.destination(kind)
            if channel is not None:
                found.setdefault(channel, []).append(kind)
        return found


def feed_settings(
    *, session: Session, account: Account, defaults: Settings, today: date
) -> FeedSettings:
    row = session.get(FinanceSettings, account.id)
    preferences = session.scalars(
        select(NotificationPreference).where(NotificationPreference.account_id == account.id)
    )
    card = card_on_file(account)
    low = row.low_balance_below if row is not None else None
    return FeedSettings(
        account_id=account.id,
        company_name=account.company_name,
        channel_id=account.finance_channel_id,
        paused=bool(row and row.paused),
        paused_by=row.paused_by if row is not None else None,
        paused_at=row.paused_at if row is not None else None,
        payment_threshold=(
            Money(row.payment_threshold_minor, account.currency)
            if row is not None and row.payment_threshold_minor
            else None
        ),
        kinds={p.kind: KindSetting(p.enabled, p.channel_id) for p in preferences},
        low_balance_below=defaults.LOW_BALANCE_DEFAULT_CREDITS if low is None else low,
        low_balance_is_default=low is None,
        top_up_below=row.top_up_below if row is not None else None,
        top_up_credits=row.top_up_credits if row is not None else None,
        autopay=account.autopay,
        card_valid=card is not None and not card.expired(today),
        currency=account.currency,
    )


def settings_row(*, session: Session, account_id: int, now: datetime) -> FinanceSettings:
    """The account's settings row, created with the defaults when there is none yet."""
    row = session.get(FinanceSettings, account_id, with_for_update=True)
    if row is None:
        try:
            with session.begin_nested():
                row = FinanceSettings(account_id=account_id, paused=False, updated_at=now)
                session.add(row)
        except IntegrityError:
            row = session.get_one(FinanceSettings, account_id, with_for_update=True)
    return row


def set_paused(
    *, session: Session, account: Account, paused: bool, actor: str, now: datetime
) -> bool:
    """Pause or resume the feed; False when it already was so."""
    row = settings_row(session=session, account_id=account.id, now=now)
    if row.paused == paused:
        return False
    row.paused = paused
    row.paused_at = now if paused else None
    row.paused_by = actor if paused else None
    row.updated_at = now
    audit.record(
        session=session,
        account_id=account.id,
        actor=actor,
        action="notifications.paused" if paused else "notifications.resumed",
        now=now,
    )
    return True


def parse_threshold(text: str, *, currency: str) -> Money | None:
    """ "Only payments of at least": blank for every payment, else an amount like 250.50."""
    cleaned = text.strip().replace(",", "").lstrip("£€$").strip()
    if not cleaned:
        return None
    try:
        amount = Money.from_decimal(Decimal(cleaned), currency)
    except (InvalidOperation, ValueError):
        raise FieldError(
            THRESHOLD_FIELD, "Enter an amount like 100 or 250.50, or leave it blank."
        ) from None
    if amount.amount_minor < 0 or amount.amount_minor >= 10**12:
        raise FieldError(THRESHOLD_FIELD, "Enter an amount from 0 to 9,999,999,999.99.")
    return amount if amount.amount_minor else None


def set_kinds(
    *,
    session: Session,
    account: Account,
    turn_on: Collection[Kind],
    turn_off: Collection[Kind],
    threshold: Money | None,
    set_threshold: bool,
    actor: str,
    now: datetime,
) -> set[Kind]:
    """Turn kinds on and off, and set the payment threshold when `set_threshold` (routes are
    kept). Only the kinds named change: a save from a form opened before someone else's save
    keeps their changes. Returns the kinds that are on now."""
    if set_threshold and threshold is not None and threshold.currency != account.currency:
        raise FieldError(THRESHOLD_FIELD, f"Enter the amount in {account.currency}.")
    row = settings_row(session=session, account_id=account.id, now=now)  # locked: one at a time
    if set_threshold:
        row.payment_threshold_minor = threshold.amount_minor if threshold is not None else None
    row.updated_at = now
    existing = {
        p.kind: p
        for p in session.scalars(
            select(NotificationPreference).where(NotificationPreference.account_id == account.id)
        )
    }
    changes = dict.fromkeys(turn_on, True) | dict.fromkeys(turn_off, False)
    for kind, wanted in changes.items():
        preference = existing.get(kind)
        if preference is None:
            if wanted:
                continue  # no row: on, to the finance channel
            preference = NotificationPreference(account_id=account.id, kind=kind, updated_at=now)
            session.add(preference)
            existing[kind] = preference
        if preference.enabled != wanted:
            preference.enabled = wanted
            preference.updated_at = now
    enabled = {kind for kind in Kind if kind not in existing or existing[kind].enabled}
    audit.record(
        session=session,
        account_id=account.id,
        actor=actor,
        action="notifications.kinds_set",
        now=now,
        off=sorted(kind.value for kind in Kind if kind not in enabled),
        turned_on=sorted(kind.value for kind in turn_on),
        turned_off=sorted(kind.value for kind in turn_off),
        payment_threshold_minor=row.payment_threshold_minor,
    )
    return enabled


def parse_kind(value: str) -> Kind:
    try:
        return Kind(value)
    except ValueError:
        raise FieldError(ROUTE_KIND_FIELD, "Choose a notification from the list.") from None


def route_kind(
    *,
    session: Session,
    account: Account,
    kind: Kind,
    channel_id: str | None,
    actor: str,
    now: datetime,
) -> None:
    """Send `kind` to `channel_id` (None: back to the finance channel). Turns it on."""
    preference = session.get(NotificationPreference, (account.id, kind), with_for_update=True)
    if preference is None:
        preference = NotificationPreference(account_id=account.id, kind=kind, updated_at=now)
        session.add(preference)
    preference.enabled = True
    preference.channel_id = channel_id if channel_id != account.finance_channel_id else None
    preference.updated_at = now
    audit.record(
        session=session,
        account_id=account.id,
        actor=actor,
        action="notifications.routed",
        now=now,
        kind=kind.value,
        channel=preference.channel_id,
    )


def parse_credits(text: str, *, field: str, allow_zero: bool = True) -> int | None:
    """A whole number of credits typed into a settings field; blank is None."""
    cleaned = text.strip().replace(",", "")
    if not cleaned:
        return None
    if not (cleaned.isascii() and cleaned.isdigit()) or len(cleaned) > 9:
        raise FieldError(field, "Enter a whole number of credits, like 500.")
    value = int(cleaned)
    lowest = 0 if allow_zero else 1
    if not lowest <= value <= MAX_CREDITS:
        raise FieldError(field, f"Enter a number from {lowest:,} to {MAX_CREDITS:,}.")
    return value


@dataclass(frozen=True, slots=True)
class BalanceAlerts:
    """The "Credit balance" form: the low balance warning and the auto top-up."""

    low_balance_below: int | None  # None: the portal's default
    top_up_below: int | None
    top_up_credits: int | None

    @classmethod
    def parse(cls, *, low_balance: str, top_up_below: str, top_up_credits: str) -> BalanceAlerts:
        below = parse_credits(top_up_below, field=TOP_UP_BELOW_FIELD, allow_zero=False)
        buy = parse_credits(top_up_credits, field=TOP_UP_CREDITS_FIELD, allow_zero=False)
        if below is not None and buy is None:
            raise FieldError(TOP_UP_CREDITS_FIELD, "Enter how many credits to buy.")
        if buy is not None and below is None:
            raise FieldError(TOP_UP_BELOW_FIELD, "Enter the balance that starts a top-up.")
        return cls(
            low_balance_below=parse_credits(low_balance, field=LOW_BALANCE_FIELD),
            top_up_below=below,
            top_up_credits=buy,
        )


def set_balance_alerts(
    *, session: Session, account: Account, alerts: BalanceAlerts, actor: str, now: datetime
) -> None:
    row = settings_row(session=session, account_id=account.id, now=now)
    row.low_balance_below = alerts.low_balance_below
    row.top_up_below = alerts.top_up_below
    row.top_up_credits = alerts.top_up_credits
    row.updated_at = now
    audit.record(
        session=session,
        account_id=account.id,
        actor=actor,
        action="credits.balance_alerts_set",
        now=now,
        low_balance_below=alerts.low_balance_below,
        top_up_below=alerts.top_up_below,
        top_up_credits=alerts.top_up_credits,
    )


def set_autopay(*, session: Session, account: Account, on: bool, actor: str, now: datetime) -> bool:
    """Turn autopay on or off; False when it already was so."""
    if account.autopay == on:
        return False
    account.autopay = on
    account.updated_at = now
    audit.record(
        session=session,
        account_id=account.id,
        actor=actor,
        action="autopay.on" if on else "autopay.off",
        now=now,
    )
    return True


# ----------------------------------------------------------------------------------------------
# "Send test notification"
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SampleDelivery:
    channel_id: str
    kinds: tuple[Kind, ...]
    sent: bool


@dataclass(frozen=True, slots=True)
class SampleReport:
    deliveries: list[SampleDelivery] = field(default_factory=list)
    paused: bool = False

    @property
    def failed(self) -> list[str]:
        return [d.channel_id for d in self.deliveries if not d.sent]


def send_test(slack: WebClient, feed: FeedSettings, *, by: str) -> SampleReport:
    """Post a test to each channel that receives something, saying what will arrive there.

    Sent even while the feed is paused (it says so), since it is asked for.
    """
    deliveries = []
    for channel, kinds in feed.destinations.items():
        message = ui.test_notification(feed, channel_id=channel, kinds=kinds, by=by)
        sent = send_to_channel(slack, channel, message) is not None
        deliveries.append(SampleDelivery(channel, tuple(kinds), sent))
    return SampleReport(deliveries, paused=feed.paused)


# ----------------------------------------------------------------------------------------------
# Helpers for the jobs
# ----------------------------------------------------------------------------------------------


def accounts_with_a_feed(session: Session) -> list[int]:
    """Accounts with somewhere to post: a finance channel, or a kind routed elsewhere."""
    with_channel = set(
        session.scalars(select(Account.id).where(Account.finance_channel_id.is_not(None)))
    )
    routed = set(
        session.scalars(
            select(NotificationPreference.account_id).where(
                NotificationPreference.channel_id.is_not(None)
            )
        )
    )
    return sorted(with_channel | routed)
