"""The signed-in users' pages, one set per role, on the same domain functions as the API views.

- ``/account``: who is signed in, and the pages of their role.
- ``registry_admin``: ``/registry-admin/invoices``, the orders awaiting an invoice payment (reserved,
  unpaid), each with a form to confirm the receipt — :func:`marketplace.order_store.record_invoice_payment`
  exactly as ``POST /api/v1/orders/<id>/invoice-payment`` calls it (api/orders_views.py), including the
  buying enterprise's ledger account, so that the confirmation fulfils the order. The bank's reference is
  the idempotency key: the same confirmation sent twice records one payment.
- ``enterprise_buyer``: ``/account/statement``, the organisation's holdings and history
  (:func:`marketplace.statements.statement`, as api/statements_views.py) and its orders with their
  certificates; ``/account/statement.csv``, the same statement as the API's CSV (written by the one CSV
  writer from :func:`marketplace.export_tables.statement_table`), since the API's CSV needs an API key.
- ``event_organiser``: ``/account/events``, the organisation's events with their public pages.
- ``individual``: ``/account/orders`` lists the micro-sink orders placed while signed in (``orders.user_id``);
  an order placed without signing in stays theirs by its unguessable link alone.

Every organisation page reads the signed-in user's own organisation id from the session's user, never
from the request, so another organisation's data cannot be asked for.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from flask import abort, redirect, render_template, request, url_for
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from api import users
from api.context import database, ledger_service
from api.responses import csv_response
from api.users import INDIVIDUAL, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS
from ledger.errors import LedgerError
from marketplace import events, export_tables, order_store, statements
from marketplace.journey_models import CarbonNeutralEvent
from marketplace.models import Certificate, MarketOrder
from marketplace.orders import OrderError, OrderState
from offsets.errors import InvalidInput
from offsets.lifecycle import Role
from offsets.models import Organisation
from web.pages import pages_blueprint as bp
from web.pages.formatting import FEN_PER_YUAN
from web.pages.invoice_form import read_invoice_payment
from web.pages.refusals import Refusal, refusal_of
from web.pages.sign_in import current_user, renew_session, require_role

REGISTRY_ADMIN: Final = Role.REGISTRY_ADMIN.value
ENTERPRISE_BUYER: Final = "enterprise_buyer"
EVENT_ORGANISER: Final = "event_organiser"
MAX_LISTED: Final = 200
"""Rows a page lists (the oldest awaiting orders, the newest orders and history lines); CSV has them all."""
MAX_ORDER_ID_CHARS: Final = 64
PAGES_OF_ROLE: Final = {
    REGISTRY_ADMIN: ("pages.admin_invoices",),
    ENTERPRISE_BUYER: ("pages.account_statement",),
    EVENT_ORGANISER: ("pages.account_events",),
    INDIVIDUAL: ("pages.account_orders",),
}


@bp.get("/account")
@require_role()
def account() -> str:
    user = current_user()
    return render_template("account.html", user=user, pages=PAGES_OF_ROLE.get(user.role, ()))


# --- every user: their password ---------------------------------------------------------------------------


def _password_page(
    changed: bool = False, error: dict[str, Any] | None = None, status: int = 200
) -> tuple[str, int]:
    page = render_template(
        "account_password.html",
        changed=changed,
        error=error,
        min_chars=MIN_PASSWORD_CHARS,
        max_chars=MAX_PASSWORD_CHARS,
    )
    return page, status


@bp.get("/account/password")
@require_role()
def change_password_form() -> tuple[str, int]:
    return _password_page(changed=request.args.get("changed") == "1")


@bp.post("/account/password")
@require_role()
def change_password() -> Response | tuple[str, int]:
    """Change the signed-in user's own password; their other sessions end, this one is renewed."""
    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")
    if new != request.form.get("confirm_password", ""):
        return _password_page(error={"field": "confirm_password"}, status=422)
    user_id = current_user().id
    try:
        with database().unit_of_work() as uow:
            users.change_password(
                uow.session, user_id, current_password=current, new_password=new, now=datetime.now(UTC)
            )
            uow.commit()
    except InvalidInput as refusal:
        same = refusal.field == "new_password" and "other than" in refusal.message
        return _password_page(error={"field": refusal.field, "same": same}, status=422)
    renew_session(user_id)
    return redirect(url_for("pages.change_password_form", changed="1"), code=303)


# --- the registry: invoices awaiting confirmation ---------------------------------------------------------


def _awaiting_invoices(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(MarketOrder, Organisation.name)
        .outerjoin(Organisation, Organisation.id == MarketOrder.buyer_organisation_id)
        # An expired order may still receive a late bank transfer: confirming it re-reserves the stock and
        # fulfils the order, or records the payment with its refund when the stock is gone
        # (marketplace.orders); it must not be left without a way to record the money.
        .where(MarketOrder.state.in_([OrderState.RESERVED.value, OrderState.EXPIRED.value]))
        .order_by(MarketOrder.state.desc(), MarketOrder.placed_at, MarketOrder.id)
        .limit(MAX_LISTED)
    ).all()
    return [
        {
            "id": order.id,
            "kind": order.kind,
            "state": order.state,
            "buyer": organisation_name or order.buyer_display_name,
            "quantity_kg": order.quantity_kg,
            "price_fen": order.price_fen,
            "price_yuan_text": f"{order.price_fen // FEN_PER_YUAN}.{order.price_fen % FEN_PER_YUAN:02d}",
            "placed_at": order.placed_at,
        }
        for order, organisation_name in rows
    ]


