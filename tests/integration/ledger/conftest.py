"""Fixtures of the ledger's integration tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def no_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly if a command builds the app (config, database): an outsider's command works offline."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("this command must not create the app")

    monkeypatch.setattr("web.cli.create_app", refuse)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@192.0.2.1:1/unreachable")
