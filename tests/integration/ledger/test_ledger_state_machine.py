"""Random issue/transfer/retire/cancel sequences against a real SQLite-backed ledger, checked against a model.

The model is deliberately naive and independent of ``ledger.ranges``: for every batch it keeps one cell per
kilogram saying who holds it, or who retired or cancelled it. After every step the stored state (holdings,
closed ranges, batches, entries) must agree with it, and the ledger's invariants must hold: per batch,
held + retired + cancelled = issued; no kilogram in two places; closed ranges never move or change; the
ledger grows by exactly the number of entries appended. Signed checkpoints are taken along the way; every
entry's inclusion proof and the consistency proofs between checkpoints must verify, and so must the full
``verify`` of the ledger.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import bindparam, text
from tests_support import migrate

from ledger import merkle, proofs
from ledger.checkpoint import open_checkpoint
from ledger.commands import (
    REASONS_NEEDING_DETAILS,
    RETIREMENT_REASONS,
    Allocation,
    Beneficiary,
    Cancel,
    Command,
    Issue,
    Retire,
    Selection,
    Transfer,
)
from ledger.database import Database
from ledger.errors import (
    DuplicateBatch,
    IdempotencyConflict,
    InsufficientHolding,
    LedgerError,
    RangeNotHeld,
    UnknownAccount,
    UnknownBatch,
)
from ledger.ranges import SerialRange
from ledger.rules import beneficiary_commitment
from ledger.service import LedgerConfig, LedgerService

ORIGIN = "statemachine.tanhui.example/ledger"
ACCOUNTS = (
    ("REGISTRY", "registry", "登记簿"),
    ("BUFFER", "buffer", "缓冲池"),
    ("RETAIL", "retail", "零售库存"),
    ("OWN-A", "owner", "项目业主甲"),
    ("OWN-B", "owner", "项目业主乙"),
    ("ENT-A", "enterprise", "企业甲"),
    ("ENT-B", "enterprise", "企业乙"),
)
HOLDERS = tuple(account for account, _, _ in ACCOUNTS)
ALLOCATION_TARGETS = ("OWN-A", "OWN-B", "BUFFER")
PROJECTS = ("SM01", "SM02")
VINTAGE = "2023"
NAMES = ("李明", "成都马拉松组委会", "Zhang Wei", "四川某某水泥有限公司", "王芳")

Cell = tuple[str, str]
"""``("held" | "retired" | "cancelled", account)`` of one kilogram."""
Model = dict[str, list[Cell]]
"""Batch id -> one cell per kilogram, index 0 is serial 1."""


class ExpectedError(Exception):
    """What the model says the ledger must refuse, and with which error class."""

    def __init__(self, error: type[LedgerError]) -> None:
        super().__init__(error.__name__)
        self.error = error


# --- the model ------------------------------------------------------------------------------------------


def runs(cells: list[Cell], wanted: Cell) -> list[tuple[int, int]]:
    """Maximal runs ``(start, end)`` (1-based, inclusive) of kilograms in state ``wanted``."""
    found: list[tuple[int, int]] = []
    for index, cell in enumerate(cells, start=1):
        if cell != wanted:
            continue
        if found and found[-1][1] == index - 1:
            found[-1] = (found[-1][0], index)
        else:
            found.append((index, index))
    return found


def held_kg(model: Model, account: str) -> int:
    return sum(cell == ("held", account) for cells in model.values() for cell in cells)


def lowest(
    model: Model, account: str, quantity: int, batches: tuple[str, ...] = ()
) -> list[tuple[str, int, int]]:
    """The lowest serials of ``account``: batches in the order given (default: id order), then by serial."""
    taken: list[tuple[str, int, int]] = []
    remaining = quantity
    for batch in batches or sorted(model):
        for start, run_end in runs(model[batch], ("held", account)):
            if remaining == 0:
                return taken
            end = min(run_end, start + remaining - 1)
            taken.append((batch, start, end))
            remaining -= end - start + 1
    if remaining:
        raise ExpectedError(InsufficientHolding)
    return taken


def simulate(model: Model, cmd: Command) -> tuple[Model, list[tuple[str, int, int]]]:
    """The model after ``cmd`` and the ranges it moves, or :class:`ExpectedError`; ``model`` is unchanged."""
    after = {batch: list(cells) for batch, cells in model.items()}
    if isinstance(cmd, Issue):
        if cmd.batch_id in after:
            raise ExpectedError(DuplicateBatch)
        if any(allocation.account not in HOLDERS for allocation in cmd.allocations):
            raise ExpectedError(UnknownAccount)
        after[cmd.batch_id] = [
            ("held", allocation.account)
            for allocation in cmd.allocations
            for _ in range(allocation.quantity_kg)
        ]
        return after, []
    source = cmd.from_account if isinstance(cmd, Transfer) else cmd.account
    if source not in HOLDERS:
        raise ExpectedError(UnknownAccount)
    if any(batch not in after for batch in cmd.selection.batches):
        raise ExpectedError(UnknownBatch)
    if cmd.selection.quantity_kg is not None:
        moves = lowest(after, source, cmd.selection.quantity_kg, cmd.selection.batches)
    else:
        moves = [(item.batch_id, item.start, item.end) for item in cmd.selection.ranges]
    if isinstance(cmd, Transfer) and cmd.to_account not in HOLDERS:
        raise ExpectedError(UnknownAccount)
    for batch, start, end in moves:
        if batch not in after:
            raise ExpectedError(UnknownBatch)
        if end > len(after[batch]) or any(cell != ("held", source) for cell in after[batch][start - 1 : end]):
            raise ExpectedError(RangeNotHeld)
    if isinstance(cmd, Transfer):
        new_cell = ("held", cmd.to_account)
    elif isinstance(cmd, Retire):
        new_cell = ("retired", source)
    else:
        new_cell = ("cancelled", source)
    for batch, start, end in moves:
        after[batch][start - 1 : end] = [new_cell] * (end - start + 1)
    return after, moves  # explicit ranges are recorded in the order the command names them


# --- the machine ----------------------------------------------------------------------------------------


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="tanhui-sm-"))
        url = f"sqlite:///{self.directory / 'ledger.db'}"
        migrate(url)
        self.service = LedgerService(
            Database(url), LedgerConfig(origin=ORIGIN, signing_key_file=self.directory / "key")
        )
        for account_id, account_type, name in ACCOUNTS:
            self.service.open_account(account_id, account_type, name)
        self.model: Model = {}
        self.next_number = dict.fromkeys(PROJECTS, 1)
        self.request_counter = 0
        self.appended = 0
        self.history: list[tuple[Command, int, str]] = []  # (command, seq, body) of every appended entry
        self.closed_seen: set[tuple[object, ...]] = set()
        self.checkpoints: list[tuple[int, bytes]] = []  # (size, root) of every checkpoint signed

    def teardown(self) -> None:
        try:
            self.check_checkpoint_and_proofs()
        finally:
            self.service.database.dispose()
            shutil.rmtree(self.directory, ignore_errors=True)

    # --- helpers ----------------------------------------------------------------------------------------

    def request_id(self) -> str:
        self.request_counter += 1
        return f"sm-{self.request_counter}"

    def new_issue(self, allocations: list[tuple[str, int]], project: str) -> Issue:
        number = self.next_number[project]
        self.next_number[project] += 1
        return Issue(
            self.request_id(),
            project,
            VINTAGE,
            number,
            tuple(Allocation(account, quantity) for account, quantity in allocations),
            attributes={"zone": "川西南", "poverty_area": number % 2 == 0},
        )

    def append_and_expect(self, cmds: list[Command]) -> None:
        """Append ``cmds``; the model says whether the whole batch succeeds and what each entry holds."""
        model = self.model
        expected_moves: list[list[tuple[str, int, int]]] = []
        failure: type[LedgerError] | None = None
        for cmd in cmds:
            try:
                model, moves = simulate(model, cmd)
            except ExpectedError as expected:
                failure = expected.error
                break
            expected_moves.append(moves)
        size_before = self.service.size()
        event(f"{len(cmds)} command(s): " + (f"refused, {failure.__name__}" if failure else "appended"))
        if failure is not None:
            with pytest.raises(failure):
                self.service.append(cmds)
            assert self.service.size() == size_before
            return
        entries = self.service.append(cmds)
        assert [entry.seq for entry in entries] == list(range(size_before, size_before + len(cmds)))
        for cmd, entry, moves in zip(cmds, entries, expected_moves, strict=True):
            assert not entry.repeated
            assert entry.kind == cmd.kind
            if cmd.kind == "issue":
                assert [(a["account"], a["start"], a["end"]) for a in entry.data["allocations"]] == [
                    (a.account, start, start + a.quantity_kg - 1)
                    for a, start in zip(cmd.allocations, _starts(cmd.allocations), strict=True)
                ]
            else:
                assert [(r["batch"], r["start"], r["end"]) for r in entry.data["ranges"]] == moves
                assert entry.data["quantity_kg"] == sum(end - start + 1 for _, start, end in moves)
                for item in entry.data["ranges"]:
                    assert item["serial"] == f"SC-{item['batch']}-{item['start']}-{item['end']}"
            if cmd.kind == "retire":
                self.check_beneficiary(cmd, entry.seq, entry.body)
            self.history.append((cmd, entry.seq, entry.body))
        self.model = model
        self.appended += len(cmds)

    def check_beneficiary(self, cmd: Retire, seq: int, body: str) -> None:
        name = cmd.beneficiary.name
        with self.service.database.reading() as session:
            secret = session.execute(
                text("SELECT name, salt FROM ledger_beneficiary_secrets WHERE seq = :seq"), {"seq": seq}
            ).first()
        if cmd.beneficiary.public:
            assert f'"name":"{name}"' in body
            assert secret is None
        else:
            assert name not in body
            assert secret is not None
            assert secret.name == name
            assert f'"commitment":"{beneficiary_commitment(secret.name, secret.salt)}"' in body

    def valid_command(self, data: st.DataObject, model: Model) -> Command:
        """A command that the model accepts in state ``model`` (issues a batch when nothing is held)."""
        holders = [account for account in HOLDERS if held_kg(model, account)]
        kind = data.draw(st.sampled_from(("issue", "transfer", "retire", "cancel"))) if holders else "issue"
        if kind == "issue":
            allocations = data.draw(
                st.lists(
                    st.tuples(st.sampled_from(ALLOCATION_TARGETS), st.integers(1, 40)), min_size=1, max_size=3
                )
            )
            return self.new_issue(allocations, data.draw(st.sampled_from(PROJECTS)))
        account = data.draw(st.sampled_from(holders))
        quantity = data.draw(st.integers(1, held_kg(model, account)))
        if kind == "transfer":
            target = data.draw(st.sampled_from([holder for holder in HOLDERS if holder != account]))
            return Transfer(self.request_id(), account, target, Selection(quantity_kg=quantity))
        if kind == "retire":
            return Retire(
                self.request_id(),
                account,
                Selection(quantity_kg=quantity),
                Beneficiary(data.draw(st.sampled_from(NAMES)), data.draw(st.booleans())),
                "gift",
            )
        return Cancel(self.request_id(), account, Selection(quantity_kg=quantity), "重复签发，冲销")

    def draw_ranges(self, data: st.DataObject, account: str) -> tuple[SerialRange, ...]:
        """1-3 non-overlapping ranges: mostly inside what ``account`` holds, sometimes anywhere in a batch."""
        chosen: list[SerialRange] = []
        for _ in range(data.draw(st.integers(1, 3))):
            batch = data.draw(st.sampled_from(sorted(self.model)))
            held = runs(self.model[batch], ("held", account))
            if held and data.draw(st.booleans()):
                low, high = data.draw(st.sampled_from(held))
            else:
                low, high = 1, len(self.model[batch])
            start = data.draw(st.integers(low, high))
            end = data.draw(st.integers(start, high))
            candidate = SerialRange(batch, start, end)
            if not any(candidate.overlaps(other) for other in chosen):
                chosen.append(candidate)
        return tuple(chosen)

    # --- rules ------------------------------------------------------------------------------------------

    @initialize(
        allocations=st.lists(
            st.tuples(st.sampled_from(ALLOCATION_TARGETS), st.integers(1, 60)), min_size=1, max_size=4
        )
    )
    def first_batch(self, allocations: list[tuple[str, int]]) -> None:
        self.append_and_expect([self.new_issue(allocations, PROJECTS[0])])

    @rule(
        allocations=st.lists(
            st.tuples(st.sampled_from(ALLOCATION_TARGETS), st.integers(1, 60)), min_size=1, max_size=4
        ),
        project=st.sampled_from(PROJECTS),
    )
    def issue(self, allocations: list[tuple[str, int]], project: str) -> None:
        self.append_and_expect([self.new_issue(allocations, project)])

    @rule(
        source=st.sampled_from(HOLDERS),
        recipient=st.sampled_from(HOLDERS),
        quantity=st.integers(1, 150),
        restrict=st.booleans(),
    )
    def transfer_quantity(self, source: str, recipient: str, quantity: int, restrict: bool) -> None:
        if source == recipient:
            recipient = "RETAIL" if source != "RETAIL" else "ENT-B"
        # Sometimes only from named batches, newest first: the quantity comes from those, in that order.
        batches = tuple(sorted(self.model, reverse=True)[:2]) if restrict else ()
        selection = Selection(quantity_kg=quantity, batches=batches)
        self.append_and_expect([Transfer(self.request_id(), source, recipient, selection, memo="按批次转让")])

    @precondition(lambda self: self.model)
    @rule(data=st.data(), source=st.sampled_from(HOLDERS), recipient=st.sampled_from(HOLDERS))
    def transfer_ranges(self, data: st.DataObject, source: str, recipient: str) -> None:
        if source == recipient:
            recipient = "ENT-A" if source != "ENT-A" else "OWN-B"
        ranges = self.draw_ranges(data, source)
        self.append_and_expect([Transfer(self.request_id(), source, recipient, Selection(ranges=ranges))])

    @rule(
        data=st.data(),
        account=st.sampled_from(HOLDERS),
        by_ranges=st.booleans(),
        public=st.booleans(),
        reason=st.sampled_from(RETIREMENT_REASONS),
        name=st.sampled_from(NAMES),
    )
    def retire(
        self, data: st.DataObject, account: str, by_ranges: bool, public: bool, reason: str, name: str
    ) -> None:
        if by_ranges and self.model:
            selection = Selection(ranges=self.draw_ranges(data, account))
        else:
            selection = Selection(quantity_kg=data.draw(st.integers(1, 120)))
        details = (
            "2025 履约期" if reason in REASONS_NEEDING_DETAILS else data.draw(st.sampled_from(("", "生日")))
        )
        cmd = Retire(self.request_id(), account, selection, Beneficiary(name, public), reason, details)
        self.append_and_expect([cmd])

    @rule(data=st.data(), account=st.sampled_from(HOLDERS), by_ranges=st.booleans())
    def cancel(self, data: st.DataObject, account: str, by_ranges: bool) -> None:
        if by_ranges and self.model:
            selection = Selection(ranges=self.draw_ranges(data, account))
        else:
            selection = Selection(quantity_kg=data.draw(st.integers(1, 80)))
        self.append_and_expect([Cancel(self.request_id(), account, selection, "监测报告更正，注销")])

    @precondition(lambda self: self.history)
    @rule(data=st.data(), with_new=st.booleans())
    def repeat_request(self, data: st.DataObject, with_new: bool) -> None:
        cmd, seq, body = data.draw(st.sampled_from(self.history))
        size_before = self.service.size()
        if with_new:
            # A repeated request id next to a new command: the old entry comes back, the new one is added.
            new = self.valid_command(data, self.model)
            self.model, _ = simulate(self.model, new)
            first, added = self.service.append([cmd, new])
            assert not added.repeated
            assert added.seq == size_before
            self.history.append((new, added.seq, added.body))
            self.appended += 1
        else:
            [first] = self.service.append([cmd])
            assert self.service.size() == size_before
        assert first.repeated
        assert (first.seq, first.body, first.kind) == (seq, body, cmd.kind)

    @precondition(lambda self: self.history)
    @rule(data=st.data())
    def reuse_request_id_for_another_command(self, data: st.DataObject) -> None:
        cmd, _, _ = data.draw(st.sampled_from(self.history))
        other = Cancel(cmd.request_id, "REGISTRY", Selection(quantity_kg=1), "另一个请求")
        if isinstance(cmd, Cancel):
            other = Transfer(cmd.request_id, "OWN-A", "OWN-B", Selection(quantity_kg=1))
        size_before = self.service.size()
        with pytest.raises(IdempotencyConflict):
            self.service.append([other])
        assert self.service.size() == size_before

    @rule(data=st.data())
    def append_valid_batch(self, data: st.DataObject) -> None:
        model = self.model
        cmds: list[Command] = []
        for _ in range(data.draw(st.integers(2, 4))):
            cmd = self.valid_command(data, model)
            model, _ = simulate(model, cmd)
            cmds.append(cmd)
        self.append_and_expect(cmds)

    @rule(
        data=st.data(), failure=st.sampled_from(("too much", "unknown target", "unknown batch", "same batch"))
    )
    def append_batch_where_one_fails(self, data: st.DataObject, failure: str) -> None:
        model = self.model
        valid: list[Command] = []
        for _ in range(data.draw(st.integers(1, 3))):
            cmd = self.valid_command(data, model)
            model, _ = simulate(model, cmd)
            valid.append(cmd)
        issues = [cmd for cmd in valid if isinstance(cmd, Issue)]
        expected: type[LedgerError]
        if failure == "same batch" and issues:
            # The same batch issued twice in one append, under another request id.
            first = issues[0]
            bad: Command = Issue(
                self.request_id(), first.project, first.vintage, first.number, first.allocations
            )
            expected = DuplicateBatch
            position = data.draw(st.integers(valid.index(first) + 1, len(valid)))
        else:
            if failure == "too much":
                bad = Transfer(self.request_id(), "OWN-A", "ENT-A", Selection(quantity_kg=10**9))
                expected = InsufficientHolding
            elif failure == "unknown batch":
                bad = Retire(
                    self.request_id(),
                    "ENT-A",
                    Selection(ranges=(SerialRange("NONE01-2023-001", 1, 5),)),
                    Beneficiary("无", True),
                    "gift",
                )
                expected = UnknownBatch
            else:
                # The target is checked before the ranges, so the unknown account is what is refused.
                any_range = SerialRange("SM01-2023-001", 1, 1)
                bad = Transfer(self.request_id(), "OWN-A", "NOBODY-9", Selection(ranges=(any_range,)))
                expected = UnknownAccount
            position = data.draw(st.integers(0, len(valid)))
        event(f"batch with one failure: {expected.__name__}")
        cmds = [*valid[:position], bad, *valid[position:]]
        size_before = self.service.size()
        with pytest.raises(expected):
            self.service.append(cmds)
        assert self.service.size() == size_before
        # Nothing of the batch was kept: the request ids of its valid commands are still unused.
        with self.service.database.reading() as session:
            used = session.execute(
                text("SELECT count(*) FROM ledger_entries WHERE request_id IN :ids").bindparams(
                    bindparam("ids", expanding=True)
                ),
                {"ids": [cmd.request_id for cmd in cmds]},
            ).scalar_one()
        assert used == 0

    @rule()
    def sign_checkpoint(self) -> None:
        self.check_checkpoint_and_proofs()

    # --- invariants -------------------------------------------------------------------------------------

    def stored(self) -> tuple[dict[str, int], list[tuple], list[tuple], int, int]:
        with self.service.database.reading() as session:
            batches = dict(session.execute(text("SELECT id, quantity_kg FROM ledger_batches")).all())
            holdings = [
                tuple(row)
                for row in session.execute(
                    text("SELECT batch_id, start_kg, end_kg, account_id FROM ledger_holdings")
                )
            ]
            closed = [
                tuple(row)
                for row in session.execute(
                    text(
                        "SELECT batch_id, start_kg, end_kg, account_id, status, entry_seq "
                        "FROM ledger_closed_ranges"
                    )
                )
            ]
            head = session.execute(text("SELECT size FROM ledger_head")).scalar_one()
            count = session.execute(text("SELECT count(*) FROM ledger_entries")).scalar_one()
        return batches, holdings, closed, head, count

    @invariant()
    def stored_state_obeys_the_ledger_invariants_and_matches_the_model(self) -> None:
        batches, holdings, closed, head, count = self.stored()
        # The ledger grew by exactly the entries appended.
        assert head == count == self.appended == len(self.history)
        # Per batch: held + retired + cancelled = issued, and no kilogram is in two places.
        assert set(batches) == set(self.model)
        rows_by_batch: dict[str, list[tuple[int, int, str, str]]] = {batch: [] for batch in batches}
        for batch, start, end, account in holdings:
            rows_by_batch[batch].append((start, end, "held", account))
        for batch, start, end, account, status, _ in closed:
            rows_by_batch[batch].append((start, end, status, account))
        for batch, quantity in batches.items():
            rows = sorted(rows_by_batch[batch])
            totals = dict.fromkeys(("held", "retired", "cancelled"), 0)
            for start, end, status, _ in rows:
                totals[status] += end - start + 1
            assert sum(totals.values()) == quantity, (batch, totals, quantity)
            for previous, current in itertools.pairwise(rows):
                assert current[0] > previous[1], f"{batch}: {previous} overlaps {current}"
            assert not rows or (rows[0][0] >= 1 and rows[-1][1] <= quantity)
            # The stored kilograms are exactly the model's.
            cells: list[Cell | None] = [None] * quantity
            for start, end, status, account in rows:
                cells[start - 1 : end] = [(status, account)] * (end - start + 1)
            assert cells == self.model[batch], batch
        # Retired and cancelled ranges never move: every one seen so far is still there, unchanged.
        current = set(closed)
        assert self.closed_seen <= current
        self.closed_seen = current

    # --- checkpoints and proofs ---------------------------------------------------------------------------

    def check_checkpoint_and_proofs(self) -> None:
        size, note = self.service.sign_checkpoint()
        assert size == self.appended
        opened = open_checkpoint(note, [self.service.signer.verifier], origin=ORIGIN)
        assert opened.size == size
        report = self.service.verify()
        assert (report.size, report.latest_checkpoint_size, report.batches) == (size, size, len(self.model))
        if size == 0:
            return
        assert opened.root == merkle.root_of(
            [
                merkle.leaf_hash(body.encode("utf-8"))
                for _, _, body in sorted(self.history, key=lambda h: h[1])
            ]
        )
        with self.service.database.reading() as session:
            for _, seq, body in self.history:
                proof = proofs.entry_proof(session, seq)
                assert proof.body == body  # entries never change
                leaf = merkle.leaf_hash(body.encode("utf-8"))
                merkle.verify_inclusion(leaf, seq, size, proof.inclusion, opened.root)
                assert proofs.inclusion(session, seq, size) == proof.inclusion
            for earlier_size, earlier_root in self.checkpoints:
                path = proofs.consistency(session, earlier_size, size)
                merkle.verify_consistency(earlier_size, size, path, earlier_root, opened.root)
        if not self.checkpoints or self.checkpoints[-1][0] != size:
            self.checkpoints.append((size, opened.root))


def _starts(allocations: tuple[Allocation, ...]) -> list[int]:
    starts, next_start = [], 1
    for allocation in allocations:
        starts.append(next_start)
        next_start += allocation.quantity_kg
    return starts


LedgerMachine.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestLedgerStateMachine = LedgerMachine.TestCase


def test_the_model_takes_lowest_serials_batch_by_batch() -> None:
    model: Model = {
        "SM01-2023-002": [("held", "OWN-A")] * 3,
        "SM01-2023-001": [("held", "OWN-A"), ("held", "OWN-B"), ("held", "OWN-A"), ("retired", "OWN-A")],
    }
    assert lowest(model, "OWN-A", 4) == [
        ("SM01-2023-001", 1, 1),
        ("SM01-2023-001", 3, 3),
        ("SM01-2023-002", 1, 2),
    ]
    assert lowest(model, "OWN-A", 2, ("SM01-2023-002", "SM01-2023-001")) == [("SM01-2023-002", 1, 2)]
    with pytest.raises(ExpectedError):
        lowest(model, "OWN-B", 2)
