"""A certificate's public page and the public retirement registry.

Both are read on the read replica when there is one (:func:`ledger.replica_reads.read_published`), the
certificate page being what a certificate's QR code opens; a certificate the replica does not hold yet
is read on the primary.
"""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from sqlalchemy.orm import Session

from api.context import database
from ledger.replica_reads import read_published
from marketplace.certificate_document import build_certificate_document
from marketplace.models import Certificate
from offsets.errors import NotFound
from web.pages import pages_blueprint as bp
from web.pages.public_figures import retirement_registry

MAX_CERTIFICATE_ID_CHARS = 32


@bp.get("/certificates/<certificate_id>")
def certificate(certificate_id: str) -> str:
    """The certificate by its unguessable id: whoever holds the link sees the beneficiary's name."""
    if len(certificate_id) > MAX_CERTIFICATE_ID_CHARS:
        abort(404)
    try:
        document = read_published(
            database(), lambda session: _certificate_document(session, certificate_id), absent=(NotFound,)
        )
    except NotFound:
        abort(404)
    return render_template("certificate.html", cert=document)


def _certificate_document(session: Session, certificate_id: str) -> dict[str, Any]:
    row = session.get(Certificate, certificate_id)
    if row is None:
        raise NotFound(f"no certificate {certificate_id}", field="certificate_id")
    return build_certificate_document(session, row)


@bp.get("/registry")
def registry() -> str:
    page_text = request.args.get("page", "1")
    page = int(page_text) if page_text.isdigit() and len(page_text) <= 6 else 1
    listing = read_published(database(), lambda session: retirement_registry(session, page))
    return render_template("registry.html", listing=listing)
