"""Onboarding: import sink projects that already exist in another registry, with the batches it has issued.

The province already has CCER and provincial 林草碳普惠 projects. This module reads them from one CSV file,
records the external registry and its ids on every project (``projects.external_registry/external_id``)
and every batch (``issuances.external_registry/external_batch_id``, kind ``import``), and issues each
batch onto the ledger once, so that no kilogram is credited in two registries by mistake. It also writes
the same file back out (:func:`export_csv`); the CSV reading and spreadsheet-safe writing helpers here are
shared with :mod:`offsets.reports`.

File format (one table; UTF-8, with or without a byte-order mark; comma-separated, RFC 4180 quoting; a
header row naming the columns, in any order; one row per batch, the project's columns repeated on each of
its rows; a project without batches is one row whose batch columns are all empty)::

    column                        req.  meaning
    external_registry             yes   the registry it comes from: CCER, provincial (林草碳普惠), VCS, GS
    external_project_id           yes   the project's id in that registry (ASCII: letters, digits, . _ / @ -)
    project_code                  yes   Tanhui's project code, used in batch ids and serials (A-Z, 0-9, 2-16)
    project_name                  yes   1-200 characters
    project_type                  yes   afforestation, forest_management, bamboo_afforestation,
                                        bamboo_management, grassland, wetland, urban_forest
    county_code                   yes   6-digit county-level division code (民政部 2023), e.g. 511133
    county                        no    the county's name, checked against the code when given
    area_mu                       yes   decimal, > 0, at most two decimals (1 亩 = 1/15 ha)
    location_geojson              yes   GeoJSON Point or Polygon inside Sichuan, e.g. {"type":"Point",...}
    owner_name                    yes   the owner organisation (found by credit code, else by name)
    owner_credit_code             no    its 统一社会信用代码 (GB 32100-2015, check digit verified)
    methodology                   yes   a methodology id Tanhui knows, e.g. AR-CM-001-V01
    standard                      yes   standard the project is registered under: provincial, CCER, VCS, GS
    crediting_start/crediting_end yes   ISO dates, YYYY-MM-DD
    expected_annual_removals_kg   yes   whole kilograms, digits only
    project_buffer_percent        no    buffer share for batches Tanhui issues later; empty: registry default
    contiguous_carbon_forest_mu   no    decimal, within area_mu
    beneficiaries_json            no    JSON list of {"name", "kind" (household|collective), "share_percent"}
    external_batch_id             batch the batch's id in the external registry (same ASCII set)
    vintage                       batch four-digit year within the monitoring period
    monitoring_start/_end         batch ISO dates of the monitoring period, inside the crediting period
    issued_on                     no    ISO date the external registry issued it
    quantity_kg                   batch whole kilograms CO2e issued, digits only (1 t = 1,000 kg)
    batch_buffer_percent          no    whole percentage of the batch credited to Tanhui's buffer pool
                                        (rounded up, as for Tanhui's own issuance); empty: 0

Columns marked "no" may be left out of the header; unknown columns are refused. Numbers are plain digits
with an optional decimal point: no signs, thousands separators or exponents. A cell that starts with ``'``
followed by one of ``= + - @ '``, tab or CR has that first quote removed: it is the spreadsheet-safety
escape that :func:`export_csv` adds, so an exported file imports unchanged.

Rules: every row is checked before anything is written, and every error is reported with its row number
(the header is row 1) and column; one error refuses the whole file. A project is identified by
``(external_registry, external_project_id)``: if it was imported before, the file's project columns must
match it and only its new batches are added. A batch is identified by ``(external_registry,
external_batch_id)``: importing it again with the same figures does nothing (the ledger request id is
``import:<registry>:<batch id>``), while the same id under another project, with other figures, twice in
one file, or a monitoring period overlapping another batch of the project is refused. Imported projects
enter as registered, with a status event "imported from <registry>". Each new batch is an ``issue`` entry
crediting the owner's ledger account and, for a buffer share, the buffer pool.

Export writes every imported project and its imported batches in this format, columns in the order above,
rows ordered by project code, vintage, monitoring start and batch id, values in canonical form (areas with
two decimals, compact JSON with sorted keys), UTF-8 with a byte-order mark, CRLF line ends. Batches Tanhui
issued itself are not in it: they have no external id, and exporting one would let another registry import
Tanhui's credits as its own. A project's status is not in the file either; imports enter as registered.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger import limits
from ledger.accounts import BUFFER, ensure_registry_accounts
from ledger.commands import Allocation, Issue
from ledger.entries import parse_body
from ledger.models import Batch, Entry, Head
from ledger.sequencer import Sequencer
from ledger.serials import MAX_BATCH_NUMBER, PROJECT_CODE, VINTAGE
from offsets import regions
from offsets.actors import Actor
from offsets.buffer_policy import default_buffer_percent
from offsets.errors import Forbidden, InvalidInput
from offsets.geo import validate_location
from offsets.lifecycle import ProjectStatus, Role
from offsets.models import (
    PROJECT_TYPES,
    Issuance,
    MonitoringReport,
    Organisation,
    Project,
    ProjectBeneficiary,
    ProjectEvent,
    Verification,
)
from offsets.projects import (
    MAX_AREA_MU,
    STANDARDS,
    Beneficiary,
    check_beneficiaries,
    check_credit_code,
    check_methodology,
    register_organisation,
)

# --- limits ------------------------------------------------------------------------------------------------

MAX_CSV_BYTES = 20 * 1024 * 1024
"""A file larger than this is refused unread: 10,000 rows of a few hundred bytes fit many times over."""
MAX_ROWS = 10_000
"""Rows per file; each batch becomes one ledger command, and one append takes at most 10,000."""
MAX_ERRORS_LISTED = 1_000
"""Errors listed in one refusal; the count of the rest is reported."""
MAX_CELL_CHARS = 100_000
"""A polygon of 10,000 positions fits; anything longer is not a value of this file."""
assert MAX_ROWS <= limits.MAX_COMMANDS_PER_APPEND

EXTERNAL_REGISTRIES: Mapping[str, str] = {
    "CCER": "全国温室气体自愿减排注册登记系统 (national CCER registry)",
    "provincial": "四川省林草碳普惠 (the province's forestry and grassland carbon inclusion scheme)",
    "VCS": "Verra VCS Registry",
    "GS": "Gold Standard Impact Registry",
}
"""Registries the province's existing projects come from; the keys are those of ``projects.STANDARDS``."""
EXTERNAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/@-]{0,63}")
"""External ids become part of a ledger request id, which is ASCII (ledger.value_checks.REQUEST_ID)."""
ESCAPED_LEADS = ("=", "+", "-", "@", "\t", "\r", "'")
"""Leading characters a spreadsheet may read as a formula (OWASP "CSV injection"), and the escape itself."""
CENT = Decimal("0.01")
IMPORT_PREFIX = "import"

