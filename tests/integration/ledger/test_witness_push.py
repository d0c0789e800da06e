"""The registry pushes its checkpoints to witnesses (c2sp.org/tlog-witness) and keeps their cosignatures.

Registries are real apps on SQLite, witnesses are the witness's own HTTP service; both are served over
loopback, and every push is a real HTTP exchange.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from registry_support import Registry, one_line_failure, registry_cli
from tests_support import closed_port_url, served

from ledger.checkpoint_witness import CheckpointWitness
from ledger.cosignature import CosignatureVerifier, Cosigner, cosignatures
from ledger.health import ledger_health
from ledger.log_follow import http_fetch
from ledger.note import NoteVerifier, open_note
from ledger.witness_push import PUSH_TIMEOUT_S, PushOutcome, push_to_witnesses
from ledger.witness_store import WitnessStore
from web.scheduler import sign_checkpoint_job
from web.witness_app import create_witness_app

WitnessFactory = Callable[..., tuple[CheckpointWitness, str]]


@pytest.fixture
def witnesses(tmp_path: Path) -> Iterator[WitnessFactory]:
    """Makes witness services on loopback that witness the given registry's log."""
    with ExitStack() as stack:

        def make(registry: Registry, name: str = "witness.example.org/push", origin: str | None = None):
            cosigner = Cosigner.generate(name)
            logs = {origin or registry.service.config.origin: [NoteVerifier.from_vkey(registry.vkey)]}
            store = WitnessStore(tmp_path / f"{name.replace('/', '_')}.sqlite")
            witness = CheckpointWitness(cosigner, logs, store)
            return witness, stack.enter_context(served(create_witness_app(witness), f"witness-{name}"))

        yield make


def served_cosigners(registry: Registry, witness: CheckpointWitness) -> list[int]:
    """The timestamps of the witness's valid cosignatures on the registry's served checkpoint."""
    note = http_fetch(registry.url)("/api/v1/ledger/checkpoint").decode()
    opened = open_note(note, [NoteVerifier.from_vkey(registry.vkey)])
    return [item.timestamp for item in cosignatures(opened, [witness.cosigner.verifier])]


def cli(registry: Registry, tmp_path: Path, *arguments: str) -> Result:
    return registry_cli(registry, tmp_path / "cli", *arguments)


