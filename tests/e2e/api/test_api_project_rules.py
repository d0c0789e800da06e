"""Projects through the API: bad inputs name their field, bad moves are refused, nothing is half-written."""

from __future__ import annotations

import pytest
from api_support import (
    API,
    assert_problem,
    create_project,
    project_body,
    register_project,
    report_body,
    table_counts,
)

OUTSIDE_SICHUAN = {  # a square around Lhasa
    "type": "Polygon",
    "coordinates": [[[102.0, 28.0], [102.1, 28.0], [91.1, 29.6], [102.0, 28.1], [102.0, 28.0]]],
}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"location": OUTSIDE_SICHUAN}, "location.coordinates.0.2"),
        ({"location": {"type": "Point", "coordinates": [116.4, 39.9]}}, "location.coordinates"),
        ({"location": {"type": "LineString", "coordinates": []}}, "location.type"),
        ({"county_code": "519999"}, "county_code"),
        ({"county_code": "513400"}, "county_code"),  # 凉山州 is a prefecture, not a county
        ({"area_mu": "-5"}, "area_mu"),
        ({"area_mu": "0"}, "area_mu"),
        ({"area_mu": 1500.5}, "area_mu"),
        ({"area_mu": "1500.555"}, "area_mu"),
        ({"area_mu": "1e3"}, "area_mu"),
        ({"expected_annual_removals_kg": 1_200_000.0}, "expected_annual_removals_kg"),
        ({"expected_annual_removals_kg": "1200000"}, "expected_annual_removals_kg"),
        ({"expected_annual_removals_kg": -1}, "expected_annual_removals_kg"),
        ({"buffer_percent": 20.0}, "buffer_percent"),
        ({"buffer_percent": 101}, "buffer_percent"),
        ({"project_type": "mangrove"}, "project_type"),
        ({"methodology": "AR-CM-005-V01"}, "methodology"),  # bamboo management, not afforestation
        ({"methodology": "NO-SUCH"}, "methodology"),
        ({"code": "ls-01"}, "code"),
        ({"standard": "ISO"}, "standard"),
        ({"crediting_end": "2019-12-31"}, "crediting_end"),
        ({"crediting_start": "2020-02-30"}, "crediting_start"),
        ({"contiguous_carbon_forest_mu": "2000"}, "contiguous_carbon_forest_mu"),
        ({"beneficiaries": [{"name": "甲", "kind": "household", "share_percent": "101"}]}, None),
        ({"beneficiaries": [{"name": "甲", "kind": "family", "share_percent": "1"}]}, "beneficiaries.0.kind"),
        ({"external_id": "CCER-001"}, "external_id"),
        ({"colour": "green"}, "colour"),
    ],
)
def test_a_bad_project_is_refused_with_400_naming_the_field_and_nothing_is_written(
    app, owner, changes, field
):
    before = table_counts(app)

    response = owner.post("/projects", project_body(**changes))

    problem = assert_problem(response, 400)
    if field is not None:
        assert problem["field"] == field, problem
    else:
        assert problem["field"].startswith("beneficiaries"), problem
    assert table_counts(app) == before


def test_a_missing_field_is_named(owner):
    body = project_body()
    del body["county_code"]

    assert_problem(owner.post("/projects", body), 400, "county_code")


def test_a_body_that_is_not_a_json_object_is_refused(owner):
    assert_problem(owner.post("/projects", ["not", "an", "object"]), 400, "body")
    text = owner.client.post(f"{API}/projects", data="code=LS01", headers=owner.headers)
    assert_problem(text, 400, "body")
    broken = owner.client.post(
        f"{API}/projects", data="{", headers=owner.headers | {"Content-Type": "application/json"}
    )
    assert_problem(broken, 400, "body")


def test_a_project_code_is_unique(app, owner):
    create_project(owner)
    before = table_counts(app)

    assert_problem(owner.post("/projects", project_body()), 409, "code")
    assert table_counts(app) == before


def test_a_body_over_the_limit_is_413(app, owner):
    body = project_body(name="林" * 10, location={"type": "Point", "coordinates": [102.5, 28.64]})
    body["padding"] = "x" * (1024 * 1024)
    before = table_counts(app)

    response = owner.post("/projects", body)

    assert_problem(response, 413)
    assert table_counts(app) == before


