"""Where the headless browser is, and what happens when it is not there."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def require_browser(
    chromium: Path = CHROMIUM, chromedriver: Path = CHROMEDRIVER, environ: Mapping[str, str] = os.environ
) -> None:
    """Skip (outside CI) or fail (``CI=true``) unless both the browser and its driver are installed."""
    missing = [str(path) for path in (chromium, chromedriver) if not path.exists()]
    if not missing:
        return
    message = f"headless browser tests need {' and '.join(missing)} (run scripts/ensure-browser)"
    if environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
