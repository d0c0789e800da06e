"""Benchmarks of the issuance ledger, on SQLite and PostgreSQL side by side, with pymerkle as the peer.

Run from the repository root::

    .venv/bin/python benchmarks/ledger_bench.py [--quick] [--db sqlite|pg|both] [--entries N]

What it measures (see benchmarks/README.md for the method and benchmarks/RESULTS.md for figures):

1. append throughput, one entry per ``LedgerService.append`` and batches of 1,000 commands per call,
   against a baseline that inserts the very entry rows the ledger wrote into a plain table with the same
   columns, in transactions of the same sizes, with no hashing and no validation; and against a second
   that sends again every write the appends made (entries, closed ranges, holdings, secrets, head) into
   a second ledger database;
2. full verification (``LedgerService.verify``) of a ledger of ``--entries`` entries against a bare
   loop that reads the same rows in the same chunks and SHA-256 hashes each body, with the peak RSS
   growth of each (measured in a fresh process);
3. inclusion- and consistency-proof latency at that size (``ledger.proofs``), against a bare query of
   the same stored rows;
4. the same appends and proofs with ``pymerkle`` (GPL; benchmark-only peer, never imported by the
   product) on its SQLite-backed and in-memory trees.

The large ledger takes a while to build, so it is built once with batch appends (resumably: an
interrupted build continues where it stopped) and cached under ``benchmarks/.work/``: a SQLite file,
and a PostgreSQL schema ``bench_ledger_<N>`` in the benchmark database. ``--clean`` removes both.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import multiprocessing
import os
import platform
import pstats
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import psutil
import rfc8785
from alembic import command
from sqlalchemy import Column, Engine, MetaData, Table, create_engine, event, insert, select, text

from ledger import checkpoints, merkle, proofs
from ledger.canonical import canonical_bytes
from ledger.commands import Allocation, Beneficiary, Cancel, Command, Issue, Retire, Selection, Transfer
from ledger.database import Database
from ledger.entries import node_location, parse_body, parse_time
from ledger.models import Entry, Head
from ledger.native import build_description
from ledger.runtime import GC_THRESHOLDS, tune_gc
from ledger.service import LedgerConfig, LedgerService
from ledger.tree_store import node_rows
from ledger.verify_common import read_entries
from migrations import alembic_config

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ORIGIN = "bench.tanhui.example/ledger"
BATCH_SIZE = 1_000
SEED = 20_260_524
MB = 1024 * 1024


# --- the workload ---------------------------------------------------------------------------------------

OWNERS = tuple(f"OWN-{i:02d}" for i in range(1, 13))
ENTERPRISES = tuple(f"ENT-{i:03d}" for i in range(1, 121))
ORGANISERS = tuple(f"ORG-{i:02d}" for i in range(1, 21))
INDIVIDUALS = tuple(f"IND-{i:04d}" for i in range(1, 1_501))
ZONES = ("川西南", "川西北", "川东北", "川南", "川中")
PROJECT_TYPES = (
    "afforestation",
    "forest_management",
    "bamboo_afforestation",
    "bamboo_management",
    "grassland",
)
COMPANIES = (
    "成都天府钢铁有限公司",
    "四川蜀电能源集团",
    "绵阳长虹精密制造",
    "宜宾酒业股份公司",
    "攀枝花钒钛材料",
)
EVENTS = ("2026 成都马拉松", "大运会纪念赛", "川西生态论坛", "熊猫基地公益日")
PEOPLE = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强")
BATCH_KG = 20_000_000
"""Each issued batch is 20 kt; with the mix below that is about one batch per 5,000 entries."""


def standard_accounts() -> list[tuple[str, str, str]]:
    accounts = [
        ("REGISTRY", "registry", "登记簿"),
        ("BUFFER", "buffer", "缓冲池"),
        ("RETAIL", "retail", "零售库存"),
    ]
    accounts += [(a, "owner", f"项目业主{a[-2:]}") for a in OWNERS]
    accounts += [(a, "enterprise", f"企业{a[-3:]}") for a in ENTERPRISES]
    accounts += [(a, "organiser", f"活动主办方{a[-2:]}") for a in ORGANISERS]
    accounts += [(a, "individual", f"个人{a[-4:]}") for a in INDIVIDUALS]
    return accounts


class Workload:
    """A deterministic stream of valid commands: mostly transfers and retirements, a few issues and cancels.

    Per round: a project owner sells to an enterprise or event organiser, which retires part of what it
    holds (with its lowest serials, so holdings stay fragmented a little, as in life); three people buy
    micro carbon sinks from the retail inventory and retire them at once; the retail inventory restocks
    from an owner when it runs low; now and then the registry cancels buffer-pool credits. A new batch is
    issued whenever an owner runs out. About 47% transfers, 53% retirements, <1% issues and cancels.

    The stream depends only on the seed, so a build can be resumed by regenerating (not appending) the
    commands already appended.
    """

    def __init__(self, tag: str, seed: int = SEED) -> None:
        self.tag = tag
        self.rng = random.Random(seed)
        self.balance: dict[str, int] = defaultdict(int)
        self.batches_issued: dict[str, int] = defaultdict(int)
        self.count = 0
        self.pending: deque[Command] = deque()

    def take(self, n: int) -> list[Command]:
        while len(self.pending) < n:
            self._round()
        return [self.pending.popleft() for _ in range(n)]

    def skip(self, n: int) -> None:
        """Regenerate and drop ``n`` commands (those a resumed build has already appended)."""
        while n:
            step = min(n, 10_000)
            self.take(step)
            n -= step

    def _rid(self) -> str:
        self.count += 1
        return f"{self.tag}-{self.count:09d}"

    def _round(self) -> None:
        rng = self.rng
        owner = rng.choice(OWNERS)
        buyer = rng.choice(ENTERPRISES) if rng.random() < 0.8 else rng.choice(ORGANISERS)
        quantity = rng.randint(1_000, 50_000)
        self._ensure(owner, quantity)
        self._transfer(owner, buyer, quantity, memo=f"合同 HT-{rng.randint(10_000, 99_999)}")
        for _ in range(rng.randint(1, 2)):
            if not self.balance[buyer]:
                break
            amount = rng.randint(max(1, self.balance[buyer] // 3), self.balance[buyer])
            if buyer.startswith("ORG"):
                self._retire(buyer, amount, rng.choice(EVENTS), "event", f"{rng.choice(EVENTS)} 碳中和", True)
            elif rng.random() < 0.5:
                self._retire(buyer, amount, rng.choice(COMPANIES), "compliance_period", "2025 履约期", True)
            else:
                self._retire(
                    buyer, amount, rng.choice(COMPANIES), "voluntary_corporate", "", rng.random() < 0.7
                )
        for _ in range(3):
            person = rng.choice(INDIVIDUALS)
            amount = rng.randint(5, 2_000)
            if self.balance["RETAIL"] < amount:
                source = rng.choice(OWNERS)
                self._ensure(source, 200_000)
                self._transfer(source, "RETAIL", 200_000, memo="零售库存补货")
            self._transfer("RETAIL", person, amount)
            reason = "personal_footprint" if rng.random() < 0.8 else "gift"
            self._retire(person, amount, rng.choice(PEOPLE), reason, "", rng.random() < 0.5)
        if rng.random() < 0.02 and self.balance["BUFFER"] > 10_000:
            amount = rng.randint(100, 10_000)
            self.balance["BUFFER"] -= amount
            self.pending.append(
                Cancel(self._rid(), "BUFFER", Selection(quantity_kg=amount), "火灾损失:非持久性风险缓冲注销")
            )

    def _ensure(self, owner: str, quantity: int) -> None:
        while self.balance[owner] < quantity:
            issued = self.batches_issued[owner]
            self.batches_issued[owner] += 1
            index = OWNERS.index(owner)
            buffer_kg = BATCH_KG // 10
            self.pending.append(
                Issue(
                    self._rid(),
                    f"SC{index + 1:02d}{ZONES.index(ZONES[index % 5]):02d}",
                    str(2016 + issued // 999),
                    issued % 999 + 1,
                    (Allocation(owner, BATCH_KG - buffer_kg), Allocation("BUFFER", buffer_kg)),
                    {
                        "zone": ZONES[index % 5],
                        "type": PROJECT_TYPES[index % len(PROJECT_TYPES)],
                        "poverty_area": index % 2 == 0,
                        "area_mu": 12_000 + 500 * index,
                        "methodology": "CCER-14-001-V01",
                    },
                )
            )
            self.balance[owner] += BATCH_KG - buffer_kg
            self.balance["BUFFER"] += buffer_kg

    def _transfer(self, source: str, target: str, quantity: int, memo: str = "") -> None:
        self.balance[source] -= quantity
        self.balance[target] += quantity
        self.pending.append(Transfer(self._rid(), source, target, Selection(quantity_kg=quantity), memo))

    def _retire(
        self, account: str, quantity: int, name: str, reason: str, details: str, public: bool
    ) -> None:
        self.balance[account] -= quantity
        self.pending.append(
            Retire(
                self._rid(),
                account,
                Selection(quantity_kg=quantity),
                Beneficiary(name, public),
                reason,
                details,
            )
        )


# --- databases --------------------------------------------------------------------------------------------


def pg_schema_url(base: str, schema: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options={quote(f'-csearch_path={schema}')}"


def pg_schema_exists(base: str, schema: str) -> bool:
    engine = create_engine(base)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"), {"s": schema}
            ).first()
        return found is not None
    finally:
        engine.dispose()


def pg_create_schema(base: str, schema: str) -> None:
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()


def pg_drop_schema(base: str, schema: str) -> None:
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def make_service(url: str, key_file: Path, *, migrate: bool) -> LedgerService:
    if migrate:
        command.upgrade(alembic_config(url), "head")
    service = LedgerService(Database(url), LedgerConfig(origin=ORIGIN, signing_key_file=key_file))
    if migrate:
        for account_id, account_type, name in standard_accounts():
            service.open_account(account_id, account_type, name)
    return service


@contextmanager
def scratch_database(kind: str, pg_base: str, label: str) -> Iterator[str]:
    """A freshly created, not yet migrated database: a SQLite file or a PostgreSQL schema, removed after."""
    if kind == "sqlite":
        path = WORK / f"{label}-{os.getpid()}.sqlite"
        remove_sqlite(path)
        try:
            yield f"sqlite:///{path}"
        finally:
            remove_sqlite(path)
    else:
        schema = f"bench_{label}_{uuid.uuid4().hex[:8]}"
        pg_create_schema(pg_base, schema)
        try:
            yield pg_schema_url(pg_base, schema)
        finally:
            pg_drop_schema(pg_base, schema)


def entry_rows(database: Database, first: int, end: int) -> list[dict[str, Any]]:
    """The stored entry rows ``first <= seq < end``, as the sequencer handed them to INSERT."""
    columns = [column.name for column in Entry.__table__.columns]
    with database.reading() as session:
        rows = session.execute(
            select(*Entry.__table__.columns).where(Entry.seq >= first, Entry.seq < end).order_by(Entry.seq)
        ).all()
    return [
        {
            name: (bytes(value) if isinstance(value, bytes | memoryview) else value)
            for name, value in zip(columns, row, strict=True)
        }
        for row in rows
    ]


def baseline_table(metadata: MetaData) -> Table:
    """A plain table with the same columns, types, primary key and unique request id as ledger_entries."""
    return Table(
        "bench_baseline_entries",
        metadata,
        *(
            Column(
                column.name,
                column.type,
                primary_key=column.primary_key,
                autoincrement=False,
                nullable=column.nullable,
                unique=column.unique,
            )
            for column in Entry.__table__.columns
        ),
    )


# --- statistics -----------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    return {
        "count": len(seconds),
        "p50_ms": percentile(seconds, 0.50) * 1e3,
        "p99_ms": percentile(seconds, 0.99) * 1e3,
        "max_ms": max(seconds) * 1e3,
        "mean_ms": sum(seconds) / len(seconds) * 1e3,
    }


def log(message: str) -> None:
    load = os.getloadavg()[0]
    print(f"[{datetime.now(UTC):%H:%M:%S} load {load:.1f}] {message}", file=sys.stderr, flush=True)


class WriteRecorder:
    """The writes (INSERT, UPDATE, DELETE) an engine sends, with their parameters, one list per append.

    Also counts every statement of an append (an executemany counts once) and sums the time spent inside
    the driver's execute calls, so that the report can say how much of an append is the database's own
    work.
    """

    WRITES = ("INSERT", "UPDATE", "DELETE")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.appends: list[list[tuple[str, Any]]] = []
        self.sql_seconds: list[float] = []
        self.statements: list[int] = []
        self._current: list[tuple[str, Any]] | None = None
        self._statements = 0
        self._sql = 0.0
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    @contextmanager
    def append(self) -> Iterator[None]:
        self._current, self._sql, self._statements = [], 0.0, 0
        try:
            yield
        finally:
            self.appends.append(self._current)
            self.sql_seconds.append(self._sql)
            self.statements.append(self._statements)
            self._current = None

    def _before(self, _conn: object, _cursor: object, statement: str, parameters: Any, *_: object) -> None:
        if self._current is not None:
            self._statements += 1
            if statement.lstrip()[:6].upper() in self.WRITES:
                many = isinstance(parameters, list)
                self._current.append((statement, list(parameters) if many else parameters))
        self._started = time.perf_counter()

    def _after(self, *_args: object) -> None:
        if self._current is not None:
            self._sql += time.perf_counter() - self._started

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


def rows_written(writes: Sequence[tuple[str, Any]]) -> int:
    """Rows that an append's writes insert, update or delete (an executemany counts its parameter sets)."""
    return sum(len(parameters) if isinstance(parameters, list) else 1 for _, parameters in writes)


