"""The same creating request sent several times at once with one Idempotency-Key, on PostgreSQL.

A client that retries before its first attempt has answered (a double submit, a timeout and a retry)
sends requests that run concurrently. Exactly one may create; every other must answer with the stored
answer of that one (``Idempotent-Replayed: true``), never with a conflict about the thing it would have
created twice, and nothing may be written twice.

Without the key's lock (``api.idempotency._serialise_key``) a retry that looked for a stored answer just
before the first attempt committed answered 409 "project code … is taken" (shown by widening that window
with a random sleep of up to 0.2 s after the look-up: five of eight answers were 409; with the lock, none).
Requests with different keys for one project code still race for the code: one creates, the others get 409.
"""

from __future__ import annotations

import pytest
from api_support import API, ledger, make_party, project_body
from sqlalchemy import func, select
from test_concurrent_orders_pg import pg_app, run_together

from offsets.models import Project

pytestmark = pytest.mark.pg

RETRIES = 8
ROUNDS = 3

__all__ = ["pg_app"]  # the PostgreSQL app fixture, shared with test_concurrent_orders_pg


def test_requests_racing_with_one_key_create_once_and_the_others_replay(pg_app):
    owner = make_party(
        pg_app, pg_app.test_client(), "凉山州林业投资有限公司", "project_owner", "project_owner"
    )
    for round_ in range(ROUNDS):
        code = f"LS{round_ + 1:02d}"
        headers = owner.headers | {"Idempotency-Key": f"create-{code}"}

        def send(_index: int, code: str = code, headers: dict[str, str] = headers):
            return pg_app.test_client().post(f"{API}/projects", json=project_body(code=code), headers=headers)

        answers = run_together(send, RETRIES)

        failures = [a for a in answers if isinstance(a, BaseException) or a.status_code != 201]
        assert not failures, [
            a if isinstance(a, BaseException) else (a.status_code, a.get_json()) for a in failures
        ]
        replayed = [a for a in answers if a.headers.get("Idempotent-Replayed") == "true"]
        assert len(replayed) == RETRIES - 1
        assert len({a.get_data() for a in answers}) == 1
        with ledger(pg_app).database.reading() as session:
            assert session.scalar(select(func.count()).select_from(Project).where(Project.code == code)) == 1


def test_requests_racing_with_different_keys_for_one_project_code_create_it_once(pg_app):
    owner = make_party(pg_app, pg_app.test_client(), "凉山州林业公司", "project_owner", "project_owner")

    def send(index: int):
        headers = owner.headers | {"Idempotency-Key": f"create-LS09-attempt-{index}"}
        return pg_app.test_client().post(f"{API}/projects", json=project_body(code="LS09"), headers=headers)

    answers = run_together(send, RETRIES)

    assert not [a for a in answers if isinstance(a, BaseException)]
    assert sorted(a.status_code for a in answers) == [201] + [409] * (RETRIES - 1)
    for refused in (a.get_json() for a in answers if a.status_code == 409):
        # Either the check saw the winner's row, or the database's unique index did.
        assert refused["type"].rsplit("/", 1)[1] in ("conflict", "concurrent-change"), refused
    with ledger(pg_app).database.reading() as session:
        assert session.scalar(select(func.count()).select_from(Project).where(Project.code == "LS09")) == 1
