"""The project lifecycle: only the listed transitions, by the listed roles, with reasons where required."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offsets.lifecycle import TRANSITIONS, ProjectStatus, Role, TransitionRefused, check_transition

S = ProjectStatus
ALLOWED = {(t.source, t.target) for t in TRANSITIONS}


@pytest.mark.parametrize(
    ("source", "target", "role", "reason"),
    [
        (S.DRAFT, S.SUBMITTED, Role.PROJECT_OWNER, ""),
        (S.SUBMITTED, S.UNDER_REVIEW, Role.REVIEWER, ""),
        (S.UNDER_REVIEW, S.REGISTERED, Role.REVIEWER, ""),
        (S.UNDER_REVIEW, S.REJECTED, Role.REVIEWER, "资格证明不全"),
        (S.REJECTED, S.SUBMITTED, Role.PROJECT_OWNER, ""),
        (S.REGISTERED, S.SUSPENDED, Role.REGISTRY_ADMIN, "监测报告逾期"),
        (S.SUSPENDED, S.REGISTERED, Role.REGISTRY_ADMIN, "已补交"),
        (S.REGISTERED, S.CLOSED, Role.PROJECT_OWNER, "计入期结束"),
        (S.SUSPENDED, S.CLOSED, Role.REGISTRY_ADMIN, "项目终止"),
    ],
)
def test_the_plans_transitions_are_allowed(source, target, role, reason):
    assert check_transition(source, target, role, reason).target is target


@given(st.sampled_from(list(S)), st.sampled_from(list(S)), st.sampled_from(list(Role)), st.text(max_size=5))
def test_every_other_transition_is_refused(source, target, role, reason):
    transition = next((t for t in TRANSITIONS if (t.source, t.target) == (source, target)), None)
    allowed = (
        transition is not None
        and role in transition.roles
        and (not transition.reason_required or reason.strip() != "")
    )
    if allowed:
        assert check_transition(source, target, role, reason) is transition
    else:
        with pytest.raises(TransitionRefused):
            check_transition(source, target, role, reason)


def test_a_rejection_without_a_reason_is_refused_naming_the_reason():
    with pytest.raises(TransitionRefused) as refused:
        check_transition(S.UNDER_REVIEW, S.REJECTED, Role.REVIEWER, "  ")
    assert refused.value.field == "reason"


def test_closed_is_final():
    assert not [t for t in TRANSITIONS if t.source is S.CLOSED]


def test_an_owner_cannot_register_its_own_project():
    with pytest.raises(TransitionRefused):
        check_transition(S.UNDER_REVIEW, S.REGISTERED, Role.PROJECT_OWNER, "")
