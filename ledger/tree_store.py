"""Reading aligned Merkle subtree hashes from the entry rows that store them, in one query.

The query names its rows with one parameter (:func:`ledger.driver_sql.key_in`): one statement text for
every append and proof, compiled once, and on PostgreSQL prepared once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from ledger.driver_sql import DriverStatement, key_in
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
    nodes: dict[NodeId, bytes] = {}
    for seq, leaf_hash, subtree_hashes in node_rows(session, list(wanted)):
        for level, index in wanted[seq]:
            nodes[(level, index)] = stored_node(bytes(leaf_hash), bytes(subtree_hashes), level)
    missing = [node for seqs in wanted.values() for node in seqs if node not in nodes]
    if missing:
        raise LookupError(f"tree nodes not stored: {missing[:5]}")
    return nodes


def node_rows(session: Session, seqs: list[int]) -> list[tuple[Any, ...]]:
    """``(seq, leaf_hash, subtree_hashes)`` of the entries ``seqs``: the one read behind every proof."""
    return _NODE_ROWS.rows(session, keys={"seqs": seqs})


def _node_rows_statement(dialect: Dialect) -> Any:
    table = core_table(Entry)
    return select(table.c.seq, table.c.leaf_hash, table.c.subtree_hashes).where(
        key_in(dialect, table.c.seq, "seqs")
    )


_NODE_ROWS = DriverStatement(_node_rows_statement)