def replay_writes(engine: Engine, appends: Sequence[Sequence[tuple[str, Any]]], timed: bool) -> list[float]:
    """Send recorded writes again, each append's in one transaction: no reads, no hashing, no validation."""
    seconds = []
    for writes in appends:
        started = time.perf_counter()
        with engine.begin() as connection:
            for statement, parameters in writes:
                connection.exec_driver_sql(statement, parameters)
        if timed:
            seconds.append(time.perf_counter() - started)
    return seconds


# --- 1. append throughput ---------------------------------------------------------------------------------


def bench_append_round(
    kind: str, pg_base: str, singles: int, batches: int
) -> tuple[dict[str, Any], dict[str, list[bytes]]]:
    """Ledger appends (one per transaction, then batches of 1,000) on a fresh ledger, each followed by
    its two baselines: the same work for the database, measured right after it, on the machine as it is.

    Returns the seconds of every append (ledger and baselines) and the leaves (bodies) that were written.
    """
    with (
        scratch_database(kind, pg_base, "append") as url,
        scratch_database(kind, pg_base, "rows") as rows_url,
    ):
        service = make_service(url, WORK / f"append-{os.getpid()}.key", migrate=True)
        copy = make_service(rows_url, WORK / f"rows-{os.getpid()}.key", migrate=True)  # same accounts
        recorder = WriteRecorder(service.database.engine)
        engine, copy_engine = service.database.engine, copy.database.engine
        # Baseline 1: the same entry rows into a plain table of the same shape, same transaction sizes.
        table = baseline_table(MetaData())
        table.create(engine)
        try:
            workload = Workload("ap")
            bodies: dict[str, list[bytes]] = {}
            seconds: dict[str, dict[str, list[float]]] = {}
            appended = 0  # entries so far: the seqs an append writes follow on

            def appends(mode: str, count: int, size: int, timed: bool = True) -> None:
                """``count`` appends of ``size`` commands, each followed by its two baselines (then timed)."""
                nonlocal appended
                for _ in range(count):
                    commands = workload.take(size)
                    first, appended = appended, appended + size
                    with recorder.append():
                        started = time.perf_counter()
                        service.append(commands)
                        ledger_s = time.perf_counter() - started
                    # Baseline 2: every row the append wrote (entries, closed ranges, holdings, beneficiary
                    # secrets, the head), by the very statements the ledger sent, into a second ledger.
                    (rows_s,) = replay_writes(copy_engine, recorder.appends[-1:], timed=True)
                    rows = entry_rows(service.database, first, appended)
                    started = time.perf_counter()
                    with engine.begin() as connection:
                        connection.execute(insert(table), rows)
                    baseline_s = time.perf_counter() - started
                    if timed:
                        measured = {"ledger_s": ledger_s, "baseline_s": baseline_s, "rows_baseline_s": rows_s}
                        for name, value in measured.items():
                            seconds.setdefault(mode, {}).setdefault(name, []).append(value)
                    bodies.setdefault(mode, []).extend(row["body"].encode() for row in rows)

            appends("warm", 1, BATCH_SIZE, timed=False)  # the first batches exist, holdings too
            appends("single", singles, 1)
            appends("batch", batches, BATCH_SIZE)
            recorder.close()
            assert service.size() == appended, (service.size(), appended)
            with copy.database.reading() as session:  # the copy holds what the ledger holds
                assert session.scalar(select(Head.size)) == appended
        finally:
            service.database.dispose()
            copy.database.dispose()
            (WORK / f"append-{os.getpid()}.key").unlink(missing_ok=True)
            (WORK / f"rows-{os.getpid()}.key").unlink(missing_ok=True)

    timed_bodies = bodies["single"] + bodies["batch"]
    result: dict[str, Any] = {"mean_body_bytes": sum(map(len, timed_bodies)) / len(timed_bodies)}
    # The recorder's appends, statement counts and SQL times are the warm-up's first, then one per append.
    for mode, appends_of_mode in (("single", slice(1, 1 + singles)), ("batch", slice(1 + singles, None))):
        result[mode] = {
            **seconds[mode],
            "statements": sum(recorder.statements[appends_of_mode]) / len(seconds[mode]["ledger_s"]),
            "ledger_sql_s": recorder.sql_seconds[appends_of_mode],
            "rows_written": [rows_written(writes) for writes in recorder.appends[appends_of_mode]],
        }
    return result, bodies


