"""``ledger.tlog_proof``: c2sp.org/tlog-proof@v1 files, written, read strictly and verified offline."""

from __future__ import annotations

import base64

import pytest

from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.merkle import MAX_TREE_SIZE, NodeId, TreeBuilder, completed_node_ids, inclusion_proof, leaf_hash
from ledger.note import NoteSigner
from ledger.tlog_proof import (
    HEADER,
    MAX_PROOF_HASHES,
    TlogProof,
    TlogProofError,
    format_tlog_proof,
    parse_tlog_proof,
    verify_tlog_proof,
)

ORIGIN = "tanhui.example/ledger"
LOG_KEY = NoteSigner.generate(ORIGIN)
WITNESS_KEY = NoteSigner.generate("witness.example/w1")
SIZE = 11


def _build(size: int) -> tuple[list[bytes], dict[NodeId, bytes], bytes]:
    leaves = [leaf_hash(f'{{"seq":{seq}}}'.encode()) for seq in range(size)]
    nodes: dict[NodeId, bytes] = {}
    builder = TreeBuilder()
    for seq, leaf in enumerate(leaves):
        nodes[(0, seq)] = leaf
        nodes.update(zip(completed_node_ids(seq), builder.append(leaf), strict=True))
    return leaves, nodes, builder.root()


LEAVES, NODES, ROOT = _build(SIZE)
SIGNED_CHECKPOINT = sign_checkpoint(Checkpoint(ORIGIN, SIZE, ROOT), [LOG_KEY, WITNESS_KEY])


def _proof_text(index: int, extra: bytes | None = None) -> str:
    return format_tlog_proof(index, inclusion_proof(index, SIZE, NODES), SIGNED_CHECKPOINT, extra)


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def test_the_file_is_header_index_proof_lines_a_blank_line_and_the_checkpoint_verbatim() -> None:
    path = inclusion_proof(5, SIZE, NODES)
    expected = "".join(
        [HEADER + "\n", "index 5\n", *(_b64(item) + "\n" for item in path), "\n", SIGNED_CHECKPOINT]
    )
    assert _proof_text(5) == expected


def test_extra_data_goes_on_the_second_line() -> None:
    text = _proof_text(5, extra=b"context")
    assert text.split("\n")[:3] == [HEADER, "extra " + _b64(b"context"), "index 5"]


@pytest.mark.parametrize("extra", [None, b"context", b"\x00\xff"])
def test_a_proof_reads_back_as_written(extra: bytes | None) -> None:
    text = _proof_text(7, extra)
    assert parse_tlog_proof(text) == TlogProof(
        index=7,
        inclusion=tuple(inclusion_proof(7, SIZE, NODES)),
        checkpoint_note=SIGNED_CHECKPOINT,
        extra=extra,
    )


@pytest.mark.parametrize("index", range(SIZE))
def test_every_entry_of_the_tree_verifies_against_the_signed_checkpoint(index: int) -> None:
    checkpoint = verify_tlog_proof(_proof_text(index), LEAVES[index], [LOG_KEY.verifier], ORIGIN)
    assert checkpoint == Checkpoint(ORIGIN, SIZE, ROOT)


def test_a_proof_in_a_one_entry_log_has_no_proof_lines_and_verifies() -> None:
    leaves, nodes, root = _build(1)
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, root), [LOG_KEY])
    text = format_tlog_proof(0, inclusion_proof(0, 1, nodes), note)
    assert text == f"{HEADER}\nindex 0\n\n{note}"
    assert parse_tlog_proof(text).inclusion == ()
    assert verify_tlog_proof(text, leaves[0], [LOG_KEY.verifier], ORIGIN).size == 1


def test_extra_data_plays_no_part_in_verification() -> None:
    checkpoint = verify_tlog_proof(_proof_text(3, extra=b"anything"), LEAVES[3], [LOG_KEY.verifier], ORIGIN)
    assert checkpoint.size == SIZE


# --- Refusals ---------------------------------------------------------------------------------------------


