"""C2SP signed notes (c2sp.org/signed-note, v1.0.0) with Ed25519 keys: signing, strict parsing, verification.

This module owns the note format that carries the ledger's checkpoints: key names and ids, the verifier
key ("vkey") and private key ("skey") strings of golang.org/x/mod/sumdb/note, signature lines, and the
rules for opening a note, under which its text means nothing until a signature from a trusted key has
verified. Only signature type 0x01 (Ed25519) is implemented, as the spec recommends selecting only the
types a design needs.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE_TYPE_ED25519 = 0x01  # c2sp.org/signed-note "Signature types".
ED25519_KEY_SIZE = 32
ED25519_SIGNATURE_SIZE = 64
KEY_ID_SIZE = 4
# The spec asks verifiers to cap the number of signatures and to accept at least 16; sumdb/note caps at
# 100, which leaves room for a log key rotation and many witness cosignatures.
MAX_SIGNATURES = 100

_SIGNATURE_PREFIX = "\u2014 "  # Em dash (U+2014) and a space open every signature line.
_SKEY_PREFIX = "PRIVATE+KEY+"


class NoteError(ValueError):
    """A note, key string or signature that is malformed or does not verify."""


class UntrustedNote(NoteError):
    """A well-formed note that no trusted key vouches for: a known key's signature fails, or none signed."""


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key name, the 4-byte key id, and the signature bytes after the id."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """The signature line ``— <name> base64(key id || signature)\\n``."""
        return f"{_SIGNATURE_PREFIX}{self.name} {encode_base64(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class OpenedNote:
    """A note whose signatures were checked: its text, who vouched for it, and signatures left unchecked.

    ``verified_by`` holds one signature per known key that signed (at least one); ``unverified_signatures``
    holds those from keys the caller does not know (witnesses, a rotated-out key), which are ignored.
    """

    text: str
    verified_by: tuple[NoteSignature, ...]
    unverified_signatures: tuple[NoteSignature, ...]


def key_id(name: str, public_key: bytes, key_type: int = SIGNATURE_TYPE_ED25519) -> bytes:
    """SHA-256(key name || 0x0A || key type || 32-byte Ed25519 public key)[:4], c2sp.org/signed-note
    (type 0x01 for note signatures, 0x04 for tlog-cosignature's)."""
    check_key_name(name)
    assert len(public_key) == ED25519_KEY_SIZE, len(public_key)
    material = name.encode("utf-8") + b"\n" + bytes([key_type]) + public_key
    return hashlib.sha256(material).digest()[:KEY_ID_SIZE]


def check_key_name(name: str) -> None:
    """Refuse a key name that is empty or holds a Unicode space or a plus sign (c2sp.org/signed-note)."""
    if not name:
        raise NoteError("key name is empty")
    if any(char.isspace() for char in name) or "+" in name:
        raise NoteError(f"key name {name!r} contains a space or a plus sign")
    _check_note_characters(name, what="key name")


def decode_base64(text: str) -> bytes:
    """Decode standard, padded base64 (RFC 4648 §4) written in its one canonical form.

    Anything else (other alphabets, missing padding, stray characters, non-zero padding bits) raises
    ValueError: one value has one spelling, so signed bytes cannot be re-encoded into a different note.
    """
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except ValueError as exc:  # binascii.Error and UnicodeEncodeError are both ValueErrors.
        raise ValueError(f"not standard base64: {text[:40]!r}") from exc
    if encode_base64(raw) != text:
        raise ValueError(f"not canonical base64: {text[:40]!r}")
    return raw


class NoteVerifier:
    """A trusted Ed25519 key known by its name, as published in a vkey string."""

    __slots__ = ("_public_key", "key_id", "name")

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        self.name = name
        self._public_key = public_key
        self.key_id = key_id(name, public_key.public_bytes_raw())

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse ``<name>+<8 hex key id>+<base64(0x01 || 32-byte public key)>``; the id must match."""
        parts = vkey.split("+", 2)  # The base64 key may itself contain "+".
        if len(parts) != 3:
            raise NoteError("verifier key is not <name>+<key id>+<key>")
        name, id_hex, key_b64 = parts
        check_key_name(name)
        stated_id = _parse_key_id(id_hex)
        key = _decode_typed_key(key_b64, what="verifier key")
        verifier = cls(name, Ed25519PublicKey.from_public_bytes(key))
        if verifier.key_id != stated_id:
            raise NoteError(f"verifier key {name}: key id {id_hex} does not match the key")
        return verifier

    @property
    def vkey(self) -> str:
        """The verifier key string that :meth:`from_vkey` reads."""
        return _vkey(self.name, self.key_id, self._public_key.public_bytes_raw())

    def verify(self, msg: bytes, sig: bytes) -> bool:
        """True if ``sig`` (without the key id) is this key's Ed25519 signature of ``msg`` (RFC 8032)."""
        if len(sig) != ED25519_SIGNATURE_SIZE:
            return False
        try:
            self._public_key.verify(sig, msg)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"NoteVerifier({self.vkey!r})"


class NoteSigner:
    """A named Ed25519 private key that signs notes; its repr never shows the key."""

    __slots__ = ("_private_key", "key_id", "name")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self.name = name
        self._private_key = private_key
        self.key_id = key_id(name, private_key.public_key().public_bytes_raw())

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        """A signer with a fresh random key."""
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        """Parse ``PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 || 32-byte seed)>`` (sumdb/note).

        The key id is checked against the public key derived from the seed, as sumdb/note does.
        """
        if not skey.startswith(_SKEY_PREFIX):
            raise NoteError("private key does not start with PRIVATE+KEY+")
        parts = skey[len(_SKEY_PREFIX) :].split("+", 2)
        if len(parts) != 3:
            raise NoteError("private key is not PRIVATE+KEY+<name>+<key id>+<key>")
        name, id_hex, key_b64 = parts
        check_key_name(name)
        stated_id = _parse_key_id(id_hex)
        seed = _decode_typed_key(key_b64, what="private key")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(seed))
        if signer.key_id != stated_id:
            raise NoteError(f"private key {name}: key id {id_hex} does not match the key")
        return signer

    def to_skey(self) -> str:
        """The private key string that :meth:`from_skey` reads. It is a secret: keep it out of logs."""
        seed = self._private_key.private_bytes_raw()
        encoded = encode_base64(bytes([SIGNATURE_TYPE_ED25519]) + seed)
        return f"{_SKEY_PREFIX}{self.name}+{self.key_id.hex()}+{encoded}"

    @property
    def vkey(self) -> str:
        """The public verifier key string for this signer."""
        return _vkey(self.name, self.key_id, self._private_key.public_key().public_bytes_raw())

    @property
    def verifier(self) -> NoteVerifier:
        """The verifier of this signer's signatures."""
        return NoteVerifier(self.name, self._private_key.public_key())

    def signature(self, text: str) -> NoteSignature:
        """This key's signature of the note text (which is checked first)."""
        _check_text(text)
        return NoteSignature(self.name, self.key_id, self._private_key.sign(text.encode("utf-8")))

    def sign(self, text: str) -> str:
        """The whole signed note: ``text``, a blank line, and this key's signature line."""
        return sign_note(text, [self])

    def __repr__(self) -> str:
        return f"NoteSigner({self.name!r}, key id {self.key_id.hex()})"


