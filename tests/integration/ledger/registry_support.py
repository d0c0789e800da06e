"""Registries for the outsider's commands: real apps on SQLite, served over loopback HTTP by werkzeug."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from click.testing import Result
from tests_support import make_app, served

from ledger.commands import Allocation, Issue, Selection, Transfer
from ledger.log_follow import MAX_RESPONSE_BYTES, Fetch, RegistryError
from ledger.service import LedgerService


@dataclass
class Registry:
    service: LedgerService
    url: str

    @property
    def vkey(self) -> str:
        return self.service.verifier_key()

    def grow(self, transfers: int, tag: str, kg: int = 10) -> int:
        """Append ``transfers`` transfers and sign a checkpoint; returns the new size."""
        self.service.append(
            [Transfer(f"{tag}-{n}", "OWN-A", "ENT-A", Selection(quantity_kg=kg)) for n in range(transfers)]
        )
        size, _ = self.service.sign_checkpoint()
        return size


@contextmanager
def registries_in(tmp_path: Path) -> Iterator[Callable[..., Registry]]:
    """Makes registries on loopback: ``key`` names a signing key file, shared by registries that name it."""
    stack = ExitStack()

    def make(name: str, key: str = "registry", issued_kg: int = 100_000, **overrides: object) -> Registry:
        folder = tmp_path / name
        folder.mkdir()
        app = make_app(str(folder), key_file=tmp_path / f"{key}.key", **overrides)
        service: LedgerService = app.extensions["tanhui.ledger"]
        for account, kind in (("OWN-A", "owner"), ("ENT-A", "enterprise")):
            service.open_account(account, kind, account)
        service.append([Issue("issue-1", "LS01", "2024", 1, (Allocation("OWN-A", issued_kg),))])
        service.sign_checkpoint()
        stack.callback(service.database.dispose)
        return Registry(service, stack.enter_context(served(app, f"registry-{name}")))

    with stack:
        yield make


def registry_cli(registry: Registry, instance: Path, *arguments: str) -> Result:
    """Run the ``tanhui`` command line against ``registry``'s database and key, as its operator would.

    The app the command builds is disposed of afterwards, as the end of the operator's process would:
    its PostgreSQL connections would otherwise be left open until garbage collection.
    """
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from web import cli

    apps = []

    def create_app() -> object:
        app = cli.create_app()
        apps.append(app)
        return app

    service = registry.service
    env = {
        "TANHUI_INSTANCE_PATH": str(instance),
        "DATABASE_URL": service.database.url,
        "TANHUI_SIGNING_KEY_FILE": str(service.config.signing_key_file),
        "TANHUI_LEDGER_ORIGIN": service.config.origin,
        "TANHUI_CREATE_SIGNING_KEY": "false",
    }
    try:
        return CliRunner().invoke(
            cli.main, list(arguments), env=env, obj=ScriptInfo(create_app=create_app), catch_exceptions=False
        )
    finally:
        for app in apps:
            app.extensions["tanhui.ledger"].database.dispose()


def one_line_failure(result: Result) -> str:
    assert result.exit_code == 1, result.stdout
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("tanhui: ")
    return result.stderr


def answering(answers: dict[str, bytes]) -> Fetch:
    """A registry that answers only the given paths (a stand-in for its HTTP layer, which the
    tests of the commands exercise over loopback); like it, refuses an answer longer than asked for."""

    def fetch(path: str, max_bytes: int = MAX_RESPONSE_BYTES) -> bytes:
        if path not in answers:
            raise RegistryError(f"no answer for {path}")
        if len(answers[path]) > max_bytes:
            raise RegistryError(f"{path} answered more than {max_bytes} bytes")
        return answers[path]

    return fetch
