"""Onboarding projects from CCER and the provincial 林草碳普惠 registry: import, refusal, export, round trip.

Every test runs on a SQLite database made by the migrations. Expected quantities are worked by hand in the
comments: a batch's buffer part is its buffer share of the quantity, rounded up.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests_support import measured_fir_year

from ledger.models import Account, Batch, Entry, Holding
from ledger.service import LedgerService
from offsets.actors import Actor
from offsets.errors import Forbidden
from offsets.issuance import issue_for_report
from offsets.lifecycle import Role
from offsets.models import Issuance, Organisation, Project, ProjectBeneficiary, ProjectEvent
from offsets.monitoring import submit_report, verify_report
from offsets.onboarding import COLUMNS, CsvRefused, export_csv, import_csv
from offsets.projects import register_organisation

EXAMPLE = Path(__file__).resolve().parents[3] / "offsets" / "data" / "examples" / "onboarding_example.csv"
ADMIN = Actor("四川省林草碳汇登记处 / 测试", Role.REGISTRY_ADMIN)

PROJECT = {
    "external_registry": "CCER",
    "external_project_id": "T-CCER-0001",
    "project_code": "LB0001",
    "project_name": "测试：雷波县造林碳汇项目",
    "project_type": "afforestation",
    "county_code": "513437",
    "county": "雷波县",
    "area_mu": "2000.00",
    "location_geojson": '{"coordinates":[103.57,28.26],"type":"Point"}',
    "owner_name": "测试雷波林业合作社",
    "owner_credit_code": "",
    "methodology": "AR-CM-001-V01",
    "standard": "CCER",
    "crediting_start": "2015-01-01",
    "crediting_end": "2044-12-31",
    "expected_annual_removals_kg": "500000",
    "project_buffer_percent": "20",
    "contiguous_carbon_forest_mu": "",
    "beneficiaries_json": "",
}
BATCH = {
    "external_batch_id": "T-CCER-B0001",
    "vintage": "2018",
    "monitoring_start": "2015-01-01",
    "monitoring_end": "2018-12-31",
    "issued_on": "2019-07-01",
    "quantity_kg": "1000001",
    "batch_buffer_percent": "10",
}


def row(project: dict[str, str] | None = None, batch: dict[str, str] | None = None, **changes: str) -> dict:
    return {**PROJECT, **(project or {}), **BATCH, **(batch or {}), **changes}


def other_project(**changes: str) -> dict[str, str]:
    return {
        "external_project_id": "T-CCER-0002",
        "project_code": "LB0002",
        "project_name": "测试：雷波县森林经营碳汇项目",
        "project_type": "forest_management",
        "methodology": "AR-CM-003-V01",
        **changes,
    }


def csv_text(rows: list[dict], columns: tuple[str, ...] = COLUMNS) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for item in rows:
        writer.writerow([item.get(column, "") for column in columns])
    return buffer.getvalue()


def run_import(service: LedgerService, data: bytes | str, actor: Actor = ADMIN):
    with service.database.unit_of_work() as uow:
        result = import_csv(uow.session, service.sequencer, data, actor)
        uow.commit()
    return result


def refused(service: LedgerService, data: bytes | str) -> set[tuple[int | None, str | None]]:
    with pytest.raises(CsvRefused) as caught:
        run_import(service, data)
    return {(error.row, error.column) for error in caught.value.errors}


def export(service: LedgerService) -> bytes:
    with service.database.reading() as session:
        return export_csv(session)


def counts(service: LedgerService) -> dict[str, int]:
    tables = (Project, Organisation, Issuance, ProjectEvent, ProjectBeneficiary, Entry, Account, Batch)
    with service.database.reading() as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).select_from(table)) for table in tables
        }


def held_kg(service: LedgerService, account: str) -> int:
    with service.database.reading() as session:
        return session.scalar(
            select(func.coalesce(func.sum(Holding.end_kg - Holding.start_kg + 1), 0)).where(
                Holding.account_id == account
            )
        )


def verify(service: LedgerService) -> int:
    service.sign_checkpoint()
    return service.verify().size


@pytest.fixture
def fresh_service(make_service: Callable[[str], LedgerService], tmp_path: Path) -> LedgerService:
    return make_service(f"sqlite:///{tmp_path / 'fresh.db'}")


def test_the_example_file_imports_registered_projects_with_their_batches_on_the_ledger(service):
    result = run_import(service, EXAMPLE.read_bytes())

    assert result.projects_created == ("CN0007", "MB0001", "TJ0012")
    assert [(b.project_code, b.batch_id, b.owner_kg, b.buffer_kg) for b in result.batches_imported] == [
        # 2,543,210 kg with a 10 % buffer share: 254,321.0 → 254,321 to the buffer, 2,288,889 to the owner.
        ("CN0007", "CN0007-2022-001", 2_288_889, 254_321),
        ("MB0001", "MB0001-2020-001", 15_360_000, 0),
        ("MB0001", "MB0001-2023-001", 9_240_000, 0),
    ]
    with service.database.reading() as session:
        projects = {p.code: p for p in session.scalars(select(Project))}
        assert {code: p.status for code, p in projects.items()} == dict.fromkeys(projects, "registered")
        assert (projects["MB0001"].external_registry, projects["MB0001"].external_id) == (
            "CCER",
            "EX-CCER-0001",
        )
        assert projects["MB0001"].zone == "川南"
        events = session.execute(
            select(Project.code, ProjectEvent.from_status, ProjectEvent.to_status, ProjectEvent.reason)
            .join(Project, Project.id == ProjectEvent.project_id)
            .order_by(Project.code)
        ).all()
        assert events == [
            ("CN0007", None, "registered", "imported from provincial"),
            ("MB0001", None, "registered", "imported from CCER"),
            ("TJ0012", None, "registered", "imported from provincial"),
        ]
        issuances = session.execute(
            select(
                Issuance.kind, Issuance.external_registry, Issuance.external_batch_id, Issuance.batch_id
            ).order_by(Issuance.batch_id)
        ).all()
        assert issuances == [
            ("import", "provincial", "EX-LCTPH-B0107", "CN0007-2022-001"),
            ("import", "CCER", "EX-CCER-B0001", "MB0001-2020-001"),
            ("import", "CCER", "EX-CCER-B0002", "MB0001-2023-001"),
        ]
        owner = session.get(Organisation, projects["MB0001"].owner_id)
        assert (owner.name, owner.kind, owner.credit_code) == (
            "示例马边林业专业合作社（虚构）",
            "project_owner",
            "91511133MA0000000P",
        )
        shares = session.scalars(
            select(ProjectBeneficiary.share_percent)
            .where(ProjectBeneficiary.project_id == projects["CN0007"].id)
            .order_by(ProjectBeneficiary.id)
        ).all()
        assert [str(share) for share in shares] == ["12.50", "7.50"]
        request_ids = set(session.scalars(select(Entry.request_id)))
        owner_account = owner.ledger_account_id
    assert request_ids == {
        "import:provincial:EX-LCTPH-B0107",
        "import:CCER:EX-CCER-B0001",
        "import:CCER:EX-CCER-B0002",
    }
    assert held_kg(service, owner_account) == 15_360_000 + 9_240_000
    assert held_kg(service, "BUFFER") == 254_321
    assert verify(service) == 3


def test_importing_the_same_file_again_writes_nothing(service):
    run_import(service, EXAMPLE.read_bytes())
    before = counts(service)

    again = run_import(service, EXAMPLE.read_bytes())

    assert again.projects_created == ()
    assert again.batches_imported == ()
    assert again.projects_already_imported == ("CN0007", "MB0001", "TJ0012")
    assert set(again.batches_already_imported) == {
        "provincial:EX-LCTPH-B0107",
        "CCER:EX-CCER-B0001",
        "CCER:EX-CCER-B0002",
    }
    assert counts(service) == before
    assert verify(service) == 3


def test_a_later_file_adds_new_batches_to_an_imported_project(service):
    run_import(service, csv_text([row()]))

    later = run_import(
        service,
        csv_text(
            [
                row(),  # already imported: nothing happens
                row(
                    batch={"external_batch_id": "T-CCER-B0002", "vintage": "2019"},
                    monitoring_start="2019-01-01",
                    monitoring_end="2019-06-30",
                    issued_on="2019-12-01",
                    quantity_kg="300",
                    batch_buffer_percent="",
                ),
                row(
                    batch={"external_batch_id": "T-CCER-B0003", "vintage": "2019"},
                    monitoring_start="2019-07-01",
                    monitoring_end="2019-12-31",
                    issued_on="2020-03-01",
                    quantity_kg="200",
                    batch_buffer_percent="100",
                ),
            ]
        ),
    )

    assert later.projects_already_imported == ("LB0001",)
    assert later.batches_already_imported == ("CCER:T-CCER-B0001",)
    # Same vintage, next batch numbers; no buffer share gives all to the owner, 100 % gives all to the buffer.
    assert [(b.batch_id, b.owner_kg, b.buffer_kg) for b in later.batches_imported] == [
        ("LB0001-2019-001", 300, 0),
        ("LB0001-2019-002", 0, 200),
    ]
    # First batch: 1,000,001 kg at 10 %: 100,000.1 → 100,001 to the buffer, 900,000 to the owner.
    assert held_kg(service, "BUFFER") == 100_001 + 200
    assert verify(service) == 3


def test_a_batch_imported_under_another_project_is_refused(service):
    run_import(service, csv_text([row()]))
    before = counts(service)

    errors = refused(service, csv_text([row(project=other_project())]))

    assert errors == {(2, "external_batch_id")}
    assert counts(service) == before


def test_a_bad_file_is_refused_with_every_error_by_row_and_column_and_nothing_is_written(service):
    data = csv_text(
        [
            row(),
            row(),  # row 3: the same external batch as row 2
            # row 4: no such county, and row 2's batch id again (reported although the row has other errors)
            row(project=other_project(county_code="519999", county="")),
            row(  # row 5: bad numbers and dates
                project=other_project(external_project_id="T-CCER-0003", project_code="LB0003"),
                batch={"external_batch_id": "T-CCER-B0005"},
                area_mu="12.345",
                quantity_kg="1,000",
                vintage="20x8",
                monitoring_end="2014-12-31",
                expected_annual_removals_kg="-5",
            ),
            row(  # row 6: a prefecture, not a county; the crediting period ends before it starts
                project=other_project(external_project_id="T-CCER-0004", project_code="LB0004"),
                batch={"external_batch_id": "T-CCER-B0006"},
                county_code="513400",
                county="",
                crediting_end="2010-01-01",
            ),
            row(  # row 7: a county code that is not the named county; a batch buffer share over 100
                project=other_project(external_project_id="T-CCER-0005", project_code="LB0005"),
                batch={"external_batch_id": "T-CCER-B0007"},
                county="马边彝族自治县",
                batch_buffer_percent="101",
            ),
        ]
    )

    errors = refused(service, data)

    assert errors == {
        (3, "external_batch_id"),
        (4, "county_code"),
        (4, "external_batch_id"),
        (5, "area_mu"),
        (5, "quantity_kg"),
        (5, "vintage"),
        (5, "monitoring_end"),
        (5, "expected_annual_removals_kg"),
        (6, "county_code"),
        (6, "crediting_end"),
        (7, "county"),
        (7, "batch_buffer_percent"),
    }
    assert counts(service) == dict.fromkeys(counts(service), 0) | {"ledger_accounts": 7}


def test_missing_unknown_and_repeated_columns_are_named_in_the_header_row(service):
    columns = (*(c for c in COLUMNS if c != "quantity_kg"), "area", "vintage")
    assert refused(service, csv_text([row(area="1")], columns)) == {
        (1, "quantity_kg"),
        (1, "area"),
        (1, "vintage"),
    }


def test_a_row_with_too_many_cells_and_an_empty_file_are_refused(service):
    data = csv_text([row()]) + ",".join(["x"] * (len(COLUMNS) + 1)) + "\r\n"
    assert refused(service, data) == {(3, None)}
    assert refused(service, "") == {(1, None)}
    assert refused(service, ",".join(COLUMNS) + "\r\n") == {(None, None)}


def test_optional_columns_may_be_left_out(service):
    optional = {
        "county",
        "owner_credit_code",
        "project_buffer_percent",
        "contiguous_carbon_forest_mu",
        "beneficiaries_json",
        "issued_on",
        "batch_buffer_percent",
    }
    columns = tuple(reversed([c for c in COLUMNS if c not in optional]))
    result = run_import(service, csv_text([row()], columns))
    assert [(b.owner_kg, b.buffer_kg) for b in result.batches_imported] == [(1_000_001, 0)]
    with service.database.reading() as session:
        # Without a project buffer share the registry's default for the type applies (buffer_policy.toml).
        assert session.scalar(select(Project.buffer_percent)) == 20


def test_the_project_columns_must_agree_on_every_row_of_a_project(service):
    second_batch = {"external_batch_id": "T-CCER-B0002", "vintage": "2019"}
    data = csv_text(
        [
            row(),
            row(
                batch=second_batch,
                monitoring_start="2019-01-01",
                monitoring_end="2019-12-31",
                issued_on="2020-01-15",
                area_mu="2000.5",
                project_name="另一个名字",
            ),
        ]
    )
    assert refused(service, data) == {(3, "area_mu"), (3, "project_name")}


def test_a_project_changed_since_its_import_is_refused(service):
    run_import(service, EXAMPLE.read_bytes())
    # MB0001 (rows 3 and 4) with another area: reported once, at the project's first row.
    text = EXAMPLE.read_text(encoding="utf-8-sig").replace('12500.00,"{', '12600.00,"{')

    assert refused(service, text) == {(3, "area_mu")}


def test_a_batch_imported_again_with_other_figures_is_refused(service):
    run_import(service, csv_text([row()]))
    assert refused(service, csv_text([row(quantity_kg="1000002", issued_on="2019-07-02")])) == {
        (2, "quantity_kg"),
        (2, "issued_on"),
    }


def test_overlapping_monitoring_periods_of_a_project_are_refused(service):
    overlapping = {"external_batch_id": "T-CCER-B0002", "vintage": "2018"}
    in_one_file = csv_text(
        [
            row(),
            row(
                batch=overlapping,
                monitoring_start="2018-12-31",
                monitoring_end="2019-12-31",
                issued_on="2020-01-01",
            ),
        ]
    )
    assert refused(service, in_one_file) == {(3, "monitoring_start")}

    run_import(service, csv_text([row()]))
    later = csv_text(
        [
            row(
                batch=overlapping,
                monitoring_start="2018-06-01",
                monitoring_end="2019-12-31",
                issued_on="2020-01-01",
            )
        ]
    )
    assert refused(service, later) == {(2, "monitoring_start")}


def test_a_monitoring_period_outside_the_crediting_period_is_refused(service):
    data = csv_text([row(monitoring_start="2014-01-01")])
    assert refused(service, data) == {(2, "monitoring_start")}


def test_a_project_code_already_in_use_is_refused(service):
    run_import(service, csv_text([row()]))
    data = csv_text([row(project=other_project(project_code="LB0001"), batch={"external_batch_id": "T-B9"})])
    assert refused(service, data) == {(2, "project_code")}


def test_two_projects_of_one_file_cannot_share_a_code(service):
    data = csv_text(
        [row(), row(project=other_project(project_code="LB0001"), batch={"external_batch_id": "T-B9"})]
    )
    assert refused(service, data) == {(3, "project_code")}


def test_an_owner_registered_before_is_found_by_its_credit_code(service):
    with service.database.unit_of_work() as uow:
        owner = register_organisation(
            uow.session, "示例马边林业专业合作社（虚构）", "project_owner", "91511133MA0000000P"
        )
        uow.commit()
    run_import(service, EXAMPLE.read_bytes())
    with service.database.reading() as session:
        assert session.scalar(select(Project.owner_id).where(Project.code == "MB0001")) == owner.id
        assert session.scalar(select(func.count()).select_from(Organisation)) == 3


def test_an_owner_of_another_kind_or_name_under_the_credit_code_is_refused(service):
    with service.database.unit_of_work() as uow:
        register_organisation(uow.session, "另一家企业", "enterprise", "91511133MA0000000P")
        uow.commit()
    errors = refused(service, EXAMPLE.read_bytes())
    assert errors == {(3, "owner_name"), (3, "owner_credit_code")}


def test_only_the_registry_imports(service):
    with pytest.raises(Forbidden):
        run_import(service, EXAMPLE.read_bytes(), Actor("业主", Role.PROJECT_OWNER, organisation_id=1))


def test_a_file_without_a_byte_order_mark_imports_and_one_not_in_utf8_is_refused(service):
    text = EXAMPLE.read_text(encoding="utf-8-sig")
    assert refused(service, text.encode("gb18030")) == {(None, None)}
    assert run_import(service, text.encode("utf-8")).projects_created == ("CN0007", "MB0001", "TJ0012")


def normalised_rows(data: bytes) -> tuple[str, list[str]]:
    text = data.decode("utf-8")
    header, *rows = text.removesuffix("\r\n").split("\r\n")
    return header, sorted(rows)


def test_the_round_trip_through_a_fresh_database_loses_nothing(service, fresh_service):
    example = EXAMPLE.read_bytes()
    run_import(service, example)
    first = export(service)

    run_import(fresh_service, first)
    second = export(fresh_service)

    assert first.startswith("\ufeff".encode())
    assert normalised_rows(second) == normalised_rows(first) == normalised_rows(example)
    assert second == first == example  # the export's own order is canonical already
    assert verify(fresh_service) == 3


def test_a_file_in_any_column_order_and_form_exports_canonically_and_round_trips(service, fresh_service):
    columns = tuple(reversed(COLUMNS))
    data = csv_text(
        [
            row(area_mu="2000", county=""),  # canonical: 2000.00, and the county's name
            row(project=other_project(), batch={"external_batch_id": "T-CCER-B0002"}),
        ],
        columns,
    )
    run_import(service, data)
    first = export(service)
    run_import(fresh_service, first)

    assert normalised_rows(export(fresh_service)) == normalised_rows(first)
    header, rows = normalised_rows(first)
    assert header == "\ufeff" + ",".join(COLUMNS)
    assert rows[0].startswith(
        "CCER,T-CCER-0001,LB0001,测试：雷波县造林碳汇项目,afforestation,513437,雷波县,2000.00,"
    )


def test_formula_like_cells_are_escaped_on_export_and_read_back_unchanged(service, fresh_service):
    run_import(
        service,
        csv_text(
            [
                row(
                    project_name='=HYPERLINK("http://x") 项目',
                    owner_name="+owner",
                ),
                row(
                    project=other_project(project_name="-1 项目", owner_name="@owner"),
                    batch={"external_batch_id": "T-CCER-B0002"},
                ),
            ]
        ),
    )
    first = export(service)
    text = first.decode("utf-8")
    assert "'=HYPERLINK" in text
    assert ",'+owner," in text
    assert ",'-1 项目," in text
    assert ",'@owner," in text

    run_import(fresh_service, first)
    with fresh_service.database.reading() as session:
        names = set(session.scalars(select(Project.name)))
        owners = set(session.scalars(select(Organisation.name)))
    assert names == {'=HYPERLINK("http://x") 项目', "-1 项目"}
    assert owners == {"+owner", "@owner"}
    assert export(fresh_service) == first


def test_the_export_holds_only_the_imported_batches_of_a_project_that_issues_here_too(service):
    """A project moved to this registry goes on issuing here; its own issuances are this registry's
    record, not part of the file another registry would import."""
    run_import(service, csv_text([row()]))
    before = export(service)
    with service.database.unit_of_work() as uow:
        session = uow.session
        project = session.scalar(select(Project).where(Project.code == "LB0001"))
        verifier = register_organisation(session, "测试核查机构", "verifier")
        owner = Actor("owner", Role.PROJECT_OWNER, project.owner_id)
        report = submit_report(
            session,
            project,
            owner,
            period_start=date(2019, 1, 1),
            period_end=date(2019, 12, 31),
            inputs=measured_fir_year(area_mu="2000", start_m3_per_ha="100", end_m3_per_ha="104"),
        )
        verify_report(
            session, report, Actor("verifier", Role.VERIFIER, verifier.id), verified=True, comments="ok"
        )
        issuance = issue_for_report(session, service.sequencer, report.id, ADMIN)
        assert (issuance.kind, issuance.owner_kg + issuance.buffer_kg > 0) == ("issue", True)
        uow.commit()

    assert export(service) == before
