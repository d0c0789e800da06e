"""Following the ledger's log from outside: does the registry's latest checkpoint extend the one kept?

DESIGN.md: triggers stop bugs, not a database superuser; signed checkpoints, published and kept by
outsiders, are what catch a rewritten history. An outsider (an auditor, a buyer, a witness) keeps the
last checkpoint they verified. Each time they look again, the registry's latest checkpoint must

1. be signed by a key they trust and name the same log (origin);
2. be at least as large as the kept one: a log only grows;
3. at the same size, have the same root; at a larger size, come with an RFC 9162 consistency proof
   (``GET /api/v1/ledger/proofs/consistency``) showing that its tree extends the kept one.

If all holds, the latest checkpoint becomes the one kept. If not, the registry has shown two histories
that cannot both be true, signed by its own key: that pair of checkpoints is the evidence to keep.

Pure Python, no Flask and no database: the registry is read over HTTP with ``urllib``.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ledger.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from ledger.http_client import open_url
from ledger.merkle import ProofError, verify_consistency
from ledger.note import NoteVerifier

MAX_RESPONSE_BYTES = 64 * 1024
"""A checkpoint or a consistency proof (at most 2 × 64 hashes) is far smaller; a larger reply is refused
(a reader of longer answers, such as pages of entries, names its own limit)."""
TIMEOUT_S = 30.0
CHECKPOINT_PATH = "/api/v1/ledger/checkpoint"
CONSISTENCY_PATH = "/api/v1/ledger/proofs/consistency?from={first}&to={second}"
_HEX_HASH = re.compile(r"[0-9a-f]{64}")


class Fetch(Protocol):
    """Reads a path of the registry (``/api/v1/...``) and returns the response body, or raises
    :class:`RegistryError`, also when the body is longer than ``max_bytes``."""

    def __call__(self, path: str, max_bytes: int = MAX_RESPONSE_BYTES) -> bytes: ...


class RegistryError(ValueError):
    """The registry could not be read, or answered with something that is not what the contract says."""


class LogNotExtended(ValueError):
    """The registry's latest checkpoint does not extend the kept one: the message says how."""


@dataclass(frozen=True)
class FollowResult:
    latest: Checkpoint
    latest_note: str
    """The latest signed checkpoint as the registry served it: what to keep from now on."""
    kept: Checkpoint | None
    """The checkpoint kept before; None if there was none (the latest is then trusted on first use)."""


def follow(
    kept_note: str | None, fetch: Fetch, verifiers: Sequence[NoteVerifier], origin: str | None = None
) -> FollowResult:
    """Check that the registry's latest checkpoint extends ``kept_note`` (see the module's steps).

    Raises :class:`~ledger.checkpoint.CheckpointError` if a checkpoint is not signed by a trusted key
    or names another log, :class:`LogNotExtended` if the latest does not extend the kept one, and
    :class:`RegistryError` if the registry cannot be read or answers out of contract.
    """
    kept = _open(kept_note, verifiers, origin, "the kept checkpoint") if kept_note is not None else None
    latest, latest_note = fetch_checkpoint(fetch, verifiers, origin if kept is None else kept.origin)
    if kept is not None:
        proof: list[bytes] = []
        if 0 < kept.size < latest.size:
            proof = fetch_consistency(fetch, kept.size, latest.size)
        check_extends(kept, latest, proof)
    return FollowResult(latest=latest, latest_note=latest_note, kept=kept)


def fetch_checkpoint(
    fetch: Fetch, verifiers: Sequence[NoteVerifier], origin: str | None = None
) -> tuple[Checkpoint, str]:
    """The registry's latest checkpoint, opened with a trusted key (and for ``origin``), and its note."""
    note = text_of(fetch(CHECKPOINT_PATH), "checkpoint")
    return _open(note, verifiers, origin, "the registry's checkpoint"), note


def check_extends(kept: Checkpoint, latest: Checkpoint, proof: Sequence[bytes]) -> None:
    """Raise :class:`LogNotExtended` unless ``latest`` is ``kept``'s tree or a tree that extends it."""
    if latest.origin != kept.origin:
        raise LogNotExtended(f"the latest checkpoint is for log {latest.origin!r}, not {kept.origin!r}")
    if latest.size < kept.size:
        raise LogNotExtended(
            f"the registry's latest checkpoint has {latest.size} entries, fewer than the {kept.size} "
            "of the one kept: its log was rolled back or forked"
        )
    if latest.size == kept.size:
        if latest.root != kept.root:
            raise LogNotExtended(
                f"the registry's latest checkpoint has the kept size {kept.size} but another root: "
                "its history was rewritten"
            )
        return
    if kept.size == 0:  # the empty tree is a prefix of every tree
        return
    try:
        verify_consistency(kept.size, latest.size, proof, kept.root, latest.root)
    except ProofError as exc:
        raise LogNotExtended(
            f"the registry's tree of {latest.size} entries does not extend the kept tree of {kept.size} "
            f"entries: its history was rewritten ({exc})"
        ) from exc


def http_fetch(base_url: str, timeout_s: float = TIMEOUT_S) -> Fetch:
    """A :data:`Fetch` over HTTP(S) for the registry at ``base_url`` (e.g. ``https://registry.example``)."""
    if not re.match(r"https?://[^/?#]+", base_url):
        raise RegistryError(f"the registry's address must be an http:// or https:// URL, not {base_url!r}")
    base = base_url.rstrip("/")

    def fetch(path: str, max_bytes: int = MAX_RESPONSE_BYTES) -> bytes:
        url = base + path
        try:
            with open_url(url, timeout_s) as response:
                body: bytes = response.read(max_bytes + 1)
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the response and its connection
            refused_redirect = f": {exc.msg}" if 300 <= exc.code < 400 else ""
            raise RegistryError(f"{url} answered HTTP {exc.code}{refused_redirect}") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise RegistryError(f"cannot read {url}: {reason}") from exc
        if len(body) > max_bytes:
            raise RegistryError(f"{url} answered more than {max_bytes} bytes")
        return body

    return fetch


def _open(note: str, verifiers: Sequence[NoteVerifier], origin: str | None, which: str) -> Checkpoint:
    try:
        return open_checkpoint(note, verifiers, origin)
    except CheckpointError as exc:
        raise CheckpointError(f"{which}: {exc}") from exc


def text_of(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RegistryError(f"the {what} is not UTF-8 text") from exc


def fetch_consistency(fetch: Fetch, first: int, second: int) -> list[bytes]:
    """The registry's consistency proof from tree size ``first`` to ``second`` (0 < first < second),
    checked to be the proof that was asked for (its hashes are checked by whoever verifies it)."""
    body = fetch(CONSISTENCY_PATH.format(first=first, second=second))
    try:
        answer = json.loads(body)
    except ValueError as exc:
        raise RegistryError("the consistency proof is not JSON") from exc
    if not isinstance(answer, dict) or (answer.get("from"), answer.get("to")) != (first, second):
        raise RegistryError(
            f"the registry did not answer with the consistency proof from {first} to {second}"
        )
    hashes = answer.get("hashes")
    if not isinstance(hashes, list) or not all(isinstance(h, str) and _HEX_HASH.fullmatch(h) for h in hashes):
        raise RegistryError("the consistency proof's hashes are not a list of 64 lowercase hex digits each")
    return [bytes.fromhex(value) for value in hashes]
