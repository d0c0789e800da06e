"""The province's plan in figures: progress against its targets, and the potential assessment (潜力评价).

Progress (:func:`progress`) sums the area of registered projects — status ``registered`` or ``suspended``:
a suspension is temporary and the project stays on the register, while a closed or rejected one does not
count — in total, by development zone and by project type, against the plan's targets of 15 million mu by
2022 and 30 million mu by 2025 (``offsets/data/regions/zones.toml`` [targets], with its source). The plan
sets no target per zone or type, so those rows show their share of the provincial target.

The potential assessment (:func:`potential`) lists, by zone, county and project type: the area surveyed as
available (table ``potential_areas``: entered by the registry from surveys, each value with its source and
survey year; the latest survey year counts), the area and number of registered projects, and the
kilograms issued (every batch on the ledger, buffer share included) and retired. A county and type with no
survey says "not surveyed": the registry never estimates an area it has not been given. A row appears
for each county and type that has a survey or a registered, suspended or closed project.

Surveyed areas are imported from a CSV file (:func:`import_potential_areas`), UTF-8 with or without a
byte-order mark, header row, columns in any order::

    county_code        6-digit county-level division code (民政部 2023)
    county             optional: the county's name, checked against the code
    project_type       afforestation, forest_management, bamboo_afforestation, bamboo_management,
                       grassland, wetland, urban_forest
    available_area_mu  decimal, >= 0, at most two decimals
    survey_year        the year of the survey, 1950 to this year
    source             the survey or document the figure comes from (1-500 characters)

Every row is checked first and every error reported with row and column; one error refuses the file. A
row identical to the figure already recorded for its county, type and year changes nothing; a different
figure for the same year is recorded as a correction (rows are never updated). Percentages are exact
decimal strings with four places, rounded down: progress is never overstated. Areas are sums of exact
decimals in Python, not of the database's floating-point storage on SQLite.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, Numeric, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.models import Batch, ClosedRange
from ledger.orm import Base
from offsets import regions
from offsets.actors import Actor
from offsets.errors import Forbidden
from offsets.lifecycle import ProjectStatus, Role
from offsets.models import PROJECT_TYPES, Project
from offsets.onboarding import Cells, ErrorList, format_area, read_table, write_table
from offsets.projects import MAX_AREA_MU

COUNTED_STATUSES = (ProjectStatus.REGISTERED.value, ProjectStatus.SUSPENDED.value)
"""Statuses whose area counts as registered towards the plan's targets."""
LISTED_STATUSES = (*COUNTED_STATUSES, ProjectStatus.CLOSED.value)
"""Statuses whose projects appear in the potential assessment (a closed project's credits were issued)."""
NOT_SURVEYED = "not surveyed"
PERCENT_PLACES = Decimal("0.0001")
FIRST_SURVEY_YEAR = 1950
MAX_AREA_ROWS = 5_000
"""Sichuan has 183 counties and 7 project types: 1,281 pairs, a few survey years each."""
MAX_SOURCE_CHARS = 500

AREA_COLUMNS = ("county_code", "county", "project_type", "available_area_mu", "survey_year", "source")
POTENTIAL_CSV_COLUMNS = (
    "zone",
    "prefecture",
    "county_code",
    "county",
    "project_type",
    "project_type_zh",
    "zone_focus",
    "available_area_mu",
    "survey_year",
    "survey_source",
    "registered_projects",
    "registered_area_mu",
    "registered_percent_of_available",
    "issued_kg",
    "retired_kg",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


class SurveyedArea(Base):
    """Area surveyed as available for one project type in one county, with its source and survey year.

    Rows are inserted, never updated (a trigger refuses it): a corrected figure is a new row, and the
    latest row of the latest survey year is the one reports use.
    """

    __tablename__ = "potential_areas"
    __table_args__ = (
        CheckConstraint(_in("project_type", PROJECT_TYPES), name="type_known"),
        CheckConstraint("available_area_mu >= 0", name="area_non_negative"),
        CheckConstraint(f"survey_year >= {FIRST_SURVEY_YEAR} AND survey_year <= 2200", name="survey_year"),
        Index("ix_potential_areas_county_type", "county_code", "project_type"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6))
    project_type: Mapped[str] = mapped_column(String(24))
    available_area_mu: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    survey_year: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(MAX_SOURCE_CHARS))
    entered_by: Mapped[str] = mapped_column(String(200))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def percent(part: Decimal | int, whole: Decimal | int) -> Decimal:
    """``part`` as a percentage of ``whole``, four decimal places, rounded down (never overstated)."""
    assert whole > 0
    with localcontext() as context:
        context.prec = 60  # exact for any area or kilogram count the limits allow, before the one rounding
        return (Decimal(part) * 100 / Decimal(whole)).quantize(PERCENT_PLACES, rounding=ROUND_DOWN)


