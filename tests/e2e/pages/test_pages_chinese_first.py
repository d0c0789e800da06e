"""Chinese first: every page a visitor or a demo user reaches by its links is worded in Chinese.

English on a Chinese page is allowed only where the page says so: text marked ``lang="en"`` (a domain
refusal's detail, a research note), text quoted as it was recorded (``class="quoted"``: a citation, a
note typed by a person), and code (commands, identifiers). Anything else in English is a sentence that
was never translated, or a recorded line the page failed to word.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from flask.testing import FlaskClient
from pages_support import sign_in

from web.demo import DEMO_PASSWORD, DEMO_USERS

ENGLISH_RUN = re.compile(r"[A-Za-z][a-z]+(?:[ ,'-]+[A-Za-z][a-z]+){2,}")
"""Three or more English words in a row; single names (Stripe, Ed25519, CSV) are not sentences."""
EXEMPT_TAGS = frozenset({"script", "style", "code", "pre", "kbd", "samp", "textarea", "title"})
VOID_TAGS = frozenset({"br", "img", "input", "meta", "link", "hr", "wbr", "source", "col", "area"})
MAX_PAGES = 200
START = ("/", "/shop", "/projects", "/registry", "/ledger", "/account")


class _UntranslatedText(HTMLParser):
    """Collects the English runs of a page's visible text outside the exempt elements, and its links."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, bool]] = []
        self.links: list[str] = []
        self.english: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.links.append(str(attributes["href"]))
        if tag in VOID_TAGS:
            return
        exempt = (
            tag in EXEMPT_TAGS
            or str(attributes.get("lang") or "").startswith("en")
            or "quoted" in str(attributes.get("class") or "").split()
        )
        self.open.append((tag, exempt))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, -1, -1):
            if self.open[depth][0] == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        if not any(exempt for _, exempt in self.open):
            self.english.extend(match.group(0) for match in ENGLISH_RUN.finditer(data))


def _crawl(client: FlaskClient) -> tuple[int, dict[str, list[str]]]:
    """Every page reachable from ``START`` by the pages' own links, in Chinese: pages seen, English found."""
    queue, seen, found = list(START), set(), {}
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        parser = _UntranslatedText()
        parser.feed(response.get_data(as_text=True))
        if parser.english:
            found[path] = parser.english
        for link in parser.links:
            target = urlsplit(urljoin(f"http://localhost{path}", link))
            if target.netloc != "localhost" or "lang=" in target.query:
                continue
            if target.path.startswith(("/api/", "/static/", "/logout")):
                continue
            queue.append(target.path + (f"?{target.query}" if target.query else ""))
    return len(seen), found


@pytest.mark.parametrize("email", [None, *(user[0] for user in DEMO_USERS)])
def test_every_page_reached_by_its_links_is_worded_in_chinese(demo_app, email):
    client = demo_app.test_client()
    if email is not None:
        assert sign_in(client, email, DEMO_PASSWORD).status_code == 303
    pages, found = _crawl(client)
    assert pages >= 20
    assert found == {}


def test_the_check_finds_an_untranslated_sentence_and_passes_over_marked_english():
    parser = _UntranslatedText()
    parser.feed(
        "<p>核对<code>tanhui ledger verify the log</code>"
        '<span lang="en">a payment of 1 fen does not match</span>'
        '<span class="quoted">as quoted in the blog series</span>'
        "<br>stock held in the lots</p>"
    )
    assert parser.english == ["stock held in the lots"]


def test_a_command_named_in_a_translated_sentence_stays_code_in_both_languages(client):
    for language in ("zh", "en"):
        page = client.get(f"/ledger?lang={language}").get_data(as_text=True)
        assert page.count("<code>tanhui ledger audit</code>") == 1, language
