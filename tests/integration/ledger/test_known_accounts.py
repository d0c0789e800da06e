"""The sequencer remembers accounts it has found, and only those: unknown accounts are still refused,
accounts opened later are found, and appends naming only known accounts do not look them up again."""

from __future__ import annotations

import pytest
from tests_support import sent_statements

from ledger.commands import Allocation, Issue, Selection, Transfer
from ledger.errors import UnknownAccount
from ledger.service import LedgerService


def _transfer(request_id: str, to: str) -> Transfer:
    return Transfer(request_id, "OWN-A", to, Selection(quantity_kg=5))


@pytest.fixture(params=["sqlite", "pg"])
def ledger(request: pytest.FixtureRequest, make_service) -> LedgerService:
    service: LedgerService = make_service(request.getfixturevalue(f"{request.param}_url"))
    service.append([Issue("issue", "KA01", "2024", 1, (Allocation("OWN-A", 1_000),))])
    return service


def test_an_unknown_account_is_refused_however_many_known_ones_came_before(ledger: LedgerService) -> None:
    ledger.append([_transfer("t1", "ENT-A"), _transfer("t2", "ENT-B")])
    size = ledger.size()
    for attempt in range(2):
        with pytest.raises(UnknownAccount):
            ledger.append([_transfer(f"t3-{attempt}", "ENT-A"), _transfer(f"t4-{attempt}", "NEW-1")])
    assert ledger.size() == size


def test_an_account_opened_after_earlier_appends_is_found(ledger: LedgerService) -> None:
    with pytest.raises(UnknownAccount):
        ledger.append([_transfer("t1", "NEW-1")])
    ledger.open_account("NEW-1", "enterprise", "新企业")
    [entry] = ledger.append([_transfer("t2", "NEW-1")])
    assert entry.data["to"] == "NEW-1"


def test_accounts_found_once_are_not_looked_up_again(ledger: LedgerService) -> None:
    with sent_statements(ledger.database.engine) as sent:
        ledger.append([_transfer("t1", "ENT-A")])
    first = [statement.sql for statement in sent if "FROM ledger_accounts" in statement.sql]
    with sent_statements(ledger.database.engine) as sent:
        ledger.append([_transfer("t2", "ENT-A"), _transfer("t3", "ENT-A")])
    again = [statement.sql for statement in sent if "FROM ledger_accounts" in statement.sql]
    assert first  # the first append looked OWN-A and ENT-A up
    assert again == []
