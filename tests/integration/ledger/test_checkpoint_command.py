"""``tanhui ledger checkpoint [--force]``: what it signs and stores, and how the commands fail.

Any command that meets a database error says so in one line with a non-zero exit, never a traceback;
an unmigrated database is named as such.
"""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import select
from tests_support import ORIGIN, closed_port_url

from ledger import keys
from ledger.checkpoint import open_checkpoint
from ledger.commands import Allocation, Issue, Selection, Transfer
from ledger.models import Checkpoint
from ledger.note import NoteVerifier
from ledger.service import LedgerService
from web.cli import main


def run_cli(service: LedgerService, *args: str, **env: str) -> Result:
    settings = {
        "TANHUI_INSTANCE_PATH": str(service.config.signing_key_file.parent / "instance"),
        "DATABASE_URL": service.database.url,
        "TANHUI_SIGNING_KEY_FILE": str(service.config.signing_key_file),
        "TANHUI_LEDGER_ORIGIN": ORIGIN,
        "TANHUI_SCHEDULER": "false",
    } | env
    return CliRunner().invoke(main, list(args), env=settings, catch_exceptions=False)


def stored(service: LedgerService) -> list[tuple[int, str]]:
    with service.database.reading() as session:
        return [
            tuple(row)
            for row in session.execute(select(Checkpoint.size, Checkpoint.note).order_by(Checkpoint.id))
        ]  # type: ignore[misc]


def test_the_command_signs_the_current_tree_once_and_again_only_when_forced(service: LedgerService):
    service.append([Issue("i-1", "LS01", "2023", 1, (Allocation("OWN-A", 900),))])
    service.append([Transfer("t-1", "OWN-A", "ENT-A", Selection(quantity_kg=10))])
    signed = run_cli(service, "ledger", "checkpoint")
    assert signed.exit_code == 0, signed.output
    vkey = run_cli(service, "keys", "show").stdout.strip()
    checkpoint = open_checkpoint(signed.stdout, [NoteVerifier.from_vkey(vkey)], origin=ORIGIN)
    assert checkpoint.size == 2
    assert stored(service) == [(2, signed.stdout)]

    again = run_cli(service, "ledger", "checkpoint")  # the tree has not grown: the same checkpoint
    assert again.exit_code == 0, again.output
    assert again.stdout == signed.stdout
    assert stored(service) == [(2, signed.stdout)]

    forced = run_cli(service, "ledger", "checkpoint", "--force")
    assert forced.exit_code == 0, forced.output
    assert open_checkpoint(forced.stdout, [NoteVerifier.from_vkey(vkey)]).size == 2
    assert [size for size, _ in stored(service)] == [2, 2]

    service.append([Transfer("t-2", "OWN-A", "ENT-A", Selection(quantity_kg=10))])
    grown = run_cli(service, "ledger", "checkpoint")
    assert open_checkpoint(grown.stdout, [NoteVerifier.from_vkey(vkey)]).size == 3
    assert [size for size, _ in stored(service)] == [2, 2, 3]


def test_a_key_others_can_read_signs_nothing_and_says_so_in_one_line(service: LedgerService):
    service.append([Issue("i-1", "LS01", "2023", 1, (Allocation("OWN-A", 900),))])
    key = service.config.signing_key_file
    service.sign_checkpoint()
    service.append([Transfer("t-1", "OWN-A", "ENT-A", Selection(quantity_kg=10))])
    key.chmod(0o644)
    refused = run_cli(service, "ledger", "checkpoint")
    assert refused.exit_code == 1
    assert refused.stdout == ""
    assert refused.stderr == f"tanhui: {key} is readable by others; run: chmod 600 {key}\n"
    assert [size for size, _ in stored(service)] == [1]


def test_a_database_error_is_one_line_naming_what_the_database_said(service: LedgerService, tmp_path: Path):
    key = service.config.signing_key_file
    before = service.signer.to_skey()
    unmigrated = f"sqlite:///{tmp_path / 'never-migrated.db'}"
    for args in (("ledger", "checkpoint"), ("ledger", "index"), ("keys", "rotate")):
        result = run_cli(service, *args, DATABASE_URL=unmigrated)
        assert result.exit_code == 1, args
        assert result.stdout == "", args
        assert re.fullmatch(
            r"tanhui: database error: \(sqlite3\.OperationalError\) no such table: \w+;"
            r" run: tanhui db upgrade\n",
            result.stderr,
        ), (args, result.stderr)

    assert keys.read_key_file(key).to_skey() == before  # the rotation changed no key file
    assert sorted(key.parent.glob(f"{key.name}*")) == [key]

    unreachable = closed_port_url().replace("http://", "postgresql+psycopg://postgres@") + "/tanhui"
    result = run_cli(service, "ledger", "checkpoint", DATABASE_URL=unreachable)
    assert result.exit_code == 1
    assert re.fullmatch(
        r"tanhui: database error: \(psycopg\.OperationalError\) connection failed: .*Connection refused.*\n",
        result.stderr,
    ), result.stderr
    assert "run: tanhui db upgrade" not in result.stderr
    assert stored(service) == []
