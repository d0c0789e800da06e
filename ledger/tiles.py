"""The ledger's Merkle tree and entries as C2SP tlog-tiles: static, immutable, cacheable resources.

c2sp.org/tlog-tiles serves a transparency log as *tiles* instead of proofs: the tile at level ``L`` and
index ``N`` holds the 256 consecutive Merkle tree hashes ``MTH(D[(N·256 + i)·256^L : (N·256 + i + 1)·256^L])``
for i = 0..255 (level 0: the leaf hashes), a partial tile ``.p/<W>`` the first W of them; an *entry
bundle* holds the entries of one level-0 tile, each prefixed by its length as a big-endian uint16. From
tiles any client computes any inclusion or consistency proof itself, and mirrors and caches can serve
them, as they never change. The paths are those of the spec under ``/api/v1/ledger`` (whose
``/checkpoint`` is the log's checkpoint): ``tile/<L>/<N>[.p/<W>]`` and ``tile/entries/<N>[.p/<W>]``, with
``<N>`` in 3-digit groups, all but the last prefixed by ``x`` (1234067 is ``x001/x234/067``).

Every hash is one the ledger stores (each entry's row keeps the subtree hashes its leaf completed), so
a tile is one indexed read of at most 256 rows. A tile is served only for the tree the latest signed
checkpoint covers. An entry may be up to 256 KiB (:mod:`ledger.limits`), more than a bundle's uint16
length prefix holds: a bundle with such an entry is refused, naming the paged entries endpoint that
serves every entry whatever its size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.errors import NotFound
from ledger.models import Entry
from ledger.tree_store import read_nodes

TILE_HEIGHT = 8
TILE_WIDTH = 256  # 2 ** TILE_HEIGHT
MAX_LEVEL = 63
MAX_BUNDLE_ENTRY_BYTES = 65_535  # a uint16 length
_GROUP = re.compile(r"[0-9]{3}")


@dataclass(frozen=True)
class TileRef:
    """A tile (or, with ``level`` None, an entry bundle): index ``index``, ``width`` hashes (256: full)."""

    level: int | None
    index: int
    width: int = TILE_WIDTH

    @property
    def path(self) -> str:
        """The tile's path under the log's prefix, e.g. ``tile/0/x001/234.p/17``."""
        level = "entries" if self.level is None else str(self.level)
        partial = f".p/{self.width}" if self.width < TILE_WIDTH else ""
        return f"tile/{level}/{encode_index(self.index)}{partial}"

    def covered_by(self, size: int) -> bool:
        """Whether a tree of ``size`` leaves holds every hash (or entry) of this tile."""
        per_hash = 1 << (TILE_HEIGHT * (self.level or 0))  # 256 ** level
        return (self.index * TILE_WIDTH + self.width) * per_hash <= size


def encode_index(index: int) -> str:
    """``index`` in zero-padded 3-digit groups, all but the last prefixed by ``x``."""
    if index < 0:
        raise ValueError("a tile index is not negative")
    groups = []
    while True:
        index, group = divmod(index, 1000)
        groups.append(f"{group:03d}")
        if index == 0:
            break
    return "/".join([f"x{group}" for group in reversed(groups[1:])] + [groups[0]])


def parse_tile_path(path: str) -> TileRef:
    """The tile a path names (after ``tile/``), e.g. ``0/x001/234.p/17`` or ``entries/005``.

    Only the one spelling the spec gives each tile is accepted; anything else raises ValueError.
    """
    level_text, _, rest = path.partition("/")
    if level_text == "entries":
        level: int | None = None
    elif re.fullmatch(r"0|[1-9][0-9]?", level_text) and int(level_text) <= MAX_LEVEL:
        level = int(level_text)
    else:
        raise ValueError(f"tile level {level_text!r} is not entries or a number from 0 to {MAX_LEVEL}")
    width = TILE_WIDTH
    if ".p/" in rest:
        rest, _, width_text = rest.partition(".p/")
        if not re.fullmatch(r"[1-9][0-9]{0,2}", width_text) or int(width_text) >= TILE_WIDTH:
            raise ValueError(f"partial tile width {width_text!r} is not a number from 1 to 255")
        width = int(width_text)
    elements = rest.split("/")
    *leading, last = elements
    if not _GROUP.fullmatch(last) or not all(
        element.startswith("x") and _GROUP.fullmatch(element[1:]) for element in leading
    ):
        raise ValueError(f"tile index {rest!r} is not in 3-digit groups with x before all but the last")
    index = int("".join(element.removeprefix("x") for element in elements))
    if encode_index(index) != rest:  # leading zero groups: another spelling of a smaller index
        raise ValueError(f"tile index {rest!r} is not written as {encode_index(index)!r}")
    return TileRef(level, index, width)


def tiles_for_size(size: int) -> list[TileRef]:
    """Every hash tile a tree of ``size`` leaves has: the full ones, then each level's partial one."""
    tiles: list[TileRef] = []
    level, count = 0, size
    while count:
        full, partial = divmod(count, TILE_WIDTH)
        tiles.extend(TileRef(level, index) for index in range(full))
        if partial:
            tiles.append(TileRef(level, full, partial))
        level, count = level + 1, full
    return tiles


def hash_tile(session: Session, tile: TileRef, size: int) -> bytes:
    """The concatenated hashes of a hash tile, for a log whose latest checkpoint covers ``size``."""
    assert tile.level is not None
    _check_covered(tile, size)
    first = tile.index * TILE_WIDTH
    ids = [(tile.level * TILE_HEIGHT, first + offset) for offset in range(tile.width)]
    nodes = read_nodes(session, ids)
    return b"".join(nodes[node_id] for node_id in ids)


def entry_bundle(session: Session, tile: TileRef, size: int) -> bytes:
    """The entries of one level-0 tile, each as a big-endian uint16 length and the body's bytes."""
    assert tile.level is None
    _check_covered(tile, size)
    first = tile.index * TILE_WIDTH
    rows = session.execute(
        select(Entry.seq, Entry.body)
        .where(Entry.seq >= first, Entry.seq < first + tile.width)
        .order_by(Entry.seq)
    ).all()
    parts = []
    for seq, body in rows:
        data = body.encode("utf-8")
        if len(data) > MAX_BUNDLE_ENTRY_BYTES:
            raise NotFound(
                f"entry {seq} is {len(data)} bytes, more than the {MAX_BUNDLE_ENTRY_BYTES} an entry bundle "
                f"holds: read it from /api/v1/ledger/entries?start={first}&limit={tile.width}",
                field="tile",
            )
        parts.append(len(data).to_bytes(2, "big") + data)
    if len(parts) != tile.width:
        raise NotFound(f"the entries of {tile.path} are not all stored", field="tile")
    return b"".join(parts)


def _check_covered(tile: TileRef, size: int) -> None:
    if not tile.covered_by(size):
        raise NotFound(f"{tile.path} is beyond the latest signed checkpoint (tree size {size})", field="tile")
