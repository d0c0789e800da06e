"""The registry's journey in headless chromium: an order placed in the shop, the registry admin signs in,
confirms the bank transfer on the invoices page, and follows the certificate link; then signs out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from browser_support import submit_and_wait
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from api.context import ledger_service
from api.users import create_user
from offsets.models import Organisation

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WAIT_S = 15
ADMIN_EMAIL = "admin@registry.example.cn"
ADMIN_PASSWORD = "a long registry password"


@pytest.fixture(scope="module")
def registry_admin(browser_app) -> str:
    with browser_app.app_context(), ledger_service().database.unit_of_work() as uow:
        registry_id = uow.session.scalar(select(Organisation.id).where(Organisation.kind == "registry"))
        create_user(
            uow.session,
            email=ADMIN_EMAIL,
            display_name="登记簿管理员甲",
            password=ADMIN_PASSWORD,
            role="registry_admin",
            organisation_id=registry_id,
            now=datetime.now(UTC),
        )
        uow.commit()
    return ADMIN_EMAIL


def test_the_registry_admin_signs_in_confirms_an_invoice_and_sees_the_certificate(
    browser, base_url, registry_admin
):
    browser.get(f"{base_url}/shop")
    quantity = browser.find_element(By.ID, "quantity_kg")
    quantity.clear()
    quantity.send_keys("9")
    browser.find_element(By.ID, "name").send_keys("转账买家")
    submit_and_wait(browser, browser.find_element(By.ID, "place-order"))
    order_id = browser.current_url.rstrip("/").rsplit("/", 1)[1]
    assert browser.find_element(By.ID, "order-state").get_attribute("data-state") == "reserved"

    browser.get(f"{base_url}/registry-admin/invoices")
    assert "/login?next=" in browser.current_url
    browser.find_element(By.ID, "email").send_keys(registry_admin)
    browser.find_element(By.ID, "password").send_keys(ADMIN_PASSWORD)
    submit_and_wait(browser, browser.find_element(By.ID, "sign-in"))
    assert browser.current_url.endswith("/registry-admin/invoices")
    assert browser.find_element(By.ID, "account-link").text == "登记簿管理员甲"

    row = browser.find_element(By.ID, f"awaiting-{order_id}")
    row.find_element(By.NAME, "reference").send_keys("BANK-BROWSER-0001")
    assert row.find_element(By.NAME, "amount").get_attribute("value")  # the price, filled in
    submit_and_wait(browser, row.find_element(By.CSS_SELECTOR, "button.confirm-invoice"))

    confirmation = browser.find_element(By.ID, "confirmation")
    assert confirmation.get_attribute("data-order") == order_id
    assert confirmation.get_attribute("data-state") == "fulfilled"
    assert not browser.find_elements(By.ID, f"awaiting-{order_id}")
    browser.get(browser.find_element(By.ID, "certificate-link").get_attribute("href"))
    WebDriverWait(browser, WAIT_S).until(lambda driver: "碳汇注销证书" in driver.title)
    assert "转账买家" in browser.find_element(By.ID, "certificate-beneficiary").text

    submit_and_wait(browser, browser.find_element(By.ID, "sign-out"))
    assert browser.find_elements(By.ID, "sign-in-link")
    browser.get(f"{base_url}/registry-admin/invoices")
    assert "/login?next=" in browser.current_url
