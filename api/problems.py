"""Errors as RFC 9457 ``application/problem+json``, mapped in one place, always naming the field at fault."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from ledger.errors import LedgerError

PROBLEM_TYPE_BASE = "https://tanhui.sichuan.registry/problems/"
log = logging.getLogger(__name__)


def problem(status: int, title: str, detail: str, code: str, **extra: Any) -> Response:
    payload = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status, "detail": detail, **extra}
    return Response(
        json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/problem+json"
    )


def field_errors(messages: Any, prefix: str = "") -> list[dict[str, str]]:
    """Flatten marshmallow's nested messages into ``[{"field": "a.b", "message": "..."}]``."""
    errors: list[dict[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            errors.extend(field_errors(value, name))
    elif isinstance(messages, list):
        for item in messages:
            if isinstance(item, dict | list):
                errors.extend(field_errors(item, prefix))
            else:
                errors.append({"field": prefix or "_schema", "message": str(item)})
    else:
        errors.append({"field": prefix or "_schema", "message": str(messages)})
    return errors


def register_problem_handlers(app: Flask) -> None:
    @app.errorhandler(LedgerError)
    def _ledger_error(error: LedgerError) -> Response:
        extra = {"field": error.field} if error.field else {}
        errors = [{"field": error.field, "message": error.message}] if error.field else []
        response = problem(
            error.status, title_of(error.status), str(error), error.code, **extra, errors=errors
        )
        if error.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="tanhui"'  # RFC 6750 §3
        return response

    @app.errorhandler(ValidationError)
    def _validation_error(error: ValidationError) -> Response:
        errors = field_errors(error.messages)
        detail = "; ".join(f"{item['field']}: {item['message']}" for item in errors)
        return problem(
            400, "Invalid request", detail, "invalid-request", field=errors[0]["field"], errors=errors
        )

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response | HTTPException:
        if not request.path.startswith("/api/"):
            return error
        status = error.code or 500
        # The same type URI as a domain refusal of that status gets the same title (RFC 9457 §3.1.3).
        return problem(
            status,
            TITLES.get(status, error.name),
            error.description or error.name,
            error.name.lower().replace(" ", "-"),
        )

    @app.errorhandler(Exception)
    def _unexpected(_error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(500, "Internal error", "the server failed; nothing was changed", "internal-error")


TITLES = {
    400: "Invalid request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Refused",
}
"""A problem's title by status: one title per status, whichever layer refused the request."""


def title_of(status: int) -> str:
    return TITLES.get(status, "Error")