def _decimal_text(value: Decimal) -> str:
    return format(value, "f")


def _today() -> date:
    return datetime.now(UTC).date()


# --- progress against the plan's targets --------------------------------------------------------------------


@dataclass(frozen=True)
class AreaTotal:
    projects: int = 0
    area_mu: Decimal = Decimal("0.00")

    def plus(self, area_mu: Decimal) -> AreaTotal:
        return AreaTotal(self.projects + 1, self.area_mu + area_mu)


@dataclass(frozen=True)
class ProgressReport:
    as_of: date
    targets: regions.Targets
    total: AreaTotal
    by_zone: tuple[tuple[str, AreaTotal], ...]
    by_type: tuple[tuple[str, AreaTotal], ...]

    def _line(self, total: AreaTotal) -> dict[str, Any]:
        return {
            "projects": total.projects,
            "area_mu": format_area(total.area_mu),
            "percent_of_target": {
                "2022": _decimal_text(percent(total.area_mu, self.targets.by_2022_mu)),
                "2025": _decimal_text(percent(total.area_mu, self.targets.by_2025_mu)),
            },
        }

    def as_dict(self) -> dict[str, Any]:
        data = regions.regions()
        return {
            "as_of": self.as_of.isoformat(),
            "counted_statuses": list(COUNTED_STATUSES),
            "targets": {
                "2022": {"area_mu": self.targets.by_2022_mu},
                "2025": {"area_mu": self.targets.by_2025_mu},
                "source": self.targets.source,
            },
            "total": self._line(self.total),
            "by_zone": [
                {"zone": key, "name_zh": data.zones[key].name_zh, **self._line(total)}
                for key, total in self.by_zone
            ],
            "by_type": [
                {"project_type": key, "name_zh": data.project_types[key], **self._line(total)}
                for key, total in self.by_type
            ],
        }


def progress(session: Session) -> ProgressReport:
    """Registered area against the plan's targets, in total, by zone and by type (every zone and type)."""
    total = AreaTotal()
    by_zone = dict.fromkeys(regions.ZONE_KEYS, AreaTotal())
    by_type = dict.fromkeys(PROJECT_TYPES, AreaTotal())
    rows = session.execute(
        select(Project.zone, Project.project_type, Project.area_mu).where(
            Project.status.in_(COUNTED_STATUSES)
        )
    )
    for zone, project_type, area_mu in rows:
        area = Decimal(area_mu).quantize(Decimal("0.01"))
        total = total.plus(area)
        by_zone[zone] = by_zone[zone].plus(area)
        by_type[project_type] = by_type[project_type].plus(area)
    return ProgressReport(
        as_of=_today(),
        targets=regions.regions().targets,
        total=total,
        by_zone=tuple(by_zone.items()),
        by_type=tuple(by_type.items()),
    )


# --- the potential assessment -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Survey:
    available_area_mu: Decimal
    survey_year: int
    source: str


@dataclass(frozen=True)
class PotentialRow:
    zone: str
    prefecture: str
    county_code: str
    county: str
    project_type: str
    zone_focus: str | None
    survey: Survey | None
    registered_projects: int
    registered_area_mu: Decimal
    issued_kg: int
    retired_kg: int

    @property
    def registered_percent_of_available(self) -> Decimal | None:
        if self.survey is None or self.survey.available_area_mu == 0:
            return None
        return percent(self.registered_area_mu, self.survey.available_area_mu)

    def as_dict(self) -> dict[str, Any]:
        share = self.registered_percent_of_available
        return {
            "zone": self.zone,
            "prefecture": self.prefecture,
            "county_code": self.county_code,
            "county": self.county,
            "project_type": self.project_type,
            "project_type_zh": regions.regions().project_types[self.project_type],
            "zone_focus": self.zone_focus,
            "survey_status": "surveyed" if self.survey else NOT_SURVEYED,
            "available_area_mu": format_area(self.survey.available_area_mu) if self.survey else None,
            "survey_year": self.survey.survey_year if self.survey else None,
            "survey_source": self.survey.source if self.survey else None,
            "registered_projects": self.registered_projects,
            "registered_area_mu": format_area(self.registered_area_mu),
            "registered_percent_of_available": _decimal_text(share) if share is not None else None,
            "issued_kg": self.issued_kg,
            "retired_kg": self.retired_kg,
        }

    def csv_cells(self) -> list[str]:
        row = self.as_dict()
        row["available_area_mu"] = row["available_area_mu"] or NOT_SURVEYED
        row["zone_focus"] = row["zone_focus"] or "outside focus"
        return ["" if row[column] is None else str(row[column]) for column in POTENTIAL_CSV_COLUMNS]


