"""The ledger's rules: how a command becomes entry data, and how entry data changes the holdings.

Both the sequencer (against the database, inside the append transaction) and ``verify`` (replaying
every entry into memory) run :func:`apply` on the same data, so there is one statement of the rules:

* an issue creates a new batch whose serial block ``1..N`` is tiled exactly by its allocations;
* a transfer, retirement or cancellation names serial ranges that the account holds right now, and
  their sizes add up to the stated quantity; retired and cancelled kilograms leave the holdings for good,
  so no kilogram can be retired twice or moved after retirement;
* every referenced account exists, every batch exists, every serial string states its batch and range.
"""

from __future__ import annotations

import hashlib
import secrets
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Final

from ledger import limits
from ledger.canonical import canonical_bytes
from ledger.commands import (
    RETIREMENT_REASONS,
    Cancel,
    Command,
    Issue,
    Retire,
    Selection,
    Transfer,
)
from ledger.entries import is_digest_hex
from ledger.errors import (
    DuplicateBatch,
    InsufficientHolding,
    InvalidCommand,
    RangeNotHeld,
    UnknownAccount,
    UnknownBatch,
)
from ledger.ranges import Span, covers, merge_spans, subtract, take_lowest
from ledger.serials import check_account_id, parse_batch_id, serial_number
from ledger.value_checks import check_quantity_kg, check_text

KINDS: Final = ("issue", "transfer", "retire", "cancel")
CLOSING_KINDS: Final = ("retire", "cancel")
CLOSED_STATUS: Final = {"retire": "retired", "cancel": "cancelled"}
ClosedRow = tuple[int, str, int, int, str, str]
"""``(seq, batch, start, end, account, status)`` of a retired or cancelled range, as stored."""


class HoldingsState:
    """What the rules need to know and change; backed by memory (replay) or the database (append).

    A base class that both states derive from, not a protocol: compiled (``ledger/native.py``), the rules
    then reach a state's methods through the class's table of functions, instead of looking each one up
    by name and parsing its arguments as a call from Python would; they make several calls per entry.
    """

    @abstractmethod
    def account_exists(self, account: str) -> bool: ...

    @abstractmethod
    def batch_quantity(self, batch: str) -> int | None: ...

    @abstractmethod
    def held(self, account: str, batch: str) -> list[Span]: ...

    @abstractmethod
    def set_held(self, account: str, batch: str, spans: list[Span]) -> None: ...

    @abstractmethod
    def credit(self, account: str, batch: str, span: Span) -> None: ...

    @abstractmethod
    def batches_held_by(self, account: str) -> list[str]: ...

    @abstractmethod
    def add_batch(self, batch: str, quantity_kg: int, seq: int) -> None: ...

    @abstractmethod
    def close(self, status: str, account: str, batch: str, span: Span, seq: int) -> None: ...


@dataclass(frozen=True)
class BeneficiarySecret:
    """The private half of a retirement whose beneficiary's name is not public."""

    name: str
    salt: str

    def __reduce__(self) -> tuple[type[BeneficiarySecret], tuple[str, str]]:
        # Through the constructor, as compiled frozen dataclasses need (ledger/native.py).
        return (BeneficiarySecret, (self.name, self.salt))


def beneficiary_commitment(name: str, salt: str) -> str:
    """SHA-256 of the canonical JSON ``{"name": name, "salt": salt}``, lowercase hex."""
    # Two ASCII keys and two texts: the form orjson writes is RFC 8785's, with no need to walk it.
    return hashlib.sha256(canonical_bytes({"name": name, "salt": salt}, fast=True)).hexdigest()


# --- commands to data ---------------------------------------------------------------------------------


