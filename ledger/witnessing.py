"""The registry's side of witnessing: taking witnesses' cosignatures of its checkpoints, and serving them.

A witness (:mod:`ledger.cosignature`) sends back the checkpoint it was shown with its cosignature line
under it. The registry keeps a cosignature only if the note is one of its own signed checkpoints, word
for word, and the cosignature is valid, by a witness the registry lists (``TANHUI_WITNESS_KEYS``), and
dated neither before the checkpoint was signed nor in the future. It then serves the checkpoint with
every cosignature kept for it, so that readers who require a quorum of witnesses get it with the
checkpoint and with every certificate's proof.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.checkpoint import CheckpointError, open_checkpoint_note
from ledger.cosignature import CLOCK_SKEW_S, Cosignature, CosignatureVerifier, cosignatures
from ledger.errors import CosignatureRefused, NotFound
from ledger.models import Checkpoint, CheckpointCosignature, Witness
from ledger.note import NoteError, NoteVerifier
from ledger.orm import as_utc

MAX_NOTE_CHARS = 16 * 1024
_SUBMISSION_URL = re.compile(r"https?://[^/?#\s]+(/[^?#\s]*)?", re.ASCII)


def accept_cosignatures(
    session: Session,
    note: str,
    log_keys: Sequence[NoteVerifier],
    witnesses: Sequence[CosignatureVerifier],
    now: datetime,
) -> tuple[int, list[Cosignature]]:
    """Keep the listed witnesses' cosignatures on ``note``; returns the checkpoint's size and them."""
    if not witnesses:
        raise CosignatureRefused("this registry lists no witnesses", field="cosignature")
    if len(note) > MAX_NOTE_CHARS:
        limit = f"a cosigned checkpoint is at most {MAX_NOTE_CHARS} characters"
        raise CosignatureRefused(limit, field="note")
    try:
        checkpoint, opened = open_checkpoint_note(note, log_keys)
    except CheckpointError as exc:
        raise CosignatureRefused(f"not a checkpoint signed by this registry: {exc}", field="note") from exc
    # FOR UPDATE serialises cosignatures of one checkpoint (PostgreSQL; SQLite's BEGIN IMMEDIATE already
    # does): two arriving at once (a witness's push and its pull) would otherwise both insert its row.
    stored = session.scalars(
        select(Checkpoint)
        .where(Checkpoint.size == checkpoint.size, Checkpoint.root_hash == checkpoint.root)
        .order_by(Checkpoint.id)
        .limit(1)
        .with_for_update()
    ).first()
    if stored is None or not stored.note.startswith(opened.text + "\n"):
        raise NotFound(f"this registry signed no such checkpoint of size {checkpoint.size}", field="note")
    signed_at = int(as_utc(stored.created_at).timestamp())
    try:
        found = cosignatures(opened, witnesses, not_after=int(now.timestamp()) + CLOCK_SKEW_S)
    except NoteError as exc:
        raise CosignatureRefused(str(exc), field="cosignature") from exc
    if not found:
        raise CosignatureRefused("no cosignature by a witness this registry lists", field="cosignature")
    for cosignature in found:
        if cosignature.timestamp < signed_at - CLOCK_SKEW_S:
            raise CosignatureRefused(
                f"the cosignature by {cosignature.name} is dated before the checkpoint was signed",
                field="cosignature",
            )
    for cosignature in found:
        _keep(session, stored.id, cosignature, now)
    session.flush()
    return checkpoint.size, found


def _keep(session: Session, checkpoint_id: int, cosignature: Cosignature, now: datetime) -> None:
    kept = session.scalars(
        select(CheckpointCosignature).where(
            CheckpointCosignature.checkpoint_id == checkpoint_id,
            CheckpointCosignature.name == cosignature.name,
            CheckpointCosignature.key_id == cosignature.key_id.hex(),
        )
    ).first()
    if kept is None:
        session.add(
            CheckpointCosignature(
                checkpoint_id=checkpoint_id,
                name=cosignature.name,
                key_id=cosignature.key_id.hex(),
                timestamp=cosignature.timestamp,
                line=cosignature.line,
                received_at=now,
            )
        )
    elif cosignature.timestamp > kept.timestamp:
        kept.timestamp, kept.line, kept.received_at = cosignature.timestamp, cosignature.line, now


def kept_cosignatures(session: Session, checkpoint: Checkpoint) -> list[tuple[str, int, str]]:
    """The cosignatures kept for a checkpoint, by witness name: name, timestamp and signature line."""
    rows = session.execute(
        select(CheckpointCosignature.name, CheckpointCosignature.timestamp, CheckpointCosignature.line)
        .where(CheckpointCosignature.checkpoint_id == checkpoint.id)
        .order_by(CheckpointCosignature.name, CheckpointCosignature.key_id)
    )
    return [(name, timestamp, line) for name, timestamp, line in rows]


def cosigned_note(session: Session, checkpoint: Checkpoint) -> str:
    """The checkpoint's signed note with the cosignature lines kept for it (by witness name)."""
    return checkpoint.note + "".join(line for _, _, line in kept_cosignatures(session, checkpoint))


