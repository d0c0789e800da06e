"""A request id names one command: a repeat returns the first entry; changing what it stated is refused."""

from __future__ import annotations

import pytest

from ledger.commands import Allocation, Beneficiary, Cancel, Issue, Retire, Selection, Transfer
from ledger.errors import IdempotencyConflict
from ledger.ranges import SerialRange

BATCH = "LS01-2023-001"
BATCH_2 = "LS01-2023-002"


@pytest.fixture(params=["sqlite", "pg"])
def ledger(request, make_service):
    # On PostgreSQL the sequencer looks up seen request ids with "= ANY(array)"; on SQLite with IN.
    service = make_service(request.getfixturevalue(f"{request.param}_url"))
    service.append(
        [
            Issue("issue", "LS01", "2023", 1, (Allocation("OWN-A", 10_000), Allocation("BUFFER", 500))),
            Issue("issue-2", "LS01", "2023", 2, (Allocation("OWN-A", 2_000),)),
        ]
    )
    return service


def retire(request_id="r", name="张三", public=False, details="", quantity=5, reason="personal_footprint"):
    return Retire(
        request_id, "OWN-A", Selection(quantity_kg=quantity), Beneficiary(name, public), reason, details
    )


@pytest.mark.parametrize(
    "first",
    [
        retire(public=False),
        retire(public=True),
        Transfer("r", "OWN-A", "ENT-A", Selection(quantity_kg=7), memo="lot 1"),
        Transfer("r", "OWN-A", "ENT-A", Selection(ranges=(SerialRange(BATCH, 11, 20),))),
        Cancel("r", "OWN-A", Selection(quantity_kg=3, batches=(BATCH,)), "error in monitoring report"),
    ],
    ids=["private retirement", "public retirement", "transfer by quantity", "transfer by ranges", "cancel"],
)
def test_repeating_a_command_returns_its_first_entry_and_appends_nothing(ledger, first):
    [original] = ledger.append([first])
    size = ledger.size()
    [again] = ledger.append([first])
    assert again.repeated
    # Everything a caller reads from the first entry, read back: request id, body, leaf hash and data.
    assert again._replace(repeated=False) == original
    assert ledger.size() == size


@pytest.mark.parametrize(
    ("first", "changed"),
    [
        (retire(name="张三"), retire(name="李四")),
        (retire(name="张三", public=True), retire(name="李四", public=True)),
        (retire(public=True), retire(public=False)),
        (retire(details=""), retire(details="2025 年")),
        (retire(quantity=5), retire(quantity=6)),
        (retire(reason="personal_footprint"), retire(reason="gift")),
        (
            Transfer("r", "OWN-A", "ENT-A", Selection(quantity_kg=7), memo="lot 1"),
            Transfer("r", "OWN-A", "ENT-A", Selection(quantity_kg=7), memo="lot 2"),
        ),
        (
            Transfer("r", "OWN-A", "ENT-A", Selection(quantity_kg=7)),
            Transfer("r", "OWN-A", "ENT-B", Selection(quantity_kg=7)),
        ),
        (
            Transfer("r", "OWN-A", "ENT-A", Selection(ranges=(SerialRange(BATCH, 11, 20),))),
            Transfer("r", "OWN-A", "ENT-A", Selection(ranges=(SerialRange(BATCH, 21, 30),))),
        ),
        (
            Transfer("r", "OWN-A", "ENT-A", Selection(quantity_kg=7, batches=(BATCH,))),
            Transfer("r", "OWN-A", "ENT-A", Selection(quantity_kg=7, batches=(BATCH_2,))),
        ),
        (
            Cancel("r", "OWN-A", Selection(quantity_kg=3), "fire"),
            Cancel("r", "OWN-A", Selection(quantity_kg=3), "felling"),
        ),
        (
            Cancel("r", "OWN-A", Selection(quantity_kg=3), "fire"),
            Transfer("r", "OWN-A", "ENT-A", Selection(quantity_kg=3)),
        ),
    ],
    ids=[
        "private beneficiary",
        "public beneficiary",
        "publicity",
        "details",
        "quantity",
        "reason",
        "memo",
        "recipient",
        "ranges",
        "batches",
        "cancel reason",
        "kind",
    ],
)
def test_reusing_a_request_id_for_a_different_command_is_refused(ledger, first, changed):
    ledger.append([first])
    size = ledger.size()
    with pytest.raises(IdempotencyConflict) as refused:
        ledger.append([changed])
    assert refused.value.field == "request_id"
    assert ledger.size() == size


def test_reissuing_with_the_same_request_id_but_other_allocations_is_refused(ledger):
    with pytest.raises(IdempotencyConflict):
        ledger.append([Issue("issue", "LS01", "2023", 1, (Allocation("OWN-A", 10_500),))])
