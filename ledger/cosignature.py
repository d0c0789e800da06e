"""Witness cosignatures on the ledger's checkpoints (C2SP tlog-cosignature, the Ed25519 ``cosignature/v1``).

A registry signs its checkpoints itself, so on its own signature alone it could show one history to one
reader and another to the next (a split view), each well signed. A *witness* (an auditor, the provincial
department, a buyers' association) follows the log, checks that every checkpoint it is shown extends
the last one it saw (``tanhui ledger follow``), and cosigns it: "as of time T, the largest consistent
tree I have seen of this log has this root". A reader who requires cosignatures from witnesses it trusts
cannot be shown a history those witnesses were not shown too.

The format, to the letter of c2sp.org/tlog-cosignature:

* a cosignature is a signed-note signature line, ``— <name> base64(key id || timestamped signature)``;
* key id = SHA-256(name || "\\n" || 0x04 || 32-byte Ed25519 public key)[:4], and the verifier key is
  published as a vkey with signature type 0x04: ``<name>+<hex key id>+base64(0x04 || public key)``;
* the timestamped signature is an 8-byte big-endian POSIX timestamp followed by the 64-byte Ed25519
  signature of ``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint's note text.

The private key is kept, like the registry's, as ``PRIVATE+KEY+<name>+<hex key id>+base64(0x04 || seed)``
in a file only its owner reads (:mod:`ledger.keys`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.note import (
    KEY_ID_SIZE,
    NoteError,
    NoteSignature,
    OpenedNote,
    check_key_name,
    decode_base64,
    encode_base64,
    key_id,
)

COSIGNATURE_TYPE_ED25519 = 0x04
HEADER = "cosignature/v1\n"
MAX_TIMESTAMP = 2**63 - 1
TIMESTAMPED_SIGNATURE_SIZE = 8 + 64
CLOCK_SKEW_S = 300
"""How far a witness's clock may run ahead of a reader's (or the registry's) before its time is refused."""
_SKEY_PREFIX = "PRIVATE+KEY+"


class CosignatureError(NoteError):
    """A cosigner key or a cosignature that is malformed, or a cosignature that does not verify."""


def cosigner_key_id(name: str, public_key: bytes) -> bytes:
    """SHA-256(name || "\\n" || 0x04 || public key)[:4]: distinct from the same key's signed-note id."""
    return key_id(name, public_key, COSIGNATURE_TYPE_ED25519)


def cosigned_message(note_text: str, timestamp: int) -> bytes:
    """What a cosigner signs: the header line, the time line, then the checkpoint's whole note text."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CosignatureError(f"timestamp {timestamp} is outside 0..2^63-1")
    if not note_text.endswith("\n"):
        raise CosignatureError("the note text must end with a newline")
    return f"{HEADER}time {timestamp}\n{note_text}".encode()


@dataclass(frozen=True)
class Cosignature:
    """A verified cosignature: which witness, and the time it vouched for the checkpoint."""

    name: str
    key_id: bytes
    timestamp: int
    line: str
    """The signature line, as it appears under the checkpoint."""


def timestamp_of(signature: NoteSignature) -> int:
    """The timestamp a cosignature line states (before its signature is checked)."""
    if len(signature.signature) != TIMESTAMPED_SIGNATURE_SIZE:
        raise CosignatureError(
            f"cosignature by {signature.name} is {len(signature.signature)} bytes after its key id, "
            f"not {TIMESTAMPED_SIGNATURE_SIZE}"
        )
    timestamp = int.from_bytes(signature.signature[:8], "big")
    if timestamp > MAX_TIMESTAMP:
        raise CosignatureError(f"cosignature by {signature.name} has a timestamp beyond 2^63-1")
    return timestamp


class CosignatureVerifier:
    """A witness's public key, as its vkey (signature type 0x04) publishes it."""

    __slots__ = ("_public_key", "key_id", "name")

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        self.name = name
        self._public_key = public_key
        self.key_id = cosigner_key_id(name, public_key.public_bytes_raw())

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureVerifier:
        name, stated_id, key = _parse_typed(vkey, what="witness key")
        verifier = cls(name, Ed25519PublicKey.from_public_bytes(key))
        if verifier.key_id != stated_id:
            raise CosignatureError(f"witness key {name}: key id {stated_id.hex()} does not match the key")
        return verifier

    @property
    def vkey(self) -> str:
        raw = bytes([COSIGNATURE_TYPE_ED25519]) + self._public_key.public_bytes_raw()
        return f"{self.name}+{self.key_id.hex()}+{encode_base64(raw)}"

    def matches(self, signature: NoteSignature) -> bool:
        return (signature.name, signature.key_id) == (self.name, self.key_id)

    def verify(self, note_text: str, signature: NoteSignature) -> Cosignature:
        """The cosignature, if it is this witness's valid cosignature of ``note_text``; raises otherwise."""
        if not self.matches(signature):
            raise CosignatureError(f"the signature is not by witness {self.name}+{self.key_id.hex()}")
        timestamp = timestamp_of(signature)
        try:
            self._public_key.verify(signature.signature[8:], cosigned_message(note_text, timestamp))
        except InvalidSignature as exc:
            raise CosignatureError(f"the cosignature by witness {self.name} does not verify") from exc
        return Cosignature(self.name, self.key_id, timestamp, signature.line())

    def __repr__(self) -> str:
        return f"CosignatureVerifier({self.vkey!r})"


class Cosigner:
    """A witness's private key; its repr never shows the key."""

    __slots__ = ("_private_key", "key_id", "name")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self.name = name
        self._private_key = private_key
        self.key_id = cosigner_key_id(name, private_key.public_key().public_bytes_raw())

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> Cosigner:
        if not skey.startswith(_SKEY_PREFIX):
            raise CosignatureError("private key does not start with PRIVATE+KEY+")
        name, stated_id, seed = _parse_typed(skey[len(_SKEY_PREFIX) :], what="private key")
        cosigner = cls(name, Ed25519PrivateKey.from_private_bytes(seed))
        if cosigner.key_id != stated_id:
            raise CosignatureError(f"private key {name}: key id {stated_id.hex()} does not match the key")
        return cosigner

    def to_skey(self) -> str:
        raw = bytes([COSIGNATURE_TYPE_ED25519]) + self._private_key.private_bytes_raw()
        return f"{_SKEY_PREFIX}{self.name}+{self.key_id.hex()}+{encode_base64(raw)}"

    @property
    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self.name, self._private_key.public_key())

    @property
    def vkey(self) -> str:
        return self.verifier.vkey

    def cosign(self, note_text: str, timestamp: int) -> NoteSignature:
        """This witness's cosignature of a checkpoint's note text, as of ``timestamp``."""
        signature = self._private_key.sign(cosigned_message(note_text, timestamp))
        return NoteSignature(self.name, self.key_id, timestamp.to_bytes(8, "big") + signature)

    def cosign_note(self, note: str, timestamp: int) -> str:
        """The signed ``note`` with this witness's cosignature line, as of ``timestamp``, added under it.

        The note text is everything before the last blank line (c2sp.org/signed-note).
        """
        return note + self.cosign(note[: note.rindex("\n\n") + 1], timestamp).line()

    def __repr__(self) -> str:
        return f"Cosigner({self.name!r}, key id {self.key_id.hex()})"


