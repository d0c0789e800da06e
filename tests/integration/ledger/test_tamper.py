"""Tampering with the stored ledger, behind the database's back, is caught by verification and named.

A ledger of 40 entries of every kind is built once and covered by signed checkpoints. Each case works on
a fresh copy of its database file: it drops the append-only triggers with ``sqlite3`` (as an operator with
file access could), changes one thing, and checks that ``verify`` fails naming the right seq (or, for the
derived holdings, the account and range). The ``tanhui ledger verify`` command is run on a copy too.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from tamper_support import copy_database, failure_of, one_byte_changed, query, rewrite_entry, tamper
from tests_support import migrate

from ledger import merkle
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.commands import Allocation, Beneficiary, Cancel, Command, Issue, Retire, Selection, Transfer
from ledger.database import Database
from ledger.keys import read_key_file
from ledger.ranges import SerialRange
from ledger.service import LedgerConfig, LedgerService
from ledger.verify import VerificationFailure, VerificationReport, verify_ledger
from ledger.verify_integrity import IntegrityProcess, IntegrityProcessFailed
from web.cli import main

ORIGIN = "tamper.tanhui.example/ledger"
ENTRY_COUNT = 40
FIRST_CHECKPOINT = 23
ACCOUNTS = (
    ("REGISTRY", "registry", "登记簿"),
    ("BUFFER", "buffer", "缓冲池"),
    ("RETAIL", "retail", "零售库存"),
    ("OWN-A", "owner", "项目业主甲"),
    ("OWN-B", "owner", "项目业主乙"),
    ("ENT-A", "enterprise", "企业甲"),
    ("ENT-B", "enterprise", "企业乙"),
)


def ledger_commands() -> list[list[Command]]:
    """40 entries in 34 appends: every kind, quantities and explicit ranges, public and private names."""
    b1, b2, b3, b4 = "LS01-2023-001", "LS01-2023-002", "MY07-2022-001", "GZ12-2024-001"
    t = 1_000
    return [
        [
            Issue(
                "i-1",
                "LS01",
                "2023",
                1,
                (Allocation("OWN-A", 90 * t), Allocation("BUFFER", 10 * t)),
                {"zone": "川西南", "county": "雷波县", "poverty_area": True},
            )
        ],
        [Issue("i-2", "LS01", "2023", 2, (Allocation("OWN-A", 40 * t), Allocation("BUFFER", 5 * t)))],
        [
            Issue(
                "i-3",
                "MY07",
                "2022",
                1,
                (Allocation("OWN-B", 60 * t), Allocation("BUFFER", 6 * t)),
                {"zone": "川西北", "type": "grassland"},
            )
        ],
        [Transfer("t-1", "OWN-A", "RETAIL", Selection(quantity_kg=20 * t), memo="上架零售")],
        [Transfer("t-2", "OWN-A", "ENT-A", Selection(quantity_kg=30 * t, batches=(b2,)), memo="履约购买")],
        [Transfer("t-3", "OWN-B", "ENT-B", Selection(ranges=(SerialRange(b3, 1001, 6000),)))],
        [
            Retire(
                "r-1", "RETAIL", Selection(quantity_kg=12), Beneficiary("李明", False), "personal_footprint"
            )
        ],
        [
            Retire(
                "r-2",
                "ENT-A",
                Selection(quantity_kg=5 * t),
                Beneficiary("四川某水泥有限公司", True),
                "compliance_period",
                "2024 履约期",
            )
        ],
        [
            Retire(
                "r-3",
                "RETAIL",
                Selection(quantity_kg=800),
                Beneficiary("2025 成都马拉松", True),
                "event",
                "2025 成都马拉松碳中和",
            )
        ],
        [Cancel("c-1", "BUFFER", Selection(quantity_kg=2 * t), "监测报告更正")],
        [
            Transfer(
                "t-4",
                "ENT-B",
                "ENT-A",
                Selection(ranges=(SerialRange(b3, 1001, 1500), SerialRange(b3, 3001, 3500))),
            )
        ],
        [
            Retire(
                "r-4",
                "ENT-A",
                Selection(ranges=(SerialRange(b3, 1001, 1100),)),
                Beneficiary("王芳", False),
                "gift",
                "生日礼物",
            )
        ],
        [
            Issue(
                "i-4",
                "GZ12",
                "2024",
                1,
                (Allocation("OWN-A", 7 * t), Allocation("OWN-B", 3 * t), Allocation("BUFFER", t)),
            )
        ],
        [Transfer("t-5", "OWN-B", "RETAIL", Selection(quantity_kg=4 * t))],
        [Retire("r-5", "RETAIL", Selection(quantity_kg=1), Beneficiary("张伟", False), "personal_footprint")],
        [
            Retire(
                "r-6",
                "RETAIL",
                Selection(quantity_kg=2),
                Beneficiary("Zhang Wei", True),
                "personal_footprint",
            )
        ],
        [
            Retire(
                "r-7", "ENT-B", Selection(quantity_kg=700), Beneficiary("企业乙", True), "voluntary_corporate"
            )
        ],
        [Cancel("c-2", "OWN-A", Selection(ranges=(SerialRange(b4, 1, 100),)), "重复签发")],
        [
            Transfer("t-6", "OWN-A", "ENT-B", Selection(quantity_kg=3 * t), memo="批量"),
            Transfer("t-7", "ENT-B", "RETAIL", Selection(quantity_kg=t)),
            Retire(
                "r-8",
                "RETAIL",
                Selection(quantity_kg=300),
                Beneficiary("某某会议", True),
                "other",
                "会议碳中和",
            ),
        ],
        [Transfer("t-8", "ENT-A", "ENT-B", Selection(quantity_kg=2 * t))],
        [Retire("r-9", "ENT-B", Selection(quantity_kg=50), Beneficiary("李明", False), "gift")],
        # --- the first checkpoint is signed here, at 23 entries ---
        [Cancel("c-3", "BUFFER", Selection(quantity_kg=500, batches=(b3,)), "森林火灾损失")],
        [Transfer("t-9", "RETAIL", "ENT-A", Selection(quantity_kg=123))],
        [
            Retire(
                "r-10",
                "ENT-A",
                Selection(quantity_kg=77),
                Beneficiary("成都某科技公司", True),
                "voluntary_corporate",
            )
        ],
        [
            Issue("i-5", "MY07", "2022", 2, (Allocation("OWN-B", 2 * t),)),
            Transfer("t-10", "OWN-B", "ENT-A", Selection(quantity_kg=t, batches=("MY07-2022-002",))),
            Retire(
                "r-11",
                "ENT-A",
                Selection(ranges=(SerialRange("MY07-2022-002", 1, 10),)),
                Beneficiary("赵六", False),
                "gift",
            ),
            Cancel("c-4", "OWN-B", Selection(quantity_kg=5, batches=("MY07-2022-002",)), "计量错误"),
        ],
        [Transfer("t-11", "BUFFER", "REGISTRY", Selection(quantity_kg=100))],
        [Cancel("c-5", "REGISTRY", Selection(quantity_kg=100), "缓冲池释放冲销")],
        [Transfer("t-12", "ENT-A", "RETAIL", Selection(quantity_kg=500), memo="转零售")],
        [
            Retire(
                "r-12", "RETAIL", Selection(quantity_kg=3), Beneficiary("小王", False), "personal_footprint"
            )
        ],
        [Retire("r-13", "RETAIL", Selection(quantity_kg=4), Beneficiary("小李", True), "gift")],
        [Transfer("t-13", "OWN-A", "OWN-B", Selection(ranges=(SerialRange(b1, 50_001, 50_010),)))],
        [
            Retire(
                "r-14",
                "OWN-B",
                Selection(ranges=(SerialRange(b1, 50_005, 50_006),)),
                Beneficiary("业主乙", True),
                "other",
                "自愿注销",
            )
        ],
        [Transfer("t-14", "OWN-B", "ENT-B", Selection(quantity_kg=8))],
        [Retire("r-15", "ENT-B", Selection(quantity_kg=8), Beneficiary("最后一位", False), "gift")],
        [Cancel("c-6", "OWN-A", Selection(ranges=(SerialRange(b4, 6991, 7000),)), "最后一笔冲销")],
    ]


def open_service(path: Path, key: Path) -> LedgerService:
    return LedgerService(
        Database(f"sqlite:///{path}"),
        LedgerConfig(origin=ORIGIN, signing_key_file=key, create_key_if_missing=False),
    )


@dataclass(frozen=True)
class Built:
    path: Path
    key: Path
    bodies: list[str]
    subtree_sizes: list[int]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    directory = tmp_path_factory.mktemp("tamper")
    path, key = directory / "ledger.db", directory / "signing.key"
    url = f"sqlite:///{path}"
    migrate(url)
    service = LedgerService(Database(url), LedgerConfig(origin=ORIGIN, signing_key_file=key))
    for account_id, account_type, name in ACCOUNTS:
        service.open_account(account_id, account_type, name)
    for cmds in ledger_commands():
        service.append(cmds)
        if service.size() == FIRST_CHECKPOINT:
            service.sign_checkpoint()
    service.sign_checkpoint()
    report = service.verify()
    assert (report.size, report.checkpoints, report.latest_checkpoint_size) == (ENTRY_COUNT, 2, ENTRY_COUNT)
    service.database.dispose()
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(
            "SELECT kind, body, length(subtree_hashes) FROM ledger_entries ORDER BY seq"
        ).fetchall()
    finally:
        connection.close()
    assert {kind for kind, _, _ in rows} == {"issue", "transfer", "retire", "cancel"}
    return Built(path, key, [body for _, body, _ in rows], [size for _, _, size in rows])


@pytest.fixture
def copy(built: Built, tmp_path: Path) -> Path:
    """A fresh copy of the built ledger's database file, for one case to tamper with."""
    return copy_database(built.path, tmp_path / "copy.db")


