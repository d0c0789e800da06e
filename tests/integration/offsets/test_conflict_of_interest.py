"""A verifier affiliated with a project's owner, or that consulted on the project, may not verify it.

The affiliations are recorded the way the registry records them (``offsets.affiliations``) on a migrated
database, and ``verify_report`` is called as the API calls it. A refusal writes nothing.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError
from tests_support import measured_fir_year

from offsets.actors import Actor
from offsets.affiliations import (
    NewAffiliation,
    affiliation_status,
    conflicts_of_interest,
    end_affiliation,
    ending_of,
    get_affiliation,
    record_affiliation,
)
from offsets.errors import Conflict, Forbidden, InvalidInput, NotFound
from offsets.lifecycle import ProjectStatus, Role
from offsets.models import AffiliationEnding, MonitoringReport, OrganisationAffiliation, Project, Verification
from offsets.monitoring import submit_report, verify_report
from offsets.projects import (
    NewProject,
    change_status,
    create_project,
    register_organisation,
    review_qualification,
)

SINCE = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass
class Registry:
    service: object
    registry_id: int
    owner_id: int
    verifier_id: int
    project_id: int
    report_id: int
    admin: Actor
    verifier: Actor


def build_registry(service) -> Registry:
    with service.database.unit_of_work() as uow:
        session = uow.session
        registry = register_organisation(session, "登记簿", "registry")
        owner = register_organisation(session, "凉山州林业投资有限公司", "project_owner")
        verifier = register_organisation(session, "某核查机构", "verifier")
        owner_actor = Actor("owner", Role.PROJECT_OWNER, owner.id)
        reviewer = Actor("reviewer", Role.REVIEWER, registry.id)
        project = create_project(
            session,
            NewProject(
                code="COI1",
                name="测试造林",
                project_type="afforestation",
                county_code="513423",
                area_mu="1500",
                location={"type": "Point", "coordinates": [101.5, 27.4]},
                methodology="AR-CM-001-V01",
                crediting_start=date(2018, 1, 1),
                crediting_end=date(2040, 12, 31),
                expected_annual_removals_kg=1_000_000,
            ),
            owner,
            owner_actor,
            buffer_percent_default=20,
        )
        change_status(session, project, ProjectStatus.SUBMITTED, owner_actor)
        change_status(session, project, ProjectStatus.UNDER_REVIEW, reviewer)
        review_qualification(
            session, project, reviewer, approved=True, reasons="ok", documents=[], capability=""
        )
        report = submit_report(
            session,
            project,
            owner_actor,
            period_start=date(2019, 1, 1),
            period_end=date(2019, 12, 31),
            inputs=measured_fir_year(area_mu="1500", start_m3_per_ha="10", end_m3_per_ha="12"),
        )
        uow.commit()
        return Registry(
            service,
            registry.id,
            owner.id,
            verifier.id,
            project.id,
            report.id,
            Actor("admin", Role.REGISTRY_ADMIN, registry.id),
            Actor("verifier", Role.VERIFIER, verifier.id),
        )


@pytest.fixture
def registry(service) -> Registry:
    return build_registry(service)


def add_organisation(registry: Registry, name: str, kind: str = "enterprise") -> int:
    with registry.service.database.unit_of_work() as uow:
        organisation = register_organisation(uow.session, name, kind)
        uow.commit()
        return organisation.id


def record(registry: Registry, first: int, second: int, kind: str, **changes) -> int:
    command = NewAffiliation(
        organisation_id=first,
        other_organisation_id=second,
        kind=kind,
        valid_from=changes.pop("valid_from", SINCE),
        source=changes.pop("source", "国家企业信用信息公示系统 extract, 2024-03-01"),
        **changes,
    )
    with registry.service.database.unit_of_work() as uow:
        affiliation = record_affiliation(uow.session, command, registry.admin, now=datetime.now(UTC))
        uow.commit()
        return affiliation.id


def end(registry: Registry, affiliation_id: int, **kwargs) -> None:
    with registry.service.database.unit_of_work() as uow:
        affiliation = get_affiliation(uow.session, affiliation_id)
        end_affiliation(
            uow.session,
            affiliation,
            registry.admin,
            reason=kwargs.pop("reason", "股权转让"),
            now=datetime.now(UTC),
            **kwargs,
        )
        uow.commit()


def verify(registry: Registry):
    with registry.service.database.unit_of_work() as uow:
        report = uow.session.get(MonitoringReport, registry.report_id)
        decision = verify_report(uow.session, report, registry.verifier, verified=True, comments="现场核查")
        uow.commit()
        return decision.id


def verifications(registry: Registry) -> int:
    with registry.service.database.reading() as session:
        return session.scalar(select(func.count()).select_from(Verification))


AFFILIATIONS = {
    "parent_subsidiary": lambda r: record(
        r, r.verifier_id, r.owner_id, "parent_subsidiary", parent_organisation_id=r.owner_id
    ),
    "common_control": lambda r: record(r, r.owner_id, r.verifier_id, "common_control"),
    "shared_legal_representative": lambda r: record(
        r, r.verifier_id, r.owner_id, "shared_legal_representative"
    ),
    "consulting_on_project": lambda r: record(
        r, r.verifier_id, r.owner_id, "consulting_on_project", project_id=r.project_id
    ),
}


@pytest.mark.parametrize("kind", list(AFFILIATIONS))
def test_verification_is_refused_for_each_kind_of_affiliation_and_writes_nothing(registry, kind):
    affiliation_id = AFFILIATIONS[kind](registry)

    with registry.service.database.unit_of_work() as uow:
        report = uow.session.get(MonitoringReport, registry.report_id)
        with pytest.raises(Forbidden) as refused:
            verify_report(uow.session, report, registry.verifier, verified=True, comments="现场核查")
        assert not uow.session.new, "nothing is added to the unit of work"
        uow.commit()

    assert refused.value.field == "report_id"
    assert f"affiliation {affiliation_id}" in refused.value.message
    assert kind in refused.value.message
    assert verifications(registry) == 0


@pytest.mark.parametrize("kind", ["parent_subsidiary", "common_control", "shared_legal_representative"])
def test_verification_is_allowed_once_a_group_affiliation_ended(registry, kind):
    affiliation_id = AFFILIATIONS[kind](registry)
    end(registry, affiliation_id)

    verify(registry)

    assert verifications(registry) == 1


def test_consulting_on_the_project_conflicts_even_after_it_ended_but_not_once_withdrawn(registry):
    affiliation_id = AFFILIATIONS["consulting_on_project"](registry)
    end(registry, affiliation_id, ended_at=SINCE + timedelta(days=90), reason="咨询合同履行完毕")

    with pytest.raises(Forbidden):
        verify(registry)
    assert verifications(registry) == 0

    # One ending per affiliation: a consulting record that ended cannot then be withdrawn as well.
    with registry.service.database.unit_of_work() as uow, pytest.raises(Conflict) as again:
        end_affiliation(
            uow.session,
            get_affiliation(uow.session, affiliation_id),
            registry.admin,
            reason="录入错误",
            now=datetime.now(UTC),
            recorded_in_error=True,
        )
    assert again.value.field == "affiliation_id"


def test_a_consulting_record_withdrawn_as_an_error_no_longer_conflicts(registry):
    affiliation_id = AFFILIATIONS["consulting_on_project"](registry)
    end(registry, affiliation_id, reason="录入错误：另一项目的合同", recorded_in_error=True)

    verify(registry)

    assert verifications(registry) == 1


def test_an_affiliation_through_the_group_refuses_and_names_the_chain(registry):
    parent = add_organisation(registry, "某集团有限公司")
    first = record(registry, parent, registry.verifier_id, "parent_subsidiary", parent_organisation_id=parent)
    second = record(registry, parent, registry.owner_id, "common_control")

    with pytest.raises(Forbidden) as refused:
        verify(registry)

    assert f"affiliation {first}" in refused.value.message
    assert f"affiliation {second}" in refused.value.message
    with registry.service.database.reading() as session:
        [conflict] = conflicts_of_interest(
            session, registry.verifier_id, session.get(Project, registry.project_id), datetime.now(UTC)
        )
    assert conflict.organisation_ids == (registry.verifier_id, parent, registry.owner_id)


def test_a_chain_longer_than_the_bound_is_not_followed(registry):
    stops = [
        registry.verifier_id,
        *(add_organisation(registry, f"中间公司{n}") for n in range(4)),
        registry.owner_id,
    ]
    for first, second in itertools.pairwise(stops):
        record(registry, first, second, "common_control")

    verify(registry)  # five affiliations apart: beyond MAX_AFFILIATION_HOPS

    assert verifications(registry) == 1


def test_consulting_by_a_subsidiary_of_the_verifier_refuses(registry):
    subsidiary = add_organisation(registry, "某设计院", "enterprise")
    record(
        registry,
        registry.verifier_id,
        subsidiary,
        "parent_subsidiary",
        parent_organisation_id=registry.verifier_id,
    )
    record(registry, subsidiary, registry.owner_id, "consulting_on_project", project_id=registry.project_id)

    with pytest.raises(Forbidden) as refused:
        verify(registry)
    assert "consulted on or designed" in refused.value.message


def test_an_affiliation_that_begins_later_does_not_refuse_today(registry):
    record(
        registry,
        registry.verifier_id,
        registry.owner_id,
        "common_control",
        valid_from=datetime.now(UTC) + timedelta(days=30),
    )
    verify(registry)
    assert verifications(registry) == 1


def test_an_unaffiliated_verifier_verifies_as_before(registry):
    other = add_organisation(registry, "无关企业")
    record(registry, registry.verifier_id, other, "common_control")
    verify(registry)
    assert verifications(registry) == 1


# --- recording: what is refused ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"kind": "friendship"}, InvalidInput, "kind"),
        ({"other_organisation_id": 999}, NotFound, "other_organisation_id"),
        ({"other": "verifier"}, InvalidInput, "other_organisation_id"),
        ({"kind": "consulting_on_project"}, InvalidInput, "project_id"),
        ({"kind": "consulting_on_project", "project_id": 999}, NotFound, "project_id"),
        ({"project_id": "project"}, InvalidInput, "project_id"),
        ({"kind": "parent_subsidiary"}, InvalidInput, "parent_organisation_id"),
        (
            {"kind": "parent_subsidiary", "parent_organisation_id": 999},
            InvalidInput,
            "parent_organisation_id",
        ),
        ({"parent_organisation_id": "owner"}, InvalidInput, "parent_organisation_id"),
        ({"valid_to": SINCE}, InvalidInput, "valid_to"),
        ({"valid_from": datetime(2020, 1, 1)}, InvalidInput, "valid_from"),  # noqa: DTZ001
        ({"source": "  "}, InvalidInput, "source"),
    ],
)
def test_an_affiliation_that_does_not_make_sense_is_refused_naming_the_field(registry, changes, error, field):
    values = {
        "organisation_id": registry.verifier_id,
        "other_organisation_id": registry.owner_id,
        "kind": "common_control",
        "valid_from": SINCE,
        "source": "工商登记",
    } | changes
    references = {
        "verifier": registry.verifier_id,
        "owner": registry.owner_id,
        "project": registry.project_id,
    }
    if values.pop("other", None):
        values["other_organisation_id"] = registry.verifier_id
    for name in ("project_id", "parent_organisation_id"):
        values[name] = references.get(values.get(name), values.get(name))
    with registry.service.database.unit_of_work() as uow, pytest.raises(error) as refused:
        record_affiliation(uow.session, NewAffiliation(**values), registry.admin, now=datetime.now(UTC))
    assert refused.value.field == field


def test_consulting_is_between_the_projects_owner_and_the_consultant(registry):
    stranger = add_organisation(registry, "无关企业")
    with pytest.raises(InvalidInput) as refused:
        record(
            registry, registry.verifier_id, stranger, "consulting_on_project", project_id=registry.project_id
        )
    assert refused.value.field == "project_id"


def test_only_the_registry_admin_records_affiliations(registry):
    command = NewAffiliation(registry.verifier_id, registry.owner_id, "common_control", SINCE, "工商登记")
    with registry.service.database.unit_of_work() as uow, pytest.raises(Forbidden) as refused:
        record_affiliation(uow.session, command, registry.verifier, now=datetime.now(UTC))
    assert refused.value.field == "role"


def test_the_same_open_affiliation_is_not_recorded_twice_but_may_be_after_it_ended(registry):
    first = record(registry, registry.verifier_id, registry.owner_id, "common_control")
    with pytest.raises(Conflict) as refused:
        record(registry, registry.owner_id, registry.verifier_id, "common_control")
    assert refused.value.field == "other_organisation_id"

    end(registry, first)
    second = record(
        registry, registry.owner_id, registry.verifier_id, "common_control", valid_from=datetime.now(UTC)
    )
    assert second != first


def test_an_end_lies_between_the_beginning_and_now(registry):
    affiliation_id = record(registry, registry.verifier_id, registry.owner_id, "common_control")
    for ended_at in (SINCE - timedelta(days=1), datetime.now(UTC) + timedelta(days=1)):
        with registry.service.database.unit_of_work() as uow, pytest.raises(InvalidInput) as refused:
            end_affiliation(
                uow.session,
                get_affiliation(uow.session, affiliation_id),
                registry.admin,
                reason="股权转让",
                now=datetime.now(UTC),
                ended_at=ended_at,
            )
        assert refused.value.field == "ended_at"


def test_the_status_follows_the_records(registry):
    affiliation_id = record(registry, registry.verifier_id, registry.owner_id, "common_control")
    end(registry, affiliation_id, ended_at=datetime(2024, 1, 1, tzinfo=UTC))
    with registry.service.database.reading() as session:
        affiliation = session.get(OrganisationAffiliation, affiliation_id)
        ending = ending_of(session, affiliation)
        assert affiliation_status(affiliation, ending, datetime(2019, 1, 1, tzinfo=UTC)) == "pending"
        assert affiliation_status(affiliation, ending, datetime(2023, 1, 1, tzinfo=UTC)) == "active"
        assert affiliation_status(affiliation, ending, datetime.now(UTC)) == "ended"


# --- the records are append-only ---------------------------------------------------------------------------


def assert_append_only(database, affiliation_id: int) -> None:
    for statement in (
        "UPDATE organisation_affiliations SET source = 'changed' WHERE id = :id",
        "DELETE FROM organisation_affiliations WHERE id = :id",
        "UPDATE affiliation_endings SET reason = 'changed' WHERE affiliation_id = :id",
        "DELETE FROM affiliation_endings WHERE affiliation_id = :id",
    ):
        with database.unit_of_work() as uow, pytest.raises(DatabaseError, match="append-only"):
            uow.session.execute(text(statement), {"id": affiliation_id})
    with database.reading() as session:
        assert session.get(OrganisationAffiliation, affiliation_id).source != "changed"
        assert session.scalar(select(func.count()).select_from(AffiliationEnding)) == 1


def test_affiliations_and_their_endings_are_never_changed(registry):
    affiliation_id = record(registry, registry.verifier_id, registry.owner_id, "common_control")
    end(registry, affiliation_id)
    assert_append_only(registry.service.database, affiliation_id)


def test_affiliations_and_their_endings_are_never_changed_on_postgresql(pg_service):
    registry = build_registry(pg_service)
    affiliation_id = AFFILIATIONS["consulting_on_project"](registry)
    with pytest.raises(Forbidden):
        verify(registry)
    end(registry, affiliation_id, reason="录入错误", recorded_in_error=True)
    verify(registry)
    assert_append_only(pg_service.database, affiliation_id)
