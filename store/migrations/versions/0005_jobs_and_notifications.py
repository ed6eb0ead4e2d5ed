"""scheduled jobs, autopay, usage and the finance channel feed

- `apscheduler_jobs`: APScheduler's job store, as APScheduler defines it;
- `job_leases`: one row per (job, scheduled slot), so two workers never run one slot twice;
- `finance_settings`, `notification_preferences`: the feed's settings per account (pause,
  payment threshold, each kind on or off and where it goes) and the credit balance settings
  (low balance threshold, auto top-up);
- `invoice_threads`: the first message about an invoice per channel, for threading;
- `notification_log`: notifications sent once per key (a reminder a day, a digest a period);
- `balance_crossings`, `overdrawn_usage`: low balance and top-up once per crossing, and usage
  that took the balance below zero;
- `autopay_attempts`: each autopay charge of an invoice (attempt 1 on the due date, then days
  1, 3 and 7);
- `ix_invoices_status_due_date`: open invoices by due date.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = (
    "payment_received",
    "payment_failed",
    "invoice_created",
    "invoice_overdue",
    "autopay_attention",
    "credits_bought",
    "low_balance",
    "daily_digest",
    "weekly_digest",
    "card_changed",
    "card_expiring",
    "contact_details",
    "password",
    "users",
)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _utc(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apscheduler_jobs")),
    )
    with op.batch_alter_table("apscheduler_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apscheduler_jobs_next_run_time"), ["next_run_time"], unique=False
        )

    op.create_table(
        "job_leases",
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        _utc("taken_at"),
        _utc("expires_at"),
        _utc("finished_at", nullable=True),
        sa.Column("outcome", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("job_id", "slot", name=op.f("pk_job_leases")),
    )
    op.create_table(
        "finance_settings",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        _utc("paused_at", nullable=True),
        sa.Column("paused_by", sa.String(length=32), nullable=True),
        sa.Column("payment_threshold_minor", sa.BigInteger(), nullable=True),
        sa.Column("low_balance_below", sa.BigInteger(), nullable=True),
        sa.Column("top_up_below", sa.BigInteger(), nullable=True),
        sa.Column("top_up_credits", sa.BigInteger(), nullable=True),
        _utc("updated_at"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_finance_settings_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_finance_settings")),
    )
    op.create_table(
        "notification_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", _enum("notification_kind", *_KINDS), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        _utc("sent_at"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_notification_log_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_log")),
        sa.UniqueConstraint("account_id", "key", name=op.f("uq_notification_log_account_id_key")),
    )
    op.create_table(
        "notification_preferences",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("notification_kind", *_KINDS), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        _utc("updated_at"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_notification_preferences_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "kind", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "autopay_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("scheduled_for", sa.Date(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            _enum(
                "autopay_status", "started", "succeeded", "failed", "needs_customer", "unanswered"
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        _utc("started_at"),
        _utc("finished_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_autopay_attempts_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_autopay_attempts_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_autopay_attempts_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_autopay_attempts")),
        sa.UniqueConstraint(
            "invoice_id", "attempt", name=op.f("uq_autopay_attempts_invoice_id_attempt")
        ),
    )
    with op.batch_alter_table("autopay_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_autopay_attempts_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "invoice_threads",
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        _utc("created_at"),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_threads_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("invoice_id", "channel_id", name=op.f("pk_invoice_threads")),
    )
    op.create_table(
        "balance_crossings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column(
            "alert", _enum("balance_alert", "low_balance", "top_up", "overdrawn"), nullable=False
        ),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("ledger_entry_id", sa.Integer(), nullable=True),
        _utc("crossed_at"),
        _utc("handled_at", nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_balance_crossings_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_balance_crossings_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["ledger_entry_id"],
            ["credit_ledger.id"],
            name=op.f("fk_balance_crossings_ledger_entry_id_credit_ledger"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance_crossings")),
        sa.UniqueConstraint(
            "account_id",
            "alert",
            "period",
            name=op.f("uq_balance_crossings_account_id_alert_period"),
        ),
    )
    op.create_table(
        "overdrawn_usage",
        sa.Column("ledger_entry_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        _utc("flagged_at"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_overdrawn_usage_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["ledger_entry_id"],
            ["credit_ledger.id"],
            name=op.f("fk_overdrawn_usage_ledger_entry_id_credit_ledger"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ledger_entry_id", name=op.f("pk_overdrawn_usage")),
    )
    with op.batch_alter_table("overdrawn_usage", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_overdrawn_usage_account_id"), ["account_id"], unique=False
        )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index("ix_invoices_status_due_date", ["status", "due_date"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_status_due_date")
    with op.batch_alter_table("overdrawn_usage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_overdrawn_usage_account_id"))
    op.drop_table("overdrawn_usage")
    op.drop_table("balance_crossings")
    op.drop_table("invoice_threads")
    with op.batch_alter_table("autopay_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_autopay_attempts_account_id"))
    op.drop_table("autopay_attempts")
    op.drop_table("notification_preferences")
    op.drop_table("notification_log")
    op.drop_table("finance_settings")
    op.drop_table("job_leases")
    with op.batch_alter_table("apscheduler_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apscheduler_jobs_next_run_time"))
    op.drop_table("apscheduler_jobs")
