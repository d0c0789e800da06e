"""JSON answers with Chinese text kept as UTF-8 rather than ``\\u`` escapes."""

from __future__ import annotations

import json
from typing import Any

from flask import Response


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")