PROJECT_COLUMNS = (
    "external_registry",
    "external_project_id",
    "project_code",
    "project_name",
    "project_type",
    "county_code",
    "county",
    "area_mu",
    "location_geojson",
    "owner_name",
    "owner_credit_code",
    "methodology",
    "standard",
    "crediting_start",
    "crediting_end",
    "expected_annual_removals_kg",
    "project_buffer_percent",
    "contiguous_carbon_forest_mu",
    "beneficiaries_json",
)
BATCH_COLUMNS = (
    "external_batch_id",
    "vintage",
    "monitoring_start",
    "monitoring_end",
    "issued_on",
    "quantity_kg",
    "batch_buffer_percent",
)
COLUMNS = PROJECT_COLUMNS + BATCH_COLUMNS
OPTIONAL_COLUMNS = frozenset(
    {
        "county",
        "owner_credit_code",
        "project_buffer_percent",
        "contiguous_carbon_forest_mu",
        "beneficiaries_json",
        "issued_on",
        "batch_buffer_percent",
    }
)


# --- errors and the shared CSV helpers ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowError:
    """One thing wrong with a file: the row (1 is the header; None: the whole file), the column, what."""

    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = " ".join(
            part
            for part in (
                f"row {self.row}" if self.row else "",
                f"column {self.column}" if self.column else "",
            )
            if part
        )
        return f"{where}: {self.message}" if where else self.message


class CsvRefused(InvalidInput):
    """A file refused as a whole, with every error found in it; nothing was written."""

    code = "csv-refused"
    status = 400

    def __init__(self, errors: Sequence[RowError], *, more: int = 0) -> None:
        assert errors
        self.errors = tuple(errors)
        self.more = more
        summary = f"{len(errors) + more} error(s) in the file; nothing was written. First: {errors[0]}"
        super().__init__(summary, field=errors[0].column)


class ErrorList:
    """Collects errors up to :data:`MAX_ERRORS_LISTED`, counting the rest."""

    def __init__(self) -> None:
        self.errors: list[RowError] = []
        self.more = 0

    def add(self, row: int | None, column: str | None, message: str) -> None:
        if len(self.errors) < MAX_ERRORS_LISTED:
            self.errors.append(RowError(row, column, message))
        else:
            self.more += 1

    def refuse_if_any(self) -> None:
        if self.errors:
            in_file_order = sorted(self.errors, key=lambda e: -1 if e.row is None else e.row)
            raise CsvRefused(in_file_order, more=self.more)


@dataclass(frozen=True)
class Table:
    """A CSV file read: the header and each non-blank row as ``(row number, {column: cell})``."""

    columns: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]


def decode_csv(data: bytes | str) -> str:
    """The text of an uploaded file: UTF-8 with or without a byte-order mark, else refused."""
    if isinstance(data, str):
        text = data
    else:
        if len(data) > MAX_CSV_BYTES:
            raise CsvRefused([RowError(None, None, f"the file is larger than {MAX_CSV_BYTES} bytes")])
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            message = f"the file is not UTF-8 (byte {exc.start} cannot be decoded); save it as CSV UTF-8"
            raise CsvRefused([RowError(None, None, message)]) from exc
    if len(text) > MAX_CSV_BYTES:
        raise CsvRefused([RowError(None, None, f"the file is larger than {MAX_CSV_BYTES} characters")])
    return text.removeprefix("\ufeff")


def unescape_cell(value: str) -> str:
    """Undo :func:`spreadsheet_safe`: drop the quote it put before a formula-like lead character."""
    if len(value) >= 2 and value[0] == "'" and value[1] in ESCAPED_LEADS:
        return value[1:]
    return value


def spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet shows as text: a leading = + - @ tab, CR (or the quote itself) gets a ``'``."""
    return "'" + value if value.startswith(ESCAPED_LEADS) else value


def read_table(
    data: bytes | str,
    *,
    known: Sequence[str],
    optional: frozenset[str] = frozenset(),
    max_rows: int = MAX_ROWS,
) -> Table:
    """Read a CSV file with a header row; the header must name every required column and no unknown one.

    Cells are unescaped (:func:`unescape_cell`) and stripped; rows whose cells are all empty are skipped,
    as spreadsheets leave them at the end. A row with more or fewer cells than the header is an error.
    """
    text = decode_csv(data)
    errors = ErrorList()
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise CsvRefused([RowError(1, None, f"the header row is not valid CSV: {exc}")]) from exc
    if header is None or not any(cell.strip() for cell in header):
        raise CsvRefused([RowError(1, None, "the file is empty: it needs a header row naming the columns")])
    columns = tuple(cell.strip() for cell in header)
    _check_header(columns, known, optional)

    rows: list[tuple[int, dict[str, str]]] = []
    number = 1
    while True:
        number += 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.add(number, None, f"not valid CSV: {exc}")
            break
        if not any(cell.strip() for cell in record):
            continue
        if len(rows) >= max_rows:
            errors.add(number, None, f"more than {max_rows} rows; split the file")
            break
        if len(record) != len(columns):
            errors.add(number, None, f"{len(record)} cells, but the header has {len(columns)} columns")
            continue
        cells = {}
        for name, cell in zip(columns, record, strict=True):
            if len(cell) > MAX_CELL_CHARS:
                errors.add(number, name, f"longer than {MAX_CELL_CHARS} characters")
            cells[name] = unescape_cell(cell).strip()
        rows.append((number, cells))
    errors.refuse_if_any()
    if not rows:
        raise CsvRefused([RowError(None, None, "the file has a header but no rows")])
    return Table(columns, tuple(rows))


