"""The QR code printed on a certificate and served beside it: it encodes the certificate's public page URL.

Made with ``segno`` (pure Python, ISO/IEC 18004 encoder). Error correction level M (about 15% of the
code words recoverable) is what a printed and possibly creased certificate needs without growing the code
much; segno may raise it further when that costs no extra modules (``boost_error``). A quiet zone of four
modules is the minimum ISO/IEC 18004 §7.3.8 requires around a QR code. Flask-free.
"""

from __future__ import annotations

import io

import segno

ERROR_CORRECTION = "m"
QUIET_ZONE_MODULES = 4
MAX_URL_CHARS = 2_000
"""A page URL is ``<base>/certificates/<32-char id>``; anything near this limit is not one."""


def certificate_qr(page_url: str) -> segno.QRCode:
    """The QR code (never a Micro QR) of ``page_url``."""
    assert page_url.startswith(("https://", "http://")), page_url
    assert len(page_url) <= MAX_URL_CHARS, len(page_url)
    return segno.make_qr(page_url, error=ERROR_CORRECTION)


def qr_svg(page_url: str, *, title: str = "证书页面 Certificate page") -> bytes:
    """The QR code as a standalone SVG document (UTF-8), 4 px per module, with its quiet zone."""
    out = io.BytesIO()
    certificate_qr(page_url).save(
        out, kind="svg", scale=4, border=QUIET_ZONE_MODULES, title=title, desc=page_url, encoding="utf-8"
    )
    return out.getvalue()


def qr_png(page_url: str, *, module_px: int = 8) -> bytes:
    """The QR code as a 1-bit PNG, ``module_px`` pixels per module, with its quiet zone (for the PDF)."""
    assert 1 <= module_px <= 64, module_px
    out = io.BytesIO()
    certificate_qr(page_url).save(out, kind="png", scale=module_px, border=QUIET_ZONE_MODULES)
    return out.getvalue()