def sign_note(text: str, signers: Sequence[NoteSigner]) -> str:
    """Sign ``text`` with every signer (e.g. the old and the new key during a rotation).

    The text must be valid note text: non-empty, ending in a newline, without control characters other
    than newline. Two signers with the same name and key id are refused: their lines would be identical.
    """
    if not signers:
        raise NoteError("a note needs at least one signer")
    if len(signers) > MAX_SIGNATURES:
        raise NoteError(f"{len(signers)} signers, more than the {MAX_SIGNATURES} a note may carry")
    keys = {(signer.name, signer.key_id) for signer in signers}
    if len(keys) != len(signers):
        raise NoteError("the same key is listed twice among the signers")
    lines = [signer.signature(text).line() for signer in signers]
    return text + "\n" + "".join(lines)


def open_note(note: str, verifiers: Sequence[NoteVerifier]) -> OpenedNote:
    """Parse a signed note strictly and verify it against the trusted ``verifiers``.

    Per c2sp.org/signed-note: the text is everything up to the last blank line; each signature from a
    known key (same name and key id) must verify, or the whole note is refused; signatures from unknown
    keys, even ones sharing a name or an id with a known key, are ignored; and at least one known key must
    have signed. Raises :class:`NoteError` otherwise.
    """
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    for verifier in verifiers:
        if (verifier.name, verifier.key_id) in known:
            raise NoteError(
                f"two trusted keys share the name and key id {verifier.name}+{verifier.key_id.hex()}"
            )
        known[(verifier.name, verifier.key_id)] = verifier

    _check_note_characters(note, what="note")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("note does not end with a signature line and a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has {len(lines)} signatures, more than the {MAX_SIGNATURES} accepted")

    verified: dict[tuple[str, bytes], NoteSignature] = {}
    unverified: list[NoteSignature] = []
    message = text.encode("utf-8")
    for number, line in enumerate(lines, start=1):
        signature = _parse_signature_line(line, number)
        trusted = known.get((signature.name, signature.key_id))
        if trusted is None:
            unverified.append(signature)
        elif trusted.verify(message, signature.signature):
            verified.setdefault((signature.name, signature.key_id), signature)
        else:
            raise UntrustedNote(
                f"signature by known key {signature.name}+{signature.key_id.hex()} does not verify"
            )
    if not verified:
        raise UntrustedNote("note has no signature from a trusted key")
    return OpenedNote(text, tuple(verified.values()), tuple(unverified))


