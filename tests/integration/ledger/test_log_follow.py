"""``tanhui ledger follow``: an outsider keeps the registry's checkpoint and catches a rewritten history.

Registries are real apps on SQLite, served over loopback HTTP by werkzeug and read with urllib, as an
auditor's machine would read them. A forked registry signs with the registry's own key file: the
situation the kept checkpoints exist for (DESIGN.md: triggers stop bugs, not a database superuser).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from registry_support import Registry, answering, one_line_failure
from tests_support import ORIGIN, closed_port_url, served

from ledger import proofs
from ledger.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from ledger.log_follow import (
    MAX_RESPONSE_BYTES,
    LogNotExtended,
    RegistryError,
    check_extends,
    follow,
    http_fetch,
)
from ledger.merkle import root_of
from ledger.note import NoteSigner, NoteVerifier
from web.cli import main


def run_follow(kept: Path, registry: str, *keys: str) -> Result:
    arguments = ["ledger", "follow", str(kept), "--registry", registry]
    for key in keys:
        arguments += ["--key", key]
    return CliRunner().invoke(main, arguments, catch_exceptions=False)


def test_the_first_checkpoint_is_kept_and_each_later_one_is_checked_against_it(registries, tmp_path, no_app):
    registry = registries("honest")
    kept = tmp_path / "kept.checkpoint"

    first = run_follow(kept, registry.url, registry.vkey)
    assert first.exit_code == 0, first.stderr
    assert first.stdout == f"ok: kept the first checkpoint of {ORIGIN} (tree size 1) in {kept}\n"
    assert kept.read_text(encoding="utf-8") == registry.service.sign_checkpoint()[1]

    again = run_follow(kept, registry.url, registry.vkey)
    assert again.stdout == f"ok: the log of {ORIGIN} is unchanged (tree size 1)\n"

    verifiers = [NoteVerifier.from_vkey(registry.vkey)]
    kept_size = 1
    for transfers, tag in ((3, "a"), (7, "b"), (1, "c")):
        grown_to = registry.grow(transfers, tag)
        assert grown_to == kept_size + transfers
        result = run_follow(kept, registry.url, registry.vkey)
        assert result.exit_code == 0, result.stderr
        assert f"grew consistently from tree size {kept_size} to {grown_to};" in result.stdout
        assert open_checkpoint(kept.read_text(encoding="utf-8"), verifiers, ORIGIN).size == grown_to
        kept_size = grown_to
    assert not (tmp_path / "kept.checkpoint.new").exists()


def test_a_fork_signed_with_the_registry_key_is_caught_and_the_kept_checkpoint_stays(
    registries, tmp_path, no_app
):
    honest = registries("honest")
    honest.grow(5, "t")
    kept = tmp_path / "kept.checkpoint"
    assert run_follow(kept, honest.url, honest.vkey).exit_code == 0
    evidence = kept.read_text(encoding="utf-8")

    # The same key and origin, another history: the first issue differs by one kilogram.
    forked = registries("forked", issued_kg=100_001)
    assert forked.vkey == honest.vkey
    forked.grow(9, "t")
    message = one_line_failure(run_follow(kept, forked.url, honest.vkey))
    assert "LOG NOT EXTENDED" in message
    assert (
        "tree of 10 entries does not extend the kept tree of 6 entries: its history was rewritten" in message
    )
    assert kept.read_text(encoding="utf-8") == evidence

    same_size = registries("same-size", issued_kg=100_002)
    same_size.grow(5, "t")
    message = one_line_failure(run_follow(kept, same_size.url, honest.vkey))
    assert "has the kept size 6 but another root: its history was rewritten" in message

    rolled_back = registries("rolled-back")
    rolled_back.grow(2, "t")
    message = one_line_failure(run_follow(kept, rolled_back.url, honest.vkey))
    assert "has 3 entries, fewer than the 6 of the one kept: its log was rolled back or forked" in message
    assert kept.read_text(encoding="utf-8") == evidence


def test_checkpoints_signed_by_another_key_are_refused_first_and_later(registries, tmp_path, no_app):
    trusted = registries("trusted")
    stranger = registries("stranger", key="stranger")
    kept = tmp_path / "kept.checkpoint"
    message = one_line_failure(run_follow(kept, stranger.url, trusted.vkey))
    assert message.startswith("tanhui: checkpoint refused: the registry's checkpoint: checkpoint note: ")
    assert not kept.exists()

    assert run_follow(kept, trusted.url, trusted.vkey).exit_code == 0
    message = one_line_failure(run_follow(kept, stranger.url, trusted.vkey))
    assert message.startswith("tanhui: checkpoint refused: the registry's checkpoint: ")
    message = one_line_failure(run_follow(kept, trusted.url, stranger.vkey))
    assert message.startswith("tanhui: checkpoint refused: the kept checkpoint: ")
    kept.write_text("not a checkpoint\n", encoding="utf-8")
    message = one_line_failure(run_follow(kept, trusted.url, trusted.vkey))
    assert message.startswith("tanhui: checkpoint refused: the kept checkpoint: ")
    assert kept.read_text(encoding="utf-8") == "not a checkpoint\n"


def test_a_rotated_key_is_followed_with_both_keys_trusted(registries, tmp_path, no_app):
    registry = registries("rotating")
    kept = tmp_path / "kept.checkpoint"
    old_key = registry.vkey
    assert run_follow(kept, registry.url, old_key).exit_code == 0
    _, new_key = registry.service.rotate_key()
    registry.grow(2, "after-rotation")
    assert run_follow(kept, registry.url, new_key).exit_code == 1  # the kept one is signed by the old key
    result = run_follow(kept, registry.url, old_key, new_key)
    assert result.exit_code == 0, result.stderr
    assert "grew consistently from tree size 1 to 3;" in result.stdout


def test_an_unreachable_registry_or_a_bad_address_is_a_one_line_error(tmp_path, no_app):
    nowhere = closed_port_url()
    kept = tmp_path / "kept.checkpoint"
    message = one_line_failure(run_follow(kept, nowhere, VKEY_OF_NOBODY))
    assert message.startswith(f"tanhui: registry not readable: cannot read {nowhere}/api/v1/")
    message = one_line_failure(run_follow(kept, "file:///etc/passwd", VKEY_OF_NOBODY))
    assert "must be an http:// or https:// URL" in message
    message = one_line_failure(run_follow(kept, "http://127.0.0.1:1", "not-a-key"))
    assert message.startswith("tanhui: bad verifier key: ")
    assert not kept.exists()


VKEY_OF_NOBODY = NoteSigner.generate("nobody.example/log").vkey


@pytest.fixture
def misbehaving() -> Iterator[str]:
    """A server on loopback that answers the checkpoint path with an error, or with far too much."""

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        if environ["PATH_INFO"] == "/broken/api/v1/ledger/checkpoint":
            start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain")])
            return [b"down"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"x" * (MAX_RESPONSE_BYTES + 1)]

    with served(app, "misbehaving") as url:
        yield url


def test_an_error_status_or_an_oversize_answer_is_refused_in_one_line(misbehaving, tmp_path, no_app):
    kept = tmp_path / "kept.checkpoint"
    message = one_line_failure(run_follow(kept, f"{misbehaving}/broken", VKEY_OF_NOBODY))
    assert message.endswith("/broken/api/v1/ledger/checkpoint answered HTTP 500\n")
    message = one_line_failure(run_follow(kept, f"{misbehaving}/huge", VKEY_OF_NOBODY))
    assert message.endswith(f"answered more than {MAX_RESPONSE_BYTES} bytes\n")
    assert not kept.exists()


# --- the checks themselves, against registries that answer out of contract ----------------------------


@pytest.fixture
def two_checkpoints(registries) -> tuple[Registry, str, str]:
    registry = registries("checked")
    kept = registry.service.sign_checkpoint(force=True)[1]
    registry.grow(6, "t")
    return registry, kept, registry.service.sign_checkpoint()[1]


def test_a_consistency_answer_for_other_sizes_or_with_bad_hashes_is_refused(two_checkpoints):
    registry, kept, latest = two_checkpoints
    verifiers = [NoteVerifier.from_vkey(registry.vkey)]
    path = "/api/v1/ledger/proofs/consistency?from=1&to=7"
    for answer, error in (
        ({"from": 2, "to": 7, "hashes": []}, "did not answer with the consistency proof from 1 to 7"),
        ({"from": 1, "to": 7, "hashes": ["AB" * 32]}, "64 lowercase hex digits"),
        ({"from": 1, "to": 7, "hashes": "00"}, "64 lowercase hex digits"),
    ):
        fetch = answering({"/api/v1/ledger/checkpoint": latest.encode(), path: json.dumps(answer).encode()})
        with pytest.raises(RegistryError, match=error):
            follow(kept, fetch, verifiers)
    fetch = answering({"/api/v1/ledger/checkpoint": latest.encode(), path: b"\xff not json"})
    with pytest.raises(RegistryError, match="not JSON"):
        follow(kept, fetch, verifiers)


def test_every_altered_element_of_a_consistency_proof_is_refused(registries):
    registry = registries("proofs")
    registry.grow(12, "t")
    verifiers = [NoteVerifier.from_vkey(registry.vkey)]
    latest = open_checkpoint(registry.service.sign_checkpoint()[1], verifiers)
    with registry.service.database.reading() as session:
        leaves = [proofs.entry(session, seq).leaf_hash for seq in range(latest.size)]
        served = {size: proofs.consistency(session, size, latest.size) for size in range(1, latest.size)}
    for size, proof in served.items():
        kept = Checkpoint(ORIGIN, size, root_of(leaves[:size]))
        check_extends(kept, latest, proof)
        for index in range(len(proof)):
            bent = [*proof]
            bent[index] = bytes([bent[index][0] ^ 0x80]) + bent[index][1:]
            with pytest.raises(LogNotExtended, match="its history was rewritten"):
                check_extends(kept, latest, bent)
        with pytest.raises(LogNotExtended):
            check_extends(kept, latest, proof[:-1])


def test_a_kept_checkpoint_of_another_log_is_refused(registries):
    registry = registries("origin")
    verifiers = [NoteVerifier.from_vkey(registry.vkey)]
    note = registry.service.sign_checkpoint(force=True)[1]
    with pytest.raises(CheckpointError, match=r"not 'another\.example/log'"):
        follow(note, answering({}), verifiers, origin="another.example/log")
    latest = open_checkpoint(note, verifiers)
    elsewhere = Checkpoint("another.example/log", latest.size, latest.root)
    with pytest.raises(LogNotExtended, match=rf"is for log '{re.escape(ORIGIN)}', not 'another"):
        check_extends(elsewhere, latest, [])


def redirecting_to(target: str) -> Callable[..., list[bytes]]:
    """A WSGI app that answers every request with a redirect to ``target`` plus the path asked for."""

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        start_response("302 Found", [("Location", f"{target}{environ['PATH_INFO']}")])
        return [b""]

    return app


def test_redirects_are_followed_only_to_http(registries, no_app):
    registry: Registry = registries("redirected")
    with served(redirecting_to(registry.url), "to-http") as moved:
        note = http_fetch(moved)("/api/v1/ledger/checkpoint").decode()
    assert note == http_fetch(registry.url)("/api/v1/ledger/checkpoint").decode()
    # urllib itself refuses file://, and would follow ftp://: the ledger's client refuses both.
    for target, refusal in (("ftp://127.0.0.1:21", "which is not http(s)"), ("file://", "is not allowed")):
        with served(redirecting_to(target), "elsewhere") as moved, pytest.raises(RegistryError) as caught:
            http_fetch(moved)("/api/v1/ledger/checkpoint")
        assert refusal in str(caught.value)


def test_the_first_checkpoint_of_another_log_than_the_origin_given_is_not_kept(registries, tmp_path, no_app):
    """With ``--origin``, even the first checkpoint (kept on first use) must be of that log."""
    registry = registries("origin")
    kept = tmp_path / "kept.checkpoint"

    def follow_origin(origin: str) -> Result:
        arguments = ["ledger", "follow", str(kept), "--registry", registry.url, "--key", registry.vkey]
        return CliRunner().invoke(main, [*arguments, "--origin", origin], catch_exceptions=False)

    message = one_line_failure(follow_origin("other.example/log"))
    assert f"checkpoint is for log {ORIGIN!r}, not 'other.example/log'" in message
    assert not kept.exists()
    assert follow_origin(ORIGIN).exit_code == 0
    assert kept.exists()


def test_a_registry_answer_may_be_as_long_as_asked_for_and_an_unreachable_one_says_why(registries, no_app):
    registry = registries("lengths")
    fetch = http_fetch(registry.url + "/")  # a trailing slash: the same paths
    key = fetch("/api/v1/ledger/key")
    assert fetch("/api/v1/ledger/key", max_bytes=len(key)) == key
    with pytest.raises(RegistryError, match=f"answered more than {len(key) - 1} bytes"):
        fetch("/api/v1/ledger/key", max_bytes=len(key) - 1)
    nowhere = closed_port_url()
    unreachable = re.escape(f"cannot read {nowhere}/api/v1/ledger/key: [Errno 111] Connection refused")
    with pytest.raises(RegistryError, match=f"^{unreachable}$"):
        http_fetch(nowhere)("/api/v1/ledger/key")
