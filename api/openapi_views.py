"""``GET /api/v1/openapi.json``: the API's own description (:mod:`api.openapi`)."""

from __future__ import annotations

from typing import Any

from api.blueprint import api_blueprint as bp
from api.openapi import build_spec


@bp.get("/openapi.json")
def openapi_document() -> dict[str, Any]:
    return build_spec()
