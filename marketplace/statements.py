"""An organisation's statement: what its ledger account holds now, and the entries that touched it.

Holdings are read from the ledger's live ranges (``ledger_holdings``), grouped by batch with the batch's
project and vintage. The history is read from the entry bodies themselves — issues to, transfers into and
out of, retirements and cancellations from the account — each with its ``seq`` and time, so that every
line can be checked against the public ledger (``GET /api/v1/ledger/entries/<seq>``), with the order that
caused a transfer and the certificate of a retirement where there is one.

The entries that name the account come from the ledger's account index (:mod:`ledger.account_index`),
kept behind the log by a scheduler job, and from a scan of the entries it has not reached yet. A history
is at most :data:`MAX_HISTORY_ENTRIES` lines; a longer one says it was cut and is read by date range.
Functions take the caller's session and never write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.account_index import entries_naming
from ledger.entries import parse_body
from ledger.models import Batch, Holding
from ledger.serials import serial_number
from marketplace.models import Certificate, MarketOrder
from offsets.errors import InvalidInput, NotFound
from offsets.models import Organisation, Project

MAX_HISTORY_ENTRIES = 10_000
MOVEMENTS = ("issued", "transfer_in", "transfer_out", "retired", "cancelled")
"""How a history line's entry moved kilograms to or from the account."""


@dataclass(frozen=True)
class HeldRange:
    start: int
    end: int
    serial: str

    @property
    def quantity_kg(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class HeldBatch:
    batch_id: str
    project_code: str
    project_name: str | None
    vintage: str
    ranges: tuple[HeldRange, ...]

    @property
    def quantity_kg(self) -> int:
        return sum(item.quantity_kg for item in self.ranges)


@dataclass(frozen=True)
class HistoryLine:
    """One ledger entry as it touched the account; ``quantity_kg`` is what moved to or from it."""

    seq: int
    time: str
    movement: str  # one of MOVEMENTS
    quantity_kg: int
    serials: tuple[str, ...]
    counterparty: str | None = None
    reason: str | None = None
    details: str | None = None
    order_id: str | None = None
    certificate_id: str | None = None


@dataclass(frozen=True)
class Statement:
    organisation_id: int
    organisation_name: str
    account: str | None
    since: date | None
    until: date | None
    holdings: tuple[HeldBatch, ...]
    history: tuple[HistoryLine, ...]
    history_complete: bool = True
    totals_kg: dict[str, int] = field(default_factory=dict)

    @property
    def held_kg(self) -> int:
        return sum(batch.quantity_kg for batch in self.holdings)


def statement(
    session: Session, organisation_id: int, *, since: date | None = None, until: date | None = None
) -> Statement:
    """The organisation's statement; ``since``/``until`` (UTC dates, inclusive) limit the history only."""
    if since is not None and until is not None and since > until:
        raise InvalidInput("the date range ends before it starts", field="until")
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(f"no organisation {organisation_id}", field="organisation_id")
    account = organisation.ledger_account_id
    if account is None:
        return Statement(organisation.id, organisation.name, None, since, until, (), ())
    history, complete = _history(session, account, since, until)
    totals: dict[str, int] = {}
    for line in history:
        totals[line.movement] = totals.get(line.movement, 0) + line.quantity_kg
    return Statement(
        organisation_id=organisation.id,
        organisation_name=organisation.name,
        account=account,
        since=since,
        until=until,
        holdings=_holdings(session, account),
        history=history,
        history_complete=complete,
        totals_kg=totals,
    )


def _holdings(session: Session, account: str) -> tuple[HeldBatch, ...]:
    rows = session.execute(
        select(Holding.batch_id, Holding.start_kg, Holding.end_kg)
        .where(Holding.account_id == account)
        .order_by(Holding.batch_id, Holding.start_kg)
    ).all()
    ranges: dict[str, list[HeldRange]] = {}
    for batch_id, start, end in rows:
        ranges.setdefault(batch_id, []).append(HeldRange(start, end, serial_number(batch_id, start, end)))
    batches = {batch.id: batch for batch in session.scalars(select(Batch).where(Batch.id.in_(list(ranges))))}
    names = dict(
        session.execute(
            select(Project.code, Project.name).where(Project.code.in_({b.project for b in batches.values()}))
        ).all()
    )
    return tuple(
        HeldBatch(
            batch_id=batch_id,
            project_code=batches[batch_id].project,
            project_name=names.get(batches[batch_id].project),
            vintage=batches[batch_id].vintage,
            ranges=tuple(held),
        )
        for batch_id, held in ranges.items()
    )


def _history(
    session: Session, account: str, since: date | None, until: date | None
) -> tuple[tuple[HistoryLine, ...], bool]:
    lines: list[HistoryLine] = []
    complete = True
    for seq, body in entries_naming(session, account):
        parsed = parse_body(body.encode("utf-8"))
        day = date.fromisoformat(parsed.time[:10])
        if (since is not None and day < since) or (until is not None and day > until):
            continue
        line = _line(seq, parsed.time, parsed.kind, parsed.data, account)
        if line is None:
            continue
        if len(lines) == MAX_HISTORY_ENTRIES:
            complete = False
            break
        lines.append(line)
    return _with_origins(session, lines), complete


def _line(seq: int, time: str, kind: str, data: dict[str, Any], account: str) -> HistoryLine | None:
    """The entry as seen from ``account``, or None if it only mentions the id in passing."""
    if kind == "issue":
        mine = [item for item in data["allocations"] if item["account"] == account]
        if not mine:
            return None
        return HistoryLine(
            seq, time, "issued", _kg(mine), tuple(item["serial"] for item in mine), counterparty=None
        )
    serials = tuple(item["serial"] for item in data.get("ranges", ()))
    if kind == "transfer" and account in (data["from"], data["to"]):
        incoming = data["to"] == account
        return HistoryLine(
            seq,
            time,
            "transfer_in" if incoming else "transfer_out",
            data["quantity_kg"],
            serials,
            counterparty=data["from"] if incoming else data["to"],
            details=data.get("memo"),
        )
    if kind in ("retire", "cancel") and data["account"] == account:
        return HistoryLine(
            seq,
            time,
            "retired" if kind == "retire" else "cancelled",
            data["quantity_kg"],
            serials,
            reason=data["reason"],
            details=data.get("details"),
        )
    return None


def _kg(items: Sequence[dict[str, Any]]) -> int:
    return sum(item["end"] - item["start"] + 1 for item in items)


def _with_origins(session: Session, lines: list[HistoryLine]) -> tuple[HistoryLine, ...]:
    """Name the certificate of each retirement and the order behind each transfer, where there is one."""
    seqs = [line.seq for line in lines]
    certificates = dict(
        session.execute(select(Certificate.seq, Certificate.id).where(Certificate.seq.in_(seqs))).all()
    )
    orders = dict(
        session.execute(
            select(MarketOrder.fulfilment_seq, MarketOrder.id).where(MarketOrder.fulfilment_seq.in_(seqs))
        ).all()
    )
    return tuple(
        replace(line, certificate_id=certificates.get(line.seq), order_id=orders.get(line.seq))
        for line in lines
    )
