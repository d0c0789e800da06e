"""``tanhui witness``: run a witness of the registry's log, or of any log, on the witness's own machine.

The witness needs no app, configuration or registry database: only its cosigning key
(``tanhui keys cosigner``), the keys of the logs it witnesses, and its own state file.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import NoReturn

import click
from flask.cli import AppGroup

from ledger.checkpoint_witness import CheckpointWitness
from ledger.keys import KeyFileError, read_cosigner_file
from ledger.note import NoteError, NoteVerifier
from ledger.witness_store import WitnessStore


def _fail(message: str) -> NoReturn:
    click.echo(f"tanhui: {message}", err=True)
    sys.exit(1)


witness = AppGroup("witness", help="Witness transparency logs (c2sp.org/tlog-witness): cosign their pushes.")

_STATE = click.option(
    "--state",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="the witness's state file (SQLite): the latest checkpoint cosigned per log, and evidence",
)


def build_witness(key: Path, logs: tuple[tuple[str, str], ...], state: Path) -> CheckpointWitness:
    """The witness from the command line's options; a one-line failure if any is wrong."""
    try:
        cosigner = read_cosigner_file(key)
    except KeyFileError as exc:
        _fail(str(exc))
    trusted: dict[str, list[NoteVerifier]] = {}
    for origin, vkey in logs:
        if not origin or any(char < " " for char in origin):
            _fail(f"bad log origin {origin!r}: it is one line of text")
        try:
            trusted.setdefault(origin, []).append(NoteVerifier.from_vkey(vkey.strip()))
        except (NoteError, ValueError) as exc:
            _fail(f"bad key for log {origin}: {exc}")
    return CheckpointWitness(cosigner, trusted, _store(state))


def _store(state: Path) -> WitnessStore:
    try:
        return WitnessStore(state)
    except (sqlite3.Error, OSError) as exc:
        _fail(f"cannot open the witness state {state}: {exc}")


@witness.command("serve", with_appcontext=False)
@click.option(
    "--key",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="the witness's cosigning key file (tanhui keys cosigner)",
)
@click.option(
    "--log",
    "logs",
    type=(str, str),
    multiple=True,
    required=True,
    metavar="ORIGIN VKEY",
    help="a log to witness: its origin line and a verifier key of it (repeatable, also per origin)",
)
@_STATE
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5100, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
def witness_serve(
    key: Path, logs: tuple[tuple[str, str], ...], state: Path, *, host: str, port: int, workers: int
) -> None:
    """Serve POST /add-checkpoint: cosign each checkpoint that extends the last one cosigned."""
    from web.server import run_witness
    from web.witness_app import create_witness_app

    build_witness(key, logs, state)  # every option is checked before the server starts
    run_witness(host, port, workers, lambda: create_witness_app(build_witness(key, logs, state)))


@witness.command("status", with_appcontext=False)
@_STATE
def witness_status(state: Path) -> None:
    """The latest checkpoint cosigned per log, and the checkpoints refused as evidence against a log."""
    if not state.exists():
        _fail(f"no witness state at {state}")
    store = _store(state)
    for origin, size in store.cosigned_sizes():
        click.echo(f"{origin}: cosigned at tree size {size}")
    for refused in store.refused():
        click.echo(f"REFUSED {refused.origin} ({refused.received_at.isoformat()}): {refused.reason}")
