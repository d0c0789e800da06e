"""An order's recorded lines read back by the wording that wrote them, and by no other."""

from __future__ import annotations

from string import Formatter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace import order_notes
from marketplace.order_notes import NUMBER_FIELDS, WORDINGS, Wording, read_note
from marketplace.payments.models import PROVIDERS
from marketplace.reservations import MAX_PASSED_OVER_LINES, Candidate, allocate

IDENTIFIER_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:/@-"
identifiers = st.text(IDENTIFIER_CHARS, min_size=1, max_size=64)
"""Lot, order, quote and pre-order ids, county codes, payment ids: no spaces, commas or parentheses."""
free_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=80).filter(
    lambda text: text.strip() == text and text != ""
)


def _fields(wording: Wording) -> list[str]:
    return [name for _, name, _, _ in Formatter().parse(wording.english) if name]


def _values(wording: Wording) -> st.SearchStrategy[dict[str, object]]:
    names = _fields(wording)
    strategies: dict[str, st.SearchStrategy[object]] = {}
    for name in names:
        if name == "provider":
            strategies[name] = st.sampled_from(PROVIDERS)
        elif name in NUMBER_FIELDS:
            strategies[name] = st.integers(min_value=0, max_value=10**12)
        elif name == names[-1] and wording.english.endswith("{" + name + "}"):
            strategies[name] = free_text
        else:
            strategies[name] = identifiers
    return st.fixed_dictionaries(strategies)


@pytest.mark.parametrize("wording", WORDINGS, ids=lambda wording: wording.key)
@given(data=st.data())
def test_every_line_a_wording_writes_reads_back_to_that_wording_and_its_values(wording, data):
    values = data.draw(_values(wording))
    note = read_note(wording.format(**values))
    assert note is not None
    assert note.key == wording.key
    assert note.values == {name: str(value) for name, value in values.items()}


@pytest.mark.parametrize(
    "line",
    [
        "客户要求退款",
        "duplicate payment by the customer",
        "card declined by the issuer",
        "paypal payment 123",
        "allocated many kg from the matching lots, oldest vintage first, then lowest lot id",
        "lot L-1 (vintage 2024, county 513423): lots of kg",
        "ledger entry",
        "stock held in the lots, twice",
        "ledger entry 5\n",
        "",
    ],
)
def test_a_line_no_wording_wrote_reads_back_as_none(line):
    assert read_note(line) is None


def test_a_value_that_breaks_its_wording_is_refused_when_written():
    with pytest.raises(AssertionError):
        order_notes.LOT_TAKEN.format(
            lot_id="L 1, (x)", vintage=2024, county_code="513423", taken_kg=1, available_kg=2
        )


candidates = st.lists(
    st.builds(
        Candidate,
        id=identifiers,
        vintage=st.integers(min_value=1990, max_value=2060).map(str),
        poverty_county=st.booleans(),
        county_code=st.from_regex(r"\A51[0-9]{4}\Z"),
        available_kg=st.integers(min_value=0, max_value=10**6),
    ),
    min_size=1,
    max_size=30,
    unique_by=lambda candidate: candidate.id,
)


@given(candidates=candidates, share=st.floats(min_value=0.01, max_value=1.0), poverty_first=st.booleans())
def test_every_line_of_an_allocation_s_explanation_reads_back_to_what_it_says(
    candidates, share, poverty_first
):
    total = sum(candidate.available_kg for candidate in candidates)
    quantity_kg = max(1, int(total * share))
    if total < quantity_kg:
        return
    allocation = allocate(candidates, quantity_kg, prefer_poverty_area=poverty_first)
    notes = [read_note(line) for line in allocation.explanation]
    assert all(note is not None for note in notes)
    rule, *lots = notes
    assert rule.key == ("allocated_poverty_first" if poverty_first else "allocated")
    assert rule.values == {"quantity_kg": str(quantity_kg)}
    by_id = {candidate.id: candidate for candidate in candidates}
    taken = [note for note in lots if note.key.endswith("lot_taken")]
    assert [(note.values["lot_id"], int(note.values["taken_kg"])) for note in taken] == [
        (hold.lot_id, hold.quantity_kg) for hold in allocation.holds
    ]
    for note in lots:
        if note.key == "more_passed_over":
            continue
        lot = by_id[note.values["lot_id"]]
        assert note.key.startswith("poverty_") == lot.poverty_county
        assert (note.values["vintage"], note.values["county_code"]) == (lot.vintage, lot.county_code)
    passed_over = [note for note in lots if note.key.endswith("passed_over")]
    assert len([note for note in passed_over if note.key != "more_passed_over"]) <= MAX_PASSED_OVER_LINES
