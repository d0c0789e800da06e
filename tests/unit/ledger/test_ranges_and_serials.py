"""``ledger.ranges``, ``ledger.serials`` and ``ledger.value_checks`` on their own, against plain models.

The span arithmetic is what keeps a kilogram in one place: each function is checked against the same
question asked of a set of kilograms, on spans drawn by hypothesis, so that an off-by-one at a shared
edge (a span ending exactly where a removal starts) cannot hide.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import limits
from ledger.errors import InvalidCommand
from ledger.ranges import SerialRange, Span, covers, merge_spans, subtract, take_lowest
from ledger.serials import BatchId, batch_id, check_account_id, parse_batch_id, serial_number
from ledger.value_checks import check_quantity_kg, check_request_id, check_text

spans = st.lists(
    st.tuples(st.integers(1, 60), st.integers(0, 8)).map(lambda pair: (pair[0], pair[0] + pair[1])),
    max_size=6,
)


def kilograms(items: list[Span]) -> set[int]:
    return {kg for start, end in items for kg in range(start, end + 1)}


def is_merged(items: list[Span]) -> bool:
    """Sorted, each span well formed, and a gap of at least one kilogram between neighbours."""
    return all(start <= end for start, end in items) and all(
        items[i][1] + 1 < items[i + 1][0] for i in range(len(items) - 1)
    )


@given(spans)
def test_merging_keeps_every_kilogram_and_joins_spans_that_touch(items: list[Span]) -> None:
    merged = merge_spans(items)
    assert kilograms(merged) == kilograms(items)
    assert is_merged(merged)


@given(spans, st.integers(1, 70), st.integers(0, 10))
def test_covers_is_containment_of_the_kilograms(items: list[Span], start: int, length: int) -> None:
    held, end = merge_spans(items), start + length
    assert covers(held, start, end) == (set(range(start, end + 1)) <= kilograms(held))


@given(spans, st.integers(1, 70), st.integers(0, 10))
def test_subtracting_a_covered_range_removes_exactly_its_kilograms(
    items: list[Span], start: int, length: int
) -> None:
    held, end = merge_spans(items), start + length
    if not covers(held, start, end):
        held = merge_spans([*held, (start, end)])
    left = subtract(held, start, end)
    assert kilograms(left) == kilograms(held) - set(range(start, end + 1))
    assert is_merged(left)


@pytest.mark.parametrize(
    ("held", "start", "end", "left"),
    [
        ([(1, 10)], 10, 10, [(1, 9)]),  # a span ending exactly where the removal starts
        ([(1, 10)], 1, 1, [(2, 10)]),  # a span starting exactly where the removal ends
        ([(1, 10)], 1, 10, []),
        ([(1, 3), (5, 10)], 5, 5, [(1, 3), (6, 10)]),
        ([(1, 3), (5, 10)], 3, 3, [(1, 2), (5, 10)]),
    ],
)
def test_subtracting_at_a_shared_edge(held: list[Span], start: int, end: int, left: list[Span]) -> None:
    assert subtract(held, start, end) == left


@given(spans, st.integers(1, 80))
def test_taking_by_quantity_takes_the_lowest_kilograms(items: list[Span], quantity: int) -> None:
    held = merge_spans(items)
    taken, owed = take_lowest(held, quantity)
    available = sorted(kilograms(held))
    assert sorted(kilograms(taken)) == available[:quantity]
    assert owed == max(0, quantity - len(available))
    assert is_merged(taken)


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        (("B-2023-001", 1, 10), ("B-2023-001", 10, 20), True),  # one shared kilogram
        (("B-2023-001", 10, 20), ("B-2023-001", 1, 10), True),
        (("B-2023-001", 1, 10), ("B-2023-001", 11, 20), False),
        (("B-2023-001", 5, 5), ("B-2023-001", 1, 10), True),
        (("B-2023-001", 1, 10), ("B-2023-002", 1, 10), False),  # another batch
    ],
)
def test_ranges_overlap_when_they_share_a_kilogram_of_one_batch(
    first: tuple[str, int, int], second: tuple[str, int, int], overlap: bool
) -> None:
    assert SerialRange(*first).overlaps(SerialRange(*second)) is overlap
    assert SerialRange(*second).overlaps(SerialRange(*first)) is overlap


def test_a_serial_number_states_its_batch_and_range() -> None:
    batch = batch_id("LS0012", "2023", 1)
    assert batch == "LS0012-2023-001"
    assert parse_batch_id(batch) == BatchId("LS0012", "2023", 1)
    assert serial_number(batch, 1, 5_000) == "SC-LS0012-2023-001-1-5000"
    assert SerialRange(batch, 1, 5_000).quantity_kg == 5_000
    assert batch_id("LS0012", "2023", 999) == "LS0012-2023-999"


@pytest.mark.parametrize(
    ("project", "vintage", "number", "field"),
    [
        ("L", "2023", 1, "project"),
        ("ls0012", "2023", 1, "project"),
        ("LS0012", "1899", 1, "vintage"),
        ("LS0012", "2２23", 1, "vintage"),
        ("LS0012", "2023", 0, "number"),
        ("LS0012", "2023", 1_000, "number"),
        ("LS0012", "2023", True, "number"),
        ("LS0012", "2023", "1", "number"),
    ],
)
def test_a_batch_id_is_refused_naming_its_bad_part(
    project: str, vintage: str, number: object, field: str
) -> None:
    with pytest.raises(InvalidCommand) as caught:
        batch_id(project, vintage, number)
    assert caught.value.field == field


@pytest.mark.parametrize("value", ["AB", "A" * 65, "-ABC", "ABC-", "abc", "A B C", "ABC\n", 42])
def test_an_account_id_outside_the_pattern_is_refused(value: object) -> None:
    with pytest.raises(InvalidCommand) as caught:
        check_account_id(value, field="to")
    assert caught.value.field == "to"


def test_a_bad_account_id_is_named_as_the_account_unless_the_caller_names_another_field() -> None:
    with pytest.raises(InvalidCommand) as caught:
        check_account_id("ab")
    assert caught.value.field == "account"


def test_account_ids_of_three_and_of_sixty_four_characters_are_accepted() -> None:
    assert check_account_id("A-B") == "A-B"
    assert check_account_id("A" * 64) == "A" * 64


def test_request_ids_run_from_one_to_the_limit_in_length() -> None:
    assert check_request_id("r") == "r"
    longest = "r" * limits.MAX_REQUEST_ID_CHARS
    assert check_request_id(longest) == longest
    for value in ("", longest + "r", "-r", "r r", "请求", None):
        with pytest.raises(InvalidCommand) as caught:
            check_request_id(value)
        assert caught.value.field == "request_id"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "must be at least 1 kg"),
        (-5, "must be at least 1 kg"),
        (limits.MAX_QUANTITY_KG + 1, f"must not exceed {limits.MAX_QUANTITY_KG} kg"),
        (1.5, "must be a whole number of kilograms, not a fraction"),
        (Decimal("2"), "must be an integer, not a decimal number"),
        (float("nan"), "must be a whole number of kilograms, not a fraction"),
        (True, "must be a whole number of kilograms"),
        ("12", "must be a whole number of kilograms"),
    ],
)
def test_a_quantity_that_is_not_a_positive_whole_number_of_kilograms_is_refused(
    value: object, message: str
) -> None:
    with pytest.raises(InvalidCommand) as caught:
        check_quantity_kg(value, field="quantity")
    assert (caught.value.field, str(caught.value)) == ("quantity", f"quantity: {message}")


def test_quantities_run_from_one_kilogram_to_the_limit() -> None:
    assert check_quantity_kg(1) == 1
    assert check_quantity_kg(limits.MAX_QUANTITY_KG) == limits.MAX_QUANTITY_KG


def test_text_is_stripped_and_checked_for_length_and_control_characters() -> None:
    assert check_text("  说明\t第二行\n ", "details", 10, required=False) == "说明\t第二行"
    assert check_text(None, "details", 10, required=False) == ""
    assert check_text("\ue000", "details", 10, required=True) == "\ue000"  # private use, not a surrogate
    assert check_text("x" * 10, "details", 10, required=True) == "x" * 10
    for value, message in (
        ("x" * 11, "must be at most 10 characters"),
        ("  ", "is required"),
        ("bell\x07", "must not contain control characters or lone surrogates"),
        ("del\x7f", "must not contain control characters or lone surrogates"),
        ("\ud800", "must not contain control characters or lone surrogates"),
        ("\udfff", "must not contain control characters or lone surrogates"),
        (5, "must be text"),
    ):
        with pytest.raises(InvalidCommand) as caught:
            check_text(value, "details", 10, required=True)
        assert (caught.value.field, str(caught.value)) == ("details", f"details: {message}")
