"""Language: Chinese by default, English by ?lang=en (remembered), or by Accept-Language; the compiled
catalogue agrees with its source."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from web.pages.formatting import kg, mu, tonnes, yuan

CATALOGUE = Path(__file__).parents[3] / "web" / "translations" / "en" / "LC_MESSAGES"


def test_pages_are_in_chinese_by_default(client):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "五大发展片" in html


def test_lang_en_switches_to_english_and_is_remembered_in_a_cookie(client):
    english = client.get("/", query_string={"lang": "en"})
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert "The five development zones" in english.get_data(as_text=True)
    assert "tanhui_lang=en" in english.headers["Set-Cookie"]

    later = client.get("/projects").get_data(as_text=True)
    assert '<html lang="en">' in later
    assert "Project registry" in later

    back = client.get("/projects", query_string={"lang": "zh"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in back
    assert "项目登记簿" in back


def test_accept_language_chooses_english_and_anything_else_falls_back_to_chinese(client, demo_app):
    english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(as_text=True)
    french = demo_app.test_client().get("/", headers={"Accept-Language": "fr-FR"}).get_data(as_text=True)
    assert '<html lang="en">' in english
    assert '<html lang="zh-CN">' in french


def test_the_language_switch_keeps_the_page_and_its_query(client):
    html = client.get("/projects", query_string={"zone": "川南"}).get_data(as_text=True)
    assert 'href="/projects?zone=%E5%B7%9D%E5%8D%97&amp;lang=en"' in html


def test_the_committed_english_catalogue_is_compiled_from_its_source_and_complete():
    with (CATALOGUE / "messages.po").open("rb") as source:
        po = read_po(source)
    with (CATALOGUE / "messages.mo").open("rb") as compiled:
        mo = read_mo(compiled)
    translations = {message.id: message.string for message in po if message.id}
    assert all(translations.values()), [key for key, value in translations.items() if not value]
    assert {message.id: message.string for message in mo if message.id} == translations


def test_numbers_are_formatted_with_separators_and_money_in_yuan_from_fen():
    assert kg(1234567) == "1,234,567 kg"
    assert tonnes(1234500) == "1,234.5 t"
    assert tonnes(25) == "0.025 t"
    assert tonnes(3_000_000) == "3,000 t"
    assert yuan(123456) == "1,234.56 元"
    assert yuan(5) == "0.05 元"
    assert mu("15000.00") == "15,000 亩"
    assert mu("1234.5") == "1,234.50 亩"
    assert mu(Decimal("0.015"), "mu") == "0.02 mu"  # to the hundredth, half to even
    assert mu(7) == "7 亩"
    assert tonnes(-1500) == "-1.5 t"
    assert yuan(-5) == "-0.05 元"
