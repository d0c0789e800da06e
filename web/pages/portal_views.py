"""The portal, the public project registry, a project's page, the ledger page and an event's page.

The public figures (the portal, the registry, a project's and an event's page) are read on the read
replica when there is one (:func:`ledger.replica_reads.read_published`): a replica a moment behind shows
figures a moment old, and a project or event it does not hold yet is read on the primary. The ledger
page reports the primary's own state (its checkpoints, verification and witnesses), read there.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from flask import abort, current_app, render_template, request, url_for

from api.blueprint import api_blueprint
from api.context import database, ledger_service
from ledger import checkpoints
from ledger.replica_reads import read_published
from ledger.verification_runs import latest_run
from ledger.witnessing import kept_cosignatures
from marketplace import events
from offsets import regions
from offsets.errors import NotFound
from offsets.models import PROJECT_TYPES
from web.pages import pages_blueprint as bp
from web.pages.public_figures import portal_totals, project_page, project_rows


@bp.get("/")
def portal() -> str:
    totals = read_published(database(), portal_totals)
    return render_template("portal.html", totals=totals, poverty_summary_url=_poverty_summary_url())


def _poverty_summary_url() -> str | None:
    """The public sales summary by zone (``GET /api/v1/public/poverty-summary``), when the API has it."""
    for rule in current_app.url_map.iter_rules():
        if rule.rule == f"{api_blueprint.url_prefix}/public/poverty-summary":
            return rule.rule
    return None


@bp.get("/projects")
def projects() -> str:
    zone = request.args.get("zone") or None
    project_type = request.args.get("type") or None
    if zone is not None and zone not in regions.ZONE_KEYS:
        zone = None
    if project_type is not None and project_type not in PROJECT_TYPES:
        project_type = None
    rows = read_published(
        database(), lambda session: project_rows(session, zone=zone, project_type=project_type)
    )
    data = regions.regions()
    return render_template(
        "projects.html",
        rows=rows,
        zone=zone,
        project_type=project_type,
        zones=[data.zones[key] for key in regions.ZONE_KEYS],
        project_types=[(key, data.project_types[key]) for key in PROJECT_TYPES],
    )


@bp.get("/projects/<code>")
def project(code: str) -> str:
    if len(code) > 16:
        abort(404)
    page = read_published(
        database(), lambda session: project_page(session, code), complete=lambda page: page is not None
    )
    if page is None:
        abort(404)
    return render_template("project.html", page=page)


@bp.get("/ledger")
def ledger() -> str:
    service = ledger_service()
    checkpoint = None
    with service.database.reading() as session:
        record = checkpoints.latest(session)
        size = checkpoints.ledger_size(session)
        cosigned = []
        if record is not None:
            # The signed note's body: origin, tree size, base64 root (C2SP tlog-checkpoint).
            origin, _, root_b64 = record.note.split("\n")[:3]
            kept = kept_cosignatures(session, record)
            checkpoint = {
                "origin": origin,
                "size": record.size,
                "root_b64": root_b64,
                "root_hex": base64.b64decode(root_b64).hex(),
                "note": record.note + "".join(line for _, _, line in kept),
                "created_at": record.created_at,
            }
            cosigned = [{"name": name, "at": datetime.fromtimestamp(stamp, UTC)} for name, stamp, _ in kept]
        last_run = latest_run(session)
    try:
        vkey: str | None = service.verifier_key()
    except LookupError:
        vkey = None
    return render_template(
        "ledger.html",
        checkpoint=checkpoint,
        size=size,
        last_run=last_run,
        cosigned=cosigned,
        witnesses=[witness.vkey for witness in service.witnesses()],
        vkey=vkey,
        origin=service.config.origin,
        key_url=url_for("api.verifier_key"),
        checkpoint_url=url_for("api.latest_checkpoint"),
        registry_url=(current_app.config.get("TANHUI_PUBLIC_BASE_URL") or request.host_url).rstrip("/"),
    )


@bp.get("/events/<int:event_id>")
def event(event_id: int) -> str:
    try:
        record = read_published(
            database(), lambda session: events.public_record(session, event_id), absent=(NotFound,)
        )
    except NotFound:
        abort(404)
    county = None
    if record.county_code is not None and record.county_code in regions.regions().divisions:
        county = regions.division(record.county_code)
    return render_template("event.html", event=record, county=county)