def cosignatures(
    opened: OpenedNote, witnesses: Sequence[CosignatureVerifier], not_after: int | None = None
) -> list[Cosignature]:
    """The valid cosignatures on an opened note, one per trusted witness that cosigned it.

    As signed-note asks of signatures from known keys, a cosignature from a trusted witness that does
    not verify refuses the whole note (:class:`CosignatureError`); so does one dated after ``not_after``
    (a POSIX time, allowing for clock skew) when it is given. Lines from other keys are ignored.
    """
    found: dict[tuple[str, bytes], Cosignature] = {}
    for signature in opened.unverified_signatures:
        for witness in witnesses:
            if witness.matches(signature):
                cosignature = witness.verify(opened.text, signature)
                if not_after is not None and cosignature.timestamp > not_after:
                    raise CosignatureError(
                        f"the cosignature by witness {witness.name} is dated in the future "
                        f"({cosignature.timestamp})"
                    )
                known = found.get((witness.name, witness.key_id))
                if known is None or cosignature.timestamp > known.timestamp:
                    found[(witness.name, witness.key_id)] = cosignature
    return list(found.values())


def _parse_typed(text: str, *, what: str) -> tuple[str, bytes, bytes]:
    """``<name>+<8 hex key id>+base64(0x04 || 32 bytes)`` → name, key id, the 32 bytes."""
    parts = text.split("+", 2)  # the base64 may itself contain "+"
    if len(parts) != 3:
        raise CosignatureError(f"{what} is not <name>+<key id>+<key>")
    name, id_hex, encoded = parts
    try:
        check_key_name(name)
        raw = decode_base64(encoded)
    except ValueError as exc:
        raise CosignatureError(f"{what}: {exc}") from exc
    if len(id_hex) != 2 * KEY_ID_SIZE or any(char not in "0123456789abcdef" for char in id_hex.lower()):
        raise CosignatureError(f"{what}: key id {id_hex!r} is not 8 hexadecimal digits")
    if len(raw) != 33 or raw[0] != COSIGNATURE_TYPE_ED25519:
        raise CosignatureError(f"{what} is not an Ed25519 cosigner key (type 0x04 and 32 bytes)")
    return name, bytes.fromhex(id_hex), raw[1:]