def verification_failure(path: Path, key: Path, jobs: int = 1) -> VerificationFailure:
    return failure_of(open_service(path, key), jobs)


# --- the untouched ledger -------------------------------------------------------------------------------


def test_the_untouched_copy_verifies(built: Built, copy: Path):
    service = open_service(copy, built.key)
    try:
        report = service.verify()
    finally:
        service.database.dispose()
    [(live, closed, batches)] = query(
        copy,
        "SELECT (SELECT count(*) FROM ledger_holdings), (SELECT count(*) FROM ledger_closed_ranges), "
        "(SELECT count(*) FROM ledger_batches)",
    )
    # Every stored row was compared: the report counts them (a ledger of several of each).
    assert min(live, closed, batches) > 3
    assert report == VerificationReport(
        size=ENTRY_COUNT,
        checkpoints=2,
        latest_checkpoint_size=ENTRY_COUNT,
        live_ranges=live,
        closed_ranges=closed,
        batches=batches,
    )
    assert len(built.bodies) == ENTRY_COUNT


def test_an_unknown_verifier_key_does_not_verify_the_ledger(built: Built, copy: Path, tmp_path: Path):
    from ledger.note import NoteSigner

    stranger = NoteSigner.generate(ORIGIN)
    service = open_service(copy, built.key)
    try:
        with pytest.raises(VerificationFailure) as failure:
            service.verify(pinned_keys=[stranger.vkey])
    finally:
        service.database.dispose()
    assert failure.value.what == "signature"