def test_a_tampered_inclusion_proof_element_is_refused() -> None:
    path = inclusion_proof(4, SIZE, NODES)
    for position in range(len(path)):
        tampered = list(path)
        tampered[position] = bytes([tampered[position][0] ^ 0x80]) + tampered[position][1:]
        text = format_tlog_proof(4, tampered, SIGNED_CHECKPOINT)
        with pytest.raises(TlogProofError, match="leads to root"):
            verify_tlog_proof(text, LEAVES[4], [LOG_KEY.verifier], ORIGIN)


def test_a_proof_is_refused_for_another_entry_or_at_another_index() -> None:
    with pytest.raises(TlogProofError):
        verify_tlog_proof(_proof_text(4), LEAVES[5], [LOG_KEY.verifier], ORIGIN)
    moved = _proof_text(4).replace("index 4\n", "index 5\n")
    with pytest.raises(TlogProofError):
        verify_tlog_proof(moved, LEAVES[4], [LOG_KEY.verifier], ORIGIN)


def test_an_index_beyond_the_checkpoint_is_refused() -> None:
    text = format_tlog_proof(SIZE, inclusion_proof(3, SIZE, NODES), SIGNED_CHECKPOINT)
    with pytest.raises(TlogProofError, match="not in a tree of size 11"):
        verify_tlog_proof(text, LEAVES[3], [LOG_KEY.verifier], ORIGIN)


def test_a_proof_against_another_log_is_refused() -> None:
    with pytest.raises(TlogProofError, match=r"not 'other\.example/log'"):
        verify_tlog_proof(_proof_text(2), LEAVES[2], [LOG_KEY.verifier], "other.example/log")


def test_a_proof_whose_checkpoint_no_trusted_key_signed_is_refused() -> None:
    with pytest.raises(TlogProofError, match="no signature from a trusted key"):
        verify_tlog_proof(_proof_text(2), LEAVES[2], [NoteSigner.generate(ORIGIN).verifier], ORIGIN)
    only_witness = sign_checkpoint(Checkpoint(ORIGIN, SIZE, ROOT), [WITNESS_KEY])
    text = format_tlog_proof(2, inclusion_proof(2, SIZE, NODES), only_witness)
    with pytest.raises(TlogProofError, match="no signature from a trusted key"):
        verify_tlog_proof(text, LEAVES[2], [LOG_KEY.verifier], ORIGIN)


def test_a_forged_checkpoint_for_a_different_tree_is_refused() -> None:
    _, _, other_root = _build(SIZE + 1)
    signed = sign_checkpoint(Checkpoint(ORIGIN, SIZE, ROOT), [LOG_KEY])
    forged = signed.replace(_b64(ROOT), _b64(other_root))
    text = format_tlog_proof(2, inclusion_proof(2, SIZE, NODES), forged)
    with pytest.raises(TlogProofError, match="does not verify"):
        verify_tlog_proof(text, LEAVES[2], [LOG_KEY.verifier], ORIGIN)


def _malformed() -> dict[str, str]:
    good = _proof_text(5, extra=b"context")
    _, extra_line, index_line, first_hash, *_ = good.split("\n")
    return {
        "wrong header": good.replace(HEADER, "c2sp.org/tlog-proof@v2", 1),
        "header with trailing space": good.replace(HEADER, HEADER + " ", 1),
        "no blank line": good.replace("\n\n", "\n", 1),
        "leading zero in index": good.replace(index_line, "index 05"),
        "negative index": good.replace(index_line, "index -5"),
        "index without a space": good.replace(index_line, "index5"),
        "index with two spaces": good.replace(index_line, "index  5"),
        "missing index": good.replace(index_line + "\n", ""),
        "index before extra": good.replace(f"{extra_line}\n{index_line}", f"{index_line}\n{extra_line}"),
        "empty extra": good.replace(extra_line, "extra "),
        "extra not base64": good.replace(extra_line, "extra ***"),
        "extra without a space": good.replace(extra_line, "extra" + extra_line[6:]),
        "short hash line": good.replace(first_hash, _b64(b"\x01" * 31)),
        "unpadded hash line": good.replace(first_hash, first_hash.rstrip("=")),
        "carriage return": good.replace(index_line + "\n", index_line + "\r\n"),
        "nothing after the blank line": good.split("\n\n", 1)[0] + "\n\n",
    }


