"""The emission factors the footprint calculators use: versioned, cited data files, loaded and validated.

``offsets/data/emission_factors/factors_v<N>.toml`` each hold one immutable factor set: a
``version``, a ``published`` date and ``[[factor]]`` rows with the value exactly as printed, its
unit, the data year, the region, the document that publishes it and the copy it was read in. Rows
are emission factors (grid electricity, passenger transport, purchased heat) or fuel parameters (net
calorific value, carbon content per unit heat, oxidation rate) that the fuel-combustion formula
multiplies. :func:`packaged` without a version gives the latest set; an old result is re-explained
with ``packaged(its_version)``. A correction is a new file with a higher version; every calculation
records the version it used, so that a certificate issued today can be explained with the same
numbers in ten years. Anything malformed raises :class:`FactorDataError` naming the file and row, so
a bad edit fails when the data is loaded. A factor that is not in the set is refused with
:class:`FactorNotAvailable` naming the input field: the calculators never fall back on a guess.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeAlias

from offsets.errors import OffsetsError

DataPath: TypeAlias = Path | Traversable

KINDS = (
    "grid_electricity",
    "passenger_transport",
    "purchased_heat",
    "fuel_net_calorific_value",
    "fuel_carbon_content",
    "fuel_oxidation_rate",
)
EMISSION_KINDS = ("grid_electricity", "passenger_transport", "purchased_heat")


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """What a unit may measure, a plausibility ceiling, and for emission factors the exact scale to kg CO2.

    The ceilings guard against typing errors, not the science: no Chinese grid factor reaches 1 kgCO2/kWh, no
    passenger mode emits a kilogram per passenger-km, no fossil fuel holds 0.1 tC per GJ or yields 100 GJ per
    tonne, and an oxidation rate is a fraction.
    """

    kind: str
    ceiling: Decimal
    kg_co2_scale: Decimal | None = None
    activity_unit: str | None = None


UNITS: Mapping[str, UnitSpec] = MappingProxyType(
    {
        "kgCO2/kWh": UnitSpec("grid_electricity", Decimal(2), Decimal(1), "kWh"),
        "gCO2/passenger-km": UnitSpec("passenger_transport", Decimal(1000), Decimal("0.001"), "passenger-km"),
        "tCO2/GJ": UnitSpec("purchased_heat", Decimal(1), Decimal(1000), "GJ"),
        "GJ/t": UnitSpec("fuel_net_calorific_value", Decimal(100)),
        "GJ/10^4Nm3": UnitSpec("fuel_net_calorific_value", Decimal(1000)),
        "tC/GJ": UnitSpec("fuel_carbon_content", Decimal("0.1")),
        "ratio": UnitSpec("fuel_oxidation_rate", Decimal(1)),
    }
)
# The unit of fuel consumption that a net calorific value applies to (the API's ``quantity_unit``).
QUANTITY_UNIT_OF_NCV: Mapping[str, str] = MappingProxyType({"GJ/t": "t", "GJ/10^4Nm3": "10^4 Nm3"})
_VALUE = re.compile(r"(0|[1-9]\d{0,5})\.\d{1,8}|[1-9]\d{0,5}")
_ID = re.compile(r"[a-z_]+(\.[a-z_]+)+\.(19|20)\d\d")
_REGION = re.compile(r"[a-z_]{2,32}")
_FILE = re.compile(r"factors_v([1-9]\d{0,3})\.toml")
_FIELDS = ("id", "kind", "region", "year", "value", "unit", "source", "read_in")
MAX_FACTORS = 10_000
MAX_TEXT_CHARS = 2_000


class FactorDataError(ValueError):
    """A factor file is malformed; the message names the file and the row."""


class FactorNotAvailable(OffsetsError):
    """No cited factor exists for this input; the calculator refuses it rather than guess."""

    code = "factor-not-available"
    status = 422


@dataclass(frozen=True, slots=True)
class EmissionFactor:
    """One published factor, as read: ``value`` in ``unit``, for ``region`` and data ``year``."""

    id: str
    kind: str
    region: str
    year: int
    value: Decimal
    unit: str
    source: str
    read_in: str

    @property
    def kg_per_activity_unit(self) -> Fraction:
        """An emission factor in kilograms of CO2 per unit of activity (kWh, passenger-km, GJ), exactly."""
        scale = UNITS[self.unit].kg_co2_scale
        assert scale is not None, f"{self.id} is a fuel parameter, not an emission factor"
        return Fraction(self.value) * Fraction(scale)

    @property
    def activity_unit(self) -> str:
        unit = UNITS[self.unit].activity_unit
        assert unit is not None, f"{self.id} is a fuel parameter, not an emission factor"
        return unit

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "value": str(self.value),
            "unit": self.unit,
            "region": self.region,
            "year": self.year,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class FuelDefaults:
    """A fuel's default parameters from one table: net calorific value, carbon per GJ, oxidation rate."""

    fuel_type: str
    net_calorific_value: EmissionFactor
    carbon_content: EmissionFactor
    oxidation_rate: EmissionFactor

    @property
    def quantity_unit(self) -> str:
        """The unit of consumption the net calorific value is given per (``t`` or ``10^4 Nm3``)."""
        return QUANTITY_UNIT_OF_NCV[self.net_calorific_value.unit]


