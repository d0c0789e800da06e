"""``tanhui witness serve`` as a witness runs it: gunicorn in its own process, its own key and state
file, no registry configuration; a registry on loopback pushes to it and serves its cosignature."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from registry_support import Registry, one_line_failure
from tests_support import free_port

from ledger.cosignature import cosignatures
from ledger.keys import read_cosigner_file
from ledger.log_follow import http_fetch
from ledger.note import NoteVerifier, open_note
from web.cli import main
from web.scheduler import sign_checkpoint_job

TANHUI = str(Path(sys.executable).parent / "tanhui")


def cli(*arguments: str) -> Result:
    return CliRunner().invoke(main, list(arguments), catch_exceptions=False)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_a_served_witness_cosigns_what_the_registry_pushes(registries, tmp_path, no_app):
    registry: Registry = registries("served-witness")
    key = tmp_path / "witness.key"
    assert cli("keys", "cosigner", "--name", "witness.example.org/served", "--out", str(key)).exit_code == 0
    state = tmp_path / "witness-state.sqlite"
    port = free_port()
    origin = registry.service.config.origin
    command = [TANHUI, "witness", "serve", "--key", str(key), "--log", origin, registry.vkey]
    command += ["--state", str(state), "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not answers(url + "/"):
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("tanhui witness serve did not answer within 30 s")
            time.sleep(0.2)
        cosigner = read_cosigner_file(key)
        registry.service.add_witness(cosigner.vkey, url)
        size = registry.grow(6, "a")
        [outcome] = sign_checkpoint_job(registry.service)
        assert outcome.error is None
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

    note = http_fetch(registry.url)("/api/v1/ledger/checkpoint").decode()
    opened = open_note(note, [NoteVerifier.from_vkey(registry.vkey)])
    assert [item.name for item in cosignatures(opened, [cosigner.verifier])] == ["witness.example.org/served"]
    status = cli("witness", "status", "--state", str(state))
    assert status.stdout == f"{origin}: cosigned at tree size {size}\n"


def test_the_witness_refuses_bad_options_in_one_line(registries, tmp_path, no_app):
    registry: Registry = registries("options")
    key = tmp_path / "w.key"
    cli("keys", "cosigner", "--name", "w.example", "--out", str(key))
    state = str(tmp_path / "s.sqlite")
    origin = registry.service.config.origin
    base = ["witness", "serve", "--state", state]
    missing = cli(*base, "--key", str(tmp_path / "none.key"), "--log", origin, registry.vkey)
    assert "cannot read" in one_line_failure(missing)
    assert "bad key for log" in one_line_failure(cli(*base, "--key", str(key), "--log", origin, "nonsense"))
    assert "no witness state" in one_line_failure(cli("witness", "status", "--state", str(tmp_path / "x")))
    not_sqlite = tmp_path / "not.sqlite"
    not_sqlite.write_text("not a database, " * 100)
    assert "cannot open the witness state" in one_line_failure(
        cli("witness", "status", "--state", str(not_sqlite))
    )
