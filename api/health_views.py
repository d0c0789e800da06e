"""``GET /api/v1/health``: for load balancers and monitors, whether this instance reaches the database,
and whether the ledger is signed and verified in good time (:mod:`ledger.health`).

The status code answers the load balancer: 200 while the database answers, 503 when it does not. What
needs attention (a checkpoint behind, a verification stale or failed) is in the body, for monitors to
alert on: it concerns the shared ledger, not this instance, so it does not take the instance out.
A read replica that cannot be reached or has stopped replaying needs attention too, but does not fail
the check either: its reads go to the primary meanwhile.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, current_app
from sqlalchemy.exc import SQLAlchemyError

from api.blueprint import api_blueprint as bp
from api.context import ledger_service
from api.openapi import document
from api.problems import problem
from ledger.health import ledger_health
from ledger.replica_reads import replica_health

MIN_CHECKPOINT_LAG = timedelta(minutes=5)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@bp.get("/health")
@document(
    "Health: the database reached; the ledger signed and verified in good time",
    response="HealthSchema",
    tag="operations",
)
def health() -> tuple[dict[str, Any], int, dict[str, str]] | Response:
    interval = timedelta(seconds=int(current_app.config["TANHUI_CHECKPOINT_INTERVAL_S"]))
    now = datetime.now(UTC)
    try:
        with ledger_service().database.reading() as session:
            state = ledger_health(session, now, max(5 * interval, MIN_CHECKPOINT_LAG))
    except SQLAlchemyError:
        response = problem(503, "Service Unavailable", "the database does not answer", "database-unavailable")
        response.headers["Cache-Control"] = "no-store"
        return response
    run = state.last_run
    database = ledger_service().database
    replica = replica_health(database, state.size, current_app.config["TANHUI_REPLICA_MAX_LAG_S"])
    attention = state.attention + (replica.attention if replica is not None else [])
    body = {
        "status": "attention" if attention else "ok",
        "attention": attention,
        "time": now.isoformat(),
        "database": "ok",
        "ledger": {
            "size": state.size,
            "checkpoint_size": state.checkpoint_size,
            "checkpoint_signed_at": _iso(state.checkpoint_signed_at),
            "oldest_unsigned_entry_at": _iso(state.oldest_unsigned_at),
        },
        "replica": None
        if replica is None
        else {
            "reachable": replica.reachable,
            "size": replica.size,
            "behind_entries": replica.behind_entries,
            "replay_lag_s": replica.replay_lag_s,
        },
        "verification": None
        if run is None
        else {
            "finished_at": run.finished_at.isoformat(),
            "tree_size": run.tree_size,
            "ok": run.ok,
            "failed_seq": run.failed_seq,
            "failure": run.failure,
        },
    }
    return body, 200, {"Cache-Control": "no-store"}