def test_an_out_of_range_id_is_404_not_a_database_error(client):
    assert client.get(f"{API}/projects/99999999999999999999").status_code == 404
    assert client.get(f"{API}/projects/0").status_code == 404


# --- lifecycle ------------------------------------------------------------------------------------------


def test_a_transition_the_lifecycle_lacks_is_409_naming_the_status(app, owner, admin):
    project = create_project(owner)
    before = table_counts(app)

    response = admin.post(
        f"/projects/{project['id']}/transitions", {"to": "registered", "reason": "快速通道"}
    )

    problem = assert_problem(response, 409, "status")
    assert "draft" in problem["detail"]
    assert "submitted" in problem["detail"], "the refusal says what the project can become"
    assert table_counts(app) == before


def test_a_role_the_transition_does_not_allow_is_403(owner, reviewer):
    project = create_project(owner)

    assert_problem(reviewer.post(f"/projects/{project['id']}/transitions", {"to": "submitted"}), 403, "role")


def test_a_transition_that_needs_a_reason_is_400_without_one(owner, reviewer):
    project = create_project(owner)
    path = f"/projects/{project['id']}/transitions"
    owner.post(path, {"to": "submitted"})
    reviewer.post(path, {"to": "under_review"})

    assert_problem(reviewer.post(path, {"to": "rejected", "reason": "  "}), 400, "reason")


def test_a_rejected_project_can_be_revised_and_submitted_again(owner, reviewer):
    project = create_project(owner)
    path = f"/projects/{project['id']}"
    owner.post(f"{path}/transitions", {"to": "submitted"})
    reviewer.post(f"{path}/transitions", {"to": "under_review"})
    rejected = reviewer.post(
        f"{path}/qualification-review", {"approved": False, "reasons": "林权证过期", "documents": []}
    )
    assert rejected.get_json()["project_status"] == "rejected"

    again = owner.post(f"{path}/transitions", {"to": "submitted", "reason": "已换发林权证"})

    assert again.status_code == 201
    assert [e["to_status"] for e in owner.get(f"{path}/events").get_json()["events"]] == [
        "draft",
        "submitted",
        "under_review",
        "rejected",
        "submitted",
    ]


def test_a_closed_project_is_final(owner, reviewer, admin):
    project = register_project(owner, reviewer)
    path = f"/projects/{project['id']}/transitions"
    assert owner.post(path, {"to": "closed", "reason": "业主申请注销"}).status_code == 201

    problem = assert_problem(admin.post(path, {"to": "registered", "reason": "恢复"}), 409, "status")
    assert "final" in problem["detail"]


def test_the_registry_suspends_and_reinstates_a_project_with_reasons(owner, reviewer, admin):
    project = register_project(owner, reviewer)
    path = f"/projects/{project['id']}/transitions"

    assert admin.post(path, {"to": "suspended", "reason": "核查发现越界"}).status_code == 201
    assert_problem(owner.post(path, {"to": "registered", "reason": "已整改"}), 403, "role")
    assert admin.post(path, {"to": "registered", "reason": "已整改"}).status_code == 201


def test_a_qualification_review_needs_a_project_under_review_and_reasons(app, owner, reviewer):
    project = create_project(owner)
    path = f"/projects/{project['id']}/qualification-review"
    decision = {"approved": True, "reasons": "齐全", "documents": [{"title": "林权证"}]}

    assert_problem(reviewer.post(path, decision), 409, "status")
    owner.post(f"/projects/{project['id']}/transitions", {"to": "submitted"})
    reviewer.post(f"/projects/{project['id']}/transitions", {"to": "under_review"})
    before = table_counts(app)
    assert_problem(reviewer.post(path, decision | {"reasons": " "}), 400, "reasons")
    assert_problem(reviewer.post(path, decision | {"approved": 1}), 400, "approved")
    assert_problem(
        reviewer.post(path, decision | {"documents": [{"reference": "x"}]}), 400, "documents.0.title"
    )
    assert table_counts(app) == before


# --- the public list ------------------------------------------------------------------------------------


