"""The edges of ``ledger.merkle``'s range: the largest tree (2^64 − 1 leaves, the uint64 sizes of RFC 9162
and of tlog checkpoints) is a tree to prove and verify, one more leaf is out of range; and every refusal
names the value that is wrong.

The proofs here are checked against roots computed independently: in the largest tree, leaf 0's path
runs along the left edge (each step hashes the running value on the left), and the last leaf's along the
right edge (on the right), so their roots are plain folds of the proof.
"""

from __future__ import annotations

import hashlib

import pytest

from ledger.merkle import (
    MAX_TREE_SIZE,
    ProofError,
    TreeBuilder,
    frontier_node_ids,
    leaf_hash,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)

LARGEST = 2**64 - 1


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def hashes(count: int, tag: str) -> list[bytes]:
    return [hashlib.sha256(f"{tag}-{position}".encode()).digest() for position in range(count)]


def test_the_largest_tree_is_the_uint64_maximum() -> None:
    assert MAX_TREE_SIZE == LARGEST


def test_the_first_leaf_of_the_largest_tree_is_proven_along_the_left_edge() -> None:
    leaf = leaf_hash(b"entry 0")
    proof = hashes(64, "left")  # one sibling per level: 63 perfect subtrees, then the right half
    root = leaf
    for sibling in proof:
        root = node(root, sibling)
    verify_inclusion(leaf, 0, LARGEST, proof, root)
    with pytest.raises(ProofError, match="has 63 hashes, want 64"):
        root_from_inclusion(leaf, 0, LARGEST, proof[:-1])


def test_the_last_leaf_of_the_largest_tree_is_proven_along_the_right_edge() -> None:
    leaf = leaf_hash(b"the last entry")
    proof = hashes(63, "right")  # the left siblings, lowest first; the last leaf has no right sibling
    root = leaf
    for sibling in proof:
        root = node(sibling, root)
    verify_inclusion(leaf, LARGEST - 1, LARGEST, proof, root)
    with pytest.raises(ProofError, match=r"^leaf index 18446744073709551615 is not in a tree of size"):
        root_from_inclusion(leaf, LARGEST, LARGEST, proof)


def test_a_tree_one_leaf_larger_is_out_of_range() -> None:
    leaf = leaf_hash(b"entry 0")
    with pytest.raises(ProofError, match=r"^tree size 18446744073709551616 is out of range$"):
        root_from_inclusion(leaf, 0, LARGEST + 1, hashes(64, "left"))
    with pytest.raises(
        ProofError, match=r"^consistency needs two non-empty trees, got sizes 1 and 18446744073709551616$"
    ):
        verify_consistency(1, LARGEST + 1, [], leaf, leaf)


def test_the_largest_tree_is_consistent_with_itself_and_one_larger_is_refused() -> None:
    root = hashlib.sha256(b"root").digest()
    verify_consistency(LARGEST, LARGEST, [], root, root)
    with pytest.raises(ProofError, match=r"^consistency needs two non-empty trees"):
        verify_consistency(LARGEST + 1, LARGEST + 1, [], root, root)


@pytest.mark.parametrize(("size1", "size2"), [(0, 0), (0, 5), (1, 0), (-1, 3)])
def test_an_empty_or_negative_size_is_refused_before_anything_else(size1: int, size2: int) -> None:
    root = hashlib.sha256(b"root").digest()
    with pytest.raises(ProofError, match=f"^consistency needs two non-empty trees, got sizes {size1} and"):
        verify_consistency(size1, size2, [], root, root)


def test_a_claimed_root_that_is_not_a_hash_is_named() -> None:
    leaves = [leaf_hash(bytes([n])) for n in range(2)]
    good = leaves[0]
    with pytest.raises(ProofError, match=r"^root1 is 31 bytes, not 32$"):
        verify_consistency(1, 2, [leaves[1]], good[:-1], node(*leaves))
    with pytest.raises(ProofError, match=r"^root2 is 33 bytes, not 32$"):
        verify_consistency(1, 2, [leaves[1]], good, node(*leaves) + b"\x00")
    with pytest.raises(ProofError, match=r"^root is 0 bytes, not 32$"):
        verify_inclusion(leaves[0], 0, 2, [leaves[1]], b"")


def test_a_builder_fills_the_largest_tree_and_refuses_one_more_leaf() -> None:
    size = LARGEST - 1
    frontier = frontier_node_ids(size)
    assert len(frontier) == 63  # one perfect subtree per set bit of 2^64 − 2
    builder = TreeBuilder.from_nodes(size, dict(zip(frontier, hashes(63, "frontier"), strict=True)))
    assert builder.append(leaf_hash(b"the last entry")) == []  # an even index completes no subtree
    assert builder.size == LARGEST
    with pytest.raises(ValueError, match=r"^the tree is full$"):
        builder.append(leaf_hash(b"one too many"))
    assert builder.size == LARGEST
