"""What a caller asks the ledger to do: issue, transfer, retire or cancel, checked before any lock.

A command carries a request id (the idempotency key) and either explicit serial ranges or a quantity
that the sequencer resolves to the account's lowest serials. Everything a command says is checked here,
without the database: types, positivity, whole kilograms, sizes and identifier formats.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from ledger import limits
from ledger.errors import InvalidCommand
from ledger.ranges import SerialRange
from ledger.serials import batch_id, check_account_id, parse_batch_id
from ledger.value_checks import check_quantity_kg, check_request_id, check_text

RETIREMENT_REASONS = (
    "compliance_period",
    "event",
    "personal_footprint",
    "voluntary_corporate",
    "gift",
    "other",
)
"""Why kilograms were retired; the certificate states it. ``details`` names the period, event or other."""

REASONS_NEEDING_DETAILS = frozenset({"compliance_period", "event", "other"})

ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
"""A batch attribute's name: a lower-case identifier, matched whole (no trailing newline either)."""


def _check_ranges(ranges: tuple[SerialRange, ...]) -> None:
    if len(ranges) > limits.MAX_RANGES_PER_ENTRY:
        raise InvalidCommand(f"at most {limits.MAX_RANGES_PER_ENTRY} ranges per entry", field="ranges")
    ordered = sorted(ranges)
    for index, item in enumerate(ordered):
        parse_batch_id(item.batch_id)
        check_quantity_kg(item.start, "ranges.start")
        check_quantity_kg(item.end, "ranges.end")
        if index and ordered[index - 1].overlaps(item):
            raise InvalidCommand("ranges overlap each other", field="ranges")


@dataclass(frozen=True)
class Selection:
    """Which kilograms a command moves: explicit ranges, or a quantity taken lowest serial first.

    With a quantity, ``batches`` (if given) limits and orders the batches it may come from.
    """

    ranges: tuple[SerialRange, ...] = ()
    quantity_kg: int | None = None
    batches: tuple[str, ...] = ()

    def validate(self) -> None:
        if bool(self.ranges) == (self.quantity_kg is not None):
            raise InvalidCommand("give either ranges or a quantity, not both or neither", field="quantity_kg")
        if self.ranges:
            _check_ranges(self.ranges)
            total = sum(item.quantity_kg for item in self.ranges)
            check_quantity_kg(total, "ranges")
        else:
            check_quantity_kg(self.quantity_kg)
        if len(self.batches) > limits.MAX_RANGES_PER_ENTRY or len(set(self.batches)) != len(self.batches):
            raise InvalidCommand("batches must be distinct and at most 1000", field="batches")
        for item in self.batches:
            parse_batch_id(item)

    @property
    def total_kg(self) -> int | None:
        if self.ranges:
            return sum(item.quantity_kg for item in self.ranges)
        return self.quantity_kg


@dataclass(frozen=True)
class Allocation:
    """Part of a new batch's serial block, credited to one account (e.g. the owner, the buffer pool)."""

    account: str
    quantity_kg: int


@dataclass(frozen=True)
class Issue:
    """Create a batch with serial block ``1..sum(allocations)`` and credit it in the order given."""

    kind: ClassVar[str] = "issue"
    request_id: str
    project: str
    vintage: str
    number: int
    allocations: tuple[Allocation, ...]
    attributes: Mapping[str, str | int | bool] = field(default_factory=dict)

    @property
    def batch_id(self) -> str:
        return batch_id(self.project, self.vintage, self.number)

    def validate(self) -> None:
        check_request_id(self.request_id)
        _ = self.batch_id
        if not self.allocations:
            raise InvalidCommand("an issue needs at least one allocation", field="allocations")
        if len(self.allocations) > limits.MAX_ALLOCATIONS_PER_ISSUE:
            raise InvalidCommand(
                f"at most {limits.MAX_ALLOCATIONS_PER_ISSUE} allocations", field="allocations"
            )
        for allocation in self.allocations:
            check_account_id(allocation.account, "allocations.account")
            check_quantity_kg(allocation.quantity_kg, "allocations.quantity_kg")
        check_quantity_kg(sum(a.quantity_kg for a in self.allocations), "allocations")
        _check_attributes(self.attributes)


@dataclass(frozen=True)
class Transfer:
    kind: ClassVar[str] = "transfer"
    request_id: str
    from_account: str
    to_account: str
    selection: Selection
    memo: str = ""

    def validate(self) -> None:
        check_request_id(self.request_id)
        check_account_id(self.from_account, "from")
        check_account_id(self.to_account, "to")
        if self.from_account == self.to_account:
            raise InvalidCommand("an account cannot transfer to itself", field="to")
        self.selection.validate()
        check_text(self.memo, "memo", limits.MAX_DETAILS_CHARS, required=False)


@dataclass(frozen=True)
class Beneficiary:
    """Whom a retirement is for: a person, event or company, distinct from the retiring account.

    A private name never enters the public entry body: the body carries a salted SHA-256 commitment,
    and the name and salt are kept apart so that the certificate holder can prove it.
    """

    name: str
    public: bool

    def validate(self) -> None:
        check_text(self.name, "beneficiary.name", limits.MAX_NAME_CHARS, required=True)
        if not isinstance(self.public, bool):
            raise InvalidCommand("must be true or false", field="beneficiary.public")


@dataclass(frozen=True)
class Retire:
    kind: ClassVar[str] = "retire"
    request_id: str
    account: str
    selection: Selection
    beneficiary: Beneficiary
    reason: str
    details: str = ""

    def validate(self) -> None:
        check_request_id(self.request_id)
        check_account_id(self.account)
        self.selection.validate()
        self.beneficiary.validate()
        if self.reason not in RETIREMENT_REASONS:
            raise InvalidCommand(f"reason must be one of {', '.join(RETIREMENT_REASONS)}", field="reason")
        check_text(
            self.details, "details", limits.MAX_DETAILS_CHARS, required=self.reason in REASONS_NEEDING_DETAILS
        )


@dataclass(frozen=True)
class Cancel:
    """Registry only: take kilograms out of circulation for good (reversal, error), with a reason."""

    kind: ClassVar[str] = "cancel"
    request_id: str
    account: str
    selection: Selection
    reason: str

    def validate(self) -> None:
        check_request_id(self.request_id)
        check_account_id(self.account)
        self.selection.validate()
        check_text(self.reason, "reason", limits.MAX_REASON_CHARS, required=True)


Command = Issue | Transfer | Retire | Cancel


def _check_attributes(attributes: Mapping[str, object]) -> None:
    if not isinstance(attributes, Mapping) or len(attributes) > limits.MAX_ATTRIBUTES:
        raise InvalidCommand(f"at most {limits.MAX_ATTRIBUTES} attributes", field="attributes")
    for key, value in attributes.items():
        if not isinstance(key, str) or not ATTRIBUTE_NAME.fullmatch(key):
            raise InvalidCommand("attribute names are lower-case identifiers", field="attributes")
        if isinstance(value, str):
            check_text(value, f"attributes.{key}", limits.MAX_ATTRIBUTE_CHARS, required=False)
        elif isinstance(value, bool) or (isinstance(value, int) and abs(value) <= limits.MAX_QUANTITY_KG):
            continue
        else:
            raise InvalidCommand("attribute values are text, integers or booleans", field=f"attributes.{key}")