def witnessed_covering(session: Session, seq: int) -> Checkpoint | None:
    """The checkpoint covering entry ``seq`` that the most witnesses cosigned (the newest of those);
    None if no covering checkpoint is cosigned. Certificates prove against it, so that a reader who
    requires witnesses finds them under the certificate's checkpoint."""
    count = func.count(CheckpointCosignature.id)
    row = session.execute(
        select(Checkpoint.id)
        .join(CheckpointCosignature, CheckpointCosignature.checkpoint_id == Checkpoint.id)
        .where(Checkpoint.size > seq)
        .group_by(Checkpoint.id)
        .order_by(count.desc(), Checkpoint.id.desc())
        .limit(1)
    ).first()
    return session.get(Checkpoint, row[0]) if row is not None else None


def listed_witnesses(
    session: Session, configured: Sequence[CosignatureVerifier]
) -> list[CosignatureVerifier]:
    """The witnesses whose cosignatures are kept: those configured, and those listed in the database."""
    witnesses = {witness.vkey: witness for witness in configured}
    for vkey in session.scalars(select(Witness.vkey).where(Witness.removed_at.is_(None))):
        witnesses.setdefault(vkey, CosignatureVerifier.from_vkey(vkey))
    return list(witnesses.values())


def check_witness_url(url: str) -> None:
    """Refuse what cannot be a witness's submission prefix (an http(s) URL without spaces)."""
    if not _SUBMISSION_URL.fullmatch(url):
        raise CosignatureRefused(
            f"a witness's address is an http(s) URL without spaces, not {url!r}", field="url"
        )


def add_witness(session: Session, vkey: str, now: datetime, url: str | None = None) -> CosignatureVerifier:
    """List a witness by its cosigner key (type 0x04); listing it again after removal lists it anew.

    ``url``: the witness's submission prefix (c2sp.org/tlog-witness), to push checkpoints to; listing a
    listed witness again with another address (or none) replaces it.
    """
    witness = CosignatureVerifier.from_vkey(vkey)
    if url is not None:
        check_witness_url(url)
    row = session.get(Witness, witness.vkey)
    if row is None:
        row = Witness(vkey=witness.vkey, name=witness.name, key_id=witness.key_id.hex(), added_at=now)
        session.add(row)
    elif row.removed_at is not None:
        row.added_at, row.removed_at = now, None
    if row.url != url:
        row.url, row.pushed_at, row.pushed_size, row.push_error = url, None, None, None
    session.flush()
    return witness


def remove_witness(session: Session, vkey: str, now: datetime) -> None:
    """Stop keeping a listed witness's new cosignatures; those it made while listed stay served."""
    row = session.get(Witness, CosignatureVerifier.from_vkey(vkey).vkey)
    if row is None or row.removed_at is not None:
        raise NotFound("this registry does not list that witness", field="vkey")
    row.removed_at = now
    session.flush()
