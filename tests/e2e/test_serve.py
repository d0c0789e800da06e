"""`tanhui serve` as `make run` starts it: gunicorn workers, each with the scheduler, one signer at a time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests_support import free_port

from ledger.commands import Allocation, Issue
from ledger.database import Database
from ledger.models import Checkpoint
from ledger.service import LedgerConfig, LedgerService

TANHUI = str(Path(sys.executable).parent / "tanhui")


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8")
    except OSError:
        return 0, ""


@pytest.fixture
def server(tmp_path: Path):
    env = {
        **os.environ,
        "TANHUI_INSTANCE_PATH": str(tmp_path),
        "TANHUI_CHECKPOINT_INTERVAL_S": "1",
        "TANHUI_LEDGER_ORIGIN": "serve.test/ledger",
    }
    for command in (["db", "upgrade"], ["demo"]):
        subprocess.run([TANHUI, *command], env=env, check=True, capture_output=True, timeout=120)
    port = free_port()
    process = subprocess.Popen(
        [TANHUI, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    deadline = time.monotonic() + 30
    while get(f"{base}/ledger/key")[0] != 200:
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail("tanhui serve did not answer within 30 s")
        time.sleep(0.2)
    yield base, tmp_path
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def test_the_served_registry_publishes_and_keeps_signing_checkpoints(server):
    base, instance = server
    status, checkpoint = get(f"{base}/ledger/checkpoint")
    assert status == 200
    size = int(checkpoint.splitlines()[1])
    assert size > 200  # the demo ledger
    status, project_list = get(f"{base}/projects")
    assert status == 200
    assert len(json.loads(project_list)["items"]) == 12

    ledger = LedgerService(
        Database(f"sqlite:///{instance / 'tanhui.db'}"),
        LedgerConfig(origin="serve.test/ledger", signing_key_file=instance / "ledger-signing.key"),
    )
    ledger.open_account("OWN-SERVE", "owner", "served owner")
    ledger.append([Issue("served", "SV01", "2024", 1, (Allocation("OWN-SERVE", 100),))])
    deadline = time.monotonic() + 15
    while int(get(f"{base}/ledger/checkpoint")[1].splitlines()[1] or 0) != size + 1:
        assert time.monotonic() < deadline, "the scheduler signed no checkpoint for the new entry"
        time.sleep(0.3)
    time.sleep(2.5)  # both workers' jobs have run again by now
    with ledger.database.reading() as session:
        signed = session.scalar(
            select(func.count()).select_from(Checkpoint).where(Checkpoint.size == size + 1)
        )
    assert signed == 1
    ledger.database.dispose()
