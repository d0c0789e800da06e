"""Reading aligned Merkle subtree hashes from the entry rows that store them, in one query."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.entries import node_location, stored_node
from ledger.models import Entry

NodeId = tuple[int, int]


def read_nodes(session: Session, node_ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
    """The hashes of the given ``(level, index)`` subtrees; every one must be complete and stored."""
    wanted: dict[int, list[NodeId]] = {}
    for level, index in node_ids:
        seq, _ = node_location(level, index)
        wanted.setdefault(seq, []).append((level, index))
    if not wanted:
        return {}
    rows = session.execute(
        select(Entry.seq, Entry.leaf_hash, Entry.subtree_hashes).where(Entry.seq.in_(list(wanted)))
    ).all()
    nodes: dict[NodeId, bytes] = {}
    for seq, leaf_hash, subtree_hashes in rows:
        for level, index in wanted[seq]:
            nodes[(level, index)] = stored_node(bytes(leaf_hash), bytes(subtree_hashes), level)
    missing = [node for seqs in wanted.values() for node in seqs if node not in nodes]
    if missing:
        raise LookupError(f"tree nodes not stored: {missing[:5]}")
    return nodes
