"""Every rule of ``ledger.rules.apply`` refuses a forged entry, names the field, and changes nothing.

The sequencer never builds such data: ``resolve`` makes it from a validated command. But verification
and ``tanhui ledger audit`` replay entries that someone else wrote through the same ``apply``, so these
refusals are what an outside auditor relies on. Each case takes valid data, made by ``resolve`` as the
sequencer would, changes one thing, and expects that one thing to be named.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from ledger import limits
from ledger.commands import Allocation, Beneficiary, Cancel, Command, Issue, Retire, Selection, Transfer
from ledger.errors import (
    DuplicateBatch,
    InvalidCommand,
    LedgerError,
    RangeNotHeld,
    UnknownAccount,
    UnknownBatch,
)
from ledger.rules import MemoryState, apply, resolve

ACCOUNTS = ("OWN-A", "ENT-A", "BUFFER")
BATCH = "LS01-2023-001"
COMMITMENT = "ab" * 32

COMMANDS: dict[str, Command] = {
    "transfer": Transfer("t", "OWN-A", "ENT-A", Selection(quantity_kg=10), memo="合同 1"),
    "public retirement": Retire("r", "OWN-A", Selection(quantity_kg=5), Beneficiary("张三", True), "gift"),
    "private retirement": Retire(
        "p", "OWN-A", Selection(quantity_kg=5), Beneficiary("李四", False), "event", "2025 年会"
    ),
    "cancel": Cancel("c", "OWN-A", Selection(quantity_kg=3), "fire"),
    "issue": Issue("i", "LS01", "2023", 2, (Allocation("OWN-A", 40), Allocation("BUFFER", 10))),
}


def ledger_with_a_batch() -> MemoryState:
    """OWN-A holds 1..1000 of BATCH, the buffer 1001..1100."""
    state = MemoryState(ACCOUNTS, closes=[])
    issue = Issue("first", "LS01", "2023", 1, (Allocation("OWN-A", 1_000), Allocation("BUFFER", 100)))
    data, _ = resolve(issue, state)
    apply(state, 0, "issue", data)
    return state


def snapshot(state: MemoryState) -> tuple[Any, ...]:
    return copy.deepcopy((state.accounts, state.batches, state.holdings, state.closes))


def valid(name: str) -> tuple[str, dict[str, Any]]:
    command = COMMANDS[name]
    data, _ = resolve(command, ledger_with_a_batch())
    return command.kind, data


def first_range(data: dict[str, Any]) -> dict[str, Any]:
    return data["ranges"][0]


def _at(data: dict[str, Any], path: str) -> tuple[Any, Any]:
    """The container and key that a path like ``ranges.0.start`` names inside ``data``."""
    *parents, last = (int(part) if part.isdigit() else part for part in path.split("."))
    target: Any = data
    for part in parents:
        target = target[part]
    return target, last


def put(path: str, value: object) -> Callable[[dict[str, Any]], object]:
    """An edit that sets what ``path`` names to ``value``."""

    def edit(data: dict[str, Any]) -> object:
        target, key = _at(data, path)
        target[key] = value
        return data

    return edit


def drop(path: str) -> Callable[[dict[str, Any]], object]:
    """An edit that removes what ``path`` names."""

    def edit(data: dict[str, Any]) -> object:
        target, key = _at(data, path)
        del target[key]
        return data

    return edit


def doubled_range(data: dict[str, Any]) -> object:
    data["ranges"] = [first_range(data), dict(first_range(data))]
    data["quantity_kg"] *= 2
    return data


def and_range(start: int, end: int) -> Callable[[dict[str, Any]], object]:
    """An edit that adds ``start..end`` of BATCH to the (one) range moved, and its kilograms."""

    def edit(data: dict[str, Any]) -> object:
        serial = f"SC-{BATCH}-{start}-{end}"
        data["ranges"].append({"batch": BATCH, "start": start, "end": end, "serial": serial})
        data["quantity_kg"] += end - start + 1
        return data

    return edit


def from_an_account_holding_nothing(data: dict[str, Any]) -> object:
    data["from"], data["to"] = "ENT-A", "OWN-A"
    return data


def swapped_allocations(data: dict[str, Any]) -> object:
    data["allocations"].reverse()
    return data


def gap_between_allocations(data: dict[str, Any]) -> object:
    """The buffer's allocation starts one kilogram late, its serial stating so."""
    data["allocations"][1].update(start=42, serial="SC-LS01-2023-002-42-50")
    return data


