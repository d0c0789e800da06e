"""Refusing the NUL character in anything a request carries, before any view reads it.

PostgreSQL's text cannot hold U+0000: a NUL that reached a query (a lot id in a path, a reason in a
body) failed there as an internal error, and SQLite would have stored it. No field of the registry has
a use for it, so a request whose path, query, form or JSON body holds one is refused up front: on the
API as a 400 problem naming the field (``a.b.0.c`` in a JSON body, as marshmallow's errors are named),
on the pages as a plain 400.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, abort, request

from api.problems import problem

NUL = "\x00"


def nul_field(value: Any, path: str = "") -> str | None:
    """The path of the first text in a parsed JSON value that holds a NUL (in a key or a string)."""
    if isinstance(value, str):
        return (path or "_schema") if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                return name
            found = nul_field(item, name)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_field(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


def _request_nul_field() -> str | None:
    for name, text in (request.view_args or {}).items():
        if isinstance(text, str) and NUL in text:
            return name
    if NUL in request.path:
        return "path"
    sources = [request.args]
    # Not multipart: an upload's view sets its own size limit and reads the raw body before the form
    # (api/onboarding_views.py); the files it parses are checked by their own readers.
    if request.mimetype == "application/x-www-form-urlencoded":
        sources.append(request.form)
    for source in sources:
        for name, text in source.items(multi=True):
            if NUL in name or NUL in text:
                return name
    if request.is_json:
        return nul_field(request.get_json(silent=True))
    return None


def register_nul_guard(app: Flask) -> None:
    @app.before_request
    def _refuse_nul() -> Response | None:
        field = _request_nul_field()
        if field is None:
            return None
        if not request.path.startswith("/api/"):
            abort(400)
        message = "text may not contain the NUL character (U+0000)"
        return problem(
            400,
            "Invalid request",
            f"{field}: {message}",
            "invalid-request",
            field=field,
            errors=[{"field": field, "message": message}],
        )
