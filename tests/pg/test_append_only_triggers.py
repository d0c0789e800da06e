"""PostgreSQL refuses to change history: UPDATE, DELETE and TRUNCATE of the append-only tables fail.

The triggers of the first migration stop bugs, not a superuser: with the triggers bypassed
(``session_replication_role = replica`` or ``ALTER TABLE ... DISABLE TRIGGER USER``) a row can be
rewritten, and then ``verify`` must name the entry that was tampered with.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from ledger.commands import Allocation, Beneficiary, Cancel, Issue, Retire, Selection, Transfer
from ledger.service import LedgerService
from ledger.verify import VerificationFailure

pytestmark = pytest.mark.pg

APPEND_ONLY_TABLES = {
    # table: (ORDER BY for a stable snapshot, an UPDATE that changes one column of every row)
    "ledger_entries": ("seq", "UPDATE ledger_entries SET body = body || ' '"),
    "ledger_checkpoints": ("id", "UPDATE ledger_checkpoints SET size = size + 1"),
    "ledger_batches": ("id", "UPDATE ledger_batches SET quantity_kg = quantity_kg + 1"),
    "ledger_closed_ranges": ("batch_id, start_kg", "UPDATE ledger_closed_ranges SET account_id = 'ENT-B'"),
    "ledger_verifier_keys": ("vkey", "UPDATE ledger_verifier_keys SET name = name || 'x'"),
}
RESTRICT_VIOLATION = "23001"


def populate(service: LedgerService) -> int:
    """Entries of every kind, a closed range of each status, a private beneficiary, a checkpoint."""
    service.append(
        [
            Issue("issue-1", "LS01", "2024", 1, (Allocation("OWN-A", 900), Allocation("BUFFER", 100))),
            Issue("issue-2", "LS02", "2024", 1, (Allocation("OWN-B", 500),)),
        ]
    )
    service.append([Transfer("transfer-1", "OWN-A", "ENT-A", Selection(quantity_kg=300), memo="contract 7")])
    service.append([Transfer("transfer-2", "OWN-B", "ENT-B", Selection(quantity_kg=50))])
    public = Beneficiary("企业甲", public=True)
    retire = Retire("retire-1", "ENT-A", Selection(quantity_kg=120), public, "compliance_period", "2025")
    service.append([retire])
    private = Beneficiary("张三", public=False)
    service.append([Retire("retire-2", "ENT-B", Selection(quantity_kg=7), private, "gift", "birthday")])
    service.append([Cancel("cancel-1", "BUFFER", Selection(quantity_kg=10), "reversal of a double count")])
    service.append([Transfer("transfer-3", "ENT-A", "ENT-B", Selection(quantity_kg=30))])
    size, _ = service.sign_checkpoint()
    assert size == 8
    return size


def snapshot(connection: Connection) -> dict[str, list[tuple[object, ...]]]:
    rows = {}
    for table, (order, _) in APPEND_ONLY_TABLES.items():
        result = connection.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))
        rows[table] = [tuple(row) for row in result]
        assert rows[table], f"{table} should have rows for the test to mean anything"
    return rows


@pytest.fixture
def ledger(pg_service: LedgerService) -> LedgerService:
    populate(pg_service)
    return pg_service


def refused_statements() -> Iterator[object]:
    for table, (_, update) in APPEND_ONLY_TABLES.items():
        yield pytest.param(table, "UPDATE", update, id=f"update-{table}")
        yield pytest.param(table, "DELETE", f"DELETE FROM {table}", id=f"delete-{table}")
        # CASCADE, so that it is the trigger that refuses, not the foreign keys pointing at the table.
        yield pytest.param(table, "TRUNCATE", f"TRUNCATE {table} CASCADE", id=f"truncate-{table}")


@pytest.mark.parametrize(("table", "operation", "statement"), list(refused_statements()))
def test_changing_an_append_only_table_is_refused_and_changes_nothing(
    ledger: LedgerService, table: str, operation: str, statement: str
) -> None:
    engine = ledger.database.engine
    with engine.connect() as connection:
        before = snapshot(connection)

    with pytest.raises(DBAPIError) as caught, engine.begin() as connection:
        connection.execute(text(statement))

    error = caught.value.orig
    assert getattr(error, "sqlstate", None) == RESTRICT_VIOLATION, error
    assert f"{table} is append-only: {operation} refused" in str(error)
    with engine.connect() as connection:
        assert snapshot(connection) == before
    assert ledger.verify().size == 8


def test_an_update_that_writes_the_same_values_is_refused_too(ledger: LedgerService) -> None:
    refused = pytest.raises(DBAPIError, match="ledger_entries is append-only: UPDATE refused")
    with refused, ledger.database.engine.begin() as connection:
        connection.execute(text("UPDATE ledger_entries SET body = body WHERE seq = 3"))


def test_the_ledger_head_and_live_holdings_stay_writable_for_the_sequencer(ledger: LedgerService) -> None:
    # They are derived state that every append rewrites; verify replays the entries to check them.
    [entry] = ledger.append([Transfer("after-triggers", "ENT-B", "ENT-A", Selection(quantity_kg=5))])
    assert entry.seq == 8
    assert ledger.verify().size == 9


# --- the tamper path: a superuser can bypass the triggers, and verify catches it ------------------------


@contextmanager
def triggers_bypassed(ledger: LedgerService, how: str, table: str) -> Iterator[Connection]:
    with ledger.database.engine.begin() as connection:
        if how == "replica-role":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            yield connection
        else:
            connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            yield connection
            connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


BYPASSES = ("replica-role", "disable-trigger-user")


@pytest.mark.parametrize("how", BYPASSES)
@pytest.mark.parametrize("seq", [0, 3, 5, 7])
def test_a_rewritten_entry_body_is_named_by_verify(ledger: LedgerService, how: str, seq: int) -> None:
    with triggers_bypassed(ledger, how, "ledger_entries") as connection:
        # One character of the body, inside its data, changed with the triggers out of the way.
        changed = connection.execute(
            text(
                "UPDATE ledger_entries SET body = overlay(body placing "
                "CASE substr(body, 40, 1) WHEN 'a' THEN 'b' ELSE 'a' END from 40 for 1) WHERE seq = :seq"
            ),
            {"seq": seq},
        )
        assert changed.rowcount == 1

    with pytest.raises(VerificationFailure) as caught:
        ledger.verify()
    assert (caught.value.seq, caught.value.what) == (seq, "leaf hash")
    assert f"seq {seq}:" in str(caught.value)


REHASHED_FORGERIES = [
    # A forged quantity no longer adds up: the replay of that very entry fails.
    pytest.param('"quantity_kg":300', '"quantity_kg":301', 2, "replay", id="quantity"),
    # A forged memo replays fine, but the next entry's prev is the hash of the original body.
    pytest.param("contract 7", "contract 8", 3, "chain link", id="memo"),
]


@pytest.mark.parametrize("how", BYPASSES)
@pytest.mark.parametrize(("old", "new", "bad_seq", "what"), REHASHED_FORGERIES)
def test_a_rewritten_entry_with_a_recomputed_leaf_hash_is_caught_by_verify(
    ledger: LedgerService, how: str, old: str, new: str, bad_seq: int, what: str
) -> None:
    # A careful forger recomputes the leaf hash too; the entry is seq 2 (transfer-1).
    with triggers_bypassed(ledger, how, "ledger_entries") as connection:
        changed = connection.execute(
            text(
                "UPDATE ledger_entries SET body = replace(body, :old, :new) "
                "WHERE seq = 2 AND strpos(body, :old) > 0"
            ),
            {"old": old, "new": new},
        )
        assert changed.rowcount == 1
        connection.execute(
            text(
                "UPDATE ledger_entries SET leaf_hash = sha256('\\x00'::bytea || convert_to(body, 'UTF8')) "
                "WHERE seq = 2"
            )
        )

    with pytest.raises(VerificationFailure) as caught:
        ledger.verify()
    assert (caught.value.seq, caught.value.what) == (bad_seq, what)


@pytest.mark.parametrize("how", BYPASSES)
def test_a_deleted_entry_is_named_by_verify(ledger: LedgerService, how: str) -> None:
    with triggers_bypassed(ledger, how, "ledger_entries") as connection:
        assert connection.execute(text("DELETE FROM ledger_entries WHERE seq = 7")).rowcount == 1

    with pytest.raises(VerificationFailure) as caught:
        ledger.verify()
    assert (caught.value.seq, caught.value.what) == (7, "missing entry")


@pytest.mark.parametrize("how", BYPASSES)
def test_a_moved_retired_range_is_named_by_verify(ledger: LedgerService, how: str) -> None:
    with triggers_bypassed(ledger, how, "ledger_closed_ranges") as connection:
        changed = connection.execute(
            text("UPDATE ledger_closed_ranges SET account_id = 'ENT-B' WHERE entry_seq = 4")
        )
        assert changed.rowcount == 1

    with pytest.raises(VerificationFailure) as caught:
        ledger.verify()
    assert (caught.value.seq, caught.value.what) == (4, "holdings")
    assert "ENT-B" in caught.value.detail or "ENT-A" in caught.value.detail


def test_the_triggers_are_back_in_force_after_a_disable_trigger_bypass(ledger: LedgerService) -> None:
    with triggers_bypassed(ledger, "disable-trigger-user", "ledger_entries"):
        pass
    with pytest.raises(DBAPIError, match="append-only"), ledger.database.engine.begin() as connection:
        connection.execute(text("DELETE FROM ledger_entries WHERE seq = 7"))
    assert ledger.verify().size == 8


# --- live holdings are not append-only (every append rewrites them): verify is what guards them ----------


def verify_failure_dropping_its_frames(ledger: LedgerService) -> VerificationFailure:
    """Run verify expecting a failure; return it with its traceback (and the frames' locals) let go."""
    with pytest.raises(VerificationFailure) as caught:
        ledger.verify()
    failure = caught.value
    failure.__traceback__ = None
    del caught
    gc.collect()
    return failure


def test_a_changed_live_holding_is_named_by_verify_with_its_account_and_range(ledger: LedgerService) -> None:
    with ledger.database.engine.begin() as connection:
        changed = connection.execute(
            text("UPDATE ledger_holdings SET account_id = 'RETAIL' WHERE account_id = 'BUFFER'")
        )
        assert changed.rowcount == 1

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # verify leaks a cursor here: see the next test
        failure = verify_failure_dropping_its_frames(ledger)

    assert (failure.seq, failure.what) == (None, "holdings")
    assert "account BUFFER should hold SC-LS01-2024-001-911-1000" in failure.detail


def test_verify_closes_its_holdings_cursor_when_it_finds_a_difference(ledger: LedgerService) -> None:
    with ledger.database.engine.begin() as connection:
        connection.execute(text("DELETE FROM ledger_holdings WHERE account_id = 'BUFFER'"))

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        failure = verify_failure_dropping_its_frames(ledger)

    assert failure.what == "holdings"
    leaks = [str(warning.message) for warning in seen if issubclass(warning.category, ResourceWarning)]
    assert leaks == []