def _parse_signature_line(line: str, number: int) -> NoteSignature:
    if not line.startswith(_SIGNATURE_PREFIX):
        raise NoteError(f"signature line {number} does not start with an em dash and a space")
    name, _, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
    if " " in encoded:  # A key name holds no space, and one space separates it from the signature.
        raise NoteError(
            f"signature line {number} has more than the one space between key name and signature "
            "(key names hold no spaces)"
        )
    try:
        check_key_name(name)
        raw = decode_base64(encoded)
    except ValueError as exc:
        raise NoteError(f"signature line {number}: {exc}") from exc
    # A key id and at least one byte of signature, as sumdb/note requires of any signature type.
    if len(raw) <= KEY_ID_SIZE:
        raise NoteError(f"signature line {number} is too short to hold a key id and a signature")
    return NoteSignature(name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:])


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    _check_note_characters(text, what="note text")


def _check_note_characters(value: str, *, what: str) -> None:
    # c2sp.org/signed-note: valid UTF-8, and no ASCII control characters other than newline.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NoteError(f"{what} is not valid UTF-8") from exc
    for position, char in enumerate(value):
        if char < " " and char != "\n":
            raise NoteError(f"{what} has control character {char!r} at position {position}")


def _parse_key_id(id_hex: str) -> bytes:
    if len(id_hex) != 2 * KEY_ID_SIZE or any(char not in "0123456789abcdefABCDEF" for char in id_hex):
        raise NoteError(f"key id {id_hex!r} is not 8 hexadecimal digits")
    return bytes.fromhex(id_hex)


def _decode_typed_key(encoded: str, *, what: str) -> bytes:
    """The 32 key bytes of base64(0x01 || key); other signature types are refused."""
    try:
        raw = decode_base64(encoded)
    except ValueError as exc:
        raise NoteError(f"{what}: {exc}") from exc
    if len(raw) != 1 + ED25519_KEY_SIZE or raw[0] != SIGNATURE_TYPE_ED25519:
        raise NoteError(f"{what} is not an Ed25519 key (type 0x01 and 32 bytes)")
    return raw[1:]


def _vkey(name: str, key_id_bytes: bytes, public_key: bytes) -> str:
    encoded = encode_base64(bytes([SIGNATURE_TYPE_ED25519]) + public_key)
    return f"{name}+{key_id_bytes.hex()}+{encoded}"


def encode_base64(raw: bytes) -> str:
    """Standard, padded base64 (RFC 4648 §4), the encoding of every binary value in a note."""
    return base64.b64encode(raw).decode("ascii")
