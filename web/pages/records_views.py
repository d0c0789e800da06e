"""A certificate's public page and the public retirement registry."""

from __future__ import annotations

from flask import abort, render_template, request

from api.context import database
from marketplace.certificate_document import build_certificate_document
from marketplace.models import Certificate
from web.pages import pages_blueprint as bp
from web.pages.public_figures import retirement_registry

MAX_CERTIFICATE_ID_CHARS = 32


@bp.get("/certificates/<certificate_id>")
def certificate(certificate_id: str) -> str:
    """The certificate by its unguessable id: whoever holds the link sees the beneficiary's name."""
    if len(certificate_id) > MAX_CERTIFICATE_ID_CHARS:
        abort(404)
    with database().reading() as session:
        row = session.get(Certificate, certificate_id)
        if row is None:
            abort(404)
        document = build_certificate_document(session, row)
    return render_template("certificate.html", cert=document)


@bp.get("/registry")
def registry() -> str:
    page_text = request.args.get("page", "1")
    page = int(page_text) if page_text.isdigit() and len(page_text) <= 6 else 1
    with database().reading() as session:
        listing = retirement_registry(session, page)
    return render_template("registry.html", listing=listing)
