"""What the ``tanhui`` commands share: one-line failures, and the outsider's reading of a registry."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

from ledger.checkpoint import CheckpointError
from ledger.log_follow import RegistryError
from ledger.note import NoteError, NoteVerifier


def fail(message: str) -> NoReturn:
    click.echo(f"tanhui: {message}", err=True)
    sys.exit(1)


def trusted_keys(vkeys: tuple[str, ...]) -> list[NoteVerifier]:
    """The verifiers of the keys given with ``--key``; a bad key is a one-line failure."""
    try:
        return [NoteVerifier.from_vkey(vkey.strip()) for vkey in vkeys]
    except NoteError as exc:
        fail(f"bad verifier key: {exc}")


@contextmanager
def reading_registry() -> Iterator[None]:
    """What an outsider's command may meet at the registry, as one-line failures."""
    try:
        yield
    except CheckpointError as exc:
        fail(f"checkpoint refused: {exc}")
    except RegistryError as exc:
        fail(f"registry not readable: {exc}")
