"""Signing in to the pages: ``/login``, ``/logout``, the signed-in user of each request, and the guard that
keeps the account pages to their roles.

Flask's session is a cookie signed with ``SECRET_KEY``; it holds only the user's id, the format version
(:data:`SESSION_VERSION`) and when the user signed in. Every request of the pages loads the user again
with :func:`api.users.active_user`, so a user disabled with ``tanhui users disable`` is signed out at their
next request, and a session older than ``TANHUI_SIGN_IN_MAX_AGE_S`` (12 hours by default) ends. Signing
in clears the session before setting it (no session fixation; this also renews the CSRF token), and so
does signing out. A refused sign-in says the same for an unknown address, a wrong password and a disabled
user, and keeps the address in the form, never the password. Failed attempts are limited per address
(:mod:`web.pages.sign_in_throttle`).

A signed cookie cannot be revoked before it expires: a copy taken before sign-out stays valid until the
maximum age, unless the user is disabled or changes the password (``users.password_changed_at``: sessions
signed in before it end).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import current_app, g, redirect, render_template, request, session, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from api.context import database
from api.users import SignInRefused, active_user, authenticate
from ledger.orm import as_utc
from offsets.models import Organisation
from web.pages import pages_blueprint as bp
from web.pages.sign_in_throttle import DEFAULT_LIMIT, DEFAULT_WINDOW_S, FailedSignIns, address_key

SESSION_VERSION: Final = 1
"""Raised when the session's content changes meaning: every older session is then signed out."""
USER_ID: Final = "user_id"
VERSION: Final = "session_version"
SIGNED_IN_AT: Final = "signed_in_at"
DEFAULT_MAX_AGE_S: Final = 12 * 3600
DEFAULT_NEXT: Final = "/account"
MAX_NEXT_CHARS: Final = 500
MAX_EMAIL_CHARS: Final = 254

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class SignedInUser:
    """Who is signed in, detached from the database session (what the pages and their guard need)."""

    id: int
    email: str
    display_name: str
    role: str
    organisation_id: int | None
    organisation_name: str | None


def signed_in_user() -> SignedInUser | None:
    """This request's user, or ``None`` (also outside a request of the pages blueprint)."""
    user = g.get("signed_in_user")
    return user if isinstance(user, SignedInUser) else None


@bp.context_processor
def _signed_in_globals() -> dict[str, object]:
    return {"signed_in": signed_in_user()}


@bp.before_request
def load_signed_in_user() -> None:
    """Load the session's user; a disabled, deleted or expired one is signed out at once."""
    g.signed_in_user = None
    user_id = session.get(USER_ID)
    if user_id is None or request.endpoint == "pages.static":  # a stylesheet needs no user
        return
    signed_in_at = session.get(SIGNED_IN_AT)
    max_age_s = int(current_app.config.get("TANHUI_SIGN_IN_MAX_AGE_S", DEFAULT_MAX_AGE_S))
    if (
        not isinstance(user_id, int)
        or session.get(VERSION) != SESSION_VERSION
        or not isinstance(signed_in_at, int)
        or not 0 <= time.time() - signed_in_at <= max_age_s
    ):
        session.clear()
        return
    with database().reading() as db:
        user = active_user(db, user_id)
        if user is None or _signed_in_before_password_change(user.password_changed_at, signed_in_at):
            session.clear()
            return
        organisation_name = (
            db.scalar(select(Organisation.name).where(Organisation.id == user.organisation_id))
            if user.organisation_id is not None
            else None
        )
        g.signed_in_user = SignedInUser(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            role=user.role,
            organisation_id=user.organisation_id,
            organisation_name=organisation_name,
        )


def _signed_in_before_password_change(changed_at: datetime | None, signed_in_at: int) -> bool:
    """Whether the session predates the user's last password change (which ends every other session)."""
    return changed_at is not None and signed_in_at < int(as_utc(changed_at).timestamp())


