"""The ``/api/v1`` blueprint itself, on which the feature modules (``api/*_views.py``) register routes.

It imports no feature module, so that any of them can be imported first; :mod:`api.routes` assembles
them all.
"""

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