# --- entries --------------------------------------------------------------------------------------------

POSITIONS = ("first", "second", "quarter", "middle", "three-quarters", "penultimate", "last")


def offset_at(position: str, length: int) -> int:
    return {
        "first": 0,
        "second": 1,
        "quarter": length // 4,
        "middle": length // 2,
        "three-quarters": 3 * length // 4,
        "penultimate": length - 2,
        "last": length - 1,
    }[position]


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("seq", range(ENTRY_COUNT))
def test_changing_one_byte_of_a_stored_body_is_caught_at_that_seq(
    built: Built, copy: Path, seq: int, position: str
):
    raw = built.bodies[seq].encode("utf-8")
    changed = one_byte_changed(raw, offset_at(position, len(raw)))
    assert changed != raw
    assert len(changed) == len(raw)
    tamper(copy, "UPDATE ledger_entries SET body = ? WHERE seq = ?", (changed.decode("utf-8"), seq))
    failure = verification_failure(copy, built.key)
    assert (failure.seq, failure.what) == (seq, "leaf hash"), failure


@pytest.mark.parametrize("seq", [0, 7, ENTRY_COUNT - 1])
def test_changing_any_byte_of_a_body_is_caught(built: Built, tmp_path: Path, seq: int):
    """Every byte offset of three entries (first, one in the middle, last), not only sampled ones."""
    raw = built.bodies[seq].encode("utf-8")
    for offset in range(0, len(raw), 3 if seq else 1):
        target = tmp_path / f"copy-{offset}.db"
        source, destination = sqlite3.connect(built.path), sqlite3.connect(target)
        try:
            source.backup(destination)
        finally:
            source.close()
            destination.close()
        tamper(
            target,
            "UPDATE ledger_entries SET body = ? WHERE seq = ?",
            (one_byte_changed(raw, offset).decode(), seq),
        )
        assert verification_failure(target, built.key).seq == seq, offset
        target.unlink()


@pytest.mark.parametrize("seq", range(ENTRY_COUNT))
def test_changing_a_stored_leaf_hash_is_caught_at_that_seq(built: Built, copy: Path, seq: int):
    leaf = bytes(query(copy, "SELECT leaf_hash FROM ledger_entries WHERE seq = ?", (seq,))[0][0])
    changed = leaf[:-1] + bytes([leaf[-1] ^ 0x80])
    tamper(copy, "UPDATE ledger_entries SET leaf_hash = ? WHERE seq = ?", (changed, seq))
    failure = verification_failure(copy, built.key)
    assert (failure.seq, failure.what) == (seq, "leaf hash"), failure


SUBTREE_SEQS = [seq for seq in range(ENTRY_COUNT) if seq % 2 == 1]
"""Odd seqs complete at least one subtree, so their ``subtree_hashes`` are not empty."""


@pytest.mark.parametrize("end", ["first", "last"])
@pytest.mark.parametrize("seq", SUBTREE_SEQS)
def test_changing_a_stored_subtree_hash_is_caught_at_that_seq(built: Built, copy: Path, seq: int, end: str):
    assert built.subtree_sizes[seq] == 32 * len(merkle.completed_node_ids(seq)) > 0
    nodes = bytes(query(copy, "SELECT subtree_hashes FROM ledger_entries WHERE seq = ?", (seq,))[0][0])
    offset = 0 if end == "first" else len(nodes) - 1
    changed = nodes[:offset] + bytes([nodes[offset] ^ 0x01]) + nodes[offset + 1 :]
    tamper(copy, "UPDATE ledger_entries SET subtree_hashes = ? WHERE seq = ?", (changed, seq))
    failure = verification_failure(copy, built.key)
    assert (failure.seq, failure.what) == (seq, "tree node"), failure


def test_even_seqs_store_no_subtree_hashes(built: Built):
    assert all(size == 0 for seq, size in enumerate(built.subtree_sizes) if seq % 2 == 0)


