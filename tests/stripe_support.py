"""localstripe and the app on loopback ports, and Stripe's webhook signing, for the payment tests.

:func:`start_localstripe` runs the emulator (``python -m localstripe --port <free port> --from-scratch``)
as a child process on 127.0.0.1, waits until it answers and gives back its base URL; the real ``stripe``
SDK is pointed at it through ``api_base`` (the app's ``STRIPE_API_BASE``). :class:`LiveServer` serves a
Flask app from a thread with werkzeug's ``make_server``, so that localstripe's signed webhook deliveries
(registered with ``POST /_config/webhooks/<name>``) reach the app over HTTP. :func:`sign_payload` signs a
payload exactly as Stripe does (``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>">``), for replaying
an event the way Stripe retries one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from tests_support import free_port
from werkzeug.serving import BaseWSGIServer, make_server

STARTUP_TIMEOUT_S = 20.0
WEBHOOK_SECRET = "whsec_tanhui_test_4f1c2d"
SECRET_KEY = "sk_test_tanhui"
PUBLISHABLE_KEY = "pk_test_tanhui"
WEBHOOK_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled")


@dataclass
class LocalStripe:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def register_webhook(
        self, name: str, url: str, secret: str, events: Iterable[str] = WEBHOOK_EVENTS
    ) -> None:
        """Have localstripe deliver ``events`` to ``url``, signed with ``secret`` (replaces ``name``)."""
        body = json.dumps({"url": url, "secret": secret, "events": list(events)}).encode()
        request = urllib.request.Request(
            f"{self.url}/_config/webhooks/{name}",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, response.status

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_localstripe(log_path: Path) -> LocalStripe:
    """Start localstripe on a free loopback port and wait until it answers; retried if the port was taken."""
    for _ in range(3):
        port = free_port()
        log = log_path.open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        url = f"http://127.0.0.1:{port}"
        if _wait_until_answering(url, process):
            return LocalStripe(url, process, log_path)
        if process.poll() is None:
            process.kill()
        process.wait(timeout=5)
    raise RuntimeError(f"localstripe did not start; see {log_path}")


def _wait_until_answering(url: str, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            # localstripe serves its Stripe.js stand-in without authentication.
            with urllib.request.urlopen(f"{url}/js.stripe.com/v3/", timeout=1) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    return False


class LiveServer:
    """A Flask app served on 127.0.0.1 from a background thread (werkzeug's threaded server)."""

    def __init__(self, app: Flask) -> None:
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-app", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def sign_payload(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header for ``payload``, computed as Stripe computes it."""
    at = int(time.time()) if timestamp is None else timestamp
    signed = f"{at}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def wait_for(probe: Callable[[], Any], *, timeout_s: float = 15.0, interval_s: float = 0.1) -> Any:
    """Poll ``probe`` until it returns something truthy (a webhook arrives about a second after the
    payment: localstripe waits before delivering); the last value otherwise."""
    deadline = time.monotonic() + timeout_s
    value = probe()
    while not value and time.monotonic() < deadline:
        time.sleep(interval_s)
        value = probe()
    return value
