"""Configuration from the environment, with the embedded defaults (SQLite and a key in the instance folder).

The variables and their defaults are listed in the README's configuration table.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

DEFAULT_ORIGIN = "tanhui.sichuan.registry/ledger"


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _base_url(value: str | None) -> str | None:
    if not value:
        return None
    if not value.startswith(("https://", "http://")):
        raise ValueError(f"TANHUI_PUBLIC_BASE_URL must start with https:// or http://: {value!r}")
    return value.rstrip("/")


def from_environment(instance_path: Path, environ: dict[str, str] | None = None) -> dict[str, Any]:
    env = dict(os.environ if environ is None else environ)
    return {
        "DATABASE_URL": env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'tanhui.db'}",
        "TANHUI_SIGNING_KEY_FILE": Path(
            env.get("TANHUI_SIGNING_KEY_FILE") or instance_path / "ledger-signing.key"
        ),
        "TANHUI_LEDGER_ORIGIN": env.get("TANHUI_LEDGER_ORIGIN") or DEFAULT_ORIGIN,
        "TANHUI_CREATE_SIGNING_KEY": _bool(env.get("TANHUI_CREATE_SIGNING_KEY"), True),
        "TANHUI_CHECKPOINT_INTERVAL_S": int(env.get("TANHUI_CHECKPOINT_INTERVAL_S") or 60),
        "TANHUI_SCHEDULER": _bool(env.get("TANHUI_SCHEDULER"), False),
        "TANHUI_RESERVATION_TTL_S": int(env.get("TANHUI_RESERVATION_TTL_S") or 1800),
        "TANHUI_RESERVATION_EXPIRY_INTERVAL_S": int(env.get("TANHUI_RESERVATION_EXPIRY_INTERVAL_S") or 60),
        "TANHUI_PUBLIC_BASE_URL": _base_url(env.get("TANHUI_PUBLIC_BASE_URL")),
        "TANHUI_QUOTE_VALIDITY_S": int(env.get("TANHUI_QUOTE_VALIDITY_S") or 86400),
        "TANHUI_IDEMPOTENCY_RETENTION_S": int(env.get("TANHUI_IDEMPOTENCY_RETENTION_S") or 30 * 86400),
        # Payments: "invoice" (offline, the default) or "stripe" (PaymentIntents; needs the two secrets).
        "TANHUI_PAYMENT_PROVIDER": env.get("TANHUI_PAYMENT_PROVIDER") or "invoice",
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY") or None,
        "STRIPE_PUBLISHABLE_KEY": env.get("STRIPE_PUBLISHABLE_KEY") or None,
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET") or None,
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE") or None,
        "SECRET_KEY": env.get("SECRET_KEY") or secrets.token_hex(32),
        "JSON_AS_ASCII": False,
    }
