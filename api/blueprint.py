"""The ``/api/v1`` blueprint, assembled from the feature modules."""

from __future__ import annotations

from flask import Blueprint

api_blueprint = Blueprint("api", __name__, url_prefix="/api/v1")

# Feature modules register their routes on the blueprint when imported.
from api import ledger_views, openapi  # noqa: E402, F401