_FUEL_PARAMETER_KINDS = {
    "fuel_net_calorific_value": "net_calorific_value",
    "fuel_carbon_content": "carbon_content",
    "fuel_oxidation_rate": "oxidation_rate",
}


@dataclass(frozen=True, slots=True)
class FactorSet:
    """One version of the factor data: immutable, looked up by id."""

    version: int
    published: date
    factors: Mapping[str, EmissionFactor]

    def grid(self, region: str, year: int | None, *, field: str) -> EmissionFactor:
        """The average grid factor of ``region`` for ``year`` (the latest year held if ``None``)."""
        held = sorted(
            (f for f in self.factors.values() if f.kind == "grid_electricity" and f.region == region),
            key=lambda f: f.year,
        )
        if not held:
            regions = ", ".join(self.grid_regions())
            raise FactorNotAvailable(
                f"no cited grid factor for region {region!r} in factor set v{self.version}; "
                f"cited regions: {regions}",
                field=field,
            )
        if year is None:
            return held[-1]
        for factor in held:
            if factor.year == year:
                return factor
        years = ", ".join(str(f.year) for f in held)
        raise FactorNotAvailable(
            f"no cited grid factor for {region!r} in {year} (factor set v{self.version} holds {years})",
            field=field,
        )

    def transport(self, mode: str, *, field: str) -> EmissionFactor:
        """The latest passenger-transport factor of ``mode`` (``high_speed_rail``, ``civil_aviation``)."""
        held = sorted(
            (
                f
                for f in self.factors.values()
                if f.kind == "passenger_transport" and f.id.split(".")[1] == mode
            ),
            key=lambda f: f.year,
        )
        if not held:
            raise FactorNotAvailable(
                f"no cited passenger-transport factor for {mode!r} in factor set v{self.version}", field=field
            )
        return held[-1]

    def heat(self, *, field: str) -> EmissionFactor:
        """The latest default factor of purchased heat (steam and hot water), in tCO2/GJ."""
        held = sorted((f for f in self.factors.values() if f.kind == "purchased_heat"), key=lambda f: f.year)
        if not held:
            raise FactorNotAvailable(
                f"no cited factor for purchased heat in factor set v{self.version}", field=field
            )
        return held[-1]

    def fuel_defaults(self, fuel_type: str, *, field: str) -> FuelDefaults:
        """The default parameters of ``fuel_type`` (latest year held), all three from the same year."""
        by_year: dict[int, dict[str, EmissionFactor]] = {}
        for factor in self.factors.values():
            parameter = _FUEL_PARAMETER_KINDS.get(factor.kind)
            if parameter is not None and factor.id.split(".")[1] == fuel_type:
                by_year.setdefault(factor.year, {})[parameter] = factor
        complete = [year for year, held in by_year.items() if len(held) == len(_FUEL_PARAMETER_KINDS)]
        if not complete:
            known = ", ".join(self.fuel_types())
            raise FactorNotAvailable(
                f"no cited default parameters for fuel {fuel_type!r} in factor set v{self.version}; "
                f"fuels with defaults: {known}",
                field=field,
            )
        return FuelDefaults(fuel_type=fuel_type, **by_year[max(complete)])

    def fuel_types(self) -> tuple[str, ...]:
        """The fuels for which the set holds all three default parameters."""
        found: dict[str, set[str]] = {}
        for factor in self.factors.values():
            if factor.kind in _FUEL_PARAMETER_KINDS:
                found.setdefault(factor.id.split(".")[1], set()).add(factor.kind)
        complete = (fuel for fuel, kinds in found.items() if len(kinds) == len(_FUEL_PARAMETER_KINDS))
        return tuple(sorted(complete))

    def grid_regions(self) -> tuple[str, ...]:
        return tuple(sorted({f.region for f in self.factors.values() if f.kind == "grid_electricity"}))


