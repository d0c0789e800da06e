"""`make run`'s script: the demo registry with its demo witness beside it, cosigning every checkpoint.

``scripts/run-demo`` loads the demo with ``--witness-url``, starts ``tanhui witness serve`` with the kept
demo witness key, and serves the registry; the registry's checkpoint job pushes each new checkpoint to
the witness, so the checkpoint the demo serves carries a fresh cosignature. A signal to the script stops
both servers.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from stripe_support import free_port
from test_serve import get

from ledger.accounts import REGISTRY
from ledger.checkpoint import Checkpoint
from ledger.commands import Allocation, Issue
from ledger.cosignature import CosignatureVerifier
from ledger.database import Database
from ledger.models import Entry, Witness
from ledger.note import NoteVerifier, open_note
from ledger.service import LedgerConfig, LedgerService

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "run-demo.test/ledger"
STARTUP_S = 90


def _wait_for(what: str, ready, process: subprocess.Popen[bytes], timeout_s: float = STARTUP_S):
    deadline = time.monotonic() + timeout_s
    while True:
        value = ready()
        if value:
            return value
        if time.monotonic() > deadline or process.poll() is not None:
            pytest.fail(f"{what} within {timeout_s} s (script exit code {process.poll()})")
        time.sleep(0.3)


def _answer(url: str) -> str | None:
    """The page at ``url`` once it answers 200."""
    status, text = get(url)
    return text if status == 200 else None


def _cosigned_checkpoint(base: str, size: int | None = None) -> str | None:
    """The served checkpoint once it carries the demo witness's line (and, if given, is of ``size``)."""
    status, note = get(f"{base}/api/v1/ledger/checkpoint")
    if status != 200 or "— witness.demo.tanhui.example " not in note:
        return None
    if size is not None and int(note.splitlines()[1]) != size:
        return None
    return note


def test_the_demo_serves_checkpoints_its_witness_cosigned_as_they_are_pushed(tmp_path: Path) -> None:
    port, witness_port = free_port(), free_port()
    env = {
        **os.environ,
        "BIN": str(Path(sys.executable).parent),
        "TANHUI_INSTANCE_PATH": str(tmp_path),
        "TANHUI_PORT": str(port),
        "TANHUI_DEMO_WITNESS_PORT": str(witness_port),
        "TANHUI_CHECKPOINT_INTERVAL_S": "1",
        "TANHUI_LEDGER_ORIGIN": ORIGIN,
    }
    log = (tmp_path / "run-demo.log").open("wb")
    process = subprocess.Popen(
        [str(ROOT / "scripts" / "run-demo")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        first = _wait_for(
            "the demo served no checkpoint cosigned by its witness",
            lambda: _cosigned_checkpoint(base),
            process,
        )
        key_file = tmp_path / "demo-witness.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        # The demo cosigns its first checkpoint while seeding, before the witness's server is up.
        about = _wait_for(
            "the demo witness did not answer",
            lambda: _answer(f"http://127.0.0.1:{witness_port}/"),
            process,
        )
        assert f"log {ORIGIN}" in about

        # A new entry: the scheduler signs a checkpoint over it and pushes it; the witness cosigns.
        size = int(first.splitlines()[1])
        ledger = LedgerService(
            Database(f"sqlite:///{tmp_path / 'tanhui.db'}"),
            LedgerConfig(origin=ORIGIN, signing_key_file=tmp_path / "ledger-signing.key"),
        )
        try:
            ledger.append([Issue("run-demo-1", "RD01", "2025", 1, (Allocation(REGISTRY, 10),))])
            registry_key = NoteVerifier.from_vkey(ledger.verifier_key())
            with ledger.database.reading() as session:
                [witness_vkey] = session.query(Witness.vkey).one()
        finally:
            ledger.database.dispose()
        note = _wait_for(
            "no cosigned checkpoint of the new entry",
            lambda: _cosigned_checkpoint(base, size + 1),
            process,
            30,
        )
        opened = open_note(note, [registry_key])  # the registry's own signature verifies
        assert Checkpoint.parse(opened.text).size == size + 1
        witness = CosignatureVerifier.from_vkey(witness_vkey)
        [line] = [signature for signature in opened.unverified_signatures if witness.matches(signature)]
        witness.verify(opened.text, line)  # raises unless the demo witness cosigned this very checkpoint
    finally:
        os.kill(process.pid, signal.SIGTERM)  # the script alone: it stops both servers
        code = process.wait(timeout=60)
        log.close()
    assert code == 143
    # Neither server is left behind.
    assert get(f"{base}/api/v1/ledger/key")[0] == 0
    assert get(f"http://127.0.0.1:{witness_port}/")[0] == 0


def test_a_bad_witness_address_is_refused_before_any_demo_data_is_written(tmp_path: Path) -> None:
    tanhui = str(Path(sys.executable).parent / "tanhui")
    env = {**os.environ, "TANHUI_INSTANCE_PATH": str(tmp_path)}
    subprocess.run([tanhui, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    command = [tanhui, "demo", "--witness-url", "ftp://127.0.0.1/"]
    refused = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines()[-1].endswith("not 'ftp://127.0.0.1/'")
    assert not (tmp_path / "demo-witness.key").exists()
    database = Database(f"sqlite:///{tmp_path / 'tanhui.db'}")
    try:
        with database.reading() as session:
            assert session.query(Witness).count() == 0
            assert session.scalar(select(func.count()).select_from(Entry)) == 0
    finally:
        database.dispose()
