"""Alembic is the only way the schema changes: head matches the models, seeds are in place."""

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from store.db import make_engine
from store.migrate import current_revision, head_revision, upgrade_to_head
from store.models import Base, CreditPriceTier, InvoiceNumberCounter, Service

ROOT = Path(__file__).parents[2]


def test_upgrade_head_on_an_empty_database_matches_the_models(engine: Engine) -> None:
    # The `engine` fixture ran `upgrade head` on an emptied database.
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_upgrading_again_is_a_no_op(engine: Engine) -> None:
    upgrade_to_head(engine)
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()


def test_default_prices_are_seeded_and_editable(session: Session) -> None:
    tiers = session.scalars(select(CreditPriceTier).order_by(CreditPriceTier.min_quantity)).all()
    assert [(t.min_quantity, t.max_quantity, t.unit_price_minor) for t in tiers] == [
        (1, 99, 100),
        (100, 499, 90),
        (500, None, 80),
    ]
    services = {s.name: s.hourly_rate_minor for s in session.scalars(select(Service))}
    assert services == {"Consultancy": 9500, "Training": 7500, "Development": 11000}
    assert session.scalar(select(func.count()).select_from(InvoiceNumberCounter)) == 1
    tiers[0].unit_price_minor = 105
    session.flush()
    assert session.get(CreditPriceTier, tiers[0].id).unit_price_minor == 105  # type: ignore[union-attr]


def test_the_migrate_command_upgrades_a_fresh_sqlite_file(tmp_path: Path) -> None:
    database = tmp_path / "nested" / "portal.db"
    env = {"DATABASE_URL": f"sqlite:///{database}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"is at revision {head_revision()}" in result.stdout
    engine = make_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
    engine.dispose()
