"""Auditing the ledger from outside: replay the published log under the rules, as anyone can.

Signatures and proofs (``tanhui certificate verify``, ``tanhui ledger follow``) show that the log was not
rewritten; they do not show that what it records was allowed. This module fetches every entry the
registry publishes up to its latest signed checkpoint, a page at a time
(``GET /api/v1/ledger/entries?start&limit``, each entry as DESIGN.md's ``/entries/<seq>`` gives it), and
checks what ``tanhui ledger verify`` checks against the database:

* each body is the canonical form of a well-formed entry with its own ``seq``, naming its predecessor's
  leaf hash as ``prev``, at a time no earlier than its predecessor's, and the leaf hash published with
  it is SHA-256(0x00 ‖ body);
* every entry obeys the rules of :mod:`ledger.rules`, replayed in memory: a batch is issued once and
  tiled by its allocations, only held kilograms move, nothing retired or cancelled moves again, and
  every serial number states its batch and range; so per batch, held + retired + cancelled = issued;
* the Merkle root of the leaves is the checkpoint's, and a trusted key signed the checkpoint.

Accounts are not published: an account is taken to exist from the first entry that names it (its form
is still checked). Everything else the rules check is checked. Memory grows with the live holdings,
not with the log; one request per page of up to 1,000 entries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ledger import limits
from ledger.checkpoint import Checkpoint
from ledger.entries import GENESIS_PREV, ParsedBody, parse_body
from ledger.errors import LedgerError
from ledger.log_follow import Fetch, RegistryError, fetch_checkpoint
from ledger.merkle import TreeBuilder, leaf_hash
from ledger.note import NoteVerifier
from ledger.rules import ClosedRow, MemoryState, apply
from ledger.verify_common import VerificationFailure

PAGE_PATH = "/api/v1/ledger/entries?start={start}&limit={limit}"
PAGE_ENTRIES = limits.MAX_PAGE_ENTRIES
MAX_PAGE_RESPONSE_BYTES = 16 * 1024 * 1024
"""A page's bodies take at most ``limits.MAX_PAGE_BODY_BYTES`` (4 MiB); escaped as JSON strings they at
most double, and each entry adds its seq and leaf hash."""


@dataclass(frozen=True)
class AuditReport:
    checkpoint: Checkpoint
    batches: int
    issued_kg: int
    retired_kg: int
    cancelled_kg: int
    held_kg: int
    """Kilograms held in accounts at the checkpoint: issued − retired − cancelled, checked."""


def audit(
    fetch: Fetch,
    verifiers: Sequence[NoteVerifier],
    origin: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> AuditReport:
    """Replay the registry's published log up to its latest checkpoint (see the module's checks).

    Raises :class:`~ledger.verify_common.VerificationFailure` naming the first bad seq and what is wrong,
    :class:`~ledger.checkpoint.CheckpointError` if no trusted key signed the checkpoint, and
    :class:`~ledger.log_follow.RegistryError` if the registry cannot be read or answers out of contract.
    """
    checkpoint, _ = fetch_checkpoint(fetch, verifiers, origin)
    return replay_published(fetch, checkpoint, progress)


def replay_published(
    fetch: Fetch, checkpoint: Checkpoint, progress: Callable[[int], None] | None = None
) -> AuditReport:
    """:func:`audit` against a checkpoint already fetched and opened with a trusted key."""
    closes: list[ClosedRow] = []
    state = MemoryState(set(), closes)
    tree = TreeBuilder()
    prev, last_time = GENESIS_PREV, ""
    issued = retired = cancelled = 0
    for seq, body, leaf in _published_entries(fetch, checkpoint.size):
        parsed = _parsed(seq, body, prev, last_time)
        last_time = parsed.time
        state.accounts.update(_accounts_named(parsed.kind, parsed.data))
        try:
            apply(state, seq, parsed.kind, parsed.data)
        except LedgerError as exc:
            raise VerificationFailure(seq, "replay", str(exc)) from exc
        if parsed.kind == "issue":
            issued += state.batches[parsed.data["batch"]["id"]]
        for _seq, _batch, start, end, _account, status in closes:
            if status == "retired":
                retired += end - start + 1
            else:
                cancelled += end - start + 1
        closes.clear()
        tree.append(leaf)
        prev = leaf.hex()
        if progress is not None:
            progress(1)
    if tree.root() != checkpoint.root:
        raise VerificationFailure(None, "root", "the published entries do not make the checkpoint's root")
    held = sum(end - start + 1 for spans in state.holdings.values() for start, end in spans)
    if held != issued - retired - cancelled:
        raise VerificationFailure(None, "holdings", f"{held} kg held, not issued − retired − cancelled")
    return AuditReport(checkpoint, len(state.batches), issued, retired, cancelled, held)


def _parsed(seq: int, body: bytes, prev: str, last_time: str) -> ParsedBody:
    """Entry ``seq``'s body read strictly: its own seq, chained to ``prev``, not before ``last_time``."""
    try:
        parsed = parse_body(body, expected_prev=prev)
    except ValueError as exc:
        raise VerificationFailure(seq, "body", str(exc)) from exc
    if parsed.seq != seq:
        raise VerificationFailure(seq, "body", f"the body states seq {parsed.seq}")
    if parsed.prev != prev:
        raise VerificationFailure(seq, "chain link", "prev is not the leaf hash of the entry before")
    if parsed.time < last_time:  # fixed-width RFC 3339 UTC: text order is time order
        raise VerificationFailure(seq, "time", f"{parsed.time} is earlier than the entry before")
    return parsed


