"""A witness that logs push their checkpoints to, to the letter of c2sp.org/tlog-witness (``add-checkpoint``).

``tanhui ledger follow --cosign-key`` is a witness that pulls: it reads the registry when its operator
runs it. This is the other way round, the protocol of the public witness network: when a log signs a
checkpoint, it sends it to its witnesses with a consistency proof from the last checkpoint each
cosigned, and every witness answers with its cosignature (:mod:`ledger.cosignature`) at once, so that
every checkpoint can be cosigned as soon as it exists. The registry's side is :mod:`ledger.witness_push`;
this module is the witness's, with no Flask and no registry database (``web/witness_app.py`` serves it).

A request body is an old size line ``old <N>``, up to 63 consistency proof lines (one base64 hash
each), an empty line, then the signed checkpoint. The witness answers, in the spec's order of checks:

* 400: a malformed request, or an old size larger than the checkpoint's;
* 404: a log (origin) the witness does not witness;
* 403: no signature from one of the log's keys verifies;
* 409: the old size is not the size of the latest checkpoint the witness cosigned for the log; the body
  (``text/x.tlog.size``) is that size, for the log to retry. Also 409, with a plain explanation, for a
  checkpoint of the same size as that one but another root;
* 422: the consistency proof does not verify;
* 200: one cosignature line per witness key, after the checkpoint was recorded as the latest cosigned.

A checkpoint that the log's own key signed but that contradicts what the witness cosigned (another root
at the same size, a proof that fails) is kept as evidence of the log's misbehaviour, as the spec allows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ledger.checkpoint import TREE_SIZE, Checkpoint, CheckpointError
from ledger.cosignature import Cosigner
from ledger.merkle import HASH_SIZE, ProofError, verify_consistency
from ledger.note import NoteError, NoteVerifier, UntrustedNote, decode_base64, encode_base64, open_note
from ledger.witness_store import LogState, WitnessStore

ADD_CHECKPOINT_PATH = "/add-checkpoint"
MAX_PROOF_LINES = 63
MAX_REQUEST_BYTES = 64 * 1024
"""63 proof lines take 2.8 KB; a checkpoint with its signatures a few hundred bytes more."""
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_OLD_SIZE = re.compile(f"old ({TREE_SIZE.pattern})")


class WitnessRefusal(Exception):
    """The witness does not cosign: ``status`` is the HTTP status the protocol prescribes.

    ``size``: for a 409 over the old size, the size of the latest checkpoint cosigned for the log.
    """

    def __init__(self, status: int, message: str, size: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.size = size


@dataclass(frozen=True)
class AddCheckpoint:
    old_size: int
    proof: tuple[bytes, ...]
    note: str


def add_checkpoint_body(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """The request body of ``add-checkpoint``, as a log sends it."""
    lines = [f"old {old_size}", *(encode_base64(node) for node in proof)]
    return ("".join(line + "\n" for line in lines) + "\n" + note).encode("utf-8")


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Read an ``add-checkpoint`` request body strictly; a 400 :class:`WitnessRefusal` says what is wrong."""
    if len(body) > MAX_REQUEST_BYTES:
        raise WitnessRefusal(400, f"the request is larger than {MAX_REQUEST_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WitnessRefusal(400, "the request is not UTF-8") from exc
    head, blank, note = text.partition("\n\n")
    if not blank:
        raise WitnessRefusal(400, "the request has no empty line before the checkpoint")
    lines = head.split("\n")
    match = _OLD_SIZE.fullmatch(lines[0])
    if match is None:
        raise WitnessRefusal(400, "the first line must be 'old <size>', in decimal without leading zeros")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise WitnessRefusal(400, f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for number, line in enumerate(lines[1:], start=1):
        try:
            node = decode_base64(line)
        except ValueError as exc:
            raise WitnessRefusal(400, f"proof line {number} is not base64: {exc}") from exc
        if len(node) != HASH_SIZE:
            raise WitnessRefusal(400, f"proof line {number} is not a {HASH_SIZE}-byte hash")
        proof.append(node)
    if not note:
        raise WitnessRefusal(400, "the request has no checkpoint after the empty line")
    return AddCheckpoint(int(match.group(1)), tuple(proof), note)


class CheckpointWitness:
    """Cosigns the checkpoints of the logs it witnesses (origin → the log's keys), one state per log."""

    def __init__(
        self,
        cosigner: Cosigner,
        logs: Mapping[str, Sequence[NoteVerifier]],
        store: WitnessStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not logs:
            raise ValueError("a witness witnesses at least one log")
        self.cosigner = cosigner
        self.logs = {origin: list(keys) for origin, keys in logs.items()}
        self.store = store
        self._clock = clock

    def add_checkpoint(self, body: bytes) -> str:
        """The cosignature line(s) for the checkpoint in ``body``; raises :class:`WitnessRefusal`."""
        request = parse_add_checkpoint(body)
        origin = request.note.partition("\n")[0]
        keys = self.logs.get(origin)
        if keys is None:
            raise WitnessRefusal(404, f"this witness does not witness the log {origin[:200]!r}")
        try:
            opened = open_note(request.note, keys)
        except UntrustedNote as exc:
            raise WitnessRefusal(403, f"the checkpoint is not signed by the log's key: {exc}") from exc
        except NoteError as exc:
            raise WitnessRefusal(400, f"the checkpoint is not a signed note: {exc}") from exc
        try:
            checkpoint = Checkpoint.parse(opened.text)
        except CheckpointError as exc:
            raise WitnessRefusal(400, f"not a checkpoint: {exc}") from exc
        if request.old_size > checkpoint.size:
            raise WitnessRefusal(
                400, f"old size {request.old_size} exceeds the checkpoint's size {checkpoint.size}"
            )
        with self.store.advancing(origin) as state:
            now = self._clock()
            if request.old_size != state.size:
                raise WitnessRefusal(
                    409, f"the latest checkpoint cosigned for this log has size {state.size}", size=state.size
                )
            self._check_extends(request, checkpoint, state, now)
            state.advance(checkpoint.size, checkpoint.root, request.note, now)
        return self.cosigner.cosign(opened.text, int(now.timestamp())).line()

    @staticmethod
    def _check_extends(
        request: AddCheckpoint, checkpoint: Checkpoint, state: LogState, now: datetime
    ) -> None:
        """Refuse unless ``checkpoint`` extends the latest cosigned one (of the request's old size)."""
        old = request.old_size
        if old == 0 or state.latest is None:
            if request.proof:
                raise WitnessRefusal(400, "the consistency proof must be empty when the old size is 0")
            return
        old_root = state.latest.root
        if old == checkpoint.size and checkpoint.root != old_root:
            reason = f"another root at size {old}, the size of the checkpoint cosigned before"
            state.refuse(old, request.note, reason, now)
            raise WitnessRefusal(409, f"the log signed {reason}: its history was rewritten")
        try:
            verify_consistency(old, checkpoint.size, request.proof, old_root, checkpoint.root)
        except ProofError as exc:
            reason = f"the consistency proof from {old} to {checkpoint.size} does not verify: {exc}"
            state.refuse(old, request.note, reason, now)
            raise WitnessRefusal(422, reason) from exc
