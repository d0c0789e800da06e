"""``ledger.merkle`` against an independent, naive RFC 6962 implementation written here, on all small trees.

The naive side follows RFC 6962 §2.1 (MTH), §2.1.1 (PATH) and §2.1.2 (SUBPROOF) literally over the list of
leaf hashes. The module side builds trees with ``TreeBuilder``, stores only what it reports (the leaves and
the aligned subtrees each append completes), and assembles proofs from exactly the node ids it asks for.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import (
    EMPTY_ROOT,
    NodeId,
    ProofError,
    ProofRequestError,
    TreeBuilder,
    completed_node_ids,
    consistency_node_ids,
    consistency_proof,
    frontier_node_ids,
    inclusion_node_ids,
    inclusion_proof,
    leaf_hash,
    root_from_inclusion,
    root_from_nodes,
    root_node_ids,
    root_of,
    verify_consistency,
    verify_inclusion,
)

MAX_SIZE = 64
LARGE_SIZE = 1_500


# --- The naive reference, straight from RFC 6962 §2.1 -----------------------------------------------------


def naive_mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + naive_mth(leaves[:k]) + naive_mth(leaves[k:])).digest()


def naive_path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*naive_path(m, leaves[:k]), naive_mth(leaves[k:])]
    return [*naive_path(m - k, leaves[k:]), naive_mth(leaves[:k])]


def naive_subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [naive_mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*naive_subproof(m, leaves[:k], complete), naive_mth(leaves[k:])]
    return [*naive_subproof(m - k, leaves[k:], False), naive_mth(leaves[:k])]


def naive_consistency(m: int, leaves: list[bytes]) -> list[bytes]:
    return naive_subproof(m, leaves, True)


# --- The module side: a tree built by TreeBuilder, stored as the nodes it reports -------------------------


class StoredTree:
    """Leaves appended one by one, every reported node kept, and the root after each append."""

    def __init__(self, size: int) -> None:
        self.leaves = [leaf_hash(f"entry {seq}".encode()) for seq in range(size)]
        self.nodes: dict[NodeId, bytes] = {}
        self.roots = [EMPTY_ROOT]
        builder = TreeBuilder()
        for seq, leaf in enumerate(self.leaves):
            self.nodes[(0, seq)] = leaf
            completed = builder.append(leaf)
            self.nodes.update(zip(completed_node_ids(seq), completed, strict=True))
            self.roots.append(builder.root())
        assert builder.size == size

    def only(self, node_ids: set[NodeId] | list[NodeId]) -> dict[NodeId, bytes]:
        """Exactly the nodes asked for, so that a proof cannot quietly use others."""
        return {node_id: self.nodes[node_id] for node_id in node_ids}


SMALL = StoredTree(MAX_SIZE)
LARGE = StoredTree(LARGE_SIZE)


def single_changes(proof: list[bytes]) -> Iterator[tuple[str, list[bytes]]]:
    """Every proof that differs from ``proof`` by one flipped bit, one removal, one addition or one swap."""
    extra = hashlib.sha256(b"not part of any tree").digest()
    for position, element in enumerate(proof):
        flipped = bytes([element[0] ^ 0x01]) + element[1:]
        yield f"bit flipped in element {position}", [*proof[:position], flipped, *proof[position + 1 :]]
        yield f"element {position} removed", [*proof[:position], *proof[position + 1 :]]
    yield "element appended", [*proof, extra]
    yield "element prepended", [extra, *proof]
    for position in range(len(proof) - 1):
        swapped = list(proof)
        swapped[position], swapped[position + 1] = swapped[position + 1], swapped[position]
        yield f"elements {position} and {position + 1} swapped", swapped


def _within_tree(node_ids: set[NodeId], size: int) -> bool:
    return all((index + 1) << level <= size for level, index in node_ids)


# --- Roots and the builder --------------------------------------------------------------------------------


def test_the_empty_tree_has_the_hash_of_the_empty_string_as_root() -> None:
    assert TreeBuilder().root() == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert root_of([]) == EMPTY_ROOT
    assert root_from_nodes(0, {}) == EMPTY_ROOT


def test_a_leaf_hash_and_a_node_hash_are_domain_separated_per_rfc_9162() -> None:
    assert leaf_hash(b"") == bytes.fromhex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_the_builder_refuses_a_leaf_that_is_not_a_32_byte_hash(length: int) -> None:
    builder = TreeBuilder()
    builder.append(leaf_hash(b"first"))
    with pytest.raises(ValueError, match="32 bytes"):
        builder.append(b"\x01" * length)
    assert builder.size == 1
    assert builder.root() == leaf_hash(b"first")


@pytest.mark.parametrize("size", range(MAX_SIZE + 1))
def test_builder_root_equals_the_recursive_root_for_every_size(size: int) -> None:
    leaves = SMALL.leaves[:size]
    assert SMALL.roots[size] == root_of(leaves) == naive_mth(leaves)
    assert root_from_nodes(size, SMALL.only(root_node_ids(size))) == naive_mth(leaves)


def test_every_subtree_the_builder_reports_is_the_hash_of_its_aligned_leaf_range() -> None:
    for (level, index), value in SMALL.nodes.items():
        assert value == naive_mth(SMALL.leaves[index << level : (index + 1) << level]), (level, index)
    # One node per complete aligned subtree: 64 leaves, 32 pairs, ..., 1 root of all 64.
    assert len(SMALL.nodes) == 2 * MAX_SIZE - 1


def test_append_reports_the_subtrees_completed_by_the_trailing_one_bits_of_the_index() -> None:
    assert completed_node_ids(0) == []
    assert completed_node_ids(1) == [(1, 0)]
    assert completed_node_ids(2) == []
    assert completed_node_ids(7) == [(1, 3), (2, 1), (3, 0)]
    assert completed_node_ids(11) == [(1, 5), (2, 2)]


def test_the_frontier_is_the_binary_decomposition_of_the_size() -> None:
    assert frontier_node_ids(0) == []
    assert frontier_node_ids(1) == [(0, 0)]
    assert frontier_node_ids(6) == [(2, 0), (1, 2)]
    assert frontier_node_ids(13) == [(3, 0), (2, 2), (0, 12)]
    assert root_node_ids(13) == frontier_node_ids(13)


@pytest.mark.parametrize("size", range(MAX_SIZE + 1))
def test_a_builder_resumed_from_stored_nodes_continues_exactly_like_the_original(size: int) -> None:
    builder = TreeBuilder.from_nodes(size, SMALL.only(frontier_node_ids(size)))
    assert builder.size == size
    assert builder.root() == SMALL.roots[size]
    for seq in range(size, MAX_SIZE):
        completed = builder.append(SMALL.leaves[seq])
        assert completed == [SMALL.nodes[node_id] for node_id in completed_node_ids(seq)]
        assert builder.root() == SMALL.roots[seq + 1]


def test_resuming_without_a_frontier_node_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        TreeBuilder.from_nodes(6, {(2, 0): SMALL.nodes[(2, 0)]})


def test_root_does_not_change_the_builder() -> None:
    builder = TreeBuilder.from_nodes(5, SMALL.nodes)
    assert builder.root() == builder.root() == SMALL.roots[5]
    assert builder.size == 5


# --- Inclusion proofs -------------------------------------------------------------------------------------

INCLUSION_CASES = [(index, size) for size in range(1, MAX_SIZE + 1) for index in range(size)]
CONSISTENCY_CASES = [(size1, size2) for size2 in range(1, MAX_SIZE + 1) for size1 in range(1, size2 + 1)]


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_inclusion_proofs_from_stored_nodes_equal_rfc_path_and_verify(size: int) -> None:
    leaves = SMALL.leaves[:size]
    for index in range(size):
        node_ids = inclusion_node_ids(index, size)
        assert _within_tree(node_ids, size)
        proof = inclusion_proof(index, size, SMALL.only(node_ids))
        assert proof == naive_path(index, leaves), (index, size)
        verify_inclusion(leaves[index], index, size, proof, SMALL.roots[size])
        assert root_from_inclusion(leaves[index], index, size, proof) == SMALL.roots[size]


def test_the_rfc_6962_example_audit_paths_of_a_seven_leaf_tree() -> None:
    # RFC 6962 §2.1.3: the audit path for d0 is [b, h, l], for d3 [c, g, l], for d4 [f, j, k], for d6 [i, k].
    _, b, c, d, _, f, d6 = (SMALL.nodes[(0, i)] for i in range(7))
    g, h, i, j = SMALL.nodes[(1, 0)], SMALL.nodes[(1, 1)], SMALL.nodes[(1, 2)], d6
    k = SMALL.nodes[(2, 0)]
    ell = hashlib.sha256(b"\x01" + i + j).digest()
    nodes = SMALL.nodes
    assert inclusion_proof(0, 7, nodes) == [b, h, ell]
    assert inclusion_proof(3, 7, nodes) == [c, g, ell]
    assert inclusion_proof(4, 7, nodes) == [f, j, k]
    assert inclusion_proof(6, 7, nodes) == [i, k]
    # And its consistency proofs: PROOF(3, D[7]) = [c, d, g, l], PROOF(4, D[7]) = [l],
    # PROOF(6, D[7]) = [i, j, k].
    assert consistency_proof(3, 7, nodes) == [c, d, g, ell]
    assert consistency_proof(4, 7, nodes) == [ell]
    assert consistency_proof(6, 7, nodes) == [i, j, k]


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_every_single_change_to_an_inclusion_proof_is_refused(size: int) -> None:
    for index in range(size):
        proof = inclusion_proof(index, size, SMALL.nodes)
        for change, changed in single_changes(proof):
            try:
                verify_inclusion(SMALL.leaves[index], index, size, changed, SMALL.roots[size])
            except ProofError:
                continue
            pytest.fail(f"inclusion of {index} in {size}: a proof with {change} was accepted")


@pytest.mark.parametrize("size", range(2, MAX_SIZE + 1))
def test_an_inclusion_proof_does_not_prove_another_leaf_index_or_root(size: int) -> None:
    for index in range(size):
        proof = inclusion_proof(index, size, SMALL.nodes)
        other = (index + 1) % size
        with pytest.raises(ProofError):
            verify_inclusion(SMALL.leaves[other], index, size, proof, SMALL.roots[size])
        with pytest.raises(ProofError):
            verify_inclusion(SMALL.leaves[index], other, size, proof, SMALL.roots[size])
        with pytest.raises(ProofError):
            verify_inclusion(SMALL.leaves[index], index, size, proof, SMALL.roots[size - 1])


def test_inclusion_verification_refuses_an_index_outside_the_tree_and_bad_hash_lengths() -> None:
    proof = inclusion_proof(2, 4, SMALL.nodes)
    with pytest.raises(ProofError, match="not in a tree"):
        verify_inclusion(SMALL.leaves[4], 4, 4, proof, SMALL.roots[4])
    with pytest.raises(ProofError, match="not in a tree"):
        verify_inclusion(SMALL.leaves[0], 0, 0, [], EMPTY_ROOT)
    with pytest.raises(ProofError, match="leaf hash is 31 bytes"):
        verify_inclusion(SMALL.leaves[2][:31], 2, 4, proof, SMALL.roots[4])
    with pytest.raises(ProofError, match="element 1 is 33 bytes"):
        verify_inclusion(SMALL.leaves[2], 2, 4, [proof[0], proof[1] + b"\x00"], SMALL.roots[4])
    with pytest.raises(ProofError, match="root is 31 bytes"):
        verify_inclusion(SMALL.leaves[2], 2, 4, proof, SMALL.roots[4][:31])
    with pytest.raises(ProofError, match="has 3 hashes, want 2"):
        verify_inclusion(SMALL.leaves[2], 2, 4, [*proof, proof[0]], SMALL.roots[4])


def test_an_inclusion_proof_is_refused_for_a_leaf_outside_the_tree() -> None:
    with pytest.raises(ProofRequestError):
        inclusion_node_ids(5, 5)
    with pytest.raises(ProofRequestError):
        inclusion_proof(0, 0, SMALL.nodes)
    with pytest.raises(ProofRequestError):
        inclusion_node_ids(-1, 5)


def test_a_missing_stored_node_is_a_key_error_not_a_made_up_proof() -> None:
    node_ids = inclusion_node_ids(0, 7)
    some = SMALL.only(node_ids)
    some.pop(next(iter(node_ids)))
    with pytest.raises(KeyError):
        inclusion_proof(0, 7, some)


# --- Consistency proofs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size2", range(1, MAX_SIZE + 1))
def test_consistency_proofs_from_stored_nodes_equal_rfc_subproof_and_verify(size2: int) -> None:
    leaves = SMALL.leaves[:size2]
    for size1 in range(1, size2 + 1):
        node_ids = consistency_node_ids(size1, size2)
        assert _within_tree(node_ids, size2)
        proof = consistency_proof(size1, size2, SMALL.only(node_ids))
        assert proof == naive_consistency(size1, leaves), (size1, size2)
        verify_consistency(size1, size2, proof, SMALL.roots[size1], SMALL.roots[size2])


@pytest.mark.parametrize("size2", range(1, MAX_SIZE + 1))
def test_every_single_change_to_a_consistency_proof_is_refused(size2: int) -> None:
    for size1 in range(1, size2 + 1):
        proof = consistency_proof(size1, size2, SMALL.nodes)
        for change, changed in single_changes(proof):
            try:
                verify_consistency(size1, size2, changed, SMALL.roots[size1], SMALL.roots[size2])
            except ProofError:
                continue
            pytest.fail(f"consistency of {size1} with {size2}: a proof with {change} was accepted")


@pytest.mark.parametrize("size2", range(2, MAX_SIZE + 1))
def test_a_consistency_proof_does_not_hold_for_other_roots(size2: int) -> None:
    for size1 in range(1, size2):
        proof = consistency_proof(size1, size2, SMALL.nodes)
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, proof, SMALL.roots[size1 - 1] or EMPTY_ROOT, SMALL.roots[size2])
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, proof, SMALL.roots[size1], SMALL.roots[size2 - 1])
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, proof, SMALL.roots[size2], SMALL.roots[size1])


def test_consistency_verification_refuses_empty_trees_shrinking_trees_and_bad_lengths() -> None:
    with pytest.raises(ProofError, match="non-empty"):
        verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(ProofError, match="non-empty"):
        verify_consistency(0, 3, [], EMPTY_ROOT, SMALL.roots[3])
    with pytest.raises(ProofError, match="only grows"):
        verify_consistency(4, 3, [], SMALL.roots[4], SMALL.roots[3])
    with pytest.raises(ProofError, match="different roots"):
        verify_consistency(3, 3, [], SMALL.roots[3], SMALL.roots[4])
    with pytest.raises(ProofError, match="must be empty"):
        verify_consistency(3, 3, [SMALL.roots[3]], SMALL.roots[3], SMALL.roots[3])
    with pytest.raises(ProofError, match="is empty"):
        verify_consistency(3, 7, [], SMALL.roots[3], SMALL.roots[7])
    proof = consistency_proof(3, 7, SMALL.nodes)
    with pytest.raises(ProofError, match="element 2 is 16 bytes"):
        verify_consistency(3, 7, [*proof[:2], proof[2][:16], *proof[3:]], SMALL.roots[3], SMALL.roots[7])
    with pytest.raises(ProofError, match="root1 is 33 bytes"):
        verify_consistency(4, 7, [SMALL.nodes[(0, 0)]], SMALL.roots[4] + b"\x00", SMALL.roots[7])


def test_a_consistency_proof_is_refused_from_an_empty_or_larger_tree() -> None:
    with pytest.raises(ProofRequestError):
        consistency_node_ids(0, 5)
    with pytest.raises(ProofRequestError):
        consistency_proof(6, 5, SMALL.nodes)
    assert consistency_node_ids(5, 5) == set()
    assert consistency_proof(5, 5, SMALL.nodes) == []


# --- Larger trees and the cost of a proof -----------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_proofs_from_stored_nodes_verify_in_larger_trees(data: st.DataObject) -> None:
    size2 = data.draw(st.integers(1, LARGE_SIZE), label="size2")
    size1 = data.draw(st.integers(1, size2), label="size1")
    index = data.draw(st.integers(0, size1 - 1), label="index")
    inclusion = inclusion_proof(index, size1, LARGE.only(inclusion_node_ids(index, size1)))
    verify_inclusion(LARGE.leaves[index], index, size1, inclusion, LARGE.roots[size1])
    consistency = consistency_proof(size1, size2, LARGE.only(consistency_node_ids(size1, size2)))
    verify_consistency(size1, size2, consistency, LARGE.roots[size1], LARGE.roots[size2])


def _node_id_sizes() -> list[int]:
    rng = random.Random(9162)
    edges = [s for power in range(1, 41) for s in (2**power - 1, 2**power, 2**power + 1)]
    return sorted({*range(1, 300), *edges, *(rng.randrange(1, 2**20) for _ in range(300))})


def test_proofs_need_only_a_logarithmic_number_of_stored_nodes() -> None:
    rng = random.Random(6962)
    for size in _node_id_sizes():
        bound = 2 * math.log2(size) + 2
        assert len(root_node_ids(size)) <= math.log2(size) + 1
        indices = {0, size - 1, size // 2, *(rng.randrange(size) for _ in range(8))}
        for index in indices:
            assert len(inclusion_node_ids(index, size)) <= bound, (index, size)
        for size1 in {1, size, max(1, size - 1), max(1, size // 2), rng.randrange(1, size + 1)}:
            assert len(consistency_node_ids(size1, size)) <= bound, (size1, size)
