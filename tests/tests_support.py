"""Helpers shared by test modules (importable because pytest puts ``tests/`` on ``sys.path``)."""

from __future__ import annotations

from alembic import command

from migrations import alembic_config

ORIGIN = "test.tanhui.example/ledger"


def migrate(url: str) -> None:
    """Create the schema the only way it is ever created: by running the migrations."""
    command.upgrade(alembic_config(url), "head")
