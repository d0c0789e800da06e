"""Helpers for the supply side's API tests: parties, request bodies, journeys, table counts, problems.

Organisations and API keys are made the way an operator makes them (``register_organisation`` and
``create_api_key``, which the ``tanhui orgs`` and ``tanhui api-keys`` commands run); everything else goes
through HTTP. A :class:`Party` is one organisation with one key, and sends requests as it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from api.auth import create_api_key
from ledger.orm import Base
from ledger.service import LedgerService
from offsets.projects import register_organisation

API = "/api/v1"
OWNER_CREDIT_CODE = "91510100MA6CGUGA1W"  # a well-formed 统一社会信用代码 (check digit W)


def ledger(app: Flask) -> LedgerService:
    service: LedgerService = app.extensions["tanhui.ledger"]
    return service


@dataclass
class Party:
    """One organisation acting through one API key."""

    client: FlaskClient
    organisation_id: int
    role: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(API + path, headers=self.headers | kwargs.pop("headers", {}), **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        headers = self.headers | kwargs.pop("headers", {})
        return self.client.post(API + path, json=json, headers=headers, **kwargs)


def make_party(app: Flask, client: FlaskClient, name: str, kind: str, role: str, **org: Any) -> Party:
    with ledger(app).database.unit_of_work() as uow:
        organisation = register_organisation(uow.session, name, kind, **org)
        _, key = create_api_key(uow.session, organisation.id, role, f"{name} test key")
        organisation_id = organisation.id
        uow.commit()
    return Party(client, organisation_id, role, key)


def add_key(app: Flask, client: FlaskClient, organisation_id: int, role: str) -> Party:
    with ledger(app).database.unit_of_work() as uow:
        _, key = create_api_key(uow.session, organisation_id, role, f"another {role} key")
        uow.commit()
    return Party(client, organisation_id, role, key)


# --- request bodies -------------------------------------------------------------------------------------

PROJECT: dict[str, Any] = {
    "code": "LS01",
    "name": "凉山州越西县碳汇造林项目",
    "project_type": "afforestation",
    "county_code": "513434",  # 越西县, 凉山州, 川西南 (a former national poverty county)
    "area_mu": "1500.00",
    "location": {"type": "Point", "coordinates": [102.5, 28.64]},
    "methodology": "AR-CM-001-V01",
    "crediting_start": "2020-01-01",
    "crediting_end": "2049-12-31",
    "expected_annual_removals_kg": 1_200_000,
    "standard": "CCER",
    "contiguous_carbon_forest_mu": "1200",
    "beneficiaries": [
        {"name": "越西县新民镇村集体", "kind": "collective", "share_percent": "30"},
        {"name": "吉克阿依", "kind": "household", "share_percent": "2.5"},
    ],
}

PARAMETERS = {
    # Chinese fir (杉木), given as measured so that the test does not depend on the species defaults file.
    "basic_wood_density": {"value": "0.307", "unit": "t/m3", "source": "test: stand survey 2024"},
    "bef": {"value": "1.634", "unit": "1", "source": "test: stand survey 2024"},
    "root_shoot_ratio": {"value": "0.246", "unit": "1", "source": "test: stand survey 2024"},
    "carbon_fraction": {"value": "0.52", "unit": "1", "source": "test: stand survey 2024"},
}


def project_body(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(PROJECT)
    body.update(changes)
    return body


def report_inputs(volume_start: str = "10", volume_end: str = "60", years: str = "5") -> dict[str, Any]:
    """AR-CM-001-V01 inputs for one stratum of 1,500 mu of Chinese fir."""
    return {
        "period_years": years,
        "strata": [
            {
                "id": "I-1",
                "species": "杉木",
                "area_mu": "1500",
                "volume_start_m3_per_ha": volume_start,
                "volume_end_m3_per_ha": volume_end,
                "source": "test: 2024 plot survey, 30 plots",
                "parameters": copy.deepcopy(PARAMETERS),
            }
        ],
        "baseline": {"removals_t_co2e": "0", "source": "test: PDD §B.4, degraded land without trees"},
        "uncertainty": {"relative_percent": "8", "confidence_level_percent": "90", "source": "test: plots"},
    }


def report_body(start: str = "2020-01-01", end: str = "2024-12-31", **inputs: Any) -> dict[str, Any]:
    return {"period_start": start, "period_end": end, "inputs": report_inputs(**inputs)}


# --- journeys -------------------------------------------------------------------------------------------


def create_project(owner: Party, **changes: Any) -> dict[str, Any]:
    response = owner.post("/projects", project_body(**changes))
    assert response.status_code == 201, response.get_json()
    project: dict[str, Any] = response.get_json()
    return project


def register_project(owner: Party, reviewer: Party, **changes: Any) -> dict[str, Any]:
    """A project taken from draft to registered through the API."""
    project = create_project(owner, **changes)
    path = f"/projects/{project['id']}"
    assert owner.post(f"{path}/transitions", {"to": "submitted"}).status_code == 201
    assert reviewer.post(f"{path}/transitions", {"to": "under_review"}).status_code == 201
    review = reviewer.post(
        f"{path}/qualification-review",
        {
            "approved": True,
            "reasons": "营业执照、林权证齐全；具备造林经营能力",
            "documents": [{"title": "林权证", "reference": "川(2019)越西县不动产权第0001号"}],
            "capability": "专业造林队伍 40 人",
        },
    )
    assert review.status_code == 201, review.get_json()
    registered: dict[str, Any] = owner.get(path).get_json()
    assert registered["status"] == "registered"
    return registered


def submit_report(owner: Party, project_id: int, **kwargs: Any) -> dict[str, Any]:
    response = owner.post(f"/projects/{project_id}/monitoring-reports", report_body(**kwargs))
    assert response.status_code == 201, response.get_json()
    report: dict[str, Any] = response.get_json()
    return report


def verify(verifier: Party, report_id: int, **changes: Any) -> dict[str, Any]:
    body = {"verified": True, "comments": "现场核查 12 个样地，数据可信"} | changes
    response = verifier.post(f"/monitoring-reports/{report_id}/verification", body)
    assert response.status_code == 201, response.get_json()
    verification: dict[str, Any] = response.get_json()
    return verification


def issue(admin: Party, report_id: int) -> dict[str, Any]:
    response = admin.post(f"/monitoring-reports/{report_id}/issuance")
    assert response.status_code == 201, response.get_json()
    issuance: dict[str, Any] = response.get_json()
    return issuance


def table_counts(app: Flask) -> dict[str, int]:
    """Rows in every table of the schema: what "nothing was half-written" is checked against."""
    with ledger(app).database.reading() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


PROBLEM_TITLES = {
    400: "Invalid request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Refused",
}
"""One title per status, whichever layer refused (routing, validation or the domain) ..."""
OWN_TITLES = {"csv-refused": "Invalid CSV file", "payment-provider-refused": "Payment provider"}
"""... except the problem types that have a title of their own."""


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    problem: dict[str, Any] = response.get_json()
    assert problem["status"] == status
    assert problem["type"].startswith("https://tanhui.sichuan.registry/problems/"), problem
    kind = problem["type"].rsplit("/", 1)[1]
    assert problem["title"] == OWN_TITLES.get(kind, PROBLEM_TITLES[status]), problem
    if field is not None:
        assert problem.get("field") == field, problem
    return problem
