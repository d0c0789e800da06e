"""How ``ledger.rules.resolve`` turns a quantity into serial ranges, and a private name into a commitment."""

from __future__ import annotations

import re

import pytest

from ledger.commands import Allocation, Beneficiary, Issue, Retire, Selection, Transfer
from ledger.errors import InsufficientHolding
from ledger.rules import MemoryState, apply, beneficiary_commitment, resolve

FIRST, SECOND = "LS01-2023-001", "LS01-2023-002"


@pytest.fixture
def state() -> MemoryState:
    """OWN-A holds 1..1000 of the first batch and 1..50 of the second."""
    state = MemoryState({"OWN-A", "ENT-A"}, closes=[])
    for seq, (number, kg) in enumerate([(1, 1_000), (2, 50)]):
        data, _ = resolve(Issue(f"i{number}", "LS01", "2023", number, (Allocation("OWN-A", kg),)), state)
        apply(state, seq, "issue", data)
    return state


def ranges_for(
    state: MemoryState, quantity: int, batches: tuple[str, ...] = ()
) -> list[tuple[str, int, int]]:
    command = Transfer("t", "OWN-A", "ENT-A", Selection(quantity_kg=quantity, batches=batches))
    data, _ = resolve(command, state)
    assert data["quantity_kg"] == quantity
    return [(item["batch"], item["start"], item["end"]) for item in data["ranges"]]


def test_a_quantity_takes_the_lowest_serials_batch_after_batch(state: MemoryState) -> None:
    assert ranges_for(state, 999) == [(FIRST, 1, 999)]
    assert ranges_for(state, 1_000) == [(FIRST, 1, 1_000)]
    assert ranges_for(state, 1_001) == [(FIRST, 1, 1_000), (SECOND, 1, 1)]
    assert ranges_for(state, 1_050) == [(FIRST, 1, 1_000), (SECOND, 1, 50)]


def test_batches_named_are_taken_in_the_order_named(state: MemoryState) -> None:
    assert ranges_for(state, 60, (SECOND, FIRST)) == [(SECOND, 1, 50), (FIRST, 1, 10)]
    assert ranges_for(state, 20, (SECOND,)) == [(SECOND, 1, 20)]


@pytest.mark.parametrize(
    ("quantity", "batches", "held"),
    [(1_051, (), 1_050), (51, (SECOND,), 50), (1_001, (FIRST,), 1_000)],
)
def test_more_than_is_held_says_how_much_is(
    state: MemoryState, quantity: int, batches: tuple[str, ...], held: int
) -> None:
    with pytest.raises(InsufficientHolding) as refused:
        ranges_for(state, quantity, batches)
    assert refused.value.message == f"account OWN-A holds {held} kg that match, {quantity} kg were asked"
    assert refused.value.field == "quantity_kg"


def test_a_private_name_is_committed_to_with_a_fresh_128_bit_salt(state: MemoryState) -> None:
    retire = Retire("r", "OWN-A", Selection(quantity_kg=5), Beneficiary(" 李四 ", False), "gift")
    (first, secret), (_, other) = resolve(retire, state), resolve(retire, state)
    assert secret is not None
    assert other is not None
    assert re.fullmatch(r"[0-9a-f]{32}", secret.salt), secret.salt
    assert secret.salt != other.salt
    assert secret.name == "李四"
    assert first["beneficiary"] == {
        "public": False,
        "commitment": beneficiary_commitment("李四", secret.salt),
    }
