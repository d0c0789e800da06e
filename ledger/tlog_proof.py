"""C2SP transparency-log proofs (c2sp.org/tlog-proof@v1, ``.tlog-proof`` files): offline proof of logging.

This module owns the text format that bundles an entry's index, its RFC 9162 inclusion proof, a signed
checkpoint and optional unauthenticated extra data, and its verification: the checkpoint's signature by a
trusted key, the expected log origin, and the inclusion of the leaf hash under the checkpoint's root.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from ledger.merkle import HASH_SIZE, MAX_TREE_SIZE, ProofError, verify_inclusion
from ledger.note import NoteVerifier, decode_base64, encode_base64

HEADER = "c2sp.org/tlog-proof@v1"
FILE_EXTENSION = ".tlog-proof"
# An inclusion proof in a tree of at most 2**64 - 1 leaves has at most 64 hashes (RFC 9162 §2.1.3).
MAX_PROOF_HASHES = 64

_EXTRA_PREFIX = "extra "
# tlog-proof: "index", a space, and an ASCII decimal with no leading zeroes unless the index is 0.
_INDEX_LINE = re.compile(r"index (0|[1-9][0-9]{0,19})")


class TlogProofError(ValueError):
    """A tlog-proof that is malformed or does not prove its entry's inclusion in a trusted checkpoint."""


@dataclass(frozen=True)
class TlogProof:
    """A parsed, not yet verified, tlog-proof. ``extra`` is opaque and never authenticated."""

    index: int
    inclusion: tuple[bytes, ...]
    checkpoint_note: str
    extra: bytes | None = None


def format_tlog_proof(
    index: int, inclusion: Sequence[bytes], signed_checkpoint: str, extra: bytes | None = None
) -> str:
    """The ``.tlog-proof`` text: header, optional extra line, index, proof hashes, blank line, checkpoint.

    The checkpoint note is included verbatim. Empty extra data is refused: the spec omits the extra line
    when there is no extra data, so ``b""`` could not be read back as itself.
    """
    if not 0 <= index < MAX_TREE_SIZE:
        raise TlogProofError(f"index {index} is out of range")
    if len(inclusion) > MAX_PROOF_HASHES or any(len(item) != HASH_SIZE for item in inclusion):
        raise TlogProofError(f"an inclusion proof is at most {MAX_PROOF_HASHES} hashes of {HASH_SIZE} bytes")
    if extra is not None and not extra:
        raise TlogProofError("extra data is empty: pass None to omit the extra line")
    if not signed_checkpoint or signed_checkpoint.startswith("\n") or not signed_checkpoint.endswith("\n"):
        raise TlogProofError("the signed checkpoint must be a whole signed note")
    lines = [HEADER]
    if extra is not None:
        lines.append(_EXTRA_PREFIX + encode_base64(extra))
    lines.append(f"index {index}")
    lines.extend(encode_base64(item) for item in inclusion)
    return "".join(line + "\n" for line in lines) + "\n" + signed_checkpoint


def parse_tlog_proof(text: str) -> TlogProof:
    """Read a tlog-proof strictly, without verifying anything; raise :class:`TlogProofError` if malformed."""
    # The proof lines are non-empty, so the first blank line is the one before the checkpoint.
    head, blank, checkpoint_note = text.partition("\n\n")
    if not blank:
        raise TlogProofError("tlog-proof has no blank line before its checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise TlogProofError(f"tlog-proof does not start with {HEADER!r}")
    position = 1
    extra: bytes | None = None
    if position < len(lines) and lines[position].startswith(_EXTRA_PREFIX):
        try:
            extra = decode_base64(lines[position][len(_EXTRA_PREFIX) :])
        except ValueError as exc:
            raise TlogProofError(f"extra line: {exc}") from exc
        if not extra:
            raise TlogProofError("extra line carries no data; it must be omitted instead")
        position += 1
    index_match = _INDEX_LINE.fullmatch(lines[position]) if position < len(lines) else None
    if index_match is None:
        raise TlogProofError("tlog-proof has no 'index N' line (decimal, no leading zeros) where expected")
    index = int(index_match.group(1))
    if index >= MAX_TREE_SIZE:
        raise TlogProofError(f"index {index} is out of range")
    hash_lines = lines[position + 1 :]
    if len(hash_lines) > MAX_PROOF_HASHES:
        raise TlogProofError(f"inclusion proof has {len(hash_lines)} hashes, more than {MAX_PROOF_HASHES}")
    inclusion = tuple(_decode_hash(line, number) for number, line in enumerate(hash_lines))
    if not checkpoint_note:
        raise TlogProofError("tlog-proof has no checkpoint after the blank line")
    return TlogProof(index, inclusion, checkpoint_note, extra)


def verify_tlog_proof(text: str, leaf: bytes, verifiers: Sequence[NoteVerifier], origin: str) -> Checkpoint:
    """Verify that the entry with leaf hash ``leaf`` is in the log ``origin``, as the proof claims.

    Checks, in order: the format; the checkpoint's signature by one of the trusted ``verifiers`` and its
    origin; and the RFC 9162 §2.1.3.2 inclusion proof of ``leaf`` at the proof's index under the
    checkpoint's root. Returns the checkpoint; raises :class:`TlogProofError` on any failure. The extra
    data plays no part: read it with :func:`parse_tlog_proof`, and do not trust it.
    """
    proof = parse_tlog_proof(text)
    try:
        checkpoint = open_checkpoint(proof.checkpoint_note, verifiers, origin)
        verify_inclusion(leaf, proof.index, checkpoint.size, proof.inclusion, checkpoint.root)
    except (CheckpointError, ProofError) as exc:
        raise TlogProofError(str(exc)) from exc
    return checkpoint


def _decode_hash(line: str, number: int) -> bytes:
    try:
        value = decode_base64(line)
    except ValueError as exc:
        raise TlogProofError(f"inclusion proof line {number}: {exc}") from exc
    if len(value) != HASH_SIZE:
        raise TlogProofError(f"inclusion proof line {number} is {len(value)} bytes, not {HASH_SIZE}")
    return value