def allocations_of_1_kg(count: int) -> Callable[[dict[str, Any]], object]:
    """An edit that issues the batch as ``count`` allocations of one kilogram each to OWN-A."""

    def edit(data: dict[str, Any]) -> object:
        batch = data["batch"]["id"]
        data["batch"]["quantity_kg"] = count
        data["allocations"] = [
            {"account": "OWN-A", "start": kg, "end": kg, "serial": f"SC-{batch}-{kg}-{kg}"}
            for kg in range(1, count + 1)
        ]
        return data

    return edit


def reissued_first_batch(data: dict[str, Any]) -> object:
    issue = Issue("again", "LS01", "2023", 1, (Allocation("OWN-A", 50),))
    again, _ = resolve(issue, MemoryState(ACCOUNTS))
    return again


CASES: list[tuple[str, str, Callable[[dict[str, Any]], object], type[LedgerError], str]] = [
    # (the valid entry, what is changed, the change, the refusal, the field it names)
    ("transfer", "data not an object", lambda data: [data], InvalidCommand, "data"),
    ("transfer", "ranges missing", drop("ranges"), InvalidCommand, "ranges"),
    ("transfer", "a key no transfer has", put("price_fen", 100), InvalidCommand, "price_fen"),
    ("transfer", "to itself", put("to", "OWN-A"), InvalidCommand, "to"),
    ("transfer", "an account id of the wrong form", put("from", "own-a"), InvalidCommand, "from"),
    ("transfer", "an account id that is not text", put("to", 7), InvalidCommand, "to"),
    ("transfer", "an unknown recipient", put("to", "ENT-Z"), UnknownAccount, "to"),
    ("transfer", "an empty memo", put("memo", ""), InvalidCommand, "memo"),
    ("transfer", "a memo with spaces around it", put("memo", " 合同 1"), InvalidCommand, "memo"),
    ("transfer", "ranges not a list", put("ranges", {}), InvalidCommand, "ranges"),
    ("transfer", "no ranges", put("ranges", []), InvalidCommand, "ranges"),
    (
        "transfer",
        "a range that is not an object",
        put("ranges", ["SC-LS01-2023-001-1-10"]),
        InvalidCommand,
        "ranges",
    ),
    (
        "transfer",
        "a range without its serial",
        drop("ranges.0.serial"),
        InvalidCommand,
        "serial",
    ),
    (
        "transfer",
        "a batch never issued",
        put("ranges.0.batch", "LS01-2023-009"),
        UnknownBatch,
        "ranges.batch",
    ),
    (
        "transfer",
        "a batch id of the wrong form",
        put("ranges.0.batch", "ls01-2023-001"),
        InvalidCommand,
        "batch",
    ),
    (
        "transfer",
        "a batch id in full-width digits",
        put("ranges.0.batch", "LS01-2023-００１"),
        InvalidCommand,
        "batch",
    ),
    ("transfer", "a batch id that is a list", put("ranges.0.batch", [BATCH]), InvalidCommand, "batch"),
    ("transfer", "a range from kilogram 0", put("ranges.0.start", 0), InvalidCommand, "ranges.start"),
    ("transfer", "a start that is text", put("ranges.0.start", "1"), InvalidCommand, "ranges.start"),
    ("transfer", "a start that is a boolean", put("ranges.0.start", True), InvalidCommand, "ranges.start"),
    ("transfer", "an end that is a float", put("ranges.0.end", 10.0), InvalidCommand, "ranges.end"),
    (
        "transfer",
        "a range that ends before it starts",
        put("ranges.0.start", 11),
        InvalidCommand,
        "ranges.end",
    ),
    ("transfer", "a range beyond the batch", put("ranges.0.end", 1_101), RangeNotHeld, "ranges.end"),
    (
        "transfer",
        "a serial that does not state the range",
        put("ranges.0.serial", "SC-LS01-2023-001-1-11"),
        InvalidCommand,
        "ranges.serial",
    ),
    ("transfer", "the same range twice", doubled_range, InvalidCommand, "ranges"),
    ("transfer", "ranges that overlap in part", and_range(5, 12), InvalidCommand, "ranges"),
    ("transfer", "ranges that share one kilogram", and_range(10, 12), InvalidCommand, "ranges"),
    ("transfer", "a range inside another", and_range(2, 3), InvalidCommand, "ranges"),
    (
        "transfer",
        "a quantity that is not the ranges' sum",
        put("quantity_kg", 11),
        InvalidCommand,
        "quantity_kg",
    ),
    ("transfer", "a quantity that is a float", put("quantity_kg", 10.0), InvalidCommand, "quantity_kg"),
    (
        "transfer",
        "kilograms the sender does not hold",
        from_an_account_holding_nothing,
        RangeNotHeld,
        "ranges",
    ),
    ("transfer", "the buffer's kilograms", put("from", "BUFFER"), RangeNotHeld, "ranges"),
    ("public retirement", "a reason not on the list", put("reason", "Gift"), InvalidCommand, "reason"),
    ("public retirement", "details with spaces around them", put("details", "x "), InvalidCommand, "details"),
    ("public retirement", "details that are not text", put("details", 5), InvalidCommand, "details"),
    (
        "public retirement",
        "a beneficiary that is a name",
        put("beneficiary", "张三"),
        InvalidCommand,
        "beneficiary",
    ),
    (
        "public retirement",
        "publicity that is not a boolean",
        put("beneficiary.public", 1),
        InvalidCommand,
        "beneficiary",
    ),
    (
        "public retirement",
        "no publicity",
        drop("beneficiary.public"),
        InvalidCommand,
        "beneficiary",
    ),
    (
        "public retirement",
        "a public beneficiary without a name",
        put("beneficiary.name", ""),
        InvalidCommand,
        "beneficiary.name",
    ),
    (
        "public retirement",
        "a name with spaces around it",
        put("beneficiary.name", " 张三"),
        InvalidCommand,
        "beneficiary.name",
    ),
    (
        "public retirement",
        "a public name and a commitment",
        put("beneficiary.commitment", COMMITMENT),
        InvalidCommand,
        "commitment",
    ),
    ("public retirement", "an unknown retiring account", put("account", "ENT-Z"), UnknownAccount, "account"),
    ("public retirement", "ranges missing", drop("ranges"), InvalidCommand, "ranges"),
    (
        "private retirement",
        "a private name in the open",
        put("beneficiary.name", "李四"),
        InvalidCommand,
        "name",
    ),
    (
        "private retirement",
        "a commitment of capitals",
        put("beneficiary.commitment", "AB" * 32),
        InvalidCommand,
        "beneficiary.commitment",
    ),
    (
        "private retirement",
        "a commitment one digit short",
        put("beneficiary.commitment", "ab" * 31 + "a"),
        InvalidCommand,
        "beneficiary.commitment",
    ),
    (
        "private retirement",
        "a commitment that is not text",
        put("beneficiary.commitment", 0),
        InvalidCommand,
        "beneficiary.commitment",
    ),
    ("cancel", "no reason", put("reason", ""), InvalidCommand, "reason"),
    ("cancel", "a reason with spaces around it", put("reason", "fire "), InvalidCommand, "reason"),
    (
        "cancel",
        "a beneficiary",
        put("beneficiary", {"public": True, "name": "张三"}),
        InvalidCommand,
        "beneficiary",
    ),
    ("cancel", "kilograms the account does not hold", put("account", "ENT-A"), RangeNotHeld, "ranges"),
    ("issue", "the batch as a bare id", put("batch", "LS01-2023-002"), InvalidCommand, "batch"),
    ("issue", "a batch id of another project", put("batch.project", "LS02"), InvalidCommand, "batch.id"),
    ("issue", "a batch number that is text", put("batch.number", "2"), InvalidCommand, "batch.id"),
    ("issue", "a batch id of the wrong form", put("batch.id", "LS01-2023-2"), InvalidCommand, "batch"),
    ("issue", "a batch of 0 kg", put("batch.quantity_kg", 0), InvalidCommand, "batch.quantity_kg"),
    ("issue", "more kilograms than allocated", put("batch.quantity_kg", 51), InvalidCommand, "allocations"),
    ("issue", "attributes that are a list", put("batch.attributes", []), InvalidCommand, "batch.attributes"),
    ("issue", "a key no batch has", put("batch.price_fen", 1), InvalidCommand, "price_fen"),
    ("issue", "a batch issued before", reissued_first_batch, DuplicateBatch, "batch.id"),
    ("issue", "no allocations", put("allocations", []), InvalidCommand, "allocations"),
    ("issue", "allocations that are a number", put("allocations", 2), InvalidCommand, "allocations"),
    (
        "issue",
        "one allocation too many",
        allocations_of_1_kg(limits.MAX_ALLOCATIONS_PER_ISSUE + 1),
        InvalidCommand,
        "allocations",
    ),
    (
        "issue",
        "an allocation that is not an object",
        put("allocations", ["OWN-A"]),
        InvalidCommand,
        "allocations",
    ),
    ("issue", "allocations out of order", swapped_allocations, InvalidCommand, "allocations"),
    ("issue", "a gap between allocations", gap_between_allocations, InvalidCommand, "allocations"),
    (
        "issue",
        "an allocation to an unknown account",
        put("allocations.0.account", "OWN-Z"),
        UnknownAccount,
        "allocations.account",
    ),
    (
        "issue",
        "an allocation's serial of another range",
        put("allocations.0.serial", "SC-LS01-2023-002-1-41"),
        InvalidCommand,
        "allocations.serial",
    ),
    (
        "issue",
        "an allocation beyond the batch",
        put("allocations.1.end", 51),
        RangeNotHeld,
        "allocations.end",
    ),
]