@dataclass(frozen=True)
class PotentialReport:
    as_of: date
    rows: tuple[PotentialRow, ...]

    def zone_totals(self) -> list[dict[str, Any]]:
        """Per zone: registered and issued figures, and the surveyed area — of surveyed pairs only."""
        totals = []
        for zone in regions.ZONE_KEYS:
            rows = [row for row in self.rows if row.zone == zone]
            surveyed = [row.survey for row in rows if row.survey is not None]
            totals.append(
                {
                    "zone": zone,
                    "name_zh": regions.regions().zones[zone].name_zh,
                    "surveyed_available_area_mu": format_area(
                        sum((s.available_area_mu for s in surveyed), Decimal(0))
                    ),
                    "surveyed_pairs": len(surveyed),
                    "not_surveyed_pairs": len(rows) - len(surveyed),
                    "registered_projects": sum(row.registered_projects for row in rows),
                    "registered_area_mu": format_area(
                        sum((row.registered_area_mu for row in rows), Decimal(0))
                    ),
                    "issued_kg": sum(row.issued_kg for row in rows),
                    "retired_kg": sum(row.retired_kg for row in rows),
                }
            )
        return totals

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "counted_statuses": list(COUNTED_STATUSES),
            "zones": self.zone_totals(),
            "rows": [row.as_dict() for row in self.rows],
        }

    def to_csv(self) -> bytes:
        """One row per county and project type; UTF-8 with a byte-order mark, formulas escaped."""
        return write_table(POTENTIAL_CSV_COLUMNS, (row.csv_cells() for row in self.rows))


def latest_surveys(session: Session) -> dict[tuple[str, str], Survey]:
    """The figure that counts for each county and type: the latest survey year, its latest entry."""
    latest: dict[tuple[str, str], Survey] = {}
    ordered = select(SurveyedArea).order_by(SurveyedArea.survey_year, SurveyedArea.id)
    for entry in session.scalars(ordered):
        latest[(entry.county_code, entry.project_type)] = Survey(
            Decimal(entry.available_area_mu).quantize(Decimal("0.01")), entry.survey_year, entry.source
        )
    return latest


