"""Where API views find the services the composition root wired into the app."""

from __future__ import annotations

from flask import current_app

from ledger.database import Database
from ledger.service import LedgerService

LEDGER_EXTENSION = "tanhui.ledger"


def ledger_service() -> LedgerService:
    service: LedgerService = current_app.extensions[LEDGER_EXTENSION]
    return service


def database() -> Database:
    """The one database every unit of work of a request runs in (the ledger's, which owns the engine)."""
    return ledger_service().database