def _confirmed(session: Session, order_id: str) -> dict[str, Any] | None:
    row = session.get(MarketOrder, order_id) if len(order_id) <= MAX_ORDER_ID_CHARS else None
    if row is None:
        return None
    return {
        "id": row.id,
        "state": row.state,
        "quantity_kg": row.quantity_kg,
        "price_fen": row.price_fen,
        "certificate_id": session.scalar(select(Certificate.id).where(Certificate.order_id == row.id)),
    }


def _invoices_page(
    *,
    failed: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    refusal: Refusal | None = None,
    status: int = 200,
) -> tuple[str, int]:
    confirmed_id = request.args.get("confirmed", "")
    with database().reading() as session:
        awaiting = _awaiting_invoices(session)
        confirmed = _confirmed(session, confirmed_id) if confirmed_id and failed is None else None
    return (
        render_template(
            "admin_invoices.html",
            awaiting=awaiting,
            confirmed=confirmed,
            failed=failed,
            values=values or {},
            errors=errors or {},
            refusal=refusal,
            max_listed=MAX_LISTED,
        ),
        status,
    )


@bp.get("/registry-admin/invoices")
@require_role(REGISTRY_ADMIN)
def admin_invoices() -> tuple[str, int]:
    return _invoices_page()


@bp.post("/registry-admin/invoices/<order_id>")
@require_role(REGISTRY_ADMIN)
def confirm_invoice(order_id: str) -> Response | tuple[str, int]:
    values = {name: request.form.get(name, "") for name in ("amount", "unit", "reference")}
    payment, errors = read_invoice_payment(request.form)
    if payment is None:
        return _invoices_page(failed=order_id, values=values, errors=errors, status=422)
    service = ledger_service()
    try:
        with database().unit_of_work() as uow:
            session = uow.session
            row = session.get(MarketOrder, order_id) if len(order_id) <= MAX_ORDER_ID_CHARS else None
            if row is None:
                abort(404)
            buyer_account = order_store.buyer_ledger_account(session, row)
            order_store.record_invoice_payment(
                session,
                service.sequencer,
                row,
                reference=payment.reference,
                amount_fen=payment.amount_fen,
                now=datetime.now(UTC),
                ledger_account_of_buyer=buyer_account,
            )
            uow.commit()
    except (OrderError, LedgerError) as error:
        return _invoices_page(failed=order_id, values=values, refusal=refusal_of(error), status=error.status)
    return redirect(url_for("pages.admin_invoices", confirmed=order_id), code=303)


# --- an enterprise: its statement and orders ----------------------------------------------------------------


def _organisation_orders(session: Session, organisation_id: int) -> list[dict[str, Any]]:
    return _orders_where(session, MarketOrder.buyer_organisation_id == organisation_id)


def _orders_where(session: Session, condition: ColumnElement[bool]) -> list[dict[str, Any]]:
    rows = session.execute(
        select(MarketOrder, Certificate.id)
        .outerjoin(Certificate, Certificate.order_id == MarketOrder.id)
        .where(condition)
        .order_by(MarketOrder.placed_at.desc(), MarketOrder.id)
        .limit(MAX_LISTED)
    ).all()
    return [
        {
            "id": order.id,
            "kind": order.kind,
            "state": order.state,
            "quantity_kg": order.quantity_kg,
            "price_fen": order.price_fen,
            "placed_at": order.placed_at,
            "beneficiary_name": order.beneficiary_name,
            "certificate_id": certificate_id,
        }
        for order, certificate_id in rows
    ]


def _own_organisation_id() -> int:
    organisation_id = current_user().organisation_id
    assert organisation_id is not None, "an organisation's page for a user without one"
    return organisation_id


@bp.get("/account/statement")
@require_role(ENTERPRISE_BUYER)
def account_statement() -> str:
    organisation_id = _own_organisation_id()
    with database().reading() as session:
        result = statements.statement(session, organisation_id)
        orders = _organisation_orders(session, organisation_id)
    history = list(reversed(result.history))[:MAX_LISTED]
    return render_template(
        "account_statement.html", statement=result, history=history, orders=orders, max_listed=MAX_LISTED
    )


@bp.get("/account/statement.csv")
@require_role(ENTERPRISE_BUYER)
def account_statement_csv() -> Response:
    organisation_id = _own_organisation_id()
    with database().reading() as session:
        result = statements.statement(session, organisation_id)
    return csv_response(f"statement-{organisation_id}", export_tables.statement_table(result))


# --- an event organiser: its events ------------------------------------------------------------------------


@bp.get("/account/events")
@require_role(EVENT_ORGANISER)
def account_events() -> str:
    organisation_id = _own_organisation_id()
    with database().reading() as session:
        event_ids = session.scalars(
            select(CarbonNeutralEvent.id)
            .where(CarbonNeutralEvent.organisation_id == organisation_id)
            .order_by(CarbonNeutralEvent.starts_on.desc(), CarbonNeutralEvent.id.desc())
            .limit(MAX_LISTED)
        ).all()
        records = [events.public_record(session, event_id) for event_id in event_ids]
        orders = _organisation_orders(session, organisation_id)
    return render_template("account_events.html", records=records, orders=orders, max_listed=MAX_LISTED)


# --- an individual ----------------------------------------------------------------------------------------


@bp.get("/account/orders")
@require_role(INDIVIDUAL)
def account_orders() -> str:
    """The micro-sink orders this individual placed while signed in, newest first."""
    with database().reading() as session:
        orders = _orders_where(session, MarketOrder.user_id == current_user().id)
    return render_template("account_orders.html", orders=orders, max_listed=MAX_LISTED)
