"""Typed SQLAlchemy 2 models for everything the portal keeps.

Money columns end in `_minor` (integer minor units, pence for GBP). Datetimes are aware UTC.
Enums are stored as their lowercase values in plain strings with CHECK constraints, so the
same schema works on SQLite and PostgreSQL.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from store.enums import (
    EventSource,
    InvoiceKind,
    InvoiceStatus,
    LedgerKind,
    LineUnit,
    LinkPurpose,
    PaymentStatus,
    Role,
    VatTreatment,
)
from store.types import ScaledDecimal, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

intpk = Annotated[int, mapped_column(Integer, primary_key=True)]
minor = Annotated[int, mapped_column(BigInteger)]
utc = Annotated[datetime, mapped_column(UTCDateTime())]
currency = Annotated[str, mapped_column(String(3))]
slack_id = Annotated[str, mapped_column(String(32))]


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        Role: _enum(Role, "role"),
        VatTreatment: _enum(VatTreatment, "vat_treatment"),
        InvoiceKind: _enum(InvoiceKind, "invoice_kind"),
        InvoiceStatus: _enum(InvoiceStatus, "invoice_status"),
        LineUnit: _enum(LineUnit, "line_unit"),
        LedgerKind: _enum(LedgerKind, "ledger_kind"),
        PaymentStatus: _enum(PaymentStatus, "payment_status"),
        EventSource: _enum(EventSource, "event_source"),
    }


class Workspace(Base):
    """A Slack workspace (team) the app is installed in."""

    __tablename__ = "workspaces"

    id: Mapped[intpk]
    team_id: Mapped[slack_id] = mapped_column(unique=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[utc]

    account: Mapped[Account | None] = relationship(back_populates="workspace")


class Account(Base):
    """A customer account of the vendor: what the web Admin Portal administers."""

    __tablename__ = "accounts"

    id: Mapped[intpk]
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), unique=True)
    company_name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    vat_reference: Mapped[str | None] = mapped_column(String(20))
    contact_email: Mapped[str] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    billing_forename: Mapped[str | None] = mapped_column(String(100))
    billing_surname: Mapped[str | None] = mapped_column(String(100))
    billing_line1: Mapped[str | None] = mapped_column(String(200))
    billing_line2: Mapped[str | None] = mapped_column(String(200))
    billing_town: Mapped[str | None] = mapped_column(String(100))
    billing_postcode: Mapped[str | None] = mapped_column(String(20))
    billing_country: Mapped[str | None] = mapped_column(String(2))
    currency: Mapped[currency] = mapped_column(default="GBP")
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    card_brand: Mapped[str | None] = mapped_column(String(32))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    card_exp_month: Mapped[int | None]
    card_exp_year: Mapped[int | None]
    card_payment_method_id: Mapped[str | None] = mapped_column(String(64))
    autopay: Mapped[bool] = mapped_column(Boolean, default=True)
    finance_channel_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[utc]
    updated_at: Mapped[utc]

    workspace: Mapped[Workspace] = relationship(back_populates="account")
    users: Mapped[list[AccountUser]] = relationship(
        back_populates="account", order_by="AccountUser.added_at"
    )


class AccountUser(Base):
    """A Slack user's role on an account."""

    __tablename__ = "account_users"
    __table_args__ = (UniqueConstraint("account_id", "slack_user_id"),)

    id: Mapped[intpk]
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    slack_user_id: Mapped[slack_id]
    role: Mapped[Role]
    added_by: Mapped[slack_id]
    added_at: Mapped[utc]

    account: Mapped[Account] = relationship(back_populates="users")


class PasswordCredential(Base):
    """The account's portal password: an Argon2id hash and the lockout counters."""

    __tablename__ = "password_credentials"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    changed_at: Mapped[utc]


class CreditPriceTier(Base):
    """The price of one credit when buying at least `min_quantity` (up to `max_quantity`)."""

    __tablename__ = "credit_price_tiers"
    __table_args__ = (UniqueConstraint("currency", "min_quantity"),)

    id: Mapped[intpk]
    min_quantity: Mapped[int]
    max_quantity: Mapped[int | None]
    unit_price_minor: Mapped[minor]
    currency: Mapped[currency]


