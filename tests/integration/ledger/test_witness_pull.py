"""``tanhui witness pull``: a witness cosigns a registry that does not push, through the same state as
``witness serve``, so that one key cosigns from one view of the log however the checkpoint reached it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from registry_support import Registry, one_line_failure
from tests_support import served

from ledger import witness as witnessing_client
from ledger.checkpoint_witness import CheckpointWitness
from ledger.cosignature import cosignatures
from ledger.keys import read_cosigner_file
from ledger.log_follow import http_fetch
from ledger.note import NoteVerifier, open_note
from ledger.witness_store import WitnessStore
from web.cli import main
from web.scheduler import sign_checkpoint_job
from web.witness_app import create_witness_app


def cli(*arguments: str) -> Result:
    return CliRunner().invoke(main, list(arguments), catch_exceptions=False)


@pytest.fixture
def witness_files(tmp_path: Path, no_app) -> tuple[Path, Path]:
    key = tmp_path / "witness.key"
    assert cli("keys", "cosigner", "--name", "witness.example.org/pull", "--out", str(key)).exit_code == 0
    return key, tmp_path / "witness.sqlite"


def pull(registry: Registry, key: Path, state: Path, *extra: str) -> Result:
    origin = registry.service.config.origin
    return cli(
        "witness", "pull", "--key", str(key), "--log", origin, registry.vkey, "--state", str(state),
        "--registry", registry.url, *extra,
    )  # fmt: skip


def cosigned_size(state: Path, registry: Registry) -> int | None:
    latest = WitnessStore(state).latest(registry.service.config.origin)
    return None if latest is None else latest.size


def witness_of(registry: Registry, key: Path, state: Path) -> CheckpointWitness:
    """The witness of ``registry``'s log with the key and state files of ``witness pull``."""
    origin = registry.service.config.origin
    return CheckpointWitness(
        read_cosigner_file(key), {origin: [NoteVerifier.from_vkey(registry.vkey)]}, WitnessStore(state)
    )


@contextmanager
def taking_pushes(registry: Registry, key: Path, state: Path) -> Iterator[CheckpointWitness]:
    """That witness served as ``witness serve`` serves it, listed by the registry to push to."""
    witness = witness_of(registry, key, state)
    with served(create_witness_app(witness), "witness-pushed") as url:
        registry.service.add_witness(witness.cosigner.vkey, url)
        yield witness


def test_pulls_cosign_the_growing_log_and_the_registry_keeps_them(registries, witness_files):
    registry: Registry = registries("pulled")
    key, state = witness_files
    first = pull(registry, key, state)
    assert first.exit_code == 0, first.stderr
    assert first.stdout.endswith(f"ok: cosigned {registry.service.config.origin} at tree size 1\n")
    assert first.stdout.startswith("— witness.example.org/pull ")
    registry.service.add_witness(read_cosigner_file(key).vkey)
    size = registry.grow(12, "a")
    submitted = pull(registry, key, state, "--submit")
    assert submitted.exit_code == 0, submitted.stderr
    assert submitted.stdout.endswith(
        f"ok: the registry keeps the cosignature of tree size {size} by witness.example.org/pull\n"
    )
    assert cosigned_size(state, registry) == size
    note = http_fetch(registry.url)("/api/v1/ledger/checkpoint").decode()
    opened = open_note(note, [NoteVerifier.from_vkey(registry.vkey)])
    assert len(cosignatures(opened, [read_cosigner_file(key).verifier])) == 1


def test_pulls_and_pushes_share_one_view_of_the_log(registries, witness_files):
    registry: Registry = registries("both")
    key, state = witness_files
    with taking_pushes(registry, key, state):
        pushed = registry.grow(5, "a")
        assert sign_checkpoint_job(registry.service)[0].error is None
        assert cosigned_size(state, registry) == pushed
        pulled = registry.grow(4, "b")
        assert pull(registry, key, state, "--submit").exit_code == 0  # from the pushed size
        assert cosigned_size(state, registry) == pulled
        pushed = registry.grow(3, "c")
        [outcome] = sign_checkpoint_job(registry.service)  # from the pulled size
        assert outcome.error is None
        assert cosigned_size(state, registry) == pushed


