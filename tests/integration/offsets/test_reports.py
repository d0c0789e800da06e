"""The plan's reports on a migrated SQLite database: progress against the targets, the potential assessment
and its CSV, and the import of surveyed areas. Every expected figure is worked by hand in the comments.

The registry below: four projects imported (CSV), then one suspended (still counted) and one closed (not
counted, but its issued credits still listed), and one draft registered natively (never counted).

    code    zone    county            type               area mu        status      issued kg   retired kg
    CN0001  川南    511524 长宁县      bamboo_management  1,234,567.89   registered  1,000,000   0
    LB0001  川西南  513437 雷波县      afforestation      2,000,000.00   registered    500,000   123,456
    CN0002  川南    511524 长宁县      forest_management    765,432.11   suspended           0   0
    QL0001  川中    510183 邛崃市      forest_management        100.00   closed          7,000   0
    RG0001  川西北  513232 若尔盖县    wetland                  500.00   draft               -   -
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from ledger.commands import Beneficiary, Retire, Selection
from ledger.service import LedgerService
from offsets.actors import Actor
from offsets.errors import Forbidden
from offsets.lifecycle import ProjectStatus, Role
from offsets.models import Organisation, Project
from offsets.onboarding import COLUMNS, CsvRefused, import_csv
from offsets.projects import NewProject, change_status, create_project, register_organisation
from offsets.reports import AREA_COLUMNS, SurveyedArea, import_potential_areas, percent, potential, progress

ADMIN = Actor("四川省林草碳汇登记处 / 测试", Role.REGISTRY_ADMIN)

PROJECTS = [
    # code, external id, county code, type, methodology, area, batch quantity kg, batch buffer %
    ("CN0001", "T-P-0001", "511524", "bamboo_management", "AR-CM-005-V01", "1234567.89", "1000000", "10"),
    ("LB0001", "T-P-0002", "513437", "afforestation", "AR-CM-001-V01", "2000000.00", "500000", "0"),
    ("CN0002", "T-P-0003", "511524", "forest_management", "AR-CM-003-V01", "765432.11", "", ""),
    ("QL0001", "T-P-0004", "510183", "forest_management", "AR-CM-003-V01", "100.00", "7000", "0"),
]
LOCATIONS = {
    "511524": '{"coordinates":[104.92,28.58],"type":"Point"}',
    "513437": '{"coordinates":[103.57,28.26],"type":"Point"}',
    "510183": '{"coordinates":[103.46,30.41],"type":"Point"}',
}


def onboarding_file() -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for code, external_id, county, project_type, methodology, area, quantity, share in PROJECTS:
        cells = {
            "external_registry": "provincial",
            "external_project_id": external_id,
            "project_code": code,
            "project_name": f"测试项目 {code}",
            "project_type": project_type,
            "county_code": county,
            "area_mu": area,
            "location_geojson": LOCATIONS[county],
            "owner_name": f"测试业主 {code}",
            "methodology": methodology,
            "standard": "provincial",
            "crediting_start": "2018-01-01",
            "crediting_end": "2037-12-31",
            "expected_annual_removals_kg": "100000",
        }
        if quantity:
            cells |= {
                "external_batch_id": f"{external_id}-B1",
                "vintage": "2022",
                "monitoring_start": "2018-01-01",
                "monitoring_end": "2022-12-31",
                "quantity_kg": quantity,
                "batch_buffer_percent": share,
            }
        writer.writerow([cells.get(column, "") for column in COLUMNS])
    return buffer.getvalue()


def area_file(rows: list[dict[str, str]], columns: tuple[str, ...] = AREA_COLUMNS) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for item in rows:
        writer.writerow([item.get(column, "") for column in columns])
    return "\ufeff" + buffer.getvalue()


SURVEYS = [
    {"county_code": "511524", "county": "长宁县", "project_type": "bamboo_management",
     "available_area_mu": "5000000.00", "survey_year": "2021", "source": "测试：长宁县竹林资源调查 2021"},
    # The later survey counts: 4 × 1,234,567.89 mu, so CN0001 is exactly 25 % of it.
    {"county_code": "511524", "project_type": "bamboo_management", "available_area_mu": "4938271.56",
     "survey_year": "2023", "source": "测试：长宁县竹林资源调查 2023"},
    # A source that looks like a formula to a spreadsheet.
    {"county_code": "513437", "project_type": "afforestation", "available_area_mu": "6000000",
     "survey_year": "2022", "source": "=SUM(A1) 测试：雷波县宜林地调查"},
    # Surveyed, and nothing available.
    {"county_code": "511133", "project_type": "grassland", "available_area_mu": "0",
     "survey_year": "2020", "source": "测试：马边县草地调查"},
]  # fmt: skip


def write(service: LedgerService, work):
    with service.database.unit_of_work() as uow:
        result = work(uow.session)
        uow.commit()
    return result


@pytest.fixture
def registry(service: LedgerService) -> LedgerService:
    write(service, lambda session: import_csv(session, service.sequencer, onboarding_file(), ADMIN))

    def statuses(session):
        projects = {p.code: p for p in session.scalars(select(Project))}
        change_status(session, projects["CN0002"], ProjectStatus.SUSPENDED, ADMIN, "测试：暂停")
        change_status(session, projects["QL0001"], ProjectStatus.CLOSED, ADMIN, "测试：关闭")
        owner = register_organisation(session, "测试业主 RG0001", "project_owner")
        create_project(
            session,
            NewProject(
                code="RG0001",
                name="测试：若尔盖湿地",
                project_type="wetland",
                county_code="513232",
                area_mu=Decimal("500.00"),
                location={"type": "Point", "coordinates": [102.96, 33.58]},
                methodology="TANHUI-WETLAND-STOCK-V01",
                crediting_start=date(2024, 1, 1),
                crediting_end=date(2043, 12, 31),
                expected_annual_removals_kg=1000,
            ),
            owner,
            Actor("业主", Role.PROJECT_OWNER, organisation_id=owner.id),
            20,
        )
        return session.scalar(
            select(Organisation.ledger_account_id)
            .join(Project, Project.owner_id == Organisation.id)
            .where(Project.code == "LB0001")
        )

    owner_account = write(service, statuses)
    service.append(
        [
            Retire(
                "test-retire-1",
                owner_account,
                Selection(quantity_kg=123_456),
                Beneficiary("测试企业", True),
                "voluntary_corporate",
            )
        ]
    )
    return service


def test_progress_counts_registered_and_suspended_area_against_the_plans_targets(registry):
    with registry.database.reading() as session:
        report = progress(session).as_dict()

    assert report["targets"]["2022"] == {"area_mu": 15_000_000}
    assert report["targets"]["2025"] == {"area_mu": 30_000_000}
    # 1,234,567.89 + 2,000,000.00 + 765,432.11 = 4,000,000.00 mu; the closed and the draft one do not count.
    # 4,000,000 / 15,000,000 = 26.666…% → 26.6666; / 30,000,000 = 13.333…% → 13.3333 (rounded down).
    assert report["total"] == {
        "projects": 3,
        "area_mu": "4000000.00",
        "percent_of_target": {"2022": "26.6666", "2025": "13.3333"},
    }
    by_zone = {
        line["zone"]: (line["projects"], line["area_mu"], line["percent_of_target"])
        for line in report["by_zone"]
    }
    assert by_zone == {
        "川西南": (1, "2000000.00", {"2022": "13.3333", "2025": "6.6666"}),
        "川西北": (0, "0.00", {"2022": "0.0000", "2025": "0.0000"}),
        "川东北": (0, "0.00", {"2022": "0.0000", "2025": "0.0000"}),
        "川南": (2, "2000000.00", {"2022": "13.3333", "2025": "6.6666"}),
        "川中": (0, "0.00", {"2022": "0.0000", "2025": "0.0000"}),
    }
    by_type = {
        line["project_type"]: (line["area_mu"], line["percent_of_target"]) for line in report["by_type"]
    }
    assert by_type["afforestation"] == ("2000000.00", {"2022": "13.3333", "2025": "6.6666"})
    # 1,234,567.89 / 150,000 = 8.2304526 → 8.2304; / 300,000 = 4.1152263 → 4.1152.
    assert by_type["bamboo_management"] == ("1234567.89", {"2022": "8.2304", "2025": "4.1152"})
    # 765,432.11 / 150,000 = 5.10288073… → 5.1028; / 300,000 = 2.55144036… → 2.5514.
    assert by_type["forest_management"] == ("765432.11", {"2022": "5.1028", "2025": "2.5514"})
    assert by_type["wetland"] == ("0.00", {"2022": "0.0000", "2025": "0.0000"})
    assert len(by_type) == 7
    assert report["counted_statuses"] == ["registered", "suspended"]


def test_percentages_are_exact_decimals_rounded_down():
    assert percent(Decimal("1"), 3) == Decimal("33.3333")
    assert percent(Decimal("2"), 3) == Decimal("66.6666")
    assert percent(Decimal("0.01"), 30_000_000) == Decimal("0.0000")
    assert percent(Decimal("99999999.99"), 15_000_000) == Decimal("666.6666")


def test_the_potential_assessment_lists_each_county_and_type_with_its_survey_or_not_surveyed(registry):
    result = write(registry, lambda session: import_potential_areas(session, area_file(SURVEYS), ADMIN))
    assert result.as_dict() == {"recorded": 4, "unchanged": 0}

    with registry.database.reading() as session:
        report = potential(session).as_dict()

    rows = [
        (r["zone"], r["county_code"], r["project_type"], r["zone_focus"], r["survey_status"],
         r["available_area_mu"], r["survey_year"], r["registered_projects"], r["registered_area_mu"],
         r["registered_percent_of_available"], r["issued_kg"], r["retired_kg"])
        for r in report["rows"]
    ]  # fmt: skip
    assert rows == [
        # 2,000,000 / 6,000,000 = 33.333…% → 33.3333.
        ("川西南", "513437", "afforestation", "priority", "surveyed", "6000000.00", 2022, 1, "2000000.00",
         "33.3333", 500_000, 123_456),
        ("川南", "511133", "grassland", None, "surveyed", "0.00", 2020, 0, "0.00", None, 0, 0),
        ("川南", "511524", "forest_management", "moderate", "not surveyed", None, None, 1, "765432.11", None,
         0, 0),
        # The 2023 survey replaces 2021's: 1,234,567.89 / 4,938,271.56 = 25 %.
        ("川南", "511524", "bamboo_management", "priority", "surveyed", "4938271.56", 2023, 1, "1234567.89",
         "25.0000", 1_000_000, 0),
        # Closed: its area no longer counts, the 7,000 kg it was issued still do.
        ("川中", "510183", "forest_management", "priority", "not surveyed", None, None, 0, "0.00", None,
         7_000, 0),
    ]  # fmt: skip
    assert report["rows"][0]["survey_source"] == "=SUM(A1) 测试：雷波县宜林地调查"
    assert report["rows"][3]["county"] == "长宁县"
    assert report["rows"][3]["prefecture"] == "宜宾市"
    zones = {zone["zone"]: zone for zone in report["zones"]}
    assert zones["川南"] == {
        "zone": "川南",
        "name_zh": zones["川南"]["name_zh"],
        # 0.00 + 4,938,271.56: the unsurveyed pair adds nothing, it is counted as not surveyed.
        "surveyed_available_area_mu": "4938271.56",
        "surveyed_pairs": 2,
        "not_surveyed_pairs": 1,
        "registered_projects": 2,
        "registered_area_mu": "2000000.00",
        "issued_kg": 1_000_000,
        "retired_kg": 0,
    }
    assert zones["川西北"]["surveyed_pairs"] == zones["川西北"]["not_surveyed_pairs"] == 0


def test_the_potential_csv_is_utf8_with_bom_with_not_surveyed_and_escaped_formulas(registry):
    write(registry, lambda session: import_potential_areas(session, area_file(SURVEYS), ADMIN))
    with registry.database.reading() as session:
        data = potential(session).to_csv()

    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == [
        "zone", "prefecture", "county_code", "county", "project_type", "project_type_zh", "zone_focus",
        "available_area_mu", "survey_year", "survey_source", "registered_projects", "registered_area_mu",
        "registered_percent_of_available", "issued_kg", "retired_kg",
    ]  # fmt: skip
    assert rows[1] == [
        "川西南", "凉山彝族自治州", "513437", "雷波县", "afforestation", "造林", "priority", "6000000.00",
        "2022", "'=SUM(A1) 测试：雷波县宜林地调查", "1", "2000000.00", "33.3333", "500000", "123456",
    ]  # fmt: skip
    assert rows[3][7:10] == ["not surveyed", "", ""]
    assert rows[2][6] == "outside focus"
    assert len(rows) == 6


def test_a_survey_file_is_checked_whole_and_refused_with_every_error(registry):
    bad = [
        {"county_code": "519999", "project_type": "afforestation", "available_area_mu": "1",
         "survey_year": "2020", "source": "s"},  # row 2: no such county
        {"county_code": "511500", "project_type": "bamboo", "available_area_mu": "-1", "survey_year": "2999",
         "source": ""},  # row 3: a prefecture, an unknown type, a sign, a future year, no source
        # row 4: the wrong name, three decimals, too early
        {"county_code": "511524", "county": "雷波县", "project_type": "grassland",
         "available_area_mu": "1.234", "survey_year": "1900", "source": "s"},
        {"county_code": "511524", "project_type": "wetland", "available_area_mu": "10", "survey_year": "2020",
         "source": "s"},
        {"county_code": "511524", "project_type": "wetland", "available_area_mu": "11", "survey_year": "2020",
         "source": "s"},  # row 6: the same county, type and year as row 5
    ]  # fmt: skip
    with pytest.raises(CsvRefused) as caught:
        write(registry, lambda session: import_potential_areas(session, area_file(bad), ADMIN))

    assert {(e.row, e.column) for e in caught.value.errors} == {
        (2, "county_code"),
        (3, "county_code"),
        (3, "project_type"),
        (3, "available_area_mu"),
        (3, "survey_year"),
        (3, "source"),
        (4, "county"),
        (4, "available_area_mu"),
        (4, "survey_year"),
        (6, "survey_year"),
    }
    with registry.database.reading() as session:
        assert session.scalar(select(func.count()).select_from(SurveyedArea)) == 0


def test_a_survey_file_without_a_required_column_is_refused_in_its_header(registry):
    columns = ("county_code", "project_type", "available_area_mu", "source")
    with pytest.raises(CsvRefused) as caught:
        write(registry, lambda session: import_potential_areas(session, area_file(SURVEYS, columns), ADMIN))
    assert [(e.row, e.column) for e in caught.value.errors] == [(1, "survey_year")]


def test_importing_the_same_surveys_again_changes_nothing_and_a_correction_is_a_new_row(registry):
    write(registry, lambda session: import_potential_areas(session, area_file(SURVEYS), ADMIN))
    again = write(registry, lambda session: import_potential_areas(session, area_file(SURVEYS), ADMIN))
    assert again.as_dict() == {"recorded": 0, "unchanged": 4}

    corrected = {**SURVEYS[2], "available_area_mu": "8000000.00", "source": "测试：雷波县宜林地调查（更正）"}
    result = write(registry, lambda session: import_potential_areas(session, area_file([corrected]), ADMIN))
    assert result.as_dict() == {"recorded": 1, "unchanged": 0}
    with registry.database.reading() as session:
        row = potential(session).as_dict()["rows"][0]
        assert session.scalar(select(func.count()).select_from(SurveyedArea)) == 5
    # 2,000,000 / 8,000,000 = 25 %.
    assert (row["available_area_mu"], row["registered_percent_of_available"]) == ("8000000.00", "25.0000")


def test_only_the_registry_enters_surveyed_areas(registry):
    owner = Actor("业主", Role.PROJECT_OWNER, organisation_id=1)
    with pytest.raises(Forbidden):
        write(registry, lambda session: import_potential_areas(session, area_file(SURVEYS), owner))


def test_a_recorded_survey_figure_cannot_be_changed_in_the_database(registry):
    write(registry, lambda session: import_potential_areas(session, area_file(SURVEYS), ADMIN))
    with pytest.raises(DBAPIError, match="append-only"), registry.database.engine.begin() as connection:
        connection.execute(text("UPDATE potential_areas SET available_area_mu = 1"))
    with pytest.raises(DBAPIError, match="append-only"), registry.database.engine.begin() as connection:
        connection.execute(text("DELETE FROM potential_areas"))


def test_the_ledger_verifies_after_the_imports_and_the_retirement(registry):
    registry.sign_checkpoint()
    assert registry.verify().size == 4
