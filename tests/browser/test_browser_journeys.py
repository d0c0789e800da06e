"""Journeys through the pages in headless chromium: portal languages, the project registry's zone filter,
buying 25 kg and paying (demo) up to the certificate, anonymity in the public registry, bad quantities."""

from __future__ import annotations

import pytest
from browser_support import submit_and_wait as submit_and_wait_for
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WAIT_S = 15


def text(browser, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text.strip()


def submit_and_wait(browser, button_id: str) -> None:
    """Click a submit button and wait until the next page has replaced this one."""
    submit_and_wait_for(browser, browser.find_element(By.ID, button_id))


def buy(browser, base_url: str, quantity: str, name: str, *, public: bool = False) -> None:
    browser.get(f"{base_url}/shop")
    field = browser.find_element(By.ID, "quantity_kg")
    field.clear()
    field.send_keys(quantity)
    browser.find_element(By.ID, "name").send_keys(name)
    if public:
        browser.find_element(By.ID, "public").click()
    submit_and_wait(browser, "place-order")


def test_the_portal_is_in_chinese_by_default_and_in_english_with_lang_en(browser, base_url):
    browser.get(f"{base_url}/")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    assert "首页" in browser.title
    assert "五大发展片" in browser.page_source

    browser.get(f"{base_url}/?lang=en")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert "Home" in browser.title
    assert "The five development zones" in browser.page_source

    browser.find_element(By.ID, "lang-zh").click()
    WebDriverWait(browser, WAIT_S).until(
        lambda driver: driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    )


def test_the_project_registry_lists_projects_and_filters_by_zone(browser, base_url):
    browser.get(f"{base_url}/projects")
    assert len(browser.find_elements(By.CSS_SELECTOR, "tr.project-row")) == 12

    Select(browser.find_element(By.ID, "filter-zone")).select_by_value("川西北")
    submit_and_wait(browser, "filter-submit")
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.project-row")
    assert rows
    assert {row.get_attribute("data-zone") for row in rows} == {"川西北"}


def test_an_individual_buys_25_kg_pays_demo_and_gets_a_certificate(browser, base_url):
    buy(browser, base_url, "25", "李微碳")
    assert text(browser, "order-state") == "已预留，待支付"
    assert text(browser, "order-quantity") == "25 kg"

    submit_and_wait(browser, "pay-demo")
    assert browser.find_element(By.ID, "order-state").get_attribute("data-state") == "fulfilled"

    browser.get(browser.find_element(By.ID, "certificate-link").get_attribute("href"))
    WebDriverWait(browser, WAIT_S).until(lambda driver: "碳汇注销证书" in driver.title)
    assert "李微碳" in text(browser, "certificate-beneficiary")
    assert text(browser, "certificate-quantity") == "25 kg"
    ranges = text(browser, "certificate-ranges")
    assert ".." in ranges
    start, end = ranges.split()[-1].split("..")
    assert int(end) - int(start) + 1 == 25


def test_an_anonymous_purchase_is_anonymous_in_the_registry_but_named_on_the_certificate(browser, base_url):
    buy(browser, base_url, "7", "不愿具名的人")
    submit_and_wait(browser, "pay-demo")
    certificate_url = browser.find_element(By.ID, "certificate-link").get_attribute("href")

    browser.get(f"{base_url}/registry")
    newest = browser.find_elements(By.CSS_SELECTOR, "tr.retirement")[0]
    assert newest.find_element(By.CSS_SELECTOR, "td.beneficiary").text == "匿名"
    assert "不愿具名的人" not in browser.page_source

    browser.get(certificate_url)
    assert "不愿具名的人" in text(browser, "certificate-beneficiary")


@pytest.mark.parametrize(
    ("quantity", "message"),
    [("0", "至少为 1 千克"), ("-1", "至少为 1 千克"), ("1.5", "整数千克"), ("", "请填写此项")],
)
def test_a_bad_quantity_shows_the_form_again_with_the_error(browser, base_url, quantity, message):
    buy(browser, base_url, quantity, "王小明")
    assert message in text(browser, "quantity_kg-error")
    assert browser.find_element(By.ID, "name").get_attribute("value") == "王小明"
    assert browser.find_element(By.ID, "quantity_kg").get_attribute("value") == quantity
