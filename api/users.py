"""Users who sign in to the web pages, and the :class:`~api.auth.Principal` a signed-in user acts as.

API keys serve integrations; people sign in with an e-mail address and a password. A user holds one role:
one of the organisation roles keys carry (``api.auth.ROLE_ORGANISATION_KINDS``: registry admin, reviewer,
verifier, project owner, enterprise buyer, event organiser) for one organisation, or ``individual`` with no
organisation. Passwords are stored only as werkzeug's salted scrypt hashes and checked in constant time;
signing in with an unknown address costs the same hash as a wrong password, so that timing does not tell
which addresses are registered. Every function takes the caller's session and never commits.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from api.auth import ROLE_ORGANISATION_KINDS, Principal
from api.models import User
from offsets.errors import Conflict, InvalidInput, NotFound
from offsets.models import Organisation

INDIVIDUAL: Final = "individual"
USER_ROLES: Final = (*ROLE_ORGANISATION_KINDS, INDIVIDUAL)
MIN_PASSWORD_CHARS: Final = 12
"""NIST SP 800-63B §5.1.1.2 asks at least 8 characters of memorised secrets; a registry asks more."""
MAX_PASSWORD_CHARS: Final = 256
MAX_NAME_CHARS: Final = 100
EMAIL: Final = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,188}\.[A-Za-z]{2,24}$")
_UNKNOWN_USER_HASH: Final = generate_password_hash("an address that is not registered")


class SignInRefused(InvalidInput):
    """Wrong address or password, or a disabled user: one message for all, naming no more than needed."""

    code = "sign-in-refused"
    status = 401


def create_user(
    session: Session,
    *,
    email: str,
    display_name: str,
    password: str,
    role: str,
    organisation_id: int | None,
    now: datetime,
) -> User:
    """A new user; refused with the field at fault for a bad address, name, password, role or organisation."""
    address = normalise_email(email)
    name = (display_name or "").strip()
    if not 1 <= len(name) <= MAX_NAME_CHARS:
        raise InvalidInput(f"a name of 1 to {MAX_NAME_CHARS} characters is required", field="display_name")
    _check_new_password(password, "password")
    if role not in USER_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(USER_ROLES)}", field="role")
    if role == INDIVIDUAL:
        if organisation_id is not None:
            raise InvalidInput("an individual belongs to no organisation", field="organisation_id")
    else:
        if organisation_id is None:
            raise InvalidInput(f"a {role} acts for an organisation", field="organisation_id")
        organisation = session.get(Organisation, organisation_id)
        if organisation is None:
            raise NotFound(f"no organisation {organisation_id}", field="organisation_id")
        if organisation.kind not in ROLE_ORGANISATION_KINDS[role]:
            raise InvalidInput(
                f"a {role} belongs to an organisation of kind "
                f"{', '.join(sorted(ROLE_ORGANISATION_KINDS[role]))}; {organisation.name} is a "
                f"{organisation.kind}",
                field="role",
            )
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise Conflict(f"{address} is already registered", field="email")
    user = User(
        email=address,
        display_name=name,
        password_hash=generate_password_hash(password),
        role=role,
        organisation_id=organisation_id,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, *, email: str, password: str, now: datetime) -> User:
    """The user with this address and password, if enabled; records the sign-in time."""
    try:
        address = normalise_email(email)
    except InvalidInput:
        address = ""
    user = session.scalar(select(User).where(User.email == address)) if address else None
    if user is None:
        check_password_hash(_UNKNOWN_USER_HASH, password or "")
        raise SignInRefused("wrong e-mail address or password", field="password")
    if not check_password_hash(user.password_hash, password or "") or user.disabled_at is not None:
        raise SignInRefused("wrong e-mail address or password", field="password")
    user.last_login_at = now
    session.flush()
    return user


def change_password(
    session: Session, user_id: int, *, current_password: str, new_password: str, now: datetime
) -> User:
    """The user changes their own password, proving the current one; other sessions end (see
    ``password_changed_at``)."""
    user = active_user(session, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", field="user")
    if not check_password_hash(user.password_hash, current_password or ""):
        raise InvalidInput("the current password is wrong", field="current_password")
    if new_password == current_password:
        raise InvalidInput("choose a password other than the current one", field="new_password")
    return _set_password(session, user, new_password, "new_password", now)


def reset_password(session: Session, email: str, new_password: str, *, now: datetime) -> User:
    """The registry sets a user's password (a forgotten one); the user's sessions end."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"no user {email}", field="email")
    return _set_password(session, user, new_password, "password", now)


def _set_password(session: Session, user: User, password: str, field: str, now: datetime) -> User:
    _check_new_password(password, field)
    user.password_hash = generate_password_hash(password)
    user.password_changed_at = now
    session.flush()
    return user


def _check_new_password(password: object, field: str) -> None:
    if not isinstance(password, str) or not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise InvalidInput(
            f"a password of {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters is required", field=field
        )


def disable_user(session: Session, email: str, *, now: datetime) -> User:
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"no user {email}", field="email")
    if user.disabled_at is not None:
        raise Conflict(f"{user.email} is already disabled", field="email")
    user.disabled_at = now
    session.flush()
    return user


def active_user(session: Session, user_id: int) -> User | None:
    """The user behind a web session, or ``None`` if it no longer exists or was disabled since."""
    user = session.get(User, user_id)
    return user if user is not None and user.disabled_at is None else None


def principal_of(session: Session, user: User) -> Principal | None:
    """The principal an organisation's user acts as (the same rules as its API keys); ``None`` for
    individuals, who act as anonymous buyers whose orders are theirs by their unguessable ids."""
    if user.organisation_id is None:
        return None
    organisation_name = session.scalar(
        select(Organisation.name).where(Organisation.id == user.organisation_id)
    )
    assert organisation_name is not None
    return Principal(
        key_id=0,
        prefix=f"user{user.id}"[:8],
        key_name=f"web sign-in {user.email}",
        role=user.role,
        organisation_id=user.organisation_id,
        organisation_name=organisation_name,
    )


def normalise_email(email: str) -> str:
    address = (email or "").strip().lower() if isinstance(email, str) else ""
    if not EMAIL.fullmatch(address):
        raise InvalidInput("a valid e-mail address is required", field="email")
    return address
