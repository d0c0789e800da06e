"""The pages in Debian's headless chromium: the app served on a free loopback port by werkzeug in a thread,
on a migrated SQLite database with the demo registry, driven through chromedriver by selenium.

Browser tests skip when chromium or chromedriver is absent, except in CI (``CI=true``), where a missing
browser fails them: ``scripts/ensure-browser`` installs it there.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_support import CHROMEDRIVER, CHROMIUM, require_browser
from flask import Flask
from tests_support import ORIGIN, migrate, served

from api.context import ledger_service
from web.app import create_app
from web.demo import load_demo

PAGE_LOAD_TIMEOUT_S = 30


@pytest.fixture(scope="module")
def browser_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    require_browser()
    instance = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{instance / 'pages.db'}"
    migrate(url)
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": url,
            "TANHUI_SIGNING_KEY_FILE": instance / "signing.key",
            "TANHUI_LEDGER_ORIGIN": ORIGIN,
            "TANHUI_DEMO_PAYMENTS": True,
        }
    )
    with app.app_context():
        load_demo(ledger_service())
    yield app
    with app.app_context():
        ledger_service().database.dispose()


@pytest.fixture(scope="module")
def base_url(browser_app: Flask) -> Iterator[str]:
    """The app on a free loopback port (port 0: the kernel picks one), served by werkzeug in a thread."""
    with served(browser_app, "tanhui-pages") as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    # A reader in Sichuan: the browser asks for Chinese (headless chromium would otherwise send en-US).
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT_S)
    yield driver
    driver.quit()


@pytest.fixture
def browser(chromium: object, base_url: str) -> object:
    """The module's chromium with no cookies left from the previous test (so Chinese by default)."""
    chromium.get(f"{base_url}/ledger")  # any page of the origin, to be allowed to clear its cookies
    chromium.delete_all_cookies()
    return chromium