def _check_header(columns: Sequence[str], known: Sequence[str], optional: frozenset[str]) -> None:
    errors = ErrorList()
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            errors.add(1, name, "this column is named twice in the header")
        elif name not in known:
            errors.add(1, name or None, f"unknown column {name!r}; the columns are {', '.join(known)}")
        seen.add(name)
    for name in known:
        if name not in seen and name not in optional:
            errors.add(1, name, "required column missing from the header")
    errors.refuse_if_any()


def write_table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """A CSV file as spreadsheets open it safely: UTF-8 with a byte-order mark, CRLF, escaped formulas."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([spreadsheet_safe(name) for name in columns])
    for row in rows:
        assert len(row) == len(columns)
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


class Cells:
    """One row's cells, parsed column by column; a bad cell adds an error and gives ``None``."""

    def __init__(self, number: int, cells: Mapping[str, str], errors: ErrorList) -> None:
        self.number = number
        self.cells = cells
        self.errors = errors

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    def error(self, column: str, message: str) -> None:
        self.errors.add(self.number, column, message)

    def text(self, column: str, *, max_chars: int = 200, required: bool = True) -> str | None:
        value = self.get(column)
        if not value:
            if required:
                self.error(column, "is required")
            return None
        if len(value) > max_chars:
            self.error(column, f"is longer than {max_chars} characters")
            return None
        if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
            self.error(column, "contains control characters (line breaks, tabs)")
            return None
        return value

    def choice(self, column: str, choices: Sequence[str]) -> str | None:
        value = self.text(column, max_chars=64)
        if value is not None and value not in choices:
            self.error(column, f"{value!r} is not one of {', '.join(choices)}")
            return None
        return value

    def integer(self, column: str, *, maximum: int, required: bool = True) -> int | None:
        value = self.get(column)
        if not value:
            if required:
                self.error(column, "is required")
            return None
        if not value.isascii() or not value.isdigit():
            self.error(
                column, f"{value!r} is not a whole number written in digits (no sign, separator, unit)"
            )
            return None
        number = int(value)
        if number > maximum:
            self.error(column, f"{value} is more than {maximum}")
            return None
        return number

    def decimal(self, column: str, *, maximum: Decimal, required: bool = True) -> Decimal | None:
        """A non-negative decimal with at most two decimals, written plainly (``1234.5``)."""
        value = self.get(column)
        if not value:
            if required:
                self.error(column, "is required")
            return None
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", value):
            self.error(column, f"{value!r} is not a decimal number written in digits, e.g. 1234.50")
            return None
        number = Decimal(value)
        if number != number.quantize(CENT):
            self.error(column, f"{value} has more than two decimals")
            return None
        if number > maximum:
            self.error(column, f"{value} is more than {maximum}")
            return None
        return number.quantize(CENT)

    def date(self, column: str, *, required: bool = True) -> date | None:
        value = self.get(column)
        if not value:
            if required:
                self.error(column, "is required")
            return None
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            self.error(column, f"{value!r} is not a date written YYYY-MM-DD")
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.error(column, f"{value} is not a calendar date")
            return None

    def json(self, column: str, *, required: bool = True) -> Any:
        value = self.get(column)
        if not value:
            if required:
                self.error(column, "is required")
            return None
        try:
            parsed = json.loads(value, parse_constant=_refuse_constant)
        except ValueError as exc:
            self.error(column, f"is not valid JSON: {exc}")
            return None
        if parsed is None:
            self.error(column, "is null; leave the cell empty instead" if not required else "is required")
        return parsed


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def format_area(value: Decimal) -> str:
    return format(value.quantize(CENT), "f")


def format_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# --- what a file says ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectRow:
    """A project as the file states it, in canonical cells (compared across rows and with the database)."""

    key: tuple[str, str]
    row: int
    cells: dict[str, str]
    code: str
    name: str
    project_type: str
    county_code: str
    area_mu: Decimal
    location: dict[str, Any]
    owner_name: str
    owner_credit_code: str | None
    methodology: str
    standard: str
    crediting_start: date
    crediting_end: date
    expected_annual_removals_kg: int
    buffer_percent: int
    contiguous_carbon_forest_mu: Decimal | None
    beneficiaries: tuple[Beneficiary, ...]


@dataclass(frozen=True)
class BatchRow:
    key: tuple[str, str]
    """``(external_registry, external_batch_id)``."""
    project_key: tuple[str, str]
    row: int
    cells: dict[str, str]
    vintage: str
    monitoring_start: date
    monitoring_end: date
    issued_on: date | None
    quantity_kg: int
    buffer_percent: int

    @property
    def buffer_kg(self) -> int:
        return buffer_share_kg(self.quantity_kg, self.buffer_percent)

    @property
    def request_id(self) -> str:
        return import_request_id(*self.key)