class Service(Base):
    """An entry of the service catalogue, sold by the hour."""

    __tablename__ = "services"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(100), unique=True)
    hourly_rate_minor: Mapped[minor]
    currency: Mapped[currency]
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class InvoiceNumberCounter(Base):
    """The next invoice number, taken and advanced in the invoice's own transaction."""

    __tablename__ = "invoice_number_counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger)


class Invoice(Base):
    __tablename__ = "invoices"
    # Keyset paging of one account's invoices, newest first, at any depth.
    __table_args__ = (Index("ix_invoices_account_id_sequence", "account_id", "sequence"),)

    id: Mapped[intpk]
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    sequence: Mapped[int] = mapped_column(BigInteger, unique=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[InvoiceKind]
    issue_date: Mapped[date] = mapped_column(Date)
    tax_point: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[currency]
    vat_treatment: Mapped[VatTreatment]
    vat_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    # The customer as invoiced: kept as issued, whatever the account later changes.
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_address: Mapped[str] = mapped_column(Text, default="")  # one line per line
    customer_country: Mapped[str] = mapped_column(String(2))
    customer_vat_reference: Mapped[str | None] = mapped_column(String(20))
    net_minor: Mapped[minor]
    vat_minor: Mapped[minor]
    gross_minor: Mapped[minor]
    status: Mapped[InvoiceStatus] = mapped_column(default=InvoiceStatus.OPEN)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    creation_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[utc]

    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position", cascade="all, delete-orphan"
    )


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_id", "position"),)

    id: Mapped[intpk]
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    position: Mapped[int]
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal] = mapped_column(ScaledDecimal(2))
    unit: Mapped[LineUnit]
    unit_price_minor: Mapped[minor]
    net_minor: Mapped[minor]
    vat_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    vat_minor: Mapped[minor]
    gross_minor: Mapped[minor]

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class CreditLedgerEntry(Base):
    """One movement of credits: a purchase (granted once its invoice is paid) or usage."""

    __tablename__ = "credit_ledger"
    __table_args__ = (UniqueConstraint("account_id", "reference"),)

    id: Mapped[intpk]
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[LedgerKind]
    credits: Mapped[int] = mapped_column(BigInteger)  # positive adds, negative uses
    reason: Mapped[str] = mapped_column(String(200))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), unique=True)
    reference: Mapped[str | None] = mapped_column(String(128))
    occurred_at: Mapped[utc]
    created_at: Mapped[utc]


class Payment(Base):
    """One attempt to charge for one or more invoices; the row exists before Stripe is asked."""

    __tablename__ = "payments"

    id: Mapped[intpk]
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount_minor: Mapped[minor]
    currency: Mapped[currency]
    attempt: Mapped[int]
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    stripe_payment_method_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[PaymentStatus] = mapped_column(default=PaymentStatus.CREATED)
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[utc]
    updated_at: Mapped[utc]
    # Who pressed Pay Now and where, so a payment settled later (webhook, reconcile) is told.
    requested_by: Mapped[str | None] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    # The card charged (Stripe's brand, like "visa", and last four digits), recorded when the
    # payment succeeds: the invoice PDF names it even after the account's card changes.
    card_brand: Mapped[str | None] = mapped_column(String(32))
    card_last4: Mapped[str | None] = mapped_column(String(4))

    invoices: Mapped[list[Invoice]] = relationship(secondary="payment_invoices")


class PaymentInvoice(Base):
    """Which invoices a payment covers."""

    __tablename__ = "payment_invoices"

    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payments.id", ondelete="CASCADE"), primary_key=True
    )
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), primary_key=True)


