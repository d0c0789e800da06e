"""Reading aligned Merkle subtree hashes from the entry rows that store them, in one query."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BigInteger, ColumnElement, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from ledger.entries import node_location, stored_node
from ledger.models import Entry
from ledger.orm import core_table

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
            _seq_among(session, table.c.seq, list(wanted))
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


def _seq_among(session: Session, column: ColumnElement[int], seqs: list[int]) -> ColumnElement[bool]:
    """``column`` is one of ``seqs``.

    On PostgreSQL as ``= ANY(array)``: one statement text whatever the number of seqs, so the driver
    prepares it once and every later proof reuses the plan (an ``IN`` list of a new length is a new
    statement, parsed and planned again). SQLite keeps ``IN``, whose texts its statement cache holds.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("seqs", seqs, type_=ARRAY(BigInteger())))
    return column.in_(seqs)
