"""Alembic environment: one metadata for all packages; SQLite uses batch mode for ALTERs."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

# Every module with tables registers them on the one metadata when imported.
import api.models  # noqa: F401  (API keys, idempotency records, users)
import ledger.models  # noqa: F401  (the ledger)
import marketplace.journey_models
import marketplace.models
import marketplace.payments.models
import marketplace.reversal_models
import marketplace.sales_models  # noqa: F401  (farmer-share payouts)
import offsets.models
import offsets.reports  # noqa: F401  (the surveyed-areas table)
from ledger.database import make_engine
from ledger.orm import Base

config = context.config
target_metadata = Base.metadata
url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")


def run_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        transaction_per_migration=True,
    )
    if connection.dialect.name == "postgresql":
        # Two instances upgrading at once must not both run a migration.
        connection.exec_driver_sql("SELECT pg_advisory_lock(7265746)")
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
