"""HTTP for the outsider's commands and the witness exchanges: ``urllib``, following redirects only to
http(s).

``urllib.request.urlopen`` follows a redirect to ``ftp://`` too, so a registry (or anyone between it and
its reader) could send an auditor's or a witness's request to any FTP server their machine reaches. The
addresses given are checked to be http(s) where they are taken; this keeps every hop so.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import IO
from urllib.parse import urlsplit

ALLOWED_SCHEMES = ("http", "https")


class HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(  # noqa: PLR0917  (urllib's signature)
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urlsplit(newurl).scheme.lower() not in ALLOWED_SCHEMES:
            raise urllib.error.HTTPError(
                req.full_url, code, f"redirected to {newurl!r}, which is not http(s)", headers, fp
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(HttpOnlyRedirects)


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    content_type: str
    body: bytes
    """At most ``max_bytes + 1`` bytes of it, so that the caller can tell a longer answer."""


def post_text(url: str, body: bytes, timeout_s: float, max_bytes: int) -> HttpAnswer:
    """``POST`` a ``text/plain`` body; any HTTP status is an answer. Raises ``urllib.error.URLError``
    or ``OSError`` (as ``urlopen`` does) only when no answer came."""
    request = urllib.request.Request(  # noqa: S310  (callers pass http(s) addresses; redirects stay so)
        url, data=body, headers={"Content-Type": "text/plain; charset=utf-8"}, method="POST"
    )
    try:
        with open_url(request, timeout_s) as response:
            return HttpAnswer(
                response.status, response.headers.get_content_type(), response.read(max_bytes + 1)
            )
    except urllib.error.HTTPError as exc:
        answer = HttpAnswer(exc.code, exc.headers.get_content_type(), exc.read(max_bytes + 1))
        exc.close()
        return answer


def open_url(request: urllib.request.Request | str, timeout_s: float) -> http.client.HTTPResponse:
    """``urlopen`` whose redirects stay on http(s); raises as ``urlopen`` does."""
    response: http.client.HTTPResponse = _OPENER.open(request, timeout=timeout_s)
    return response
