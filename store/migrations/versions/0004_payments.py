"""card payments: links to the card and payment pages, who asked for each payment

- `one_time_links.purpose` also takes `add_card` (the card page) and `pay` (the payment page);
- `one_time_links.payment_id` binds a payment page link to its one payment;
- `payments.requested_by` and `payments.channel_id` say whom to tell when a payment settles
  later (a webhook, the reconcile step).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_PURPOSES = ("confirm_password", "change_password", "set_password")
_NEW_PURPOSES = (*_OLD_PURPOSES, "add_card", "pay")
_PURPOSE_CHECK = "ck_one_time_links_link_purpose"


def _purpose_in(values: tuple[str, ...]) -> str:
    return "purpose IN ({})".format(", ".join(f"'{value}'" for value in values))


def upgrade() -> None:
    with op.batch_alter_table("one_time_links", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(_PURPOSE_CHECK), type_="check")
        batch_op.create_check_constraint(batch_op.f(_PURPOSE_CHECK), _purpose_in(_NEW_PURPOSES))
        batch_op.add_column(sa.Column("payment_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_one_time_links_payment_id_payments"),
            "payments",
            ["payment_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_by", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("channel_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("channel_id")
        batch_op.drop_column("requested_by")
    op.execute(sa.text("DELETE FROM one_time_links WHERE purpose IN ('add_card', 'pay')"))
    with op.batch_alter_table("one_time_links", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_one_time_links_payment_id_payments"), type_="foreignkey"
        )
        batch_op.drop_column("payment_id")
        batch_op.drop_constraint(batch_op.f(_PURPOSE_CHECK), type_="check")
        batch_op.create_check_constraint(batch_op.f(_PURPOSE_CHECK), _purpose_in(_OLD_PURPOSES))
