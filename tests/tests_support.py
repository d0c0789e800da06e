"""Helpers shared by test modules (importable because pytest puts ``tests/`` on ``sys.path``)."""

from __future__ import annotations

import atexit
import shutil
import socket
import sqlite3
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

from alembic import command
from sqlalchemy import Engine, create_engine, event, make_url, text

from migrations import alembic_config

ORIGIN = "test.tanhui.example/ledger"


@contextmanager
def fresh_pg_schema(base_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL schema on the server of ``base_url``: the URL that uses it, dropped after."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def free_port() -> int:
    """A loopback port nothing listens on now (the kernel's choice; free until someone binds it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def closed_port_url() -> str:
    """An http:// address on loopback where nothing listens: connecting is refused."""
    return f"http://127.0.0.1:{free_port()}"


@contextmanager
def served(app: object, name: str) -> Iterator[str]:
    """A WSGI ``app`` on a free loopback port (port 0: the kernel picks one), served by werkzeug in a
    thread: its base URL, until the block ends."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


class Sent(NamedTuple):
    """One statement as an engine handed it to the driver."""

    sql: str
    parameters: Any
    """One row's parameters, or for an executemany the list of all rows'."""
    thread: int
    """``threading.get_ident()`` of the thread that sent it."""


@contextmanager
def sent_statements(engine: Engine) -> Iterator[list[Sent]]:
    """Every statement ``engine`` hands its driver inside the block, in order (an executemany counts once).

    The list fills as statements are sent, so a test may also look at it inside the block.
    """
    sent: list[Sent] = []

    def record(_conn: object, _cursor: object, sql: str, parameters: Any, *_: object) -> None:
        sent.append(Sent(sql, parameters, threading.get_ident()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def migrate(url: str) -> None:
    """Create the schema the only way it is ever created: by running the migrations.

    A new SQLite file gets a copy (SQLite's backup API) of one file this process migrated to the head
    before: the same pages the migrations would write, in a hundredth of the time. An existing file, and
    every PostgreSQL schema, is upgraded by the migrations themselves.
    """
    path = _new_sqlite_file(url)
    if path is None:
        command.upgrade(alembic_config(url), "head")
        return
    with (
        closing(sqlite3.connect(_migrated_sqlite_template())) as source,
        closing(sqlite3.connect(path)) as target,
    ):
        source.backup(target)


def _new_sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    return None if path.exists() and path.stat().st_size else path


@cache
def _migrated_sqlite_template() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="tanhui-migrated-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    template = folder / "head.db"
    command.upgrade(alembic_config(f"sqlite:///{template}"), "head")
    return template


def make_app(
    instance_path: str, key_file: object = None, database_url: str | None = None, **overrides: object
):
    """An app on a migrated database (default: a SQLite file in ``instance_path``), signing with
    ``key_file`` (default: in ``instance_path``)."""
    from web.app import create_app

    url = database_url or f"sqlite:///{instance_path}/pages.db"
    migrate(url)
    return create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": instance_path,
            "DATABASE_URL": url,
            "TANHUI_SIGNING_KEY_FILE": key_file or f"{instance_path}/signing.key",
            "TANHUI_LEDGER_ORIGIN": ORIGIN,
            "TANHUI_DEMO_PAYMENTS": True,
            **overrides,
        }
    )


def make_demo_app(instance_path: str, database_url: str | None = None, **overrides: object):
    """:func:`make_app`, filled by ``tanhui demo``'s loader."""
    from api.context import ledger_service
    from web.demo import load_demo

    app = make_app(instance_path, database_url=database_url, **overrides)
    with app.app_context():
        load_demo(ledger_service())
    return app


def add_registered_project(session, *, created_at, owner_account: str = "OWN-A", code: str = "YY01"):
    """A registered afforestation project in 盐源县 (a former poverty county) and its owner organisation.

    Written straight to the tables, for tests of what comes after registration (lots, orders).
    """
    from offsets.models import Organisation

    owner = Organisation(
        name="业主甲", kind="project_owner", ledger_account_id=owner_account, created_at=created_at
    )
    session.add(owner)
    session.flush()
    project = add_project(
        session,
        code=code,
        name="盐源县造林碳汇",
        county_code="513423",
        zone="川西南",
        owner_id=owner.id,
        created_at=created_at,
        coordinates=(101.5, 27.4),
    )
    return owner, project


def add_project(
    session,
    *,
    code: str,
    name: str,
    county_code: str,
    zone: str,
    owner_id: int,
    created_at,
    coordinates: tuple[float, float] = (103.0, 30.0),
):
    """A registered afforestation project of 1,000 mu (AR-CM-001-V01, credited 2018–2040, 20 % buffer),
    written straight to the tables."""
    from datetime import date
    from decimal import Decimal

    from offsets.models import Project

    project = Project(
        code=code,
        name=name,
        project_type="afforestation",
        county_code=county_code,
        zone=zone,
        area_mu=Decimal("1000"),
        location={"type": "Point", "coordinates": list(coordinates)},
        owner_id=owner_id,
        methodology="AR-CM-001-V01",
        standard="provincial",
        crediting_start=date(2018, 1, 1),
        crediting_end=date(2040, 12, 31),
        expected_annual_removals_kg=1_000_000,
        buffer_percent=20,
        status="registered",
        created_at=created_at,
    )
    session.add(project)
    session.flush()
    return project


def issue_and_list(
    session,
    sequencer,
    *,
    project: str,
    vintage: str,
    allocations,
    lot_id: str,
    quantity_kg: int,
    price_fen_per_t: int,
    at,
    farmer_share_percent=None,
) -> str:
    """Issue ``project``'s batch of ``vintage`` (number 1) as ``allocations`` (``(account, kg)`` pairs, in
    serial order), then list ``quantity_kg`` of it, taken from the first account's lowest serials, as
    ``lot_id``. Returns the batch id."""
    from ledger.commands import Allocation, Issue
    from marketplace.lots import list_lot

    tiles = tuple(Allocation(account, kg) for account, kg in allocations)
    issue = Issue(f"issue:{project}-{vintage}", project, vintage, 1, tiles)
    sequencer.append(session, [issue])
    list_lot(
        session,
        sequencer,
        lot_id=lot_id,
        batch_id=issue.batch_id,
        quantity_kg=quantity_kg,
        price_fen_per_t=price_fen_per_t,
        at=at,
        farmer_share_percent=farmer_share_percent,
    )
    return issue.batch_id


def add_lot_in_own_project(
    session,
    sequencer,
    *,
    lot_id: str,
    code: str,
    project_name: str,
    county: str,
    zone: str,
    quantity_kg: int,
    price_fen_per_t: int,
    at,
    owner_name: str,
    owner_account: str,
    farmer_share_percent=None,
) -> str:
    """Project ``code`` in ``county`` of the owner ``owner_name`` (made with its ledger account
    ``owner_account`` on first use), its 2021 batch of ``quantity_kg`` issued to the owner and listed whole
    as ``lot_id``; ``farmer_share_percent`` as :func:`marketplace.lots.list_lot` takes it.

    Returns the batch id."""
    from sqlalchemy import select

    from ledger.accounts import ensure_account
    from offsets.models import Organisation

    ensure_account(session, "RETAIL", "retail", "零售库存")
    owner = session.scalar(select(Organisation).where(Organisation.name == owner_name))
    if owner is None:
        owner = Organisation(name=owner_name, kind="project_owner", ledger_account_id=None, created_at=at)
        session.add(owner)
        session.flush()
        owner.ledger_account_id = ensure_account(session, owner_account, "owner", owner_name).id
        session.flush()
    add_project(
        session, code=code, name=project_name, county_code=county, zone=zone, owner_id=owner.id, created_at=at
    )
    return issue_and_list(
        session,
        sequencer,
        project=code,
        vintage="2021",
        allocations=[(owner_account, quantity_kg)],
        lot_id=lot_id,
        quantity_kg=quantity_kg,
        price_fen_per_t=price_fen_per_t,
        at=at,
        farmer_share_percent=farmer_share_percent,
    )


MEASURED_FIR_PARAMETERS = {
    name: {"value": value, "unit": unit, "source": "test: measured on site"}
    for name, value, unit in (
        ("basic_wood_density", "0.40", "t d.m./m3"),
        ("bef", "1.15", "dimensionless"),
        ("root_shoot_ratio", "0.40", "dimensionless"),
        ("carbon_fraction", "0.47", "t C/t d.m."),
    )
}


def measured_fir_year(*, area_mu: str, start_m3_per_ha: str, end_m3_per_ha: str) -> dict[str, Any]:
    """One year's afforestation report inputs (AR-CM-001-V01): one fir stratum, every parameter measured."""
    return {
        "period_years": "1",
        "baseline": {"removals_t_co2e": "0", "source": "PDD"},
        "uncertainty": {"relative_percent": "5", "confidence_level_percent": "90", "source": "plots"},
        "strata": [
            {
                "species": "冷杉属",
                "area_mu": area_mu,
                "volume_start_m3_per_ha": start_m3_per_ha,
                "volume_end_m3_per_ha": end_m3_per_ha,
                "source": "plots",
                "parameters": MEASURED_FIR_PARAMETERS,
            }
        ],
    }


def individual_order(quantity_kg: int, filters, *, public: bool = False):
    """A micro-sink order of ``quantity_kg`` by 小王 for 王小明 (named in public if ``public``)."""
    from marketplace.order_store import NewOrder
    from marketplace.orders import OrderKind

    return NewOrder(
        kind=OrderKind.INDIVIDUAL,
        quantity_kg=quantity_kg,
        buyer_organisation_id=None,
        buyer_display_name="小王",
        beneficiary_name="王小明",
        beneficiary_public=public,
        reason="personal_footprint",
        details="",
        filters=filters,
    )


def add_listed_lot(session, sequencer, *, created_at, issued_kg: int, listed_kg: int, price_fen_per_t: int):
    """:func:`add_registered_project`, its 2021 batch of ``issued_kg`` issued to its owner, and ``listed_kg``
    of it listed as lot ``L-1`` at ``price_fen_per_t``. Returns the batch id."""
    add_registered_project(session, created_at=created_at)
    return issue_and_list(
        session,
        sequencer,
        project="YY01",
        vintage="2021",
        allocations=[("OWN-A", issued_kg)],
        lot_id="L-1",
        quantity_kg=listed_kg,
        price_fen_per_t=price_fen_per_t,
        at=created_at,
    )


def race_together(
    pg_url: str,
    racers: int,
    attempt,
    *,
    doing: str,
    barrier_timeout_s: float = 30,
    join_timeout_s: float = 60,
) -> list[BaseException | None]:
    """Run ``attempt(database, index)`` for ``racers`` racers at once on PostgreSQL; what each raised.

    Each racer has its own :class:`~ledger.database.Database` (engine and connection pool) on the test's
    schema, as separate web workers would, connected before the race so that the race is not about
    connecting; a :class:`threading.Barrier` releases them together. ``doing`` names what a racer still
    running after ``join_timeout_s`` is stuck doing.
    """
    import threading

    from sqlalchemy import text

    from ledger.database import Database

    databases = [Database(pg_url) for _ in range(racers)]
    barrier = threading.Barrier(racers)
    errors: list[BaseException | None] = [None] * racers

    def run(index: int) -> None:
        try:
            barrier.wait(barrier_timeout_s)
            attempt(databases[index], index)
        except BaseException as exc:  # recorded and asserted on by the test thread
            errors[index] = exc

    try:
        for database in databases:
            with database.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        threads = [threading.Thread(target=run, args=(i,), name=f"racer-{i}") for i in range(racers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(join_timeout_s)
            assert not thread.is_alive(), f"{thread.name} is still {doing} after {join_timeout_s} s"
    finally:
        for database in databases:
            database.dispose()
    return errors