def renew_session(user_id: int) -> None:
    """Start a fresh session for ``user_id`` (after signing in, or after changing the password)."""
    session.clear()
    session[USER_ID] = user_id
    session[VERSION] = SESSION_VERSION
    session[SIGNED_IN_AT] = int(time.time())


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site, never another origin (no open redirect)."""
    if not target or len(target) > MAX_NEXT_CHARS:
        return DEFAULT_NEXT
    # Browsers read "\" as "/" and ignore tabs and newlines inside URLs, so "/\evil" and "/\t/evil" are
    # both "//evil", another host: refuse anything but a plain path that starts with exactly one "/".
    if not target.startswith("/") or target.startswith("//") or any(c == "\\" or ord(c) < 32 for c in target):
        return DEFAULT_NEXT
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return DEFAULT_NEXT
    return target


def _failed_sign_ins() -> FailedSignIns:
    return FailedSignIns(
        limit=int(current_app.config.get("TANHUI_SIGN_IN_ATTEMPTS", DEFAULT_LIMIT)),
        window_s=int(current_app.config.get("TANHUI_SIGN_IN_WINDOW_S", DEFAULT_WINDOW_S)),
    )


def _login_page(
    email: str, next_path: str, refusal: str | None, status: int, wait_minutes: int = 0
) -> tuple[str, int]:
    page = render_template(
        "login.html", email=email, next_path=next_path, refusal=refusal, wait_minutes=wait_minutes
    )
    return page, status


@bp.get("/login")
def login() -> Response | tuple[str, int]:
    next_path = safe_next(request.args.get("next"))
    if signed_in_user() is not None:
        return redirect(next_path, code=303)
    return _login_page("", next_path, None, 200)


@bp.post("/login")
def sign_in() -> Response | tuple[str, int]:
    email = request.form.get("email", "")[:MAX_EMAIL_CHARS]
    password = request.form.get("password", "")
    next_path = safe_next(request.form.get("next"))
    key = address_key(email)
    limiter = _failed_sign_ins()
    # Counted and committed before the password is checked: parallel guesses cannot slip in unseen.
    with database().unit_of_work() as uow:
        wait_s = limiter.attempt(uow.session, key, datetime.now(UTC))
        uow.commit()
    if wait_s is not None:
        body, status = _login_page(email, next_path, "throttled", 429, wait_minutes=math.ceil(wait_s / 60))
        response = current_app.make_response((body, status))
        response.headers["Retry-After"] = str(max(1, math.ceil(wait_s)))
        return response
    try:
        with database().unit_of_work() as uow:
            user = authenticate(uow.session, email=email, password=password, now=datetime.now(UTC))
            user_id = user.id
            limiter.forgive(uow.session, key)
            uow.commit()
    except SignInRefused:
        return _login_page(email, next_path, "refused", 401)
    renew_session(user_id)
    return redirect(next_path, code=303)


@bp.after_request
def _not_cached_when_personal(response: Response) -> Response:
    """A page for a signed-in user (or the sign-in form) is personal: no shared or browser cache keeps it."""
    if signed_in_user() is not None or request.endpoint in ("pages.login", "pages.sign_in"):
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/logout")
def sign_out() -> Response:
    session.clear()
    return redirect(url_for("pages.portal"), code=303)


def require_role(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R | Response | tuple[str, int]]]:
    """Keep a page to signed-in users in ``roles``: others go to sign in (302), the wrong role gets 403."""

    def decorate(view: Callable[P, R]) -> Callable[P, R | Response | tuple[str, int]]:
        @functools.wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R | Response | tuple[str, int]:
            user = signed_in_user()
            if user is None:
                target = request.full_path if request.query_string else request.path
                return redirect(url_for("pages.login", next=target), code=302)
            if roles and user.role not in roles:
                return render_template("forbidden.html"), 403
            return view(*args, **kwargs)

        return guarded

    return decorate


def current_user() -> SignedInUser:
    """The signed-in user of a view behind :func:`require_role`."""
    user = signed_in_user()
    assert user is not None, "current_user() outside a guarded view"
    return user
