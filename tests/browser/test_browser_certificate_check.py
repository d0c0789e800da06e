"""The certificate page checks the certificate in the reader's browser (web/static/verify-certificate.js).

In headless chromium, with Web Crypto's SHA-256 and Ed25519: every demo certificate checks out, private
beneficiaries included (their name against the entry's salted commitment), in Chinese and in English,
showing the registry key it checked against and the listed witnesses whose cosignatures it verified. Then
the page's checker is handed tampered certificates (a changed entry, a changed statement, a flipped or
missing proof hash, a forged signature, another key, another private name) and must refuse each, for the
right reason; and cosignatures, good and bad, each judged as ``ledger.cosignature`` judges it.
"""

from __future__ import annotations

import base64
import copy
import json
import time
import urllib.request
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from test_browser_journeys import buy, submit_and_wait

from api.context import ledger_service
from ledger.cosignature import CLOCK_SKEW_S, CosignatureError, CosignatureVerifier, Cosigner, cosignatures
from ledger.note import NoteSigner, NoteVerifier, open_note
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
        [witness] = service.witnesses()  # the demo's witness, which cosigned the demo's checkpoint
    assert len(ids) >= 5
    witnessed = []
    for certificate_id in ids:
        browser.get(f"{base_url}/certificates/{certificate_id}")
        box = _checked(browser)
        assert box.get_attribute("data-result") == "ok", (certificate_id, box.text)
        assert "已在您的浏览器中核对" in box.text
        assert box.find_element(By.CLASS_NAME, "check-key").text == vkey
        document = json.loads(_fetch(f"{base_url}/api/v1/certificates/{certificate_id}"))
        checkpoint = document["proof"]["checkpoint"]
        shown = box.find_element(By.CLASS_NAME, "check-witnesses").text
        if f"\u2014 {witness.name} " in checkpoint:
            witnessed.append(certificate_id)
            assert f"联署均有效：{witness.name} (" in shown, shown
            assert box.find_element(By.CLASS_NAME, "check-witness-keys").text == witness.vkey
        else:
            assert shown.startswith("该检查点尚无登记簿所列见证方的联署"), shown
    assert witnessed, "no demo certificate's checkpoint carries the demo witness's cosignature"
    browser.get(f"{base_url}/certificates/{witnessed[0]}?lang=en")
    box = _checked(browser)
    assert "Checked in your browser" in box.text
    assert "every cosignature valid: witness.demo.tanhui.example (" in box.text


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


def _flip_last_signature_byte(note: str) -> str:
    head, line = note.rstrip("\n").rsplit("\n", 1)
    prefix, encoded = line.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 0x01
    return f"{head}\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"


def _cut_last_signature(note: str) -> str:
    head, line = note.rstrip("\n").rsplit("\n", 1)
    prefix, encoded = line.rsplit(" ", 1)
    return f"{head}\n{prefix} {base64.b64encode(base64.b64decode(encoded)[:-1]).decode()}\n"


def _python_verdict(note: str, log_vkey: str, witness_lines: list[str], now: int) -> Any:
    """What ledger.cosignature says of the same note and witnesses: a refusal's code, or who cosigned when."""
    opened = open_note(note, [NoteVerifier.from_vkey(log_vkey)])
    try:
        witnesses = [CosignatureVerifier.from_vkey(line) for line in witness_lines]
    except CosignatureError:
        return "witness-key"
    try:
        found = cosignatures(opened, witnesses, now + CLOCK_SKEW_S)
    except CosignatureError:
        return "cosignature"
    return sorted([item.name, item.timestamp] for item in found)


