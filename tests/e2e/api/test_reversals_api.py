"""A loss in a later monitoring period, as buyers see it: certificates compensated by buffer, lots suspended.

The supply side runs through the API (project, reports, verification, issuance); the issued batch is
listed as a lot with ``marketplace.lots.list_lot`` (the registry's listing step), and a second project's
lot in another zone stays unaffected throughout.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pypdf
import pytest
from api_support import API, assert_problem, issue, ledger, register_project, submit_report, verify
from market_support import add_lot, individual_order, pay
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from marketplace.certificate_document import build_certificate_document
from marketplace.lots import list_lot
from marketplace.models import Certificate, Lot
from marketplace.reversal_models import BufferCompensation, LotStatusChange
from marketplace.reversals import compensations_of_batches, record_compensation
from offsets.actors import Actor, Role
from offsets.issuance import issue_for_report
from offsets.models import Issuance

LOT = "L-LS01-2024"


@pytest.fixture
def listed(app, client, owner, reviewer, verifier, admin):
    """LS01's 2020–2024 batch issued and listed as lot L-LS01-2024; lot L-2 (川中) from another project."""
    project = register_project(owner, reviewer)
    report = submit_report(owner, project["id"])
    verify(verifier, report["id"])
    issuance = issue(admin, report["id"])
    service = ledger(app)
    with service.database.unit_of_work() as uow:
        list_lot(
            uow.session,
            service.sequencer,
            lot_id=LOT,
            batch_id=issuance["batch_id"],
            quantity_kg=50_000,
            price_fen_per_t=60_000,
            at=datetime.now(UTC),
        )
        uow.commit()
    add_lot(app, "L-2", "JJ01", "510104", "川中", 10_000, 80_000)
    return project, issuance


def bought_certificate(client, admin, zone: str, reference: str) -> str:
    order = individual_order(client, sourcing={"zone": zone}).get_json()
    paid = pay(admin, order, reference=reference)
    assert paid.status_code == 200, paid.get_json()
    certificate_id: str = paid.get_json()["certificate_id"]
    return certificate_id


def verified_year(owner, verifier, project, year: int, volume_start: str, volume_end: str, **verification):
    """LS01's report of ``year`` (stand volume from ``volume_start`` to ``volume_end``), verified."""
    report = submit_report(
        owner,
        project["id"],
        start=f"{year}-01-01",
        end=f"{year}-12-31",
        volume_start=volume_start,
        volume_end=volume_end,
        years="1",
    )
    verify(verifier, report["id"], **verification)
    return report


def verified_loss(owner, verifier, project):
    """2025: the stand loses volume to a fire."""
    return verified_year(
        owner, verifier, project, 2025, "60", "59", comments="2025 年 3 月山火，过火面积核实"
    )


def verified_regain(owner, verifier, project):
    """2026: the stand grows back past its volume before the fire."""
    return verified_year(owner, verifier, project, 2026, "59", "70")


def report_loss(owner, verifier, admin, project):
    loss = verified_loss(owner, verifier, project)
    return loss, issue(admin, loss["id"])


def test_a_loss_marks_the_affected_certificates_compensated_by_buffer_and_suspends_the_lot(
    app, client, owner, verifier, admin, listed
):
    project, issuance = listed
    affected = bought_certificate(client, admin, "川西南", "BANK-1")
    unaffected = bought_certificate(client, admin, "川中", "BANK-2")
    before = client.get(f"{API}/certificates/{affected}").get_json()
    assert (before["status"], before["compensation"]) == ("valid", None)
    assert before["status_label"] == {"zh": "有效", "en": "valid"}

    loss, reversal = report_loss(owner, verifier, admin, project)

    assert reversal["kind"] == "reversal"
    assert reversal["buffer_kg"] > 0
    certificate = client.get(f"{API}/certificates/{affected}").get_json()
    assert certificate["status"] == "compensated_by_buffer"
    assert certificate["status_label"] == {"zh": "已由缓冲池补偿", "en": "compensated by buffer"}
    compensation = certificate["compensation"]
    assert compensation["project_code"] == "LS01"
    assert compensation["report_id"] == loss["id"]
    assert compensation["monitoring_period"] == "2025-01-01/2025-12-31"
    assert compensation["cancel_seq"] == reversal["ledger_seq"]
    assert compensation["compensated_kg"] == reversal["buffer_kg"]
    assert compensation["batches"] == [issuance["batch_id"]]
    assert certificate["compensations"] == [compensation]
    # The document the pages and the PDF render says the same.
    with ledger(app).database.reading() as session:
        document = build_certificate_document(session, session.get(Certificate, affected))
    assert document["status"] == "compensated_by_buffer"
    assert document["compensation"] == compensation
    other = client.get(f"{API}/certificates/{unaffected}").get_json()
    assert (other["status"], other["compensation"]) == ("valid", None)

    history = client.get(f"{API}/lots/{LOT}/status-history").get_json()
    assert history["status"] == "suspended"
    [change] = history["changes"]
    assert (change["from_status"], change["to_status"]) == ("listed", "suspended")
    assert change["compensation"] == compensation
    assert "buffer compensation" in change["reason"]
    refused = individual_order(client, sourcing={"zone": "川西南"})
    assert_problem(refused, 409, "quantity_kg")
    assert individual_order(client, sourcing={"zone": "川中"}).status_code == 201
    ledger(app).sign_checkpoint()
    ledger(app).verify()