@pytest.fixture(params=["sqlite", "pg"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None for the registry's own SQLite file; a fresh PostgreSQL schema (when TANHUI_PG_URL is set)."""
    return request.getfixturevalue("pg_url") if request.param == "pg" else None


def test_each_new_checkpoint_is_pushed_and_its_cosignature_served(registries, witnesses, database_url):
    registry: Registry = registries("pushing", database_url=database_url)
    witness, url = witnesses(registry)
    registry.service.add_witness(witness.cosigner.vkey, url)
    assert served_cosigners(registry, witness) == []

    [first] = sign_checkpoint_job(registry.service)  # the checkpoint exists already: pushed from 0
    assert (first.error, first.size) == (None, registry.service.size())
    assert len(served_cosigners(registry, witness)) == 1
    for tag, count in (("a", 7), ("b", 1), ("c", 30)):
        size = registry.grow(count, tag)
        [outcome] = sign_checkpoint_job(registry.service)
        assert (outcome.error, outcome.size) == (None, size)
        assert witness.store.latest(registry.service.config.origin).size == size
        assert len(served_cosigners(registry, witness)) == 1
    assert sign_checkpoint_job(registry.service) == []  # cosigned already: nothing to push
    [again] = push_to_witnesses(registry.service, again=True)  # the same size again: a fresh time
    assert again.error is None


def test_a_witness_that_lost_its_state_is_pushed_again_from_the_size_it_names(
    registries, witnesses, tmp_path
):
    registry: Registry = registries("reset")
    witness, url = witnesses(registry)
    registry.service.add_witness(witness.cosigner.vkey, url)
    registry.grow(5, "a")
    sign_checkpoint_job(registry.service)
    witness.store = WitnessStore(tmp_path / "restored-from-nothing.sqlite")
    size = registry.grow(5, "b")
    [outcome] = sign_checkpoint_job(registry.service)  # old size 6 → 409 "0" → again from 0
    assert outcome.error is None
    assert witness.store.latest(registry.service.config.origin).size == size


def test_an_unreachable_witness_is_shown_and_tried_again(registries, witnesses, tmp_path, database_url):
    registry: Registry = registries("unreachable", database_url=database_url)
    witness, url = witnesses(registry)
    registry.service.add_witness(witness.cosigner.vkey, closed_port_url())
    size = registry.grow(3, "a")
    [outcome] = sign_checkpoint_job(registry.service)
    assert outcome.error is not None
    assert "no answer" in outcome.error
    with registry.service.database.reading() as session:
        health = ledger_health(session, datetime.now(UTC), timedelta(minutes=5))
    assert "witness_push_failed" in health.attention
    listed = cli(registry, tmp_path, "witnesses", "list").stdout
    assert f"size {size}" in listed
    assert "FAILED: no answer" in listed
    pushed = cli(registry, tmp_path, "witnesses", "push")
    assert pushed.exit_code == 1
    assert "FAILED" in pushed.stdout
    assert pushed.stderr == "tanhui: 1 of 1 witnesses did not cosign\n"

    registry.service.add_witness(witness.cosigner.vkey, url)  # its right address
    pushed = cli(registry, tmp_path, "witnesses", "push")
    assert pushed.stdout == f"ok: witness.example.org/push cosigned tree size {size}\n"
    with registry.service.database.reading() as session:
        assert "witness_push_failed" not in ledger_health(session, datetime.now(UTC), timedelta(1)).attention
    assert "cosigned" in cli(registry, tmp_path, "witnesses", "list").stdout


def test_a_witness_holding_another_history_is_a_critical_alarm(registries, witnesses, caplog):
    """Two registries under one key and origin, with different histories: the split view a witness
    exists to catch. Shown the second, the witness refuses, and the registry's job logs it as critical."""
    first: Registry = registries("first")
    second: Registry = registries("second")  # the same signing key file, the same origin
    assert first.vkey == second.vkey
    witness, url = witnesses(first)
    for registry in (first, second):
        registry.service.add_witness(witness.cosigner.vkey, url)
    first.grow(4, "a")
    assert sign_checkpoint_job(first.service)[0].error is None

    second.grow(9, "other", kg=7)  # larger, and not an extension of the first's tree
    with caplog.at_level(logging.CRITICAL, logger="web.scheduler"):
        [outcome] = sign_checkpoint_job(second.service)
    assert outcome.contradicts
    assert "does not extend" in outcome.error
    assert "holds a history that checkpoint" in caplog.text
    [evidence] = witness.store.refused()
    assert evidence.old_size == first.service.size()

    smaller: Registry = registries("smaller")  # the same key again, a shorter history
    smaller.service.add_witness(witness.cosigner.vkey, url)
    [outcome] = sign_checkpoint_job(smaller.service)
    assert outcome.contradicts
    assert "larger than the registry's latest checkpoint" in outcome.error


def test_an_answer_without_the_listed_witness_cosignature_is_not_kept(registries, witnesses):
    registry: Registry = registries("impostor")
    witness, url = witnesses(registry)
    listed = Cosigner.generate("witness.example.org/push")  # same name, another key: not who answers
    registry.service.add_witness(listed.vkey, url)
    [outcome] = sign_checkpoint_job(registry.service)
    assert outcome.error is not None
    assert "not kept" in outcome.error
    assert served_cosigners(registry, witness) == []


def test_a_witness_of_other_logs_answers_404(registries, witnesses):
    registry: Registry = registries("unwitnessed")
    witness, url = witnesses(registry, origin="another.example/log")
    registry.service.add_witness(witness.cosigner.vkey, url)
    [outcome] = sign_checkpoint_job(registry.service)
    assert outcome.error is not None
    assert "does not witness this log (origin) (HTTP 404)" in outcome.error
    assert not outcome.contradicts


def test_a_removed_witness_is_not_pushed_to(registries, witnesses):
    registry: Registry = registries("removed")
    witness, url = witnesses(registry)
    registry.service.add_witness(witness.cosigner.vkey, url)
    registry.service.remove_witness(witness.cosigner.vkey)
    registry.grow(2, "a")
    assert sign_checkpoint_job(registry.service) == []
    assert witness.store.latest(registry.service.config.origin) is None


def test_a_witness_address_must_be_an_http_url(registries, tmp_path):
    registry: Registry = registries("addresses")
    vkey = Cosigner.generate("w.example").vkey
    for bad in ("ftp://w.example", "w.example", "http://w.example/a b", "http://"):
        assert "address" in one_line_failure(cli(registry, tmp_path, "witnesses", "add", vkey, "--url", bad))
    added = cli(registry, tmp_path, "witnesses", "add", vkey, "--url", "https://w.example/tlog")
    assert added.stdout.endswith(
        "ok: each new checkpoint is pushed to https://w.example/tlog for its cosignature\n"
    )
    assert CosignatureVerifier.from_vkey(vkey).vkey in cli(registry, tmp_path, "witnesses", "list").stdout


@contextmanager
def silent_witness() -> Iterator[tuple[str, threading.Event]]:
    """An address that accepts connections and answers nothing until the event is set (then hangs up)."""
    release = threading.Event()
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def hold() -> None:
        server.settimeout(0.1)
        while not release.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            held.append(connection)
        for connection in held:
            connection.close()

    thread = threading.Thread(target=hold, name="silent-witness", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}", release
    finally:
        release.set()
        thread.join(timeout=10)
        server.close()


def test_a_silent_witness_does_not_hold_up_the_others(registries, witnesses):
    """The pushes go out together: the answering witness's cosignature is kept while the silent one
    (first in key order) still has the job waiting; then the silent one's push fails on its own."""
    registry: Registry = registries("silent")
    good, url = witnesses(registry, name="z.answering.example")
    silent = Cosigner.generate("a.silent.example")
    registry.service.add_witness(good.cosigner.vkey, url)
    with silent_witness() as (silent_url, release):
        registry.service.add_witness(silent.vkey, silent_url)
        outcomes: list[PushOutcome] = []
        job = threading.Thread(target=lambda: outcomes.extend(push_to_witnesses(registry.service)))
        job.start()
        deadline = time.monotonic() + PUSH_TIMEOUT_S * 0.8  # before the silent push could time out
        while not served_cosigners(registry, good):
            assert time.monotonic() < deadline, "the answering witness waited for the silent one"
            time.sleep(0.05)
        assert job.is_alive()  # the silent witness still holds the job
        release.set()
        job.join(timeout=30)
    assert [(outcome.witness, outcome.error is None) for outcome in outcomes] == [
        ("a.silent.example", False),
        ("z.answering.example", True),
    ]
    assert "no answer" in (outcomes[0].error or "")