@pytest.mark.parametrize("seq", range(ENTRY_COUNT))
def test_changing_a_stored_request_id_is_caught_at_that_seq(built: Built, copy: Path, seq: int):
    tamper(copy, "UPDATE ledger_entries SET request_id = request_id || '-x' WHERE seq = ?", (seq,))
    failure = verification_failure(copy, built.key)
    assert (failure.seq, failure.what) == (seq, "request id"), failure


@pytest.mark.parametrize("seq", range(ENTRY_COUNT))
def test_changing_a_stored_kind_is_caught_at_that_seq(built: Built, copy: Path, seq: int):
    [(kind,)] = query(copy, "SELECT kind FROM ledger_entries WHERE seq = ?", (seq,))
    other = "cancel" if kind != "cancel" else "retire"
    tamper(copy, "UPDATE ledger_entries SET kind = ? WHERE seq = ?", (other, seq))
    failure = verification_failure(copy, built.key)
    assert (failure.seq, failure.what) == (seq, "body"), failure
    assert repr(other) in failure.detail
    assert repr(kind) in failure.detail


@pytest.mark.parametrize("seq", [3, 10, 22, 30])
def test_a_rewritten_entry_with_a_recomputed_leaf_hash_is_still_caught(built: Built, copy: Path, seq: int):
    # The careful forger also fixes the leaf hash; the next entry's prev link, the stored subtree hashes
    # or the signed root give the rewrite away.
    forged = built.bodies[seq].replace('"quantity_kg":', '"quantity_kg":1', 1).encode("utf-8")
    assert forged != built.bodies[seq].encode("utf-8")
    rewrite_entry(copy, seq, forged)
    failure = verification_failure(copy, built.key)
    assert failure.seq in (seq, seq + 1), failure
    assert failure.what in ("tree node", "chain link", "root", "replay", "body"), failure


def test_deleting_the_last_entry_is_caught_naming_the_missing_seq(built: Built, copy: Path):
    last = ENTRY_COUNT - 1
    tamper(copy, "DELETE FROM ledger_entries WHERE seq = ?", (last,))
    failure = verification_failure(copy, built.key)
    assert (failure.seq, failure.what) == (last, "missing entry"), failure
    assert str(ENTRY_COUNT) in failure.detail


@pytest.mark.parametrize("seq", [0, 17, 30])
def test_deleting_an_entry_in_the_middle_is_caught_naming_the_missing_seq(built: Built, copy: Path, seq: int):
    tamper(copy, "DELETE FROM ledger_entries WHERE seq = ?", (seq,))
    failure = verification_failure(copy, built.key)
    assert (failure.seq, failure.what) == (seq, "missing entry"), failure


LATER, EARLIER = "2999-01-01T00:00:00.000000Z", "2000-01-01T00:00:00.000000Z"
HEAD_CASES = {
    "size": ("size = size + 1", f"the ledger head says {ENTRY_COUNT + 1} entries, {ENTRY_COUNT} are stored"),
    "leaf": ("last_leaf_hash = zeroblob(32)", f"last leaf hash is not entry {ENTRY_COUNT - 1}'s"),
    # Where the sequencer dates the next entries from: later would date them wrongly, earlier would
    # let the next one go back in time.
    "later time": (f"last_time = '{LATER}'", f"last time is '{LATER}'"),
    "earlier time": (f"last_time = '{EARLIER}'", f"last time is '{EARLIER}'"),
}


@pytest.mark.parametrize("case", list(HEAD_CASES))
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_stored_head_that_disagrees_with_the_entries_is_caught(
    built: Built, copy: Path, case: str, jobs: int
):
    change, detail = HEAD_CASES[case]
    tamper(copy, f"UPDATE ledger_head SET {change} WHERE id = 1")
    failure = verification_failure(copy, built.key, jobs)
    assert (failure.seq, failure.what) == (ENTRY_COUNT, "head"), failure
    assert detail in failure.detail, failure


# --- derived state --------------------------------------------------------------------------------------


def holding_rows(path: Path) -> list[tuple[str, str, int, int]]:
    return query(path, "SELECT account_id, batch_id, start_kg, end_kg FROM ledger_holdings ORDER BY 1, 2, 3")


def closed_rows(path: Path) -> list[tuple[str, str, int, int, str, int]]:
    return query(
        path,
        "SELECT account_id, batch_id, start_kg, end_kg, status, entry_seq "
        "FROM ledger_closed_ranges ORDER BY 6, 2, 3",
    )


def serial(batch: str, start: int, end: int) -> str:
    return f"SC-{batch}-{start}-{end}"


def holding_cases() -> Iterator[str]:
    yield from ("other account", "shorter", "longer", "shifted", "deleted", "extra")