def _text(row: Mapping[str, Any], key: str, where: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT_CHARS:
        raise FactorDataError(f"{where}: {key!r} must be a non-empty text of at most {MAX_TEXT_CHARS} chars")
    return value


def _factor(row: Any, where: str) -> EmissionFactor:
    if not isinstance(row, dict):
        raise FactorDataError(f"{where}: a factor must be a table")
    missing = [key for key in _FIELDS if key not in row]
    unknown = sorted(set(row) - set(_FIELDS) - {"note"})
    if missing or unknown:
        raise FactorDataError(f"{where}: missing {missing}, unknown {unknown}")
    factor_id = _text(row, "id", where)
    kind = _text(row, "kind", where)
    region = _text(row, "region", where)
    unit = _text(row, "unit", where)
    raw_value = _text(row, "value", where)
    year = row["year"]
    if not _ID.fullmatch(factor_id):
        raise FactorDataError(f"{where}: id {factor_id!r} must look like 'grid.sichuan.2022'")
    if kind not in KINDS:
        raise FactorDataError(f"{where}: kind {kind!r} is not one of {KINDS}")
    if not _REGION.fullmatch(region):
        raise FactorDataError(f"{where}: region {region!r} must be a lower-case code")
    if unit not in UNITS:
        raise FactorDataError(f"{where}: unit {unit!r} is not one of {sorted(UNITS)}")
    if UNITS[unit].kind != kind:
        raise FactorDataError(f"{where}: unit {unit!r} does not measure a {kind}")
    if not isinstance(year, int) or isinstance(year, bool) or not 1990 <= year <= 2100:
        raise FactorDataError(f"{where}: year must be an integer between 1990 and 2100")
    if not factor_id.endswith(f".{year}"):
        raise FactorDataError(f"{where}: id {factor_id!r} must end with its year {year}")
    if not _VALUE.fullmatch(raw_value):
        raise FactorDataError(f"{where}: value {raw_value!r} must be a positive decimal string as printed")
    value = Decimal(raw_value)
    if not Decimal(0) < value <= UNITS[unit].ceiling:
        raise FactorDataError(f"{where}: value {value} {unit} is outside (0, {UNITS[unit].ceiling}]")
    return EmissionFactor(
        id=factor_id,
        kind=kind,
        region=region,
        year=year,
        value=value,
        unit=unit,
        source=_text(row, "source", where),
        read_in=_text(row, "read_in", where),
    )


def load(path: DataPath) -> FactorSet:
    """Load and validate one factor file; its name must be ``factors_v<version>.toml``."""
    match = _FILE.fullmatch(path.name)
    if match is None:
        raise FactorDataError(f"{path.name}: a factor file is named factors_v<N>.toml")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise FactorDataError(f"{path.name}: {exc}") from exc
    version = data.get("version")
    if version != int(match.group(1)):
        raise FactorDataError(f"{path.name}: version {version!r} does not match the file name")
    published = data.get("published")
    try:
        published_on = date.fromisoformat(published) if isinstance(published, str) else None
    except ValueError:
        published_on = None
    if published_on is None:
        raise FactorDataError(f"{path.name}: 'published' must be an ISO date string")
    rows = data.get("factor")
    if not isinstance(rows, list) or not 0 < len(rows) <= MAX_FACTORS:
        raise FactorDataError(f"{path.name}: expected between 1 and {MAX_FACTORS} [[factor]] tables")
    factors: dict[str, EmissionFactor] = {}
    for index, row in enumerate(rows):
        factor = _factor(row, f"{path.name} factor #{index + 1}")
        if factor.id in factors:
            raise FactorDataError(f"{path.name} factor #{index + 1}: duplicate id {factor.id!r}")
        factors[factor.id] = factor
    return FactorSet(version=version, published=published_on, factors=MappingProxyType(factors))


def _packaged_files() -> dict[int, Traversable]:
    folder = files("offsets.data.emission_factors")
    found: dict[int, Traversable] = {}
    for entry in folder.iterdir():
        match = _FILE.fullmatch(entry.name)
        if match is not None:
            found[int(match.group(1))] = entry
    assert found, "no packaged factor file"
    return found


def packaged_versions() -> tuple[int, ...]:
    """The versions of the packaged factor sets, oldest first."""
    return tuple(sorted(_packaged_files()))


def packaged(version: int | None = None) -> FactorSet:
    """A packaged factor set: the given version (to re-explain an old result) or, by default, the latest."""
    available = _packaged_files()
    chosen = max(available) if version is None else version
    if chosen not in available:
        raise FactorNotAvailable(
            f"factor set v{chosen} does not exist (held: {sorted(available)})", field="factor_set_version"
        )
    return _load_packaged(chosen)


@cache
def _load_packaged(version: int) -> FactorSet:
    return load(_packaged_files()[version])
