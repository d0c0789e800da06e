"""The certificate page checks the certificate in the reader's browser (web/static/verify-certificate.js).

In headless chromium, with Web Crypto's SHA-256 and Ed25519: every demo certificate checks out, private
beneficiaries included (their name against the entry's salted commitment), in Chinese and in English,
showing the registry key it checked against. Then the page's checker is handed tampered certificates
(a changed entry, a changed statement, a flipped or missing proof hash, a forged signature, another key,
another private name) and must refuse each, for the right reason.
"""

from __future__ import annotations

import copy
import json
import urllib.request
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from test_browser_journeys import buy, submit_and_wait

from api.context import ledger_service
from ledger.note import NoteSigner
from marketplace.models import Certificate

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WAIT_S = 20


def _fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8")


def _checked(browser: Any) -> Any:
    """The page's check box once the script has finished."""
    WebDriverWait(browser, WAIT_S).until(
        lambda driver: driver.find_element(By.ID, "browser-check").get_attribute("data-result")
    )
    return browser.find_element(By.ID, "browser-check")


def test_every_demo_certificate_checks_out_in_the_browser(
    browser: Any, base_url: str, browser_app: Any
) -> None:
    with browser_app.app_context():
        service = ledger_service()
        vkey = service.verifier_key()
        with service.database.reading() as session:
            ids = list(session.scalars(Certificate.__table__.select().with_only_columns(Certificate.id)))
    assert len(ids) >= 5
    for certificate_id in ids:
        browser.get(f"{base_url}/certificates/{certificate_id}")
        box = _checked(browser)
        assert box.get_attribute("data-result") == "ok", (certificate_id, box.text)
        assert "已在您的浏览器中核对" in box.text
        assert box.find_element(By.CLASS_NAME, "check-key").text == vkey
    browser.get(f"{base_url}/certificates/{ids[0]}?lang=en")
    assert "Checked in your browser" in _checked(browser).text


def test_a_private_beneficiary_is_checked_against_the_entrys_commitment(browser: Any, base_url: str) -> None:
    buy(browser, base_url, "3", "不公开的买家")  # not public: the entry holds only the commitment
    submit_and_wait(browser, "pay-demo")
    browser.get(browser.find_element(By.ID, "certificate-link").get_attribute("href"))
    box = _checked(browser)
    assert box.get_attribute("data-result") == "ok", box.text
    assert "不公开的买家" in browser.find_element(By.ID, "certificate-beneficiary").text


def _tampered(document: dict[str, Any], vkey: str) -> dict[str, tuple[dict[str, Any], str, str]]:
    """Name -> (certificate, key line, the refusal expected)."""
    cases: dict[str, tuple[dict[str, Any], str, str]] = {}

    def case(name: str, expected: str, change: Any, key: str = vkey) -> None:
        changed = copy.deepcopy(document)
        change(changed)
        cases[name] = (changed, key, expected)

    def entry_changed(doc: dict[str, Any]) -> None:  # a kilogram more, in the entry and in the statement
        body = json.loads(doc["proof"]["body"])
        body["data"]["ranges"][0]["end"] += 1
        body["data"]["quantity_kg"] += 1
        doc["proof"]["body"] = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        doc["ranges"][0]["end"] += 1
        doc["quantity_kg"] += 1

    def statement_changed(doc: dict[str, Any]) -> None:
        doc["ranges"][0]["end"] += 1

    def hash_flipped(doc: dict[str, Any]) -> None:
        first = doc["proof"]["inclusion"][0]
        doc["proof"]["inclusion"][0] = ("0" if first[0] != "0" else "1") + first[1:]

    def hash_missing(doc: dict[str, Any]) -> None:
        doc["proof"]["inclusion"].pop()

    def signature_forged(doc: dict[str, Any]) -> None:
        note = doc["proof"]["checkpoint"]
        text, signatures = note.split("\n\n", 1)
        name, signature = signatures.split("\n", 1)[0].rsplit(" ", 1)
        forged = signature[:-6] + ("AAAA" if signature[-6:-2] != "AAAA" else "BBBB") + signature[-2:]
        doc["proof"]["checkpoint"] = f"{text}\n\n{name} {forged}\n"

    case("an entry changed", "proof", entry_changed)
    case("a statement changed", "entry", statement_changed)
    case("a proof hash flipped", "proof", hash_flipped)
    case("a proof hash missing", "proof", hash_missing)
    case("a signature forged", "signature", signature_forged)
    case(
        "another key of the same name",
        "signature",
        lambda doc: None,
        NoteSigner.generate(vkey.split("+", maxsplit=1)[0]).vkey,
    )
    return cases


def test_the_checker_refuses_tampered_certificates_for_the_right_reason(browser: Any, base_url: str) -> None:
    vkey = _fetch(f"{base_url}/api/v1/ledger/key").strip()
    buy(browser, base_url, "4", "私密受益人")
    submit_and_wait(browser, "pay-demo")
    certificate_url = browser.find_element(By.ID, "certificate-link").get_attribute("href")
    certificate_id = certificate_url.rsplit("/", 1)[1]
    document = json.loads(_fetch(f"{base_url}/api/v1/certificates/{certificate_id}"))
    assert document["beneficiary"]["public"] is False
    browser.get(certificate_url)
    _checked(browser)

    def check(doc: dict[str, Any], key: str) -> dict[str, Any]:
        return browser.execute_async_script(
            "var done = arguments[arguments.length - 1];"
            "window.tanhuiVerifyCertificate(arguments[0], arguments[1]).then(done);",
            doc,
            key,
        )

    assert check(document, vkey)["ok"] is True
    cases = _tampered(document, vkey)
    renamed = copy.deepcopy(document)
    renamed["beneficiary"]["name"] = "别人"
    cases["another private name"] = (renamed, vkey, "entry")
    for name, (doc, key, expected) in cases.items():
        result = check(doc, key)
        assert result["ok"] is False, name
        assert result["code"] == expected, (name, result)