def test_issuing_the_loss_again_records_no_second_compensation(app, owner, verifier, admin, listed):
    project, _ = listed
    loss, first = report_loss(owner, verifier, admin, project)

    again = admin.post(f"/monitoring-reports/{loss['id']}/issuance")

    assert again.status_code == 200
    assert again.get_json()["id"] == first["id"]
    with ledger(app).database.reading() as session:
        assert len(session.scalars(select(BufferCompensation)).all()) == 1
        assert len(session.scalars(select(LotStatusChange)).all()) == 1


def test_a_suspended_lot_resumes_only_once_the_loss_is_made_good(owner, verifier, admin, client, listed):
    project, _ = listed
    report_loss(owner, verifier, admin, project)

    in_loss = admin.post(f"/lots/{LOT}/resumption", {"reason": "火灾已处理"})

    problem = assert_problem(in_loss, 409, "lot_id")
    assert "still in loss" in problem["detail"]
    issue(admin, verified_regain(owner, verifier, project)["id"])
    resumed = admin.post(f"/lots/{LOT}/resumption", {"reason": "2026 年监测期核证的增汇已弥补损失"})
    assert resumed.status_code == 201, resumed.get_json()
    assert resumed.get_json()["status"] == "listed"
    prefix = admin.key.split("_", 2)[1]
    # Who did it: the organisation, the key's name and its public prefix, as the audit trail keeps them.
    assert (
        resumed.get_json()["change"]["actor"]
        == f"四川省林草碳汇登记中心 / 四川省林草碳汇登记中心 test key ({prefix})"
    )
    history = client.get(f"{API}/lots/{LOT}/status-history").get_json()
    assert [c["to_status"] for c in history["changes"]] == ["suspended", "listed"]
    assert history["changes"][1]["reason"] == "2026 年监测期核证的增汇已弥补损失"
    assert individual_order(client, sourcing={"zone": "川西南"}).status_code == 201


def test_a_compensation_recorded_late_names_only_the_batches_issued_before_the_loss(
    app, owner, verifier, admin, listed
):
    """As the demo records its fire: the loss cancelled first, its compensation recorded after more was
    issued. A batch issued after the loss was never affected by it, and its certificates stay valid."""
    project, issuance = listed
    loss = verified_loss(owner, verifier, project)
    service = ledger(app)
    registry = Actor("登记中心", Role.REGISTRY_ADMIN)
    with service.database.unit_of_work() as uow:
        reversal_id = issue_for_report(uow.session, service.sequencer, loss["id"], registry).id
        uow.commit()
    later_batch = issue(admin, verified_regain(owner, verifier, project)["id"])["batch_id"]
    assert later_batch not in (None, issuance["batch_id"])

    with service.database.unit_of_work() as uow:
        reversal = uow.session.get(Issuance, reversal_id)
        assert reversal.buffer_kg > 0
        compensation = record_compensation(uow.session, reversal, actor=registry.name, now=datetime.now(UTC))
        uow.commit()
        assert compensation is not None

    with service.database.reading() as session:
        [recorded] = compensations_of_batches(session, [issuance["batch_id"]])
        assert recorded.batch_ids == (issuance["batch_id"],)
        assert compensations_of_batches(session, [later_batch]) == []
        assert session.get(Lot, LOT).status == "suspended"


