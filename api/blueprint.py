"""The ``/api/v1`` blueprint, assembled from the feature modules."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import IntegerConverter

api_blueprint = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_REQUEST_BYTES = 1024 * 1024
"""Every request body is bounded (a monitoring report with thousands of plots is far below 1 MiB); a larger
one is a 413 problem. An app configured with its own ``MAX_CONTENT_LENGTH`` keeps it."""


MAX_ROW_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """``<id:name>``: a row id from 1 to 2^31 - 1; a larger number is a 404, not a database overflow."""

    def __init__(self, url_map: Any) -> None:
        super().__init__(url_map, min=1, max=MAX_ROW_ID)


@api_blueprint.record_once
def _configure(state: BlueprintSetupState) -> None:
    # Runs before the routes below are added: they use the converter.
    state.app.url_map.converters.setdefault("id", RowIdConverter)
    if state.app.config.get("MAX_CONTENT_LENGTH") is None:
        state.app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES


# Feature modules register their routes on the blueprint when imported.
from api import (  # noqa: E402, F401
    affiliations_views,
    certificates_views,
    events_views,
    exports_views,
    footprints_views,
    health_views,
    ledger_views,
    lots_views,
    methodologies_views,
    monitoring_views,
    onboarding_views,
    openapi_views,
    orders_views,
    organisations_views,
    payments_views,
    preorders_views,
    projects_views,
    quotes_views,
    regions_views,
    reports_views,
    reversals_views,
    sales_views,
    statements_views,
)
