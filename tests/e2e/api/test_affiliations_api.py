"""Affiliations through the API: who records, ends and reads them, what is refused, and what they bar."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import (
    API,
    Party,
    add_key,
    assert_problem,
    register_project,
    submit_report,
    table_counts,
    verify,
)

SINCE = "2021-03-01T00:00:00+08:00"
SOURCE = "国家企业信用信息公示系统：股东信息，2024-03-01 查询"


def affiliate(admin: Party, organisation_id: int, **body: Any) -> Any:
    return admin.post(f"/organisations/{organisation_id}/affiliations", body, headers=body.pop("headers", {}))


def body_for(other: Party, kind: str = "common_control", **changes: Any) -> dict[str, Any]:
    return {
        "other_organisation_id": other.organisation_id,
        "kind": kind,
        "valid_from": SINCE,
        "source": SOURCE,
    } | changes


def record(
    admin: Party, party: Party, other: Party, kind: str = "common_control", **changes: Any
) -> dict[str, Any]:
    response = admin.post(
        f"/organisations/{party.organisation_id}/affiliations", body_for(other, kind, **changes)
    )
    assert response.status_code == 201, response.get_json()
    affiliation: dict[str, Any] = response.get_json()
    return affiliation


# --- recording and reading ----------------------------------------------------------------------------------


def test_the_registry_records_an_affiliation_with_the_pair_in_canonical_order(admin, verifier, owner):
    first, second = sorted((verifier, owner), key=lambda party: party.organisation_id)

    response = admin.post(
        f"/organisations/{second.organisation_id}/affiliations",
        body_for(first, "parent_subsidiary", parent_organisation_id=second.organisation_id),
    )

    assert response.status_code == 201, response.get_json()
    affiliation = response.get_json()
    assert [item["id"] for item in affiliation["organisations"]] == [
        first.organisation_id,
        second.organisation_id,
    ]
    assert affiliation["kind"] == "parent_subsidiary"
    assert affiliation["parent_organisation_id"] == second.organisation_id
    assert affiliation["valid_from"].startswith("2021-02-28T16:00:00")  # stored in UTC
    assert affiliation["status"] == "active"
    assert affiliation["ending"] is None
    assert response.headers["Location"].endswith(f"{API}/affiliations/{affiliation['id']}")
    assert admin.get(f"/affiliations/{affiliation['id']}").get_json() == affiliation


def test_the_registry_and_each_organisations_own_keys_list_its_affiliations(admin, reviewer, verifier, owner):
    affiliation = record(admin, verifier, owner)

    for reader, organisation in ((admin, owner), (reviewer, verifier), (owner, owner), (verifier, verifier)):
        response = reader.get(f"/organisations/{organisation.organisation_id}/affiliations")
        assert response.status_code == 200, response.get_json()
        listing = response.get_json()
        assert listing["organisation_id"] == organisation.organisation_id
        assert [item["id"] for item in listing["items"]] == [affiliation["id"]]
    assert owner.get(f"/affiliations/{affiliation['id']}").status_code == 200


def test_another_organisations_key_cannot_read_a_third_organisations_affiliations(
    admin, verifier, owner, other_enterprise
):
    affiliation = record(admin, verifier, owner)

    assert_problem(
        other_enterprise.get(f"/organisations/{owner.organisation_id}/affiliations"), 403, "organisation_id"
    )
    assert_problem(
        other_enterprise.get(f"/organisations/{verifier.organisation_id}/affiliations"),
        403,
        "organisation_id",
    )
    assert_problem(other_enterprise.get(f"/affiliations/{affiliation['id']}"), 404, "affiliation_id")
    assert_problem(
        owner.client.get(f"{API}/organisations/{owner.organisation_id}/affiliations"), 401, "Authorization"
    )


def test_an_organisation_without_affiliations_lists_none(admin, owner):
    assert owner.get(f"/organisations/{owner.organisation_id}/affiliations").get_json()["items"] == []
    assert_problem(admin.get("/organisations/9999/affiliations"), 404, "organisation_id")


# --- roles --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["reviewer", "verifier", "owner", "other_enterprise"])
def test_only_a_registry_admin_records_or_ends_affiliations(request, app, admin, verifier, owner, role):
    caller = request.getfixturevalue(role)
    affiliation = record(admin, verifier, owner)
    before = table_counts(app)

    assert_problem(
        caller.post(
            f"/organisations/{owner.organisation_id}/affiliations",
            body_for(verifier, "shared_legal_representative"),
        ),
        403,
        "role",
    )
    assert_problem(caller.post(f"/affiliations/{affiliation['id']}/end", {"reason": "股权转让"}), 403, "role")
    assert table_counts(app) == before


def test_recording_without_a_key_is_401(client, verifier, owner):
    response = client.post(
        f"{API}/organisations/{owner.organisation_id}/affiliations", json=body_for(verifier)
    )
    assert_problem(response, 401, "Authorization")


# --- bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"other_organisation_id": None}, 400, "other_organisation_id"),
        ({"other_organisation_id": "2"}, 400, "other_organisation_id"),
        ({"other_organisation_id": 9999}, 404, "other_organisation_id"),
        ({"kind": "friendship"}, 400, "kind"),
        ({"valid_from": "2021-03-01T00:00:00"}, 400, "valid_from"),
        ({"valid_from": "yesterday"}, 400, "valid_from"),
        ({"valid_to": "2020-01-01T00:00:00Z"}, 400, "valid_to"),
        ({"source": ""}, 400, "source"),
        ({"kind": "consulting_on_project"}, 400, "project_id"),
        ({"kind": "consulting_on_project", "project_id": 9999}, 404, "project_id"),
        ({"project_id": 1}, 400, "project_id"),
        ({"kind": "parent_subsidiary"}, 400, "parent_organisation_id"),
        ({"kind": "parent_subsidiary", "parent_organisation_id": 9999}, 400, "parent_organisation_id"),
        ({"shareholding_percent": 51}, 400, "shareholding_percent"),
    ],
)
def test_a_bad_affiliation_is_refused_naming_the_field_and_writes_nothing(
    app, admin, verifier, owner, changes, status, field
):
    body = body_for(verifier) | changes
    body = {name: value for name, value in body.items() if value is not None}
    before = table_counts(app)

    assert_problem(admin.post(f"/organisations/{owner.organisation_id}/affiliations", body), status, field)
    assert table_counts(app) == before


def test_an_organisation_is_not_affiliated_with_itself(admin, owner):
    assert_problem(
        admin.post(f"/organisations/{owner.organisation_id}/affiliations", body_for(owner)),
        400,
        "other_organisation_id",
    )


def test_an_affiliation_of_an_unknown_organisation_is_404(admin, owner):
    assert_problem(admin.post("/organisations/9999/affiliations", body_for(owner)), 404, "organisation_id")


def test_the_same_open_affiliation_twice_is_409(admin, verifier, owner):
    record(admin, verifier, owner)
    assert_problem(
        admin.post(f"/organisations/{owner.organisation_id}/affiliations", body_for(verifier)),
        409,
        "other_organisation_id",
    )


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 400, "reason"),
        ({"reason": "股权转让", "ended_at": "2999-01-01T00:00:00Z"}, 400, "ended_at"),
        ({"reason": "股权转让", "ended_at": "2020-01-01T00:00:00Z"}, 400, "ended_at"),
        ({"reason": "股权转让", "recorded_in_error": "yes"}, 400, "recorded_in_error"),
    ],
)
def test_a_bad_ending_is_refused_naming_the_field(admin, verifier, owner, body, status, field):
    affiliation = record(admin, verifier, owner)
    assert_problem(admin.post(f"/affiliations/{affiliation['id']}/end", body), status, field)


def test_ending_an_unknown_affiliation_is_404_and_ending_twice_is_409(admin, verifier, owner):
    assert_problem(admin.post("/affiliations/9999/end", {"reason": "股权转让"}), 404, "affiliation_id")
    affiliation = record(admin, verifier, owner)
    assert admin.post(f"/affiliations/{affiliation['id']}/end", {"reason": "股权转让"}).status_code == 201
    assert_problem(
        admin.post(f"/affiliations/{affiliation['id']}/end", {"reason": "再次"}), 409, "affiliation_id"
    )


# --- idempotency --------------------------------------------------------------------------------------------


def test_recording_with_the_same_idempotency_key_replays_and_records_once(app, admin, verifier, owner):
    path = f"/organisations/{owner.organisation_id}/affiliations"
    headers = {"Idempotency-Key": "affiliation-verifier-owner-1"}
    first = admin.post(path, body_for(verifier), headers=headers)
    after_first = table_counts(app)

    second = admin.post(path, body_for(verifier), headers=headers)

    assert first.status_code == second.status_code == 201
    assert second.get_json() == first.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert table_counts(app) == after_first
    assert table_counts(app)["organisation_affiliations"] == 1
    other = admin.post(path, body_for(verifier, "shared_legal_representative"), headers=headers)
    assert_problem(other, 409, "Idempotency-Key")


def test_ending_with_the_same_idempotency_key_replays(app, admin, verifier, owner):
    affiliation = record(admin, verifier, owner)
    headers = {"Idempotency-Key": "end-1"}
    first = admin.post(f"/affiliations/{affiliation['id']}/end", {"reason": "股权转让"}, headers=headers)
    second = admin.post(f"/affiliations/{affiliation['id']}/end", {"reason": "股权转让"}, headers=headers)

    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["status"] == "ended"
    assert first.get_json()["ending"]["reason"] == "股权转让"
    assert table_counts(app)["affiliation_endings"] == 1


# --- what an affiliation bars -------------------------------------------------------------------------------


def test_an_affiliated_verifier_is_refused_and_may_verify_once_the_affiliation_ended(
    app, admin, reviewer, verifier, owner
):
    project = register_project(owner, reviewer)
    report = submit_report(owner, project["id"])
    affiliation = record(admin, verifier, owner, "shared_legal_representative")
    before = table_counts(app)

    refused = verifier.post(
        f"/monitoring-reports/{report['id']}/verification", {"verified": True, "comments": "现场核查"}
    )

    problem = assert_problem(refused, 403, "report_id")
    assert f"affiliation {affiliation['id']}" in problem["detail"]
    assert table_counts(app) == before
    assert (
        admin.post(f"/affiliations/{affiliation['id']}/end", {"reason": "法定代表人变更"}).status_code == 201
    )
    assert verify(verifier, report["id"])["decision"] == "verified"


def test_a_verifier_that_consulted_on_the_project_is_refused_until_the_record_is_withdrawn(
    admin, reviewer, verifier, owner
):
    project = register_project(owner, reviewer)
    report = submit_report(owner, project["id"])
    consulting = record(admin, owner, verifier, "consulting_on_project", project_id=project["id"])
    body = {"verified": True, "comments": "现场核查"}
    admin.post(f"/affiliations/{consulting['id']}/end", {"reason": "咨询合同履行完毕"})

    assert_problem(verifier.post(f"/monitoring-reports/{report['id']}/verification", body), 403, "report_id")

    listing = owner.get(f"/organisations/{owner.organisation_id}/affiliations").get_json()
    assert listing["items"][0]["status"] == "ended"


def test_the_affiliation_routes_are_in_the_openapi_document(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    create = paths[f"{API}/organisations/{{organisation_id}}/affiliations"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "AffiliationCreate"
    )
    assert "registry_admin" in create["description"]
    assert "post" in paths[f"{API}/affiliations/{{affiliation_id}}/end"]
    assert "get" in paths[f"{API}/organisations/{{organisation_id}}/affiliations"]


# --- declared when an organisation registers -----------------------------------------------------------


def test_a_verifier_registered_with_a_declared_affiliation_cannot_verify_the_affiliated_owners_project(
    app, client, admin, reviewer, owner
):
    project = register_project(owner, reviewer)
    report = submit_report(owner, project["id"])

    registered = admin.post(
        "/organisations",
        {
            "name": "同一集团核查中心",
            "kind": "verifier",
            "affiliations": [body_for(owner, "common_control")],
        },
    )

    assert registered.status_code == 201, registered.get_json()
    verifier_id = registered.get_json()["id"]
    [declared] = admin.get(f"/organisations/{verifier_id}/affiliations").get_json()["items"]
    assert declared["kind"] == "common_control"
    assert sorted(item["id"] for item in declared["organisations"]) == sorted(
        [verifier_id, owner.organisation_id]
    )
    verifier = add_key(app, client, verifier_id, "verifier")
    refused = verifier.post(
        f"/monitoring-reports/{report['id']}/verification", {"verified": True, "comments": "现场核查"}
    )
    assert_problem(refused, 403, "report_id")


@pytest.mark.parametrize(
    ("declared", "status", "field"),
    [
        ({"other_organisation_id": 99_999}, 404, "other_organisation_id"),
        ({"other_organisation_id": "one"}, 400, "affiliations.0.other_organisation_id"),
        ({"kind": "friends"}, 400, "affiliations.0.kind"),
    ],
)
def test_a_bad_declaration_refuses_the_registration_and_registers_nothing(
    app, admin, owner, declared, status, field
):
    before = table_counts(app)

    response = admin.post(
        "/organisations",
        {"name": "声明有误的核查机构", "kind": "verifier", "affiliations": [body_for(owner) | declared]},
    )

    problem = assert_problem(response, status)
    assert field in (problem.get("field"), *(error["field"] for error in problem.get("errors", [])))
    assert table_counts(app) == before