def resolve(command: Command, state: HoldingsState) -> tuple[dict[str, Any], BeneficiarySecret | None]:
    """The entry data for ``command`` given the current holdings (quantities become serial ranges)."""
    if isinstance(command, Issue):
        return _resolve_issue(command), None
    if isinstance(command, Transfer):
        _account(state, command.from_account, "from")
        data: dict[str, Any] = {
            "from": command.from_account,
            "to": command.to_account,
            **_resolve_selection(state, command.from_account, command.selection),
        }
        memo = command.memo.strip()
        if memo:
            data["memo"] = memo
        return data, None
    if isinstance(command, Retire):
        _account(state, command.account, "account")
        secret = None
        name = command.beneficiary.name.strip()
        if command.beneficiary.public:
            beneficiary: dict[str, Any] = {"public": True, "name": name}
        else:
            secret = BeneficiarySecret(name=name, salt=secrets.token_hex(16))
            beneficiary = {"public": False, "commitment": beneficiary_commitment(name, secret.salt)}
        data = {
            "account": command.account,
            **_resolve_selection(state, command.account, command.selection),
            "reason": command.reason,
            "details": command.details.strip(),
            "beneficiary": beneficiary,
        }
        return data, secret
    assert isinstance(command, Cancel)
    _account(state, command.account, "account")
    data = {
        "account": command.account,
        **_resolve_selection(state, command.account, command.selection),
        "reason": command.reason.strip(),
    }
    return data, None


def _resolve_issue(command: Issue) -> dict[str, Any]:
    batch = command.batch_id
    allocations = []
    next_serial = 1
    for allocation in command.allocations:
        start, end = next_serial, next_serial + allocation.quantity_kg - 1
        allocations.append(
            {
                "account": allocation.account,
                "start": start,
                "end": end,
                "serial": serial_number(batch, start, end),
            }
        )
        next_serial = end + 1
    return {
        "batch": {
            "id": batch,
            "project": command.project,
            "vintage": command.vintage,
            "number": command.number,
            "quantity_kg": next_serial - 1,
            # Stored as checked: stripped, like every other text, so the length limit holds.
            "attributes": {key: _stripped(value) for key, value in command.attributes.items()},
        },
        "allocations": allocations,
    }


def _stripped(value: object) -> object:
    # ``object``, not the attribute's declared ``str | int | bool``: compiled (ledger/native.py), a value
    # narrowed to ``int | bool`` would be unboxed as an integer, and ``true`` would be written as ``1``.
    return value.strip() if isinstance(value, str) else value


def _resolve_selection(state: HoldingsState, account: str, selection: Selection) -> dict[str, Any]:
    if selection.ranges:
        spans = [(item.batch_id, item.start, item.end) for item in selection.ranges]
    else:
        assert selection.quantity_kg is not None
        spans = []
        remaining = selection.quantity_kg
        for batch in selection.batches:
            if state.batch_quantity(batch) is None:
                raise UnknownBatch(f"no batch {batch} has been issued", field="batches")
        for batch in selection.batches or tuple(state.batches_held_by(account)):
            taken, remaining = take_lowest(state.held(account, batch), remaining)
            spans.extend((batch, start, end) for start, end in taken)
            if remaining == 0:
                break
        if remaining:
            held_kg = selection.quantity_kg - remaining
            raise InsufficientHolding(
                f"account {account} holds {held_kg} kg that match, {selection.quantity_kg} kg were asked",
                field="quantity_kg",
            )
        if len(spans) > limits.MAX_RANGES_PER_ENTRY:
            raise InvalidCommand(
                f"the quantity is spread over more than {limits.MAX_RANGES_PER_ENTRY} ranges; "
                "move it in smaller parts",
                field="quantity_kg",
            )
    return {
        "quantity_kg": sum(end - start + 1 for _, start, end in spans),
        "ranges": [
            {"batch": batch, "start": start, "end": end, "serial": serial_number(batch, start, end)}
            for batch, start, end in spans
        ],
    }


# --- data to state ------------------------------------------------------------------------------------


