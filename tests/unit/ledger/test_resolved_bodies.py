"""The sequencer skips the walk of resolved data before writing a body (``make_body(plain_data=True)``).

It may, because :func:`ledger.rules.resolve` builds data from a validated command: keys are the rules'
own or attribute names, integers are bounded by ``limits.MAX_QUANTITY_KG``. These tests hold that claim
to the RFC 8785 reference for any command that passes validation, texts beyond ASCII included.
"""

from __future__ import annotations

from typing import Any

import rfc8785
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ledger import limits
from ledger.canonical import MAX_SAFE_INTEGER
from ledger.commands import (
    RETIREMENT_REASONS,
    Allocation,
    Beneficiary,
    Cancel,
    Command,
    Issue,
    Retire,
    Selection,
    Transfer,
)
from ledger.entries import make_body, request_digest
from ledger.errors import InvalidCommand
from ledger.ranges import SerialRange
from ledger.rules import MemoryState, apply, resolve

ACCOUNTS = ("OWN-A", "ENT-B", "RETAIL")
BATCH = "SC01-2024-001"
BATCH_KG = 1_000_000
# Texts as callers send them: any character but lone surrogates, which validation refuses anyway.
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=24)
names = texts.filter(lambda name: name.strip() != "")
quantities = st.integers(min_value=1, max_value=5_000)
attribute_values = texts | st.booleans() | st.integers(-limits.MAX_QUANTITY_KG, limits.MAX_QUANTITY_KG)
attributes = st.dictionaries(
    st.from_regex(r"[a-z][a-z0-9_]{0,39}", fullmatch=True), attribute_values, max_size=5
)


def _selection(draw: Any) -> Selection:
    if draw(st.booleans()):
        return Selection(quantity_kg=draw(quantities))
    start = draw(st.integers(min_value=1, max_value=BATCH_KG // 2))
    return Selection(ranges=(SerialRange(BATCH, start, start + draw(quantities) - 1),))


@st.composite
def commands(draw: Any) -> Command:
    request_id = draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/@-]{0,20}", fullmatch=True))
    kind = draw(st.sampled_from(("issue", "transfer", "retire", "cancel")))
    if kind == "issue":
        number = draw(st.integers(min_value=2, max_value=999))
        allocations = tuple(Allocation(account, draw(quantities)) for account in ACCOUNTS[:2])
        return Issue(request_id, "SC01", "2024", number, allocations, draw(attributes))
    if kind == "transfer":
        return Transfer(request_id, "OWN-A", "ENT-B", _selection(draw), draw(texts))
    if kind == "retire":
        reason = draw(st.sampled_from(RETIREMENT_REASONS))
        beneficiary = Beneficiary(draw(names), draw(st.booleans()))
        return Retire(request_id, "OWN-A", _selection(draw), beneficiary, reason, draw(names))
    return Cancel(request_id, "OWN-A", _selection(draw), draw(names))


def _state() -> MemoryState:
    state = MemoryState(ACCOUNTS)
    state.add_batch(BATCH, BATCH_KG, 0)
    state.credit("OWN-A", BATCH, (1, BATCH_KG))
    return state


def test_the_limit_on_quantities_keeps_every_integer_exact_in_json() -> None:
    assert limits.MAX_QUANTITY_KG <= MAX_SAFE_INTEGER


@settings(max_examples=400, deadline=None)
@given(commands(), st.integers(min_value=0, max_value=MAX_SAFE_INTEGER))
def test_a_body_of_resolved_data_is_the_rfc_8785_form_without_the_walk(command: Command, seq: int) -> None:
    try:
        command.validate()
    except InvalidCommand:
        assume(False)  # never resolved: the sequencer refuses it first
    state = _state()
    data, _secret = resolve(command, state)
    apply(state, seq, command.kind, data)
    fields = {"seq": seq, "prev": "ab" * 32, "time": "2026-12-06T06:00:00.000001Z", "kind": command.kind}
    body = make_body(**fields, request_id=command.request_id, data=data, plain_data=True)
    full = {"v": 1, **fields, "request": request_digest(command.request_id), "data": data}
    assert body == rfc8785.dumps(full)
    assert body == make_body(**fields, request_id=command.request_id, data=data)
