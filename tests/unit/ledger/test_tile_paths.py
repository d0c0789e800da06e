"""Tile paths and the tiles of a tree, as c2sp.org/tlog-tiles gives them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.tiles import TileRef, encode_index, parse_tile_path, tiles_for_size


def test_the_specs_index_example_and_small_indexes():
    assert encode_index(1234067) == "x001/x234/067"  # the spec's example
    assert [encode_index(n) for n in (0, 7, 999, 1000, 1001, 999_999, 10**6)] == [
        "000", "007", "999", "x001/000", "x001/001", "x999/999", "x001/x000/000",
    ]  # fmt: skip


def test_the_specs_tree_of_70000_entries():
    """273 full level-0 tiles, a partial level-0 tile of width 112, one full level-1 tile, a partial
    level-1 tile of width 17, and a partial level-2 tile of width 1 (the spec's example)."""
    tiles = tiles_for_size(70_000)
    assert [tile for tile in tiles if tile.level == 0 and tile.width == 256] == [
        TileRef(0, index) for index in range(273)
    ]
    assert [tile for tile in tiles if tile.width < 256 or tile.level != 0] == [
        TileRef(0, 273, 112),
        TileRef(1, 0),
        TileRef(1, 1, 17),
        TileRef(2, 0, 1),
    ]
    assert tiles_for_size(256) == [TileRef(0, 0), TileRef(1, 0, 1)]  # also the spec's
    assert tiles_for_size(0) == []


@given(st.integers(0, 2**53), st.sampled_from([None, 0, 1, 5, 63]), st.integers(1, 256))
def test_every_path_parses_back_to_its_tile(index, level, width):
    tile = TileRef(level, index, width)
    assert parse_tile_path(tile.path.removeprefix("tile/")) == tile


@pytest.mark.parametrize(
    "path",
    [
        "0/1",  # not three digits
        "0/0001",
        "0/x001",  # the last group has no x
        "0/001/002",  # a leading group without x
        "0/x000/001",  # a leading zero group: 1 is written 001
        "0/001.p/0",
        "0/001.p/256",
        "0/001.p/017",
        "0/001.p/",
        "64/000",  # levels go to 63
        "00/000",
        "-1/000",
        "entry/000",
        "0/",
        "0/x1a2/000",
    ],
)
def test_any_other_spelling_is_refused(path):
    with pytest.raises(ValueError):  # noqa: PT011  (each message names the part at fault)
        parse_tile_path(path)


def test_a_tile_is_covered_only_by_a_tree_holding_all_its_hashes():
    assert TileRef(0, 0).covered_by(256)
    assert not TileRef(0, 0).covered_by(255)
    assert TileRef(0, 0, 255).covered_by(255)
    assert TileRef(1, 0, 1).covered_by(256)
    assert not TileRef(1, 0, 2).covered_by(511)
    assert TileRef(None, 1, 3).covered_by(259)
    assert not TileRef(None, 1, 3).covered_by(258)
