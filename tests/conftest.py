"""Shared fixtures: a migrated database (SQLite file, or a fresh PostgreSQL schema), a ledger service, an app.

PostgreSQL tests need ``TANHUI_PG_URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
without it they are skipped, unless ``TANHUI_REQUIRE_PG`` is set (as CI does), when they fail.
Each PostgreSQL test gets its own schema, created by the migrations and dropped afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests_support import ORIGIN, fresh_pg_schema, migrate

from ledger.database import Database
from ledger.service import LedgerConfig, LedgerService

STANDARD_ACCOUNTS = (
    ("REGISTRY", "registry", "登记簿"),
    ("BUFFER", "buffer", "缓冲池"),
    ("RETAIL", "retail", "零售库存"),
    ("OWN-A", "owner", "项目业主甲"),
    ("OWN-B", "owner", "项目业主乙"),
    ("ENT-A", "enterprise", "企业甲"),
    ("ENT-B", "enterprise", "企业乙"),
)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tanhui.db'}"


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    url = os.environ.get("TANHUI_PG_URL")
    if not url:
        if os.environ.get("TANHUI_REQUIRE_PG"):
            pytest.fail("TANHUI_REQUIRE_PG is set but TANHUI_PG_URL is not")
        pytest.skip("PostgreSQL tests need TANHUI_PG_URL")
    return url


@pytest.fixture
def pg_url(pg_base_url: str) -> Iterator[str]:
    with fresh_pg_schema(pg_base_url) as url:
        yield url


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator[Callable[[str], LedgerService]]:
    """Migrate the database at ``url`` and return a ledger service on it with the standard accounts."""
    services: list[LedgerService] = []

    def build(url: str) -> LedgerService:
        migrate(url)
        service = LedgerService(
            Database(url), LedgerConfig(origin=ORIGIN, signing_key_file=tmp_path / f"key-{len(services)}")
        )
        for account_id, account_type, name in STANDARD_ACCOUNTS:
            service.open_account(account_id, account_type, name)
        services.append(service)
        return service

    yield build
    for service in services:
        service.database.dispose()


@pytest.fixture
def service(make_service: Callable[[str], LedgerService], sqlite_url: str) -> LedgerService:
    return make_service(sqlite_url)


@pytest.fixture
def pg_service(make_service: Callable[[str], LedgerService], pg_url: str) -> LedgerService:
    return make_service(pg_url)
