"""Tables of the supply side: organisations, sink projects, reviews, monitoring, verification, issuance.

Decisions and events (status changes, qualification reviews, verifications, issuances) are inserted,
never updated: a correction is a new row. Areas are exact decimals in mu (1 亩 = 1/15 ha); quantities
are integer kilograms of CO2e, as on the ledger.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.orm import Base

PROJECT_TYPES = (
    "afforestation",
    "forest_management",
    "bamboo_afforestation",
    "bamboo_management",
    "grassland",
    "wetland",
    "urban_forest",
)
ORGANISATION_KINDS = ("registry", "project_owner", "verifier", "enterprise", "organiser", "individual")
AFFILIATION_KINDS = (
    "parent_subsidiary",
    "common_control",
    "shared_legal_representative",
    "consulting_on_project",
)
"""How two organisations are affiliated (offsets/affiliations.py says what each means for verification)."""


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


class Organisation(Base):
    """A registry participant: the registry itself, a project owner, a verifier, a buyer."""

    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint(_in("kind", ORGANISATION_KINDS), name="kind_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    """统一社会信用代码 (GB 32100-2015), checked with its check digit."""
    ledger_account_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("ledger_accounts.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint(_in("project_type", PROJECT_TYPES), name="type_known"),
        CheckConstraint("area_mu > 0", name="area_positive"),
        CheckConstraint("buffer_percent >= 0 AND buffer_percent <= 100", name="buffer_percent"),
        CheckConstraint("crediting_end > crediting_start", name="crediting_period"),
        UniqueConstraint("external_registry", "external_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    """The ledger's project code, used in batch ids and serial numbers."""
    name: Mapped[str] = mapped_column(String(200))
    project_type: Mapped[str] = mapped_column(String(24))
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    zone: Mapped[str] = mapped_column(String(8), index=True)
    area_mu: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    location: Mapped[dict[str, Any]] = mapped_column(JSON)
    owner_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    methodology: Mapped[str] = mapped_column(String(32))
    standard: Mapped[str] = mapped_column(String(32))
    """The standard it is registered under: provincial 林草碳普惠, CCER, VCS, GS."""
    crediting_start: Mapped[date] = mapped_column(Date)
    crediting_end: Mapped[date] = mapped_column(Date)
    expected_annual_removals_kg: Mapped[int] = mapped_column(BigInteger)
    contiguous_carbon_forest_mu: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    buffer_percent: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    external_registry: Mapped[str | None] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProjectBeneficiary(Base):
    """A household or collective sharing the project's benefits, with its share of revenue."""

    __tablename__ = "project_beneficiaries"
    __table_args__ = (
        CheckConstraint("share_percent > 0 AND share_percent <= 100", name="share"),
        CheckConstraint("kind IN ('household', 'collective')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    share_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))


class ProjectEvent(Base):
    """One status transition: who, when, from what to what, and why. Never updated."""

    __tablename__ = "project_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class QualificationReview(Base):
    """资格审查: the owner's declared documents and capability, and the reviewer's decision with reasons."""

    __tablename__ = "qualification_reviews"
    __table_args__ = (CheckConstraint("decision IN ('approved', 'rejected')", name="decision_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    documents: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    capability: Mapped[str] = mapped_column(Text)
    reviewer: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MonitoringReport(Base):
    """The owner's measurements for one monitoring period and the methodology's calculation of them."""

    __tablename__ = "monitoring_reports"
    __table_args__ = (CheckConstraint("period_end > period_start", name="period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    methodology: Mapped[str] = mapped_column(String(32))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    calculation: Mapped[dict[str, Any]] = mapped_column(JSON)
    net_removals_kg: Mapped[int] = mapped_column(BigInteger)
    """Rounded towards zero: down for removals, and a loss (negative) is never overstated either."""
    submitted_by: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Verification(Base):
    """A verifier organisation's decision on a monitoring report: verified (with the quantity) or returned."""

    __tablename__ = "verifications"
    __table_args__ = (CheckConstraint("decision IN ('verified', 'returned')", name="decision_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("monitoring_reports.id"), index=True)
    verifier_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    decision: Mapped[str] = mapped_column(String(16))
    verified_net_removals_kg: Mapped[int | None] = mapped_column(BigInteger)
    comments: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Issuance(Base):
    """Credits issued for a verified report (a ledger batch), or a reversal cancelled from the buffer."""

    __tablename__ = "issuances"
    __table_args__ = (
        CheckConstraint("kind IN ('issue', 'reversal', 'import')", name="kind_known"),
        CheckConstraint("owner_kg >= 0 AND buffer_kg >= 0", name="quantities"),
        UniqueConstraint("external_registry", "external_batch_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("monitoring_reports.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    batch_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("ledger_batches.id"), unique=True)
    vintage: Mapped[str] = mapped_column(String(4))
    owner_kg: Mapped[int] = mapped_column(BigInteger)
    buffer_kg: Mapped[int] = mapped_column(BigInteger)
    """For a reversal: the kilograms cancelled from the buffer pool."""
    buffer_percent: Mapped[int] = mapped_column(Integer)
    ledger_seq: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("ledger_entries.seq"))
    """The ledger entry; none for a loss that unissued verified removals absorbed (nothing to cancel)."""
    external_registry: Mapped[str | None] = mapped_column(String(32))
    external_batch_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OrganisationAffiliation(Base):
    """Two organisations affiliated from ``valid_from``: one group, one legal representative, or consulting.

    The pair is unordered and stored in canonical order (``organisation_a_id < organisation_b_id``), so that
    A–B and B–A are one pair. A parent–subsidiary record names the parent; a consulting record names the
    project the consulting or design work was for. Never updated: an end is an
    :class:`AffiliationEnding`.
    """

    __tablename__ = "organisation_affiliations"
    __table_args__ = (
        CheckConstraint(_in("kind", AFFILIATION_KINDS), name="kind_known"),
        CheckConstraint("organisation_a_id < organisation_b_id", name="pair_canonical"),
        CheckConstraint(
            "(kind = 'consulting_on_project' AND project_id IS NOT NULL)"
            " OR (kind <> 'consulting_on_project' AND project_id IS NULL)",
            name="project_for_consulting",
        ),
        CheckConstraint(
            "(kind = 'parent_subsidiary'"
            " AND parent_organisation_id IN (organisation_a_id, organisation_b_id))"
            " OR (kind <> 'parent_subsidiary' AND parent_organisation_id IS NULL)",
            name="parent_in_pair",
        ),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="validity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_a_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    organisation_b_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    parent_organisation_id: Mapped[int | None] = mapped_column(Integer)
    """For ``parent_subsidiary``: which of the two is the parent."""
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    """For ``consulting_on_project``: the project consulted on or designed."""
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """An end known when the affiliation was recorded (a contract's term); one learnt later is an ending."""
    source: Mapped[str] = mapped_column(Text)
    """The evidence: a business-registry extract, a shareholder register, a consulting contract."""
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AffiliationEnding(Base):
    """The end of an affiliation from ``ended_at`` — or its withdrawal as recorded in error. Never updated."""

    __tablename__ = "affiliation_endings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    affiliation_id: Mapped[int] = mapped_column(ForeignKey("organisation_affiliations.id"), unique=True)
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_in_error: Mapped[bool] = mapped_column(Boolean)
    """The affiliation never held: it no longer counts at any time, not only from ``ended_at``."""
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
