"""What the public pages show, read from the tables in the caller's session: plain SQLAlchemy, no Flask.

The portal's totals, the public project registry, one project's batches, and the public retirement
registry. Visibility follows the API's rules (``api.presenters``): a project is public once submitted
(drafts never appear); a retirement's beneficiary is shown only if the entry names it publicly (events
and enterprises are public; individuals only when they opted in); a private individual appears under the
pseudonym they chose for the registry, or as 匿名. Quantities stay integer kilograms here; the templates
format them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from ledger.entries import parse_body
from ledger.models import Batch, ClosedRange, Entry
from marketplace.models import Certificate, MarketOrder
from offsets import methodologies, regions
from offsets.lifecycle import ProjectStatus
from offsets.models import Issuance, Project

ANONYMOUS = "匿名"
MAX_PAGE = 10_000
REGISTRY_PAGE_SIZE = 20
PROJECT_PAGE_SIZE = 50


def public_projects() -> ColumnElement[bool]:
    """The condition a project must meet to be shown to everyone: submitted or later, never a draft."""
    return Project.status != ProjectStatus.DRAFT.value


def _percent(part: int, whole: int) -> Decimal:
    if whole == 0:
        return Decimal("0.0")
    return (Decimal(part * 100) / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)


def is_poverty_county(county_code: str) -> bool:
    return county_code in regions.regions().divisions and regions.poverty_status(county_code) is not None


# --- the portal -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneCount:
    key: str
    name_zh: str
    name_en: str
    projects: int


@dataclass(frozen=True)
class PortalTotals:
    projects: int
    area_mu: Decimal
    issued_kg: int
    retired_kg: int
    retired_poverty_kg: int
    zones: tuple[ZoneCount, ...]

    @property
    def poverty_share_percent(self) -> Decimal:
        """The share of all retired kilograms that came from former poverty counties."""
        return _percent(self.retired_poverty_kg, self.retired_kg)


def kilograms_by_project(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    """``(issued, retired)`` kilograms per project code, from the ledger's batches and retired ranges."""
    issued = select(Batch.project, func.sum(Batch.quantity_kg)).group_by(Batch.project)
    retired = (
        select(Batch.project, func.sum(ClosedRange.end_kg - ClosedRange.start_kg + 1))
        .join(Batch, Batch.id == ClosedRange.batch_id)
        .where(ClosedRange.status == "retired")
        .group_by(Batch.project)
    )
    return (
        {code: int(total) for code, total in session.execute(issued)},
        {code: int(total) for code, total in session.execute(retired)},
    )


def portal_totals(session: Session) -> PortalTotals:
    rows = session.execute(
        select(Project.code, Project.zone, Project.county_code, Project.area_mu).where(public_projects())
    ).all()
    issued, retired = kilograms_by_project(session)
    county_of = {code: county for code, _, county, _ in rows}
    per_zone: dict[str, int] = defaultdict(int)
    for _, zone, _, _ in rows:
        per_zone[zone] += 1
    data = regions.regions()
    return PortalTotals(
        projects=len(rows),
        area_mu=sum((Decimal(area) for _, _, _, area in rows), Decimal(0)).quantize(Decimal("0.01")),
        issued_kg=sum(issued.values()),
        retired_kg=sum(retired.values()),
        retired_poverty_kg=sum(
            kg for code, kg in retired.items() if code in county_of and is_poverty_county(county_of[code])
        ),
        zones=tuple(
            ZoneCount(key, data.zones[key].name_zh, data.zones[key].name_en, per_zone.get(key, 0))
            for key in regions.ZONE_KEYS
        ),
    )


# --- the project registry -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectRow:
    code: str
    name: str
    project_type: str
    project_type_zh: str
    status: str
    county_code: str
    county: str
    prefecture: str
    zone: str
    area_mu: Decimal
    expected_annual_removals_kg: int
    issued_kg: int
    retired_kg: int
    poverty_county: bool


def _row(project: Project, issued: dict[str, int], retired: dict[str, int]) -> ProjectRow:
    data = regions.regions()
    division = data.divisions.get(project.county_code)
    return ProjectRow(
        code=project.code,
        name=project.name,
        project_type=project.project_type,
        project_type_zh=data.project_types.get(project.project_type, project.project_type),
        status=project.status,
        county_code=project.county_code,
        county=division.name if division else project.county_code,
        prefecture=division.prefecture if division else "",
        zone=project.zone,
        area_mu=Decimal(project.area_mu).quantize(Decimal("0.01")),
        expected_annual_removals_kg=project.expected_annual_removals_kg,
        issued_kg=issued.get(project.code, 0),
        retired_kg=retired.get(project.code, 0),
        poverty_county=is_poverty_county(project.county_code),
    )


def project_rows(
    session: Session, *, zone: str | None = None, project_type: str | None = None
) -> list[ProjectRow]:
    """The public projects, by code, optionally in one zone and of one type (at most a page of them)."""
    query = select(Project).where(public_projects())
    if zone is not None:
        query = query.where(Project.zone == zone)
    if project_type is not None:
        query = query.where(Project.project_type == project_type)
    issued, retired = kilograms_by_project(session)
    projects = session.scalars(query.order_by(Project.code).limit(PROJECT_PAGE_SIZE))
    return [_row(project, issued, retired) for project in projects]