@pytest.mark.parametrize("case", list(holding_cases()))
@pytest.mark.parametrize("row", [0, 5, -1])
def test_changing_a_stored_holding_is_caught_naming_the_account_and_range(
    built: Built, copy: Path, case: str, row: int
):
    rows = holding_rows(copy)
    assert len(rows) > 10
    account, batch, start, end = rows[row]
    where = "WHERE batch_id = ? AND start_kg = ?"
    key = (batch, start)
    if case == "other account":
        other = "ENT-B" if account != "ENT-B" else "ENT-A"
        tamper(copy, f"UPDATE ledger_holdings SET account_id = ? {where}", (other, *key))
        names = [(other, serial(batch, start, end)), (account, serial(batch, start, end))]
    elif case == "shorter":
        assert end > start
        tamper(copy, f"UPDATE ledger_holdings SET end_kg = end_kg - 1 {where}", key)
        names = [(account, serial(batch, start, end - 1)), (account, serial(batch, start, end))]
    elif case == "longer":
        tamper(copy, f"UPDATE ledger_holdings SET end_kg = end_kg + 1 {where}", key)
        names = [(account, serial(batch, start, end + 1)), (account, serial(batch, start, end))]
    elif case == "shifted":
        tamper(copy, f"UPDATE ledger_holdings SET start_kg = start_kg + 1 {where}", key)
        names = [(account, serial(batch, start + 1, end)), (account, serial(batch, start, end))]
    elif case == "deleted":
        tamper(copy, f"DELETE FROM ledger_holdings {where}", key)
        names = [(account, serial(batch, start, end))]
    else:
        # A kilogram that was retired reappears as held.
        _, closed_batch, closed_start, _, _, _ = closed_rows(copy)[0]
        tamper(
            copy,
            "INSERT INTO ledger_holdings (batch_id, start_kg, end_kg, account_id) VALUES (?, ?, ?, 'RETAIL')",
            (closed_batch, closed_start, closed_start),
        )
        names = [("RETAIL", serial(closed_batch, closed_start, closed_start))]
    failure = verification_failure(copy, built.key)
    assert failure.what == "holdings", failure
    assert any(f"account {who}" in str(failure) and what in str(failure) for who, what in names), failure


@pytest.mark.parametrize("case", ["other account", "other status", "shorter", "deleted"])
@pytest.mark.parametrize("row", [0, 7, -1])
def test_changing_a_stored_closed_range_is_caught_naming_the_seq_account_and_range(
    built: Built, copy: Path, case: str, row: int
):
    account, batch, start, end, status, seq = closed_rows(copy)[row]
    where = "WHERE batch_id = ? AND start_kg = ?"
    key = (batch, start)
    names = [(account, serial(batch, start, end))]
    if case == "other account":
        other = "REGISTRY" if account != "REGISTRY" else "RETAIL"
        tamper(copy, f"UPDATE ledger_closed_ranges SET account_id = ? {where}", (other, *key))
        names.append((other, serial(batch, start, end)))
    elif case == "other status":
        flipped = "cancelled" if status == "retired" else "retired"
        tamper(copy, f"UPDATE ledger_closed_ranges SET status = ? {where}", (flipped, *key))
    elif case == "shorter":
        if end == start:
            tamper(
                copy,
                f"UPDATE ledger_closed_ranges SET start_kg = start_kg + 1, end_kg = end_kg + 1 {where}",
                key,
            )
            names.append((account, serial(batch, start + 1, end + 1)))
        else:
            tamper(copy, f"UPDATE ledger_closed_ranges SET end_kg = end_kg - 1 {where}", key)
            names.append((account, serial(batch, start, end - 1)))
    else:
        tamper(copy, f"DELETE FROM ledger_closed_ranges {where}", key)
    failure = verification_failure(copy, built.key)
    assert (failure.seq, failure.what) == (seq, "holdings"), failure
    assert any(f"of account {who}" in str(failure) and what in str(failure) for who, what in names), failure


def test_changing_a_stored_batch_quantity_is_caught(built: Built, copy: Path):
    tamper(copy, "UPDATE ledger_batches SET quantity_kg = quantity_kg + 1 WHERE id = 'MY07-2022-001'")
    failure = verification_failure(copy, built.key)
    assert failure.what == "batch", failure
    assert "MY07-2022-001" in str(failure)


# --- checkpoints ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["first", "latest"])
@pytest.mark.parametrize("line", ["origin", "size", "root", "signature"])
def test_changing_a_checkpoint_note_is_caught_as_a_bad_signature(
    built: Built, copy: Path, which: str, line: str
):
    order = "ASC" if which == "first" else "DESC"
    [(checkpoint_id, note)] = query(
        copy, f"SELECT id, note FROM ledger_checkpoints ORDER BY size {order} LIMIT 1"
    )
    lines = note.split("\n")
    index = {"origin": 0, "size": 1, "root": 2, "signature": 4}[line]
    original = lines[index]
    # Change one character near the end of the line (inside the base64 signature, not its key name).
    position = len(original) - 3
    replacement = "A" if original[position] != "A" else "B"
    lines[index] = original[:position] + replacement + original[position + 1 :]
    tamper(copy, "UPDATE ledger_checkpoints SET note = ? WHERE id = ?", ("\n".join(lines), checkpoint_id))
    failure = verification_failure(copy, built.key)
    assert failure.what == "signature", failure
    assert f"checkpoint #{checkpoint_id}" in failure.detail