def apply(state: HoldingsState, seq: int, kind: str, data: object) -> None:
    """Check ``data`` of an entry of ``kind`` against ``state`` and change ``state`` accordingly.

    Raises a :class:`~ledger.errors.LedgerError` and leaves ``state`` untouched if any rule fails.
    """
    if not isinstance(data, dict):
        raise InvalidCommand("entry data must be an object", field="data")
    if kind == "issue":
        _apply_issue(state, seq, data)
    elif kind == "transfer":
        _expect_keys(data, _TRANSFER_KEYS, _TRANSFER_OPTIONAL)
        source = _account(state, data["from"], "from")
        target = _account(state, data["to"], "to")
        if source == target:
            raise InvalidCommand("an account cannot transfer to itself", field="to")
        if "memo" in data:
            _exact_text(data["memo"], "memo", limits.MAX_DETAILS_CHARS, required=True)
        moves = _checked_ranges(state, source, data)
        for batch, start, end in moves:
            state.set_held(source, batch, subtract(state.held(source, batch), start, end))
        for batch, start, end in moves:
            state.credit(target, batch, (start, end))
    elif kind in CLOSING_KINDS:
        if kind == "retire":
            _expect_keys(data, _RETIRE_KEYS)
            _check_retirement_claim(data)
        else:
            _expect_keys(data, _CANCEL_KEYS)
            _exact_text(data["reason"], "reason", limits.MAX_REASON_CHARS, required=True)
        account = _account(state, data["account"], "account")
        closes = _checked_ranges(state, account, data)
        for batch, start, end in closes:
            state.set_held(account, batch, subtract(state.held(account, batch), start, end))
            state.close(CLOSED_STATUS[kind], account, batch, (start, end), seq)
    else:
        raise InvalidCommand(f"unknown entry kind {kind!r}", field="kind")


def _apply_issue(state: HoldingsState, seq: int, data: dict[str, Any]) -> None:
    _expect_keys(data, ("batch", "allocations"))
    batch = data["batch"]
    if not isinstance(batch, dict):
        raise InvalidCommand("must be an object", field="batch")
    _expect_keys(batch, ("id", "project", "vintage", "number", "quantity_kg", "attributes"))
    parsed = parse_batch_id(batch["id"])
    if (parsed.project, parsed.vintage, parsed.number) != (
        batch["project"],
        batch["vintage"],
        batch["number"],
    ):
        raise InvalidCommand("batch id does not match its project, vintage and number", field="batch.id")
    batch_id = str(parsed)
    quantity_kg = check_quantity_kg(batch["quantity_kg"], "batch.quantity_kg")
    if not isinstance(batch["attributes"], dict):
        raise InvalidCommand("must be an object", field="batch.attributes")
    if state.batch_quantity(batch_id) is not None:
        raise DuplicateBatch(f"batch {batch_id} has already been issued", field="batch.id")
    allocations = data["allocations"]
    if not isinstance(allocations, list) or not 1 <= len(allocations) <= limits.MAX_ALLOCATIONS_PER_ISSUE:
        raise InvalidCommand("must be a non-empty list of allocations", field="allocations")
    expected_start = 1
    credits: list[tuple[str, Span]] = []
    for allocation in allocations:
        if not isinstance(allocation, dict):
            raise InvalidCommand("must be an object", field="allocations")
        _expect_keys(allocation, _ALLOCATION_KEYS)
        account = _account(state, allocation["account"], "allocations.account")
        start, end = _span(batch_id, allocation, quantity_kg, "allocations")
        if start != expected_start:
            raise InvalidCommand("allocations must tile the serial block in order", field="allocations")
        expected_start = end + 1
        credits.append((account, (start, end)))
    if expected_start - 1 != quantity_kg:
        raise InvalidCommand("allocations must cover the whole serial block", field="allocations")
    state.add_batch(batch_id, quantity_kg, seq)
    for account, span in credits:
        state.credit(account, batch_id, span)


def _check_retirement_claim(data: dict[str, Any]) -> None:
    if data["reason"] not in RETIREMENT_REASONS:
        raise InvalidCommand(f"reason must be one of {', '.join(RETIREMENT_REASONS)}", field="reason")
    _exact_text(data["details"], "details", limits.MAX_DETAILS_CHARS, required=False)
    beneficiary = data["beneficiary"]
    if not isinstance(beneficiary, dict) or not isinstance(beneficiary.get("public"), bool):
        raise InvalidCommand("must be an object with a boolean 'public'", field="beneficiary")
    if beneficiary["public"]:
        _expect_keys(beneficiary, _PUBLIC_BENEFICIARY_KEYS)
        _exact_text(beneficiary["name"], "beneficiary.name", limits.MAX_NAME_CHARS, required=True)
    else:
        _expect_keys(beneficiary, _PRIVATE_BENEFICIARY_KEYS)
        commitment = beneficiary["commitment"]
        if not isinstance(commitment, str) or not is_digest_hex(commitment):
            raise InvalidCommand("must be 64 lowercase hex digits", field="beneficiary.commitment")


