"""Retirement certificates: the document with its offline proof, and the same proof as a ``.tlog-proof`` file.

A certificate's id is random and unguessable; whoever holds it is the certificate's holder, so the
document always carries the beneficiary's name — with the salt of ``ledger_beneficiary_secrets`` when
the retirement is private, so that ``tanhui certificate verify`` can prove the name against the entry's
commitment. The public registry (not here yet) shows only public names. The proof is
``LedgerService.proof_for(seq)``, which signs a covering checkpoint if none exists yet (DESIGN.md,
"Ledger contract"), so the certificate verifies as soon as the order is fulfilled.
"""

from __future__ import annotations

import json

from flask import Response
from marshmallow import Schema, fields
from sqlalchemy.orm import Session

from api.blueprint import api_blueprint as bp
from api.context import database, ledger_service
from api.openapi import document
from ledger.certificate_check import tlog_proof_with_body
from marketplace.certificate_document import build_certificate_document
from marketplace.models import Certificate
from offsets.errors import NotFound

MAX_CERTIFICATE_ID_CHARS = 32


class CertificateSchema(Schema):
    id = fields.String()
    order_id = fields.String()
    seq = fields.Integer()
    account = fields.String()
    beneficiary = fields.Dict()
    reason = fields.String()
    details = fields.String()
    quantity_kg = fields.Integer()
    ranges = fields.List(fields.Dict())
    projects = fields.List(fields.Dict())
    counties = fields.List(fields.String())
    zones = fields.List(fields.String())
    poverty_area_kg = fields.Integer()
    poverty_area_share_percent = fields.String()
    price_fen = fields.Integer()
    created_at = fields.String()
    proof = fields.Dict()


@bp.get("/certificates/<certificate_id>")
@document(
    "A retirement certificate with its offline-verifiable proof",
    response="CertificateSchema",
    tag="marketplace",
)
def get_certificate(certificate_id: str) -> Response:
    with database().reading() as session:
        certificate = _certificate(session, certificate_id)
        body = build_certificate_document(session, certificate)
    body["proof"] = ledger_service().proof_for(body["seq"]).as_json()
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")


@bp.get("/certificates/<certificate_id>.tlog-proof")
@document(
    "The certificate's proof as a C2SP tlog-proof file carrying the entry body", text=True, tag="marketplace"
)
def get_certificate_tlog_proof(certificate_id: str) -> Response:
    with database().reading() as session:
        seq = _certificate(session, certificate_id).seq
    proof = ledger_service().proof_for(seq)
    text = tlog_proof_with_body(proof.seq, proof.body, proof.checkpoint, proof.inclusion)
    response = Response(text, mimetype="text/plain")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="certificate-{certificate_id}.tlog-proof"'
    )
    return response


def _certificate(session: Session, certificate_id: str) -> Certificate:
    certificate = (
        session.get(Certificate, certificate_id) if len(certificate_id) <= MAX_CERTIFICATE_ID_CHARS else None
    )
    if certificate is None:
        raise NotFound(f"no certificate {certificate_id}", field="certificate_id")
    return certificate