def test_the_public_list_filters_by_zone_county_type_and_status_a_page_at_a_time(client, owner, reviewer):
    register_project(owner, reviewer)
    register_project(
        owner,
        reviewer,
        code="YB01",
        project_type="bamboo_afforestation",
        methodology="AR-CM-002-V01",
        county_code="511524",  # 长宁县, 宜宾市, 川南
        location={"type": "Point", "coordinates": [104.9, 28.6]},
        contiguous_carbon_forest_mu=None,
    )
    create_project(owner, code="LS09")  # a draft: not public

    def codes(query: str) -> list[str]:
        return [p["code"] for p in client.get(f"{API}/projects?{query}").get_json()["items"]]

    assert codes("") == ["LS01", "YB01"]
    assert codes("zone=川南") == ["YB01"]
    assert codes("county_code=513434") == ["LS01"]
    assert codes("project_type=bamboo_afforestation") == ["YB01"]
    assert codes("status=draft") == []
    assert codes("per_page=1&page=2") == ["YB01"]
    page = client.get(f"{API}/projects?per_page=1").get_json()
    assert (page["total"], page["page"], page["per_page"]) == (2, 1, 1)
    bamboo = client.get(f"{API}/projects?zone=川南").get_json()["items"][0]
    assert (bamboo["county"], bamboo["prefecture"], bamboo["area_mu"]) == ("长宁县", "宜宾市", "1500.00")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("zone=川北", "zone"),
        ("status=active", "status"),
        ("per_page=1000", "per_page"),
        ("page=0", "page"),
        ("colour=green", "colour"),
        ("zone=川南&zone=川中", "zone"),
        ("county_code=1", "county_code"),
    ],
)
def test_a_bad_list_query_is_400_naming_the_parameter(client, query, field):
    assert_problem(client.get(f"{API}/projects?{query}"), 400, field)


def test_a_project_outside_its_zones_focus_is_allowed_but_flagged(client, owner, reviewer):
    project = register_project(
        owner,
        reviewer,
        code="CD01",
        project_type="wetland",
        methodology="TANHUI-WETLAND-STOCK-V01",
        county_code="510116",  # 双流区, 成都市, 川中: the plan names no wetland focus there
        location={"type": "Point", "coordinates": [103.9, 30.5]},
        contiguous_carbon_forest_mu=None,
        standard="provincial",
    )

    flags = client.get(f"{API}/projects/{project['id']}").get_json()["flags"]

    assert flags == {
        "zone_focus": None,
        "outside_zone_focus": True,
        "standard_award_eligible": False,
        "eco_industry_allowance_mu": None,
    }


# --- monitoring reports ---------------------------------------------------------------------------------


def test_a_draft_project_takes_no_monitoring_report(app, owner):
    project = create_project(owner)
    before = table_counts(app)

    response = owner.post(f"/projects/{project['id']}/monitoring-reports", report_body())

    assert_problem(response, 409, "status")
    assert table_counts(app) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["inputs"]["strata"][0].update(area_mu=1500.0), "inputs.strata.0.area_mu"),
        (lambda b: b["inputs"].pop("baseline"), "inputs.baseline"),
        (
            lambda b: b["inputs"]["strata"][0].update(volume_end_m3_per_ha="-1"),
            "inputs.strata.0.volume_end_m3_per_ha",
        ),
        (lambda b: b.update(period_start="2019-01-01"), "period_start"),
        (lambda b: b.update(period_end="2019-12-31"), "period_end"),
        (lambda b: b.update(inputs=[]), "inputs"),
    ],
)
def test_a_bad_monitoring_report_is_400_naming_the_input(app, owner, reviewer, change, field):
    project = register_project(owner, reviewer)
    body = report_body()
    change(body)
    before = table_counts(app)

    response = owner.post(f"/projects/{project['id']}/monitoring-reports", body)

    assert_problem(response, 400, field)
    assert table_counts(app) == before


def test_an_overlapping_period_is_409(owner, reviewer):
    project = register_project(owner, reviewer)
    path = f"/projects/{project['id']}/monitoring-reports"
    assert owner.post(path, report_body()).status_code == 201

    assert_problem(owner.post(path, report_body(start="2024-06-30", end="2025-06-30")), 409, "period_start")
