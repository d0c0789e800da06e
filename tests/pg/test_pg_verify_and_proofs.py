"""On PostgreSQL, a ledger of a few hundred entries of every kind verifies, and its proofs check out.

The ledger is built once for the module, in its own schema, by a seeded random walk over issues,
transfers (by quantity and by named range), retirements and cancellations, appended one at a time and in
batches, with signed checkpoints along the way. Proofs are checked with :mod:`ledger.merkle`'s RFC 9162
verifiers against roots read from the signed checkpoint notes (opened with the published verifier key)
and against roots recomputed from the entry bodies by the recursive definition.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from alembic import command
from sqlalchemy import create_engine, func, select, text

from ledger import merkle, proofs
from ledger.checkpoint import open_checkpoint
from ledger.commands import (
    RETIREMENT_REASONS,
    Allocation,
    Beneficiary,
    Cancel,
    Command,
    Issue,
    Retire,
    Selection,
    Transfer,
)
from ledger.database import Database
from ledger.errors import ProofUnavailable
from ledger.models import Batch, Checkpoint, ClosedRange, Entry, Holding
from ledger.note import NoteVerifier
from ledger.ranges import SerialRange
from ledger.service import LedgerConfig, LedgerService
from ledger.tlog_proof import TlogProofError, verify_tlog_proof
from migrations import alembic_config

pytestmark = pytest.mark.pg

ORIGIN = "test.tanhui.example/ledger"
ACCOUNTS = (
    ("REGISTRY", "registry"),
    ("BUFFER", "buffer"),
    ("RETAIL", "retail"),
    ("OWN-A", "owner"),
    ("OWN-B", "owner"),
    ("ENT-A", "enterprise"),
    ("ENT-B", "enterprise"),
)
HOLDERS = [account for account, _ in ACCOUNTS if account != "REGISTRY"]
TARGET_SIZE = 360
CHECKPOINT_EVERY = 70
SEED = 20261124


@dataclass
class BuiltLedger:
    service: LedgerService
    kinds: Counter[str]
    bodies: list[bytes]
    leaves: list[bytes]
    checkpoints: list[tuple[int, bytes]]
    """``(size, root)`` of every stored checkpoint, read from its note after checking the signature."""
    verifier: NoteVerifier


def build(service: LedgerService, rng: random.Random) -> Counter[str]:
    """Append a random walk of every kind of entry; returns how many of each kind were appended."""
    held = Counter[str]()  # kilograms held per account, across batches
    kinds = Counter[str]()
    issued = 0
    last_checkpoint = 0

    def next_command(index: int, single: bool) -> Command:
        nonlocal issued
        holders = [account for account in HOLDERS if held[account] > 0]
        if not holders or (issued < 40 and rng.random() < 0.09):
            issued += 1
            accounts = rng.sample(["OWN-A", "OWN-B", "BUFFER", "RETAIL"], rng.randint(1, 3))
            allocations = tuple(Allocation(account, rng.randint(50, 500)) for account in accounts)
            for allocation in allocations:
                held[allocation.account] += allocation.quantity_kg
            return Issue(f"issue-{index}", f"PV{issued}", rng.choice(["2023", "2024"]), 1, allocations)
        source = rng.choice(holders)
        quantity = rng.randint(1, min(held[source], 40))
        selection = Selection(quantity_kg=quantity)
        if single and rng.random() < 0.3:
            selection = Selection(ranges=(named_range(service, source, rng),))
            quantity = selection.total_kg or 0
        held[source] -= quantity
        roll = rng.random()
        if roll < 0.5:
            target = rng.choice([account for account in HOLDERS if account != source])
            held[target] += quantity
            memo = rng.choice(["", f"order {index}"])
            return Transfer(f"transfer-{index}", source, target, selection, memo=memo)
        if roll < 0.85:
            reason = rng.choice(RETIREMENT_REASONS)
            beneficiary = Beneficiary(f"受益人 {index}", public=rng.random() < 0.5)
            return Retire(f"retire-{index}", source, selection, beneficiary, reason, f"details {index}")
        return Cancel(f"cancel-{index}", source, selection, f"registry correction {index}")

    size = 0
    while size < TARGET_SIZE:
        count = 1 if rng.random() < 0.7 else rng.randint(2, 12)
        commands = [next_command(size + i, single=count == 1) for i in range(count)]
        entries = service.append(commands)
        assert [entry.seq for entry in entries] == list(range(size, size + count))
        kinds.update(entry.kind for entry in entries)
        size += count
        if size - last_checkpoint >= CHECKPOINT_EVERY:
            assert service.sign_checkpoint()[0] == size
            last_checkpoint = size
    if last_checkpoint != size:
        assert service.sign_checkpoint()[0] == size
    return kinds


def named_range(service: LedgerService, account: str, rng: random.Random) -> SerialRange:
    """A random part of one of the ranges ``account`` holds right now."""
    with service.database.reading() as session:
        rows = session.execute(
            select(Holding.batch_id, Holding.start_kg, Holding.end_kg)
            .where(Holding.account_id == account)
            .order_by(Holding.batch_id, Holding.start_kg)
        ).all()
    batch, start, end = rng.choice(rows)
    first = rng.randint(start, end)
    return SerialRange(batch, first, rng.randint(first, min(end, first + 39)))


@pytest.fixture(scope="module")
def ledger(pg_base_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltLedger]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_base_url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in pg_base_url else "?"
    url = f"{pg_base_url}{separator}options={quote(f'-csearch_path={schema}')}"
    command.upgrade(alembic_config(url), "head")
    key_file: Path = tmp_path_factory.mktemp("proofs") / "ledger.key"
    service = LedgerService(Database(url), LedgerConfig(origin=ORIGIN, signing_key_file=key_file))
    try:
        for account, account_type in ACCOUNTS:
            service.open_account(account, account_type, account.lower())
        kinds = build(service, random.Random(SEED))
        verifier = NoteVerifier.from_vkey(service.verifier_key())
        with service.database.reading() as session:
            stored = session.scalars(select(Entry.body).order_by(Entry.seq))
            bodies = [body.encode("utf-8") for body in stored]
            notes = session.scalars(select(Checkpoint.note).order_by(Checkpoint.id)).all()
        checkpoints = []
        for note in notes:
            opened = open_checkpoint(note, [verifier], origin=ORIGIN)
            checkpoints.append((opened.size, opened.root))
        leaves = [merkle.leaf_hash(body) for body in bodies]
        yield BuiltLedger(service, kinds, bodies, leaves, checkpoints, verifier)
    finally:
        service.database.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_a_ledger_of_hundreds_of_entries_of_every_kind_verifies_on_postgresql(ledger: BuiltLedger) -> None:
    kinds = ledger.kinds
    assert sum(kinds.values()) == len(ledger.bodies) >= TARGET_SIZE
    assert min(kinds[kind] for kind in ("issue", "transfer", "retire", "cancel")) >= 20, kinds

    report = ledger.service.verify()

    assert report.size == len(ledger.bodies)
    assert report.checkpoints == len(ledger.checkpoints) >= 5
    assert report.latest_checkpoint_size == report.size
    assert report.batches == kinds["issue"]
    with ledger.service.database.reading() as session:
        assert report.closed_ranges == session.scalar(select(func.count()).select_from(ClosedRange))
        # Per batch, the held and the closed kilograms add up to what was issued: nothing made or lost.
        issued = dict(session.execute(select(Batch.id, Batch.quantity_kg)).all())
        accounted = Counter[str]()
        for table in (Holding, ClosedRange):
            for batch, kilograms in session.execute(
                select(table.batch_id, func.sum(table.end_kg - table.start_kg + 1)).group_by(table.batch_id)
            ):
                accounted[batch] += kilograms
    assert dict(accounted) == issued
    # The same report when the verifier key is pinned instead of read from the database.
    assert ledger.service.verify(pinned_keys=[ledger.verifier.vkey]) == report
    # And when the integrity checks run in a second process over their own connection.
    assert ledger.service.verify(jobs=2) == report


def test_every_signed_checkpoint_root_is_the_merkle_root_of_the_entry_bodies(ledger: BuiltLedger) -> None:
    for size, root in ledger.checkpoints:
        assert merkle.root_of(ledger.leaves[:size]) == root, size
    with ledger.service.database.reading() as session:
        stored = session.scalars(select(Entry.leaf_hash).order_by(Entry.seq)).all()
    assert [bytes(leaf) for leaf in stored] == ledger.leaves


def test_every_inclusion_proof_verifies_against_every_signed_checkpoint(ledger: BuiltLedger) -> None:
    checked = 0
    with ledger.service.database.reading() as session:
        for size, root in ledger.checkpoints:
            for seq in range(size):
                proof = proofs.inclusion(session, seq, size)
                merkle.verify_inclusion(ledger.leaves[seq], seq, size, proof, root)
                checked += 1
    assert checked == sum(size for size, _ in ledger.checkpoints)


def test_every_consistency_proof_verifies_between_checkpoints_and_from_any_earlier_size(
    ledger: BuiltLedger,
) -> None:
    sizes = dict(ledger.checkpoints)
    with ledger.service.database.reading() as session:
        for size1, root1 in sizes.items():
            for size2, root2 in sizes.items():
                if size1 <= size2:
                    proof = proofs.consistency(session, size1, size2)
                    merkle.verify_consistency(size1, size2, proof, root1, root2)
        latest, latest_root = ledger.checkpoints[-1]
        for size1 in range(1, latest + 1):
            proof = proofs.consistency(session, size1, latest)
            root1 = merkle.root_of(ledger.leaves[:size1])
            merkle.verify_consistency(size1, latest, proof, root1, latest_root)


def test_entry_proofs_and_tlog_proofs_verify_offline_with_only_the_verifier_key(ledger: BuiltLedger) -> None:
    verifiers = [NoteVerifier.from_vkey(ledger.service.verifier_key())]
    size = len(ledger.bodies)
    for seq in [*range(0, size, 7), size - 1]:
        proof = ledger.service.proof_for(seq)
        assert proof.seq == seq
        leaf = merkle.leaf_hash(proof.body.encode("utf-8"))
        assert proof.body.encode("utf-8") == ledger.bodies[seq]
        checkpoint = open_checkpoint(proof.checkpoint, verifiers, origin=ORIGIN)
        merkle.verify_inclusion(leaf, seq, checkpoint.size, proof.inclusion, checkpoint.root)
        assert verify_tlog_proof(proof.as_tlog_proof(), leaf, verifiers, ORIGIN).size == checkpoint.size
        # The proof of one entry proves nothing about another.
        other = ledger.leaves[(seq + 1) % size]
        with pytest.raises(TlogProofError):
            verify_tlog_proof(proof.as_tlog_proof(), other, verifiers, ORIGIN)


def test_a_proof_with_any_one_element_changed_is_rejected(ledger: BuiltLedger) -> None:
    size, root = ledger.checkpoints[-1]
    earlier, earlier_root = ledger.checkpoints[1]
    with ledger.service.database.reading() as session:
        for seq in (0, 1, size // 2, size - 2, size - 1):
            proof = proofs.inclusion(session, seq, size)
            for position in range(len(proof)):
                forged = [*proof]
                forged[position] = bytes([forged[position][0] ^ 1]) + forged[position][1:]
                with pytest.raises(merkle.ProofError):
                    merkle.verify_inclusion(ledger.leaves[seq], seq, size, forged, root)
        proof = proofs.consistency(session, earlier, size)
        assert proof
        for position in range(len(proof)):
            forged = [*proof]
            forged[position] = bytes([forged[position][0] ^ 1]) + forged[position][1:]
            with pytest.raises(merkle.ProofError):
                merkle.verify_consistency(earlier, size, forged, earlier_root, root)


def test_proofs_are_refused_beyond_the_latest_checkpoint_and_for_impossible_sizes(
    pg_service: LedgerService,
) -> None:
    pg_service.append([Issue("issue", "PV1", "2024", 1, (Allocation("OWN-A", 100),))])
    pg_service.append([Transfer("transfer", "OWN-A", "ENT-A", Selection(quantity_kg=10))])
    assert pg_service.sign_checkpoint()[0] == 2
    pg_service.append([Retire("retire", "ENT-A", Selection(quantity_kg=1), Beneficiary("x", True), "gift")])

    with pg_service.database.reading() as session:
        assert len(proofs.inclusion(session, 1, 2)) == 1
        for seq, size in ((2, 3), (0, 3), (2, 2), (5, 2), (-1, 2)):
            with pytest.raises(ProofUnavailable):
                proofs.inclusion(session, seq, size)
        for size1, size2 in ((1, 3), (0, 2), (2, 1), (3, 3)):
            with pytest.raises(ProofUnavailable):
                proofs.consistency(session, size1, size2)
    # The entry beyond the checkpoint gets a proof only by signing a new checkpoint that covers it.
    proof = pg_service.proof_for(2)
    assert proof.checkpoint.split("\n")[1] == "3"
    assert pg_service.verify().checkpoints == 2
