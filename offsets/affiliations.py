"""Affiliations between organisations, and the conflicts of interest they make for verification.

A verification body may not verify a project whose owner is affiliated with it, nor a project it (or an
organisation of its group) consulted on or designed. The registry records affiliations as facts — two
organisations, a kind, a validity, the evidence — and :func:`conflicts_of_interest` answers, for a verifier
and a project at a moment, why the verifier may not verify it (an empty list: nothing known against it).

Sources. The rule comes from the CCER programme: under 《温室气体自愿减排交易管理办法（试行）》 (2023)
verification is done by bodies that SAMR approves, and SAMR's 《温室气体自愿减排项目审定与减排量核查实施规则》
(in force 2023-12-25) requires the verification team to be independent of the project it verifies, with no
interest in it. The impartiality requirements that ISO 14065:2020 / GB/T ISO 14065 take from
ISO/IEC 17029:2019 §5.3 include, as verification bodies' published impartiality policies state them, not
validating or verifying a claim the body gave consultancy on (the self-review threat). The exact article
numbers of the 2023 measures and rules were not found in the reference material available when this was
written; they are deliberately not cited rather than guessed.

The kinds:

- ``parent_subsidiary``, ``common_control`` (a common shareholder or controller), and
  ``shared_legal_representative`` (one person is the legal representative, 法定代表人, of both) make the two
  one group. Groups are followed transitively — A parent of B and B parent of C make A and C affiliated —
  for at most :data:`MAX_AFFILIATION_HOPS` affiliations, a limit so that one long chain of weak links
  cannot make every organisation of the province conflicted, and so that the search is bounded.
- ``consulting_on_project`` records that one organisation consulted on, or designed, one project of the
  other (the project's owner). It conflicts only for that project, for the consultant and its group, and
  — unlike a group affiliation — it goes on conflicting after the consulting ended: having consulted is the
  threat to impartiality (the self-review threat of ISO/IEC 17029 §5.3), not being under contract.

Records are never changed. An affiliation that ended is closed by an :class:`AffiliationEnding` from
``ended_at``; one that never held (recorded in error) is withdrawn by an ending with ``recorded_in_error``,
after which it counts at no time. Functions take the caller's session (one unit of work) and never commit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ledger.orm import as_utc
from offsets.actors import Actor
from offsets.errors import Conflict, Forbidden, InvalidInput, NotFound
from offsets.lifecycle import Role
from offsets.models import (
    AFFILIATION_KINDS,
    AffiliationEnding,
    Organisation,
    OrganisationAffiliation,
    Project,
)

PARENT_SUBSIDIARY: Final = "parent_subsidiary"
COMMON_CONTROL: Final = "common_control"
SHARED_LEGAL_REPRESENTATIVE: Final = "shared_legal_representative"
CONSULTING_ON_PROJECT: Final = "consulting_on_project"
GROUP_KINDS: Final = frozenset({PARENT_SUBSIDIARY, COMMON_CONTROL, SHARED_LEGAL_REPRESENTATIVE})
"""The kinds that make two organisations one group, followed transitively."""
assert GROUP_KINDS | {CONSULTING_ON_PROJECT} == set(AFFILIATION_KINDS)

MAX_AFFILIATION_HOPS: Final = 4
"""How many group affiliations a chain may have: enough for cousins in a two-level group (up to the common
parent and down again), the registry's choice rather than a rule's — no source fixes a depth."""
MAX_GROUP_ORGANISATIONS: Final = 10_000
"""A bound on one search; a group this large means the recorded affiliations are wrong."""
MAX_SOURCE_CHARS: Final = 5000
MAX_REASON_CHARS: Final = 5000


# --- the pure rule ------------------------------------------------------------------------------------


def canonical_pair(first_id: int, second_id: int) -> tuple[int, int]:
    """The unordered pair as stored: smaller id first. An organisation is not affiliated with itself."""
    if first_id == second_id:
        raise InvalidInput("an organisation is not affiliated with itself", field="other_organisation_id")
    return (first_id, second_id) if first_id < second_id else (second_id, first_id)


@dataclass(frozen=True)
class AffiliationFact:
    """One affiliation with what is known of its end: what the rule reads, free of the database."""

    id: int
    organisation_a_id: int
    organisation_b_id: int
    kind: str
    valid_from: datetime
    valid_to: datetime | None = None
    ended_at: datetime | None = None
    recorded_in_error: bool = False
    project_id: int | None = None

    def __post_init__(self) -> None:
        assert self.organisation_a_id < self.organisation_b_id, self
        assert self.kind in AFFILIATION_KINDS, self.kind
        assert (self.kind == CONSULTING_ON_PROJECT) == (self.project_id is not None), self

    def other(self, organisation_id: int) -> int:
        assert organisation_id in (self.organisation_a_id, self.organisation_b_id), organisation_id
        return self.organisation_b_id if organisation_id == self.organisation_a_id else self.organisation_a_id

    def holds_at(self, at: datetime) -> bool:
        """In force at ``at``: begun, not past its term, not ended, not withdrawn."""
        if self.recorded_in_error or as_utc(self.valid_from) > at:
            return False
        return all(end is None or at < as_utc(end) for end in (self.valid_to, self.ended_at))

    def conflicts_at(self, at: datetime) -> bool:
        """Whether it conflicts at ``at``: a group affiliation while it holds; consulting once begun."""
        if self.kind == CONSULTING_ON_PROJECT:
            return not self.recorded_in_error and as_utc(self.valid_from) <= at
        return self.holds_at(at)

    def describe(self) -> str:
        pair = f"organisations {self.organisation_a_id} and {self.organisation_b_id}"
        return f"affiliation {self.id} ({self.kind}, {pair})"


@dataclass(frozen=True)
class ConflictOfInterest:
    """Why a verifier may not verify a project: the chain of affiliations from the verifier."""

    kind: str
    """``affiliated_with_owner`` (one group) or ``consulted_on_project`` (it or its group consulted)."""
    affiliation_ids: tuple[int, ...]
    organisation_ids: tuple[int, ...]
    """From the verifier to the owner (or to the consultant), one more than the affiliations."""
    message: str


def find_conflicts(
    facts: Iterable[AffiliationFact],
    *,
    verifier_id: int,
    owner_id: int,
    project_id: int,
    at: datetime,
    max_hops: int = MAX_AFFILIATION_HOPS,
) -> list[ConflictOfInterest]:
    """The conflicts ``facts`` make for ``verifier_id`` verifying ``project_id`` of ``owner_id`` at ``at``.

    The verifier's group is searched breadth first, so each organisation is reached by a shortest chain;
    neighbours are taken in id order, so the answer does not depend on the order of ``facts``.
    """
    assert at.tzinfo is not None, "a moment in UTC"
    assert max_hops >= 1, max_hops
    at = as_utc(at)
    facts = sorted(facts, key=lambda fact: fact.id)
    group_edges: dict[int, list[AffiliationFact]] = {}
    for fact in facts:
        if fact.kind in GROUP_KINDS and fact.holds_at(at):
            group_edges.setdefault(fact.organisation_a_id, []).append(fact)
            group_edges.setdefault(fact.organisation_b_id, []).append(fact)
    reached = _group(group_edges, verifier_id, max_hops)
    conflicts: list[ConflictOfInterest] = []
    if verifier_id == owner_id:
        conflicts.append(
            ConflictOfInterest(
                "affiliated_with_owner", (), (verifier_id,), "the verifier is the project's owner"
            )
        )
    elif owner_id in reached:
        organisations, chain = _chain(reached, owner_id)
        conflicts.append(
            ConflictOfInterest(
                "affiliated_with_owner",
                tuple(fact.id for fact in chain),
                organisations,
                f"organisation {verifier_id} is affiliated with the project's owner {owner_id}: "
                + ", ".join(fact.describe() for fact in chain),
            )
        )
    for fact in facts:
        if fact.kind != CONSULTING_ON_PROJECT or fact.project_id != project_id or not fact.conflicts_at(at):
            continue
        consultants = [
            side
            for side in (fact.organisation_a_id, fact.organisation_b_id)
            if side in reached and side != owner_id
        ]
        if not consultants:
            continue
        organisations, chain = _chain(reached, consultants[0])
        via = "" if not chain else " through " + ", ".join(item.describe() for item in chain)
        conflicts.append(
            ConflictOfInterest(
                "consulted_on_project",
                (*(item.id for item in chain), fact.id),
                organisations,
                f"organisation {consultants[0]} consulted on or designed project {project_id} "
                f"({fact.describe()}){via}",
            )
        )
    return conflicts


_Reached = dict[int, tuple[int, AffiliationFact] | None]
"""Each organisation of the group → the organisation and affiliation it was reached from (None: the start)."""


def _group(edges: dict[int, list[AffiliationFact]], start: int, max_hops: int) -> _Reached:
    reached: _Reached = {start: None}
    frontier: deque[tuple[int, int]] = deque([(start, 0)])
    while frontier:
        organisation, hops = frontier.popleft()
        if hops == max_hops:
            continue
        for fact in sorted(edges.get(organisation, ()), key=lambda item: (item.other(organisation), item.id)):
            neighbour = fact.other(organisation)
            if neighbour not in reached:
                reached[neighbour] = (organisation, fact)
                frontier.append((neighbour, hops + 1))
        assert len(reached) <= MAX_GROUP_ORGANISATIONS, "a group this large means the affiliations are wrong"
    return reached


def _chain(reached: _Reached, end: int) -> tuple[tuple[int, ...], list[AffiliationFact]]:
    organisations = [end]
    chain: list[AffiliationFact] = []
    step = reached[end]
    while step is not None:
        previous, fact = step
        organisations.append(previous)
        chain.append(fact)
        step = reached[previous]
    return tuple(reversed(organisations)), list(reversed(chain))


# --- recording and ending affiliations ----------------------------------------------------------------


@dataclass(frozen=True)
class NewAffiliation:
    """An affiliation as the registry records it (or an organisation declares it when it registers)."""

    organisation_id: int
    other_organisation_id: int
    kind: str
    valid_from: datetime
    source: str
    project_id: int | None = None
    parent_organisation_id: int | None = None
    valid_to: datetime | None = None


def _require_registry_admin(actor: Actor) -> None:
    if actor.role is not Role.REGISTRY_ADMIN:
        raise Forbidden("only the registry records and ends affiliations", field="role")


def _text(value: str, field: str, max_chars: int) -> str:
    text = (value or "").strip()
    if not 1 <= len(text) <= max_chars:
        raise InvalidInput(f"1 to {max_chars} characters are required", field=field)
    return text


def _moment(value: datetime, field: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput("a moment with its UTC offset (RFC 3339)", field=field)
    return value.astimezone(UTC)


def record_affiliation(
    session: Session, command: NewAffiliation, actor: Actor, *, now: datetime
) -> OrganisationAffiliation:
    """Record an affiliation after checking it names real organisations, a known kind and its evidence."""
    _require_registry_admin(actor)
    if command.kind not in AFFILIATION_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(AFFILIATION_KINDS)}", field="kind")
    for field, organisation_id in (
        ("organisation_id", command.organisation_id),
        ("other_organisation_id", command.other_organisation_id),
    ):
        if session.get(Organisation, organisation_id) is None:
            raise NotFound(f"no organisation {organisation_id}", field=field)
    first, second = canonical_pair(command.organisation_id, command.other_organisation_id)
    _check_project(session, command)
    _check_parent(command, (first, second))
    valid_from = _moment(command.valid_from, "valid_from")
    valid_to = None if command.valid_to is None else _moment(command.valid_to, "valid_to")
    if valid_to is not None and valid_to <= valid_from:
        raise InvalidInput("an affiliation ends after it begins", field="valid_to")
    source = _text(command.source, "source", MAX_SOURCE_CHARS)
    for existing, ending in _recorded(session, first, second, command.kind, command.project_id):
        open_ended = ending is None and (existing.valid_to is None or as_utc(existing.valid_to) > valid_from)
        if open_ended:
            raise Conflict(
                f"affiliation {existing.id} records this already; end it before recording it again",
                field="other_organisation_id",
            )
    affiliation = OrganisationAffiliation(
        organisation_a_id=first,
        organisation_b_id=second,
        kind=command.kind,
        parent_organisation_id=command.parent_organisation_id,
        project_id=command.project_id,
        valid_from=valid_from,
        valid_to=valid_to,
        source=source,
        recorded_by=actor.name[:200],
        recorded_at=_moment(now, "now"),
    )
    session.add(affiliation)
    session.flush()
    return affiliation


def _check_project(session: Session, command: NewAffiliation) -> None:
    if command.kind != CONSULTING_ON_PROJECT:
        if command.project_id is not None:
            raise InvalidInput("only a consulting_on_project affiliation names a project", field="project_id")
        return
    if command.project_id is None:
        raise InvalidInput("a consulting_on_project affiliation names its project", field="project_id")
    project = session.get(Project, command.project_id)
    if project is None:
        raise NotFound(f"no project {command.project_id}", field="project_id")
    if project.owner_id not in (command.organisation_id, command.other_organisation_id):
        raise InvalidInput(
            f"consulting on project {project.id} is between its owner (organisation {project.owner_id}) "
            "and the consultant",
            field="project_id",
        )


def _check_parent(command: NewAffiliation, pair: tuple[int, int]) -> None:
    if command.kind != PARENT_SUBSIDIARY:
        if command.parent_organisation_id is not None:
            raise InvalidInput(
                "only a parent_subsidiary affiliation names a parent", field="parent_organisation_id"
            )
        return
    if command.parent_organisation_id not in pair:
        raise InvalidInput(
            "a parent_subsidiary affiliation names which of the two organisations is the parent",
            field="parent_organisation_id",
        )


def _recorded(
    session: Session, first: int, second: int, kind: str, project_id: int | None
) -> list[tuple[OrganisationAffiliation, AffiliationEnding | None]]:
    rows = session.execute(
        select(OrganisationAffiliation, AffiliationEnding)
        .outerjoin(AffiliationEnding, AffiliationEnding.affiliation_id == OrganisationAffiliation.id)
        .where(
            OrganisationAffiliation.organisation_a_id == first,
            OrganisationAffiliation.organisation_b_id == second,
            OrganisationAffiliation.kind == kind,
            OrganisationAffiliation.project_id.is_(None)
            if project_id is None
            else OrganisationAffiliation.project_id == project_id,
        )
        .order_by(OrganisationAffiliation.id)
    )
    return [(affiliation, ending) for affiliation, ending in rows]


def get_affiliation(session: Session, affiliation_id: int) -> OrganisationAffiliation:
    affiliation = session.get(OrganisationAffiliation, affiliation_id)
    if affiliation is None:
        raise NotFound(f"no affiliation {affiliation_id}", field="affiliation_id")
    return affiliation


def ending_of(session: Session, affiliation: OrganisationAffiliation) -> AffiliationEnding | None:
    return session.scalar(select(AffiliationEnding).where(AffiliationEnding.affiliation_id == affiliation.id))


def end_affiliation(
    session: Session,
    affiliation: OrganisationAffiliation,
    actor: Actor,
    *,
    reason: str,
    now: datetime,
    ended_at: datetime | None = None,
    recorded_in_error: bool = False,
) -> AffiliationEnding:
    """End an affiliation from ``ended_at`` (default ``now``), or withdraw it as recorded in error.

    An end lies between the affiliation's beginning and now: an end known in advance is the record's
    ``valid_to``, given when it is recorded.
    """
    _require_registry_admin(actor)
    now = _moment(now, "now")
    existing = ending_of(session, affiliation)
    if existing is not None:
        what = "withdrawn" if existing.recorded_in_error else f"ended at {as_utc(existing.ended_at)}"
        raise Conflict(f"affiliation {affiliation.id} was {what} already", field="affiliation_id")
    reason = _text(reason, "reason", MAX_REASON_CHARS)
    end = now if ended_at is None else _moment(ended_at, "ended_at")
    if recorded_in_error and ended_at is not None:
        raise InvalidInput("a withdrawn affiliation never held; give no ended_at", field="ended_at")
    if not recorded_in_error and not as_utc(affiliation.valid_from) < end <= now:
        raise InvalidInput(
            f"an affiliation ends after it began ({as_utc(affiliation.valid_from)}) and not in the future",
            field="ended_at",
        )
    ending = AffiliationEnding(
        affiliation_id=affiliation.id,
        ended_at=end,
        recorded_in_error=recorded_in_error,
        reason=reason,
        recorded_by=actor.name[:200],
        recorded_at=now,
    )
    session.add(ending)
    session.flush()
    return ending


def affiliation_status(
    affiliation: OrganisationAffiliation, ending: AffiliationEnding | None, at: datetime
) -> str:
    """``withdrawn``, ``ended``, ``expired`` (past ``valid_to``), ``pending`` (not begun) or ``active``."""
    fact = _fact(affiliation, ending)
    if fact.recorded_in_error:
        return "withdrawn"
    if fact.ended_at is not None and as_utc(fact.ended_at) <= at:
        return "ended"
    if fact.valid_to is not None and as_utc(fact.valid_to) <= at:
        return "expired"
    return "active" if fact.holds_at(at) else "pending"


def affiliations_of(
    session: Session, organisation_id: int
) -> list[tuple[OrganisationAffiliation, AffiliationEnding | None]]:
    """Every affiliation an organisation is a party to, oldest first, with its ending if it has one."""
    rows = session.execute(
        select(OrganisationAffiliation, AffiliationEnding)
        .outerjoin(AffiliationEnding, AffiliationEnding.affiliation_id == OrganisationAffiliation.id)
        .where(
            or_(
                OrganisationAffiliation.organisation_a_id == organisation_id,
                OrganisationAffiliation.organisation_b_id == organisation_id,
            )
        )
        .order_by(OrganisationAffiliation.id)
    )
    return [(affiliation, ending) for affiliation, ending in rows]


# --- the rule on the registry's records ---------------------------------------------------------------


def _fact(affiliation: OrganisationAffiliation, ending: AffiliationEnding | None) -> AffiliationFact:
    return AffiliationFact(
        id=affiliation.id,
        organisation_a_id=affiliation.organisation_a_id,
        organisation_b_id=affiliation.organisation_b_id,
        kind=affiliation.kind,
        valid_from=as_utc(affiliation.valid_from),
        valid_to=None if affiliation.valid_to is None else as_utc(affiliation.valid_to),
        ended_at=None if ending is None else as_utc(ending.ended_at),
        recorded_in_error=bool(ending is not None and ending.recorded_in_error),
        project_id=affiliation.project_id,
    )


def _facts_touching(session: Session, organisation_ids: Sequence[int]) -> list[AffiliationFact]:
    rows = session.execute(
        select(OrganisationAffiliation, AffiliationEnding)
        .outerjoin(AffiliationEnding, AffiliationEnding.affiliation_id == OrganisationAffiliation.id)
        .where(
            or_(
                OrganisationAffiliation.organisation_a_id.in_(organisation_ids),
                OrganisationAffiliation.organisation_b_id.in_(organisation_ids),
            )
        )
    )
    return [_fact(affiliation, ending) for affiliation, ending in rows]


def conflicts_of_interest(
    session: Session,
    verifier_id: int,
    project: Project,
    at: datetime,
    *,
    max_hops: int = MAX_AFFILIATION_HOPS,
) -> list[ConflictOfInterest]:
    """Why ``verifier_id`` may not verify ``project`` at ``at``; an empty list when nothing is recorded.

    Reads only the affiliations within ``max_hops`` of the verifier, one query per hop, and leaves the
    rule itself to :func:`find_conflicts`.
    """
    at = _moment(at, "at")
    facts: dict[int, AffiliationFact] = {}
    seen = {verifier_id}
    frontier = [verifier_id]
    for hop in range(max_hops + 1):
        if not frontier:
            break
        fresh = [fact for fact in _facts_touching(session, frontier) if fact.id not in facts]
        facts.update((fact.id, fact) for fact in fresh)
        if hop == max_hops:
            break  # the last ring's own affiliations are read (their consulting counts), not followed
        following = set()
        for fact in fresh:
            if fact.kind in GROUP_KINDS and fact.holds_at(at):
                for side in (fact.organisation_a_id, fact.organisation_b_id):
                    if side not in seen:
                        following.add(side)
        seen |= following
        frontier = sorted(following)
        assert len(seen) <= MAX_GROUP_ORGANISATIONS, "a group this large means the affiliations are wrong"
    return find_conflicts(
        facts.values(),
        verifier_id=verifier_id,
        owner_id=project.owner_id,
        project_id=project.id,
        at=at,
        max_hops=max_hops,
    )
