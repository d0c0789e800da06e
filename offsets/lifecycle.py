"""A sink project's status lifecycle: which transitions exist, who may make them, and what they need.

draft → submitted → under_review → registered, or rejected (with a reason);
registered → suspended → registered; registered or suspended → closed. A rejected project may be
revised and submitted again. Every transition is recorded with who made it, when and why; any other
transition is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ProjectStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    REGISTERED = "registered"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class Role(StrEnum):
    """Roles that act on projects (the API maps users and keys to these)."""

    REGISTRY_ADMIN = "registry_admin"
    REVIEWER = "reviewer"
    VERIFIER = "verifier"
    PROJECT_OWNER = "project_owner"


@dataclass(frozen=True)
class Transition:
    source: ProjectStatus
    target: ProjectStatus
    roles: frozenset[Role]
    reason_required: bool = False


S = ProjectStatus
TRANSITIONS: tuple[Transition, ...] = (
    Transition(S.DRAFT, S.SUBMITTED, frozenset({Role.PROJECT_OWNER})),
    Transition(S.REJECTED, S.SUBMITTED, frozenset({Role.PROJECT_OWNER})),
    Transition(S.SUBMITTED, S.UNDER_REVIEW, frozenset({Role.REVIEWER, Role.REGISTRY_ADMIN})),
    Transition(S.UNDER_REVIEW, S.REGISTERED, frozenset({Role.REVIEWER, Role.REGISTRY_ADMIN})),
    Transition(
        S.UNDER_REVIEW, S.REJECTED, frozenset({Role.REVIEWER, Role.REGISTRY_ADMIN}), reason_required=True
    ),
    Transition(S.REGISTERED, S.SUSPENDED, frozenset({Role.REGISTRY_ADMIN}), reason_required=True),
    Transition(S.SUSPENDED, S.REGISTERED, frozenset({Role.REGISTRY_ADMIN}), reason_required=True),
    Transition(
        S.REGISTERED, S.CLOSED, frozenset({Role.REGISTRY_ADMIN, Role.PROJECT_OWNER}), reason_required=True
    ),
    Transition(S.SUSPENDED, S.CLOSED, frozenset({Role.REGISTRY_ADMIN}), reason_required=True),
)
_BY_EDGE = {(t.source, t.target): t for t in TRANSITIONS}


class TransitionRefused(Exception):
    """The transition does not exist, the actor's role may not make it, or it lacks a reason."""

    def __init__(self, message: str, field: str = "status", kind: str = "edge") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.kind = kind
        """``edge`` (no such transition), ``role`` (not this role's to make) or ``reason`` (missing)."""


def check_transition(source: ProjectStatus, target: ProjectStatus, role: Role, reason: str) -> Transition:
    """The transition ``source → target`` if ``role`` may make it with this ``reason``; else refuse."""
    transition = _BY_EDGE.get((source, target))
    if transition is None:
        allowed = sorted(t.target.value for t in TRANSITIONS if t.source == source)
        raise TransitionRefused(
            f"a {source.value} project cannot become {target.value}"
            + (f"; it can become {', '.join(allowed)}" if allowed else "; it is final")
        )
    if role not in transition.roles:
        raise TransitionRefused(
            f"a {role.value} may not move a project from {source.value} to {target.value}",
            field="role",
            kind="role",
        )
    if transition.reason_required and not reason.strip():
        raise TransitionRefused(
            f"moving a project to {target.value} needs a reason", field="reason", kind="reason"
        )
    return transition


def next_statuses(source: ProjectStatus) -> list[ProjectStatus]:
    return [t.target for t in TRANSITIONS if t.source == source]
