"""The registry's checkpoint signing keys: files with owner-only permissions, and their rotation.

A key file holds one signed-note private key line (``PRIVATE+KEY+<name>+<id>+<base64>``, the
golang.org/x/mod/sumdb/note form). Rotation writes a new key, keeps the old file beside it as
``<file>.<key id>.retired`` and co-signs a checkpoint with both, so that old checkpoints stay
verifiable with the old key and the hand-over itself is signed by the key being retired.
"""

from __future__ import annotations

import os
import stat
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


def rotate(path: Path, name: str) -> tuple[NoteSigner, NoteSigner]:
    """Replace the key in ``path`` with a new one; returns ``(old, new)``. The old file is kept aside."""
    old = read_key_file(path)
    new = NoteSigner.generate(name)
    retired = path.with_name(f"{path.name}.{old.key_id.hex()}.retired")
    staging = path.with_name(f"{path.name}.new")
    write_key_file(staging, new)
    os.link(path, retired)
    os.replace(staging, path)
    return old, new