def buffer_share_kg(quantity_kg: int, buffer_percent: int) -> int:
    """The buffer's part of a batch, rounded up so the pool is never short (as offsets.issuance does)."""
    return -(-quantity_kg * buffer_percent // 100)


def import_request_id(registry: str, external_batch_id: str) -> str:
    return f"{IMPORT_PREFIX}:{registry}:{external_batch_id}"


def _parse_project(cells: Cells) -> ProjectRow | None:  # noqa: PLR0915 (one check per column, in file order)
    before = len(cells.errors.errors) + cells.errors.more
    registry = cells.choice("external_registry", tuple(EXTERNAL_REGISTRIES))
    external_id = _external_id(cells, "external_project_id")
    code = cells.text("project_code", max_chars=16)
    if code is not None and not PROJECT_CODE.fullmatch(code):
        cells.error("project_code", f"{code!r} is not 2-16 capital letters or digits")
    name = cells.text("project_name")
    project_type = cells.choice("project_type", PROJECT_TYPES)
    county = _county(cells)
    area = cells.decimal("area_mu", maximum=MAX_AREA_MU)
    if area is not None and area <= 0:
        cells.error("area_mu", "must be more than 0")
    location = cells.json("location_geojson")
    if location is not None:
        try:
            location = validate_location(location)
        except InvalidInput as exc:
            cells.error("location_geojson", f"{exc.field}: {exc.message}" if exc.field else exc.message)
            location = None
    owner_name = cells.text("owner_name")
    credit_code = cells.text("owner_credit_code", max_chars=18, required=False)
    if credit_code is not None:
        try:
            check_credit_code(credit_code)
        except InvalidInput as exc:
            cells.error("owner_credit_code", exc.message)
    methodology = cells.text("methodology", max_chars=32)
    if methodology is not None and project_type is not None:
        try:
            check_methodology(methodology, project_type)
        except InvalidInput as exc:
            cells.error("methodology", exc.message)
    standard = cells.choice("standard", STANDARDS)
    start = cells.date("crediting_start")
    end = cells.date("crediting_end")
    if start is not None and end is not None and end <= start:
        cells.error("crediting_end", "the crediting period must end after it starts")
    removals = cells.integer("expected_annual_removals_kg", maximum=limits.MAX_QUANTITY_KG)
    buffer_percent = cells.integer("project_buffer_percent", maximum=100, required=False)
    if buffer_percent is None and not cells.get("project_buffer_percent") and project_type is not None:
        buffer_percent = default_buffer_percent(project_type)
    contiguous = cells.decimal("contiguous_carbon_forest_mu", maximum=MAX_AREA_MU, required=False)
    if contiguous is not None and area is not None and not Decimal(0) < contiguous <= area:
        cells.error("contiguous_carbon_forest_mu", "must be more than 0 and within the project area")
    beneficiaries = _beneficiaries(cells)
    if len(cells.errors.errors) + cells.errors.more > before:
        return None
    # Every column parsed without error, so none of them is missing (the checks above say so).
    assert registry is not None
    assert external_id is not None
    assert code is not None
    assert name is not None
    assert project_type is not None
    assert county is not None
    assert area is not None
    assert location is not None
    assert owner_name is not None
    assert methodology is not None
    assert standard is not None
    assert start is not None
    assert end is not None
    assert removals is not None
    assert buffer_percent is not None
    assert beneficiaries is not None
    project = ProjectRow(
        key=(registry, external_id),
        row=cells.number,
        cells={},
        code=code,
        name=name,
        project_type=project_type,
        county_code=county.code,
        area_mu=area,
        location=location,
        owner_name=owner_name,
        owner_credit_code=credit_code,
        methodology=methodology,
        standard=standard,
        crediting_start=start,
        crediting_end=end,
        expected_annual_removals_kg=removals,
        buffer_percent=buffer_percent,
        contiguous_carbon_forest_mu=contiguous,
        beneficiaries=beneficiaries,
    )
    project.cells.update(_project_cells(project))
    return project


def _external_id(cells: Cells, column: str) -> str | None:
    value = cells.text(column, max_chars=64)
    if value is not None and not EXTERNAL_ID.fullmatch(value):
        cells.error(column, f"{value!r}: ids are ASCII letters, digits and . _ / @ - (at most 64)")
        return None
    return value


def _county(cells: Cells) -> regions.Division | None:
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
    return county


def _beneficiaries(cells: Cells) -> tuple[Beneficiary, ...] | None:  # noqa: PLR0911 (stops at the first bad item)
    column = "beneficiaries_json"
    if not cells.get(column):
        return ()
    raw = cells.json(column, required=False)
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > 1_000:
        cells.error(column, 'must be a JSON list of {"name", "kind", "share_percent"} (at most 1,000)')
        return None
    parsed: list[Beneficiary] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or set(item) != {"name", "kind", "share_percent"}:
            cells.error(column, f"item {index} must have exactly name, kind and share_percent")
            return None
        share = item["share_percent"]
        if not isinstance(share, str) or not re.fullmatch(r"[0-9]+(\.[0-9]{1,2})?", share):
            cells.error(column, f'item {index}: share_percent is a decimal in quotes, e.g. "12.50"')
            return None
        if not isinstance(item["name"], str) or not isinstance(item["kind"], str):
            cells.error(column, f"item {index}: name and kind are text")
            return None
        parsed.append(Beneficiary(item["name"].strip(), item["kind"], Decimal(share).quantize(CENT)))
    try:
        check_beneficiaries(tuple(parsed))
    except InvalidInput as exc:
        cells.error(column, f"{exc.field}: {exc.message}" if exc.field else exc.message)
        return None
    return tuple(parsed)


def _parse_batch(cells: Cells, project: ProjectRow | None) -> BatchRow | None:
    before = len(cells.errors.errors) + cells.errors.more
    registry = cells.get("external_registry")
    batch_id = _external_id(cells, "external_batch_id")
    vintage = cells.text("vintage", max_chars=4)
    if vintage is not None and not VINTAGE.fullmatch(vintage):
        cells.error("vintage", f"{vintage!r} is not a four-digit year")
        vintage = None
    start = cells.date("monitoring_start")
    end = cells.date("monitoring_end")
    if start is not None and end is not None:
        if end <= start:
            cells.error("monitoring_end", "the monitoring period must end after it starts")
        elif vintage is not None and not start.year <= int(vintage) <= end.year:
            cells.error("vintage", f"vintage {vintage} lies outside the monitoring period {start}..{end}")
        if project is not None and (start < project.crediting_start or end > project.crediting_end):
            cells.error(
                "monitoring_start",
                f"the monitoring period {start}..{end} must lie in the crediting period "
                f"{project.crediting_start}..{project.crediting_end}",
            )
    issued_on = cells.date("issued_on", required=False)
    if issued_on is not None:
        if end is not None and issued_on < end:
            cells.error("issued_on", f"a batch is issued after its monitoring period ends ({end})")
        if issued_on > datetime.now(UTC).date():
            cells.error("issued_on", "is in the future")
    quantity = cells.integer("quantity_kg", maximum=limits.MAX_QUANTITY_KG)
    if quantity == 0:
        cells.error("quantity_kg", "must be at least 1 kg")
    buffer_percent = cells.integer("batch_buffer_percent", maximum=100, required=False)
    if len(cells.errors.errors) + cells.errors.more > before or project is None:
        return None
    assert batch_id is not None
    assert vintage is not None
    assert start is not None
    assert end is not None
    assert quantity is not None
    batch = BatchRow(
        key=(registry, batch_id),
        project_key=project.key,
        row=cells.number,
        cells={},
        vintage=vintage,
        monitoring_start=start,
        monitoring_end=end,
        issued_on=issued_on,
        quantity_kg=quantity,
        buffer_percent=buffer_percent or 0,
    )
    batch.cells.update(_batch_cells(batch))
    return batch


def _project_cells(project: ProjectRow) -> dict[str, str]:
    county = regions.division(project.county_code)
    return {
        "external_registry": project.key[0],
        "external_project_id": project.key[1],
        "project_code": project.code,
        "project_name": project.name,
        "project_type": project.project_type,
        "county_code": county.code,
        "county": county.name,
        "area_mu": format_area(project.area_mu),
        "location_geojson": format_json(project.location),
        "owner_name": project.owner_name,
        "owner_credit_code": project.owner_credit_code or "",
        "methodology": project.methodology,
        "standard": project.standard,
        "crediting_start": project.crediting_start.isoformat(),
        "crediting_end": project.crediting_end.isoformat(),
        "expected_annual_removals_kg": str(project.expected_annual_removals_kg),
        "project_buffer_percent": str(project.buffer_percent),
        "contiguous_carbon_forest_mu": (
            format_area(project.contiguous_carbon_forest_mu)
            if project.contiguous_carbon_forest_mu is not None
            else ""
        ),
        "beneficiaries_json": _beneficiaries_cell(project.beneficiaries),
    }


def _beneficiaries_cell(beneficiaries: Sequence[Beneficiary]) -> str:
    if not beneficiaries:
        return ""
    return format_json(
        [
            {"kind": b.kind, "name": b.name, "share_percent": format_area(Decimal(b.share_percent))}
            for b in beneficiaries
        ]
    )


def _batch_cells(batch: BatchRow) -> dict[str, str]:
    return {
        "external_batch_id": batch.key[1],
        "vintage": batch.vintage,
        "monitoring_start": batch.monitoring_start.isoformat(),
        "monitoring_end": batch.monitoring_end.isoformat(),
        "issued_on": batch.issued_on.isoformat() if batch.issued_on else "",
        "quantity_kg": str(batch.quantity_kg),
        "batch_buffer_percent": str(batch.buffer_percent),
    }


# --- planning: everything checked, nothing written ----------------------------------------------------------


@dataclass
class ImportPlan:
    """What a valid file will write: new projects and owners, and the batches not imported before."""

    new_projects: list[ProjectRow] = field(default_factory=list)
    existing_projects: dict[tuple[str, str], Project] = field(default_factory=dict)
    owners: dict[tuple[str | None, str], Organisation | None] = field(default_factory=dict)
    """Owner key ``(credit code, name)`` → the organisation found, or None where one will be created."""
    new_batches: list[BatchRow] = field(default_factory=list)
    repeated_batches: list[BatchRow] = field(default_factory=list)


def plan_import(session: Session, data: bytes | str) -> ImportPlan:
    """Read and check the whole file against itself and the registry; raise :class:`CsvRefused` with every
    error, or return what importing it would write."""
    table = read_table(data, known=COLUMNS, optional=OPTIONAL_COLUMNS)
    errors = ErrorList()
    projects: dict[tuple[str, str], ProjectRow] = {}
    batches: dict[tuple[str, str], BatchRow] = {}
    batch_rows: dict[tuple[str, str], int] = {}
    codes: dict[str, ProjectRow] = {}
    for number, raw in table.rows:
        cells = Cells(number, raw, errors)
        project = _parse_project(cells)
        if project is not None:
            first = projects.setdefault(project.key, project)
            if first is not project:
                for column in PROJECT_COLUMNS:
                    if project.cells[column] != first.cells[column]:
                        errors.add(
                            number,
                            column,
                            f"differs from row {first.row} for the same project "
                            f"{project.key[0]} {project.key[1]} ({first.cells[column]!r})",
                        )
            else:
                other = codes.setdefault(project.code, project)
                if other is not project:
                    errors.add(
                        number,
                        "project_code",
                        f"{project.code} is also the code of {other.key[0]} {other.key[1]} "
                        f"in row {other.row}",
                    )
        if not any(raw.get(column, "") for column in BATCH_COLUMNS):
            continue
        # A batch id repeated in the file is reported even when its first row has other errors.
        written_key = (raw.get("external_registry", ""), raw.get("external_batch_id", ""))
        if written_key[1]:
            first_row = batch_rows.setdefault(written_key, number)
            if first_row != number:
                errors.add(
                    number,
                    "external_batch_id",
                    f"batch {written_key[1]} of {written_key[0]} is also in row {first_row}",
                )
                continue
        batch = _parse_batch(cells, projects.get(project.key) if project is not None else None)
        if batch is not None:
            batches[batch.key] = batch

    # The registry checks run on every row that parsed, so that one answer lists as much as it can.
    plan = ImportPlan()
    _check_against_registry(session, plan, projects, errors)
    _check_owners(session, plan, projects, errors)
    _check_batches(session, plan, batches, errors)
    errors.refuse_if_any()
    return plan


def _check_against_registry(
    session: Session, plan: ImportPlan, projects: Mapping[tuple[str, str], ProjectRow], errors: ErrorList
) -> None:
    """A project imported before must match the file; a new one must not take a code already in use."""
    existing: dict[tuple[str, str], Project] = {}
    candidates = select(Project).where(Project.external_id.in_(sorted({key[1] for key in projects})))
    for candidate in session.scalars(candidates):
        if candidate.external_registry is not None and candidate.external_id is not None:
            existing[(candidate.external_registry, candidate.external_id)] = candidate
    codes = sorted(row.code for row in projects.values())
    taken = {p.code: p for p in session.scalars(select(Project).where(Project.code.in_(codes)))}
    for key, row in projects.items():
        stored = existing.get(key)
        if stored is None:
            holder = taken.get(row.code)
            if holder is not None:
                held_by = (
                    f"{holder.external_registry} {holder.external_id}"
                    if holder.external_registry
                    else "a project registered in Tanhui"
                )
                errors.add(row.row, "project_code", f"{row.code} is already the code of {held_by}")
            plan.new_projects.append(row)
            continue
        plan.existing_projects[key] = stored
        for column, value in project_cells(session, stored).items():
            if row.cells[column] != value:
                errors.add(
                    row.row,
                    column,
                    f"{key[0]} {key[1]} was imported before as project {stored.code} with {column} "
                    f"{value!r}; change the registry's record, not the import",
                )


def _check_owners(
    session: Session, plan: ImportPlan, projects: Mapping[tuple[str, str], ProjectRow], errors: ErrorList
) -> None:
    """Owners are found by credit code, else by name among owners without one; the rest will be created."""
    names_by_code: dict[str, ProjectRow] = {}
    for key, row in projects.items():
        if key in plan.existing_projects:
            continue
        owner_key = (row.owner_credit_code, row.owner_name)
        if row.owner_credit_code is not None:
            first = names_by_code.setdefault(row.owner_credit_code, row)
            if first.owner_name != row.owner_name:
                errors.add(
                    row.row,
                    "owner_name",
                    f"credit code {row.owner_credit_code} is {first.owner_name!r} in row {first.row}",
                )
                continue
        if owner_key in plan.owners:
            continue
        if row.owner_credit_code is not None:
            found = session.scalar(
                select(Organisation).where(Organisation.credit_code == row.owner_credit_code)
            )
            if found is not None and found.name != row.owner_name:
                errors.add(
                    row.row,
                    "owner_name",
                    f"credit code {row.owner_credit_code} is registered as {found.name!r}",
                )
        else:
            matches = list(
                session.scalars(
                    select(Organisation).where(
                        Organisation.name == row.owner_name,
                        Organisation.kind == "project_owner",
                        Organisation.credit_code.is_(None),
                    )
                )
            )
            if len(matches) > 1:
                errors.add(
                    row.row,
                    "owner_name",
                    f"{len(matches)} project owners are named {row.owner_name!r}; give the credit code",
                )
            found = matches[0] if matches else None
        if found is not None and found.kind != "project_owner":
            errors.add(row.row, "owner_credit_code", f"{found.name} is registered as a {found.kind}")
        plan.owners[owner_key] = found


def _check_batches(
    session: Session,
    plan: ImportPlan,
    batches: Mapping[tuple[str, str], BatchRow],
    errors: ErrorList,
) -> None:
    """No batch issued twice: not under another project, not with other figures, not for the same period."""
    imported: dict[tuple[str, str], Issuance] = {}
    candidates = select(Issuance).where(Issuance.external_batch_id.in_(sorted({key[1] for key in batches})))
    for issuance in session.scalars(candidates):
        if issuance.external_registry is not None and issuance.external_batch_id is not None:
            imported[(issuance.external_registry, issuance.external_batch_id)] = issuance
    projects_by_id = {
        p.id: p
        for p in session.scalars(
            select(Project).where(Project.id.in_(sorted({i.project_id for i in imported.values()})))
        )
    }
    wanted = [batch.request_id for batch in batches.values()]
    request_ids = set(session.scalars(select(Entry.request_id).where(Entry.request_id.in_(wanted))))
    known_periods: dict[tuple[str, str], list[tuple[date, date, str]]] = {
        key: credited_periods(session, project) for key, project in plan.existing_projects.items()
    }
    for key, batch in sorted(batches.items(), key=lambda item: item[1].row):
        previous = imported.get(key)
        if previous is not None:
            owner = projects_by_id[previous.project_id]
            if (owner.external_registry, owner.external_id) != batch.project_key:
                errors.add(
                    batch.row,
                    "external_batch_id",
                    f"batch {key[1]} of {key[0]} was already imported under project {owner.code} "
                    f"({owner.external_registry} {owner.external_id})",
                )
                continue
            stored = batch_cells(session, previous)
            differing = [column for column in BATCH_COLUMNS if stored[column] != batch.cells[column]]
            for column in differing:
                errors.add(
                    batch.row,
                    column,
                    f"batch {key[1]} was imported before with {column} {stored[column]!r}",
                )
            if not differing:
                plan.repeated_batches.append(batch)
            continue
        if batch.request_id in request_ids:
            errors.add(
                batch.row,
                "external_batch_id",
                f"the ledger already has an entry with request id {batch.request_id}",
            )
            continue
        periods = known_periods.setdefault(batch.project_key, [])
        for start, end, label in periods:
            if start <= batch.monitoring_end and batch.monitoring_start <= end:
                errors.add(
                    batch.row,
                    "monitoring_start",
                    f"the monitoring period {batch.monitoring_start}..{batch.monitoring_end} overlaps "
                    f"{label} ({start}..{end}): the same removals would be credited twice",
                )
                break
        else:
            periods.append(
                (batch.monitoring_start, batch.monitoring_end, f"batch {key[1]} in row {batch.row}")
            )
            plan.new_batches.append(batch)


def imported_periods(session: Session, project: Project) -> list[tuple[date, date, str]]:
    """``(start, end, external batch id)`` of the monitoring periods of the project's imported batches.

    Another registry has already credited these periods: a monitoring report for Tanhui's own issuance
    must not overlap them (see offsets.monitoring).
    """
    periods = []
    for issuance in session.scalars(
        select(Issuance)
        .where(Issuance.project_id == project.id, Issuance.kind == "import")
        .order_by(Issuance.id)
    ):
        cells = batch_cells(session, issuance)
        periods.append(
            (
                date.fromisoformat(cells["monitoring_start"]),
                date.fromisoformat(cells["monitoring_end"]),
                cells["external_batch_id"],
            )
        )
    return periods


def credited_periods(session: Session, project: Project) -> list[tuple[date, date, str]]:
    """Monitoring periods already credited to the project: imported batches and Tanhui's verified reports."""
    periods = [
        (start, end, f"imported batch {batch_id}")
        for start, end, batch_id in imported_periods(session, project)
    ]
    verified_report_ids = select(Verification.report_id).where(Verification.decision == "verified")
    for report in session.scalars(
        select(MonitoringReport).where(
            MonitoringReport.project_id == project.id, MonitoringReport.id.in_(verified_report_ids)
        )
    ):
        periods.append((report.period_start, report.period_end, f"verified monitoring report {report.id}"))
    return periods


# --- writing ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportedBatch:
    external_registry: str
    external_batch_id: str
    project_code: str
    batch_id: str
    ledger_seq: int
    owner_kg: int
    buffer_kg: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "external_registry": self.external_registry,
            "external_batch_id": self.external_batch_id,
            "project_code": self.project_code,
            "batch_id": self.batch_id,
            "ledger_seq": self.ledger_seq,
            "owner_kg": self.owner_kg,
            "buffer_kg": self.buffer_kg,
        }


