"""Offline verification of a retirement certificate: what a downloaded certificate proves, with one key.

Pure Python: no database, no Flask. Anyone holding the ledger's verifier key (``GET /api/v1/ledger/key``)
can check a certificate without trusting the server. Three inputs are accepted:

1. A certificate JSON object whose ``"proof"`` member is DESIGN.md's
   ``{"seq": N, "body": "<exact entry body>", "checkpoint": "<signed note>", "inclusion": [HEX, ...]}``.
2. A certificate JSON object that carries, instead of ``"proof"``, a ``"tlog_proof"`` string: the same
   proof as a C2SP ``tlog-proof@v1`` file whose ``extra`` line is the entry body (see 3).
3. A bare ``.tlog-proof`` file (text or bytes starting with ``c2sp.org/tlog-proof@v1``) whose ``extra``
   line is base64 of the entry body's exact UTF-8 bytes. The spec leaves the extra data to the
   application and forbids trusting it implicitly; here it is not trusted, it is *checked*: its leaf hash
   SHA-256(0x00 ‖ body) is what the inclusion proof must lead from. :func:`tlog_proof_with_body` writes
   such a file.

A certificate object may also state what it certifies; each statement present must match the entry
body's data exactly (statements absent are not checked; other fields, such as price or counties, are not
on the ledger and are ignored):

* ``seq``: the entry's sequence number;
* ``account``: the retiring account;
* ``quantity_kg``: an integer number of kilograms;
* ``ranges``: a list of ``{"batch", "start", "end", "serial"}`` objects or serial-number strings, and/or
  ``serials``: a list of serial-number strings; either must name exactly the entry's ranges, in any order;
* ``reason`` and ``details``: the retirement's reason code and text;
* ``beneficiary``: a name string, or ``{"name": ..., "salt": ...}`` (``salt`` for a private retirement,
  whose body holds only the commitment SHA-256(canonical ``{"name", "salt"}``)), optionally with
  ``"public": true|false``.

The checks, in order: the checkpoint's signature by one of the trusted keys (and its origin, if given);
the body is the RFC 8785 canonical form of a well-formed entry, and its ``seq`` is the proof's; the
inclusion proof of SHA-256(0x00 ‖ body) at ``seq`` leads to the checkpoint's root for its size; the entry
is a ``retire``; and the certificate's statements hold. Every failure raises :class:`CertificateInvalid`
saying what does not hold.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ledger.checkpoint import CheckpointError, open_checkpoint_note
from ledger.cosignature import CLOCK_SKEW_S, CosignatureError, CosignatureVerifier, cosignatures
from ledger.entries import parse_body
from ledger.merkle import ProofError, leaf_hash, verify_inclusion
from ledger.note import NoteError, NoteVerifier, OpenedNote
from ledger.rules import beneficiary_commitment
from ledger.tlog_proof import HEADER as TLOG_PROOF_HEADER
from ledger.tlog_proof import MAX_PROOF_HASHES, TlogProofError, format_tlog_proof, parse_tlog_proof

_HEX_HASH = re.compile(r"[0-9a-f]{64}")
_SERIAL = re.compile(r"SC-(?P<batch>.+-\d{4}-\d{3})-(?P<start>[1-9]\d*)-(?P<end>[1-9]\d*)", re.ASCII)
_PROOF_KEYS = frozenset({"seq", "body", "checkpoint", "inclusion"})


class CertificateInvalid(ValueError):
    """The certificate does not prove what it says: the message names the first thing that fails."""


@dataclass(frozen=True)
class ProvenRange:
    """Kilograms ``start..end`` of ``batch`` retired by the entry, with their serial number."""

    batch: str
    start: int
    end: int
    serial: str

    @property
    def quantity_kg(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class VerifiedRetirement:
    """What a verified certificate proves: a retire entry, included in a checkpoint signed by a trusted key.

    ``beneficiary_name`` is the public name, or the private name that the certificate's salt proved;
    None when the retirement is private and the certificate does not reveal (and prove) the name.
    """

    seq: int
    time: str
    checkpoint_origin: str
    checkpoint_size: int
    checkpoint_root: str
    leaf_hash: str
    account: str
    quantity_kg: int
    ranges: tuple[ProvenRange, ...]
    reason: str
    details: str
    beneficiary_public: bool
    beneficiary_name: str | None
    beneficiary_commitment: str | None
    witnessed_by: tuple[str, ...] = ()
    """The witnesses (of those given) whose cosignatures of the checkpoint verified."""

    @property
    def serials(self) -> tuple[str, ...]:
        return tuple(item.serial for item in self.ranges)


@dataclass(frozen=True)
class _Proof:
    seq: int
    body: bytes
    checkpoint: str
    inclusion: tuple[bytes, ...]


def tlog_proof_with_body(seq: int, body: str, checkpoint: str, inclusion: Sequence[bytes]) -> str:
    """A ``.tlog-proof`` file of entry ``seq`` whose extra line carries the entry ``body`` (format 3)."""
    return format_tlog_proof(seq, inclusion, checkpoint, extra=body.encode("utf-8"))


def verify_certificate(
    document: Mapping[str, Any] | str | bytes,
    verifiers: Sequence[NoteVerifier],
    origin: str | None = None,
    witnesses: Sequence[CosignatureVerifier] = (),
    quorum: int = 0,
) -> VerifiedRetirement:
    """Verify a certificate (or a tlog-proof carrying its entry body) offline; see the module docstring.

    With ``quorum``, the checkpoint must also carry valid cosignatures (c2sp.org/tlog-cosignature) by at
    least that many of the ``witnesses``: then no history could have been shown to this reader that
    those witnesses were not shown too.
    """
    if not verifiers:
        raise CertificateInvalid("no verifier key was given")
    if quorum > len(witnesses):
        given = f"{quorum} witness cosignatures required, but {len(witnesses)} witnesses given"
        raise CertificateInvalid(given)
    certificate = _load(document)
    proof = _extract_proof(certificate)

    try:
        checkpoint, opened = open_checkpoint_note(proof.checkpoint, verifiers, origin)
        witnessed = _witnessed_by(opened, witnesses, quorum)
    except (CheckpointError, NoteError) as exc:
        raise CertificateInvalid(f"checkpoint: {exc}") from exc
    if proof.seq >= checkpoint.size:
        raise CertificateInvalid(
            f"proof is for entry {proof.seq} but the checkpoint covers only {checkpoint.size} entries"
        )

    try:
        body = parse_body(proof.body)
    except ValueError as exc:
        raise CertificateInvalid(f"entry body is not a canonical ledger entry: {exc}") from exc
    if body.seq != proof.seq:
        raise CertificateInvalid(f"proof is for entry {proof.seq} but the body is entry {body.seq}")

    leaf = leaf_hash(proof.body)
    try:
        verify_inclusion(leaf, proof.seq, checkpoint.size, proof.inclusion, checkpoint.root)
    except ProofError as exc:
        raise CertificateInvalid(
            f"inclusion proof of entry {proof.seq} (leaf hash {leaf.hex()}) in the checkpoint of size "
            f"{checkpoint.size} does not verify: {exc}"
        ) from exc

    if body.kind != "retire":
        raise CertificateInvalid(f"entry {body.seq} is a {body.kind!r} entry, not a retirement")
    data = body.data
    try:
        ranges = tuple(
            ProvenRange(item["batch"], item["start"], item["end"], item["serial"]) for item in data["ranges"]
        )
        proven = VerifiedRetirement(
            seq=body.seq,
            time=body.time,
            checkpoint_origin=checkpoint.origin,
            checkpoint_size=checkpoint.size,
            checkpoint_root=checkpoint.root.hex(),
            leaf_hash=leaf.hex(),
            account=data["account"],
            quantity_kg=data["quantity_kg"],
            ranges=ranges,
            reason=data["reason"],
            details=data["details"],
            beneficiary_public=data["beneficiary"]["public"],
            beneficiary_name=data["beneficiary"]["name"] if data["beneficiary"]["public"] else None,
            beneficiary_commitment=None
            if data["beneficiary"]["public"]
            else data["beneficiary"]["commitment"],
            witnessed_by=witnessed,
        )
    except (KeyError, TypeError) as exc:
        # A signed, included entry the ledger's rules would have refused: report, do not crash.
        raise CertificateInvalid(f"entry {body.seq} is not a well-formed retirement: missing {exc}") from exc
    if isinstance(certificate, Mapping):
        proven = _check_statements(certificate, proven)
    return proven


# --- reading the input --------------------------------------------------------------------------------


def _load(document: Mapping[str, Any] | str | bytes) -> Mapping[str, Any] | str:
    """The certificate object, or the text of a bare tlog-proof."""
    if isinstance(document, Mapping):
        return document
    if isinstance(document, bytes):
        try:
            text = document.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CertificateInvalid(f"file is not UTF-8: {exc}") from exc
    elif isinstance(document, str):
        text = document
    else:
        raise CertificateInvalid(f"cannot read a certificate from {type(document).__name__}")
    text = text.removeprefix("\ufeff")
    if text.startswith(TLOG_PROOF_HEADER + "\n"):
        return text
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise CertificateInvalid(f"file is neither a JSON certificate nor a tlog-proof: {exc}") from exc
    if not isinstance(value, dict):
        raise CertificateInvalid("certificate JSON is not an object")
    return value


def _extract_proof(certificate: Mapping[str, Any] | str) -> _Proof:
    if isinstance(certificate, str):
        return _from_tlog_proof(certificate)
    if "proof" in certificate:
        if "tlog_proof" in certificate:
            raise CertificateInvalid("certificate carries both 'proof' and 'tlog_proof'; give one")
        return _from_json_proof(certificate["proof"])
    if "tlog_proof" in certificate:
        text = certificate["tlog_proof"]
        if not isinstance(text, str):
            raise CertificateInvalid("certificate 'tlog_proof' is not a string")
        return _from_tlog_proof(text)
    raise CertificateInvalid("certificate has no 'proof'")


def _from_json_proof(proof: object) -> _Proof:
    if not isinstance(proof, dict):
        raise CertificateInvalid("certificate 'proof' is not an object")
    if set(proof) != _PROOF_KEYS:
        raise CertificateInvalid(f"proof fields are {sorted(proof)}, expected {sorted(_PROOF_KEYS)}")
    seq, body, checkpoint, inclusion = proof["seq"], proof["body"], proof["checkpoint"], proof["inclusion"]
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise CertificateInvalid(f"proof seq {seq!r} is not a non-negative integer")
    if not isinstance(body, str):
        raise CertificateInvalid("proof body is not a string")
    if not isinstance(checkpoint, str):
        raise CertificateInvalid("proof checkpoint is not a string")
    if not isinstance(inclusion, list) or len(inclusion) > MAX_PROOF_HASHES:
        raise CertificateInvalid(f"proof inclusion is not a list of at most {MAX_PROOF_HASHES} hashes")
    hashes = []
    for position, item in enumerate(inclusion):
        if not isinstance(item, str) or not _HEX_HASH.fullmatch(item):
            raise CertificateInvalid(
                f"inclusion proof element {position} is not 64 lowercase hexadecimal digits"
            )
        hashes.append(bytes.fromhex(item))
    try:
        raw = body.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CertificateInvalid(f"proof body is not valid Unicode: {exc}") from exc
    return _Proof(seq, raw, checkpoint, tuple(hashes))


def _from_tlog_proof(text: str) -> _Proof:
    try:
        parsed = parse_tlog_proof(text)
    except TlogProofError as exc:
        raise CertificateInvalid(f"tlog-proof: {exc}") from exc
    if parsed.extra is None:
        raise CertificateInvalid("tlog-proof has no extra line carrying the entry body")
    return _Proof(parsed.index, parsed.extra, parsed.checkpoint_note, parsed.inclusion)


# --- the certificate's statements ---------------------------------------------------------------------


def _check_statements(certificate: Mapping[str, Any], proven: VerifiedRetirement) -> VerifiedRetirement:
    seq = proven.seq
    for field, actual in (
        ("seq", proven.seq),
        ("account", proven.account),
        ("quantity_kg", proven.quantity_kg),
        ("reason", proven.reason),
        ("details", proven.details),
    ):
        if field in certificate:
            stated = certificate[field]
            if type(stated) is not type(actual) or stated != actual:
                raise CertificateInvalid(
                    f"certificate states {field} {stated!r} but entry {seq} has {actual!r}"
                )
    actual_ranges = sorted((r.batch, r.start, r.end, r.serial) for r in proven.ranges)
    if "ranges" in certificate:
        stated_ranges = sorted(_stated_range(item) for item in _list_of(certificate, "ranges"))
        if stated_ranges != actual_ranges:
            raise CertificateInvalid(
                f"certificate states ranges {', '.join(r[3] for r in stated_ranges) or 'none'} but entry "
                f"{seq} retired {', '.join(proven.serials)}"
            )
    if "serials" in certificate:
        stated_serials = sorted(_list_of(certificate, "serials"), key=str)
        if stated_serials != sorted(proven.serials):
            raise CertificateInvalid(
                f"certificate states serials {', '.join(map(str, stated_serials)) or 'none'} but entry "
                f"{seq} retired {', '.join(proven.serials)}"
            )
    if "beneficiary" in certificate:
        proven = _check_beneficiary(certificate["beneficiary"], proven)
    return proven


def _list_of(certificate: Mapping[str, Any], field: str) -> list[Any]:
    value = certificate[field]
    if not isinstance(value, list):
        raise CertificateInvalid(f"certificate {field} is not a list")
    return value


def _stated_range(item: object) -> tuple[str, int, int, str]:
    if isinstance(item, str):
        match = _SERIAL.fullmatch(item)
        if match is None:
            raise CertificateInvalid(f"certificate range {item!r} is not a serial number")
        return match["batch"], int(match["start"]), int(match["end"]), item
    if not isinstance(item, dict) or set(item) != {"batch", "start", "end", "serial"}:
        raise CertificateInvalid(
            f"certificate range {item!r} is neither a serial number nor {{batch, start, end, serial}}"
        )
    batch, start, end, serial = item["batch"], item["start"], item["end"], item["serial"]
    if not (
        isinstance(batch, str)
        and isinstance(serial, str)
        and type(start) is int
        and type(end) is int
        and serial == f"SC-{batch}-{start}-{end}"
    ):
        raise CertificateInvalid(f"certificate range {item!r} does not state its batch, start and end")
    return batch, start, end, serial


def _check_beneficiary(stated: object, proven: VerifiedRetirement) -> VerifiedRetirement:
    seq = proven.seq
    if isinstance(stated, str):
        stated = {"name": stated}
    if not isinstance(stated, dict) or not set(stated) <= {"name", "salt", "public"} or "name" not in stated:
        raise CertificateInvalid("certificate beneficiary is neither a name nor {name, salt, public}")
    name, salt, public = stated["name"], stated.get("salt"), stated.get("public")
    if not isinstance(name, str) or (salt is not None and not isinstance(salt, str)):
        raise CertificateInvalid("certificate beneficiary name and salt must be strings")
    if public is not None and public is not proven.beneficiary_public:
        raise CertificateInvalid(
            f"certificate states a {'public' if public else 'private'} beneficiary but entry {seq}'s is "
            f"{'public' if proven.beneficiary_public else 'private'}"
        )
    if proven.beneficiary_public:
        if salt is not None:
            raise CertificateInvalid(
                f"certificate gives a salt but entry {seq}'s beneficiary is public, not a commitment"
            )
        if name != proven.beneficiary_name:
            raise CertificateInvalid(
                f"certificate states beneficiary {name!r} but entry {seq} names {proven.beneficiary_name!r}"
            )
        return proven
    if salt is None:
        raise CertificateInvalid(
            f"certificate states beneficiary {name!r} without the salt that proves entry {seq}'s commitment"
        )
    if beneficiary_commitment(name, salt) != proven.beneficiary_commitment:
        raise CertificateInvalid(
            f"beneficiary name {name!r} and the given salt do not reproduce entry {seq}'s commitment "
            f"{proven.beneficiary_commitment}"
        )
    return replace(proven, beneficiary_name=name)


def _witnessed_by(
    opened: OpenedNote, witnesses: Sequence[CosignatureVerifier], quorum: int
) -> tuple[str, ...]:
    """The witnesses whose valid cosignatures the checkpoint carries; refused below ``quorum``."""
    if not witnesses:
        return ()
    not_after = int(datetime.now(UTC).timestamp()) + CLOCK_SKEW_S
    found = cosignatures(opened, witnesses, not_after)
    names = tuple(sorted(item.name for item in found))
    if len(names) < quorum:
        raise CosignatureError(
            f"it carries valid cosignatures by {len(names)} of the given witnesses, fewer than the "
            f"{quorum} required"
        )
    return names
