"""The account index behind statements: what it records, that readers are complete however far behind it
is, that indexing resumes and repeats harmlessly, and that two indexers racing on PostgreSQL do no harm."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from tests_support import race_together

from ledger import account_index
from ledger.account_index import accounts_named, entries_naming, index_new_entries, indexed_end
from ledger.commands import Allocation, Beneficiary, Cancel, Issue, Retire, Selection, Transfer
from ledger.entries import parse_body
from ledger.models import AccountEntry, Entry
from ledger.ranges import SerialRange
from ledger.service import LedgerService
from web.cli import main
from web.scheduler import index_accounts_job

ACCOUNTS = ("REGISTRY", "BUFFER", "RETAIL", "OWN-A", "OWN-B", "ENT-A", "ENT-B")


def build(service: LedgerService) -> None:
    """Every kind of entry, with accounts named as allocation, from, to and account."""
    b1 = "LS01-2023-001"
    service.append(
        [
            Issue("i-1", "LS01", "2023", 1, (Allocation("OWN-A", 9_000), Allocation("BUFFER", 1_000))),
            Issue("i-2", "MY07", "2022", 1, (Allocation("OWN-B", 5_000),)),
        ]
    )
    service.append([Transfer("t-1", "OWN-A", "RETAIL", Selection(quantity_kg=3_000))])
    service.append([Transfer("t-2", "OWN-A", "ENT-A", Selection(ranges=(SerialRange(b1, 3_001, 4_000),)))])
    for n in range(6):
        service.append(
            [
                Retire(
                    f"r-{n}", "RETAIL", Selection(quantity_kg=10), Beneficiary(f"买家{n}", n % 2 == 0), "gift"
                )
            ]
        )
    service.append([Transfer("t-3", "OWN-B", "ENT-B", Selection(quantity_kg=700), memo="ENT-A 的合同")])
    service.append([Cancel("c-1", "BUFFER", Selection(quantity_kg=100), "更正")])
    service.append(
        [Retire("r-9", "ENT-A", Selection(quantity_kg=50), Beneficiary("企业甲", True), "other", "x")]
    )


def brute_force(service: LedgerService, account: str) -> list[int]:
    """The seqs of entries naming ``account``, from every stored body."""
    with service.database.reading() as session:
        rows = session.execute(select(Entry.seq, Entry.kind, Entry.body).order_by(Entry.seq)).all()
    return [
        seq for seq, kind, body in rows if account in accounts_named(kind, parse_body(body.encode()).data)
    ]


def everything(service: LedgerService) -> list[tuple[str, int]]:
    return sorted((account, seq) for account in ACCOUNTS for seq in brute_force(service, account))


def named(service: LedgerService, account: str) -> list[int]:
    with service.database.reading() as session:
        return [seq for seq, _body in entries_naming(session, account)]


def index(service: LedgerService, limit: int = 100_000) -> int:
    with service.database.unit_of_work() as uow:
        done = index_new_entries(uow.session, limit)
        uow.commit()
    return done


def stored_index(service: LedgerService) -> list[tuple[str, int]]:
    with service.database.reading() as session:
        rows = session.execute(
            select(AccountEntry.account_id, AccountEntry.seq).order_by(
                AccountEntry.seq, AccountEntry.account_id
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_the_index_records_every_account_an_entry_names(service: LedgerService):
    build(service)
    assert index(service) == service.size() == 13
    rows = stored_index(service)
    assert rows[:3] == [("BUFFER", 0), ("OWN-A", 0), ("OWN-B", 1)]  # one issue, two allocations; another
    assert ("RETAIL", 2) in rows  # a transfer names both sides
    assert ("OWN-A", 2) in rows
    assert [account for account, seq in rows if seq == 10] == ["ENT-B", "OWN-B"]  # not the memo's ENT-A
    assert rows[-1] == ("ENT-A", 12)
    assert sorted(rows) == sorted(
        (account, seq) for account in ACCOUNTS for seq in brute_force(service, account)
    )


@pytest.mark.parametrize("first", [0, 1, 5, 12])
def test_readers_are_complete_however_far_the_index_has_come(service: LedgerService, first: int):
    build(service)
    expected = {account: brute_force(service, account) for account in ACCOUNTS}
    assert expected["ENT-A"] == [3, 12]
    assert expected["REGISTRY"] == []
    if first:
        assert index(service, limit=first) == first
    assert {account: named(service, account) for account in ACCOUNTS} == expected
    index(service)
    assert {account: named(service, account) for account in ACCOUNTS} == expected


def test_indexing_resumes_where_it_stopped_and_repeats_harmlessly(service: LedgerService):
    build(service)
    assert [index(service, limit=4) for _ in range(5)] == [4, 4, 4, 1, 0]
    complete = stored_index(service)
    with service.database.reading() as session:
        assert indexed_end(session) == 13
    service.append([Transfer("t-9", "ENT-A", "ENT-B", Selection(quantity_kg=1))])
    assert index(service) == 1
    assert stored_index(service) == [*complete, ("ENT-A", 13), ("ENT-B", 13)]


def test_a_run_reads_in_chunks_and_stops_at_its_limit(
    service: LedgerService, monkeypatch: pytest.MonkeyPatch
):
    build(service)
    monkeypatch.setattr(account_index, "CHUNK_ENTRIES", 3)
    assert index(service, limit=4) == 4  # a chunk of 3, then 1: not a second chunk of 3
    with service.database.reading() as session:
        assert indexed_end(session) == 4
    assert index(service, limit=7) == 7  # three chunks, the last cut to the limit
    with service.database.reading() as session:
        assert indexed_end(session) == 11
    assert index(service) == 2
    assert sorted(stored_index(service)) == everything(service)


def test_the_scheduler_job_and_the_command_bring_the_index_up_to_the_log(
    service: LedgerService, sqlite_url: str, tmp_path: Path
):
    build(service)
    assert index_accounts_job(service) == 13
    assert index_accounts_job(service) == 0
    service.append([Transfer("t-9", "ENT-A", "ENT-B", Selection(quantity_kg=1))])
    env = {
        "TANHUI_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": sqlite_url,
        "TANHUI_SIGNING_KEY_FILE": str(tmp_path / "cli.key"),
        "TANHUI_SCHEDULER": "false",
    }
    result = CliRunner().invoke(main, ["ledger", "index"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout == "ok: 1 entries indexed\n"
    assert stored_index(service)[-2:] == [("ENT-A", 13), ("ENT-B", 13)]


@pytest.mark.pg
def test_two_indexers_racing_on_postgresql_index_each_entry_once(pg_service: LedgerService, pg_url: str):
    build(pg_service)

    def run(database, _index: int) -> None:
        with database.unit_of_work() as uow:
            index_new_entries(uow.session)
            uow.commit()

    assert race_together(pg_url, 2, run, doing="indexing") == [None, None]
    assert sorted(stored_index(pg_service)) == everything(pg_service)