def _checked_ranges(state: HoldingsState, account: str, data: dict[str, Any]) -> list[tuple[str, int, int]]:
    """The ``(batch, start, end)`` moves named by ``data``, each wholly held by ``account``."""
    ranges = data["ranges"]
    if not isinstance(ranges, list) or not 1 <= len(ranges) <= limits.MAX_RANGES_PER_ENTRY:
        raise InvalidCommand(f"must list 1 to {limits.MAX_RANGES_PER_ENTRY} ranges", field="ranges")
    moves: list[tuple[str, int, int]] = []
    total = 0
    for item in ranges:
        if not isinstance(item, dict):
            raise InvalidCommand("must be an object", field="ranges")
        _expect_keys(item, _RANGE_KEYS)
        batch = item["batch"]
        # An id the state knows was stored in its canonical form when issued: no need to parse it again.
        quantity = state.batch_quantity(batch) if type(batch) is str else None
        if quantity is None:
            parse_batch_id(batch)  # a malformed id is refused as such, not as a batch never issued
            raise UnknownBatch(f"no batch {batch} has been issued", field="ranges.batch")
        start, end = _span(batch, item, quantity, "ranges")
        moves.append((batch, start, end))
        total += end - start + 1
    if len(moves) > 1:
        for previous, current in pairwise(sorted(moves)):
            if previous[0] == current[0] and current[1] <= previous[2]:
                raise InvalidCommand("ranges overlap each other", field="ranges")
    if check_quantity_kg(data["quantity_kg"]) != total:
        raise InvalidCommand(
            f"quantity_kg is {data['quantity_kg']} but the ranges hold {total}", field="quantity_kg"
        )
    for batch, start, end in moves:
        if not covers(state.held(account, batch), start, end):
            raise RangeNotHeld(
                f"account {account} does not hold {serial_number(batch, start, end)}", field="ranges"
            )
    return moves


def _span(batch: str, item: dict[str, Any], batch_quantity: int, field: str) -> Span:
    start, end = item["start"], item["end"]
    if not (type(start) is int and type(end) is int and 0 < start <= end <= batch_quantity):
        start = check_quantity_kg(start, f"{field}.start")  # says exactly what is wrong
        end = check_quantity_kg(end, f"{field}.end")
    if end < start:
        raise InvalidCommand("a range cannot end before it starts", field=f"{field}.end")
    if end > batch_quantity:
        raise RangeNotHeld(f"batch {batch} has only {batch_quantity} kg", field=f"{field}.end")
    if item["serial"] != serial_number(batch, start, end):
        raise InvalidCommand("serial number does not state the batch and range", field=f"{field}.serial")
    return start, end


def _account(state: HoldingsState, value: object, field: str) -> str:
    account = check_account_id(value, field)
    if not state.account_exists(account):
        raise UnknownAccount(f"no account {account}", field=field)
    return account


def _exact_text(value: object, field: str, max_chars: int, *, required: bool) -> None:
    if check_text(value, field, max_chars, required=required) != value:
        raise InvalidCommand("must not have leading or trailing spaces", field=field)


# Key lists as constants: apply() runs on every entry appended and every entry a verification replays.
_RANGE_KEYS: Final = ("batch", "start", "end", "serial")
_ALLOCATION_KEYS: Final = ("account", "start", "end", "serial")
_TRANSFER_KEYS: Final = ("from", "to", "quantity_kg", "ranges")
_TRANSFER_OPTIONAL: Final = ("memo",)
_RETIRE_KEYS: Final = ("account", "quantity_kg", "ranges", "reason", "details", "beneficiary")
_CANCEL_KEYS: Final = ("account", "quantity_kg", "ranges", "reason")
_PUBLIC_BENEFICIARY_KEYS: Final = ("public", "name")
_PRIVATE_BENEFICIARY_KEYS: Final = ("public", "commitment")