@dataclass(frozen=True)
class ImportResult:
    projects_created: tuple[str, ...]
    projects_already_imported: tuple[str, ...]
    batches_imported: tuple[ImportedBatch, ...]
    batches_already_imported: tuple[str, ...]
    """``<registry>:<batch id>`` of batches the file repeats; nothing was written for them."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "projects_created": list(self.projects_created),
            "projects_already_imported": list(self.projects_already_imported),
            "batches_imported": [batch.as_dict() for batch in self.batches_imported],
            "batches_already_imported": list(self.batches_already_imported),
            "imported_kg": sum(b.owner_kg + b.buffer_kg for b in self.batches_imported),
        }


def import_csv(session: Session, sequencer: Sequencer, data: bytes | str, actor: Actor) -> ImportResult:
    """Import a file (see the module docstring) in the caller's unit of work, which commits it or not."""
    if actor.role is not Role.REGISTRY_ADMIN:
        raise Forbidden("only the registry imports projects from other registries", field="role")
    # Take the sequencer's lock before reading anything: the checks and the writes then see one state,
    # and two imports of the same file cannot both pass the checks. (On SQLite the unit of work's
    # BEGIN IMMEDIATE already holds the write lock; on PostgreSQL this is the head row the sequencer locks.)
    session.execute(select(Head.id).where(Head.id == 1).with_for_update())
    plan = plan_import(session, data)
    now = datetime.now(UTC)

    owners: dict[tuple[str | None, str], Organisation] = {}
    for key, found in plan.owners.items():
        owners[key] = found or register_organisation(session, key[1], "project_owner", key[0])
    projects: dict[tuple[str, str], Project] = dict(plan.existing_projects)
    for row in plan.new_projects:
        projects[row.key] = _create_project(
            session, row, owners[(row.owner_credit_code, row.owner_name)], actor, now
        )

    issued: list[ImportedBatch] = []
    if plan.new_batches:
        ensure_registry_accounts(session)
        ordered = sorted(
            plan.new_batches,
            key=lambda b: (projects[b.project_key].code, b.vintage, b.monitoring_start, b.key[1]),
        )
        commands = _issue_commands(session, ordered, projects)
        entries = sequencer.append(session, commands)
        for batch, command, entry in zip(ordered, commands, entries, strict=True):
            assert not entry.repeated, f"request id {command.request_id} was checked to be new"
            project = projects[batch.project_key]
            buffer_kg = batch.buffer_kg
            session.add(
                Issuance(
                    project_id=project.id,
                    report_id=None,
                    kind="import",
                    batch_id=command.batch_id,
                    vintage=batch.vintage,
                    owner_kg=batch.quantity_kg - buffer_kg,
                    buffer_kg=buffer_kg,
                    buffer_percent=batch.buffer_percent,
                    ledger_seq=entry.seq,
                    external_registry=batch.key[0],
                    external_batch_id=batch.key[1],
                    at=now,
                )
            )
            issued.append(
                ImportedBatch(
                    batch.key[0],
                    batch.key[1],
                    project.code,
                    command.batch_id,
                    entry.seq,
                    batch.quantity_kg - buffer_kg,
                    buffer_kg,
                )
            )
        session.flush()
    return ImportResult(
        projects_created=tuple(row.code for row in plan.new_projects),
        projects_already_imported=tuple(sorted(p.code for p in plan.existing_projects.values())),
        batches_imported=tuple(issued),
        batches_already_imported=tuple(f"{b.key[0]}:{b.key[1]}" for b in plan.repeated_batches),
    )


