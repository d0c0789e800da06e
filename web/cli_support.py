"""What the ``tanhui`` commands share: one-line failures, and the outsider's reading of a registry."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click
from flask.cli import FlaskGroup
from sqlalchemy.exc import DBAPIError

from ledger.checkpoint import CheckpointError
from ledger.database import error_summary
from ledger.log_follow import RegistryError
from ledger.note import NoteError, NoteVerifier
from offsets.reference_data import ReferenceDataError


def fail(message: str) -> NoReturn:
    click.echo(f"tanhui: {message}", err=True)
    sys.exit(1)


MISSING_TABLE_WORDS = ("no such table", "does not exist")
"""How SQLite and PostgreSQL say a table is missing: the schema was never migrated."""


class CommandGroup(FlaskGroup):
    """The ``tanhui`` group: a database error in any command is a one-line failure, not a traceback, and so
    is a bad packaged reference data file, which stops the app from being created (offsets.reference_data).

    Every command that reads or writes runs in one transaction that is rolled back when it fails, so
    nothing is half-written; the operator reads what the database said (unreachable, locked, a table
    missing because ``tanhui db upgrade`` has not run).
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DBAPIError as exc:
            fail(database_failure(exc))
        except ReferenceDataError as exc:
            fail(" ".join(str(exc).splitlines()))


def database_failure(error: DBAPIError) -> str:
    summary = error_summary(error)
    hint = "; run: tanhui db upgrade" if any(word in summary for word in MISSING_TABLE_WORDS) else ""
    return f"database error: {summary}{hint}"


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
