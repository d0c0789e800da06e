"""API keys and roles: who may call what, and what every refusal looks like."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from api_support import (
    API,
    Party,
    add_key,
    assert_problem,
    create_project,
    ledger,
    project_body,
    register_project,
    submit_report,
    table_counts,
    verify,
)
from sqlalchemy import select, update

from api.auth import create_api_key
from api.models import ApiKey
from ledger.orm import as_utc
from offsets.errors import InvalidInput
from web.cli import main as cli

WRITES = {
    ("POST", "/organisations"): {"registry_admin"},
    ("POST", "/projects"): {"project_owner", "registry_admin"},
    ("POST", "/projects/1/transitions"): {"project_owner", "reviewer", "registry_admin"},
    ("POST", "/projects/1/qualification-review"): {"reviewer", "registry_admin"},
    ("POST", "/projects/1/monitoring-reports"): {"project_owner"},
    ("POST", "/monitoring-reports/1/verification"): {"verifier"},
    ("POST", "/monitoring-reports/1/issuance"): {"registry_admin"},
}
ROLES = ("registry_admin", "reviewer", "verifier", "project_owner")
WRONG_ROLES = [
    (method, path, role)
    for (method, path), allowed in WRITES.items()
    for role in ROLES
    if role not in allowed
]


@pytest.fixture
def parties(admin, reviewer, verifier, owner) -> dict[str, Party]:
    return {"registry_admin": admin, "reviewer": reviewer, "verifier": verifier, "project_owner": owner}


@pytest.mark.parametrize(("method", "path"), list(WRITES))
def test_every_write_without_a_key_is_401_with_a_bearer_challenge(client, method, path):
    response = client.open(API + path, method=method, json={})

    problem = assert_problem(response, 401, "Authorization")
    assert problem["type"].endswith("/unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "role"), WRONG_ROLES)
def test_every_write_refuses_a_key_of_the_wrong_role_with_403_naming_the_role(
    app, parties, method, path, role
):
    party = parties[role]
    before = table_counts(app)

    response = party.client.open(API + path, method=method, json={}, headers=party.headers)

    problem = assert_problem(response, 403, "role")
    assert role in problem["detail"]
    assert table_counts(app) == before


@pytest.mark.parametrize(
    "header",
    [
        "Bearer thk_abcdefgh_" + "A" * 43,  # well-formed, unknown
        "Bearer thk_short",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
        "thk_abcdefgh_" + "A" * 43,
    ],
)
def test_a_malformed_or_unknown_key_is_401_even_on_public_reads(client, header):
    response = client.get(f"{API}/projects", headers={"Authorization": header})

    assert_problem(response, 401, "Authorization")


def test_a_key_with_a_wrong_secret_is_401(client, owner):
    prefix = owner.key[: len("thk_xxxxxxxx_")]
    forged = prefix + ("B" if owner.key[-1] != "B" else "C") * 43

    response = client.get(f"{API}/projects", headers={"Authorization": f"Bearer {forged}"})

    assert_problem(response, 401, "Authorization")


def test_the_cli_creates_an_organisation_and_a_key_that_works_until_it_is_revoked(app, client):
    runner = app.test_cli_runner()
    created = runner.invoke(cli, ["orgs", "create", "--name", "登记中心", "--kind", "registry"])
    assert created.exit_code == 0, created.output
    organisation_id = int(created.stdout.strip())

    keyed = runner.invoke(
        cli,
        ["api-keys", "create", "--org", str(organisation_id), "--role", "registry_admin", "--name", "ops"],
    )
    assert keyed.exit_code == 0, keyed.output
    key = keyed.stdout.strip()
    assert key.startswith("thk_")
    headers = {"Authorization": f"Bearer {key}"}
    body = {"name": "核查机构", "kind": "verifier"}
    assert client.post(f"{API}/organisations", json=body, headers=headers).status_code == 201

    revoked = runner.invoke(cli, ["api-keys", "revoke", key.split("_")[1]])
    assert revoked.exit_code == 0, revoked.output

    problem = assert_problem(client.post(f"{API}/organisations", json=body, headers=headers), 401)
    assert "revoked" in problem["detail"]
    listed = runner.invoke(cli, ["api-keys", "list"])
    assert key.split("_")[1] in listed.stdout
    assert key not in listed.stdout, "the secret is shown once, at creation"


def test_the_cli_refuses_a_role_the_organisation_cannot_hold(app, owner):
    result = app.test_cli_runner().invoke(
        cli, ["api-keys", "create", "--org", str(owner.organisation_id), "--role", "verifier", "--name", "x"]
    )

    assert result.exit_code == 1
    assert "role" in result.stderr


def test_only_the_digest_of_a_key_is_stored_and_its_use_is_recorded(app, owner):
    owner.get("/projects")

    with ledger(app).database.reading() as session:
        key = session.scalar(select(ApiKey).where(ApiKey.organisation_id == owner.organisation_id))
        assert key is not None
        assert owner.key.split("_", 2)[2].encode() not in bytes(key.secret_sha256)
        assert len(key.secret_sha256) == 32
        assert key.last_used_at is not None


def prefix_of(party: Party) -> str:
    return party.key.split("_", 2)[1]


def test_a_key_s_use_is_recorded_on_that_key_alone_and_at_most_once_a_minute(app, owner, other_owner):
    def last_used() -> dict[str, datetime | None]:
        with ledger(app).database.reading() as session:
            rows = session.execute(select(ApiKey.prefix, ApiKey.last_used_at)).all()
        return {prefix: as_utc(at) if at else None for prefix, at in rows}

    def set_last_used(at: datetime) -> None:
        with ledger(app).database.unit_of_work() as uow:
            uow.session.execute(
                update(ApiKey).where(ApiKey.prefix == prefix_of(owner)).values(last_used_at=at)
            )
            uow.commit()

    owner.get("/projects")
    assert last_used()[prefix_of(owner)] is not None
    assert last_used()[prefix_of(other_owner)] is None  # another key, not used

    recent = datetime.now(UTC) - timedelta(seconds=30)
    set_last_used(recent)
    owner.get("/projects")
    assert last_used()[prefix_of(owner)] == recent  # within the minute: not written again

    stale = datetime.now(UTC) - timedelta(seconds=90)
    set_last_used(stale)
    before = datetime.now(UTC)
    owner.get("/projects")
    assert last_used()[prefix_of(owner)] >= before
    assert last_used()[prefix_of(other_owner)] is None


@pytest.mark.parametrize(
    ("name", "accepted"), [("k" * 100, True), ("k" * 101, False), ("  ", False), (None, False)]
)
def test_a_key_name_is_1_to_100_characters(app, owner, name, accepted):
    with ledger(app).database.unit_of_work() as uow:
        if accepted:
            key, _ = create_api_key(uow.session, owner.organisation_id, "project_owner", name)
            assert key.name == name
        else:
            with pytest.raises(InvalidInput) as refused:
                create_api_key(uow.session, owner.organisation_id, "project_owner", name)
            assert refused.value.field == "name"


def test_a_verifier_key_cannot_be_made_for_a_project_owner_so_no_owner_verifies_its_own_project(
    app, owner, reviewer, verifier
):
    with ledger(app).database.unit_of_work() as uow, pytest.raises(InvalidInput) as refused:
        create_api_key(uow.session, owner.organisation_id, "verifier", "self-verification")
    assert refused.value.field == "role"

    project = register_project(owner, reviewer)
    report = submit_report(owner, project["id"])
    response = owner.post(
        f"/monitoring-reports/{report['id']}/verification", {"verified": True, "comments": "自核"}
    )

    assert_problem(response, 403, "role")


# --- another organisation's projects ---------------------------------------------------------------------


def test_no_owner_can_see_another_owners_draft(client, owner, other_owner):
    draft = create_project(owner)

    assert_problem(other_owner.get(f"/projects/{draft['id']}"), 404, "project_id")
    assert_problem(client.get(f"{API}/projects/{draft['id']}"), 404, "project_id")
    assert other_owner.get("/projects").get_json()["total"] == 0
    assert owner.get("/projects").get_json()["total"] == 1


def test_no_owner_can_move_another_owners_project(app, owner, other_owner):
    project = create_project(owner)
    owner.post(f"/projects/{project['id']}/transitions", {"to": "submitted"})
    before = table_counts(app)

    response = other_owner.post(f"/projects/{project['id']}/transitions", {"to": "submitted"})
    closing = other_owner.post(f"/projects/{project['id']}/transitions", {"to": "closed", "reason": "x"})

    assert_problem(response, 403, "project_id")
    assert_problem(closing, 403, "project_id")
    assert table_counts(app) == before


def test_no_owner_registers_a_project_for_another_owner(owner, other_owner):
    response = other_owner.post("/projects", project_body(owner_id=owner.organisation_id))

    assert_problem(response, 403, "owner_id")


def test_no_owner_reports_on_another_owners_project(app, owner, other_owner, reviewer):
    project = register_project(owner, reviewer)
    before = table_counts(app)

    response = other_owner.post(
        f"/projects/{project['id']}/monitoring-reports",
        {"period_start": "2020-01-01", "period_end": "2020-12-31", "inputs": {}},
    )

    assert_problem(response, 403, "project_id")
    assert table_counts(app) == before


def test_an_unverified_report_is_seen_by_its_owner_verifiers_and_the_registry_only(
    client, owner, other_owner, reviewer, verifier, admin
):
    project = register_project(owner, reviewer)
    report = submit_report(owner, project["id"])
    path = f"/monitoring-reports/{report['id']}"

    for party in (owner, verifier, admin, reviewer):
        assert party.get(path).status_code == 200
    assert_problem(other_owner.get(path), 404, "report_id")
    assert_problem(client.get(API + path), 404, "report_id")
    assert client.get(f"{API}/projects/{project['id']}/monitoring-reports").get_json()["items"] == []

    verify(verifier, report["id"])

    public = client.get(API + path).get_json()
    assert public["status"] == "verified"
    assert public["calculation"]["terms"]
    assert [
        r["id"] for r in client.get(f"{API}/projects/{project['id']}/monitoring-reports").get_json()["items"]
    ] == [report["id"]]


def test_beneficiaries_are_shown_to_the_owner_and_the_registry_only(
    client, owner, other_owner, reviewer, admin
):
    project = register_project(owner, reviewer)
    path = f"/projects/{project['id']}"

    assert [b["name"] for b in owner.get(path).get_json()["beneficiaries"]] == [
        "越西县新民镇村集体",
        "吉克阿依",
    ]
    assert admin.get(path).get_json()["beneficiaries"][1]["share_percent"] == "2.50"
    assert "beneficiaries" not in other_owner.get(path).get_json()
    assert "beneficiaries" not in client.get(API + path).get_json()
    assert "qualification_reviews" in owner.get(f"{path}/events").get_json()
    assert "qualification_reviews" not in client.get(f"{API}{path}/events").get_json()


def test_a_second_key_of_the_same_organisation_acts_for_it(app, client, owner):
    second = add_key(app, client, owner.organisation_id, "project_owner")
    project = create_project(owner)

    assert second.post(f"/projects/{project['id']}/transitions", {"to": "submitted"}).status_code == 201
