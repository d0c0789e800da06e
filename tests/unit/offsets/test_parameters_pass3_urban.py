"""Urban-greening texts in methodology_rules.toml: they load, are cited, and give the calculators nothing.

DB33/T 2416—2021 (Zhejiang) and T/CSF 0089-2024 (Chinese Society of Forestry) are recorded for project
type ``urban_forest`` with their identity and the few clauses that could be read. Their uncertainty,
buffer and leakage rules were not read, so the loader reports them as not found and the accounting
helpers fix neither leakage nor an uncertainty rule.
"""

from __future__ import annotations

import pytest

from offsets.methodologies.accounting import fixed_leakage, uncertainty_rule
from offsets.methodologies.parameters import packaged
from offsets.regions import PROJECT_TYPES

URBAN = {
    "DB33/T-2416-2021": (
        "城市绿化碳汇计量与监测技术规程",
        2021,
        {"scope", "baseline_scenario", "additionality_method"},
    ),
    "T/CSF-0089-2024": ("城市绿地种植和管养活动碳计量指南", 2024, {"scope"}),
}


@pytest.mark.parametrize("methodology_id", sorted(URBAN))
def test_an_urban_greening_text_loads_with_its_identity_and_project_type(methodology_id):
    name_zh, year, rule_ids = URBAN[methodology_id]
    rules = packaged().rules_for(methodology_id)
    assert rules.name == name_zh
    assert rules.year == year
    assert rules.project_type == "urban_forest"
    assert "urban_forest" in PROJECT_TYPES
    assert {rule["id"] for rule in rules.rules} == rule_ids


@pytest.mark.parametrize("methodology_id", sorted(URBAN))
def test_every_clause_read_names_its_source_section_and_address(methodology_id):
    for rule in packaged().rules_for(methodology_id).rules:
        assert rule["source"].strip()
        assert rule["section"].strip()
        assert rule["source_url"].startswith(("https://", "http://"))
        assert rule["source_kind"] in {"primary", "secondary"}
        assert rule["quote_zh"].strip()


@pytest.mark.parametrize("methodology_id", sorted(URBAN))
def test_rules_not_read_stay_not_found_and_fix_nothing(methodology_id):
    rules = packaged().rules_for(methodology_id)
    assert not rules.uncertainty.found
    assert not rules.buffer.found
    assert not rules.leakage.found
    assert rules.uncertainty.uncertainty_rule is None
    assert fixed_leakage(rules) is None
    assert uncertainty_rule((rules,)) is None


def test_the_ccer_uncertainty_rules_are_still_recorded_as_not_found():
    data = packaged()
    ccer = ("AR-CM-001-V01", "AR-CM-002-V01", "AR-CM-003-V01", "AR-CM-005-V01", "CCER-14-001-V01")
    for methodology_id in ccer:
        assert not data.rules_for(methodology_id).uncertainty.found
