"""C2SP transparency-log checkpoints (c2sp.org/tlog-checkpoint): the signed tree heads of the ledger.

This module owns the checkpoint body (origin, tree size, root hash and optional extension lines), its
strict parsing, and signing and opening it as a c2sp.org/signed-note. A checkpoint's text is read only
after a trusted key's signature over it has verified.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.merkle import EMPTY_ROOT, HASH_SIZE, MAX_TREE_SIZE
from ledger.note import (
    NoteError,
    NoteSigner,
    NoteVerifier,
    OpenedNote,
    decode_base64,
    encode_base64,
    open_note,
    sign_note,
)

# c2sp.org/tlog-checkpoint: ASCII decimal with no leading zeroes, unless the tree is empty ("0").
TREE_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


class CheckpointError(ValueError):
    """A checkpoint that is malformed, unsigned by a trusted key, or for another log."""


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: ``origin`` names the log, ``root`` is MTH of its first ``size`` leaves."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, what="origin")
        if (
            isinstance(self.size, bool)
            or not isinstance(self.size, int)
            or not 0 <= self.size <= MAX_TREE_SIZE
        ):
            raise CheckpointError(f"tree size {self.size!r} is not an integer in [0, 2**64)")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise CheckpointError(f"root hash is not {HASH_SIZE} bytes")
        # RFC 9162 §2.1.1: the hash of an empty list is HASH(), so an empty tree has exactly one root.
        if self.size == 0 and self.root != EMPTY_ROOT:
            raise CheckpointError("a checkpoint of the empty tree must carry SHA-256 of the empty string")
        if not isinstance(self.extensions, tuple):
            raise CheckpointError("extensions must be a tuple of lines")
        for extension in self.extensions:
            _check_line(extension, what="extension line")

    def body(self) -> str:
        """The note text: origin, size, base64 root, then extension lines, each ending in a newline."""
        lines = [self.origin, str(self.size), encode_base64(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Read a checkpoint body strictly; raise :class:`CheckpointError` if it is not one."""
        if not text.endswith("\n"):
            raise CheckpointError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError(f"checkpoint text has {len(lines)} lines, not at least 3")
        origin, size_text, root_text, *extensions = lines
        if not TREE_SIZE.fullmatch(size_text):
            raise CheckpointError(f"tree size {size_text[:30]!r} is not a decimal without leading zeros")
        try:
            root = decode_base64(root_text)
        except ValueError as exc:
            raise CheckpointError(f"root hash: {exc}") from exc
        return cls(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signers: Sequence[NoteSigner]) -> str:
    """The checkpoint as a signed note. The log's key name should match the origin (tlog-checkpoint)."""
    return sign_note(checkpoint.body(), signers)


def open_checkpoint(note: str, verifiers: Sequence[NoteVerifier], origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint against the trusted ``verifiers`` and read it.

    Signatures from unknown keys (witness cosignatures, a retired log key) are ignored, as the note
    spec requires. With ``origin`` given, a checkpoint of any other log is refused.
    """
    return open_checkpoint_note(note, verifiers, origin)[0]


def open_checkpoint_note(
    note: str, verifiers: Sequence[NoteVerifier], origin: str | None = None
) -> tuple[Checkpoint, OpenedNote]:
    """:func:`open_checkpoint`, also returning the opened note (whose other signatures a caller checks,
    e.g. witnesses' cosignatures) so that it is parsed and verified once."""
    try:
        opened = open_note(note, verifiers)
    except NoteError as exc:
        raise CheckpointError(f"checkpoint note: {exc}") from exc
    checkpoint = Checkpoint.parse(opened.text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint is for log {checkpoint.origin!r}, not {origin!r}")
    return checkpoint, opened


def _check_line(value: str, *, what: str) -> None:
    # Lines of the note text must be non-empty (tlog-checkpoint) and hold no newline or other control
    # character (signed-note).
    if not isinstance(value, str) or not value:
        raise CheckpointError(f"{what} must be a non-empty string")
    if any(char < " " for char in value):
        raise CheckpointError(f"{what} contains a newline or another control character")
