"""Affiliations between organisations, for the verifier conflict-of-interest rule.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 15:11:00

``organisation_affiliations`` records that two organisations are affiliated (one group, one legal
representative, or consulting on a project) and ``affiliation_endings`` when such an affiliation ended or
was withdrawn as recorded in error (offsets/models.py, offsets/affiliations.py). Both are records of
facts: append-only, like the ledger's entries (CONVENTIONS.md §4).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations import triggers

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

APPEND_ONLY = {"organisation_affiliations": ("id",), "affiliation_endings": ("id",)}
"""An affiliation is corrected or ended by a new record, never by changing the old one."""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "organisation_affiliations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_a_id", sa.Integer(), nullable=False),
        sa.Column("organisation_b_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("parent_organisation_id", sa.Integer(), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'consulting_on_project' AND project_id IS NOT NULL)"
            " OR (kind <> 'consulting_on_project' AND project_id IS NULL)",
            name=op.f("ck_organisation_affiliations_project_for_consulting"),
        ),
        sa.CheckConstraint(
            "(kind = 'parent_subsidiary'"
            " AND parent_organisation_id IN (organisation_a_id, organisation_b_id))"
            " OR (kind <> 'parent_subsidiary' AND parent_organisation_id IS NULL)",
            name=op.f("ck_organisation_affiliations_parent_in_pair"),
        ),
        sa.CheckConstraint(
            "kind IN ('parent_subsidiary', 'common_control', 'shared_legal_representative', "
            "'consulting_on_project')",
            name=op.f("ck_organisation_affiliations_kind_known"),
        ),
        sa.CheckConstraint(
            "organisation_a_id < organisation_b_id", name=op.f("ck_organisation_affiliations_pair_canonical")
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to > valid_from", name=op.f("ck_organisation_affiliations_validity")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_a_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_affiliations_organisation_a_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_b_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_affiliations_organisation_b_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_organisation_affiliations_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_affiliations")),
    )
    with op.batch_alter_table("organisation_affiliations", schema=None) as batch_op:
        for column in ("organisation_a_id", "organisation_b_id", "project_id"):
            batch_op.create_index(
                batch_op.f(f"ix_organisation_affiliations_{column}"), [column], unique=False
            )

    op.create_table(
        "affiliation_endings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("affiliation_id", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_in_error", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["affiliation_id"],
            ["organisation_affiliations.id"],
            name=op.f("fk_affiliation_endings_affiliation_id_organisation_affiliations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_affiliation_endings")),
        sa.UniqueConstraint("affiliation_id", name=op.f("uq_affiliation_endings_affiliation_id")),
    )
    for statement in triggers.append_only(dialect, APPEND_ONLY):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in triggers.drop_append_only(dialect, APPEND_ONLY):
        op.execute(statement)
    op.drop_table("affiliation_endings")
    with op.batch_alter_table("organisation_affiliations", schema=None) as batch_op:
        for column in ("project_id", "organisation_b_id", "organisation_a_id"):
            batch_op.drop_index(batch_op.f(f"ix_organisation_affiliations_{column}"))
    op.drop_table("organisation_affiliations")
