"""The plan's reports and the onboarding of existing projects, through HTTP as the registry and the public use
them: CSV bodies and multipart uploads, problems listing every row error, CSV downloads, roles, OpenAPI."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from api_support import (
    API,
    add_key,
    assert_problem,
    issue,
    ledger,
    register_project,
    report_body,
    submit_report,
    table_counts,
    verify,
)
from sqlalchemy import select

from offsets import regions
from offsets.models import PROJECT_TYPES, Project
from offsets.onboarding import COLUMNS

EXAMPLE = Path(__file__).resolve().parents[3] / "offsets" / "data" / "examples" / "onboarding_example.csv"
SURVEY_COLUMNS = "county_code,county,project_type,available_area_mu,survey_year,source\r\n"


def post_csv(party, path, data: bytes | str, **headers: str):
    return party.post(path, data=data, content_type="text/csv; charset=utf-8", headers=headers)


def test_the_registry_imports_a_csv_body_and_exports_the_same_file(app, admin):
    response = post_csv(admin, "/onboarding/import", EXAMPLE.read_bytes())

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["projects_created"] == ["CN0007", "MB0001", "TJ0012"]
    # 2,543,210 + 15,360,000 + 9,240,000 kg.
    assert body["imported_kg"] == 27_143_210
    assert body["batches_imported"][0] == {
        "external_registry": "provincial",
        "external_batch_id": "EX-LCTPH-B0107",
        "project_code": "CN0007",
        "batch_id": "CN0007-2022-001",
        "ledger_seq": 0,
        "owner_kg": 2_288_889,
        "buffer_kg": 254_321,
    }

    again = post_csv(admin, "/onboarding/import", EXAMPLE.read_bytes())
    assert again.status_code == 200
    assert again.get_json()["batches_imported"] == []
    assert len(again.get_json()["batches_already_imported"]) == 3

    export = admin.get("/onboarding/export")
    assert export.status_code == 200
    assert export.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert export.headers["Content-Disposition"].startswith('attachment; filename="tanhui-onboarding-')
    assert export.headers["Cache-Control"] == "no-store"
    assert export.get_data() == EXAMPLE.read_bytes()
    service = ledger(app)
    service.sign_checkpoint()
    assert service.verify().size == 3


def test_a_multipart_upload_imports_as_well(admin):
    upload = {"file": (io.BytesIO(EXAMPLE.read_bytes()), "onboarding.csv", "text/csv")}
    response = admin.post("/onboarding/import", data=upload, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["projects_created"] == ["CN0007", "MB0001", "TJ0012"]

    two_files = {"file": [(io.BytesIO(b"a"), "a.csv"), (io.BytesIO(b"b"), "b.csv")]}
    refused = admin.post("/onboarding/import", data=two_files, content_type="multipart/form-data")
    assert_problem(refused, 400, "file")


def test_a_multipart_upload_is_read_whole_by_its_view_for_its_idempotency_key(admin):
    """The raw body (every byte sent) is what an Idempotency-Key stands for, also for an upload: a
    different file under the same key is a conflict, not a replay of the first."""
    first = {"file": (io.BytesIO(EXAMPLE.read_bytes()), "onboarding.csv", "text/csv")}
    headers = {"Idempotency-Key": "upload-1"}
    multipart = "multipart/form-data"
    created = admin.post("/onboarding/import", data=first, content_type=multipart, headers=headers)
    assert created.status_code == 201, created.get_json()
    other = EXAMPLE.read_bytes().replace("示例".encode(), "样例".encode(), 1)
    second = {"file": (io.BytesIO(other), "onboarding.csv", "text/csv")}
    again = admin.post("/onboarding/import", data=second, content_type=multipart, headers=headers)
    assert again.status_code in (409, 422), again.get_json()
    assert again.get_json()["field"] == "Idempotency-Key"


def test_onboarding_is_for_the_registry_admin_only(client, owner, reviewer):
    anonymous = client.post(f"{API}/onboarding/import", data=EXAMPLE.read_bytes(), content_type="text/csv")
    assert_problem(anonymous, 401, "Authorization")
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert_problem(post_csv(owner, "/onboarding/import", EXAMPLE.read_bytes()), 403, "role")
    assert_problem(post_csv(reviewer, "/onboarding/import", EXAMPLE.read_bytes()), 403, "role")
    assert_problem(client.get(f"{API}/onboarding/export"), 401, "Authorization")
    assert_problem(owner.get("/onboarding/export"), 403, "role")


def test_a_refused_file_is_a_400_problem_listing_every_row_error_and_nothing_is_written(app, admin):
    lines = EXAMPLE.read_bytes().decode("utf-8-sig").split("\r\n")
    lines[1] = lines[1].replace(",511524,长宁县,", ",519999,,")  # row 2: a county that does not exist
    lines[2] = lines[2].replace(",15360000,", ",15360000.5,")  # row 3: half a kilogram
    lines[3] = lines[3].replace("EX-CCER-B0002", "EX-CCER-B0001")  # row 4: the batch of row 3 again
    before = table_counts(app)

    response = post_csv(admin, "/onboarding/import", "\r\n".join(lines))

    problem = assert_problem(response, 400, "county_code")
    assert problem["type"].endswith("/csv-refused")
    # Row 4 repeats row 3's batch id, which is reported although row 3 has an error of its own.
    assert [(e["row"], e["column"]) for e in problem["errors"]] == [
        (2, "county_code"),
        (3, "quantity_kg"),
        (4, "external_batch_id"),
    ]
    assert all(e["message"] for e in problem["errors"])
    assert problem["errors_not_listed"] == 0
    assert table_counts(app) == before


def test_a_body_that_is_not_csv_is_refused_as_unsupported(admin):
    response = admin.post("/onboarding/import", {"file": "no"})
    assert_problem(response, 415, "Content-Type")


def test_an_idempotency_key_replays_the_first_answer(admin):
    first = post_csv(admin, "/onboarding/import", EXAMPLE.read_bytes(), **{"Idempotency-Key": "onboard-1"})
    second = post_csv(admin, "/onboarding/import", EXAMPLE.read_bytes(), **{"Idempotency-Key": "onboard-1"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json() == first.get_json()
    other = post_csv(admin, "/onboarding/import", b"x", **{"Idempotency-Key": "onboard-1"})
    assert_problem(other, 409, "Idempotency-Key")


def test_progress_and_the_potential_assessment_are_public_and_count_imported_and_native_projects(
    client, admin, owner, reviewer, verifier
):
    assert post_csv(admin, "/onboarding/import", EXAMPLE.read_bytes()).status_code == 201
    native = register_project(owner, reviewer)  # LS01: 1,500.00 mu of afforestation in 越西县 (513434)
    report = submit_report(owner, native["id"])
    verify(verifier, report["id"])
    issued = issue(admin, report["id"])
    surveys = SURVEY_COLUMNS + (
        "513434,越西县,afforestation,6000.00,2023,\"=cmd|' /C calc'!A0 测试：越西县宜林地\"\r\n"
        "511133,,afforestation,50000,2022,测试：马边县宜林地调查\r\n"
    )
    uploaded = post_csv(admin, "/reports/potential-areas", surveys)
    assert uploaded.status_code == 201, uploaded.get_json()
    assert uploaded.get_json() == {"recorded": 2, "unchanged": 0}

    progress = client.get(f"{API}/reports/progress")
    assert progress.status_code == 200
    # 3,600.50 + 12,500.00 + 8,000.00 + 1,500.00 = 25,600.50 mu: 25,600.5 / 150,000 = 0.17067 % → 0.1706,
    # and / 300,000 = 0.085335 % → 0.0853.
    assert progress.get_json()["total"] == {
        "projects": 4,
        "area_mu": "25600.50",
        "percent_of_target": {"2022": "0.1706", "2025": "0.0853"},
    }
    targets = progress.get_json()["targets"]
    assert (targets["2022"], targets["2025"]) == ({"area_mu": 15_000_000}, {"area_mu": 30_000_000})
    assert targets["source"].endswith("一、总体要求（三）目标任务")

    potential = client.get(f"{API}/reports/potential")
    assert potential.status_code == 200
    rows = {(r["county_code"], r["project_type"]): r for r in potential.get_json()["rows"]}
    yuexi = rows[("513434", "afforestation")]
    assert yuexi["issued_kg"] == issued["owner_kg"] + issued["buffer_kg"] > 0
    # 1,500 / 6,000 = 25 %.
    assert (yuexi["available_area_mu"], yuexi["registered_percent_of_available"]) == ("6000.00", "25.0000")
    assert rows[("511921", "forest_management")]["survey_status"] == "not surveyed"
    assert rows[("511921", "forest_management")]["available_area_mu"] is None
    # 马边: 50,000 mu surveyed for afforestation, of which MB0001 registered 12,500 (25 %) and was issued
    # 15,360,000 + 9,240,000 kg.
    mabian = rows[("511133", "afforestation")]
    assert (mabian["registered_percent_of_available"], mabian["issued_kg"]) == ("25.0000", 24_600_000)

    download = client.get(f"{API}/reports/potential.csv")
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert download.headers["Content-Disposition"].startswith('attachment; filename="tanhui-potential-')
    data = download.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    by_pair = {(line[2], line[4]): line for line in table[1:]}
    assert by_pair[("513434", "afforestation")][9] == "'=cmd|' /C calc'!A0 测试：越西县宜林地"
    assert by_pair[("511921", "forest_management")][7] == "not surveyed"
    assert len(table) == 1 + len(rows)


def test_surveyed_areas_are_for_the_registry_admin_and_a_bad_file_lists_its_row_errors(app, admin, owner):
    good = SURVEY_COLUMNS + "511133,,grassland,10,2020,测试\r\n"
    assert_problem(post_csv(owner, "/reports/potential-areas", good), 403, "role")

    before = table_counts(app)
    bad = SURVEY_COLUMNS + "511133,,grassland,10,2020,测试\r\n519999,,grassland,1e3,2020,测试\r\n"
    problem = assert_problem(post_csv(admin, "/reports/potential-areas", bad), 400, "county_code")
    assert [(e["row"], e["column"]) for e in problem["errors"]] == [
        (3, "county_code"),
        (3, "available_area_mu"),
    ]
    assert table_counts(app) == before


def test_a_survey_upload_larger_than_the_apis_usual_one_mebibyte_is_accepted(admin):
    # 2,600 distinct (county, type, year) rows with 400-character sources: about 1.1 MB.
    pairs = [(county.code, t) for county in regions.regions().counties for t in PROJECT_TYPES]
    lines = [
        f"{code},,{project_type},{index},{2000 + index // len(pairs)},{'测' * 400}\r\n"
        for index, (code, project_type) in zip(range(2_600), pairs * 3, strict=False)
    ]
    data = (SURVEY_COLUMNS + "".join(lines)).encode()
    assert len(data) > 1024 * 1024

    response = post_csv(admin, "/reports/potential-areas", data)

    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    assert response.get_json()["recorded"] == 2_600


def test_the_openapi_document_lists_the_report_and_onboarding_endpoints(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]

    assert set(paths[f"{API}/reports/progress"]) == {"get"}
    assert "security" not in paths[f"{API}/reports/progress"]["get"]
    assert set(paths[f"{API}/reports/potential"]) == {"get"}
    assert set(paths[f"{API}/reports/potential.csv"]) == {"get"}
    for path in ("/reports/potential-areas", "/onboarding/import"):
        operation = paths[API + path]["post"]
        assert operation["security"] == [{"apiKey": []}]
        assert "registry_admin" in operation["description"]
    assert paths[f"{API}/onboarding/export"]["get"]["security"] == [{"apiKey": []}]


def imported_owner(app, client, code: str):
    """An API key for the owner organisation an import created, and the project's id."""
    with ledger(app).database.reading() as session:
        project_id, owner_id = session.execute(
            select(Project.id, Project.owner_id).where(Project.code == code)
        ).one()
    return add_key(app, client, owner_id, "project_owner"), project_id


