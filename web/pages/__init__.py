"""The public web pages (Chinese first, with English): portal, project registry, micro-sink shop, orders,
certificates, the retirement registry, the ledger and event pages.

Pages call the same domain functions the API views call, in one unit of work per request through
``api.context.database()`` / ``ledger_service()``; they never call the API over HTTP. Every POST form
carries a CSRF token (:mod:`web.pages.csrf`).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, render_template, request
from flask_babel import get_locale
from werkzeug.exceptions import HTTPException

from ledger.errors import LedgerError
from marketplace.certificate_document import PURPOSES
from offsets import regions
from web.i18n import ENGLISH, HTML_LANG
from web.pages import csrf
from web.pages.formatting import FILTERS

log = logging.getLogger(__name__)
pages_blueprint = Blueprint(
    "pages", __name__, template_folder="../templates", static_folder="../static", static_url_path="/assets"
)


def current_lang() -> str:
    """``en`` or ``zh``: which of a bilingual field (``{"zh", "en"}``) to show."""
    return "en" if str(get_locale()) == ENGLISH else "zh"


def switch_language_url(lang: str) -> str:
    """This page in ``lang``: the same path and query, with ``lang`` set."""
    args = {key: value for key, value in request.args.items() if key != "lang"}
    args["lang"] = lang
    return f"{request.path}?{urlencode(args)}"


@pages_blueprint.app_template_global()
def page_lang() -> str:
    return HTML_LANG.get(str(get_locale()), "zh-CN")


def project_type_name(key: str) -> str:
    if current_lang() == "en":
        return key.replace("_", " ").capitalize()
    return regions.regions().project_types.get(key, key)


def zone_name(key: str) -> str:
    zone = regions.regions().zones.get(key)
    if zone is None:
        return key
    return zone.name_en if current_lang() == "en" else zone.name_zh


def purpose_name(reason: str) -> str:
    zh, en = PURPOSES.get(reason, (reason, reason))
    return en if current_lang() == "en" else zh


@pages_blueprint.context_processor
def _globals() -> dict[str, Any]:
    return {
        "csrf_token": csrf.csrf_token,
        "current_lang": current_lang,
        "switch_language_url": switch_language_url,
        "project_type_name": project_type_name,
        "zone_name": zone_name,
        "purpose_name": purpose_name,
    }


for _name, _filter in FILTERS.items():
    pages_blueprint.add_app_template_filter(_filter, _name)

pages_blueprint.before_request(csrf.protect)


@pages_blueprint.errorhandler(HTTPException)
def _error_page(error: HTTPException) -> tuple[str, int]:
    status = error.code or 500
    return render_template("error.html", status=status, csrf_refused=error.description == "csrf"), status


@pages_blueprint.errorhandler(Exception)
def _failure_page(error: Exception) -> tuple[str, int]:
    """A page, not the API's problem JSON: a refused domain request keeps its status; anything else is 500."""
    if isinstance(error, LedgerError):
        status = error.status
    else:
        log.exception("unhandled error on %s %s", request.method, request.path)
        status = 500
    return render_template("error.html", status=status, csrf_refused=False), status


from web.pages import (  # noqa: E402, F401
    account_views,
    portal_views,
    records_views,
    shop_views,
    sign_in,
)
