"""Answers that are not problems: JSON with Chinese text kept as UTF-8 rather than ``\\u`` escapes, and
spreadsheet-safe CSV attachments (for the API's exports and the pages' downloads alike)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import Response

from marketplace.csv_export import MEDIA_TYPE, to_csv
from marketplace.export_tables import Table


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


def csv_response(stem: str, table: Table) -> Response:
    """The table as a spreadsheet-safe CSV attachment named ``tanhui-<stem>-<YYYYMMDD>.csv`` (today in UTC;
    ASCII, so no RFC 5987 needed)."""
    filename = f"tanhui-{stem}-{datetime.now(UTC).strftime('%Y%m%d')}.csv"
    response = Response(to_csv(table.header, table.rows), status=200, content_type=MEDIA_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
