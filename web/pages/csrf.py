"""Cross-site request forgery protection for the pages' forms: a per-session token in a hidden field.

The token lives in Flask's signed session cookie; every POST to the pages blueprint must carry it in the
form field ``csrf_token``, compared in constant time. Small on purpose: the pages have three forms, which
does not justify Flask-WTF and its form layer.
"""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

FIELD = "csrf_token"
SESSION_KEY = "csrf_token"


def csrf_token() -> str:
    """This session's token, created on first use (for the hidden field of a form)."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def protect() -> None:
    """Refuse (400) a POST whose form does not carry this session's token."""
    if request.method != "POST":
        return
    expected = session.get(SESSION_KEY)
    given = request.form.get(FIELD, "")
    if not isinstance(expected, str) or not hmac.compare_digest(expected.encode(), given.encode()):
        abort(400, description="csrf")