def test_a_checkpoint_of_another_log_signed_with_the_registrys_key_is_caught(built: Built, copy: Path):
    """One key may sign for more than one log (a test log beside the real one, say): a good signature on
    another log's checkpoint, of the same size and root, vouches for nothing here."""
    [(checkpoint_id, note)] = query(
        copy, "SELECT id, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1"
    )
    signed = Checkpoint.parse(note[: note.index("\n\n") + 1])
    other = Checkpoint("other.tanhui.example/ledger", signed.size, signed.root)
    forged = sign_checkpoint(other, [read_key_file(built.key)])
    tamper(copy, "UPDATE ledger_checkpoints SET note = ? WHERE id = ?", (forged, checkpoint_id))
    failure = verification_failure(copy, built.key)
    assert (failure.seq, failure.what) == (None, "signature"), failure
    assert f"checkpoint #{checkpoint_id}" in failure.detail
    assert "other.tanhui.example/ledger" in failure.detail


def test_changing_a_checkpoint_root_column_is_caught(built: Built, copy: Path):
    [(checkpoint_id, root)] = query(
        copy, "SELECT id, root_hash FROM ledger_checkpoints ORDER BY size LIMIT 1"
    )
    tamper(copy, "UPDATE ledger_checkpoints SET root_hash = ? WHERE id = ?", (bytes(32), checkpoint_id))
    assert bytes(root) != bytes(32)
    failure = verification_failure(copy, built.key)
    assert failure.what == "signature", failure


# --- two processes: the same verdict as one -------------------------------------------------------------


def _forge(copy: Path, built: Built, seq: int) -> None:
    forged = built.bodies[seq].replace('"quantity_kg":', '"quantity_kg":1', 1).encode("utf-8")
    rewrite_entry(copy, seq, forged)


def _closed_range_shortened(copy: Path, row: int, *, again: bool = False) -> None:
    _, batch, start, end, _, _ = closed_rows(copy)[row]
    tamper(
        copy,
        "UPDATE ledger_closed_ranges SET start_kg = start_kg + 1, end_kg = end_kg + 1 "
        "WHERE batch_id = ? AND start_kg = ?"
        if start == end
        else "UPDATE ledger_closed_ranges SET end_kg = end_kg - 1 WHERE batch_id = ? AND start_kg = ?",
        (batch, start),
        again=again,
    )


def _field_retyped(copy: Path, built: Built, seq: int, field: str, value: object) -> None:
    """Entry ``seq`` rewritten with ``field`` of its body given a value of the wrong JSON type: still
    canonical JSON, with its leaf hash recomputed, so only the body's own checks can refuse it."""
    body = json.loads(built.bodies[seq])
    body[field] = value
    forged = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    rewrite_entry(copy, seq, forged)


# The replay beside an integrity process reads these fields itself: a wrong type must be named as the
# body's problem, never end the verification with an error of its own. Case: (seq, field, value).
RETYPED: dict[str, tuple[int, str, object]] = {
    "a time that is a number": (14, "time", 20240101),
    "a kind that is a number": (15, "kind", 2),
    "a request that is a number": (16, "request", 0),
    "data that is a list": (18, "data", []),
}


def _retyped(seq: int, field: str, value: object) -> Callable[[Path, Built], None]:
    return lambda copy, built: _field_retyped(copy, built, seq, field, value)


def _leaf_flipped(copy: Path, seq: int, *, again: bool = False) -> None:
    tamper(copy, "UPDATE ledger_entries SET leaf_hash = zeroblob(32) WHERE seq = ?", (seq,), again=again)


PARITY_CASES = {
    "a body byte": lambda copy, built: tamper(
        copy,
        "UPDATE ledger_entries SET body = ? WHERE seq = ?",
        (one_byte_changed(built.bodies[9].encode(), 40).decode(), 9),
    ),
    "a leaf hash": lambda copy, built: _leaf_flipped(copy, 30),
    "a request id": lambda copy, built: tamper(
        copy, "UPDATE ledger_entries SET request_id = request_id || '-x' WHERE seq = 12"
    ),
    "a kind": lambda copy, built: tamper(copy, "UPDATE ledger_entries SET kind = 'cancel' WHERE seq = 1"),
    "a forged entry at a checkpoint": lambda copy, built: _forge(copy, built, FIRST_CHECKPOINT - 1),
    "a forged entry": lambda copy, built: _forge(copy, built, 10),
    **{case: _retyped(*how) for case, how in RETYPED.items()},
    "a deleted entry": lambda copy, built: tamper(copy, "DELETE FROM ledger_entries WHERE seq = 17"),
    "the last entry deleted": lambda copy, built: tamper(
        copy, "DELETE FROM ledger_entries WHERE seq = ?", (ENTRY_COUNT - 1,)
    ),
    "the head": lambda copy, built: tamper(copy, "UPDATE ledger_head SET size = size + 1 WHERE id = 1"),
    "a holding": lambda copy, built: tamper(
        copy, "DELETE FROM ledger_holdings WHERE rowid = (SELECT min(rowid) FROM ledger_holdings)"
    ),
    "a closed range": lambda copy, built: _closed_range_shortened(copy, 3),
    "a batch": lambda copy, built: tamper(
        copy, "UPDATE ledger_batches SET quantity_kg = quantity_kg + 1 WHERE id = 'MY07-2022-001'"
    ),
    "a checkpoint root": lambda copy, built: tamper(
        copy, "UPDATE ledger_checkpoints SET root_hash = zeroblob(32) WHERE size = ?", (FIRST_CHECKPOINT,)
    ),
}


