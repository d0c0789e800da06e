"""What a retirement certificate states, read from the entry that retired it and the batches it drew on.

Every ledger fact (account, beneficiary, reason, details, quantity, serial ranges) is read from the entry
body itself, so the document says nothing the proof does not back. The sourcing facts (projects,
counties, zones, poverty-area share) are derived per batch of the retired ranges: from the lot the batch
was listed as, as it was at listing time, when there is one; otherwise (a batch retired without ever being
listed, e.g. by its owner) from the batch's project (``ledger_batches.project`` is the project's code) and
today's region data. Its ``status`` (valid / compensated_by_buffer, with the ``compensation`` or null) is
:func:`marketplace.reversals.certificate_status`. Flask-free: the API, the pages and the PDF all render this.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.entries import parse_body
from ledger.models import Batch, BeneficiarySecret, Entry
from ledger.orm import as_utc
from marketplace.models import Certificate, Lot, MarketOrder
from marketplace.reversals import certificate_status
from offsets import regions
from offsets.errors import NotFound
from offsets.models import Project

PURPOSES: dict[str, tuple[str, str]] = {
    "compliance_period": ("履约清缴", "Compliance"),
    "event": ("大型活动碳中和", "Event carbon neutrality"),
    "personal_footprint": ("个人碳足迹抵消", "Personal carbon footprint offset"),
    "voluntary_corporate": ("企业自愿减排", "Voluntary corporate offset"),
    "gift": ("赠送", "Gift"),
    "other": ("其他", "Other"),
}
"""The certificate's wording of each ledger retirement reason (``ledger.commands.RETIREMENT_REASONS``)."""


@dataclass(frozen=True)
class _BatchSourcing:
    """Where one batch's kilograms come from, as the certificate states it."""

    project_code: str
    county_code: str | None
    zone: str | None
    poverty_county: bool


MAX_CERTIFICATE_ID_CHARS = 32
"""Certificate ids are opaque and short; a longer one names no certificate (and is never looked up)."""


def find_certificate(session: Session, certificate_id: str) -> Certificate:
    """The certificate by its id; :class:`offsets.errors.NotFound` if there is none."""
    certificate = (
        session.get(Certificate, certificate_id) if len(certificate_id) <= MAX_CERTIFICATE_ID_CHARS else None
    )
    if certificate is None:
        raise NotFound(f"no certificate {certificate_id}", field="certificate_id")
    return certificate


def certificate_document(session: Session, certificate_id: str) -> dict[str, Any]:
    """:func:`build_certificate_document` of the certificate with this id (NotFound if none)."""
    return build_certificate_document(session, find_certificate(session, certificate_id))


def build_certificate_document(session: Session, certificate: Certificate) -> dict[str, Any]:
    """What the certificate states; every ledger fact is read from the entry body itself, so it verifies."""
    body_text = session.scalar(select(Entry.body).where(Entry.seq == certificate.seq))
    assert body_text is not None
    data = parse_body(body_text.encode("utf-8")).data
    order = session.get(MarketOrder, certificate.order_id) if certificate.order_id is not None else None
    beneficiary: dict[str, Any] = {"public": data["beneficiary"]["public"]}
    if beneficiary["public"]:
        beneficiary["name"] = data["beneficiary"]["name"]
    else:
        secret = session.get(BeneficiarySecret, certificate.seq)
        if secret is not None:  # an erased secret leaves only the commitment
            beneficiary |= {"name": secret.name, "salt": secret.salt}
    ranges = data["ranges"]
    kg_by_batch: dict[str, int] = {}
    for item in ranges:
        kg_by_batch[item["batch"]] = kg_by_batch.get(item["batch"], 0) + item["end"] - item["start"] + 1
    projects, sourcing = _sourcing(session, sorted(kg_by_batch))
    poverty_kg = sum(kg for batch, kg in kg_by_batch.items() if sourcing[batch].poverty_county)
    share = (Decimal(poverty_kg * 100) / Decimal(data["quantity_kg"])).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_EVEN
    )
    county_codes = sorted({s.county_code for s in sourcing.values() if s.county_code is not None})
    zone_keys = sorted({s.zone for s in sourcing.values() if s.zone is not None})
    purpose_zh, purpose_en = PURPOSES.get(data["reason"], (data["reason"], data["reason"]))
    return {
        "id": certificate.id,
        "order_id": certificate.order_id,
        "seq": certificate.seq,
        "account": data["account"],
        "beneficiary": beneficiary,
        "reason": data["reason"],
        "purpose": {"zh": purpose_zh, "en": purpose_en},
        "details": data["details"],
        "quantity_kg": data["quantity_kg"],
        "ranges": ranges,
        "projects": [
            _project_json(code, projects.get(code))
            for code in sorted({s.project_code for s in sourcing.values()})
        ],
        "counties": county_codes,
        "county_names": [
            _county_json(code, any(s.poverty_county for s in sourcing.values() if s.county_code == code))
            for code in county_codes
        ],
        "zones": zone_keys,
        "zone_names": [_zone_json(key) for key in zone_keys],
        "poverty_area_kg": poverty_kg,
        "poverty_area_share_percent": str(share),
        "price_fen": order.price_fen if order is not None else None,
        "created_at": as_utc(certificate.created_at).isoformat(),
        # Reversal status (marketplace.reversals): "valid", or "compensated_by_buffer" when the buffer pool
        # compensated a loss in a project whose batch the certificate's ranges come from.
        **certificate_status(session, kg_by_batch),
    }