@dataclass(frozen=True)
class BatchRow:
    batch_id: str
    vintage: str
    kind: str
    owner_kg: int
    buffer_kg: int
    retired_kg: int
    ledger_seq: int | None
    at: datetime


@dataclass(frozen=True)
class MethodologyRules:
    """What a project page says of its methodology: the titles and the cited rules it applies."""

    title_zh: str
    title_en: str
    leakage: dict[str, Any]
    uncertainty: dict[str, Any]


def methodology_rules(methodology_id: str) -> MethodologyRules | None:
    """The registered methodology's titles and rule sources; None for one the registry does not calculate
    (a project moved here from another registry keeps the methodology it was issued under)."""
    try:
        methodology = methodologies.get(methodology_id)
    except methodologies.UnknownMethodology:
        return None
    sources = methodology.rule_sources()
    return MethodologyRules(
        title_zh=methodology.title_zh,
        title_en=methodology.title_en,
        leakage=sources["leakage"],
        uncertainty=sources["uncertainty"],
    )


@dataclass(frozen=True)
class ProjectPage:
    row: ProjectRow
    methodology: str
    methodology_rules: MethodologyRules | None
    standard: str
    crediting_start: str
    crediting_end: str
    buffer_percent: int
    batches: tuple[BatchRow, ...]


def project_page(session: Session, code: str) -> ProjectPage | None:
    """A public project with its issuances (batches and reversals); ``None`` if there is no such project."""
    project = session.scalar(select(Project).where(Project.code == code, public_projects()))
    if project is None:
        return None
    issued, retired = kilograms_by_project(session)
    retired_by_batch = dict(
        session.execute(
            select(ClosedRange.batch_id, func.sum(ClosedRange.end_kg - ClosedRange.start_kg + 1))
            .join(Batch, Batch.id == ClosedRange.batch_id)
            .where(ClosedRange.status == "retired", Batch.project == project.code)
            .group_by(ClosedRange.batch_id)
        ).all()
    )
    issuances = session.scalars(
        select(Issuance).where(Issuance.project_id == project.id).order_by(Issuance.id)
    )
    return ProjectPage(
        row=_row(project, issued, retired),
        methodology=project.methodology,
        methodology_rules=methodology_rules(project.methodology),
        standard=project.standard,
        crediting_start=project.crediting_start.isoformat(),
        crediting_end=project.crediting_end.isoformat(),
        buffer_percent=project.buffer_percent,
        batches=tuple(
            BatchRow(
                batch_id=issuance.batch_id or "",
                vintage=issuance.vintage,
                kind=issuance.kind,
                owner_kg=issuance.owner_kg,
                buffer_kg=issuance.buffer_kg,
                retired_kg=int(retired_by_batch.get(issuance.batch_id or "", 0) or 0),
                ledger_seq=issuance.ledger_seq,
                at=issuance.at,
            )
            for issuance in issuances
        ),
    )


# --- the public retirement registry ---------------------------------------------------------------------


@dataclass(frozen=True)
class Retirement:
    seq: int
    time: str
    beneficiary: str
    named: bool
    """Whether ``beneficiary`` is the name on the ledger (public) rather than a pseudonym or 匿名."""
    reason: str
    details: str
    quantity_kg: int
    projects: tuple[str, ...]
    event_id: int | None


@dataclass(frozen=True)
class RegistryPage:
    items: tuple[Retirement, ...]
    page: int
    pages: int
    total: int


def retirement_registry(session: Session, page: int, per_page: int = REGISTRY_PAGE_SIZE) -> RegistryPage:
    """One page of retirements, newest first, as the public may see them."""
    assert 1 <= per_page <= 100
    page = max(1, min(page, MAX_PAGE))
    total = session.scalar(select(func.count()).select_from(Entry).where(Entry.kind == "retire")) or 0
    entries = session.execute(
        select(Entry.seq, Entry.body)
        .where(Entry.kind == "retire")
        .order_by(Entry.seq.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    seqs = [seq for seq, _ in entries]
    orders: dict[int, MarketOrder] = dict(
        session.execute(
            select(Certificate.seq, MarketOrder)
            .join(MarketOrder, MarketOrder.id == Certificate.order_id)
            .where(Certificate.seq.in_(seqs))
        ).all()
    )
    batches: set[str] = set()
    parsed = []
    for seq, body in entries:
        entry = parse_body(body.encode("utf-8"))
        parsed.append((seq, entry))
        batches.update(item["batch"] for item in entry.data["ranges"])
    project_of = dict(session.execute(select(Batch.id, Batch.project).where(Batch.id.in_(batches))).all())
    items = []
    for seq, entry in parsed:
        data = entry.data
        order = orders.get(seq)
        public = bool(data["beneficiary"]["public"])
        if public:
            shown = data["beneficiary"]["name"]
        elif order is not None and order.buyer_display_name.strip() not in ("", ANONYMOUS):
            shown = order.buyer_display_name
        else:
            shown = ANONYMOUS
        items.append(
            Retirement(
                seq=seq,
                time=entry.time,
                beneficiary=shown,
                named=public,
                reason=data["reason"],
                details=data["details"] if public else "",
                quantity_kg=data["quantity_kg"],
                projects=tuple(sorted({project_of[item["batch"]] for item in data["ranges"]})),
                event_id=order.event_id if order is not None else None,
            )
        )
    pages = max(1, -(-total // per_page))
    return RegistryPage(items=tuple(items), page=page, pages=pages, total=total)