def bench_append(
    kind: str, pg_base: str, singles: int, batches: int, rounds: int
) -> tuple[dict[str, Any], Any]:
    """``rounds`` rounds of :func:`bench_append_round`, each on a fresh database; medians over the rounds."""
    results, leaves = [], None
    for number in range(rounds):
        one, round_leaves = bench_append_round(kind, pg_base, singles, batches)
        results.append(one)
        leaves = leaves or round_leaves
        log(
            f"{kind}: append round {number + 1}: batch ratio {round_ratio(one, 'batch'):.3f} "
            f"(same rows: {round_ratio(one, 'batch', 'rows_baseline_s'):.3f})"
        )
    summary: dict[str, Any] = {
        "rounds": rounds,
        "singles": singles,
        "batches": batches,
        "batch_size": BATCH_SIZE,
        "mean_body_bytes": results[0]["mean_body_bytes"],
    }
    for mode, per_append in (("single", 1), ("batch", BATCH_SIZE)):
        ledger = [per_append * len(r[mode]["ledger_s"]) / sum(r[mode]["ledger_s"]) for r in results]
        baseline = [per_append * len(r[mode]["baseline_s"]) / sum(r[mode]["baseline_s"]) for r in results]
        rows_baseline = [
            per_append * len(r[mode]["rows_baseline_s"]) / sum(r[mode]["rows_baseline_s"]) for r in results
        ]
        ratios = [round_ratio(r, mode) for r in results]
        rows_ratios = [round_ratio(r, mode, "rows_baseline_s") for r in results]
        summary[mode] = {
            "rows_baseline_eps": statistics.median(rows_baseline),
            "rows_ratio": statistics.median(rows_ratios),
            "rows_ratio_range": [min(rows_ratios), max(rows_ratios)],
            "rows_per_append": statistics.median(statistics.mean(r[mode]["rows_written"]) for r in results),
            "sql_share": statistics.median(
                sum(r[mode]["ledger_sql_s"]) / sum(r[mode]["ledger_s"]) for r in results
            ),
            "rows_baseline_latency": latency_summary(
                [t for r in results for t in r[mode]["rows_baseline_s"]]
            ),
            "statements_per_append": statistics.median(r[mode]["statements"] for r in results),
            "ledger_eps": statistics.median(ledger),
            "baseline_eps": statistics.median(baseline),
            "ratio": statistics.median(ratios),
            "ratio_range": [min(ratios), max(ratios)],
            "rounds_ledger_eps": ledger,
            "rounds_baseline_eps": baseline,
            "ledger_latency": latency_summary([t for r in results for t in r[mode]["ledger_s"]]),
            "baseline_latency": latency_summary([t for r in results for t in r[mode]["baseline_s"]]),
        }
    return summary, leaves