def _sourcing(session: Session, batch_ids: list[str]) -> tuple[dict[str, Project], dict[str, _BatchSourcing]]:
    """The projects (by code) of ``batch_ids`` and each batch's sourcing: its lot's, or else its project's."""
    lots = {lot.batch_id: lot for lot in session.scalars(select(Lot).where(Lot.batch_id.in_(batch_ids)))}
    rows = session.execute(select(Batch.id, Batch.project).where(Batch.id.in_(batch_ids)))
    project_of_batch: dict[str, str] = {row.id: row.project for row in rows}
    assert set(project_of_batch) == set(batch_ids), "a retired range names a batch the ledger never issued"
    projects = {
        project.code: project
        for project in session.scalars(
            select(Project).where(Project.code.in_(set(project_of_batch.values())))
        )
    }
    sourcing: dict[str, _BatchSourcing] = {}
    for batch_id in batch_ids:
        code = project_of_batch[batch_id]
        lot = lots.get(batch_id)
        project = projects.get(code)
        if lot is not None:
            sourcing[batch_id] = _BatchSourcing(code, lot.county_code, lot.zone, lot.poverty_county)
        elif project is not None:
            poverty = _known_division(project.county_code) and regions.poverty_status(project.county_code)
            sourcing[batch_id] = _BatchSourcing(code, project.county_code, project.zone, bool(poverty))
        else:  # issued on the ledger for a project the registry's tables do not know: state only the code
            sourcing[batch_id] = _BatchSourcing(code, None, None, poverty_county=False)
    return projects, sourcing


def _project_json(code: str, project: Project | None) -> dict[str, Any]:
    if project is None:
        return {"code": code, "name": None}
    type_en = project.project_type.replace("_", " ").capitalize()
    return {
        "code": code,
        "name": project.name,
        "project_type": project.project_type,
        "project_type_zh": regions.regions().project_types.get(project.project_type, project.project_type),
        "project_type_en": type_en,
        "county_code": project.county_code,
        "zone": project.zone,
    }


def _county_json(code: str, poverty_county: bool) -> dict[str, Any]:
    """A county's names; ``poverty_county`` as the batches' sourcing says (a lot's flag at listing time)."""
    division = regions.division(code) if _known_division(code) else None
    return {
        "code": code,
        "name": division.name if division else None,
        "prefecture": division.prefecture if division else None,
        "poverty_county": poverty_county,
    }


def _zone_json(key: str) -> dict[str, Any]:
    zone = regions.regions().zones.get(key)
    if zone is None:
        return {"key": key, "zh": key, "en": key}
    return {"key": key, "zh": zone.name_zh, "en": zone.name_en}


def _known_division(code: str) -> bool:
    return code in regions.regions().divisions