def _create_project(
    session: Session, row: ProjectRow, owner: Organisation, actor: Actor, now: datetime
) -> Project:
    project = Project(
        code=row.code,
        name=row.name,
        project_type=row.project_type,
        county_code=row.county_code,
        zone=regions.zone_of(row.county_code).key,
        area_mu=row.area_mu,
        location=row.location,
        owner_id=owner.id,
        methodology=row.methodology,
        standard=row.standard,
        crediting_start=row.crediting_start,
        crediting_end=row.crediting_end,
        expected_annual_removals_kg=row.expected_annual_removals_kg,
        contiguous_carbon_forest_mu=row.contiguous_carbon_forest_mu,
        buffer_percent=row.buffer_percent,
        status=ProjectStatus.REGISTERED.value,
        external_registry=row.key[0],
        external_id=row.key[1],
        created_at=now,
    )
    session.add(project)
    session.flush()
    for beneficiary in row.beneficiaries:
        session.add(
            ProjectBeneficiary(
                project_id=project.id,
                name=beneficiary.name,
                kind=beneficiary.kind,
                share_percent=beneficiary.share_percent,
            )
        )
    session.add(
        ProjectEvent(
            project_id=project.id,
            from_status=None,
            to_status=ProjectStatus.REGISTERED.value,
            actor=actor.name,
            role=actor.role.value,
            reason=f"imported from {row.key[0]}",
            at=now,
        )
    )
    session.flush()
    return project


