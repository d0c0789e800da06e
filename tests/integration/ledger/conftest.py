"""Fixtures of the ledger's integration tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from registry_support import Registry, registries_in


@pytest.fixture
def no_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly if a command builds the app (config, database): an outsider's command works offline."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("this command must not create the app")

    monkeypatch.setattr("web.cli.create_app", refuse)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@192.0.2.1:1/unreachable")


@pytest.fixture
def registries(tmp_path: Path) -> Iterator[Callable[..., Registry]]:
    """Makes registries on loopback (registry_support.registries_in), all stopped after the test."""
    with registries_in(tmp_path) as make:
        yield make
