"""Credits used, as the vendor's platform reports them: `POST /api/usage`, balance alerts, top-up.

A report names the account, the credits used, the platform's own reference for the usage and
when it happened. It is authenticated with a bearer token from `USAGE_API_TOKEN` (compared as
SHA-256 digests with `hmac.compare_digest`; anything else is 401), and idempotent on the
reference: the ledger's unique (account, reference) key counts a reference once, however often
it is sent.

Each report takes the account's row lock, so one account's reports are applied one after
another and the balance before and after each is exact. When the balance crosses a threshold
downwards (from at or above it to below it) a `balance_crossings` row is written under a unique
(account, alert, period) key: the low balance warning, the auto top-up and the overdrawn flag
each act once per crossing, whatever the platform sends at the same moment. Usage is recorded
even when it takes the balance below zero; it is then flagged (`overdrawn_usage`), answered
with `"overdrawn": true` and told to the finance channel.

The auto top-up buys through the Pay Now path (`Payments.start_credits_purchase`) with the card
on file; its invoice's creation key is the crossing's id, so the request that crossed and the
`top-ups` job that finishes what a request could not (Stripe down, the process gone) make one
purchase between them.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import credits, notifications
from bot.dashboard import card_on_file
from bot.deps import Deps
from bot.errors import NotFound, UserFacingError
from bot.payment_notifier import notify_payment
from bot.payments import Payments, PaymentUnavailable
from bot.settings import Settings
from bot.ui import finance as finance_ui
from store.db import transaction
from store.enums import LedgerKind, PaymentStatus
from store.models import (
    Account,
    BalanceAlert,
    BalanceCrossing,
    CreditLedgerEntry,
    FinanceSettings,
    OverdrawnUsage,
)

log = logging.getLogger(__name__)

USAGE_PATH = "/api/usage"
MAX_CREDITS = 1_000_000_000
MAX_REFERENCE = 128
FUTURE_TOLERANCE = timedelta(days=1)  # platform clocks drift; a report from further ahead is wrong
TOP_UP_RETRY_AFTER = timedelta(minutes=2)  # a crossing's top-up left this long is the job's


class UsageInvalid(Exception):
    """The report is malformed; `errors` says which field and why."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class UsageConflict(UserFacingError):
    """The reference was already used for different usage."""


@dataclass(frozen=True, slots=True)
class UsageReport:
    account_id: int
    credits: int
    reference: str
    occurred_at: datetime

    @classmethod
    def parse(cls, body: Any, *, now: datetime) -> UsageReport:
        """The JSON body `{"account_id", "credits", "reference", "time"}`, checked."""
        if not isinstance(body, dict):
            raise UsageInvalid({"body": "Send a JSON object."})
        errors: dict[str, str] = {}
        account_id = _whole(body.get("account_id"), 1, 2**63 - 1)
        if account_id is None:
            errors["account_id"] = "The account id, a positive whole number."
        used = _whole(body.get("credits"), 1, MAX_CREDITS)
        if used is None:
            errors["credits"] = f"A whole number of credits from 1 to {MAX_CREDITS:,}."
        reference = _reference(body.get("reference"), errors)
        occurred_at = _parse_time(body.get("time"), now, errors)
        if account_id is None or used is None or reference is None or occurred_at is None:
            raise UsageInvalid(errors)
        return cls(account_id, used, reference, occurred_at)