def _published_entries(fetch: Fetch, size: int) -> Iterator[tuple[int, bytes, bytes]]:
    """Entries 0 to ``size`` − 1 as published, a page at a time: seq, body and leaf hash, each checked
    against the leaf hash published with it."""
    seq = 0
    while seq < size:
        limit = min(PAGE_ENTRIES, size - seq)
        path = PAGE_PATH.format(start=seq, limit=limit)
        try:
            answer = json.loads(fetch(path, max_bytes=MAX_PAGE_RESPONSE_BYTES))
        except ValueError as exc:
            raise RegistryError(f"the page of entries from {seq} is not JSON") from exc
        if not isinstance(answer, dict):
            answer = {}
        entries = answer.get("entries")
        if answer.get("start") != seq or not isinstance(entries, list) or not 1 <= len(entries) <= limit:
            raise RegistryError(f"the registry did not answer with a page of entries from {seq}")
        for published in entries:
            yield seq, *_entry_body(published, seq)
            seq += 1


def _entry_body(published: object, seq: int) -> tuple[bytes, bytes]:
    """The body of entry ``seq`` as published and its leaf hash, checked against the one published."""
    text = published.get("body") if isinstance(published, dict) else None
    if not isinstance(published, dict) or published.get("seq") != seq or not isinstance(text, str):
        raise RegistryError(f"the registry did not answer with entry {seq}")
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate, escaped in the JSON
        raise VerificationFailure(seq, "body", "the body is not UTF-8 text") from exc
    leaf = leaf_hash(body)
    if published.get("leaf_hash") != leaf.hex():
        raise VerificationFailure(seq, "leaf hash", "the published leaf hash is not SHA-256(0x00 ‖ body)")
    return body, leaf


def _accounts_named(kind: str, data: dict[str, Any]) -> Iterable[str]:
    """The account ids an entry names, as texts (the rules check their form)."""
    named: list[object] = [data.get(key) for key in ("from", "to", "account")]
    allocations = data.get("allocations") if kind == "issue" else None
    if isinstance(allocations, list):
        named += [item.get("account") for item in allocations if isinstance(item, dict)]
    return [account for account in named if isinstance(account, str)]
