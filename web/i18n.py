"""The pages' language: Simplified Chinese first, English available (Flask-Babel, gettext catalogues).

Chinese is the source language: the templates are written in Chinese and marked with ``_()``, and the one
catalogue, ``web/translations/en/LC_MESSAGES/messages.po``, translates them to English. This keeps Chinese
the default by construction: a message missing from the English catalogue (or a catalogue not compiled)
falls back to the Chinese text, never to an English page for a Chinese reader.

The choice, in order: ``?lang=en|zh`` (remembered in a cookie for a year), then that cookie, then the
browser's ``Accept-Language``, then Chinese. The compiled ``messages.mo`` is kept next to its ``.po``
(committed; ``make i18n`` rebuilds both, and a test checks that they agree), so a fresh clone serves
English without a build step.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask, Response, request
from flask_babel import Babel

CHINESE = "zh_Hans_CN"
ENGLISH = "en"
LANGUAGES = {"zh": CHINESE, "en": ENGLISH}
"""The ``?lang=`` values and the Babel locales they select."""
HTML_LANG = {CHINESE: "zh-CN", ENGLISH: "en"}
COOKIE = "tanhui_lang"
COOKIE_MAX_AGE_S = 365 * 24 * 3600
TRANSLATIONS_DIR = Path(__file__).parent / "translations"

babel = Babel()


def select_locale() -> str:
    """The request's locale: the query, then the cookie, then Accept-Language, then Chinese."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return LANGUAGES[asked]
    remembered = request.cookies.get(COOKIE)
    if remembered in LANGUAGES:
        return LANGUAGES[remembered]
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"], default="zh")
    return ENGLISH if best.startswith("en") else CHINESE


def remember_choice(response: Response) -> Response:
    """Keep an explicit ``?lang=`` in a cookie, so the next page is in the same language."""
    chosen = request.args.get("lang")
    if chosen in LANGUAGES and request.blueprint == "pages":
        response.set_cookie(COOKIE, chosen, max_age=COOKIE_MAX_AGE_S, samesite="Lax", httponly=True)
    return response


CHINESE_OR_JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
"""CJK punctuation, kana, ideographs and full-width forms."""


def written_in_english(text: object) -> bool:
    """Whether ``text`` recorded elsewhere (a research note, a payment provider's message) is English.

    The pages are translated, but text they quote is shown as it was written: in templates ``text is
    english`` decides whether it is marked ``lang="en"``. Text with any Chinese in it is not.
    """
    return isinstance(text, str) and bool(text.strip()) and not CHINESE_OR_JAPANESE.search(text)


def init_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", CHINESE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.tests["english"] = written_in_english
    app.after_request(remember_choice)
