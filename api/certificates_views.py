"""Retirement certificates: the document with its offline proof, the same proof as a ``.tlog-proof`` file,
the certificate as a PDF and the QR code of its public page.

A certificate's id is random and unguessable; whoever holds it is the certificate's holder, so the
document always carries the beneficiary's name — with the salt of ``ledger_beneficiary_secrets`` when
the retirement is private, so that ``tanhui certificate verify`` can prove the name against the entry's
commitment. The public registry (not here yet) shows only public names. The proof is
``LedgerService.proof_for(seq)``, which signs a covering checkpoint if none exists yet (DESIGN.md,
"Ledger contract"), so the certificate verifies as soon as the order is fulfilled.

The public page is ``<TANHUI_PUBLIC_BASE_URL>/certificates/<id>``; without that setting, the host the
request came to (``request.host_url``), which is right for one host but not behind a proxy that rewrites it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Response, current_app, request
from marshmallow import Schema, fields
from sqlalchemy.orm import Session

from api.blueprint import api_blueprint as bp
from api.context import database, ledger_service
from api.footprints_views import BilingualTextSchema
from api.openapi import document
from api.responses import json_response
from api.reversals_views import BufferCompensationSchema
from api.schemas_offsets import LedgerRangeSchema
from ledger.certificate_check import tlog_proof_with_body
from ledger.replica_reads import read_published
from marketplace.certificate_document import certificate_document, find_certificate
from marketplace.certificate_pdf import render_certificate_pdf
from marketplace.certificate_qr import qr_svg
from offsets.errors import NotFound

T = TypeVar("T")


# ``x-only-for`` (api/schemas_offsets.py) of the keys a certificate leaves out, rather than null, when they do
# not apply: the beneficiary's name and salt (marketplace.certificate_document: an erased secret leaves a
# private retirement only its commitment) and the details of a project known only by its ledger code.
NAMED_ONLY_FOR = "public retirements, and private ones whose name and salt have not been erased"
SALTED_ONLY_FOR = "private retirements whose name and salt have not been erased"
KNOWN_PROJECT_ONLY_FOR = "projects in the registry's tables (a batch's project may be known only by its code)"


class CertificateBeneficiarySchema(Schema):
    public = fields.Boolean(metadata={"description": "false: the entry body holds only a commitment"})
    name = fields.String(metadata={"description": f"only for {NAMED_ONLY_FOR}", "x-only-for": NAMED_ONLY_FOR})
    salt = fields.String(
        metadata={
            "description": "with the name, reproduces the entry body's commitment "
            f"SHA-256(canonical {{name, salt}}); only for {SALTED_ONLY_FOR}",
            "x-only-for": SALTED_ONLY_FOR,
        }
    )


class CertificateProjectSchema(Schema):
    code = fields.String()
    name = fields.String(
        allow_none=True, metadata={"description": "null: a project the registry does not know"}
    )
    project_type = fields.String(metadata={"x-only-for": KNOWN_PROJECT_ONLY_FOR})
    project_type_zh = fields.String(metadata={"x-only-for": KNOWN_PROJECT_ONLY_FOR})
    project_type_en = fields.String(metadata={"x-only-for": KNOWN_PROJECT_ONLY_FOR})
    county_code = fields.String(metadata={"x-only-for": KNOWN_PROJECT_ONLY_FOR})
    zone = fields.String(metadata={"x-only-for": KNOWN_PROJECT_ONLY_FOR})


class CertificateCountySchema(Schema):
    code = fields.String(metadata={"description": "the county's administrative division code"})
    name = fields.String(allow_none=True, metadata={"description": "null: a code the region data lacks"})
    prefecture = fields.String(allow_none=True)
    poverty_county = fields.Boolean(
        metadata={"description": "a poverty county, as the batches' sourcing says (a lot's flag when listed)"}
    )


class CertificateZoneSchema(Schema):
    key = fields.String(metadata={"description": "the development zone, one of the zones' keys"})
    zh = fields.String(metadata={"description": "the key itself for a zone the region data lacks"})
    en = fields.String(metadata={"description": "the key itself for a zone the region data lacks"})


class CertificateProofSchema(Schema):
    seq = fields.Integer()
    body = fields.String(metadata={"description": "the exact RFC 8785 entry body text"})
    checkpoint = fields.String(metadata={"description": "the signed checkpoint note covering the entry"})
    inclusion = fields.List(
        fields.String(), metadata={"description": "the entry's Merkle inclusion path, lowercase hex hashes"}
    )


class CertificateSchema(Schema):
    id = fields.String()
    order_id = fields.String(allow_none=True)
    seq = fields.Integer()
    account = fields.String()
    beneficiary = fields.Nested(CertificateBeneficiarySchema)
    reason = fields.String()
    purpose = fields.Nested(BilingualTextSchema, metadata={"description": "the reason in words"})
    details = fields.String()
    quantity_kg = fields.Integer()
    ranges = fields.List(fields.Nested(LedgerRangeSchema))
    projects = fields.List(fields.Nested(CertificateProjectSchema))
    counties = fields.List(fields.String())
    county_names = fields.List(fields.Nested(CertificateCountySchema))
    zones = fields.List(fields.String())
    zone_names = fields.List(fields.Nested(CertificateZoneSchema))
    poverty_area_kg = fields.Integer()
    poverty_area_share_percent = fields.String()
    price_fen = fields.Integer(allow_none=True, metadata={"description": "null: retired outside an order"})
    created_at = fields.String()
    status = fields.String(metadata={"description": "valid or compensated_by_buffer (a reversal)"})
    status_label = fields.Nested(BilingualTextSchema, metadata={"description": "the status in words"})
    compensation = fields.Nested(
        BufferCompensationSchema,
        allow_none=True,
        metadata={"description": "the (earliest) buffer compensation affecting the certificate, or null"},
    )
    compensations = fields.List(
        fields.Nested(BufferCompensationSchema),
        metadata={"description": "every such compensation, oldest first"},
    )
    proof = fields.Nested(
        CertificateProofSchema,
        metadata={"description": "the offline proof: tanhui certificate verify checks it"},
    )


@bp.get("/certificates/<certificate_id>")
@document(
    "A retirement certificate with its offline-verifiable proof",
    response="CertificateSchema",
    tag="marketplace",
)
def get_certificate(certificate_id: str) -> Response:
    body = _replicated(lambda session: certificate_document(session, certificate_id))
    body["proof"] = ledger_service().proof_for(body["seq"]).as_json()
    return json_response(body)


@bp.get("/certificates/<certificate_id>.tlog-proof")
@document(
    "The certificate's proof as a C2SP tlog-proof file carrying the entry body", text=True, tag="marketplace"
)
def get_certificate_tlog_proof(certificate_id: str) -> Response:
    seq = _replicated(lambda session: find_certificate(session, certificate_id).seq)
    proof = ledger_service().proof_for(seq)
    text = tlog_proof_with_body(proof.seq, proof.body, proof.checkpoint, proof.inclusion)
    response = Response(text, mimetype="text/plain")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="certificate-{certificate_id}.tlog-proof"'
    )
    return response


@bp.get("/certificates/<certificate_id>.pdf")
@document(
    "The certificate as an A4 PDF (Chinese and English) with a QR code to its page",
    media_type="application/pdf",
    tag="marketplace",
)
def get_certificate_pdf(certificate_id: str) -> Response:
    body = _replicated(lambda session: certificate_document(session, certificate_id))
    body["proof"] = ledger_service().proof_for(body["seq"]).as_json()
    base = _public_base_url()
    pdf = render_certificate_pdf(
        body,
        f"{base}/certificates/{certificate_id}",
        json_url=f"{base}{bp.url_prefix}/certificates/{certificate_id}",
    )
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="certificate-{certificate_id}.pdf"'
    return response


@bp.get("/certificates/<certificate_id>/qr.svg")
@document("The QR code (SVG) of the certificate's public page", media_type="image/svg+xml", tag="marketplace")
def get_certificate_qr(certificate_id: str) -> Response:
    _replicated(lambda session: find_certificate(session, certificate_id))
    svg = qr_svg(f"{_public_base_url()}/certificates/{certificate_id}")
    return Response(svg, mimetype="image/svg+xml")


def _public_base_url() -> str:
    """Where the public pages live, without a trailing slash."""
    base: str = current_app.config.get("TANHUI_PUBLIC_BASE_URL") or request.host_url
    return base.rstrip("/")


def _replicated(read: Callable[[Session], T]) -> T:
    """``read`` on the read replica, or on the primary when the replica has no such certificate yet."""
    return read_published(database(), read, absent=(NotFound,))