def test_the_registry_suspends_and_resumes_a_lot_by_hand_with_a_reason(admin, client, listed):
    available = client.get(f"{API}/lots/{LOT}").get_json()["available_kg"]
    assert available > 0
    suspended = admin.post(f"/lots/{LOT}/suspension", {"reason": "权属争议待核实"})
    assert suspended.status_code == 201, suspended.get_json()
    assert suspended.headers["Location"] == f"{API}/lots/{LOT}/status-history"
    assert suspended.get_json()["change"]["compensation"] is None
    # A suspended lot offers nothing, though RETAIL still holds its kilograms.
    shown = client.get(f"{API}/lots/{LOT}").get_json()
    assert (shown["status"], shown["available_kg"]) == ("suspended", 0)
    assert_problem(individual_order(client, sourcing={"zone": "川西南"}), 409, "quantity_kg")
    assert_problem(admin.post(f"/lots/{LOT}/suspension", {"reason": "again"}), 409, "lot_id")

    resumed = admin.post(f"/lots/{LOT}/resumption", {"reason": "权属已核实"})

    assert resumed.status_code == 201
    assert client.get(f"{API}/lots/{LOT}").get_json()["available_kg"] == available
    assert_problem(admin.post(f"/lots/{LOT}/resumption", {"reason": "again"}), 409, "lot_id")
    assert individual_order(client, sourcing={"zone": "川西南"}).status_code == 201


def test_suspension_is_the_registrys_alone_and_needs_a_reason(admin, owner, other_enterprise, client, listed):
    assert_problem(owner.post(f"/lots/{LOT}/suspension", {"reason": "x"}), 403, "role")
    assert_problem(other_enterprise.post(f"/lots/{LOT}/resumption", {"reason": "x"}), 403, "role")
    assert_problem(client.post(f"{API}/lots/{LOT}/suspension", json={"reason": "x"}), 401, "Authorization")
    assert_problem(admin.post(f"/lots/{LOT}/suspension", {}), 400, "reason")
    assert_problem(admin.post("/lots/L-NONE/suspension", {"reason": "x"}), 404, "lot_id")
    assert_problem(client.get(f"{API}/lots/L-NONE/status-history"), 404, "lot_id")


def test_a_suspension_with_the_same_idempotency_key_is_recorded_once(admin, client, listed):
    headers = {"Idempotency-Key": "suspend-ls01-1"}
    first = admin.post(f"/lots/{LOT}/suspension", {"reason": "核查"}, headers=headers)
    again = admin.post(f"/lots/{LOT}/suspension", {"reason": "核查"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(client.get(f"{API}/lots/{LOT}/status-history").get_json()["changes"]) == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE buffer_compensations SET compensated_kg = 1",
        "DELETE FROM buffer_compensation_batches",
        "UPDATE lot_status_changes SET reason = 'rewritten'",
    ],
)
def test_compensations_and_status_changes_are_append_only(app, owner, verifier, admin, listed, statement):
    project, _ = listed
    report_loss(owner, verifier, admin, project)

    with ledger(app).database.unit_of_work() as uow, pytest.raises(DatabaseError, match="append-only"):
        uow.session.execute(text(statement))


def test_a_batch_affected_by_a_compensated_loss_cannot_be_listed_afterwards(
    app, owner, reviewer, verifier, admin
):
    project = register_project(owner, reviewer)
    report = submit_report(owner, project["id"])
    verify(verifier, report["id"])
    issuance = issue(admin, report["id"])
    report_loss(owner, verifier, admin, project)

    refused = owner.post(
        "/lots",
        {
            "lot_id": "L-LATE",
            "batch_id": issuance["batch_id"],
            "quantity_kg": 1_000,
            "price_fen_per_t": 60_000,
        },
    )

    assert_problem(refused, 409, "batch_id")
    assert "compensated from the buffer" in refused.get_json()["detail"]


def test_the_certificate_pdf_states_the_compensation(app, client, owner, verifier, admin, listed):
    project, _ = listed
    certificate_id = bought_certificate(client, admin, "川西南", "BANK-PDF")
    _, reversal = report_loss(owner, verifier, admin, project)

    pdf = client.get(f"{API}/certificates/{certificate_id}.pdf")

    assert pdf.status_code == 200
    text = "".join(
        "".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(pdf.data)).pages
    )
    assert "已由缓冲池补偿" in text
    assert f"ledgerseq{reversal['ledger_seq']}" in text