@pytest.mark.parametrize("case", list(PARITY_CASES))
def test_two_processes_name_the_same_failure_as_one(built: Built, copy: Path, case: str):
    PARITY_CASES[case](copy, built)
    one = verification_failure(copy, built.key, jobs=1)
    two = verification_failure(copy, built.key, jobs=2)
    assert (two.seq, two.what, two.detail) == (one.seq, one.what, one.detail)
    if case in RETYPED:
        assert (one.seq, one.what) == (RETYPED[case][0], "body"), one


def test_two_processes_report_the_same_as_one_on_an_untouched_ledger(built: Built, copy: Path):
    service = open_service(copy, built.key)
    try:
        assert service.verify(jobs=2) == service.verify(jobs=1)
    finally:
        service.database.dispose()


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("holdings", "leaf hash"),  # the replay's problem first; the integrity process finds a later one
        ("leaf hash", "holdings"),  # the integrity process's problem comes first
    ],
)
def test_two_processes_name_whichever_problem_comes_first(built: Built, copy: Path, first: str, then: str):
    early, late = 5, ENTRY_COUNT - 2
    closed_seqs = [row[5] for row in closed_rows(copy)]
    if first == "holdings":
        _closed_range_shortened(copy, closed_seqs.index(min(s for s in closed_seqs if s >= early)))
        _leaf_flipped(copy, late, again=True)
    else:
        _leaf_flipped(copy, early)
        _closed_range_shortened(copy, closed_seqs.index(max(closed_seqs)), again=True)
    one = verification_failure(copy, built.key, jobs=1)
    two = verification_failure(copy, built.key, jobs=2)
    assert two.what == first, two
    assert (two.seq, two.what, two.detail) == (one.seq, one.what, one.detail)


def test_a_failing_integrity_process_is_reported_not_waited_for(built: Built, copy: Path, tmp_path: Path):
    service = open_service(copy, built.key)
    try:
        with (
            service.database.reading() as session,
            pytest.raises(
                IntegrityProcessFailed,
                # The operator is told what went wrong there: the error's type and message.
                match=r"^the integrity process failed: OperationalError: .*no such table: ledger_entries",
            ),
        ):
            # The second process opens an empty database: it fails, and the verification says so.
            verify_ledger(
                session, service.verifiers(), ORIGIN, parallel_url=f"sqlite:///{tmp_path / 'empty.db'}"
            )
    finally:
        service.database.dispose()


def test_an_integrity_process_checks_only_the_entries_the_replay_sees(built: Built, copy: Path):
    """Entries appended after the replay's snapshot (here: from seq ``end`` on) are not the integrity
    process's to check, even a bad one: it reports the chain as far as ``end``."""
    end = 30
    _leaf_flipped(copy, end)
    process = IntegrityProcess(f"sqlite:///{copy}", end, [])
    try:
        outcome = process.outcome_through(None)
    finally:
        process.close()
    assert outcome is not None
    assert outcome.failure is None, outcome.failure
    assert outcome.last_leaf == merkle.leaf_hash(built.bodies[end - 1].encode("utf-8")).hex()


def test_an_integrity_process_that_dies_is_reported_with_its_exit_code(copy: Path):
    process = IntegrityProcess(f"sqlite:///{copy}", ENTRY_COUNT, [])
    try:
        (child,) = [c for c in multiprocessing.active_children() if c.name == "tanhui-verify-integrity"]
        os.kill(child.pid, signal.SIGKILL)  # long before it has started checking: a spawn takes a while
        with pytest.raises(IntegrityProcessFailed, match=r"died \(exit code -9\)"):
            process.outcome_through(None)
        with pytest.raises(IntegrityProcessFailed, match="died"):
            process.failure_before(ENTRY_COUNT)
    finally:
        process.close()


def test_an_integrity_process_that_hangs_is_stopped_after_its_stall_limit():
    # A server that accepts the connection and never says a word: the process's connect hangs for good.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"postgresql+psycopg://nobody@127.0.0.1:{silent.getsockname()[1]}/none"
        process = IntegrityProcess(url, 10, [], stall_limit=3)
        try:
            started = time.monotonic()
            with pytest.raises(IntegrityProcessFailed, match=r"made no progress for 3 s and was stopped"):
                process.outcome_through(None)
            assert 3 <= time.monotonic() - started < 30
            assert not [c for c in multiprocessing.active_children() if c.name == "tanhui-verify-integrity"]
        finally:
            process.close()


