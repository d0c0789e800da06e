"""Issuance accounting: never more than cumulative verified removals; a loss compensated exactly once.

The scenarios use the afforestation methodology with measured parameters, so each report's net removals
follow from the stock change; the tests compare issued and cancelled kilograms with those reports.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from tests_support import measured_fir_year

from ledger.models import ClosedRange
from offsets.actors import Actor
from offsets.errors import Conflict
from offsets.issuance import cumulative, issue_for_report
from offsets.lifecycle import ProjectStatus, Role
from offsets.monitoring import submit_report, verify_report
from offsets.projects import (
    NewProject,
    change_status,
    create_project,
    register_organisation,
    review_qualification,
)


@pytest.fixture
def registry(service):
    with service.database.unit_of_work() as uow:
        session = uow.session
        registry = register_organisation(session, "登记簿", "registry")
        owner = register_organisation(session, "业主", "project_owner")
        verifier = register_organisation(session, "核查机构", "verifier")
        actors = {
            "owner": Actor("owner", Role.PROJECT_OWNER, owner.id),
            "reviewer": Actor("reviewer", Role.REVIEWER, registry.id),
            "verifier": Actor("verifier", Role.VERIFIER, verifier.id),
            "admin": Actor("admin", Role.REGISTRY_ADMIN, registry.id),
        }
        project = create_project(
            session,
            NewProject(
                code="T01",
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
            actors["owner"],
            buffer_percent_default=20,
        )
        change_status(session, project, ProjectStatus.SUBMITTED, actors["owner"])
        change_status(session, project, ProjectStatus.UNDER_REVIEW, actors["reviewer"])
        review_qualification(
            session, project, actors["reviewer"], approved=True, reasons="ok", documents=[], capability=""
        )
        uow.commit()
        return service, project.id, actors


def report(registry, year, start_volume, end_volume):
    service, project_id, actors = registry
    from offsets.models import Project

    with service.database.unit_of_work() as uow:
        project = uow.session.get(Project, project_id)
        submitted = submit_report(
            uow.session,
            project,
            actors["owner"],
            period_start=date(year, 1, 1),
            period_end=date(year, 12, 31),
            inputs=measured_fir_year(area_mu="1500", start_m3_per_ha=start_volume, end_m3_per_ha=end_volume),
        )
        verify_report(uow.session, submitted, actors["verifier"], verified=True, comments="ok")
        uow.commit()
        return submitted.id, submitted.net_removals_kg


def issue(registry, report_id):
    service, _, actors = registry
    with service.database.unit_of_work() as uow:
        issuance = issue_for_report(uow.session, service.sequencer, report_id, actors["admin"])
        result = (issuance.kind, issuance.owner_kg, issuance.buffer_kg)
        uow.commit()
    return result


def cancelled_kg(service):
    with service.database.reading() as session:
        return session.scalar(
            select(func.coalesce(func.sum(ClosedRange.end_kg - ClosedRange.start_kg + 1), 0)).where(
                ClosedRange.status == "cancelled"
            )
        )


def totals(registry):
    service, project_id, _ = registry
    from offsets.models import Project

    with service.database.reading() as session:
        return cumulative(session, session.get(Project, project_id))


def test_a_gain_issues_its_verified_removals_less_nothing_and_a_fifth_goes_to_the_buffer(registry):
    report_id, gain = report(registry, 2019, "10", "12")
    kind, owner_kg, buffer_kg = issue(registry, report_id)
    assert (kind, owner_kg + buffer_kg) == ("issue", gain)
    assert buffer_kg == -(-gain * 20 // 100)
    registry[0].verify()


def test_a_loss_after_full_issuance_is_cancelled_from_the_buffer_and_must_be_recovered(registry):
    gain_id, gain = report(registry, 2019, "10", "14")
    issue(registry, gain_id)
    loss_id, loss = report(registry, 2020, "14", "13.6")
    assert loss < 0
    assert issue(registry, loss_id) == ("reversal", 0, -loss)
    assert cancelled_kg(registry[0]) == -loss
    # The next gain first makes the loss good: only what exceeds it is issued.
    regain_id, regain = report(registry, 2021, "13.6", "15")
    _, owner_kg, buffer_kg = issue(registry, regain_id)
    assert owner_kg + buffer_kg == regain + loss
    assert totals(registry) == (gain + regain + loss, gain + loss + regain)
    # A later loss that the earlier compensation still covers cancels nothing more.
    second_loss_id, _ = report(registry, 2022, "15", "14.9")
    assert issue(registry, second_loss_id) == ("reversal", 0, 0)
    assert cancelled_kg(registry[0]) == -loss
    registry[0].verify()


@pytest.mark.parametrize("loss_first", [False, True])
def test_a_loss_verified_before_the_gain_is_issued_is_compensated_once_whatever_the_order(
    registry, loss_first
):
    gain_id, gain = report(registry, 2019, "10", "14")
    loss_id, loss = report(registry, 2020, "14", "13")
    order = [loss_id, gain_id] if loss_first else [gain_id, loss_id]
    results = {report_id: issue(registry, report_id) for report_id in order}
    _, owner_kg, buffer_kg = results[gain_id]
    assert owner_kg + buffer_kg == gain + loss  # the unissued gain absorbed the loss
    assert results[loss_id] == ("reversal", 0, 0)  # so nothing is cancelled from the buffer
    assert cancelled_kg(registry[0]) == 0
    registry[0].verify()


def test_a_gain_smaller_than_a_verified_loss_issues_nothing_and_the_loss_cancels_nothing(registry):
    gain_id, _ = report(registry, 2019, "10", "11")
    loss_id, _ = report(registry, 2020, "11", "9")
    with pytest.raises(Conflict) as refused:
        issue(registry, gain_id)
    assert refused.value.field == "report_id"
    assert issue(registry, loss_id) == ("reversal", 0, 0)  # no credit was ever issued
    assert cancelled_kg(registry[0]) == 0


def test_issuing_a_report_twice_returns_the_first_issuance(registry):
    report_id, _ = report(registry, 2019, "10", "12")
    first = issue(registry, report_id)
    size = registry[0].size()
    assert issue(registry, report_id) == first
    assert registry[0].size() == size
