"""The registry's checkpoint signing keys: files with owner-only permissions, and their rotation.

A key file holds one signed-note private key line (``PRIVATE+KEY+<name>+<id>+<base64>``, the
golang.org/x/mod/sumdb/note form). Rotation co-signs a checkpoint with the old key and a new one, then
puts the new key in the file and keeps the old file beside it as ``<file>.<key id>.retired``, so that
old checkpoints stay verifiable with the old key and the hand-over itself is signed by the key being
retired.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from ledger.cosignature import Cosigner
from ledger.note import NoteSigner

KEY_FILE_MODE = 0o600


class KeyFileError(Exception):
    """A key file is missing, unreadable, malformed or readable by others."""


class PrivateKey(Protocol):
    def to_skey(self) -> str: ...


def write_key_file(path: Path, signer: PrivateKey) -> None:
    """Create ``path`` holding the private key, readable by the owner only; never overwrites."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    except FileExistsError as exc:
        raise KeyFileError(f"{path} exists already; refusing to overwrite a signing key") from exc
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(signer.to_skey() + "\n")


def read_key_file(path: Path) -> NoteSigner:
    try:
        return NoteSigner.from_skey(_private_text(path))
    except ValueError as exc:
        raise KeyFileError(f"{path} does not hold a signed-note Ed25519 private key: {exc}") from exc


def read_cosigner_file(path: Path) -> Cosigner:
    """A witness's cosigning key (:mod:`ledger.cosignature`), from a file only its owner reads."""
    try:
        return Cosigner.from_skey(_private_text(path))
    except ValueError as exc:
        raise KeyFileError(f"{path} does not hold an Ed25519 cosigner private key: {exc}") from exc


def _private_text(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not ASCII text"
        raise KeyFileError(f"cannot read signing key {path}: {reason}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path} is readable by others; run: chmod 600 {path}")
    return text


def load_or_create(path: Path, name: str) -> NoteSigner:
    """The key in ``path``, generating one under ``name`` first if the file does not exist."""
    if not path.exists():
        write_key_file(path, NoteSigner.generate(name))
    return read_key_file(path)


@contextmanager
def rotation(path: Path, name: str) -> Iterator[tuple[NoteSigner, NoteSigner]]:
    """A new key to replace the one in ``path``: yields ``(old, new)`` for the hand-over to be signed with.

    The new key waits in ``<file>.new`` (owner-only) while the body runs, and takes the old key's place
    only if the body returns; the old file is then kept as ``<file>.<key id>.retired``. If the body
    raises (the hand-over could not be stored), the new key is deleted and ``path`` is as it was, so a
    registry never signs with a key whose hand-over is missing. A ``<file>.new`` left by a crash between
    the two is refused by the next rotation, for the operator to look at.
    """
    old = read_key_file(path)
    new = NoteSigner.generate(name)
    staging = path.with_name(f"{path.name}.new")
    write_key_file(staging, new)
    try:
        yield old, new
    except BaseException:
        staging.unlink()
        raise
    os.link(path, path.with_name(f"{path.name}.{old.key_id.hex()}.retired"))
    os.replace(staging, path)
