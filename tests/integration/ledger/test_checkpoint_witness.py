"""The witness's service, checked against c2sp.org/tlog-witness: every answer the spec prescribes for
``add-checkpoint``, in its order; the atomic check-and-persist its race example asks for; and a
cosignature checked by hand with ``hashlib`` and ``cryptography`` alone.

The logs here are written in the test: leaves hashed per RFC 9162, roots and consistency proofs computed
by the RFC's recursive definitions (``mth`` and ``subproof`` below), checkpoints signed as notes.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.checkpoint_witness import (
    MAX_PROOF_LINES,
    MAX_REQUEST_BYTES,
    CheckpointWitness,
    WitnessRefusal,
    add_checkpoint_body,
    parse_add_checkpoint,
)
from ledger.cosignature import Cosigner
from ledger.note import NoteSigner
from ledger.witness_store import WitnessStore
from web.witness_app import create_witness_app

ORIGIN = "registry.example/ledger"


def leaf(n: int) -> bytes:
    return hashlib.sha256(b"\x00" + f"entry {n}".encode()).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = split(len(leaves))
    return node(mth(leaves[:k]), mth(leaves[k:]))


def subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b)."""
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = split(n)
    if m <= k:
        return [*subproof(m, leaves[:k], complete), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


class Log:
    """A log written in the test: its leaves, its key, and checkpoints of any size."""

    def __init__(self, origin: str = ORIGIN, signer: NoteSigner | None = None, salt: str = "") -> None:
        self.origin = origin
        self.signer = signer or NoteSigner.generate(origin)
        self.leaves = [
            hashlib.sha256(f"{salt}{n}".encode()).digest() if salt else leaf(n) for n in range(200)
        ]

    def note(self, size: int, extensions: tuple[str, ...] = ()) -> str:
        return sign_checkpoint(
            Checkpoint(self.origin, size, mth(self.leaves[:size]), extensions), [self.signer]
        )

    def proof(self, old: int, size: int) -> list[bytes]:
        return subproof(old, self.leaves[:size], True) if 0 < old < size else []

    def body(self, old: int, size: int) -> bytes:
        return add_checkpoint_body(old, self.proof(old, size), self.note(size))


@pytest.fixture
def log() -> Log:
    return Log()


@pytest.fixture
def cosigner() -> Cosigner:
    return Cosigner.generate("witness.example/w1")


@pytest.fixture
def witness(tmp_path: Path, log: Log, cosigner: Cosigner) -> CheckpointWitness:
    return CheckpointWitness(cosigner, {ORIGIN: [log.signer.verifier]}, WitnessStore(tmp_path / "w.sqlite"))


def refusal(witness: CheckpointWitness, body: bytes) -> WitnessRefusal:
    with pytest.raises(WitnessRefusal) as caught:
        witness.add_checkpoint(body)
    return caught.value


def check_by_hand(line: str, note: str, cosigner: Cosigner) -> int:
    """The cosignature line verified as c2sp.org/tlog-cosignature writes it; returns its timestamp."""
    assert line.startswith("— witness.example/w1 ")
    assert line.endswith("\n")
    raw = base64.b64decode(line.rstrip("\n").split(" ")[2], validate=True)
    public = base64.b64decode(cosigner.vkey.split("+", 2)[2])
    assert public[0] == 0x04
    assert raw[:4] == hashlib.sha256(b"witness.example/w1\n\x04" + public[1:]).digest()[:4]
    timestamp = int.from_bytes(raw[4:12], "big")
    text = note[: note.rindex("\n\n") + 1]
    message = f"cosignature/v1\ntime {timestamp}\n{text}".encode()
    Ed25519PublicKey.from_public_bytes(public[1:]).verify(raw[12:], message)  # raises if it does not
    return timestamp


def test_a_first_checkpoint_is_cosigned_and_becomes_the_state(witness, log, cosigner):
    line = witness.add_checkpoint(log.body(0, 10))
    check_by_hand(line, log.note(10), cosigner)
    latest = witness.store.latest(ORIGIN)
    assert latest is not None
    assert (latest.size, latest.root) == (10, mth(log.leaves[:10]))


@pytest.mark.parametrize(("old", "new"), [(1, 2), (3, 7), (8, 16), (10, 11), (57, 131), (64, 200)])
def test_a_checkpoint_extending_the_cosigned_one_is_cosigned(witness, log, cosigner, old, new):
    witness.add_checkpoint(log.body(0, old))
    check_by_hand(witness.add_checkpoint(log.body(old, new)), log.note(new), cosigner)
    assert witness.store.latest(ORIGIN).size == new


def test_the_same_checkpoint_again_is_cosigned_again(witness, log, cosigner):
    witness.add_checkpoint(log.body(0, 12))
    check_by_hand(witness.add_checkpoint(log.body(12, 12)), log.note(12), cosigner)


def test_checkpoints_with_extension_lines_and_other_signatures_are_cosigned(witness, log, cosigner):
    note = log.note(5, ("extension one", "extension two"))
    other = NoteSigner.generate("someone.else/key")
    text = note[: note.rindex("\n\n") + 1]
    with_other = note + other.signature(text).line()  # an unknown key's signature: ignored
    line = witness.add_checkpoint(add_checkpoint_body(0, [], with_other))
    check_by_hand(line, note, cosigner)


def test_a_wrong_old_size_is_409_with_the_cosigned_size(witness, log):
    witness.add_checkpoint(log.body(0, 10))
    for old in (0, 5, 11):
        answer = refusal(witness, log.body(old, 20))
        assert (answer.status, answer.size) == (409, 10)
    assert witness.store.latest(ORIGIN).size == 10
    fresh = refusal(
        CheckpointWitness(witness.cosigner, witness.logs, WitnessStore(witness.store.path.with_name("b"))),
        log.body(4, 20),
    )
    assert (fresh.status, fresh.size) == (409, 0)  # never cosigned: the size is 0


def test_the_http_service_answers_409_as_text_x_tlog_size(witness, log):
    client = create_witness_app(witness).test_client()
    assert client.post("/add-checkpoint", data=log.body(0, 10)).status_code == 200
    answer = client.post("/add-checkpoint", data=log.body(3, 20))
    assert answer.status_code == 409
    assert answer.headers["Content-Type"] == "text/x.tlog.size"
    assert answer.data == b"10\n"
    about = client.get("/").data.decode()
    assert f"log {ORIGIN}: cosigned at size 10" in about
    assert witness.cosigner.vkey in about


def test_an_old_size_beyond_the_checkpoint_is_400(witness, log):
    assert refusal(witness, add_checkpoint_body(11, [], log.note(10))).status == 400


def test_an_unknown_origin_is_404_before_its_signature_is_read(witness):
    other = Log("other.example/log")
    assert refusal(witness, other.body(0, 3)).status == 404


def test_a_checkpoint_not_signed_by_the_logs_key_is_403(witness, log):
    impostor = Log(signer=NoteSigner.generate(ORIGIN))  # same name and origin, another key
    assert refusal(witness, impostor.body(0, 3)).status == 403
    note = log.note(3)
    text, signature = note[: note.rindex("\n\n") + 2], note[note.rindex("\n\n") + 2 :]
    forged = text.replace("\n3\n", "\n4\n") + signature  # the log's key id, a signature of other text
    assert refusal(witness, add_checkpoint_body(0, [], forged)).status == 403
    assert witness.store.latest(ORIGIN) is None


@pytest.mark.parametrize("element", range(5))
def test_every_tampered_proof_element_is_422_and_kept_as_evidence(witness, log, element):
    witness.add_checkpoint(log.body(0, 37))
    proof = log.proof(37, 150)
    assert len(proof) > element
    proof[element] = bytes([proof[element][0] ^ 1]) + proof[element][1:]
    answer = refusal(witness, add_checkpoint_body(37, proof, log.note(150)))
    assert answer.status == 422
    assert witness.store.latest(ORIGIN).size == 37
    [evidence] = witness.store.refused(ORIGIN)
    assert evidence.old_size == 37
    assert evidence.note == log.note(150)


def test_a_short_or_long_proof_is_422(witness, log):
    witness.add_checkpoint(log.body(0, 37))
    proof = log.proof(37, 150)
    for wrong in (proof[:-1], [*proof, proof[0]], []):
        assert refusal(witness, add_checkpoint_body(37, wrong, log.note(150))).status == 422


def test_another_history_of_the_log_is_refused_and_kept_as_evidence(witness, log):
    witness.add_checkpoint(log.body(0, 20))
    fork = Log(signer=log.signer, salt="fork")  # the log's own key, signing a rewritten history
    same_size = refusal(witness, fork.body(20, 20))
    assert same_size.status == 409
    assert same_size.size is None
    assert "another root" in same_size.message
    grown = refusal(witness, add_checkpoint_body(20, fork.proof(20, 40), fork.note(40)))
    assert grown.status == 422
    assert [item.old_size for item in witness.store.refused()] == [20, 20]
    assert witness.store.latest(ORIGIN).root == mth(log.leaves[:20])


def test_an_empty_old_tree_takes_no_proof(witness, log):
    answer = refusal(witness, add_checkpoint_body(0, [leaf(0)], log.note(5)))
    assert answer.status == 400
    assert "empty" in answer.message


@pytest.mark.parametrize(
    "body",
    [
        b"old 0\n",  # no checkpoint
        b"old 0\nexample\n",  # no empty line
        b"old 01\n\n",
        b"old -1\n\n",
        b"new 0\n\n",
        b"old  0\n\n",
        b"old 0\nnot base64!\n\n",
        b"old 0\n" + base64.b64encode(b"x" * 31) + b"\n\n",
        b"old 0\n\n\xff\xfe",
    ],
)
def test_malformed_requests_are_400(witness, log, body):
    if body.endswith(b"\n\n"):
        body += log.note(3).encode()
    assert refusal(witness, body).status == 400
    assert witness.store.latest(ORIGIN) is None


def test_more_than_63_proof_lines_are_400(witness, log):
    lines = [leaf(n) for n in range(MAX_PROOF_LINES + 1)]
    answer = refusal(witness, add_checkpoint_body(0, lines, log.note(3)))
    assert answer.status == 400
    assert "63" in answer.message


def test_an_oversized_request_is_refused_over_http(witness):
    client = create_witness_app(witness).test_client()
    assert client.post("/add-checkpoint", data=b"old 0\n" + b"A" * 70_000).status_code == 413


def test_the_state_survives_a_restart(tmp_path, log, cosigner):
    first = CheckpointWitness(cosigner, {ORIGIN: [log.signer.verifier]}, WitnessStore(tmp_path / "s"))
    first.add_checkpoint(log.body(0, 30))
    again = CheckpointWitness(cosigner, {ORIGIN: [log.signer.verifier]}, WitnessStore(tmp_path / "s"))
    assert refusal(again, log.body(0, 40)).size == 30
    again.add_checkpoint(log.body(30, 40))


def test_racing_requests_never_roll_the_log_back(witness, log):
    """The spec's race: requests from the same old size, checked and persisted atomically, so that one
    wins and the others are told the new size, round after round; the state only grows."""
    witness.add_checkpoint(log.body(0, 1))
    cosigned_sizes: list[int] = []
    statuses: list[int] = []
    lock = threading.Lock()
    for rounds in range(1, 6):
        state = witness.store.latest(ORIGIN).size
        barrier = threading.Barrier(6)
        targets = [state + step for step in (1, 3, 5, 8, 13, 21)]

        def push(size: int, old: int = state, gate: threading.Barrier = barrier) -> None:
            gate.wait()
            try:
                witness.add_checkpoint(log.body(old, size))
            except WitnessRefusal as exc:
                with lock:
                    statuses.append(exc.status)
                return
            with lock:
                cosigned_sizes.append(size)

        threads = [threading.Thread(target=push, args=(size,)) for size in targets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        latest = witness.store.latest(ORIGIN).size
        assert len(cosigned_sizes) == rounds  # exactly one winner per round
        assert statuses == [409] * 5 * rounds  # the others are told the new size
        assert latest in targets
        assert cosigned_sizes[-1] == latest


def test_a_request_written_by_hand_from_the_spec_is_cosigned(witness, log, cosigner):
    """The body as the spec's example lays it out, built here without add_checkpoint_body."""
    first = b"old 0\n\n" + log.note(20).encode()
    check_by_hand(witness.add_checkpoint(first), log.note(20), cosigner)
    proof = b"".join(base64.b64encode(item) + b"\n" for item in subproof(20, log.leaves[:45], True))
    second = b"old 20\n" + proof + b"\n" + log.note(45).encode()
    check_by_hand(witness.add_checkpoint(second), log.note(45), cosigner)


def test_a_request_at_the_limits_is_read_and_one_past_them_is_refused(log):
    """63 proof lines and 65,536 bytes are what a request may hold: both are read, one more is not."""
    note = log.note(3)
    lines = [leaf(n) for n in range(MAX_PROOF_LINES)]
    assert len(parse_add_checkpoint(add_checkpoint_body(0, lines, note)).proof) == MAX_PROOF_LINES
    head = b"old 0\n\n"
    assert parse_add_checkpoint(head + b"x" * (MAX_REQUEST_BYTES - len(head))).old_size == 0
    with pytest.raises(WitnessRefusal, match=f"larger than {MAX_REQUEST_BYTES} bytes"):
        parse_add_checkpoint(head + b"x" * (MAX_REQUEST_BYTES - len(head) + 1))


def test_a_malformed_proof_line_is_named_by_its_number(log):
    good, short = base64.b64encode(leaf(0)).decode(), base64.b64encode(b"x" * 31).decode()
    for body, message in (
        (f"old 3\n{good}\nnot base64!\n\n{log.note(5)}", "proof line 2 is not base64"),
        (f"old 3\n{good}\n{good}\n{short}\n\n{log.note(5)}", "proof line 3 is not a 32-byte hash"),
    ):
        with pytest.raises(WitnessRefusal, match=message):
            parse_add_checkpoint(body.encode())
