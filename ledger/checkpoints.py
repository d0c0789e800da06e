"""Signing, storing and finding checkpoints: signed C2SP notes over the tree as it stands.

A checkpoint is only ever signed for the tree the database holds (size from the ledger head, root
folded from stored subtree hashes), is stored append-only, and is never smaller than one already
stored. Every key that signs is recorded so that its checkpoints can still be verified after rotation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import merkle
from ledger.checkpoint import Checkpoint as CheckpointBody
from ledger.checkpoint import sign_checkpoint
from ledger.models import Checkpoint, Head, VerifierKey
from ledger.note import NoteSigner, NoteVerifier
from ledger.tree_store import read_nodes


def register_keys(session: Session, signers: Sequence[NoteSigner]) -> None:
    """Record the public half of each signer, once."""
    for signer in signers:
        if session.get(VerifierKey, signer.vkey) is None:
            session.add(
                VerifierKey(
                    vkey=signer.vkey,
                    name=signer.name,
                    key_id=signer.key_id.hex(),
                    created_at=datetime.now(UTC),
                )
            )
    session.flush()


def known_verifiers(session: Session) -> list[NoteVerifier]:
    return [NoteVerifier.from_vkey(vkey) for vkey in session.scalars(select(VerifierKey.vkey))]


def tree_root(session: Session, size: int) -> bytes:
    return merkle.root_from_nodes(size, read_nodes(session, merkle.root_node_ids(size)))


def ledger_size(session: Session) -> int:
    return session.execute(select(Head.size).where(Head.id == 1)).scalar_one()


def latest(session: Session) -> Checkpoint | None:
    return session.scalars(
        select(Checkpoint).order_by(Checkpoint.size.desc(), Checkpoint.id.desc()).limit(1)
    ).first()


def sign_current(
    session: Session, signers: Sequence[NoteSigner], origin: str, *, force: bool = False
) -> Checkpoint:
    """Sign and store a checkpoint for the current tree; reuse the latest one if the tree has not grown.

    ``force`` signs anew even at an unchanged size (a rotation's co-signed hand-over checkpoint).
    """
    assert signers
    # Under the sequencer lock: no append can change the size, and no other signer can store a larger
    # checkpoint, between reading the size and storing this one.
    session.execute(select(Head.id).where(Head.id == 1).with_for_update())
    register_keys(session, signers)
    size = ledger_size(session)
    current = latest(session)
    if current is not None:
        if current.size > size:
            raise RuntimeError(
                f"a checkpoint of size {current.size} exists but the ledger has {size} entries"
            )
        if current.size == size and not force:
            return current
    root = tree_root(session, size)
    note = sign_checkpoint(CheckpointBody(origin=origin, size=size, root=root), signers)
    record = Checkpoint(size=size, root_hash=root, note=note, created_at=datetime.now(UTC))
    session.add(record)
    session.flush()
    return record


def ensure_covering(session: Session, seq: int, signers: Sequence[NoteSigner], origin: str) -> Checkpoint:
    """A checkpoint that covers entry ``seq``: the latest one, or a new one if the latest is too small."""
    current = latest(session)
    if current is not None and current.size > seq:
        return current
    return sign_current(session, signers, origin)
