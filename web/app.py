"""The composition root: configuration, database, ledger service, scheduler and blueprints, wired once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from api.context import LEDGER_EXTENSION
from api.problems import register_problem_handlers
from api.routes import api_blueprint
from ledger.database import Database
from ledger.service import LedgerConfig, LedgerService
from offsets.reference_data import check_reference_data
from web.config import from_environment
from web.i18n import init_i18n
from web.nul_guard import register_nul_guard
from web.pages import pages_blueprint


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """The registry's app; :class:`ReferenceDataError` if a packaged reference data file is bad."""
    check_reference_data()
    instance_path = (overrides or {}).get("INSTANCE_PATH") or os.environ.get("TANHUI_INSTANCE_PATH")
    app = Flask("web", instance_path=str(Path(instance_path).resolve()) if instance_path else None)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(from_environment(Path(app.instance_path)))
    app.config.update(overrides or {})
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if app.testing:
        # A template reading a key its view does not pass renders it blank by default; under test it
        # fails instead, so a renamed or dropped key cannot pass unseen. Optional keys use .get().
        from jinja2 import StrictUndefined

        app.jinja_env.undefined = StrictUndefined

    database = Database(app.config["DATABASE_URL"], app.config.get("DATABASE_REPLICA_URL"))
    ledger = LedgerService(
        database,
        LedgerConfig(
            origin=app.config["TANHUI_LEDGER_ORIGIN"],
            signing_key_file=Path(app.config["TANHUI_SIGNING_KEY_FILE"]),
            create_key_if_missing=app.config["TANHUI_CREATE_SIGNING_KEY"],
            witness_keys=tuple(app.config.get("TANHUI_WITNESS_KEYS", ())),
        ),
    )
    app.extensions[LEDGER_EXTENSION] = ledger

    app.register_blueprint(api_blueprint)
    register_problem_handlers(app)
    register_nul_guard(app)
    init_i18n(app)
    app.register_blueprint(pages_blueprint)

    if app.config["TANHUI_SCHEDULER"]:
        from web.scheduler import start_scheduler

        start_scheduler(app, ledger)
    return app