MALFORMED = _malformed()


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_proof_is_refused(text: str) -> None:
    with pytest.raises(TlogProofError):
        parse_tlog_proof(text)


def test_a_proof_with_more_hashes_than_any_uint64_tree_needs_is_refused() -> None:
    text = format_tlog_proof(0, [], SIGNED_CHECKPOINT)
    padded = text.replace("index 0\n", "index 0\n" + (_b64(b"\x00" * 32) + "\n") * 65)
    with pytest.raises(TlogProofError, match="more than 64"):
        parse_tlog_proof(padded)


def test_empty_extra_data_cannot_be_written_because_it_could_not_be_read_back() -> None:
    with pytest.raises(TlogProofError, match="pass None"):
        format_tlog_proof(0, [], SIGNED_CHECKPOINT, extra=b"")


def test_bad_parts_are_not_written() -> None:
    with pytest.raises(TlogProofError):
        format_tlog_proof(-1, [], SIGNED_CHECKPOINT)
    with pytest.raises(TlogProofError):
        format_tlog_proof(0, [b"short"], SIGNED_CHECKPOINT)
    with pytest.raises(TlogProofError):
        format_tlog_proof(0, [], SIGNED_CHECKPOINT.rstrip("\n"))


def test_the_largest_index_and_the_longest_proof_are_written_and_read() -> None:
    """The last leaf of a 2^64 − 1 leaf tree has index 2^64 − 2; a proof has at most 64 hashes."""
    hashes = [bytes([n]) * 32 for n in range(MAX_PROOF_HASHES)]
    text = format_tlog_proof(MAX_TREE_SIZE - 1, hashes, SIGNED_CHECKPOINT)
    parsed = parse_tlog_proof(text)
    assert (parsed.index, parsed.inclusion) == (MAX_TREE_SIZE - 1, tuple(hashes))
    with pytest.raises(TlogProofError, match=r"^index 18446744073709551615 is out of range$"):
        format_tlog_proof(MAX_TREE_SIZE, [], SIGNED_CHECKPOINT)
    with pytest.raises(TlogProofError, match=r"^index 18446744073709551615 is out of range$"):
        parse_tlog_proof(text.replace(f"index {MAX_TREE_SIZE - 1}\n", f"index {MAX_TREE_SIZE}\n"))
    with pytest.raises(TlogProofError, match=r"^an inclusion proof is at most 64 hashes of 32 bytes$"):
        format_tlog_proof(0, [*hashes, hashes[0]], SIGNED_CHECKPOINT)


@pytest.mark.parametrize(
    "checkpoint",
    ["", "\n" + SIGNED_CHECKPOINT, SIGNED_CHECKPOINT.rstrip("\n")],
    ids=["empty", "blank", "open"],
)
def test_a_checkpoint_that_is_not_a_whole_note_is_not_written(checkpoint: str) -> None:
    with pytest.raises(TlogProofError, match=r"^the signed checkpoint must be a whole signed note$"):
        format_tlog_proof(0, [], checkpoint)


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (HEADER, "tlog-proof has no 'index N' line (decimal, no leading zeros) where expected"),
        (
            f"{HEADER}\nextra {_b64(b'x')}",
            "tlog-proof has no 'index N' line (decimal, no leading zeros) where expected",
        ),
        (
            f"{HEADER}\nindex 3\n{_b64(bytes(32))}\n{_b64(bytes(31))}",
            "inclusion proof line 1 is 31 bytes, not 32",
        ),
        (f"{HEADER}\nindex 3\n{_b64(bytes(32))}\n!!", "inclusion proof line 1: not standard base64: '!!'"),
    ],
)
def test_a_file_that_stops_early_or_has_a_bad_hash_line_is_refused_saying_where(
    head: str, message: str
) -> None:
    with pytest.raises(TlogProofError) as caught:
        parse_tlog_proof(head + "\n\n" + SIGNED_CHECKPOINT)
    assert str(caught.value) == message