def _kilograms_by_project(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    """``(issued, retired)`` kilograms per project code, from the ledger's batches and closed ranges."""
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


def potential(session: Session) -> PotentialReport:
    """The potential assessment by zone, county and project type (see the module docstring)."""
    surveys = latest_surveys(session)
    issued, retired = _kilograms_by_project(session)
    registered: dict[tuple[str, str], AreaTotal] = defaultdict(AreaTotal)
    kilograms: dict[tuple[str, str], tuple[int, int]] = defaultdict(lambda: (0, 0))
    projects = session.execute(
        select(
            Project.code, Project.county_code, Project.project_type, Project.area_mu, Project.status
        ).where(Project.status.in_(LISTED_STATUSES))
    )
    for code, county_code, project_type, area_mu, status in projects:
        pair = (county_code, project_type)
        if status in COUNTED_STATUSES:
            registered[pair] = registered[pair].plus(Decimal(area_mu).quantize(Decimal("0.01")))
        else:
            registered.setdefault(pair, AreaTotal())
        done_issued, done_retired = kilograms[pair]
        kilograms[pair] = (done_issued + issued.get(code, 0), done_retired + retired.get(code, 0))

    data = regions.regions()
    zone_order = {key: index for index, key in enumerate(regions.ZONE_KEYS)}
    type_order = {key: index for index, key in enumerate(PROJECT_TYPES)}
    rows = []
    for county_code, project_type in set(surveys) | set(registered):
        county = data.division(county_code)
        total = registered.get((county_code, project_type), AreaTotal())
        issued_kg, retired_kg = kilograms.get((county_code, project_type), (0, 0))
        rows.append(
            PotentialRow(
                zone=county.zone,
                prefecture=county.prefecture,
                county_code=county_code,
                county=county.name,
                project_type=project_type,
                zone_focus=data.zone_focus(county.zone, project_type),
                survey=surveys.get((county_code, project_type)),
                registered_projects=total.projects,
                registered_area_mu=total.area_mu,
                issued_kg=issued_kg,
                retired_kg=retired_kg,
            )
        )
    rows.sort(key=lambda r: (zone_order[r.zone], r.county_code, type_order[r.project_type]))
    return PotentialReport(as_of=_today(), rows=tuple(rows))


# --- surveyed areas from CSV --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaImportResult:
    recorded: int
    unchanged: int

    def as_dict(self) -> dict[str, int]:
        return {"recorded": self.recorded, "unchanged": self.unchanged}


@dataclass(frozen=True)
class _AreaRow:
    row: int
    county_code: str
    project_type: str
    available_area_mu: Decimal
    survey_year: int
    source: str


def _parse_area_rows(rows: Iterable[tuple[int, dict[str, str]]], errors: ErrorList) -> list[_AreaRow]:
    parsed: list[_AreaRow] = []
    first_row: dict[tuple[str, str, int], int] = {}
    this_year = _today().year
    for number, raw in rows:
        cells = Cells(number, raw, errors)
        before = len(errors.errors) + errors.more
        county = _survey_county(cells)
        project_type = cells.choice("project_type", PROJECT_TYPES)
        area = cells.decimal("available_area_mu", maximum=MAX_AREA_MU)
        year = cells.integer("survey_year", maximum=this_year)
        if year is not None and year < FIRST_SURVEY_YEAR:
            cells.error("survey_year", f"{year} is before {FIRST_SURVEY_YEAR}")
        source = cells.text("source", max_chars=MAX_SOURCE_CHARS)
        if len(errors.errors) + errors.more > before:
            continue
        assert county is not None
        assert project_type is not None
        assert area is not None
        assert year is not None
        assert source is not None
        key = (county, project_type, year)
        if key in first_row:
            cells.error("survey_year", f"{county} {project_type} {year} is also in row {first_row[key]}")
            continue
        first_row[key] = number
        parsed.append(_AreaRow(number, county, project_type, area, year, source))
    return parsed


def _survey_county(cells: Cells) -> str | None:
    code = cells.text("county_code", max_chars=6)
    if code is None:
        return None
    try:
        county = regions.division(code)
    except regions.UnknownRegion:
        cells.error("county_code", f"no county-level division of Sichuan has the code {code!r}")
        return None
    if county.level != "county":
        cells.error("county_code", f"{code} is the prefecture {county.name}; give a county-level code")
        return None
    name = cells.get("county")
    if name and name != county.name:
        cells.error("county", f"{code} is {county.prefecture}{county.name}, not {name}")
        return None
    return county.code


def import_potential_areas(session: Session, data: bytes | str, actor: Actor) -> AreaImportResult:
    """Record surveyed available areas from a CSV file (see the module docstring), all or nothing."""
    if actor.role is not Role.REGISTRY_ADMIN:
        raise Forbidden("only the registry enters surveyed areas", field="role")
    table = read_table(data, known=AREA_COLUMNS, optional=frozenset({"county"}), max_rows=MAX_AREA_ROWS)
    errors = ErrorList()
    rows = _parse_area_rows(table.rows, errors)
    errors.refuse_if_any()

    current: dict[tuple[str, str, int], tuple[Decimal, str]] = {}
    for entry in session.scalars(select(SurveyedArea).order_by(SurveyedArea.id)):
        current[(entry.county_code, entry.project_type, entry.survey_year)] = (
            Decimal(entry.available_area_mu).quantize(Decimal("0.01")),
            entry.source,
        )
    now = datetime.now(UTC)
    recorded = 0
    for row in rows:
        if current.get((row.county_code, row.project_type, row.survey_year)) == (
            row.available_area_mu,
            row.source,
        ):
            continue
        session.add(
            SurveyedArea(
                county_code=row.county_code,
                project_type=row.project_type,
                available_area_mu=row.available_area_mu,
                survey_year=row.survey_year,
                source=row.source,
                entered_by=actor.name[:200],
                entered_at=now,
            )
        )
        recorded += 1
    session.flush()
    return AreaImportResult(recorded=recorded, unchanged=len(rows) - recorded)
