"""Reversal status of batches and lots, and ex-ante pre-order listings.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 15:10:00
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