class ProcessedEvent(Base):
    """A Slack request key or Stripe event id already acted on; the unique key is the guard."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("source", "key"),)

    id: Mapped[intpk]
    source: Mapped[EventSource]
    key: Mapped[str] = mapped_column(String(255))
    processed_at: Mapped[utc]


class AuditEntry(Base):
    """Who did what, when, from where."""

    __tablename__ = "audit_log"

    id: Mapped[intpk]
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(32))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[utc]


# One-time links to the secure pages and the password window (docs/adr/0003).
# Imported here so this section could be appended without touching the header.


class OneTimeLink(Base):
    """A signed link to a secure page: one user, one account, one purpose, 10 minutes, once.

    Only the SHA-256 of the token is kept; the token itself lives in the link alone.
    """

    __tablename__ = "one_time_links"

    id: Mapped[intpk]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[LinkPurpose] = mapped_column(_enum(LinkPurpose, "link_purpose"))
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    slack_user_id: Mapped[slack_id]
    channel_id: Mapped[str | None] = mapped_column(String(32))  # where to answer in Slack
    created_at: Mapped[utc]
    expires_at: Mapped[utc]
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A payment page link is bound to its one payment (LinkPurpose.PAY); else None.
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"))


class PasswordWindow(Base):
    """Until when a user who confirmed the password may make sensitive changes from Slack."""

    __tablename__ = "password_windows"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    slack_user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    confirmed_until: Mapped[utc]


# -- Scheduled jobs, autopay, usage and the finance channel feed (issue 6) --------------------
# Appended as one section; its few extra imports are here so the header stays untouched.

from sqlalchemy import Column, Float, LargeBinary, Table, Unicode  # noqa: E402


class NotificationKind(enum.StrEnum):
    """Each kind of message the finance channel feed posts; each can be turned off or routed."""

    PAYMENT_RECEIVED = "payment_received"
    PAYMENT_FAILED = "payment_failed"
    INVOICE_CREATED = "invoice_created"
    INVOICE_OVERDUE = "invoice_overdue"
    AUTOPAY_ATTENTION = "autopay_attention"  # autopay gave up: the invoice needs a person
    CREDITS_BOUGHT = "credits_bought"  # a credits purchase (its payment included), auto top-up
    LOW_BALANCE = "low_balance"  # below the account's threshold, or overdrawn
    DAILY_DIGEST = "daily_digest"
    WEEKLY_DIGEST = "weekly_digest"
    CARD_CHANGED = "card_changed"  # added, changed or removed
    CARD_EXPIRING = "card_expiring"
    CONTACT_DETAILS = "contact_details"
    PASSWORD = "password"  # noqa: S105 - a kind name
    USERS = "users"  # added, role changed or removed


class BalanceAlert(enum.StrEnum):
    """The credit balance thresholds whose crossing (from at or above to below) acts once."""

    LOW_BALANCE = "low_balance"  # tell the finance channel
    TOP_UP = "top_up"  # buy the account's auto top-up credits
    OVERDRAWN = "overdrawn"  # below zero: flagged and told


class AutopayStatus(enum.StrEnum):
    STARTED = "started"  # the attempt's row exists; the payment is being made
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # declined, or nothing could be charged
    NEEDS_CUSTOMER = "needs_customer"  # the bank asked for authentication (SCA)
    UNANSWERED = "unanswered"  # Stripe did not answer; the reconcile job settles the payment


class JobLease(Base):
    """One scheduled run of one job: the worker that inserts the row runs it, others skip.

    A lease left unfinished by a worker that died may be taken over once `expires_at` passed.
    """

    __tablename__ = "job_leases"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot: Mapped[str] = mapped_column(String(32), primary_key=True)  # the run's fire time (UTC)
    holder: Mapped[str] = mapped_column(String(128))
    taken_at: Mapped[utc]
    expires_at: Mapped[utc]
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(500))


# APScheduler's job store table (`SQLAlchemyJobStore`), defined as APScheduler defines it and
# created by migration 0005, so that Alembic stays the only way the schema changes.
apscheduler_jobs = Table(
    "apscheduler_jobs",
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


# slack_sdk's installation and OAuth state stores (an app installed into many workspaces),
# built by slack_sdk's own table builders and created by migration 0006. The token columns are
# wider than slack_sdk's: tokens are stored sealed (bot/installations.py), which lengthens them.
SEALED_TOKEN_LENGTH = 600
SLACK_TOKEN_COLUMNS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")


def _sealed_tokens(table: Table) -> Table:
    for name in SLACK_TOKEN_COLUMNS:
        if name in table.c:
            table.c[name].type = String(SEALED_TOKEN_LENGTH)
    return table


slack_installations = _sealed_tokens(
    SQLAlchemyInstallationStore.build_installations_table(Base.metadata, "slack_installations")
)
slack_bots = _sealed_tokens(
    SQLAlchemyInstallationStore.build_bots_table(Base.metadata, "slack_bots")
)
slack_oauth_states = SQLAlchemyOAuthStateStore.build_oauth_states_table(
    Base.metadata, "slack_oauth_states"
)


class FinanceSettings(Base):
    """An account's finance channel feed and credit balance settings (no row: the defaults)."""

    __tablename__ = "finance_settings"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_by: Mapped[str | None] = mapped_column(String(32))
    # Payment notices below this amount are not posted (None: every payment).
    payment_threshold_minor: Mapped[int | None] = mapped_column(BigInteger)
    # Credits; None: the default from settings, 0: off.
    low_balance_below: Mapped[int | None] = mapped_column(BigInteger)
    # Auto top-up: when the balance falls below `top_up_below`, buy `top_up_credits`.
    top_up_below: Mapped[int | None] = mapped_column(BigInteger)
    top_up_credits: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[utc]


