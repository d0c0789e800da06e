"""The registry of methodologies: look-ups, project types, cited sources, input descriptions, data rules."""

from __future__ import annotations

import json

import pytest

from offsets.methodologies import METHODOLOGIES, UnknownMethodology, for_project_type, get
from offsets.methodologies.stock_change import StockChangeMethodology
from offsets.regions import PROJECT_TYPES, UnknownRegion


def test_the_methodologies_the_issue_asks_for_are_registered():
    assert set(METHODOLOGIES) == {
        "AR-CM-001-V01",
        "CCER-14-001-V01",
        "AR-CM-002-V01",
        "AR-CM-003-V01",
        "AR-CM-005-V01",
        "TANHUI-GRASSLAND-SOC-V01",
        "TANHUI-WETLAND-STOCK-V01",
    }
    assert get("AR-CM-003-V01").title_zh == "森林经营碳汇项目方法学"


def test_an_unknown_methodology_is_refused():
    with pytest.raises(UnknownMethodology) as error:
        get("AR-CM-004-V01")
    assert isinstance(error.value, KeyError)
    assert "AR-CM-001-V01" in str(error.value)


@pytest.mark.parametrize(
    ("project_type", "ids"),
    [
        ("afforestation", ["AR-CM-001-V01", "CCER-14-001-V01"]),
        ("bamboo_afforestation", ["AR-CM-002-V01"]),
        ("forest_management", ["AR-CM-003-V01"]),
        ("bamboo_management", ["AR-CM-005-V01"]),
        ("grassland", ["TANHUI-GRASSLAND-SOC-V01"]),
        ("wetland", ["TANHUI-WETLAND-STOCK-V01"]),
        ("urban_forest", []),
    ],
)
def test_methodologies_by_project_type(project_type, ids):
    assert [m.id for m in for_project_type(project_type)] == ids


def test_an_unknown_project_type_is_refused():
    with pytest.raises(UnknownRegion):
        for_project_type("orchard")


@pytest.mark.parametrize("methodology", METHODOLOGIES.values(), ids=list(METHODOLOGIES))
def test_each_methodology_is_cited_typed_and_described(methodology):
    assert methodology.source
    assert methodology.title_zh
    assert methodology.title_en
    assert set(methodology.project_types) <= set(PROJECT_TYPES)
    description = methodology.input_description()
    assert json.loads(json.dumps(description)) == description
    assert {"period_years", "strata", "baseline", "uncertainty"} <= set(description["required"])
    stratum = description["properties"]["strata"]["items"]
    assert "source" in stratum["required"]
    assert set(description["required"]) <= set(description["properties"])


@pytest.mark.parametrize("methodology", METHODOLOGIES.values(), ids=list(METHODOLOGIES))
def test_the_rules_the_data_holds_for_each_methodology_can_be_applied(methodology):
    assert isinstance(methodology, StockChangeMethodology)
    methodology.check_rules()  # raises ParameterDataError for a rule of a form the code does not know


def test_leakage_is_an_input_only_where_no_rule_fixes_it():
    assert "leakage" not in get("AR-CM-001-V01").input_description()["properties"]
    for methodology_id in ("CCER-14-001-V01", "AR-CM-002-V01", "AR-CM-003-V01", "AR-CM-005-V01"):
        assert "leakage" in get(methodology_id).input_description()["required"]
