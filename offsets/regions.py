"""Sichuan's divisions, the provincial plan's five carbon-sink zones, and the former poverty counties.

Reference data lives in ``offsets/data/regions/`` and every value there carries its source:

* ``sichuan_divisions.csv`` — the 21 prefecture-level and the county-level divisions (民政部 codes, 2023),
  each with its development zone;
* ``zones.toml`` — the five zones of 四川省林业和草原局关于大力推进林草碳汇高质量发展的意见 (二、发展布局):
  member prefectures, priority (重点开发), moderate (适度发展) and exploratory (探索发展) project types, and
  the plan's targets and incentives;
* ``poverty_counties.csv`` — the 88 former poverty counties (贫困县), national or provincial, deep poverty or
  not, and the provincial notice that approved each county's exit.

The files are parsed and checked together by :func:`load`; anything inconsistent raises
:class:`RegionDataError` naming the file and row, so a bad edit fails at start-up rather than at a lookup.
:func:`regions` loads the packaged files once. Divisions are identified by their 6-digit code: names repeat
(two prefectures each have a 市中区), so a name is only resolved together with its prefecture when needed.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Literal, TypeAlias

PROVINCE_CODE = "510000"
PREFECTURE_COUNT = 21
ZONE_KEYS = ("川西南", "川西北", "川东北", "川南", "川中")
PROJECT_TYPES = (
    "afforestation",
    "forest_management",
    "bamboo_afforestation",
    "bamboo_management",
    "grassland",
    "wetland",
    "urban_forest",
)
MAX_ROWS = 1_000  # Sichuan has some 200 divisions; a file far larger than that is not this data
MAX_NAME_CHARS = 50

Level = Literal["prefecture", "county"]
Category = Literal["national", "provincial"]
Focus = Literal["priority", "moderate", "exploratory"]

DIVISION_COLUMNS = ("code", "name", "level", "parent_code", "prefecture", "zone", "source", "source_year")
POVERTY_COLUMNS = (
    "code",
    "name",
    "prefecture",
    "category",
    "deep_poverty",
    "exit_year",
    "exit_document",
    "source",
    "source_year",
    "note",
)
_CODE = re.compile(r"51\d{4}")
_FOCUS_KINDS = ("priority_types", "moderate_types", "exploratory_types")
_DEEP_POVERTY: Mapping[str, bool | None] = {"true": True, "false": False, "unknown": None}

DataPath: TypeAlias = Path | Traversable


class RegionDataError(ValueError):
    """A reference data file is malformed or inconsistent with the others."""


class UnknownRegion(LookupError):
    """No division, zone or project type of that code or name."""

    code = "unknown-region"
    status = 404

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class AmbiguousCounty(ValueError):
    """A county name shared by divisions in several prefectures, looked up without its prefecture."""

    code = "ambiguous-county"
    status = 422

    def __init__(self, name: str, candidates: tuple[Division, ...]) -> None:
        listed = ", ".join(f"{c.code} {c.prefecture}{c.name}" for c in candidates)
        super().__init__(f"{name!r} names {len(candidates)} divisions ({listed}); give the prefecture")
        self.name = name
        self.candidates = candidates
        self.field = "name"


@dataclass(frozen=True, slots=True)
class Division:
    code: str
    name: str
    level: Level
    parent_code: str  # 510000 for a prefecture, the prefecture's code for a county
    prefecture: str  # the prefecture's name (its own name for a prefecture)
    zone: str  # one of ZONE_KEYS
    source: str
    source_year: int

    @property
    def prefecture_code(self) -> str:
        return self.code if self.level == "prefecture" else self.parent_code


@dataclass(frozen=True, slots=True)
class Zone:
    key: str  # 川西南, 川西北, 川东北, 川南, 川中
    name_zh: str
    name_en: str
    prefecture_codes: tuple[str, ...]
    priority_types: tuple[str, ...]
    moderate_types: tuple[str, ...]
    exploratory_types: tuple[str, ...]
    source: str

    def focus(self, project_type: str) -> Focus | None:
        if project_type in self.priority_types:
            return "priority"
        if project_type in self.moderate_types:
            return "moderate"
        if project_type in self.exploratory_types:
            return "exploratory"
        return None


@dataclass(frozen=True, slots=True)
class PovertyStatus:
    code: str
    name: str
    prefecture: str
    category: Category
    deep_poverty: bool | None  # None: not known
    exit_year: int | None  # year the province approved the exit; None: not found
    exit_document: str
    source: str
    source_year: int
    note: str


@dataclass(frozen=True, slots=True)
class Targets:
    by_2022_mu: int
    by_2025_mu: int
    source: str


@dataclass(frozen=True, slots=True)
class Incentives:
    registered_award_min_yuan: int
    registered_award_max_yuan: int
    eco_industry_min_contiguous_mu: int
    eco_industry_max_share_percent: int
    eco_industry_max_mu: int
    source: str


@dataclass(frozen=True, slots=True)
class Regions:
    """The validated reference data, indexed for lookups."""

    divisions: Mapping[str, Division]
    zones: Mapping[str, Zone]
    poverty: Mapping[str, PovertyStatus]
    project_types: Mapping[str, str]  # code -> Chinese name
    targets: Targets
    incentives: Incentives

    @property
    def prefectures(self) -> tuple[Division, ...]:
        return tuple(d for d in self.divisions.values() if d.level == "prefecture")

    @property
    def counties(self) -> tuple[Division, ...]:
        return tuple(d for d in self.divisions.values() if d.level == "county")

    def division(self, code: str) -> Division:
        try:
            return self.divisions[code]
        except KeyError:
            raise UnknownRegion(f"no Sichuan division with code {code!r}", field="code") from None

    def counties_of(self, prefecture_code: str) -> tuple[Division, ...]:
        prefecture = self.division(prefecture_code)
        if prefecture.level != "prefecture":
            raise UnknownRegion(f"{prefecture_code} ({prefecture.name}) is not a prefecture", field="code")
        return tuple(d for d in self.counties if d.parent_code == prefecture_code)

    def zone(self, key: str) -> Zone:
        """A zone by key (川中) or Chinese name (川中发展片) or English name."""
        for zone in self.zones.values():
            if key in (zone.key, zone.name_zh, zone.name_en):
                return zone
        raise UnknownRegion(
            f"no development zone {key!r}; the zones are {', '.join(ZONE_KEYS)}", field="zone"
        )

    def zone_of(self, code: str) -> Zone:
        return self.zones[self.division(code).zone]

    def poverty_status(self, code: str) -> PovertyStatus | None:
        self.division(code)  # an unknown code is an error, not "not a poverty county"
        return self.poverty.get(code)

    def zone_focus(self, zone: str, project_type: str) -> Focus | None:
        if project_type not in self.project_types:
            raise UnknownRegion(
                f"no project type {project_type!r}; the types are {', '.join(self.project_types)}",
                field="project_type",
            )
        return self.zone(zone).focus(project_type)

    def find_county(self, name: str, prefecture: str | None = None) -> Division:
        """The county-level division of that full name (e.g. 马边彝族自治县), in ``prefecture``.

        ``prefecture`` is a prefecture code or name (凉山彝族自治州, or its short form 凉山); it is required
        when the name is shared across prefectures (市中区 is in 内江 and 乐山), and checked when given.
        """
        candidates = tuple(d for d in self.counties if d.name == name)
        if prefecture is not None:
            within = self._prefecture(prefecture).code
            candidates = tuple(d for d in candidates if d.parent_code == within)
        if not candidates:
            where = f" in {prefecture}" if prefecture else ""
            raise UnknownRegion(f"no county-level division named {name!r}{where}", field="name")
        if len(candidates) > 1:
            raise AmbiguousCounty(name, candidates)
        return candidates[0]

    def _prefecture(self, key: str) -> Division:
        if key in self.divisions and self.divisions[key].level == "prefecture":
            return self.divisions[key]
        matches = [p for p in self.prefectures if p.name == key] or [
            p for p in self.prefectures if p.name.startswith(key)
        ]
        if len(matches) != 1:
            raise UnknownRegion(f"no single prefecture {key!r}", field="prefecture")
        return matches[0]


# --- loading and validation ---------------------------------------------------------------------------------

_DATA: Traversable = files("offsets") / "data" / "regions"


def load(
    divisions_path: DataPath | None = None,
    zones_path: DataPath | None = None,
    poverty_path: DataPath | None = None,
) -> Regions:
    """Parse and cross-check the three files (the packaged ones unless paths are given)."""
    divisions_path = divisions_path or _DATA / "sichuan_divisions.csv"
    zones_path = zones_path or _DATA / "zones.toml"
    poverty_path = poverty_path or _DATA / "poverty_counties.csv"

    divisions = _load_divisions(divisions_path)
    project_types, zones, targets, incentives = _load_zones(zones_path, divisions)
    poverty = _load_poverty(poverty_path, divisions)
    return Regions(
        divisions=MappingProxyType(divisions),
        zones=MappingProxyType(zones),
        poverty=MappingProxyType(poverty),
        project_types=MappingProxyType(project_types),
        targets=targets,
        incentives=incentives,
    )


@cache
def regions() -> Regions:
    """The packaged reference data, loaded and validated once per process."""
    return load()


def division(code: str) -> Division:
    return regions().division(code)


def counties_of(prefecture_code: str) -> tuple[Division, ...]:
    return regions().counties_of(prefecture_code)


def zone_of(code: str) -> Zone:
    return regions().zone_of(code)


def poverty_status(code: str) -> PovertyStatus | None:
    return regions().poverty_status(code)


def zone_focus(zone: str, project_type: str) -> Focus | None:
    return regions().zone_focus(zone, project_type)


def find_county(name: str, prefecture: str | None = None) -> Division:
    return regions().find_county(name, prefecture)


def _rows(path: DataPath, columns: tuple[str, ...]) -> Iterable[tuple[int, dict[str, str]]]:
    with io.StringIO(path.read_text(encoding="utf-8"), newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != columns:
            raise RegionDataError(f"{path}: header must be {','.join(columns)}, got {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            if line > MAX_ROWS:
                raise RegionDataError(f"{path}: more than {MAX_ROWS} rows")
            if None in row or any(value is None for value in row.values()):
                raise RegionDataError(f"{path}:{line}: expected {len(columns)} fields")
            yield line, {key: value.strip() for key, value in row.items()}


def _fail(path: DataPath, line: int, message: str) -> RegionDataError:
    return RegionDataError(f"{path}:{line}: {message}")


def _code(path: DataPath, line: int, value: str, field: str = "code") -> str:
    if not _CODE.fullmatch(value):
        raise _fail(path, line, f"{field} {value!r} is not a 6-digit Sichuan code (51xxxx)")
    return value


def _year(path: DataPath, line: int, value: str, field: str) -> int:
    if not re.fullmatch(r"(19|20)\d\d", value):
        raise _fail(path, line, f"{field} {value!r} is not a year")
    return int(value)


def _text(path: DataPath, line: int, row: Mapping[str, str], field: str, limit: int | None = None) -> str:
    value = row[field]
    if not value:
        raise _fail(path, line, f"{field} is empty")
    if limit is not None and len(value) > limit:
        raise _fail(path, line, f"{field} is longer than {limit} characters")
    return value


def _division(path: DataPath, line: int, row: Mapping[str, str]) -> Division:
    code = _code(path, line, row["code"])
    level: Level
    if row["level"] == "prefecture":
        level = "prefecture"
    elif row["level"] == "county":
        level = "county"
    else:
        raise _fail(path, line, f"level {row['level']!r} is neither prefecture nor county")
    parent = _code(path, line, row["parent_code"], "parent_code")
    zone = row["zone"]
    if zone not in ZONE_KEYS:
        raise _fail(path, line, f"zone {zone!r} is not one of {', '.join(ZONE_KEYS)}")
    if level == "prefecture":
        if not code.endswith("00") or parent != PROVINCE_CODE:
            raise _fail(path, line, f"prefecture {code} must end in 00 and have parent {PROVINCE_CODE}")
    elif code.endswith("00") or parent != code[:4] + "00":
        raise _fail(path, line, f"county {code} must have parent {code[:4]}00, not {parent}")
    return Division(
        code=code,
        name=_text(path, line, row, "name", MAX_NAME_CHARS),
        level=level,
        parent_code=parent,
        prefecture=_text(path, line, row, "prefecture", MAX_NAME_CHARS),
        zone=zone,
        source=_text(path, line, row, "source"),
        source_year=_year(path, line, row["source_year"], "source_year"),
    )


def _load_divisions(path: DataPath) -> dict[str, Division]:
    divisions: dict[str, Division] = {}
    for line, row in _rows(path, DIVISION_COLUMNS):
        d = _division(path, line, row)
        if d.code in divisions:
            raise _fail(path, line, f"duplicate code {d.code}")
        divisions[d.code] = d

    prefectures = {c: d for c, d in divisions.items() if d.level == "prefecture"}
    if len(prefectures) != PREFECTURE_COUNT:
        raise RegionDataError(f"{path}: {len(prefectures)} prefectures, Sichuan has {PREFECTURE_COUNT}")
    for d in divisions.values():
        owner = prefectures.get(d.prefecture_code)
        if owner is None:
            raise RegionDataError(
                f"{path}: county {d.code} {d.name}: parent {d.parent_code} is not a prefecture"
            )
        if d.prefecture != owner.name or d.zone != owner.zone:
            raise RegionDataError(
                f"{path}: {d.code} {d.name}: prefecture/zone {d.prefecture}/{d.zone} "
                f"disagree with {owner.code}: {owner.name}/{owner.zone}"
            )
    return divisions


def _strings(path: DataPath, where: str, table: Mapping[str, object], key: str) -> tuple[str, ...]:
    value = table.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RegionDataError(f"{path}: {where}: {key} must be a list of strings")
    return tuple(str(v) for v in value)


def _string(path: DataPath, where: str, table: Mapping[str, object], key: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise RegionDataError(f"{path}: {where}: {key} must be a non-empty string")
    return value


def _count(path: DataPath, where: str, table: Mapping[str, object], key: str) -> int:
    value = table.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise RegionDataError(f"{path}: {where}: {key} must be a positive integer")
    return value


def _table(path: DataPath, document: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = document.get(key)
    if not isinstance(value, dict):
        raise RegionDataError(f"{path}: missing table [{key}]")
    return value


def _zone(
    path: DataPath,
    raw: Mapping[str, object],
    divisions: Mapping[str, Division],
    project_types: Mapping[str, str],
) -> Zone:
    key = _string(path, "zone", raw, "key")
    if key not in ZONE_KEYS:
        raise RegionDataError(f"{path}: zone {key!r} is not one of {', '.join(ZONE_KEYS)}")
    codes = _strings(path, key, raw, "prefecture_codes")
    names = _strings(path, key, raw, "prefecture_names")
    if len(codes) != len(names):
        raise RegionDataError(f"{path}: {key}: prefecture_codes and prefecture_names differ in length")
    for code, name in zip(codes, names, strict=True):
        prefecture = divisions.get(code)
        if prefecture is None or prefecture.level != "prefecture":
            raise RegionDataError(f"{path}: {key}: {code} is not a prefecture in the divisions file")
        if prefecture.name != name:
            raise RegionDataError(f"{path}: {key}: {code} is {prefecture.name}, not {name}")
    focus = {kind: _strings(path, key, raw, kind) for kind in _FOCUS_KINDS}
    listed = [t for types in focus.values() for t in types]
    if any(t not in project_types for t in listed) or len(listed) != len(set(listed)):
        raise RegionDataError(f"{path}: {key}: focus types must be distinct codes from [project_types]")
    if not focus["priority_types"]:
        raise RegionDataError(f"{path}: {key}: a zone must have priority types")
    return Zone(
        key=key,
        name_zh=_string(path, key, raw, "name_zh"),
        name_en=_string(path, key, raw, "name_en"),
        prefecture_codes=codes,
        priority_types=focus["priority_types"],
        moderate_types=focus["moderate_types"],
        exploratory_types=focus["exploratory_types"],
        source=_string(path, key, raw, "source"),
    )


def _load_zones(
    path: DataPath, divisions: Mapping[str, Division]
) -> tuple[dict[str, str], dict[str, Zone], Targets, Incentives]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise RegionDataError(f"{path}: {error}") from None

    types_table = _table(path, document, "project_types")
    if tuple(types_table) != PROJECT_TYPES or not all(isinstance(v, str) for v in types_table.values()):
        raise RegionDataError(f"{path}: [project_types] must name exactly {', '.join(PROJECT_TYPES)}")
    project_types = {k: str(v) for k, v in types_table.items()}

    raw_zones = document.get("zones")
    if not isinstance(raw_zones, list):
        raise RegionDataError(f"{path}: missing [[zones]]")
    zones: dict[str, Zone] = {}
    seen_prefectures: dict[str, str] = {}
    for raw in raw_zones:
        if not isinstance(raw, dict):
            raise RegionDataError(f"{path}: each [[zones]] entry must be a table")
        zone = _zone(path, raw, divisions, project_types)
        if zone.key in zones:
            raise RegionDataError(f"{path}: zone {zone.key} repeats")
        for code in zone.prefecture_codes:
            if code in seen_prefectures:
                name = divisions[code].name
                raise RegionDataError(
                    f"{path}: {code} {name} is in both {seen_prefectures[code]} and {zone.key}"
                )
            if divisions[code].zone != zone.key:
                name = divisions[code].name
                raise RegionDataError(
                    f"{path}: {code} {name} is in {zone.key} here, {divisions[code].zone} in divisions"
                )
            seen_prefectures[code] = zone.key
        zones[zone.key] = zone
    if tuple(sorted(zones)) != tuple(sorted(ZONE_KEYS)):
        raise RegionDataError(f"{path}: the zones must be exactly {', '.join(ZONE_KEYS)}")
    missing = [
        d.code for d in divisions.values() if d.level == "prefecture" and d.code not in seen_prefectures
    ]
    if missing:
        raise RegionDataError(f"{path}: prefectures in no zone: {', '.join(missing)}")

    targets, incentives = _targets_and_incentives(path, document)
    return project_types, zones, targets, incentives


def _targets_and_incentives(path: DataPath, document: Mapping[str, object]) -> tuple[Targets, Incentives]:
    raw_targets = _table(path, document, "targets")
    targets = Targets(
        by_2022_mu=_count(path, "targets", raw_targets, "by_2022_mu"),
        by_2025_mu=_count(path, "targets", raw_targets, "by_2025_mu"),
        source=_string(path, "targets", raw_targets, "source"),
    )
    raw_incentives = _table(path, document, "incentives")
    incentives = Incentives(
        registered_award_min_yuan=_count(path, "incentives", raw_incentives, "registered_award_min_yuan"),
        registered_award_max_yuan=_count(path, "incentives", raw_incentives, "registered_award_max_yuan"),
        eco_industry_min_contiguous_mu=_count(
            path, "incentives", raw_incentives, "eco_industry_min_contiguous_mu"
        ),
        eco_industry_max_share_percent=_count(
            path, "incentives", raw_incentives, "eco_industry_max_share_percent"
        ),
        eco_industry_max_mu=_count(path, "incentives", raw_incentives, "eco_industry_max_mu"),
        source=_string(path, "incentives", raw_incentives, "source"),
    )
    if incentives.registered_award_min_yuan > incentives.registered_award_max_yuan:
        raise RegionDataError(f"{path}: [incentives] award minimum exceeds maximum")
    if incentives.eco_industry_max_share_percent > 100:
        raise RegionDataError(f"{path}: [incentives] eco_industry_max_share_percent is over 100")
    return targets, incentives


def _load_poverty(path: DataPath, divisions: Mapping[str, Division]) -> dict[str, PovertyStatus]:
    poverty: dict[str, PovertyStatus] = {}
    for line, row in _rows(path, POVERTY_COLUMNS):
        code = _code(path, line, row["code"])
        if code in poverty:
            raise _fail(path, line, f"duplicate code {code}")
        county = divisions.get(code)
        if county is None or county.level != "county":
            raise _fail(path, line, f"{code} is not a county-level division in the divisions file")
        if row["name"] != county.name or row["prefecture"] != county.prefecture:
            raise _fail(
                path,
                line,
                f"{code} is {county.prefecture}{county.name}, not {row['prefecture']}{row['name']}",
            )
        category: Category
        if row["category"] == "national":
            category = "national"
        elif row["category"] == "provincial":
            category = "provincial"
        else:
            raise _fail(path, line, f"category {row['category']!r} is neither national nor provincial")
        if row["deep_poverty"] not in _DEEP_POVERTY:
            raise _fail(path, line, f"deep_poverty {row['deep_poverty']!r} is not true, false or unknown")
        exit_year = _year(path, line, row["exit_year"], "exit_year") if row["exit_year"] else None
        if exit_year is None and not row["note"]:
            raise _fail(path, line, "an empty exit_year needs a note saying why")
        if exit_year is not None and not row["exit_document"]:
            raise _fail(path, line, "an exit_year needs its exit_document")
        poverty[code] = PovertyStatus(
            code=code,
            name=county.name,
            prefecture=county.prefecture,
            category=category,
            deep_poverty=_DEEP_POVERTY[row["deep_poverty"]],
            exit_year=exit_year,
            exit_document=row["exit_document"],
            source=_text(path, line, row, "source"),
            source_year=_year(path, line, row["source_year"], "source_year"),
            note=row["note"],
        )
    return poverty
