"""Production serving with gunicorn, started from ``tanhui serve``."""

from __future__ import annotations

import os
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


def run_gunicorn(host: str, port: int, workers: int) -> None:
    # Every worker starts the scheduler; a database lock lets exactly one of them run each job.
    os.environ.setdefault("TANHUI_SCHEDULER", "true")
    TanhuiServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "accesslog": "-",
            "timeout": 60,
            "preload_app": False,
            # gunicorn's control socket lives at one path per user: two servers on a machine would clash.
            "control_socket_disable": True,
        }
    ).run()