class NotificationPreference(Base):
    """One kind's setting for one account: on or off, and where it goes (None: the channel)."""

    __tablename__ = "notification_preferences"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[NotificationKind] = mapped_column(
        _enum(NotificationKind, "notification_kind"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    channel_id: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[utc]


class InvoiceThread(Base):
    """The first message about an invoice in a channel: later ones go into its thread."""

    __tablename__ = "invoice_threads"

    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    ts: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[utc]


class NotificationLog(Base):
    """A notification sent once per key (a reminder a day, a digest a period); the key guards."""

    __tablename__ = "notification_log"
    __table_args__ = (UniqueConstraint("account_id", "key"),)

    id: Mapped[intpk]
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[NotificationKind] = mapped_column(_enum(NotificationKind, "notification_kind"))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[utc]


class BalanceCrossing(Base):
    """The balance fell below a threshold: one row per crossing, so it acts once.

    `period` counts the account's crossings of that kind; racing usage reports that both see
    the same crossing try to insert the same (account, kind, period) and only one can.
    """

    __tablename__ = "balance_crossings"
    __table_args__ = (UniqueConstraint("account_id", "alert", "period"),)

    id: Mapped[intpk]
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    alert: Mapped[BalanceAlert] = mapped_column(_enum(BalanceAlert, "balance_alert"))
    period: Mapped[int]
    threshold: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("credit_ledger.id"))
    crossed_at: Mapped[utc]
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))  # the top-up's
    note: Mapped[str | None] = mapped_column(String(200))


class OverdrawnUsage(Base):
    """A usage entry that took the balance below zero: recorded, and flagged here."""

    __tablename__ = "overdrawn_usage"

    ledger_entry_id: Mapped[int] = mapped_column(
        ForeignKey("credit_ledger.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    flagged_at: Mapped[utc]


class AutopayAttempt(Base):
    """One autopay charge of one invoice: attempt 1 on the due date, retries on days 1, 3, 7.

    The row is written before the payment is made, so a rerun job finds it and never charges
    the same attempt twice; the payment itself has its own idempotency key.
    """

    __tablename__ = "autopay_attempts"
    __table_args__ = (UniqueConstraint("invoice_id", "attempt"),)

    id: Mapped[intpk]
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    attempt: Mapped[int]
    scheduled_for: Mapped[date] = mapped_column(Date)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    status: Mapped[AutopayStatus] = mapped_column(_enum(AutopayStatus, "autopay_status"))
    reason: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[utc]
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# Autopay and the overdue reminders look for open invoices by due date.
Index("ix_invoices_status_due_date", Invoice.status, Invoice.due_date)
