"""Cosignatures racing on PostgreSQL: a witness's pushed and pulled cosignatures of one checkpoint may
arrive at once, through separate workers. Each checkpoint keeps one cosignature per witness, the
latest, and no submission fails for having lost the race."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from ledger.commands import Allocation, Issue
from ledger.cosignature import Cosigner
from ledger.database import Database
from ledger.models import Checkpoint, CheckpointCosignature
from ledger.service import LedgerConfig, LedgerService

pytestmark = pytest.mark.pg

RACERS = 8
ROUNDS = 10


def test_racing_cosignatures_keep_one_row_per_witness_with_the_latest_time(
    pg_service, pg_url, tmp_path: Path
):
    witness = Cosigner.generate("witness.race.example")
    pg_service.add_witness(witness.vkey)
    config = LedgerConfig(origin=pg_service.config.origin, signing_key_file=tmp_path / "racer-key")
    services = [LedgerService(Database(pg_url), config) for _ in range(RACERS)]
    errors: list[BaseException] = []

    def submit(service: LedgerService, cosigned: str, barrier: threading.Barrier) -> None:
        barrier.wait(timeout=30)
        try:
            service.accept_cosignatures(cosigned)
        except BaseException as exc:  # any failure is the test's finding
            errors.append(exc)

    try:
        for number in range(1, ROUNDS + 1):  # a new checkpoint each round: its first rows race
            pg_service.append([Issue(f"race-{number}", "RC01", "2024", number, (Allocation("OWN-A", 10),))])
            size, note = pg_service.sign_checkpoint()
            now = int(time.time())
            barrier = threading.Barrier(RACERS)
            threads = [
                threading.Thread(target=submit, args=(service, witness.cosign_note(note, now + n), barrier))
                for n, service in enumerate(services)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert errors == []
            with pg_service.database.reading() as session:
                kept = session.execute(
                    select(CheckpointCosignature.name, CheckpointCosignature.timestamp)
                    .join(Checkpoint, Checkpoint.id == CheckpointCosignature.checkpoint_id)
                    .where(Checkpoint.size == size)
                ).all()
            assert [tuple(row) for row in kept] == [("witness.race.example", now + RACERS - 1)]
    finally:
        for service in services:
            service.database.dispose()
