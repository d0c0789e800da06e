"""The conflict-of-interest rule on affiliation facts, without a database (offsets/affiliations.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from offsets.affiliations import (
    MAX_AFFILIATION_HOPS,
    AffiliationFact,
    canonical_pair,
    find_conflicts,
)
from offsets.errors import InvalidInput

AT = datetime(2026, 6, 1, tzinfo=UTC)
BEFORE = AT - timedelta(days=365)
VERIFIER, OWNER, PROJECT = 1, 100, 7


def fact(fact_id, first, second, kind="parent_subsidiary", **changes):
    a, b = canonical_pair(first, second)
    changes.setdefault("valid_from", BEFORE)
    return AffiliationFact(id=fact_id, organisation_a_id=a, organisation_b_id=b, kind=kind, **changes)


def conflicts(*facts, at=AT, **kwargs):
    return find_conflicts(facts, verifier_id=VERIFIER, owner_id=OWNER, project_id=PROJECT, at=at, **kwargs)


def chain(length, start=VERIFIER, end=OWNER, kind="parent_subsidiary"):
    """``length`` affiliations from ``start`` to ``end`` through organisations 201, 202, ..."""
    stops = [start, *range(201, 200 + length), end]
    return [fact(index + 1, stops[index], stops[index + 1], kind) for index in range(length)]


# --- the pair ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("first", "second"), [(3, 9), (9, 3)])
def test_a_pair_is_stored_smaller_id_first_whichever_way_it_is_given(first, second):
    assert canonical_pair(first, second) == (3, 9)


def test_an_organisation_is_not_affiliated_with_itself():
    with pytest.raises(InvalidInput) as refused:
        canonical_pair(4, 4)
    assert refused.value.field == "other_organisation_id"


def test_a_fact_must_hold_its_pair_in_canonical_order():
    with pytest.raises(AssertionError):
        AffiliationFact(
            id=1, organisation_a_id=9, organisation_b_id=3, kind="common_control", valid_from=BEFORE
        )


def test_the_owner_side_of_a_pair_does_not_matter():
    assert conflicts(fact(1, OWNER, VERIFIER, "common_control")) == conflicts(
        fact(1, VERIFIER, OWNER, "common_control")
    )


# --- direct and transitive groups ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["parent_subsidiary", "common_control", "shared_legal_representative"])
def test_a_verifier_directly_affiliated_with_the_owner_is_conflicted(kind):
    [conflict] = conflicts(fact(5, VERIFIER, OWNER, kind))

    assert conflict.kind == "affiliated_with_owner"
    assert conflict.affiliation_ids == (5,)
    assert conflict.organisation_ids == (VERIFIER, OWNER)
    assert "affiliation 5" in conflict.message
    assert kind in conflict.message


def test_a_parent_of_a_parent_is_affiliated_through_the_group():
    # The verifier is the parent of 201, which is the parent of the owner.
    [conflict] = conflicts(*chain(2))

    assert conflict.affiliation_ids == (1, 2)
    assert conflict.organisation_ids == (VERIFIER, 201, OWNER)


def test_siblings_under_one_parent_are_affiliated():
    parent = 300
    [conflict] = conflicts(fact(1, parent, VERIFIER), fact(2, parent, OWNER))
    assert conflict.organisation_ids == (VERIFIER, parent, OWNER)


def test_a_group_is_followed_across_kinds():
    [conflict] = conflicts(
        fact(1, VERIFIER, 201, "shared_legal_representative"), fact(2, 201, OWNER, "common_control")
    )
    assert conflict.affiliation_ids == (1, 2)


def test_the_shortest_chain_is_named_whatever_order_the_facts_come_in():
    long = chain(3)
    short = [fact(10, VERIFIER, 250), fact(11, 250, OWNER)]
    [forward] = conflicts(*long, *short)
    [backward] = conflicts(*reversed(short), *reversed(long))
    assert forward == backward
    assert forward.affiliation_ids == (10, 11)


def test_unrelated_organisations_make_no_conflict():
    assert conflicts(fact(1, VERIFIER, 201), fact(2, 202, OWNER), fact(3, 203, 204)) == []


# --- the bounded depth -----------------------------------------------------------------------------------


def test_a_chain_at_the_bound_conflicts_and_one_beyond_it_does_not():
    assert len(conflicts(*chain(MAX_AFFILIATION_HOPS))) == 1
    assert conflicts(*chain(MAX_AFFILIATION_HOPS + 1)) == []


@pytest.mark.parametrize("hops", [1, 2, 3])
def test_the_bound_can_be_set_lower(hops):
    assert len(conflicts(*chain(hops), max_hops=hops)) == 1
    assert conflicts(*chain(hops + 1), max_hops=hops) == []


def test_a_cycle_in_the_records_ends_the_search():
    cycle = [fact(1, VERIFIER, 201), fact(2, 201, 202), fact(3, 202, VERIFIER)]
    assert conflicts(*cycle) == []


# --- time: beginnings, terms, endings, withdrawals -------------------------------------------------------


def test_an_ended_affiliation_no_longer_conflicts_but_did_before_its_end():
    ended = fact(1, VERIFIER, OWNER, ended_at=AT - timedelta(days=1))

    assert conflicts(ended) == []
    assert len(conflicts(ended, at=AT - timedelta(days=2))) == 1


def test_an_affiliation_past_its_term_no_longer_conflicts():
    assert conflicts(fact(1, VERIFIER, OWNER, valid_to=AT)) == []
    assert len(conflicts(fact(1, VERIFIER, OWNER, valid_to=AT + timedelta(seconds=1)))) == 1


def test_an_affiliation_that_has_not_begun_does_not_conflict_yet():
    later = AffiliationFact(
        id=1,
        organisation_a_id=VERIFIER,
        organisation_b_id=OWNER,
        kind="common_control",
        valid_from=AT + timedelta(days=1),
    )
    assert conflicts(later) == []


def test_an_ended_link_breaks_the_chain_through_it():
    assert conflicts(fact(1, VERIFIER, 201, ended_at=BEFORE + timedelta(days=1)), fact(2, 201, OWNER)) == []


def test_a_withdrawn_affiliation_counts_at_no_time():
    withdrawn = fact(1, VERIFIER, OWNER, recorded_in_error=True)
    assert conflicts(withdrawn) == []
    assert conflicts(withdrawn, at=BEFORE + timedelta(days=1)) == []


# --- consulting on the project ---------------------------------------------------------------------------


def consulting(fact_id, consultant, project_id=PROJECT, **changes):
    return fact(fact_id, consultant, OWNER, "consulting_on_project", project_id=project_id, **changes)


def test_a_verifier_that_consulted_on_the_project_is_conflicted():
    [conflict] = conflicts(consulting(9, VERIFIER))

    assert conflict.kind == "consulted_on_project"
    assert conflict.affiliation_ids == (9,)
    assert f"project {PROJECT}" in conflict.message


def test_consulting_by_the_verifiers_subsidiary_conflicts_too():
    [conflict] = conflicts(fact(1, VERIFIER, 201), consulting(9, 201))
    assert conflict.affiliation_ids == (1, 9)
    assert conflict.organisation_ids == (VERIFIER, 201)


def test_consulting_on_another_project_of_the_owner_is_no_conflict():
    assert conflicts(consulting(9, VERIFIER, project_id=PROJECT + 1)) == []


def test_consulting_goes_on_conflicting_after_it_ended_unless_withdrawn():
    assert len(conflicts(consulting(9, VERIFIER, ended_at=BEFORE + timedelta(days=30)))) == 1
    assert len(conflicts(consulting(9, VERIFIER, valid_to=BEFORE + timedelta(days=30)))) == 1
    assert conflicts(consulting(9, VERIFIER, recorded_in_error=True)) == []


def test_consulting_conflicts_from_the_moment_it_begins():
    assert len(conflicts(consulting(9, VERIFIER, valid_from=AT))) == 1
    assert conflicts(consulting(9, VERIFIER, valid_from=AT + timedelta(seconds=1))) == []


def test_an_affiliation_conflicts_from_the_moment_it_begins():
    assert len(conflicts(fact(1, VERIFIER, OWNER, valid_from=AT))) == 1
    assert conflicts(fact(1, VERIFIER, OWNER, valid_from=AT + timedelta(seconds=1))) == []


def test_consulting_does_not_make_a_group():
    # 201 consulted on the project; the verifier consulted for 201 on something else: no chain.
    other_project = fact(8, VERIFIER, 201, "consulting_on_project", project_id=PROJECT + 1)
    assert conflicts(other_project, consulting(9, 201)) == []


def test_an_owner_affiliated_and_consulted_gives_both_reasons():
    reasons = conflicts(fact(1, VERIFIER, OWNER, "common_control"), consulting(9, VERIFIER))
    assert [reason.kind for reason in reasons] == ["affiliated_with_owner", "consulted_on_project"]


def test_the_moment_must_carry_its_offset():
    with pytest.raises(AssertionError):
        find_conflicts([], verifier_id=1, owner_id=2, project_id=3, at=datetime(2026, 1, 1))  # noqa: DTZ001
