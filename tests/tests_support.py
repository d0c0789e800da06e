"""Helpers shared by test modules (importable because pytest puts ``tests/`` on ``sys.path``)."""

from __future__ import annotations

from alembic import command

from migrations import alembic_config

ORIGIN = "test.tanhui.example/ledger"


def migrate(url: str) -> None:
    """Create the schema the only way it is ever created: by running the migrations."""
    command.upgrade(alembic_config(url), "head")


def add_registered_project(session, *, created_at, owner_account: str = "OWN-A", code: str = "YY01"):
    """A registered afforestation project in 盐源县 (a former poverty county) and its owner organisation.

    Written straight to the tables, for tests of what comes after registration (lots, orders).
    """
    from datetime import date
    from decimal import Decimal

    from offsets.models import Organisation, Project

    owner = Organisation(
        name="业主甲", kind="project_owner", ledger_account_id=owner_account, created_at=created_at
    )
    session.add(owner)
    session.flush()
    project = Project(
        code=code,
        name="盐源县造林碳汇",
        project_type="afforestation",
        county_code="513423",
        zone="川西南",
        area_mu=Decimal("1000"),
        location={"type": "Point", "coordinates": [101.5, 27.4]},
        owner_id=owner.id,
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
    return owner, project


def add_listed_lot(session, sequencer, *, created_at, issued_kg: int, listed_kg: int, price_fen_per_t: int):
    """:func:`add_registered_project`, its 2021 batch of ``issued_kg`` issued to its owner, and ``listed_kg``
    of it listed as lot ``L-1`` at ``price_fen_per_t``. Returns the batch id."""
    from ledger.commands import Allocation, Issue
    from marketplace.lots import list_lot

    add_registered_project(session, created_at=created_at)
    issue = Issue("issue:YY01-2021", "YY01", "2021", 1, (Allocation("OWN-A", issued_kg),))
    sequencer.append(session, [issue])
    list_lot(
        session,
        sequencer,
        lot_id="L-1",
        batch_id=issue.batch_id,
        quantity_kg=listed_kg,
        price_fen_per_t=price_fen_per_t,
        at=created_at,
    )
    return issue.batch_id
