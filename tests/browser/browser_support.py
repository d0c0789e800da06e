"""Where the headless browser is, and what happens when it is not there."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.ui import WebDriverWait

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


WAIT_S = 15
PAGE_MARK = "tanhuiPreviousPage"


def submit_and_wait(browser, button) -> None:
    """Click a submit button and wait until the next page has loaded in place of this one.

    The old page is marked with a window property that a new document does not have; this does not ask
    the browser about elements of a document being replaced (which chromium may answer with an inspector
    error instead of a stale-element one).
    """
    browser.execute_script(f"window.{PAGE_MARK} = true;")
    button.click()

    def next_page_loaded(driver) -> bool:
        try:
            return bool(
                driver.execute_script(
                    f"return window.{PAGE_MARK} === undefined && document.readyState === 'complete';"
                )
            )
        except WebDriverException:  # the document is being replaced
            return False

    WebDriverWait(browser, WAIT_S).until(next_page_loaded)
