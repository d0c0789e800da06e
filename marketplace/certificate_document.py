"""What a retirement certificate states, read from the ledger entry that retired it and the lots it drew on.

Every ledger fact (account, beneficiary, reason, details, quantity, serial ranges) is read from the entry
body itself, so the document says nothing the proof does not back. The sourcing facts (projects,
counties, zones, poverty-area share) come from the lots the ranges were sold from, as they were at listing
time. Flask-free: the API and the pages both render this.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.entries import parse_body
from ledger.models import BeneficiarySecret, Entry
from marketplace.models import Certificate, Lot, MarketOrder
from offsets.models import Project


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
    batches = sorted({item["batch"] for item in ranges})
    lots = {lot.batch_id: lot for lot in session.scalars(select(Lot).where(Lot.batch_id.in_(batches)))}
    projects = session.scalars(
        select(Project)
        .where(Project.id.in_({lot.project_id for lot in lots.values()}))
        .order_by(Project.code)
    ).all()
    kg_by_batch: dict[str, int] = {}
    for item in ranges:
        kg_by_batch[item["batch"]] = kg_by_batch.get(item["batch"], 0) + item["end"] - item["start"] + 1
    poverty_kg = sum(kg for batch, kg in kg_by_batch.items() if batch in lots and lots[batch].poverty_county)
    share = (Decimal(poverty_kg * 100) / Decimal(data["quantity_kg"])).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_EVEN
    )
    return {
        "id": certificate.id,
        "order_id": certificate.order_id,
        "seq": certificate.seq,
        "account": data["account"],
        "beneficiary": beneficiary,
        "reason": data["reason"],
        "details": data["details"],
        "quantity_kg": data["quantity_kg"],
        "ranges": ranges,
        "projects": [{"code": project.code, "name": project.name} for project in projects],
        "counties": sorted({lot.county_code for lot in lots.values()}),
        "zones": sorted({lot.zone for lot in lots.values()}),
        "poverty_area_kg": poverty_kg,
        "poverty_area_share_percent": str(share),
        "price_fen": order.price_fen if order is not None else None,
        "created_at": certificate.created_at.isoformat(),
    }
