"""``tanhui witness``: run a witness of the registry's log, or of any log, on the witness's own machine.

The witness needs no app, configuration or registry database: only its cosigning key
(``tanhui keys cosigner``), the keys of the logs it witnesses, and its own state file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click
from flask.cli import AppGroup

from ledger.checkpoint_witness import CheckpointWitness
from ledger.keys import KeyFileError, read_cosigner_file
from ledger.log_follow import LogNotExtended, RegistryError, http_fetch
from ledger.note import NoteError, NoteVerifier
from ledger.witness import pull
from ledger.witness import submit as submit_cosignature
from ledger.witness_store import WitnessStore
from web.cli_support import fail, reading_registry

witness = AppGroup("witness", help="Witness transparency logs: cosign what they push (tlog-witness) or pull.")

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
        fail(str(exc))
    trusted: dict[str, list[NoteVerifier]] = {}
    for origin, vkey in logs:
        if not origin or any(char < " " for char in origin):
            fail(f"bad log origin {origin!r}: it is one line of text")
        try:
            trusted.setdefault(origin, []).append(NoteVerifier.from_vkey(vkey.strip()))
        except (NoteError, ValueError) as exc:
            fail(f"bad key for log {origin}: {exc}")
    return CheckpointWitness(cosigner, trusted, _store(state))


def _store(state: Path) -> WitnessStore:
    try:
        return WitnessStore(state)
    except (sqlite3.Error, OSError) as exc:
        fail(f"cannot open the witness state {state}: {exc}")


_KEY = click.option(
    "--key",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="the witness's cosigning key file (tanhui keys cosigner)",
)
_LOGS = click.option(
    "--log",
    "logs",
    type=(str, str),
    multiple=True,
    required=True,
    metavar="ORIGIN VKEY",
    help="a log to witness: its origin line and a verifier key of it (repeatable, also per origin)",
)


@witness.command("serve", with_appcontext=False)
@_KEY
@_LOGS
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


@witness.command("pull", with_appcontext=False)
@_KEY
@_LOGS
@_STATE
@click.option("--registry", required=True, help="the registry's address, e.g. https://registry.example")
@click.option("--submit", is_flag=True, help="send the cosignature to the registry, which serves it")
def witness_pull(
    key: Path, logs: tuple[tuple[str, str], ...], state: Path, registry: str, submit: bool
) -> None:
    """Cosign the registry's latest checkpoint if it extends the one cosigned last, as a push would.

    For a registry that does not push: it reads the checkpoint and a consistency proof from the
    registry and keeps the same state file as serve, so that one key cosigns from one view of the log.
    A checkpoint that does not extend is refused, kept as evidence, and fails the command.
    """
    built = build_witness(key, logs, state)
    if len(built.logs) != 1:
        fail("pull follows one log: give --log for one origin (repeat it only for that log's keys)")
    [origin] = built.logs
    with reading_registry():
        try:
            size, note = pull(built, http_fetch(registry), origin)
        except LogNotExtended as exc:
            fail(f"LOG NOT EXTENDED, see tanhui witness status: {exc}")
    show_cosignature(note, registry if submit else None, built.cosigner.name)
    if not submit:
        click.echo(f"ok: cosigned {origin} at tree size {size}")


def show_cosignature(note: str, registry: str | None, witness_name: str) -> None:
    """Print the cosignature line under ``note``; with ``registry``, send the cosigned checkpoint there
    and say what it kept (a refusal fails the command)."""
    click.echo(note.rstrip("\n").rsplit("\n", 1)[1])
    if registry is None:
        return
    try:
        answer = submit_cosignature(registry, note)
    except RegistryError as exc:
        fail(f"cosignature not kept: {exc}")
    size = answer.get("checkpoint_size")
    click.echo(f"ok: the registry keeps the cosignature of tree size {size} by {witness_name}")


@witness.command("status", with_appcontext=False)
@_STATE
def witness_status(state: Path) -> None:
    """The latest checkpoint cosigned per log, and the checkpoints refused as evidence against a log."""
    if not state.exists():
        fail(f"no witness state at {state}")
    store = _store(state)
    for origin, size in store.cosigned_sizes():
        click.echo(f"{origin}: cosigned at tree size {size}")
    for refused in store.refused():
        click.echo(f"REFUSED {refused.origin} ({refused.received_at.isoformat()}): {refused.reason}")