@pytest.mark.parametrize(
    ("entry", "change", "error", "field"),
    [(entry, edit, error, field) for entry, _, edit, error, field in CASES],
    ids=[f"{entry}: {what}" for entry, what, *_ in CASES],
)
def test_a_forged_entry_is_refused_naming_its_field_and_changes_nothing(
    entry: str, change: Callable[[dict[str, Any]], object], error: type[LedgerError], field: str
) -> None:
    kind, data = valid(entry)
    state = ledger_with_a_batch()
    before = snapshot(state)
    forged = change(copy.deepcopy(data))
    with pytest.raises(error) as refused:
        apply(state, 1, kind, forged)
    assert type(refused.value) is error
    assert refused.value.field == field
    assert snapshot(state) == before


@pytest.mark.parametrize("entry", sorted(COMMANDS))
def test_each_entry_the_cases_start_from_is_accepted(entry: str) -> None:
    """Each refusal above is one change away from an entry that applies."""
    kind, data = valid(entry)
    state = ledger_with_a_batch()
    before = snapshot(state)
    apply(state, 1, kind, data)
    assert snapshot(state) != before


def test_an_issue_of_as_many_allocations_as_allowed_applies() -> None:
    kind, data = valid("issue")
    state = ledger_with_a_batch()
    apply(state, 1, kind, allocations_of_1_kg(limits.MAX_ALLOCATIONS_PER_ISSUE)(data))
    assert state.holdings[("OWN-A", "LS01-2023-002")] == [(1, limits.MAX_ALLOCATIONS_PER_ISSUE)]


def test_an_entry_of_an_unknown_kind_is_refused() -> None:
    kind, data = valid("transfer")
    assert kind == "transfer"
    state = ledger_with_a_batch()
    with pytest.raises(InvalidCommand) as refused:
        apply(state, 1, "mint", data)
    assert refused.value.field == "kind"