def _issue_commands(
    session: Session, batches: Sequence[BatchRow], projects: Mapping[tuple[str, str], Project]
) -> list[Issue]:
    numbers: dict[tuple[str, str], int] = {}
    commands = []
    for batch in batches:
        project = projects[batch.project_key]
        owner = session.get(Organisation, project.owner_id)
        assert owner is not None
        assert owner.ledger_account_id is not None
        slot = (project.code, batch.vintage)
        if slot not in numbers:
            highest = session.scalar(
                select(func.max(Batch.number)).where(
                    Batch.project == project.code, Batch.vintage == batch.vintage
                )
            )
            numbers[slot] = highest or 0
        numbers[slot] += 1
        if numbers[slot] > MAX_BATCH_NUMBER:
            raise CsvRefused(
                [
                    RowError(
                        batch.row,
                        "vintage",
                        f"project {project.code} would have more than {MAX_BATCH_NUMBER} batches "
                        f"of {batch.vintage}",
                    )
                ]
            )
        buffer_kg = batch.buffer_kg
        allocations = tuple(
            allocation
            for allocation in (
                Allocation(owner.ledger_account_id, batch.quantity_kg - buffer_kg),
                Allocation(BUFFER, buffer_kg),
            )
            if allocation.quantity_kg > 0
        )
        county = regions.division(project.county_code)
        attributes: dict[str, str | int | bool] = {
            "source": "import",
            "external_registry": batch.key[0],
            "external_project_id": batch.project_key[1],
            "external_batch_id": batch.key[1],
            "project_name": project.name[: limits.MAX_ATTRIBUTE_CHARS],
            "project_type": project.project_type,
            "county_code": county.code,
            "county": county.name,
            "zone": project.zone,
            "methodology": project.methodology,
            "monitoring_period": f"{batch.monitoring_start}/{batch.monitoring_end}",
            "buffer_percent": batch.buffer_percent,
            "poverty_county": regions.poverty_status(county.code) is not None,
        }
        if batch.issued_on is not None:
            attributes["external_issued_on"] = batch.issued_on.isoformat()
        commands.append(
            Issue(
                request_id=batch.request_id,
                project=project.code,
                vintage=batch.vintage,
                number=numbers[slot],
                allocations=allocations,
                attributes=attributes,
            )
        )
    return commands


