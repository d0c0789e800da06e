"""Twenty buyers race through the orders API for the last tonnes of a lot, on PostgreSQL.

The app runs on a fresh PostgreSQL schema; each buyer is its own thread with its own test client, released
together by a barrier, and places an individual order with ``POST /orders``; then the registry confirms
every won order's invoice, again all at once. Nothing may be oversold: each buyer gets a reservation or a
clear 409 ``insufficient-stock`` problem, every paid order is fulfilled exactly once, and the ledger verifies
with the retired kilograms equal to what the winners bought.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import API, ledger, make_party
from flask import Flask
from market_support import add_lot, pay, retail_kg
from sqlalchemy import func, select
from tests_support import ORIGIN, migrate

from ledger.models import Entry
from marketplace.models import Certificate, MarketOrder
from web.app import create_app

pytestmark = pytest.mark.pg

BUYERS = 20
LOT_KG = 3_000
BARRIER_TIMEOUT_S = 30
JOIN_TIMEOUT_S = 120


@pytest.fixture
def pg_app(tmp_path: Path, pg_url: str) -> Iterator[Flask]:
    migrate(pg_url)
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": pg_url,
            "TANHUI_SIGNING_KEY_FILE": tmp_path / "signing.key",
            "TANHUI_LEDGER_ORIGIN": ORIGIN,
        }
    )
    yield app
    ledger(app).database.dispose()


def run_together(work, count: int) -> list:
    """Run ``work(index)`` in ``count`` threads released at once; their results (or exceptions)."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(BARRIER_TIMEOUT_S)
            results[index] = work(index)
        except BaseException as exc:  # asserted on by the test thread
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,), name=f"buyer-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT_S)
        assert not thread.is_alive(), f"{thread.name} is still running after {JOIN_TIMEOUT_S} s"
    return results


def test_twenty_buyers_racing_through_the_api_never_oversell_and_each_is_fulfilled_once(pg_app):
    add_lot(pg_app, "L-1", "YY01", "513423", "川西南", LOT_KG, 50_000)
    admin = make_party(pg_app, pg_app.test_client(), "四川省林草碳汇登记中心", "registry", "registry_admin")
    quantities = [random.Random(index).randrange(100, 401) for index in range(BUYERS)]
    assert sum(quantities) > LOT_KG, "the buyers must want more than the lot has"

    def place(index: int):
        body = {
            "kind": "individual",
            "quantity_kg": quantities[index],
            "display_name": f"买家{index}",
            "beneficiary": {"name": f"买家{index}"},
        }
        return pg_app.test_client().post(f"{API}/orders", json=body)

    placed = run_together(place, BUYERS)

    assert not [r for r in placed if isinstance(r, BaseException)], placed
    won = [(i, r.get_json()) for i, r in enumerate(placed) if r.status_code == 201]
    refused = [(i, r) for i, r in enumerate(placed) if r.status_code != 201]
    assert won, "some buyers must win"
    assert refused, "some buyers must be refused"
    for _, response in refused:
        assert response.status_code == 409, response.get_data(as_text=True)
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["type"].endswith("/insufficient-stock")
    won_kg = sum(quantities[i] for i, _ in won)
    assert won_kg <= LOT_KG
    # Stock only shrank during the race, so each refusal asked for more than is left now.
    assert all(quantities[i] > LOT_KG - won_kg for i, _ in refused)

    payments = run_together(lambda n: pay(admin, won[n][1], reference=f"BANK-{n:04d}"), len(won))

    assert [p.status_code for p in payments if not isinstance(p, BaseException)] == [200] * len(won), [
        p if isinstance(p, BaseException) else p.get_json() for p in payments
    ]
    service = ledger(pg_app)
    with service.database.reading() as session:
        states = session.scalars(select(MarketOrder.state)).all()
        retirements = session.scalar(select(func.count()).where(Entry.kind == "retire"))
        certificates = session.scalar(select(func.count()).select_from(Certificate))
    assert sorted(states) == ["fulfilled"] * len(won)
    assert retirements == certificates == len(won)
    assert retail_kg(pg_app) == LOT_KG - won_kg
    assert service.verify().size == 2 + len(won)  # issue, listing, one retirement per winner
