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


def _instance_secret(path: Path) -> str:
    """The session-signing secret kept in the instance folder, created once (mode 0600).

    Every gunicorn worker builds its own app: a per-process random secret would make each worker refuse
    the others' session cookies (and so the pages' CSRF tokens). The file is written under a temporary
    name and linked into place, so concurrent workers agree on whichever secret was linked first.
    """
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_text(encoding="ascii").strip()


def from_environment(instance_path: Path, environ: dict[str, str] | None = None) -> dict[str, Any]:
    env = dict(os.environ if environ is None else environ)
    return {
        "DATABASE_URL": env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'tanhui.db'}",
        "DATABASE_REPLICA_URL": env.get("DATABASE_REPLICA_URL") or None,
        "TANHUI_REPLICA_MAX_LAG_S": float(env.get("TANHUI_REPLICA_MAX_LAG_S") or 60),
        "TANHUI_VERIFY_ON_REPLICA": _bool(env.get("TANHUI_VERIFY_ON_REPLICA"), False),
        "TANHUI_SIGNING_KEY_FILE": Path(
            env.get("TANHUI_SIGNING_KEY_FILE") or instance_path / "ledger-signing.key"
        ),
        "TANHUI_LEDGER_ORIGIN": env.get("TANHUI_LEDGER_ORIGIN") or DEFAULT_ORIGIN,
        "TANHUI_CREATE_SIGNING_KEY": _bool(env.get("TANHUI_CREATE_SIGNING_KEY"), True),
        "TANHUI_CHECKPOINT_INTERVAL_S": int(env.get("TANHUI_CHECKPOINT_INTERVAL_S") or 60),
        "TANHUI_WITNESS_KEYS": tuple((env.get("TANHUI_WITNESS_KEYS") or "").split()),
        "TANHUI_SCHEDULER": _bool(env.get("TANHUI_SCHEDULER"), False),
        "TANHUI_RESERVATION_TTL_S": int(env.get("TANHUI_RESERVATION_TTL_S") or 1800),
        "TANHUI_RESERVATION_EXPIRY_INTERVAL_S": int(env.get("TANHUI_RESERVATION_EXPIRY_INTERVAL_S") or 60),
        "TANHUI_ACCOUNT_INDEX_INTERVAL_S": int(env.get("TANHUI_ACCOUNT_INDEX_INTERVAL_S") or 60),
        "TANHUI_PUBLIC_BASE_URL": _base_url(env.get("TANHUI_PUBLIC_BASE_URL")),
        "TANHUI_QUOTE_VALIDITY_S": int(env.get("TANHUI_QUOTE_VALIDITY_S") or 86400),
        "TANHUI_IDEMPOTENCY_RETENTION_S": int(env.get("TANHUI_IDEMPOTENCY_RETENTION_S") or 30 * 86400),
        # Payments: "invoice" (offline, the default) or "stripe" (PaymentIntents; needs the two secrets).
        "TANHUI_PAYMENT_PROVIDER": env.get("TANHUI_PAYMENT_PROVIDER") or "invoice",
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY") or None,
        "STRIPE_PUBLISHABLE_KEY": env.get("STRIPE_PUBLISHABLE_KEY") or None,
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET") or None,
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE") or None,
        "STRIPE_PAYMENT_METHOD_TYPES": env.get("STRIPE_PAYMENT_METHOD_TYPES") or None,
        "STRIPE_JS_URL": env.get("STRIPE_JS_URL") or None,
        # The pages' micro-sink orders can be paid with a "pay (demo)" button (an offline invoice payment).
        # On by default only in the embedded default (no DATABASE_URL), i.e. `make run` and the demo.
        "TANHUI_DEMO_PAYMENTS": _bool(env.get("TANHUI_DEMO_PAYMENTS"), not env.get("DATABASE_URL")),
        "SECRET_KEY": env.get("SECRET_KEY") or _instance_secret(instance_path / "secret.key"),
        # Signing in to the pages (web/pages/sign_in.py): session lifetime and failed-attempt throttle.
        "TANHUI_SIGN_IN_MAX_AGE_S": int(env.get("TANHUI_SIGN_IN_MAX_AGE_S") or 12 * 3600),
        "TANHUI_SIGN_IN_ATTEMPTS": int(env.get("TANHUI_SIGN_IN_ATTEMPTS") or 5),
        "TANHUI_SIGN_IN_WINDOW_S": int(env.get("TANHUI_SIGN_IN_WINDOW_S") or 900),
        # The session cookie is not sent on cross-site subrequests, and only over HTTPS where the
        # registry is served over HTTPS.
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": (_base_url(env.get("TANHUI_PUBLIC_BASE_URL")) or "").startswith("https://"),
        "JSON_AS_ASCII": False,
    }