def _whole(value: Any, lowest: int, highest: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
        return None
    return value


def _reference(value: Any, errors: dict[str, str]) -> str | None:
    if not isinstance(value, str) or not value.strip():
        errors["reference"] = "The platform's reference for this usage."
        return None
    if len(value) > MAX_REFERENCE or not value.isprintable():
        errors["reference"] = f"At most {MAX_REFERENCE} printable characters."
        return None
    return value.strip()


def _parse_time(value: Any, now: datetime, errors: dict[str, str]) -> datetime | None:
    problem = "When the usage happened: ISO 8601 with a time zone, like 2026-11-24T10:30:00Z."
    if not isinstance(value, str):
        errors["time"] = problem
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        errors["time"] = problem
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        errors["time"] = problem
        return None
    if moment > now + FUTURE_TOLERANCE:
        errors["time"] = "That time is in the future."
        return None
    return moment


@dataclass(frozen=True, slots=True)
class Crossing:
    id: int
    alert: BalanceAlert
    threshold: int
    balance_after: int


@dataclass(frozen=True, slots=True)
class UsageRecorded:
    account_id: int
    ledger_entry_id: int
    reference: str
    duplicate: bool
    balance: int
    overdrawn: bool
    crossings: tuple[Crossing, ...] = ()


def authorised(settings: Settings, header: str | None) -> bool:
    """Whether `Authorization` carries the bearer token; digests compared in constant time."""
    expected = settings.USAGE_API_TOKEN.get_secret_value() if settings.USAGE_API_TOKEN else ""
    scheme, _, token = (header or "").strip().partition(" ")
    if not expected or scheme.lower() != "bearer" or not token.strip():
        return False
    sent = hashlib.sha256(token.strip().encode("utf-8")).digest()
    wanted = hashlib.sha256(expected.encode("utf-8")).digest()
    return hmac.compare_digest(sent, wanted)


def _thresholds(session: Session, account_id: int, settings: Settings) -> dict[BalanceAlert, int]:
    row = session.get(FinanceSettings, account_id)
    low = row.low_balance_below if row is not None else None
    found = {BalanceAlert.OVERDRAWN: 0}
    low = settings.LOW_BALANCE_DEFAULT_CREDITS if low is None else low
    if low:
        found[BalanceAlert.LOW_BALANCE] = low
    if row is not None and row.top_up_below and row.top_up_credits:
        found[BalanceAlert.TOP_UP] = row.top_up_below
    return found


def record_usage(
    *, session: Session, report: UsageReport, settings: Settings, now: datetime
) -> UsageRecorded:
    """Add the usage to the ledger once, flag an overdrawn balance, note threshold crossings."""
    account = session.scalar(
        select(Account).where(Account.id == report.account_id).with_for_update()
    )
    if account is None:
        raise NotFound(f"There is no account {report.account_id}.")
    existing = _entry_for(session, account.id, report.reference)
    if existing is not None:
        return _duplicate(session, existing, report)
    before = credits.balance(session=session, account_id=account.id)
    entry = CreditLedgerEntry(
        account_id=account.id,
        kind=LedgerKind.USAGE,
        credits=-report.credits,
        reason=f"Usage {report.reference}"[:200],
        reference=report.reference,
        occurred_at=report.occurred_at,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(entry)
    except IntegrityError:  # the same reference, committed between our look and our insert
        again = _entry_for(session, account.id, report.reference)
        if again is None:
            raise
        return _duplicate(session, again, report)
    after = before - report.credits
    if after < 0:
        session.add(
            OverdrawnUsage(
                ledger_entry_id=entry.id, account_id=account.id, balance_after=after, flagged_at=now
            )
        )
    crossings = []
    for alert, threshold in _thresholds(session, account.id, settings).items():
        if before >= threshold > after:
            crossing = _cross(
                session,
                account_id=account.id,
                alert=alert,
                threshold=threshold,
                after=after,
                entry_id=entry.id,
                now=now,
            )
            if crossing is not None:
                crossings.append(crossing)
    return UsageRecorded(
        account_id=account.id,
        ledger_entry_id=entry.id,
        reference=report.reference,
        duplicate=False,
        balance=after,
        overdrawn=after < 0,
        crossings=tuple(crossings),
    )


def _entry_for(session: Session, account_id: int, reference: str) -> CreditLedgerEntry | None:
    return session.scalar(
        select(CreditLedgerEntry).where(
            CreditLedgerEntry.account_id == account_id, CreditLedgerEntry.reference == reference
        )
    )


def _duplicate(session: Session, entry: CreditLedgerEntry, report: UsageReport) -> UsageRecorded:
    if entry.kind is not LedgerKind.USAGE or -entry.credits != report.credits:
        raise UsageConflict(
            f"The reference {report.reference!r} was already reported for other usage."
        )
    balance = credits.balance(session=session, account_id=entry.account_id)
    return UsageRecorded(
        account_id=entry.account_id,
        ledger_entry_id=entry.id,
        reference=report.reference,
        duplicate=True,
        balance=balance,
        overdrawn=session.get(OverdrawnUsage, entry.id) is not None,
    )


def _cross(
    session: Session,
    *,
    account_id: int,
    alert: BalanceAlert,
    threshold: int,
    after: int,
    entry_id: int,
    now: datetime,
) -> Crossing | None:
    """Record the crossing under its unique key; None when a racing report recorded it."""
    period = 1 + int(
        session.scalar(
            select(func.count())
            .select_from(BalanceCrossing)
            .where(BalanceCrossing.account_id == account_id, BalanceCrossing.alert == alert)
        )
        or 0
    )
    row = BalanceCrossing(
        account_id=account_id,
        alert=alert,
        period=period,
        threshold=threshold,
        balance_after=after,
        ledger_entry_id=entry_id,
        crossed_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return Crossing(row.id, alert, threshold, after)


def report_usage(deps: Deps, report: UsageReport) -> UsageRecorded:
    """Record a report in its own transaction, then tell and top up as its crossings ask."""
    with transaction(deps.session_factory) as session:
        recorded = record_usage(
            session=session, report=report, settings=deps.settings, now=deps.clock()
        )
    for crossing in recorded.crossings:
        follow_up(deps, crossing, reference=recorded.reference, account_id=recorded.account_id)
    return recorded


def follow_up(deps: Deps, crossing: Crossing, *, reference: str, account_id: int) -> None:
    """What a crossing sets off once: a notice, or the auto top-up."""
    if crossing.alert is BalanceAlert.TOP_UP:
        top_up(deps, crossing_id=crossing.id)
        return
    if crossing.alert is BalanceAlert.LOW_BALANCE:
        message = finance_ui.low_balance_notice(
            crossing.balance_after, threshold=crossing.threshold
        )
    else:
        message = finance_ui.overdrawn_notice(crossing.balance_after, reference=reference)
    notifications.post_once(
        deps.slack_for_account(account_id),
        deps.session_factory,
        account_id=account_id,
        key=f"{crossing.alert.value}:{crossing.id}",
        notice=notifications.Notice(notifications.Kind.LOW_BALANCE, message),
        now=deps.clock(),
    )


def top_up(deps: Deps, *, crossing_id: int) -> PaymentStatus | None:
    """Buy the account's top-up credits for one crossing, through Pay Now with the card on file.

    Safe to call again (the request and the job may both): the purchase's creation key is the
    crossing's, so there is one invoice and one payment. None when nothing was bought.
    """
    now = deps.clock()
    with transaction(deps.session_factory) as session:
        crossing = session.get(BalanceCrossing, crossing_id, with_for_update=True)
        if crossing is None or crossing.handled_at is not None:
            return None
        account_id = crossing.account_id
        account = session.get_one(Account, account_id)
        row = session.get(FinanceSettings, account_id)
        quantity = row.top_up_credits if row is not None else None
        problem = _why_no_top_up(account, quantity, now.astimezone(deps.settings.timezone).date())
        if problem is not None:
            crossing.handled_at = now
            crossing.note = problem
    if problem is not None or quantity is None:
        if quantity:
            _tell_top_up_problem(deps, account_id, crossing_id, quantity, problem or "")
        return None
    try:
        outcome = Payments.from_deps(deps).start_credits_purchase(
            account_id=account_id,
            quantity=quantity,
            creation_key=f"top-up:{crossing_id}",
            user_id=notifications.TOP_UP_ACTOR,
            channel_id=None,
        )
    except PaymentUnavailable as exc:
        log.warning("Auto top-up for crossing %s waits: %s", crossing_id, exc.message)
        return None  # the top-ups job tries again
    with transaction(deps.session_factory) as session:
        crossing = session.get_one(BalanceCrossing, crossing_id)
        crossing.handled_at = deps.clock()
        crossing.invoice_id = outcome.invoice_ids[0] if outcome.invoice_ids else None
        crossing.note = f"payment {outcome.payment_id}: {outcome.status.value}"
    # Its finance notice, if any.
    notify_payment(deps.slack_for_account(account_id), outcome, tell_person=False)
    if outcome.status is PaymentStatus.REQUIRES_ACTION:
        _tell_top_up_problem(
            deps,
            account_id,
            crossing_id,
            quantity,
            "the bank asked for the payment to be confirmed by the card holder.",
        )
    return outcome.status


def _why_no_top_up(account: Account, quantity: int | None, today: date) -> str | None:
    if not quantity:
        return "auto top-up has been turned off."
    card = card_on_file(account)
    if card is None or card.expired(today) or account.card_payment_method_id is None:
        return "there is no valid card on file."
    return None


def _tell_top_up_problem(
    deps: Deps, account_id: int, crossing_id: int, quantity: int, problem: str
) -> None:
    notifications.post_once(
        deps.slack_for_account(account_id),
        deps.session_factory,
        account_id=account_id,
        key=f"top-up-problem:{crossing_id}",
        notice=notifications.Notice(
            notifications.Kind.CREDITS_BOUGHT,
            finance_ui.top_up_problem_notice(quantity, problem=problem),
        ),
        now=deps.clock(),
    )


def finish_top_ups(deps: Deps) -> int:
    """The `top-ups` job: top-ups that crossed a while ago and were not done; how many done."""
    older_than = deps.clock() - TOP_UP_RETRY_AFTER
    with transaction(deps.session_factory) as session:
        waiting = list(
            session.scalars(
                select(BalanceCrossing.id)
                .where(
                    BalanceCrossing.alert == BalanceAlert.TOP_UP,
                    BalanceCrossing.handled_at.is_(None),
                    BalanceCrossing.crossed_at <= older_than,
                )
                .order_by(BalanceCrossing.id)
            )
        )
    return sum(top_up(deps, crossing_id=crossing_id) is not None for crossing_id in waiting)


# -- What the Credits area shows ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UsageEntry:
    credits: int  # used (positive)
    reference: str
    occurred_at: datetime
    overdrawn: bool


RECENT_USAGE = 10


def recent_usage(
    *, session: Session, account_id: int, limit: int = RECENT_USAGE
) -> list[UsageEntry]:
    """The most recent usage reported for the account, newest first."""
    rows = session.execute(
        select(CreditLedgerEntry, OverdrawnUsage.ledger_entry_id)
        .outerjoin(OverdrawnUsage, OverdrawnUsage.ledger_entry_id == CreditLedgerEntry.id)
        .where(
            CreditLedgerEntry.account_id == account_id,
            CreditLedgerEntry.kind == LedgerKind.USAGE,
        )
        .order_by(CreditLedgerEntry.occurred_at.desc(), CreditLedgerEntry.id.desc())
        .limit(limit)
    )
    return [
        UsageEntry(
            credits=-entry.credits,
            reference=entry.reference or "",
            occurred_at=entry.occurred_at,
            overdrawn=flagged is not None,
        )
        for entry, flagged in rows
    ]


# -- The endpoint ----------------------------------------------------------------------------------


def blueprint(settings: Settings, deps: Deps) -> Blueprint:
    """`POST /api/usage` for the vendor's platform."""
    usage = Blueprint("usage", __name__)

    @usage.post(USAGE_PATH)
    def report() -> tuple[Response, int] | Response:
        if not authorised(settings, request.headers.get("Authorization")):
            answer = jsonify(error="A valid bearer token is needed.")
            answer.status_code = 401
            answer.headers["WWW-Authenticate"] = 'Bearer realm="usage"'
            return answer
        try:
            parsed = UsageReport.parse(request.get_json(silent=True), now=deps.clock())
            recorded = report_usage(deps, parsed)
        except UsageInvalid as exc:
            return jsonify(error="The usage report is not valid.", fields=exc.errors), 400
        except NotFound as exc:
            return jsonify(error=exc.message), 404
        except UsageConflict as exc:
            return jsonify(error=exc.message), 409
        body = {
            "recorded": not recorded.duplicate,
            "duplicate": recorded.duplicate,
            "entry_id": recorded.ledger_entry_id,
            "balance": recorded.balance,
            "overdrawn": recorded.overdrawn,
        }
        return jsonify(body), 200 if recorded.duplicate else 201

    return usage
