"""Verification compares the stored closed ranges in serial order, whatever order an entry wrote them in.

An entry closes its ranges in the order it names them: explicit ranges as the caller listed them, and a
quantity batch by batch in the order of the batches it is limited to. Verification sorts the ranges it
replays, so it must read the stored ones sorted the same way, by batch and first serial within each
entry; read in the order they were written, a correct ledger would be reported as tampered with.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tamper_support import query

from ledger.commands import Allocation, Beneficiary, Issue, Retire, Selection
from ledger.ranges import SerialRange
from ledger.service import LedgerService

FIRST, SECOND = "VO01-2024-001", "VO01-2024-002"


@pytest.fixture(params=["sqlite", "pg"])
def ledger(request: pytest.FixtureRequest, make_service) -> LedgerService:
    service: LedgerService = make_service(request.getfixturevalue(f"{request.param}_url"))
    service.append(
        [
            Issue("issue-1", "VO01", "2024", 1, (Allocation("ENT-A", 100),)),
            Issue("issue-2", "VO01", "2024", 2, (Allocation("ENT-A", 100),)),
        ]
    )
    return service


def _retire(request_id: str, selection: Selection) -> Retire:
    return Retire(request_id, "ENT-A", selection, Beneficiary("川西生态论坛", True), "event", "论坛碳中和")


def test_ranges_closed_out_of_serial_order_verify(ledger: LedgerService) -> None:
    named = _retire(
        "named",
        Selection(ranges=(SerialRange(SECOND, 1, 5), SerialRange(FIRST, 20, 25), SerialRange(FIRST, 10, 12))),
    )
    # The second batch first: its lowest serials left (6..100), then the first batch's (1..5).
    chosen = _retire("chosen", Selection(quantity_kg=100, batches=(SECOND, FIRST)))
    ledger.append([named, chosen])

    written = _closed_in_written_order(ledger)
    if written is not None:  # what this test is about: the rows were not written in serial order
        assert written == [
            (2, SECOND, 1),
            (2, FIRST, 20),
            (2, FIRST, 10),
            (3, SECOND, 6),
            (3, FIRST, 1),
        ]
    for jobs in (1, 2):
        report = ledger.verify(jobs=jobs)
        assert (report.size, report.closed_ranges, report.batches) == (4, 5, 2), jobs


def _closed_in_written_order(ledger: LedgerService) -> list[tuple[object, ...]] | None:
    """On SQLite, the closed ranges in the order they were written (their row ids); elsewhere None."""
    url = ledger.database.engine.url
    if url.get_backend_name() != "sqlite":
        return None
    written = "SELECT entry_seq, batch_id, start_kg FROM ledger_closed_ranges ORDER BY rowid"
    return query(Path(str(url.database)), written)