def _expect_keys(data: dict[str, Any], required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    """Refuse ``data`` unless it has every key of ``required``, any of ``optional`` and no other.

    Counted and looked up, not compared as sets: compiled, comparing ``data.keys()`` with a frozenset
    goes through the iterator protocol key by key and cost twice as much, and this runs two or three
    times for every entry appended or replayed.
    """
    expected = len(required) + sum(1 for key in optional if key in data)
    if len(data) == expected and all(key in data for key in required):
        return
    keys = set(data)
    missing = set(required) - keys
    if missing:
        raise InvalidCommand(f"missing {', '.join(sorted(missing))}", field=sorted(missing)[0])
    unknown = keys - set(required) - set(optional)
    if unknown:
        raise InvalidCommand(f"unexpected {', '.join(sorted(unknown))}", field=sorted(unknown)[0])


def repeats(command: Command, kind: str, data: dict[str, Any], salt: str | None) -> bool:  # noqa: PLR0911
    """Whether ``command`` asks for what the stored entry (``kind``, ``data``) did: a safe retry.

    Everything the caller stated must agree: accounts, quantity, explicit ranges, the batches a quantity
    was limited to, texts, and the beneficiary (a private name is checked against its commitment with
    the stored ``salt``). Serial ranges chosen by the sequencer for a quantity are not the caller's.
    """
    if kind != command.kind:
        return False
    if isinstance(command, Issue):
        return bool(data == _resolve_issue(command))
    selection = command.selection
    ranges = [(item["batch"], item["start"], item["end"]) for item in data["ranges"]]
    if selection.ranges and sorted(ranges) != sorted((r.batch_id, r.start, r.end) for r in selection.ranges):
        return False
    if selection.batches and not {batch for batch, _, _ in ranges} <= set(selection.batches):
        return False
    if data["quantity_kg"] != selection.total_kg:
        return False
    if isinstance(command, Transfer):
        stated = {"from": command.from_account, "to": command.to_account, "memo": command.memo.strip()}
        return stated == {"from": data["from"], "to": data["to"], "memo": data.get("memo", "")}
    if isinstance(command, Cancel):
        return bool(data["account"] == command.account and data["reason"] == command.reason.strip())
    beneficiary = data["beneficiary"]
    name = command.beneficiary.name.strip()
    if beneficiary["public"]:
        same_beneficiary = command.beneficiary.public and beneficiary["name"] == name
    else:
        same_beneficiary = (
            not command.beneficiary.public
            and salt is not None
            and beneficiary["commitment"] == beneficiary_commitment(name, salt)
        )
    return bool(
        same_beneficiary
        and data["account"] == command.account
        and data["reason"] == command.reason
        and data["details"] == command.details.strip()
    )


class MemoryState(HoldingsState):
    """Holdings in memory: what ``verify`` replays into, and what property tests model.

    Only *held* ranges are kept; retired and cancelled ranges are appended to ``closes`` as they happen,
    as ``(seq, batch, start, end, account, status)`` (verify compares them with the stored ones chunk by
    chunk, and empties the list), so memory grows with the number of live holdings, not with the length
    of the ledger.
    """

    def __init__(self, accounts: Sequence[str] | set[str], closes: list[ClosedRow] | None = None) -> None:
        self.accounts = set(accounts)
        self.batches: dict[str, int] = {}
        self.holdings: dict[tuple[str, str], list[Span]] = {}
        self.closes = closes

    def account_exists(self, account: str) -> bool:
        return account in self.accounts

    def batch_quantity(self, batch: str) -> int | None:
        return self.batches.get(batch)

    def held(self, account: str, batch: str) -> list[Span]:
        return self.holdings.get((account, batch), [])

    def set_held(self, account: str, batch: str, spans: list[Span]) -> None:
        if spans:
            self.holdings[(account, batch)] = spans
        else:
            self.holdings.pop((account, batch), None)

    def credit(self, account: str, batch: str, span: Span) -> None:
        held = self.holdings.get((account, batch))
        self.holdings[(account, batch)] = merge_spans([*held, span]) if held else [span]

    def batches_held_by(self, account: str) -> list[str]:
        # A scan: only the rules' resolve() asks this, of the models in the tests; verification never does,
        # and keeping an index for it cost every replayed entry.
        return sorted(batch for holder, batch in self.holdings if holder == account)

    def add_batch(self, batch: str, quantity_kg: int, seq: int) -> None:  # noqa: ARG002  (HoldingsState)
        self.batches[batch] = quantity_kg

    def close(self, status: str, account: str, batch: str, span: Span, seq: int) -> None:
        if self.closes is not None:
            self.closes.append((seq, batch, span[0], span[1], account, status))
