"""The process settings of ledger/runtime.py are applied where the ledger's hot paths run."""

from __future__ import annotations

import gc

import pytest

from ledger.runtime import GC_THRESHOLDS


@pytest.fixture
def default_thresholds():
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_the_command_line_app_collects_garbage_with_the_ledgers_thresholds(
    default_thresholds, tmp_path, monkeypatch
):
    from web.cli import _create_app

    monkeypatch.setenv("TANHUI_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("TANHUI_SCHEDULER", "false")
    _create_app()
    assert gc.get_threshold() == GC_THRESHOLDS


def test_the_server_workers_collect_garbage_with_the_ledgers_thresholds(
    default_thresholds, tmp_path, monkeypatch
):
    from web.server import TanhuiServer

    monkeypatch.setenv("TANHUI_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("TANHUI_SCHEDULER", "false")
    server = TanhuiServer.__new__(TanhuiServer)  # load() is what each worker runs; no sockets are opened
    server.load()
    assert gc.get_threshold() == GC_THRESHOLDS