def test_the_cli_says_in_one_line_that_verification_could_not_finish(
    built: Built, copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    def dies(*_args: object, **_kwargs: object) -> None:
        raise IntegrityProcessFailed("the integrity process died (exit code -9)")

    monkeypatch.setattr(LedgerService, "verify", dies)
    result = run_verify(copy, built.key, tmp_path / "instance", "--jobs", "2")
    assert result.exit_code == 1
    assert result.stderr == (
        "tanhui: ledger verification could not finish: the integrity process died (exit code -9); "
        "try --jobs 1\n"
    )


def test_two_processes_need_a_database_a_second_process_can_open(built: Built):
    service = LedgerService(Database("sqlite://"), LedgerConfig(origin=ORIGIN, signing_key_file=built.key))
    with pytest.raises(ValueError, match="in-memory"):
        service.verify(jobs=2)


# --- the command line -----------------------------------------------------------------------------------


def run_verify(path: Path, key: Path, instance: Path, *options: str):
    env = {
        "TANHUI_INSTANCE_PATH": str(instance),
        "DATABASE_URL": f"sqlite:///{path}",
        "TANHUI_SIGNING_KEY_FILE": str(key),
        "TANHUI_LEDGER_ORIGIN": ORIGIN,
        "TANHUI_CREATE_SIGNING_KEY": "false",
        "TANHUI_SCHEDULER": "false",
    }
    return CliRunner().invoke(main, ["ledger", "verify", *options], env=env, catch_exceptions=False)


@pytest.mark.parametrize("options", [(), ("--jobs", "1"), ("--jobs", "2")])
def test_the_cli_verifies_an_untouched_ledger(
    built: Built, copy: Path, tmp_path: Path, options: tuple[str, ...]
):
    result = run_verify(copy, built.key, tmp_path / "instance", *options)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"ok: {ENTRY_COUNT} entries")
    assert result.stderr == ""


@pytest.mark.parametrize(("threshold", "jobs"), [(ENTRY_COUNT, 2), (ENTRY_COUNT + 1, 1)])
def test_the_cli_verifies_in_two_processes_by_default_only_from_a_size_on(
    built: Built, copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int, jobs: int
):
    used: list[int] = []
    verify = LedgerService.verify

    def spy(self: LedgerService, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        used.append(kwargs["jobs"])  # type: ignore[arg-type]
        return verify(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("web.cli.PARALLEL_FROM_ENTRIES", threshold)
    monkeypatch.setattr(LedgerService, "verify", spy)
    result = run_verify(copy, built.key, tmp_path / "instance")
    assert result.exit_code == 0, result.output
    assert used == [jobs]


def test_the_cli_refuses_more_than_two_jobs(built: Built, copy: Path, tmp_path: Path):
    result = run_verify(copy, built.key, tmp_path / "instance", "--jobs", "3")
    assert result.exit_code == 2
    assert "--jobs" in result.stderr


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("seq", [0, 21, ENTRY_COUNT - 1])
def test_the_cli_fails_with_one_line_naming_the_tampered_seq(
    built: Built, copy: Path, tmp_path: Path, seq: int, jobs: str
):
    raw = built.bodies[seq].encode("utf-8")
    tamper(
        copy,
        "UPDATE ledger_entries SET body = ? WHERE seq = ?",
        (one_byte_changed(raw, len(raw) // 2).decode(), seq),
    )
    result = run_verify(copy, built.key, tmp_path / "instance", "--jobs", jobs)
    assert result.exit_code != 0
    assert result.stdout == ""
    message = result.stderr.rstrip("\n")
    assert "\n" not in message
    assert f"seq {seq}: leaf hash" in message, message


def test_the_cli_names_the_account_and_range_of_a_tampered_holding(built: Built, copy: Path, tmp_path: Path):
    account, batch, start, end = holding_rows(copy)[0]
    tamper(
        copy,
        "UPDATE ledger_holdings SET end_kg = end_kg + 1 WHERE batch_id = ? AND start_kg = ?",
        (batch, start),
    )
    result = run_verify(copy, built.key, tmp_path / "instance")
    assert result.exit_code != 0
    message = result.stderr.rstrip("\n")
    assert "\n" not in message
    assert f"account {account}" in message, message
    assert serial(batch, start, end) in message or serial(batch, start, end + 1) in message, message


@pytest.mark.parametrize("entries", [0, 1, 2])
def test_two_processes_verify_the_smallest_ledgers(tmp_path: Path, entries: int):
    url = f"sqlite:///{tmp_path / 'small.db'}"
    migrate(url)
    service = LedgerService(Database(url), LedgerConfig(origin=ORIGIN, signing_key_file=tmp_path / "k.key"))
    try:
        for account_id, account_type, name in ACCOUNTS:
            service.open_account(account_id, account_type, name)
        for cmds in ledger_commands()[:entries]:
            service.append(cmds)
        unsigned = service.verify(jobs=1)  # nothing signed yet: the chain and the replay still hold
        assert (unsigned.size, unsigned.checkpoints, unsigned.latest_checkpoint_size) == (entries, 0, 0)
        assert service.verify(jobs=2) == unsigned
        service.sign_checkpoint(force=True)
        assert service.verify(jobs=2) == service.verify(jobs=1)
        assert service.verify(jobs=2).size == entries
    finally:
        service.database.dispose()