def test_the_checker_verifies_the_listed_witnesses_cosignatures(browser: Any, base_url: str) -> None:
    """Each case is judged by the page's script and by ledger.cosignature; both must agree with the case."""
    vkey = _fetch(f"{base_url}/api/v1/ledger/key").strip()
    buy(browser, base_url, "2", "见证测试")
    submit_and_wait(browser, "pay-demo")
    certificate_url = browser.find_element(By.ID, "certificate-link").get_attribute("href")
    browser.get(certificate_url)
    box = _checked(browser)
    assert box.get_attribute("data-result") == "ok", box.text
    # Signed just now, for this certificate: no listed witness has cosigned it yet.
    shown = box.find_element(By.CLASS_NAME, "check-witnesses").text
    assert shown.startswith("该检查点尚无登记簿所列见证方的联署"), shown
    document = json.loads(_fetch(f"{base_url}/api/v1/certificates/{certificate_url.rsplit('/', 1)[1]}"))
    note = document["proof"]["checkpoint"]
    assert note.count("\n\u2014 ") == 1  # the registry's signature only
    now = int(time.time())
    ahead, too_far = now + CLOCK_SKEW_S - 60, now + CLOCK_SKEW_S + 60
    witness = Cosigner.generate("witness.test.example/w1")
    other = Cosigner.generate("witness.test.example/w2")
    listed = [witness.vkey]
    name, key_id, key = witness.vkey.split("+", 2)
    wrong_id = f"{name}+{(int(key_id, 16) ^ 1):08x}+{key}"
    log_name, log_id, log_key = vkey.split("+", 2)
    cases: dict[str, tuple[str, list[str], str, Any]] = {
        # name: (the note, the witness lines, the registry key line, the verdict: a code or who cosigned)
        "listed, not cosigned": (note, listed, vkey, []),
        "cosigned": (witness.cosign_note(note, now - 10), listed, vkey, [[witness.name, now - 10]]),
        "cosigned twice: the latest": (
            witness.cosign_note(witness.cosign_note(note, now - 100), now - 10), listed, vkey,
            [[witness.name, now - 10]],
        ),
        "two witnesses": (
            other.cosign_note(witness.cosign_note(note, now - 5), now - 7), [witness.vkey, other.vkey], vkey,
            [[witness.name, now - 5], [other.name, now - 7]],
        ),
        "ahead within the clock skew": (
            witness.cosign_note(note, ahead), listed, vkey, [[witness.name, ahead]]
        ),
        "dated in the future": (witness.cosign_note(note, too_far), listed, vkey, "cosignature"),
        "forged": (_flip_last_signature_byte(witness.cosign_note(note, now)), listed, vkey, "cosignature"),
        "a byte short": (_cut_last_signature(witness.cosign_note(note, now)), listed, vkey, "cosignature"),
        "by a witness not listed": (other.cosign_note(note, now), listed, vkey, []),
        "by a witness no longer listed": (witness.cosign_note(note, now), [], vkey, []),
        "a witness key whose id is not its key's": (note, [wrong_id], vkey, "witness-key"),
        "the registry's key listed as a witness": (note, [vkey], vkey, "witness-key"),
    }  # fmt: skip

    def check(doc: dict[str, Any], key: str, witness_lines: list[str]) -> dict[str, Any]:
        return browser.execute_async_script(
            "var done = arguments[arguments.length - 1], given = Array.prototype.slice.call(arguments, 0, 4);"
            "window.tanhuiVerifyCertificate.apply(null, given).then(done);",
            doc,
            key,
            "".join(f"{line}\n" for line in witness_lines),
            now,
        )

    for case, (cosigned, witness_lines, key, expected) in cases.items():
        assert _python_verdict(cosigned, vkey, witness_lines, now) == expected, case
        changed = copy.deepcopy(document)
        changed["proof"]["checkpoint"] = cosigned
        result = check(changed, key, witness_lines)
        if isinstance(expected, str):
            assert result["ok"] is False, (case, result)
            assert result["code"] == expected, (case, result)
        else:
            assert result["ok"] is True, (case, result)
            assert sorted([item["name"], item["time"]] for item in result["witnessed"]) == expected, case
            assert {item["key"] for item in result["witnessed"]} <= set(witness_lines), case
    # The registry's own key line with a key id not its key's: refused before any signature is read.
    refused = check(document, f"{log_name}+{(int(log_id, 16) ^ 1):08x}+{log_key}", [])
    assert (refused["ok"], refused["code"]) == (False, "key")
