"""CSV downloads: lots, orders, retirements, certificates and an organisation's statement.

Every file is written by :mod:`marketplace.csv_export` (UTF-8 with a BOM, CRLF, formulas in user text
neutralised) from the tables :mod:`marketplace.export_tables` builds, which decide what each may show:

- ``GET /exports/lots.csv``, ``/exports/retirements.csv``, ``/exports/certificates.csv``: public, no key;
  retirements and certificates are pseudonymised (private individuals appear as 匿名, and their
  certificates without the id that would open them).
- ``GET /exports/orders.csv``: the registry's keys see every order; an enterprise buyer's or an event
  organiser's key sees its own organisation's orders only; any other role is refused (403).
- ``GET /organisations/<id>/statement.csv``: as the JSON statement (api/statements_views.py) — the
  organisation's own keys or the registry; another organisation's key gets a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, request, url_for
from marshmallow import fields, validate
from sqlalchemy.orm import Session

from api.auth import require_key
from api.blueprint import api_blueprint as bp
from api.context import database
from api.openapi import document
from api.quotes_views import BUYER_ROLES, READER_ROLES, require_own_organisation
from api.responses import csv_response
from api.schemas_offsets import Strict, load_query
from api.statements_views import StatementQuerySchema
from marketplace import export_tables, statements
from offsets.errors import Forbidden


def _public_export(stem: str, build: Callable[[Session], export_tables.Table]) -> Response:
    """A public export: the table ``build`` makes from a read-only session, as ``csv_response(stem, …)``."""
    with database().reading() as session:
        table = build(session)
    return csv_response(stem, table)


@bp.get("/exports/lots.csv")
@document(
    "Every lot's public facts as CSV (UTF-8 with BOM, spreadsheet-safe)", media_type="text/csv", tag="exports"
)
def export_lots_csv() -> Response:
    return _public_export("lots", export_tables.lots_table)


@bp.get("/exports/orders.csv")
@document(
    "Orders as CSV: every order for the registry, an organisation's own orders for its buyer keys; paged "
    "by placing time (?after=<order id>&limit, RFC 8288 Link rel=next)",
    query="OrderPageQuery",
    roles=READER_ROLES,
    media_type="text/csv",
    tag="exports",
)
def export_orders_csv() -> Response:
    principal = require_key()
    if principal.is_registry:
        organisation_id = None
    elif principal.role in BUYER_ROLES:
        organisation_id = principal.organisation_id
    else:
        raise Forbidden(
            f"a {principal.role} key may not export orders; it needs the role {' or '.join(READER_ROLES)}",
            field="role",
        )
    query = load_query(OrderPageQuery(), request.args)
    with database().reading() as session:
        table = export_tables.orders_table(
            session, organisation_id=organisation_id, after=query.get("after"), limit=query["limit"]
        )
    return _with_next_page(csv_response("orders", table), table, query["limit"])


@bp.get("/exports/retirements.csv")
@document(
    "Every retirement on the ledger as CSV, pseudonymised: private individuals appear as 匿名; paged by "
    "ledger seq (?after_seq&limit, RFC 8288 Link rel=next)",
    query="PageQuery",
    media_type="text/csv",
    tag="exports",
)
def export_retirements_csv() -> Response:
    return _paged_export("retirements", export_tables.retirements_table)


@bp.get("/exports/certificates.csv")
@document(
    "Every certificate as CSV, pseudonymised: a private individual's certificate without its name or id; "
    "paged by ledger seq (?after_seq&limit, RFC 8288 Link rel=next)",
    query="PageQuery",
    media_type="text/csv",
    tag="exports",
)
def export_certificates_csv() -> Response:
    return _paged_export("certificates", export_tables.certificates_table)


def _page_limit() -> fields.Integer:
    return fields.Integer(
        load_default=export_tables.MAX_EXPORT_ROWS,
        validate=validate.Range(min=1, max=export_tables.MAX_EXPORT_ROWS),
    )


class PageQuery(Strict):
    after_seq = fields.Integer(load_default=-1, validate=validate.Range(min=-1, max=2**62))
    """Start after this ledger seq: the ``Link: <…>; rel="next"`` header of the previous page gives it."""
    limit = _page_limit()


class OrderPageQuery(Strict):
    after = fields.String(validate=validate.Length(min=1, max=64))
    """Start after this order: the ``Link: <…>; rel="next"`` header of the previous page gives it."""
    limit = _page_limit()


def _paged_export(stem: str, build: Callable[..., export_tables.Table]) -> Response:
    """A public export paged by ledger seq: ``?after_seq&limit``."""
    query = load_query(PageQuery(), request.args)
    with database().reading() as session:
        table = build(session, after_seq=query["after_seq"], limit=query["limit"])
    return _with_next_page(csv_response(stem, table), table, query["limit"])


def _with_next_page(response: Response, table: export_tables.Table, limit: int) -> Response:
    """A page that is not the last carries an RFC 8288 ``Link`` to the next, so that a consumer never
    mistakes a page for the whole registry."""
    if table.next_page is not None:
        values: dict[str, Any] = {**table.next_page, "limit": limit}
        next_page = url_for(request.endpoint or "", **values)
        response.headers["Link"] = f'<{next_page}>; rel="next"'
    return response


@bp.get("/organisations/<id:organisation_id>/statement.csv")
@document(
    "An organisation's statement as CSV: a row per held range, then a row per ledger entry (?from=&to=)",
    query="StatementQuerySchema",
    roles=READER_ROLES,
    media_type="text/csv",
    tag="exports",
)
def export_statement_csv(organisation_id: int) -> Response:
    principal = require_key()
    require_own_organisation(principal, organisation_id, registry_too=True)
    query = StatementQuerySchema().load(request.args.to_dict())
    with database().reading() as session:
        result = statements.statement(session, organisation_id, since=query["from_"], until=query["to"])
    return csv_response(f"statement-{organisation_id}", export_tables.statement_table(result))