def round_ratio(result: dict[str, Any], mode: str, baseline: str = "baseline_s") -> float:
    return sum(result[mode][baseline]) / sum(result[mode]["ledger_s"])


# --- the large ledger -------------------------------------------------------------------------------------


def large_ledger(kind: str, pg_base: str, entries: int, deadline: float) -> tuple[str, dict[str, Any]]:
    """The cached ledger of ``entries`` entries (built or completed now, with batch appends).

    Stops building at ``deadline`` (a ``time.monotonic()`` value) and returns the smaller ledger, marked
    incomplete; the next run resumes it.
    """
    WORK.mkdir(exist_ok=True)
    key_file = WORK / f"ledger-{entries}.key"
    if kind == "sqlite":
        path = WORK / f"ledger-{entries}.sqlite"
        url = f"sqlite:///{path}"
        fresh = not path.exists()
    else:
        schema = f"bench_ledger_{entries}"
        url = pg_schema_url(pg_base, schema)
        fresh = not pg_schema_exists(pg_base, schema)
        if fresh:
            pg_create_schema(pg_base, schema)
    marker = WORK / f"ledger-{entries}-{kind}.json"
    if not fresh and marker.exists():
        info = json.loads(marker.read_text())
        if info.get("complete"):
            return url, info
    if fresh:
        marker.unlink(missing_ok=True)
    info = json.loads(marker.read_text()) if marker.exists() else {"build_seconds": 0.0, "segments": []}

    service = make_service(url, key_file, migrate=True)  # idempotent: a resumed build is already migrated
    try:
        size = service.size()
        workload = Workload("bl")
        workload.skip(size)
        checkpoint_every = max(BATCH_SIZE, entries // 10)
        log(f"{kind}: building the {entries:,}-entry ledger from {size:,}")
        started = time.perf_counter()
        segment_start, segment_size = started, size
        while size < entries and time.monotonic() < deadline:
            service.append(workload.take(min(BATCH_SIZE, entries - size)))
            size = service.size()
            if size % checkpoint_every == 0 or size == entries:
                service.sign_checkpoint()
            if size % 50_000 == 0:
                now = time.perf_counter()
                eps = (size - segment_size) / (now - segment_start)
                log(f"{kind}: {size:,} entries, {eps:,.0f} entries/s")
                info["segments"].append({"to": size, "eps": eps})
                segment_start, segment_size = now, size
        service.sign_checkpoint()
        info["build_seconds"] += time.perf_counter() - started
        info.update(size=size, complete=size == entries, kind=kind, built_until=datetime.now(UTC).isoformat())
        info["build_eps"] = size / info["build_seconds"] if info["build_seconds"] else None
        with service.database.reading() as session:
            latest = checkpoints.latest(session)
            assert latest is not None
            info["checkpoint_size"] = latest.size
            info["root"] = bytes(latest.root_hash).hex()
        marker.write_text(json.dumps(info, indent=2))
    finally:
        service.database.dispose()
    return url, info


# --- 2. verification --------------------------------------------------------------------------------------


def high_water_rss() -> int:
    """The kernel's peak RSS of this process image (VmHWM), in bytes; 0 where /proc is not there.

    Not ``ru_maxrss``: that survives fork and exec, so a spawned worker would report its parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class RssSampler:
    """Samples this process's RSS every 10 ms in a thread; the peak also takes the kernel's high-water mark.

    The high-water mark is reset when the sampler is made (``clear_refs``), so it covers only what follows.
    """

    def __init__(self, interval: float = 0.01) -> None:
        with suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        self.process = psutil.Process()
        self.interval = interval
        self.start_rss = self.process.memory_info().rss
        self.peak_rss = self.start_rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_rss = max(self.peak_rss, self.process.memory_info().rss, high_water_rss())

    def as_dict(self) -> dict[str, float]:
        return {
            "rss_start_mb": self.start_rss / MB,
            "rss_peak_mb": self.peak_rss / MB,
            "rss_growth_mb": (self.peak_rss - self.start_rss) / MB,
        }


def bare_read_and_hash(database: Database, *, canonical_check: bool = False) -> int:
    """The baseline: read every entry row in verify's chunks and hash each body; nothing else.

    With ``canonical_check`` (the "floor"), also parse each body with orjson and compare its sorted
    re-serialisation with the stored bytes: the C-level work any verifier of the canonical-body contract
    must do, with none of the ledger's Python-level checks, chain, tree or replay.
    """
    count = 0
    expected = 0
    prefixed = hashlib.sha256(b"\x00")  # copied per body, as ledger.merkle.leaf_hash does: the fastest way
    loads, dumps, sort_keys = orjson.loads, orjson.dumps, orjson.OPT_SORT_KEYS
    with database.reading() as session:
        while True:
            rows = read_entries(session, expected, None)  # the very statement verification reads with
            if not rows:
                break
            for _seq, _request_id, _kind, body, _leaf, _nodes in rows:
                raw = body.encode("utf-8")
                hasher = prefixed.copy()
                hasher.update(raw)
                hasher.digest()
                if canonical_check and dumps(loads(raw), option=sort_keys) != raw:
                    raise ValueError(f"entry {_seq} is not canonical")
                count += 1
            expected = rows[-1][0] + 1
    return count


VERIFY_MODES = {
    "verify": "the ledger's full verification, one process",
    "verify2": "the ledger's full verification, integrity checks in a second process (--jobs 2)",
    "floor": "read, hash and orjson canonical round trip only",
    "loop": "the baseline: read and hash",
}


def verify_worker(url: str, mode: str, profile_path: str | None = None) -> dict[str, Any]:
    """Run in a fresh process, one of :data:`VERIFY_MODES`."""
    tune_gc()  # the product's process settings, as in every measured process
    service = LedgerService(
        Database(url),
        LedgerConfig(origin=ORIGIN, signing_key_file=WORK / "none.key", create_key_if_missing=False),
    )
    try:
        with service.database.reading() as session:  # connect before measuring
            session.execute(select(Head.size)).all()
        profiler = cProfile.Profile() if profile_path else None
        with RssSampler() as sampler:
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            if mode in ("verify", "verify2"):
                count = service.verify(jobs=2 if mode == "verify2" else 1).size
            else:
                count = bare_read_and_hash(service.database, canonical_check=mode == "floor")
            if profiler:
                profiler.disable()
            seconds = time.perf_counter() - started
        if profiler and profile_path:
            profiler.dump_stats(profile_path)
        # The integrity process's own peak (absolute, not growth): its memory counts too.
        child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        return {
            "entries": count,
            "seconds": seconds,
            "eps": count / seconds,
            "child_peak_rss_mb": child_peak / MB,
            **sampler.as_dict(),
        }
    finally:
        service.database.dispose()


def in_fresh_process(function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    # Not a multiprocessing.Pool: its workers are daemons, which may not start the integrity process.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


VERIFY_PAIRS = 5
"""Bare loop and two-process verification run alternately this many times (see :func:`bench_verify`)."""


def bench_verify(url: str, profile: bool) -> dict[str, Any]:
    """Each mode in a fresh process; the bare loop and ``--jobs 2`` alternately, ratios taken per pair.

    The machine's speed may drift within a run (by a third within one session here), so the goal's
    ratio is the median of :data:`VERIFY_PAIRS` ratios of a verification to the bare loop run just
    before it, rather than of runs minutes apart.
    """
    log("verify: warm-up pass of the bare loop")
    in_fresh_process(verify_worker, url, "loop")
    pairs = []
    for number in range(VERIFY_PAIRS):
        loop = in_fresh_process(verify_worker, url, "loop")
        two = in_fresh_process(verify_worker, url, "verify2")
        pairs.append((loop, two))
        log(
            f"verify: pair {number + 1}: bare loop {loop['eps']:,.0f}, --jobs 2 {two['eps']:,.0f} entries/s "
            f"({two['eps'] / loop['eps']:.3f})"
        )
    runs = {}
    for mode in ("verify", "floor"):
        log(f"verify: {VERIFY_MODES[mode]}")
        runs[mode] = in_fresh_process(verify_worker, url, mode)
        log(f"verify: {runs[mode]['eps']:,.0f} entries/s")
    runs["loop"] = in_fresh_process(verify_worker, url, "loop")  # beside the one-process run and the floor
    if profile:  # an extra pass under cProfile, kept out of the figures
        log("verify: one more pass under cProfile")
        in_fresh_process(verify_worker, url, "verify", str(WORK / "verify.prof"))
    ratios2 = [two["eps"] / loop["eps"] for loop, two in pairs]
    middle = sorted(range(VERIFY_PAIRS), key=lambda index: ratios2[index])[VERIFY_PAIRS // 2]
    loop = runs["loop"]
    return {
        "ledger": runs["verify"],
        "ledger2": pairs[middle][1],
        "ledger2_baseline": pairs[middle][0],
        "floor": runs["floor"],
        "baseline": loop,
        "ratio": runs["verify"]["eps"] / loop["eps"],
        "ratio2": statistics.median(ratios2),
        "ratio2_pairs": ratios2,
        "floor_ratio": runs["floor"]["eps"] / loop["eps"],
        "memory_ratio": runs["verify"]["rss_growth_mb"] / max(loop["rss_growth_mb"], 0.1),
    }


# --- 3. proofs --------------------------------------------------------------------------------------------


def proof_requests(size: int, count: int) -> tuple[list[int], list[int]]:
    rng = random.Random(SEED + size)
    return [rng.randrange(size) for _ in range(count)], [rng.randint(1, size) for _ in range(count)]


def bench_proofs(url: str, count: int) -> dict[str, Any]:
    database = Database(url)
    try:
        with database.reading() as session:
            latest = checkpoints.latest(session)
            assert latest is not None
            size, root = latest.size, bytes(latest.root_hash)
        seqs, olds = proof_requests(size, count)
        result: dict[str, Any] = {"size": size, "count": count}
        node_reads = {
            "inclusion": [
                sorted({node_location(*node)[0] for node in merkle.inclusion_node_ids(seq, size)})
                for seq in seqs
            ],
            "consistency": [
                sorted({node_location(*node)[0] for node in merkle.consistency_node_ids(old, size)})
                for old in olds
            ],
        }
        calls: dict[str, Callable[[Any, int], list[bytes]]] = {
            "inclusion": lambda session, seq: proofs.inclusion(session, seq, size),
            "consistency": lambda session, old: proofs.consistency(session, old, size),
        }
        arguments = {"inclusion": seqs, "consistency": olds}
        for name, call in calls.items():
            with database.reading() as session:  # warm-up
                for value in arguments[name][:50]:
                    call(session, value)
            one_session = []
            with database.reading() as session:
                for value in arguments[name]:
                    started = time.perf_counter()
                    call(session, value)
                    one_session.append(time.perf_counter() - started)
            per_request = []
            for value in arguments[name]:
                started = time.perf_counter()
                with database.reading() as session:
                    call(session, value)
                per_request.append(time.perf_counter() - started)
            bare = []
            with database.reading() as session:
                for wanted in node_reads[name]:
                    started = time.perf_counter()
                    node_rows(session, wanted)  # the very read the proofs make
                    bare.append(time.perf_counter() - started)
            result[name] = {
                "one_session": latency_summary(one_session),
                "session_per_proof": latency_summary(per_request),
                "baseline": latency_summary(bare),
                "mean_rows": sum(map(len, node_reads[name])) / count,
            }
        # The proofs are right: check a sample against the signed root (outside the timings).
        with database.reading() as session:
            for seq in seqs[:50]:
                leaf = proofs.entry(session, seq).leaf_hash
                merkle.verify_inclusion(leaf, seq, size, proofs.inclusion(session, seq, size), root)
        result["root"] = root.hex()
        return result
    finally:
        database.dispose()


# --- 4. the pymerkle peer ---------------------------------------------------------------------------------


def _pymerkle_pragmas(tree: Any) -> None:
    # The same durability as the ledger's SQLite engine (ledger/database.py): WAL, synchronous FULL.
    tree.con.execute("PRAGMA journal_mode = WAL")
    tree.con.execute("PRAGMA synchronous = FULL")


def peer_append_worker(leaves: dict[str, list[bytes]], path: str, rounds: int) -> dict[str, Any]:
    """pymerkle appends of the leaves the ledger wrote: one per transaction, then 1,000 per call.

    ``rounds`` rounds, each on a fresh tree; entries/s is the median over the rounds.
    """
    tune_gc()  # the product's process settings, as in every measured process
    from pymerkle import InmemoryTree, SqliteTree

    result: dict[str, Any] = {}
    for name in ("SqliteTree", "InmemoryTree"):
        seconds: dict[str, list[list[float]]] = {"single": [], "batch": []}
        for _ in range(rounds):
            remove_sqlite(Path(path))
            tree = SqliteTree(path) if name == "SqliteTree" else InmemoryTree()
            if name == "SqliteTree":
                _pymerkle_pragmas(tree)
            tree.append_entries(leaves["warm"])
            single = []
            for leaf in leaves["single"]:
                started = time.perf_counter()
                tree.append_entry(leaf)
                single.append(time.perf_counter() - started)
            batch = []
            for first in range(0, len(leaves["batch"]), BATCH_SIZE):
                chunk = leaves["batch"][first : first + BATCH_SIZE]
                started = time.perf_counter()
                tree.append_entries(chunk)
                batch.append(time.perf_counter() - started)
            seconds["single"].append(single)
            seconds["batch"].append(batch)
            root = tree.get_root().hex()
            if name == "SqliteTree":
                tree.close()
        result[name] = {"root": root}
        for mode, per_call in (("single", 1), ("batch", BATCH_SIZE)):
            result[name][mode] = {
                "eps": statistics.median(per_call * len(one) / sum(one) for one in seconds[mode]),
                "latency": latency_summary([t for one in seconds[mode] for t in one]),
            }
    remove_sqlite(Path(path))
    return result


def stored_bodies(url: str, size: int) -> Iterator[bytes]:
    engine = create_engine(url) if url.startswith("sqlite") else Database(url).engine
    try:
        with engine.connect() as connection:
            rows = connection.execution_options(yield_per=10_000).execute(
                select(Entry.body).where(Entry.seq < size).order_by(Entry.seq)
            )
            for (body,) in rows:
                yield body.encode("utf-8")
    finally:
        engine.dispose()


def peer_proof_worker(source_url: str, size: int, root_hex: str, count: int, path: str) -> dict[str, Any]:
    """pymerkle proofs at ``size`` leaves (the ledger's bodies): SqliteTree (cached file) and InmemoryTree."""
    tune_gc()  # the product's process settings, as in every measured process
    from pymerkle import InmemoryTree, SqliteTree

    seqs, olds = proof_requests(size, count)
    result: dict[str, Any] = {"size": size, "count": count}
    marker = Path(path + ".json")
    if not (marker.exists() and json.loads(marker.read_text()).get("root") == root_hex):
        remove_sqlite(Path(path))
        marker.unlink(missing_ok=True)
        tree = SqliteTree(path)
        _pymerkle_pragmas(tree)
        started = time.perf_counter()
        tree.append_entries(stored_bodies(source_url, size), chunksize=50_000)
        seconds = time.perf_counter() - started
        tree.close()
        marker.write_text(json.dumps({"root": root_hex, "size": size, "load_eps": size / seconds}))
    result["sqlite_bulk_load_eps"] = json.loads(marker.read_text())["load_eps"]

    def measure(tree: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        started = time.perf_counter()
        tree.prove_inclusion(seqs[0] + 1, size)
        out["first_inclusion_ms"] = (time.perf_counter() - started) * 1e3
        timings = []
        for seq in seqs:
            started = time.perf_counter()
            tree.prove_inclusion(seq + 1, size)
            timings.append(time.perf_counter() - started)
        out["inclusion"] = latency_summary(timings)
        timings = []
        for old in olds:
            started = time.perf_counter()
            tree.prove_consistency(old, size)
            timings.append(time.perf_counter() - started)
        out["consistency"] = latency_summary(timings)
        info = tree.get_cache_info()
        out["cache"] = {"entries_bytes": info.size, "hits": info.hits, "misses": info.misses}
        out["root_matches_ledger"] = tree.get_root(size).hex() == root_hex
        return out

    with RssSampler() as sampler:
        tree = SqliteTree(path)
        _pymerkle_pragmas(tree)
        result["SqliteTree"] = measure(tree)
        tree.close()
    result["SqliteTree"].update(sampler.as_dict())

    with RssSampler() as sampler:
        tree = InmemoryTree()
        started = time.perf_counter()
        tree.append_entries(stored_bodies(source_url, size))
        load = time.perf_counter() - started
        result["InmemoryTree"] = {"load_eps": size / load, **measure(tree)}
    result["InmemoryTree"].update(sampler.as_dict())
    return result


def bench_hot_spots(bodies: Sequence[bytes]) -> dict[str, Any]:
    """Per-body costs of the pieces the profiles showed on top, and of cheaper standard-library equivalents.

    ``json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":"))`` is RFC 8785 for what the
    ledger writes (ASCII keys, integers within 2**53, no floats); it is checked byte for byte here.
    """
    values = [json.loads(body) for body in bodies]

    def per_item(function: Callable[[Any], object], items: Sequence[Any]) -> float:
        started = time.perf_counter()
        for item in items:
            function(item)
        return (time.perf_counter() - started) / len(items) * 1e6

    def json_canonical(value: Any) -> bytes:
        return json.dumps(
            value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode()

    times = [value["time"] for value in values]
    return {
        "bodies": len(bodies),
        "identical_json_dumps": sum(json_canonical(v) == b for v, b in zip(values, bodies, strict=True)),
        "rfc8785_us": per_item(rfc8785.dumps, values),
        "canonical_bytes_us": per_item(canonical_bytes, values),
        "json_dumps_us": per_item(json_canonical, values),
        "parse_body_us": per_item(parse_body, bodies),
        "json_loads_us": per_item(json.loads, bodies),
        "parse_time_us": per_item(parse_time, times),
        "fromisoformat_us": per_item(datetime.fromisoformat, times),
        "sha256_us": per_item(merkle.leaf_hash, bodies),
    }


# --- profiling --------------------------------------------------------------------------------------------


def profile_append(kind: str, pg_base: str) -> str:
    """cProfile of ten batch appends of 1,000 on a fresh ledger: where the sequencer's time goes."""
    with scratch_database(kind, pg_base, "profile") as url:
        key = WORK / f"profile-{os.getpid()}.key"
        service = make_service(url, key, migrate=True)
        try:
            workload = Workload("pf")
            service.append(workload.take(BATCH_SIZE))
            batches = [workload.take(BATCH_SIZE) for _ in range(10)]
            profiler = cProfile.Profile()
            profiler.enable()
            for commands in batches:
                service.append(commands)
            profiler.disable()
        finally:
            service.database.dispose()
            key.unlink(missing_ok=True)
    return top_functions(profiler)


def top_functions(profile: cProfile.Profile | str, limit: int = 30) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)
    return out.getvalue()


# --- the machine and the report ---------------------------------------------------------------------------


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def machine(pg_base: str | None) -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": subprocess.run(["free", "-h"], capture_output=True, text=True, check=False).stdout.strip(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),
        "git_commit": git("rev-parse", "HEAD"),
        "git_uncommitted_ledger_changes": git("status", "--porcelain", "ledger", "migrations") or "none",
        "gc_thresholds": GC_THRESHOLDS,
        "ledger_build": build_description(),
    }
    if pg_base:
        engine = create_engine(pg_base)
        with engine.connect() as connection:
            info["postgresql"] = connection.execute(text("SHOW server_version")).scalar_one()
            info["postgresql_settings"] = {
                name: connection.execute(text(f"SHOW {name}")).scalar_one()
                for name in ("shared_buffers", "synchronous_commit", "fsync", "wal_level")
            }
        engine.dispose()
    return info


def fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def row(*cells: object) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def pair(summary: dict[str, float], digits: int = 2) -> str:
    return f"{summary['p50_ms']:.{digits}f} / {summary['p99_ms']:.{digits}f}"


MODES = (("single", "1 entry"), ("batch", f"{BATCH_SIZE:,} entries"))
TREES = ("SqliteTree", "InmemoryTree")


def append_rows(results: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(database, mode label, figures)`` of every append measurement in ``results``."""
    for kind in ("sqlite", "pg"):
        append = results.get(kind, {}).get("append")
        for mode, label in MODES if append else ():
            yield kind, label, append[mode]


def report_append(results: dict[str, Any]) -> list[str]:
    lines = [
        "### Append throughput (entries/s, median of the rounds; ratio = ledger / baseline, median (range); "
        "goal for batches >= 0.5)",
        "",
        row("database", "per transaction", "ledger", "baseline", "ratio", "SQL statements per append",
            "ledger p50 / p99 per append (ms)", "baseline p50 / p99 (ms)"),
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for kind, label, r in append_rows(results):
        lines.append(
            row(kind, label, fmt(r["ledger_eps"]), fmt(r["baseline_eps"]),
                f"**{r['ratio']:.3f}** ({r['ratio_range'][0]:.3f}–{r['ratio_range'][1]:.3f})",
                fmt(r["statements_per_append"], 1), pair(r["ledger_latency"]), pair(r["baseline_latency"]))
        )  # fmt: skip
    lines += [
        "",
        "Against every row the appends write (entries, closed ranges, holdings, beneficiary secrets, the "
        "head), sent again by the very statements the ledger sent, into a second ledger database: ",
        "",
        row("database", "per transaction", "rows written per append", "ledger", "same-rows baseline",
            "ratio", "share of the ledger's time inside the driver's execute calls",
            "same-rows baseline p50 / p99 (ms)"),
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for kind, label, r in append_rows(results):
        if "rows_ratio" not in r:  # results of a run before this baseline existed
            continue
        low, high = r["rows_ratio_range"]
        lines.append(
            row(kind, label, fmt(r["rows_per_append"], 1), fmt(r["ledger_eps"]), fmt(r["rows_baseline_eps"]),
                f"**{r['rows_ratio']:.3f}** ({low:.3f}–{high:.3f})", f"{r['sql_share']:.0%}",
                pair(r["rows_baseline_latency"]))
        )  # fmt: skip
    peer = results.get("peer_append")
    base_kind = "sqlite" if results.get("sqlite", {}).get("append") else "pg"
    base_append = results.get(base_kind, {}).get("append")
    for tree in TREES if peer and base_append else ():
        for mode, label in MODES:
            r, baseline = peer[tree][mode], base_append[mode]["baseline_eps"]
            lines.append(
                row(f"pymerkle {tree}", label, fmt(r["eps"]), f"{fmt(baseline)} ({base_kind})",
                    f"{r['eps'] / baseline:.3f}", "", pair(r["latency"], 3), "")
            )  # fmt: skip
    return lines


def report_verify(results: dict[str, Any]) -> list[str]:
    lines = [
        "### Full verification (goals: ratio >= 0.3, memory < 200 MB)",
        "",
        row("database", "entries", "verify entries/s", "bare loop entries/s", "ratio", "verify (s)",
            "verify RSS growth (MB)", "loop RSS growth (MB)", "RSS ratio"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for kind in ("sqlite", "pg"):
        v = results.get(kind, {}).get("verify")
        if not v:
            continue
        for label, key, ratio in (
            ("1 process", "ledger", "ratio"),
            ("2 processes (--jobs 2)", "ledger2", "ratio2"),
            ("floor: read, hash, canonical round trip", "floor", "floor_ratio"),
        ):
            if key not in v:
                continue
            run = v[key]
            loop = v.get("ledger2_baseline", v["baseline"]) if key == "ledger2" else v["baseline"]
            memory = fmt(run["rss_growth_mb"], 1)
            shown = f"**{v[ratio]:.3f}**"
            if key == "ledger2":
                memory += f" + {fmt(run['child_peak_rss_mb'], 1)} peak of the second process"
                if "ratio2_pairs" in v:
                    shown += " (pairs: " + ", ".join(f"{r:.3f}" for r in v["ratio2_pairs"]) + ")"
            lines.append(
                row(f"{kind}, {label}", fmt(run["entries"]), fmt(run["eps"]), fmt(loop["eps"]),
                    shown, fmt(run["seconds"], 1), memory, fmt(loop["rss_growth_mb"], 1),
                    fmt(run["rss_growth_mb"] / max(loop["rss_growth_mb"], 0.1), 2))
            )  # fmt: skip
    return lines


def report_proofs(results: dict[str, Any]) -> list[str]:
    lines = [
        "### Proof latency (ms; goal: inclusion p99 < 5 ms; ratio = proof / bare query of the same rows; "
        "pymerkle rows against the SQLite bare query, PostgreSQL's if SQLite was not run)",
        "",
        row("database", "proof", "tree size", "sessions", "p50", "p99", "max", "bare query p50 / p99",
            "ratio p50 / p99"),
        "|---|---|---:|---|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for kind in ("sqlite", "pg"):
        p = results.get(kind, {}).get("proofs")
        for name in ("inclusion", "consistency") if p else ():
            base = p[name]["baseline"]
            for mode, label in (("one_session", "one for all"), ("session_per_proof", "one per proof")):
                r = p[name][mode]
                lines.append(
                    row(kind, name, fmt(p["size"]), label, f"{r['p50_ms']:.3f}", f"**{r['p99_ms']:.3f}**",
                        f"{r['max_ms']:.2f}", pair(base, 3),
                        f"{r['p50_ms'] / base['p50_ms']:.1f} / {r['p99_ms'] / base['p99_ms']:.1f}")
                )  # fmt: skip
    pp = results.get("peer_proofs")
    base_proofs = results.get("sqlite", {}).get("proofs") or results.get("pg", {}).get("proofs")
    for tree in TREES if pp and base_proofs else ():
        for name in ("inclusion", "consistency"):
            r, base = pp[tree][name], base_proofs[name]["baseline"]
            lines.append(
                row(f"pymerkle {tree}", name, fmt(pp["size"]), "(after the first proof)",
                    f"{r['p50_ms']:.3f}",
                    f"**{r['p99_ms']:.3f}**", f"{r['max_ms']:.2f}", pair(base, 3),
                    f"{r['p50_ms'] / base['p50_ms']:.1f} / {r['p99_ms'] / base['p99_ms']:.1f}")
            )  # fmt: skip
    if pp:
        lines += ["", "pymerkle details:", ""]
        for tree in TREES:
            t = pp[tree]
            lines.append(
                f"- {tree}: first (cold-cache) inclusion proof {t['first_inclusion_ms']:.1f} ms; "
                f"subroot cache {t['cache']['entries_bytes'] / MB:.2f} MB after the run; "
                f"RSS growth {t['rss_growth_mb']:.0f} MB; "
                f"root equal to the ledger's signed root: {t['root_matches_ledger']}"
            )
        lines.append(
            f"- loads: SqliteTree bulk append_entries {fmt(pp['sqlite_bulk_load_eps'])} entries/s, "
            f"InmemoryTree {fmt(pp['InmemoryTree']['load_eps'])} entries/s"
        )
    return lines


def report(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"Run {m['date']} at commit {m.get('git_commit', '?')[:10]} (uncommitted changes in ledger/ and "
        f"migrations/: {m.get('git_uncommitted_ledger_changes', '?')}): "
        f"{m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, SQLite {m['sqlite']}, "
        f"PostgreSQL {m.get('postgresql', '-')}; load average (1/5/15 min) at start "
        f"{'/'.join(f'{x:.1f}' for x in m['load_average_at_start'])}, at end "
        f"{'/'.join(f'{x:.1f}' for x in m.get('load_average_at_end', ()))}; "
        f"parameters {json.dumps(results['parameters'])}; GC thresholds "
        f"{tuple(m.get('gc_thresholds', ()))} in every measured process (ledger/runtime.py); ledger modules "
        f"{m.get('ledger_build', 'pure Python (not recorded)')} (ledger/native.py)",
        "",
        *report_append(results),
        "",
        *report_verify(results),
        "",
        *report_proofs(results),
    ]
    builds = [
        (kind, results[kind]["build"]) for kind in ("sqlite", "pg") if results.get(kind, {}).get("build")
    ]
    if builds:
        lines += ["", "### Building the large ledger (batch appends of 1,000, at scale)", ""]
    for kind, b in builds:
        segments = b.get("segments", [])
        tail = f", last 50,000 at {fmt(segments[-1]['eps'])} entries/s" if segments else ""
        state = "complete" if b.get("complete") else "INCOMPLETE (stopped at the time limit)"
        eps = fmt(b["build_eps"]) if b.get("build_eps") else "-"
        lines.append(
            f"- {kind}: {b['size']:,} entries ({state}), {eps} entries/s overall{tail}; "
            f"{b['build_seconds'] / 60:.1f} min of building in total"
        )
    h = results.get("hot_spots")
    if h:
        lines += [
            "",
            f"### Per-body costs (µs, over the {h['bodies']:,} batch-append bodies)",
            "",
            f"- rfc8785.dumps {h.get('rfc8785_us', float('nan')):.1f}; the ledger's canonical_bytes "
            f"{h['canonical_bytes_us']:.1f}; json.dumps(sort_keys, compact) {h['json_dumps_us']:.1f}, "
            f"byte-identical for {h['identical_json_dumps']:,} of {h['bodies']:,}",
            f"- parse_body {h['parse_body_us']:.1f} (json.loads alone {h['json_loads_us']:.1f}); "
            f"parse_time {h['parse_time_us']:.2f} vs datetime.fromisoformat {h['fromisoformat_us']:.2f}; "
            f"leaf hash {h['sha256_us']:.2f}",
        ]
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------------------------------


def clean(pg_base: str) -> None:
    for path in WORK.glob("*"):
        if path.is_file():
            path.unlink()
    engine = create_engine(pg_base)
    with engine.begin() as connection:
        schemas = (
            connection.execute(
                text("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'bench\\_%'")
            )
            .scalars()
            .all()
        )
        for schema in schemas:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()
    log(f"removed {WORK} files and schemas {schemas}")


def main(argv: Sequence[str] | None = None) -> int:
    tune_gc()  # the product's process settings (ledger/runtime.py), for the ledger and its baselines alike
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="everything at 10^4 entries, fewer appends")
    parser.add_argument("--db", choices=("sqlite", "pg", "both"), default="both")
    parser.add_argument("--entries", type=int, help="size of the verified and proven ledger (default 10^6)")
    parser.add_argument("--pg-url", default=os.environ.get("TANHUI_PG_URL", PG_DEFAULT))
    parser.add_argument("--singles", type=int, help="appends of one entry (default 2,000; quick 500)")
    parser.add_argument("--batches", type=int, help="appends of 1,000 entries (default 20; quick 5)")
    parser.add_argument(
        "--rounds", type=int, help="append rounds, each on a fresh database (default 3; quick 1)"
    )
    parser.add_argument("--proofs", type=int, default=2_000, help="proofs of each kind")
    parser.add_argument(
        "--build-minutes", type=float, default=45.0, help="stop building the large ledgers after"
    )
    parser.add_argument("--skip", nargs="*", default=(), choices=("append", "verify", "proofs", "peer"))
    parser.add_argument("--profile", action="store_true", help="also cProfile batch appends and verification")
    parser.add_argument("--clean", action="store_true", help="remove the cached ledgers and exit")
    parser.add_argument("--output", type=Path, help="write the Markdown report here too")
    args = parser.parse_args(argv)

    WORK.mkdir(exist_ok=True)
    if args.clean:
        clean(args.pg_url)
        return 0
    entries = args.entries or (10_000 if args.quick else 1_000_000)
    singles = args.singles or (500 if args.quick else 2_000)
    batches = args.batches or (5 if args.quick else 20)
    rounds = args.rounds or (1 if args.quick else 3)
    kinds = ("sqlite", "pg") if args.db == "both" else (args.db,)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results: dict[str, Any] = {
        "machine": machine(args.pg_url if "pg" in kinds else None),
        "parameters": {
            "entries": entries,
            "singles": singles,
            "batches": batches,
            "rounds": rounds,
            "proofs": args.proofs,
        },
    }
    results_file = WORK / f"results-{stamp}.json"

    def save() -> None:
        results_file.write_text(json.dumps(results, indent=2, ensure_ascii=False))

    leaves: dict[str, list[bytes]] | None = None
    if "append" not in args.skip:
        for kind in kinds:
            log(f"{kind}: append throughput ({singles:,} single, {batches} x {BATCH_SIZE:,})")
            append, kind_leaves = bench_append(kind, args.pg_url, singles, batches, rounds)
            results.setdefault(kind, {})["append"] = append
            leaves = leaves or kind_leaves
            log(f"{kind}: median batch ratio {append['batch']['ratio']:.3f}")
            save()
            if args.profile:
                (WORK / f"profile-append-{kind}.txt").write_text(profile_append(kind, args.pg_url))
        if leaves:
            results["hot_spots"] = bench_hot_spots(leaves["batch"])
            save()
        if leaves and "peer" not in args.skip:
            log("pymerkle: append throughput")
            results["peer_append"] = in_fresh_process(
                peer_append_worker, leaves, str(WORK / "pymerkle-append.sqlite"), rounds
            )
            save()

    deadline = time.monotonic() + args.build_minutes * 60
    source: tuple[str, dict[str, Any]] | None = None
    if {"verify", "proofs", "peer"} - set(args.skip):
        for kind in kinds:
            url, build = large_ledger(kind, args.pg_url, entries, deadline)
            results.setdefault(kind, {})["build"] = build
            source = source or (url, build)
            save()
            if "verify" not in args.skip:
                results[kind]["verify"] = bench_verify(url, args.profile)
                if args.profile:
                    (WORK / f"profile-verify-{kind}.txt").write_text(top_functions(str(WORK / "verify.prof")))
                save()
            if "proofs" not in args.skip:
                log(f"{kind}: proof latency at {build['checkpoint_size']:,}")
                results[kind]["proofs"] = bench_proofs(url, args.proofs)
                save()
    if source and "peer" not in args.skip:
        url, build = source
        log(f"pymerkle: proofs at {build['checkpoint_size']:,}")
        results["peer_proofs"] = in_fresh_process(
            peer_proof_worker,
            url,
            build["checkpoint_size"],
            build["root"],
            args.proofs,
            str(WORK / f"pymerkle-{build['checkpoint_size']}.sqlite"),
        )
        save()

    results["machine"]["load_average_at_end"] = os.getloadavg()
    save()
    text_report = report(results)
    print(text_report)
    if args.output:
        args.output.write_text(text_report + "\n")
    log(f"results: {results_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