def test_a_later_import_overlapping_a_period_verified_in_tanhui_is_refused(app, client, admin, verifier):
    assert post_csv(admin, "/onboarding/import", EXAMPLE.read_bytes()).status_code == 201
    owner, project_id = imported_owner(app, client, "MB0001")
    report = submit_report(owner, project_id, start="2024-01-01", end="2024-12-31", years="1")
    verify(verifier, report["id"])
    lines = EXAMPLE.read_bytes().decode("utf-8-sig").split("\r\n")
    later = lines[3].replace(
        "EX-CCER-B0002,2023,2021-01-01,2023-12-31,2024-09-20,",
        "EX-CCER-B0003,2025,2024-07-01,2025-06-30,2025-08-01,",
    )
    assert later != lines[3]

    response = post_csv(admin, "/onboarding/import", "\r\n".join([lines[0], later]))

    problem = assert_problem(response, 400, "monitoring_start")
    assert [(e["row"], e["column"]) for e in problem["errors"]] == [(2, "monitoring_start")]
    assert f"verified monitoring report {report['id']}" in problem["errors"][0]["message"]


def test_a_monitoring_report_for_a_period_an_imported_batch_credited_is_refused(app, client, admin):
    assert post_csv(admin, "/onboarding/import", EXAMPLE.read_bytes()).status_code == 201
    owner, project_id = imported_owner(app, client, "MB0001")
    response = owner.post(
        f"/projects/{project_id}/monitoring-reports", report_body("2016-01-01", "2020-12-31", years="5")
    )
    assert_problem(response, 409)


def test_the_example_file_names_every_column():
    header = EXAMPLE.read_bytes().decode("utf-8-sig").split("\r\n", 1)[0]
    assert tuple(header.split(",")) == COLUMNS
