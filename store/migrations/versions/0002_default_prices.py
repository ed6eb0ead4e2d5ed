"""default prices: credit tiers, the service catalogue, the invoice counter

Out-of-the-box prices from the design (editable in the database afterwards): credits 1-99 at
£1.00, 100-499 at £0.90, 500+ at £0.80 each; Consultancy £95/h, Training £75/h,
Development £110/h. Invoice numbers start at INV-000001.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_tiers = sa.table(
    "credit_price_tiers",
    sa.column("min_quantity", sa.Integer),
    sa.column("max_quantity", sa.Integer),
    sa.column("unit_price_minor", sa.BigInteger),
    sa.column("currency", sa.String),
)
_services = sa.table(
    "services",
    sa.column("name", sa.String),
    sa.column("hourly_rate_minor", sa.BigInteger),
    sa.column("currency", sa.String),
    sa.column("active", sa.Boolean),
)
_counters = sa.table(
    "invoice_number_counters", sa.column("name", sa.String), sa.column("next_value", sa.BigInteger)
)


def upgrade() -> None:
    op.bulk_insert(
        _tiers,
        [
            {"min_quantity": 1, "max_quantity": 99, "unit_price_minor": 100, "currency": "GBP"},
            {"min_quantity": 100, "max_quantity": 499, "unit_price_minor": 90, "currency": "GBP"},
            {"min_quantity": 500, "max_quantity": None, "unit_price_minor": 80, "currency": "GBP"},
        ],
    )
    op.bulk_insert(
        _services,
        [
            {"name": "Consultancy", "hourly_rate_minor": 9500, "currency": "GBP", "active": True},
            {"name": "Training", "hourly_rate_minor": 7500, "currency": "GBP", "active": True},
            {"name": "Development", "hourly_rate_minor": 11000, "currency": "GBP", "active": True},
        ],
    )
    op.bulk_insert(_counters, [{"name": "invoice", "next_value": 1}])


def downgrade() -> None:
    op.execute(_counters.delete().where(_counters.c.name == "invoice"))
    op.execute(
        _services.delete().where(_services.c.name.in_(["Consultancy", "Training", "Development"]))
    )
    op.execute(_tiers.delete().where(_tiers.c.currency == "GBP"))