def test_a_history_the_witness_cosigned_otherwise_fails_the_pull_and_is_kept(registries, witness_files):
    first: Registry = registries("first")
    forked: Registry = registries("forked")  # the same key and origin, another history
    key, state = witness_files
    first.grow(6, "a")
    assert pull(first, key, state).exit_code == 0
    forked.grow(9, "other", kg=7)
    failure = one_line_failure(pull(forked, key, state))
    assert failure.startswith("tanhui: LOG NOT EXTENDED, see tanhui witness status:")
    assert "does not verify" in failure
    assert cosigned_size(state, first) == 7
    status = cli("witness", "status", "--state", str(state)).stdout
    assert "REFUSED" in status

    shorter: Registry = registries("shorter")
    assert "fewer than the 7" in one_line_failure(pull(shorter, key, state))


def test_pull_follows_one_log(registries, witness_files):
    registry: Registry = registries("one-log")
    key, state = witness_files
    other = ("--log", "other.example/log", registry.vkey)
    assert "pull follows one log" in one_line_failure(pull(registry, key, state, *other))


def test_a_push_landing_while_a_pull_cosigns_makes_the_pull_go_on_from_the_size_the_witness_names(
    registries, witness_files
):
    """A pull reads the size it cosigned last, then asks the registry for a consistency proof from it;
    a push that lands in between moves the witness on, and the witness refuses the pull's stale size,
    naming its own. The pull then goes on from that size, and cosigns."""
    registry: Registry = registries("race")
    key, state = witness_files
    origin = registry.service.config.origin
    witness = witness_of(registry, key, state)
    fetch = http_fetch(registry.url)
    first_size = registry.grow(3, "a")
    assert witnessing_client.pull(witness, fetch, origin)[0] == first_size
    latest_size = registry.grow(4, "b")
    consistency_reads: list[str] = []

    def fetch_while_a_push_lands(path: str, max_bytes: int = 64 * 1024) -> bytes:
        if "/proofs/consistency" in path:
            if not consistency_reads:
                pushed = witnessing_client.pull(witness, fetch, origin)  # the same checkpoint, cosigned first
                assert pushed[0] == latest_size
            consistency_reads.append(path)
        return fetch(path, max_bytes)

    size, note = witnessing_client.pull(witness, fetch_while_a_push_lands, origin)
    assert size == latest_size
    # Refused at the stale size, it went on from the witness's: the same size, so no proof was needed.
    assert consistency_reads == [f"/api/v1/ledger/proofs/consistency?from={first_size}&to={latest_size}"]
    opened = open_note(note, [NoteVerifier.from_vkey(registry.vkey)])
    assert [item.name for item in cosignatures(opened, [witness.cosigner.verifier])] == [
        witness.cosigner.name
    ]
    assert cosigned_size(state, registry) == latest_size


def test_a_push_of_the_checkpoint_a_pull_already_cosigned_unsent_is_cosigned_again(registries, witness_files):
    """A pull that cosigned the latest checkpoint without sending it leaves the registry a size behind:
    its push then names a stale old size, the witness answers with the size it holds (this very one),
    and the push goes on from it, so that the registry gets the cosignature after all."""
    registry: Registry = registries("unsent")
    key, state = witness_files
    with taking_pushes(registry, key, state) as served_witness:
        pushed = registry.grow(2, "a")
        assert sign_checkpoint_job(registry.service)[0].error is None
        pulled = registry.grow(3, "b")
        assert pull(registry, key, state).exit_code == 0  # cosigned, not sent
        assert cosigned_size(state, registry) == pulled > pushed
        [outcome] = sign_checkpoint_job(registry.service)  # pushes `pulled` from `pushed`: told `pulled`
        assert outcome.error is None
    note = http_fetch(registry.url)("/api/v1/ledger/checkpoint").decode()
    opened = open_note(note, [NoteVerifier.from_vkey(registry.vkey)])
    assert opened.text.splitlines()[1] == str(pulled)
    [cosignature] = cosignatures(opened, [served_witness.cosigner.verifier])
    assert cosignature.name == served_witness.cosigner.name
