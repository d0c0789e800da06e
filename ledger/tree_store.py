"""Reading aligned Merkle subtree hashes from the entry rows that store them, in one query.

On PostgreSQL the query names its rows with ``= ANY(array)`` (:func:`ledger.orm.one_of`): one statement
text for every proof, prepared once.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.entries import node_location, stored_node
from ledger.models import Entry
from ledger.orm import core_table, one_of

NodeId = tuple[int, int]


def read_nodes(session: Session, node_ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
    """The hashes of the given ``(level, index)`` subtrees; every one must be complete and stored."""
    wanted: dict[int, list[NodeId]] = {}
    for level, index in node_ids:
        seq, _ = node_location(level, index)
        wanted.setdefault(seq, []).append((level, index))
    if not wanted:
        return {}
    table = core_table(Entry)
    rows = session.connection().execute(
        select(table.c.seq, table.c.leaf_hash, table.c.subtree_hashes).where(
            one_of(session, table.c.seq, list(wanted))
        )
    )
    nodes: dict[NodeId, bytes] = {}
    for seq, leaf_hash, subtree_hashes in rows:
        for level, index in wanted[seq]:
            nodes[(level, index)] = stored_node(bytes(leaf_hash), bytes(subtree_hashes), level)
    missing = [node for seqs in wanted.values() for node in seqs if node not in nodes]
    if missing:
        raise LookupError(f"tree nodes not stored: {missing[:5]}")
    return nodes
