"""``DATABASE_REPLICA_URL`` is for a PostgreSQL standby of a PostgreSQL primary, and refused otherwise.

The replica itself, streaming from its primary, is exercised in ``tests/pg/test_read_replica.py``.
"""

from __future__ import annotations

import pytest
from tests_support import make_app

from ledger.database import Database

STANDBY = "postgresql+psycopg://reader@standby.example/tanhui"


def test_an_sqlite_registry_refuses_a_replica(tmp_path):
    with pytest.raises(ValueError, match="DATABASE_REPLICA_URL only with a postgresql:// DATABASE_URL"):
        Database(f"sqlite:///{tmp_path}/ledger.db", replica_url=STANDBY)
    with pytest.raises(ValueError, match="read replica is a PostgreSQL standby"):
        make_app(str(tmp_path), DATABASE_REPLICA_URL=STANDBY)


def test_a_replica_must_be_postgresql_too():
    with pytest.raises(ValueError, match="to a postgresql:// URL"):
        Database(STANDBY, replica_url="sqlite:///copy.db")


def test_without_a_replica_every_read_is_the_primarys(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/ledger.db", replica_url="")
    try:
        assert database.replica_engine is None
        assert not database.replica_usable
        with database.replica_reading() as session:  # the primary's read-only session
            assert session.get_bind().url == database.engine.url
    finally:
        database.dispose()
