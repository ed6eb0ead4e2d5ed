"""the card each payment charged

- `payments.card_brand`, `payments.card_last4`: Stripe's brand ("visa") and the last four
  digits of the card a payment charged, recorded when it succeeds, so an invoice PDF names
  that card even after the account's card on file changes. Payments recorded before this
  revision have neither (bot.pdf.sources falls back for them).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("card_brand", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("card_last4", sa.String(length=4), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("card_last4")
        batch_op.drop_column("card_brand")