# --- export -------------------------------------------------------------------------------------------------


def project_cells(session: Session, project: Project) -> dict[str, str]:
    """The project columns of a stored project, in the file's canonical form."""
    owner = session.get(Organisation, project.owner_id)
    assert owner is not None
    assert project.external_registry is not None
    assert project.external_id is not None
    beneficiaries = tuple(
        Beneficiary(b.name, b.kind, Decimal(b.share_percent))
        for b in session.scalars(
            select(ProjectBeneficiary)
            .where(ProjectBeneficiary.project_id == project.id)
            .order_by(ProjectBeneficiary.id)
        )
    )
    row = ProjectRow(
        key=(project.external_registry, project.external_id),
        row=0,
        cells={},
        code=project.code,
        name=project.name,
        project_type=project.project_type,
        county_code=project.county_code,
        area_mu=Decimal(project.area_mu),
        location=project.location,
        owner_name=owner.name,
        owner_credit_code=owner.credit_code,
        methodology=project.methodology,
        standard=project.standard,
        crediting_start=project.crediting_start,
        crediting_end=project.crediting_end,
        expected_annual_removals_kg=project.expected_annual_removals_kg,
        buffer_percent=project.buffer_percent,
        contiguous_carbon_forest_mu=(
            Decimal(project.contiguous_carbon_forest_mu)
            if project.contiguous_carbon_forest_mu is not None
            else None
        ),
        beneficiaries=beneficiaries,
    )
    return _project_cells(row)


def batch_cells(session: Session, issuance: Issuance) -> dict[str, str]:
    """The batch columns of an imported batch, read from its ledger ``issue`` entry (the record of it)."""
    assert issuance.kind == "import"
    assert issuance.batch_id is not None
    body = session.scalar(
        select(Entry.body).join(Batch, Batch.issue_seq == Entry.seq).where(Batch.id == issuance.batch_id)
    )
    assert body is not None, f"batch {issuance.batch_id} has no issue entry"
    attributes = parse_body(body.encode("utf-8")).data["batch"]["attributes"]
    start, end = attributes["monitoring_period"].split("/")
    return {
        "external_batch_id": issuance.external_batch_id or "",
        "vintage": issuance.vintage,
        "monitoring_start": start,
        "monitoring_end": end,
        "issued_on": attributes.get("external_issued_on", ""),
        "quantity_kg": str(issuance.owner_kg + issuance.buffer_kg),
        "batch_buffer_percent": str(issuance.buffer_percent),
    }


def export_rows(session: Session) -> list[list[str]]:
    """Every imported project with its imported batches, in canonical order (see the module docstring)."""
    rows: list[list[str]] = []
    for project in session.scalars(
        select(Project).where(Project.external_registry.is_not(None)).order_by(Project.code)
    ):
        cells = project_cells(session, project)
        batches = [
            batch_cells(session, issuance)
            for issuance in session.scalars(
                select(Issuance).where(Issuance.project_id == project.id, Issuance.kind == "import")
            )
        ]
        batches.sort(key=lambda b: (b["vintage"], b["monitoring_start"], b["external_batch_id"]))
        for batch in batches or [dict.fromkeys(BATCH_COLUMNS, "")]:
            merged = {**cells, **batch}
            rows.append([merged[column] for column in COLUMNS])
    return rows


def export_csv(session: Session) -> bytes:
    """The onboarding file of everything imported so far: importing it elsewhere reproduces it."""
    return write_table(COLUMNS, export_rows(session))
