"""Production serving with gunicorn, started from ``tanhui serve``."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


class TanhuiServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from ledger.runtime import tune_gc
        from web.app import create_app

        tune_gc()
        return create_app()


class WitnessServer(TanhuiServer):
    """A witness's service (``tanhui witness serve``): each worker builds the witness app itself."""

    def __init__(self, options: dict[str, Any], make_app: Callable[[], Flask]) -> None:
        self.make_app = make_app
        super().__init__(options)

    def load(self) -> Flask:
        return self.make_app()


def _options(host: str, port: int, workers: int) -> dict[str, Any]:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "accesslog": "-",
        "timeout": 60,
        "preload_app": False,
        # gunicorn's control socket lives at one path per user: two servers on a machine would clash.
        "control_socket_disable": True,
    }


def run_gunicorn(host: str, port: int, workers: int) -> None:
    # Every worker starts the scheduler; a database lock lets exactly one of them run each job.
    os.environ.setdefault("TANHUI_SCHEDULER", "true")
    TanhuiServer(_options(host, port, workers)).run()


def run_witness(host: str, port: int, workers: int, make_app: Callable[[], Flask]) -> None:
    WitnessServer(_options(host, port, workers), make_app).run()
