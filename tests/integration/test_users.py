"""Users who sign in to the pages: roles in organisations of the right kind, hashed passwords, disabling."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from api.models import User
from api.users import (
    SignInRefused,
    active_user,
    authenticate,
    change_password,
    create_user,
    disable_user,
    principal_of,
    reset_password,
)
from ledger.service import LedgerService
from offsets.errors import Conflict, InvalidInput, NotFound
from offsets.projects import register_organisation
from web.cli import main

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
PASSWORD = "竹林碳汇-correct-horse"


@pytest.fixture
def enterprise_id(service: LedgerService) -> int:
    with service.database.unit_of_work() as uow:
        organisation = register_organisation(uow.session, "成都绿色制造有限公司", "enterprise")
        uow.commit()
        return organisation.id


def new_user(service: LedgerService, **changes) -> User:
    arguments = {
        "email": "Buyer@Example.CN",
        "display_name": "采购员 李华",
        "password": PASSWORD,
        "role": "enterprise_buyer",
        "organisation_id": None,
        "now": T0,
    } | changes
    with service.database.unit_of_work() as uow:
        user = create_user(uow.session, **arguments)
        uow.commit()
        return user


def sign_in(service: LedgerService, email: str, password: str) -> User:
    with service.database.unit_of_work() as uow:
        user = authenticate(uow.session, email=email, password=password, now=T0)
        uow.commit()
        return user


def test_an_enterprise_buyer_signs_in_and_acts_for_its_organisation(service, enterprise_id):
    created = new_user(service, organisation_id=enterprise_id)

    user = sign_in(service, " buyer@example.cn ", PASSWORD)

    assert user.id == created.id
    assert user.email == "buyer@example.cn"
    with service.database.reading() as session:
        stored = session.get(User, user.id)
        assert stored.password_hash.startswith("scrypt:")
        assert PASSWORD not in stored.password_hash
        assert stored.last_login_at is not None
        principal = principal_of(session, stored)
    assert principal is not None
    assert (principal.role, principal.organisation_id) == ("enterprise_buyer", enterprise_id)
    assert principal.organisation_name == "成都绿色制造有限公司"
    assert not principal.is_registry


def test_an_individual_has_no_organisation_and_acts_as_an_anonymous_buyer(service):
    user = new_user(service, email="wang@example.cn", role="individual")

    with service.database.reading() as session:
        assert principal_of(session, session.get(User, user.id)) is None


@pytest.mark.parametrize(
    ("password", "email"),
    [("wrong password!!", "buyer@example.cn"), (PASSWORD, "nobody@example.cn"), (PASSWORD, "not an address")],
)
def test_a_wrong_password_or_unknown_address_is_refused_with_one_message(
    service, enterprise_id, password, email
):
    new_user(service, organisation_id=enterprise_id)

    with pytest.raises(SignInRefused, match="wrong e-mail address or password") as refused:
        sign_in(service, email, password)
    assert refused.value.status == 401


def test_a_disabled_user_can_no_longer_sign_in_and_its_session_ends(service, enterprise_id):
    user = new_user(service, organisation_id=enterprise_id)
    with service.database.unit_of_work() as uow:
        disable_user(uow.session, "BUYER@example.cn", now=T0)
        uow.commit()

    with pytest.raises(SignInRefused):
        sign_in(service, "buyer@example.cn", PASSWORD)
    with service.database.reading() as session:
        assert active_user(session, user.id) is None
    with service.database.unit_of_work() as uow, pytest.raises(Conflict):
        disable_user(uow.session, "buyer@example.cn", now=T0)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "no-at-sign"}, "email"),
        ({"display_name": "  "}, "display_name"),
        ({"password": "short"}, "password"),
        ({"role": "superuser"}, "role"),
        ({"role": "individual", "organisation_id": "ORG"}, "organisation_id"),
        ({"role": "enterprise_buyer", "organisation_id": None}, "organisation_id"),
        ({"role": "verifier", "organisation_id": "ORG"}, "role"),
    ],
)
def test_bad_users_are_refused_naming_the_field_and_nothing_is_written(
    service, enterprise_id, changes, field
):
    changes = {key: enterprise_id if value == "ORG" else value for key, value in changes.items()}
    arguments = {"organisation_id": enterprise_id} | changes

    with pytest.raises(InvalidInput) as refused:
        new_user(service, **arguments)

    assert refused.value.field == field
    with service.database.reading() as session:
        assert session.scalars(select(User)).all() == []


def test_an_address_is_registered_once_whatever_its_case(service, enterprise_id):
    new_user(service, organisation_id=enterprise_id)

    with pytest.raises(Conflict) as refused:
        new_user(service, email="BUYER@example.cn", organisation_id=enterprise_id)
    assert refused.value.field == "email"
    with pytest.raises(NotFound):
        new_user(service, email="other@example.cn", organisation_id=999)


def run_cli(tmp_path: Path, *args: str, password: str | None = None):
    env = {
        "TANHUI_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "TANHUI_SIGNING_KEY_FILE": str(tmp_path / "cli.key"),
        "TANHUI_SCHEDULER": "false",
    }
    if password is not None:
        env["TANHUI_USER_PASSWORD"] = password
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def create_individual(tmp_path: Path, email: str, password: str = PASSWORD):
    return run_cli(
        tmp_path,
        "users",
        "create",
        "--email",
        email,
        "--name",
        "王",
        "--role",
        "individual",
        password=password,
    )


def test_the_cli_creates_and_disables_users_and_fails_in_one_line(tmp_path):
    assert run_cli(tmp_path, "db", "upgrade").exit_code == 0

    created = create_individual(tmp_path, "w@example.cn")
    assert created.exit_code == 0, created.output
    assert created.stdout.strip().isdigit()

    duplicate = create_individual(tmp_path, "W@example.cn")
    assert duplicate.exit_code == 1
    assert duplicate.stderr.strip() == "tanhui: email: w@example.cn is already registered"

    short = create_individual(tmp_path, "x@example.cn", password="short")
    assert short.exit_code == 1
    assert short.stderr.count("\n") == 1
    assert "password" in short.stderr

    disabled = run_cli(tmp_path, "users", "disable", "w@example.cn")
    assert disabled.exit_code == 0
    assert disabled.stdout.strip() == "disabled w@example.cn (individual)"


def test_a_user_changes_their_password_proving_the_current_one(service, enterprise_id):
    user = new_user(service, organisation_id=enterprise_id)
    later = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)

    with service.database.unit_of_work() as uow:
        with pytest.raises(InvalidInput) as wrong:
            change_password(
                uow.session, user.id, current_password="not it at all", new_password="x" * 12, now=later
            )
        assert wrong.value.field == "current_password"
        with pytest.raises(InvalidInput) as short:
            change_password(uow.session, user.id, current_password=PASSWORD, new_password="short", now=later)
        assert short.value.field == "new_password"
        with pytest.raises(InvalidInput) as same:
            change_password(uow.session, user.id, current_password=PASSWORD, new_password=PASSWORD, now=later)
        assert same.value.field == "new_password"
        changed = change_password(
            uow.session, user.id, current_password=PASSWORD, new_password="新的密码-for-2027", now=later
        )
        assert changed.password_changed_at == later
        uow.commit()

    with pytest.raises(SignInRefused):
        sign_in(service, "buyer@example.cn", PASSWORD)
    assert sign_in(service, "buyer@example.cn", "新的密码-for-2027").id == user.id


def test_the_registry_resets_a_forgotten_password_from_the_cli(tmp_path):
    assert run_cli(tmp_path, "db", "upgrade").exit_code == 0
    created = create_individual(tmp_path, "w@example.cn")
    assert created.exit_code == 0, created.output

    reset = run_cli(tmp_path, "users", "set-password", "W@example.cn", password="a-new-password-2027")
    unknown = run_cli(tmp_path, "users", "set-password", "nobody@example.cn", password="a-new-password-2027")

    assert reset.exit_code == 0, reset.output
    assert reset.stdout.strip() == "password set for w@example.cn; signed-in sessions end"
    assert unknown.exit_code == 1
    assert unknown.stderr.strip() == "tanhui: email: no user nobody@example.cn"


@pytest.mark.parametrize(
    ("changes", "accepted"),
    [
        ({"password": "p" * 12}, True),
        ({"password": "p" * 11}, False),
        ({"password": "p" * 256}, True),
        ({"password": "p" * 257}, False),
        ({"display_name": "名" * 100}, True),
        ({"display_name": "名" * 101}, False),
        ({"display_name": None}, False),
        ({"email": None}, False),
    ],
)
def test_a_password_is_12_to_256_characters_and_a_name_1_to_100(service, enterprise_id, changes, accepted):
    if accepted:
        assert new_user(service, organisation_id=enterprise_id, **changes).id
    else:
        with pytest.raises(InvalidInput) as refused:
            new_user(service, organisation_id=enterprise_id, **changes)
        assert refused.value.field == next(iter(changes))


def test_a_reset_password_replaces_the_old_one_and_ends_the_user_s_sessions(service, enterprise_id):
    user = new_user(service, organisation_id=enterprise_id)
    later = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

    with service.database.unit_of_work() as uow:
        with pytest.raises(InvalidInput) as short:
            reset_password(uow.session, "buyer@example.cn", "p" * 11, now=later)
        assert short.value.field == "password"
        reset = reset_password(uow.session, " BUYER@example.cn", "重设的密码-for-2027", now=later)
        assert reset.password_changed_at == later  # sessions signed in before this end
        uow.commit()

    with pytest.raises(SignInRefused):
        sign_in(service, "buyer@example.cn", PASSWORD)
    assert sign_in(service, "buyer@example.cn", "重设的密码-for-2027").id == user.id
