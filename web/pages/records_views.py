"""A certificate's public page and the public retirement registry.

Both are read on the read replica when there is one (:func:`ledger.replica_reads.read_published`), the
certificate page being what a certificate's QR code opens; a certificate the replica does not hold yet
is read on the primary.
"""

from __future__ import annotations

from flask import abort, render_template, request

from api.context import database
from ledger.replica_reads import read_published
from marketplace.certificate_document import certificate_document
from offsets.errors import NotFound
from web.pages import pages_blueprint as bp
from web.pages.public_figures import retirement_registry


@bp.get("/certificates/<certificate_id>")
def certificate(certificate_id: str) -> str:
    """The certificate by its unguessable id: whoever holds the link sees the beneficiary's name."""
    try:
        document = read_published(
            database(), lambda session: certificate_document(session, certificate_id), absent=(NotFound,)
        )
    except NotFound:
        abort(404)
    return render_template("certificate.html", cert=document)


@bp.get("/registry")
def registry() -> str:
    page_text = request.args.get("page", "1")
    page = int(page_text) if page_text.isdigit() and len(page_text) <= 6 else 1
    listing = read_published(database(), lambda session: retirement_registry(session, page))
    return render_template("registry.html", listing=listing)
