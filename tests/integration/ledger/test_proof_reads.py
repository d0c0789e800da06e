"""The proof reads refuse, as themselves, what their callers are meant to have refused first.

The API validates a page's bounds and the service signs a covering checkpoint before it asks for an
entry's proof; these are the library's own guards, for any other caller: a page out of bounds is a
ValueError, an entry no signed checkpoint covers has no proof (never a proof against a tree it is not
in), and one beyond the log is not found.
"""

from __future__ import annotations

import pytest

from ledger import limits, proofs
from ledger.commands import Allocation, Issue, Selection, Transfer
from ledger.errors import NotFound, ProofUnavailable
from ledger.service import LedgerService


def test_an_entry_has_a_proof_only_once_a_signed_checkpoint_covers_it(service: LedgerService) -> None:
    service.append([Issue("i", "PR01", "2024", 1, (Allocation("OWN-A", 10),))])
    with (
        service.database.reading() as session,
        pytest.raises(ProofUnavailable, match="no signed checkpoint covers entry 0 yet"),
    ):
        proofs.entry_proof(session, 0)  # none signed at all
    service.sign_checkpoint()  # size 1
    service.append([Transfer("t", "OWN-A", "ENT-A", Selection(quantity_kg=1))])
    with service.database.reading() as session:
        assert proofs.entry_proof(session, 0).inclusion == []  # the one leaf of a tree of size 1
        with pytest.raises(ProofUnavailable, match="no signed checkpoint covers entry 1 yet"):
            proofs.entry_proof(session, 1)  # the newest entry
        with pytest.raises(NotFound, match="no entry 2"):
            proofs.entry_proof(session, 2)  # beyond the log


def test_a_page_out_of_bounds_is_refused_and_the_largest_page_is_served(service: LedgerService) -> None:
    service.append([Issue("i", "PR01", "2024", 1, (Allocation("OWN-A", 10),))])
    with service.database.reading() as session:
        for start, limit in ((-1, 1), (0, 0), (0, limits.MAX_PAGE_ENTRIES + 1)):
            with pytest.raises(ValueError, match="a page starts at 0 or later and lists 1 to 1000 entries"):
                proofs.entry_page(session, start, limit)
        page = proofs.entry_page(session, 0, limits.MAX_PAGE_ENTRIES)
    assert [stored.seq for stored in page.entries] == [0]
    assert page.complete is False  # the log may yet grow into it
