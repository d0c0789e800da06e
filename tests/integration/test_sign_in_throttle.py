"""The failed sign-in limit, counted in the database: a sliding window per address, forgiven by a success,
pruned when expired, and exact under parallel guesses on PostgreSQL (every web process shares it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from tests_support import race_together

from api.models import SignInAttempt
from ledger.service import LedgerService
from web.pages.sign_in_throttle import FailedSignIns, address_key, prune
from web.scheduler import prune_sign_ins_job

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def ledger(request: pytest.FixtureRequest) -> LedgerService:
    return request.getfixturevalue("service" if request.param == "sqlite" else "pg_service")


def attempt(ledger: LedgerService, limiter: FailedSignIns, key: str, seconds: float) -> float | None:
    with ledger.database.unit_of_work() as uow:
        wait = limiter.attempt(uow.session, key, T0 + timedelta(seconds=seconds))
        uow.commit()
    return wait


def stored(ledger: LedgerService, key: str | None = None) -> int:
    with ledger.database.reading() as session:
        query = select(func.count()).select_from(SignInAttempt)
        if key is not None:
            query = query.where(SignInAttempt.address == key)
        return int(session.scalar(query) or 0)


def test_the_count_slides_and_a_refusal_says_how_long_to_wait(ledger: LedgerService):
    limiter = FailedSignIns(limit=2, window_s=10)
    assert attempt(ledger, limiter, "a@x.cn", 0) is None
    assert attempt(ledger, limiter, "a@x.cn", 1) is None
    assert attempt(ledger, limiter, "a@x.cn", 2) == 8  # the first attempt leaves the window at 10 s
    assert attempt(ledger, limiter, "a@x.cn", 9.5) == 0.5
    assert stored(ledger, "a@x.cn") == 2  # refusals are not counted
    assert attempt(ledger, limiter, "a@x.cn", 10) is None  # the first attempt has left the window
    assert stored(ledger, "a@x.cn") == 2  # and was forgotten
    assert attempt(ledger, limiter, "b@x.cn", 10) is None  # another address has its own count


def test_a_success_forgives_the_earlier_failures(ledger: LedgerService):
    limiter = FailedSignIns(limit=2, window_s=10)
    attempt(ledger, limiter, "a@x.cn", 0)
    attempt(ledger, limiter, "a@x.cn", 1)
    with ledger.database.unit_of_work() as uow:
        limiter.forgive(uow.session, "a@x.cn")
        uow.commit()
    assert stored(ledger, "a@x.cn") == 0
    assert attempt(ledger, limiter, "a@x.cn", 2) is None


def test_expired_attempts_are_pruned_and_recent_ones_kept(ledger: LedgerService):
    limiter = FailedSignIns(limit=5, window_s=60)
    for n, key in enumerate(("a@x.cn", "b@x.cn", "c@x.cn")):
        attempt(ledger, limiter, key, n * 30)
    with ledger.database.unit_of_work() as uow:
        assert prune(uow.session, now=T0 + timedelta(seconds=90), window_s=60) == 2
        uow.commit()
    assert stored(ledger) == 1
    assert prune_sign_ins_job(ledger, 60, now=T0 + timedelta(seconds=200)) == 1
    assert stored(ledger) == 0


def test_the_address_is_counted_as_users_are_stored():
    assert address_key("  Target@Example.CN ") == "target@example.cn"
    assert len(address_key("a" * 400 + "@x.cn")) == 254


@pytest.mark.pg
def test_parallel_guesses_on_postgresql_get_exactly_the_limit(pg_service: LedgerService, pg_url: str):
    limiter = FailedSignIns(limit=5, window_s=900)
    waits: list[float | None] = []

    def guess(database, _index: int) -> None:
        with database.unit_of_work() as uow:
            wait = limiter.attempt(uow.session, "target@x.cn", T0)
            uow.commit()
        waits.append(wait)

    assert race_together(pg_url, 12, guess, doing="signing in") == [None] * 12
    assert sum(1 for wait in waits if wait is None) == 5
    assert stored(pg_service, "target@x.cn") == 5
