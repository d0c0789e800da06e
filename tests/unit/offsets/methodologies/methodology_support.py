"""Inputs and reference arithmetic shared by the methodology tests.

Every number here is a test fixture, not a cited parameter: sources say so. Expected results are worked out
with plain Decimal arithmetic from the formulas, never by calling the code under test.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from decimal import Context, Decimal
from pathlib import Path
from typing import Any

from offsets.methodologies.parameters import CSV_COLUMNS, ParameterData, load
from offsets.methodologies.stock_change import StockChangeMethodology

MEASURED = "项目实测样地 2023 (test fixture)"
FIXTURE = "test fixture value, not a cited parameter"
# Wide enough that the products below are exact; the one division (by 12) is done as integer division.
WIDE = Context(prec=200)


def d(text: str) -> Decimal:
    return Decimal(text)


def product(*factors: Decimal) -> Decimal:
    result = Decimal(1)
    for factor in factors:
        result = WIDE.multiply(result, factor)
    return result


def truncate_twelfths(times_12: Decimal, places: int) -> Decimal:
    """``times_12 / 12`` truncated towards zero to ``places`` decimals, by exact integer division."""
    whole = WIDE.divide_int(WIDE.scaleb(times_12, places), Decimal(12))
    return WIDE.scaleb(whole, -places)


def kg_from_twelfths(times_12: Decimal) -> int:
    """Whole kilograms of ``times_12 / 12`` tonnes, towards zero."""
    return int(WIDE.divide_int(WIDE.multiply(times_12, Decimal(1000)), Decimal(12)))


def tree_parameters(svd: str = "0.3", bef: str = "1.5", r: str = "0.25", cf: str = "0.5") -> dict[str, Any]:
    return {
        "basic_wood_density": {"value": svd, "unit": "t/m3", "source": FIXTURE},
        "bef": {"value": bef, "unit": "dimensionless", "source": FIXTURE},
        "root_shoot_ratio": {"value": r, "unit": "dimensionless", "source": FIXTURE},
        "carbon_fraction": {"value": cf, "unit": "t C/t d.m.", "source": FIXTURE},
    }


def tree_stratum(**overrides: Any) -> dict[str, Any]:
    stratum: dict[str, Any] = {
        "id": "S1",
        "species": "杉木",
        "area_ha": "100",
        "volume_start_m3_per_ha": "0",
        "volume_end_m3_per_ha": "50",
        "source": MEASURED,
        "parameters": tree_parameters(),
    }
    stratum.update(overrides)
    return {k: v for k, v in stratum.items() if v is not None}


def bamboo_stratum(**overrides: Any) -> dict[str, Any]:
    stratum: dict[str, Any] = {
        "id": "B1",
        "species": "慈竹",
        "area_mu": "300",
        "biomass_start_t_dm_per_ha": "5",
        "biomass_end_t_dm_per_ha": "25",
        "source": MEASURED,
        "parameters": {
            "root_shoot_ratio": {"value": "0.3", "unit": "dimensionless", "source": FIXTURE},
            "carbon_fraction": {"value": "50", "unit": "%", "source": FIXTURE},
        },
    }
    stratum.update(overrides)
    return {k: v for k, v in stratum.items() if v is not None}


def accounting(**overrides: Any) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        "period_years": "5",
        "baseline": {"removals_t_co2e": "0", "source": "PDD §B.6 基线碳汇量 (test fixture)"},
        "uncertainty": {"relative_percent": "8", "confidence_level_percent": "90", "source": MEASURED},
    }
    inputs.update(overrides)
    return {k: v for k, v in inputs.items() if v is not None}


def tree_inputs(*strata: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return accounting(strata=list(strata) or [tree_stratum()], **overrides)


def leakage(value: str = "0", source: str = "PDD §B.6.3 泄漏 (test fixture)") -> dict[str, str]:
    return {"emissions_t_co2e": value, "source": source}


def write_species_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    out = io.StringIO()
    out.write("# test fixture: not cited values\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        full = {
            "species_zh": "",
            "species_en": "",
            "latin": "",
            "table": "test table",
            "source_year": "2024",
            "note": "",
            **row,
        }
        writer.writerow([full[c] for c in CSV_COLUMNS])
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def fixture_species_rows() -> list[dict[str, str]]:
    common = {"species_code": "test_fir", "species_zh": "测试杉", "methodology_or_source": FIXTURE}
    return [
        {**common, "parameter": "basic_wood_density", "value": "0.4", "unit": "t d.m./m3"},
        {**common, "parameter": "bef", "value": "1.3", "unit": "dimensionless"},
        {
            **common,
            "parameter": "root_shoot_ratio",
            "value": "0.2",
            "unit": "t d.m. below-ground / t d.m. above-ground",
        },
        {**common, "parameter": "carbon_fraction", "value": "0.5", "unit": "t C/t d.m."},
        {
            "species_code": "test_density_only",
            "species_zh": "只有密度",
            "parameter": "basic_wood_density",
            "value": "0.45",
            "unit": "t/m3",
            "methodology_or_source": FIXTURE,
        },
    ]


def fixture_data(tmp_path: Path, rows: list[dict[str, str]] | None = None) -> ParameterData:
    """The packaged rules and examples, with a tree-species file of test fixtures."""
    csv_path = write_species_csv(
        tmp_path / "tree_species.csv", rows if rows is not None else fixture_species_rows()
    )
    return load(tree_species=csv_path)


def with_data(methodology: StockChangeMethodology, data: ParameterData) -> StockChangeMethodology:
    return dataclasses.replace(methodology, parameter_data=lambda: data)
