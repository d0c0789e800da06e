"""Organisations, sink projects, reviews, monitoring reports, verifications and issuances.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 13:27:59.050007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations import triggers

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.Column("ledger_account_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('registry', 'project_owner', 'verifier', 'enterprise', 'organiser', 'individual')",
            name=op.f("ck_organisations_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["ledger_account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_organisations_ledger_account_id_ledger_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_organisations_credit_code")),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("project_type", sa.String(length=24), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("zone", sa.String(length=8), nullable=False),
        sa.Column("area_mu", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("location", sa.JSON(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("methodology", sa.String(length=32), nullable=False),
        sa.Column("standard", sa.String(length=32), nullable=False),
        sa.Column("crediting_start", sa.Date(), nullable=False),
        sa.Column("crediting_end", sa.Date(), nullable=False),
        sa.Column("expected_annual_removals_kg", sa.BigInteger(), nullable=False),
        sa.Column("contiguous_carbon_forest_mu", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("buffer_percent", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("external_registry", sa.String(length=32), nullable=True),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "project_type IN ('afforestation', 'forest_management', 'bamboo_afforestation', 'bamboo_management', 'grassland', 'wetland', 'urban_forest')",
            name=op.f("ck_projects_type_known"),
        ),
        sa.CheckConstraint("area_mu > 0", name=op.f("ck_projects_area_positive")),
        sa.CheckConstraint(
            "buffer_percent >= 0 AND buffer_percent <= 100", name=op.f("ck_projects_buffer_percent")
        ),
        sa.CheckConstraint("crediting_end > crediting_start", name=op.f("ck_projects_crediting_period")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["organisations.id"], name=op.f("fk_projects_owner_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("code", name=op.f("uq_projects_code")),
        sa.UniqueConstraint(
            "external_registry", "external_id", name=op.f("uq_projects_external_registry_external_id")
        ),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_projects_county_code"), ["county_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_projects_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_projects_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_projects_zone"), ["zone"], unique=False)

    op.create_table(
        "monitoring_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("methodology", sa.String(length=32), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("calculation", sa.JSON(), nullable=False),
        sa.Column("net_removals_kg", sa.BigInteger(), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("period_end > period_start", name=op.f("ck_monitoring_reports_period")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_monitoring_reports_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_reports")),
    )
    with op.batch_alter_table("monitoring_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monitoring_reports_project_id"), ["project_id"], unique=False)

    op.create_table(
        "project_beneficiaries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("share_percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.CheckConstraint(
            "kind IN ('household', 'collective')", name=op.f("ck_project_beneficiaries_kind_known")
        ),
        sa.CheckConstraint(
            "share_percent > 0 AND share_percent <= 100", name=op.f("ck_project_beneficiaries_share")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_beneficiaries_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_beneficiaries")),
    )
    with op.batch_alter_table("project_beneficiaries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_beneficiaries_project_id"), ["project_id"], unique=False)

    op.create_table(
        "project_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_events_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_events")),
    )
    with op.batch_alter_table("project_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_events_project_id"), ["project_id"], unique=False)

    op.create_table(
        "qualification_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("capability", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "decision IN ('approved', 'rejected')", name=op.f("ck_qualification_reviews_decision_known")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_qualification_reviews_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qualification_reviews")),
    )
    with op.batch_alter_table("qualification_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qualification_reviews_project_id"), ["project_id"], unique=False)

    op.create_table(
        "issuances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("batch_id", sa.String(length=40), nullable=True),
        sa.Column("vintage", sa.String(length=4), nullable=False),
        sa.Column("owner_kg", sa.BigInteger(), nullable=False),
        sa.Column("buffer_kg", sa.BigInteger(), nullable=False),
        sa.Column("buffer_percent", sa.Integer(), nullable=False),
        sa.Column("ledger_seq", sa.BigInteger(), nullable=True),
        sa.Column("external_registry", sa.String(length=32), nullable=True),
        sa.Column("external_batch_id", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('issue', 'reversal', 'import')", name=op.f("ck_issuances_kind_known")),
        sa.CheckConstraint("owner_kg >= 0 AND buffer_kg >= 0", name=op.f("ck_issuances_quantities")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["ledger_batches.id"], name=op.f("fk_issuances_batch_id_ledger_batches")
        ),
        sa.ForeignKeyConstraint(
            ["ledger_seq"], ["ledger_entries.seq"], name=op.f("fk_issuances_ledger_seq_ledger_entries")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_issuances_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["monitoring_reports.id"], name=op.f("fk_issuances_report_id_monitoring_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issuances")),
        sa.UniqueConstraint("batch_id", name=op.f("uq_issuances_batch_id")),
        sa.UniqueConstraint(
            "external_registry",
            "external_batch_id",
            name=op.f("uq_issuances_external_registry_external_batch_id"),
        ),
        sa.UniqueConstraint("report_id", name=op.f("uq_issuances_report_id")),
    )
    with op.batch_alter_table("issuances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issuances_project_id"), ["project_id"], unique=False)

    op.create_table(
        "verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("verifier_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("verified_net_removals_kg", sa.BigInteger(), nullable=True),
        sa.Column("comments", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "decision IN ('verified', 'returned')", name=op.f("ck_verifications_decision_known")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["monitoring_reports.id"],
            name=op.f("fk_verifications_report_id_monitoring_reports"),
        ),
        sa.ForeignKeyConstraint(
            ["verifier_id"], ["organisations.id"], name=op.f("fk_verifications_verifier_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifications")),
    )
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verifications_report_id"), ["report_id"], unique=False)

    for statement in triggers.append_only(op.get_bind().dialect.name, APPEND_ONLY):
        op.execute(statement)


APPEND_ONLY = {
    "project_events": ("id",),
    "qualification_reviews": ("id",),
    "verifications": ("id",),
    "issuances": ("id",),
}


def downgrade() -> None:
    for statement in triggers.drop_append_only(op.get_bind().dialect.name, APPEND_ONLY):
        op.execute(statement)
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verifications_report_id"))

    op.drop_table("verifications")
    with op.batch_alter_table("issuances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issuances_project_id"))

    op.drop_table("issuances")
    with op.batch_alter_table("qualification_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qualification_reviews_project_id"))

    op.drop_table("qualification_reviews")
    with op.batch_alter_table("project_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_events_project_id"))

    op.drop_table("project_events")
    with op.batch_alter_table("project_beneficiaries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_beneficiaries_project_id"))

    op.drop_table("project_beneficiaries")
    with op.batch_alter_table("monitoring_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitoring_reports_project_id"))

    op.drop_table("monitoring_reports")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_zone"))
        batch_op.drop_index(batch_op.f("ix_projects_status"))
        batch_op.drop_index(batch_op.f("ix_projects_owner_id"))
        batch_op.drop_index(batch_op.f("ix_projects_county_code"))

    op.drop_table("projects")
    op.drop_table("organisations")
