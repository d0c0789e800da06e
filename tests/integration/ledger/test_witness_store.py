"""The witness's state file keeps what it says, whole: the latest cosigned checkpoint of each log, the
refused ones as evidence, and nothing of a block that raised except that evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from ledger.witness_store import CosignedCheckpoint, RefusedCheckpoint, WitnessStore

A, B = "a.example/log", "b.example/log"
BEIJING = timezone(timedelta(hours=8))


def test_what_is_advanced_and_refused_reads_back_whole(tmp_path: Path) -> None:
    store = WitnessStore(tmp_path / "witness.sqlite")
    when = datetime(2026, 12, 7, 18, 30, 5, tzinfo=BEIJING)
    with store.advancing(A) as state:
        assert (state.latest, state.size) == (None, 0)
        state.advance(2**64 - 1, b"\x01" * 32, "a note\n", when)  # tlog-checkpoint's largest size
    with store.advancing(B) as state:
        state.advance(5, b"\x02" * 32, "b note\n", when)
        state.refuse(5, "b fork\n", "another root at size 5", when + timedelta(seconds=1))
    latest = store.latest(A)
    assert latest == CosignedCheckpoint(2**64 - 1, b"\x01" * 32, "a note\n", when)
    assert latest is not None
    assert latest.cosigned_at.tzinfo == UTC  # the same instant, told in UTC
    assert store.cosigned_sizes() == [(A, 2**64 - 1), (B, 5)]
    refused = RefusedCheckpoint(B, 5, "b fork\n", "another root at size 5", when + timedelta(seconds=1))
    assert store.refused() == store.refused(B) == [refused]
    assert store.refused(A) == []


def _advance_then_fail(store: WitnessStore, refuse: bool) -> None:
    """A block that advances (or keeps evidence of a refusal), then raises, as a refusing witness does."""
    with store.advancing(A) as state:
        if refuse:
            state.refuse(3, "fork\n", "contradicts", datetime(2026, 12, 7, 10, 0, tzinfo=UTC))
        else:
            state.advance(4, b"\x02" * 32, "four\n", datetime(2026, 12, 7, 10, 0, tzinfo=UTC))
        raise RuntimeError("refused after all")


def test_a_block_that_raises_keeps_only_the_evidence_it_recorded(tmp_path: Path) -> None:
    store = WitnessStore(tmp_path / "witness.sqlite")
    when = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    with store.advancing(A) as state:
        state.advance(3, b"\x01" * 32, "three\n", when)
    three = CosignedCheckpoint(3, b"\x01" * 32, "three\n", when)
    with pytest.raises(RuntimeError, match="refused after all"):
        _advance_then_fail(store, refuse=False)
    assert store.latest(A) == three
    assert store.refused(A) == []
    with pytest.raises(RuntimeError, match="refused after all"):
        _advance_then_fail(store, refuse=True)
    assert [item.note for item in store.refused(A)] == ["fork\n"]
    assert store.latest(A) == three
