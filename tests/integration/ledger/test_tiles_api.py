"""The ledger served as C2SP tlog-tiles, read over HTTP by a client written here from the spec alone.

The client imports nothing from the project: it names the tiles of the checkpoint's tree, fetches them,
hashes with ``hashlib``, and checks that the leaf hashes fold to the signed root (RFC 6962 §2.1), that
each level-1 hash is the tree hash of the level-0 tile below it, that each entry of each bundle hashes
to its leaf, and that an inclusion proof built from tiles alone matches the registry's own. The registry
holds 600 entries: two full level-0 tiles, a partial one, and a partial level-1 tile.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import urllib.error
import urllib.request

import pytest
from registry_support import Registry, registries_in

from ledger.commands import Selection, Transfer
from ledger.ranges import SerialRange

LEDGER = "/api/v1/ledger"
SIZE = 600


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 Merkle tree hash over leaf hashes: split at the largest power of two below n."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def index_path(index: int) -> str:
    groups = []
    while True:
        index, group = divmod(index, 1000)
        groups.append(f"{group:03d}")
        if not index:
            break
    return "/".join([f"x{g}" for g in reversed(groups[1:])] + [groups[0]])


def get(
    registry: Registry, path: str, gzip_ok: bool = False, accept: str | None = None
) -> tuple[int, bytes, dict[str, str]]:
    headers = {"Accept-Encoding": accept or ("gzip" if gzip_ok else "identity")}
    request = urllib.request.Request(registry.url + LEDGER + path, headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read(), dict(exc.headers)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    with registries_in(tmp_path_factory.mktemp("tiles")) as make:
        registry: Registry = make("tiled")
        registry.service.append(
            [Transfer(f"t-{n}", "OWN-A", "ENT-A", Selection(quantity_kg=1)) for n in range(SIZE - 1)]
        )
        registry.service.sign_checkpoint()
        yield registry


def tree_size_and_root(registry: Registry) -> tuple[int, bytes]:
    _, note, _ = get(registry, "/checkpoint")
    _origin, size, root = note.decode().split("\n")[:3]
    return int(size), base64.b64decode(root)


def hashes(data: bytes) -> list[bytes]:
    assert len(data) % 32 == 0
    return [data[i : i + 32] for i in range(0, len(data), 32)]


def test_the_tiles_fold_to_the_signed_root(registry):
    size, root = tree_size_and_root(registry)
    assert size == SIZE
    leaves: list[bytes] = []
    for index in range(size // 256):
        status, data, headers = get(registry, f"/tile/0/{index_path(index)}")
        assert (status, len(data)) == (200, 8192)
        assert headers["Content-Type"] == "application/octet-stream"
        assert "immutable" in headers["Cache-Control"]
        leaves += hashes(data)
    status, data, _ = get(registry, f"/tile/0/{index_path(size // 256)}.p/{size % 256}")
    assert (status, len(data)) == (200, 32 * (size % 256))
    leaves += hashes(data)
    assert mth(leaves) == root

    status, level_one, _ = get(registry, "/tile/1/000.p/2")
    assert status == 200
    assert hashes(level_one) == [mth(leaves[0:256]), mth(leaves[256:512])]


def test_every_entry_of_every_bundle_hashes_to_its_leaf(registry):
    size, _ = tree_size_and_root(registry)
    bundles = [(f"/tile/entries/{index_path(i)}", f"/tile/0/{index_path(i)}") for i in range(size // 256)]
    width = size % 256
    last = index_path(size // 256)
    bundles.append((f"/tile/entries/{last}.p/{width}", f"/tile/0/{last}.p/{width}"))
    seq = 0
    for bundle_path, tile_path in bundles:
        status, bundle, headers = get(registry, bundle_path, gzip_ok=True)
        assert (status, headers.get("Content-Encoding")) == (200, "gzip")
        bundle = gzip.decompress(bundle)
        _, tile, _ = get(registry, tile_path)
        position, leaves = 0, hashes(tile)
        for leaf in leaves:
            length = int.from_bytes(bundle[position : position + 2], "big")
            body = bundle[position + 2 : position + 2 + length]
            assert sha256(b"\x00" + body) == leaf
            assert json.loads(body)["seq"] == seq
            position, seq = position + 2 + length, seq + 1
        assert position == len(bundle)
    assert seq == size
    _, plain, headers = get(registry, "/tile/entries/000")
    assert "Content-Encoding" not in headers
    assert plain == gzip.decompress(get(registry, "/tile/entries/000", gzip_ok=True)[1])
    _, refused, headers = get(registry, "/tile/entries/000", accept="gzip;q=0, identity")  # RFC 9110 12.5.3
    assert "Content-Encoding" not in headers
    assert refused == plain


def test_an_inclusion_proof_from_tiles_is_the_registrys_own(registry):
    """Leaf 300's RFC 9162 audit path in the tree of 600, from the level-0 tiles only."""
    size, _ = tree_size_and_root(registry)
    leaves = hashes(get(registry, "/tile/0/000")[1] + get(registry, "/tile/0/001")[1])
    leaves += hashes(get(registry, f"/tile/0/002.p/{size - 512}")[1])

    def path(m: int, tree: list[bytes]) -> list[bytes]:  # RFC 6962 §2.1.1 PATH(m, D[n])
        if len(tree) == 1:
            return []
        k = 1
        while k * 2 < len(tree):
            k *= 2
        if m < k:
            return [*path(m, tree[:k]), mth(tree[k:])]
        return [*path(m - k, tree[k:]), mth(tree[:k])]

    _, answer, _ = get(registry, f"/proofs/inclusion?seq=300&size={size}")
    assert [h.hex() for h in path(300, leaves)] == json.loads(answer)["hashes"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/tile/0/003", 404),  # beyond the checkpoint
        ("/tile/0/002", 404),  # the full tile of a partial one
        ("/tile/0/002.p/89", 404),  # one hash too many
        ("/tile/1/000", 404),
        ("/tile/2/000.p/1", 404),
        ("/tile/entries/002", 404),
        ("/tile/0/2", 404),  # other spellings
        ("/tile/0/x000/002", 404),
        ("/tile/0/000.p/256", 404),
        ("/tile/64/000", 404),
        ("/tile/sideways/000", 404),
    ],
)
def test_a_tile_the_checkpoint_does_not_cover_or_misspelled_is_a_404_problem(registry, path, status):
    code, body, headers = get(registry, path)
    assert code == status
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["field"] == "tile"


