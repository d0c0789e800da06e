"""``Idempotency-Key`` on creating requests: a repeat replays; another request with the key is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from api_support import (
    API,
    assert_problem,
    create_project,
    project_body,
    register_project,
    report_body,
    submit_report,
    table_counts,
    verify,
)
from sqlalchemy import select

from api.context import LEDGER_EXTENSION
from api.models import IdempotencyRecord
from web.scheduler import prune_idempotency_job


def test_repeating_a_creation_with_the_same_key_replays_the_first_answer(app, owner):
    headers = {"Idempotency-Key": "create-LS01-2024-11-24"}
    first = owner.post("/projects", project_body(), headers=headers)
    after_first = table_counts(app)

    second = owner.post("/projects", project_body(), headers=headers)

    assert first.status_code == second.status_code == 201
    assert second.get_json() == first.get_json()
    assert second.headers["Location"] == first.headers["Location"]
    assert first.headers["Location"].endswith(f"/api/v1/projects/{first.get_json()['id']}")
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert table_counts(app) == after_first


def test_the_same_body_sent_with_other_key_order_and_spacing_is_a_repeat(app, owner):
    headers = {"Idempotency-Key": "k-1"}
    body = project_body()
    owner.post("/projects", body, headers=headers)
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2, ensure_ascii=False)

    replay = owner.client.post(
        f"{API}/projects",
        data=reordered.encode(),
        headers=owner.headers | headers | {"Content-Type": "application/json"},
    )

    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_the_same_key_with_a_different_body_is_409_and_writes_nothing(app, owner):
    headers = {"Idempotency-Key": "k-2"}
    owner.post("/projects", project_body(), headers=headers)
    before = table_counts(app)

    response = owner.post("/projects", project_body(code="LS02"), headers=headers)

    assert_problem(response, 409, "Idempotency-Key")
    assert table_counts(app) == before


def test_the_same_key_on_another_endpoint_is_409(owner):
    headers = {"Idempotency-Key": "k-3"}
    project = create_project(owner)
    owner.post("/projects", project_body(code="LS02"), headers=headers)

    response = owner.post(f"/projects/{project['id']}/transitions", {"to": "submitted"}, headers=headers)

    assert_problem(response, 409, "Idempotency-Key")


def test_another_key_from_the_same_api_key_is_another_request(app, owner):
    first = owner.post("/projects", project_body(), headers={"Idempotency-Key": "create-LS01"})
    second = owner.post("/projects", project_body(code="LS02"), headers={"Idempotency-Key": "create-LS02"})

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert (first.get_json()["code"], second.get_json()["code"]) == ("LS01", "LS02")


def test_keys_are_scoped_per_api_key(owner, other_owner):
    headers = {"Idempotency-Key": "shared-key"}

    mine = owner.post("/projects", project_body(code="LS01"), headers=headers)
    theirs = other_owner.post("/projects", project_body(code="YB01"), headers=headers)

    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.get_json()["id"] != theirs.get_json()["id"]


def test_a_refused_request_is_not_remembered_so_it_can_be_corrected_and_retried(owner):
    headers = {"Idempotency-Key": "k-4"}
    assert_problem(owner.post("/projects", project_body(area_mu="-1"), headers=headers), 400, "area_mu")

    retried = owner.post("/projects", project_body(), headers=headers)

    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers


def test_a_retried_transition_replays_instead_of_failing_as_a_repeated_move(owner):
    project = create_project(owner)
    path = f"/projects/{project['id']}/transitions"
    headers = {"Idempotency-Key": "submit-once"}

    first = owner.post(path, {"to": "submitted"}, headers=headers)
    retry = owner.post(path, {"to": "submitted"}, headers=headers)
    without_key = owner.post(path, {"to": "submitted"})

    assert first.status_code == retry.status_code == 201
    assert retry.get_json() == first.get_json()
    assert_problem(without_key, 409, "status")
    assert len(owner.get(f"/projects/{project['id']}/events").get_json()["events"]) == 2


def test_a_retried_monitoring_report_and_issuance_are_recorded_once(app, owner, reviewer, verifier, admin):
    project = register_project(owner, reviewer)
    headers = {"Idempotency-Key": "report-2020-2024"}
    path = f"/projects/{project['id']}/monitoring-reports"
    first = owner.post(path, report_body(), headers=headers)
    again = owner.post(path, report_body(), headers=headers)
    assert again.get_json()["id"] == first.get_json()["id"]
    verify(verifier, first.get_json()["id"])
    issue_path = f"/monitoring-reports/{first.get_json()['id']}/issuance"
    issued = admin.post(issue_path, headers={"Idempotency-Key": "issue-1"})
    before = table_counts(app)

    replayed = admin.post(issue_path, headers={"Idempotency-Key": "issue-1"})

    assert replayed.status_code == 201
    assert replayed.get_json() == issued.get_json()
    assert table_counts(app) == before


def test_a_malformed_idempotency_key_is_400(owner):
    response = owner.post("/projects", project_body(), headers={"Idempotency-Key": "x" * 256})

    assert_problem(response, 400, "Idempotency-Key")


def test_a_verification_is_not_decided_twice_even_with_a_new_key(owner, reviewer, verifier):
    project = register_project(owner, reviewer)
    report = submit_report(owner, project["id"])
    verify(verifier, report["id"])

    again = verifier.post(
        f"/monitoring-reports/{report['id']}/verification",
        {"verified": False, "comments": "改判"},
        headers={"Idempotency-Key": "new"},
    )

    assert_problem(again, 409, "report_id")


def test_keys_older_than_the_retention_are_forgotten_by_the_daily_job_and_then_create_anew(app, owner):
    headers = {"Idempotency-Key": "create-LS01-once"}
    first = owner.post("/projects", project_body(), headers=headers)
    service = app.extensions[LEDGER_EXTENSION]

    kept = prune_idempotency_job(service, retention_s=3600, now=datetime.now(UTC) + timedelta(minutes=59))
    replay = owner.post("/projects", project_body(), headers=headers)
    removed = prune_idempotency_job(service, retention_s=3600, now=datetime.now(UTC) + timedelta(hours=2))
    anew = owner.post("/projects", project_body(code="LS02"), headers=headers)

    assert (kept, removed) == (0, 1)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == first.get_json()
    assert anew.status_code == 201
    assert "Idempotent-Replayed" not in anew.headers
    assert anew.get_json()["id"] != first.get_json()["id"]


def test_a_key_is_kept_for_exactly_the_retention_and_forgotten_just_after(app, owner):
    owner.post("/projects", project_body(), headers={"Idempotency-Key": "create-LS01-edge"})
    service = app.extensions[LEDGER_EXTENSION]
    with service.database.reading() as session:
        created_at = session.scalars(select(IdempotencyRecord.created_at)).one()
    created_at = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)

    at_the_edge = prune_idempotency_job(service, retention_s=3600, now=created_at + timedelta(hours=1))
    just_after = prune_idempotency_job(
        service, retention_s=3600, now=created_at + timedelta(hours=1, microseconds=1)
    )

    assert (at_the_edge, just_after) == (0, 1)