def test_an_entry_of_exactly_65535_bytes_is_served_in_its_bundle(registries):
    """The largest body a uint16 length can state is served; only a longer one is refused (below)."""
    registry: Registry = registries("boundary")

    def fragments(request_id: str, first_kg: int, memo: str) -> bytes:
        singles = tuple(SerialRange("LS01-2024-001", kg, kg) for kg in range(first_kg, first_kg + 1480, 2))
        transfer = Transfer(request_id, "OWN-A", "ENT-A", Selection(ranges=singles), memo=memo)
        [entry] = registry.service.append([transfer])
        return entry.body.encode("utf-8")

    # 740 single kilograms with four-digit serials each: about 65,300 bytes. The second entry differs
    # from the first only in its serials' last digits and in its memo, padded to reach the limit exactly.
    first = fragments("fragments-a", 1001, "x")
    assert 0 < 65_535 - len(first) < 1_000
    largest = fragments("fragments-b", 1002, "x" * (1 + 65_535 - len(first)))
    assert len(largest) == 65_535
    registry.service.sign_checkpoint()
    code, bundle, _ = get(registry, "/tile/entries/000.p/3")
    assert code == 200
    bodies, at = [], 0
    while at < len(bundle):
        length = int.from_bytes(bundle[at : at + 2], "big")
        bodies.append(bundle[at + 2 : at + 2 + length])
        at += 2 + length
    assert bodies[1:] == [first, largest]


def test_an_entry_too_large_for_a_bundle_is_refused_naming_the_pages(registries):
    registry: Registry = registries("large")
    singles = tuple(SerialRange("LS01-2024-001", kg, kg) for kg in range(1, 2001, 2))
    registry.service.append([Transfer("fragments", "OWN-A", "ENT-A", Selection(ranges=singles))])
    registry.service.sign_checkpoint()
    code, body, _ = get(registry, "/tile/entries/000.p/2")
    assert code == 404
    detail = json.loads(body)["detail"]
    assert "entry 1 is" in detail
    assert "/api/v1/ledger/entries?start=0&limit=2" in detail
    assert get(registry, "/tile/0/000.p/2")[0] == 200  # its hashes are served as ever
