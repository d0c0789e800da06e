"""The certificates' Chinese font: Noto Sans SC, cut down to the characters a document uses, as TrueType.

Source: Noto Sans SC Regular (Adobe and Google, SIL Open Font License 1.1), the ``Sans/SubsetOTF/SC``
build of github.com/notofonts/noto-cjk, shipped by the data-only PyPI wheel ``pylopdf-fonts-zh-cn``
(``sans_path()``), so a fresh machine gets it with ``pip install`` like any other dependency. Besides
Simplified Chinese it covers Latin, digits and the CJK punctuation, so one font sets both languages.

That file has CID-keyed CFF outlines. Embedded as such (a ``CIDFontType0C`` with its own encoding CMap),
common text extractors (pypdf, pdfminer.six) could not read the Chinese back, which also means search and
copy-and-paste fail in tools built on them. So :func:`truetype_subset` keeps only the glyphs of the given
characters and converts their cubic outlines to quadratic TrueType ones (fontTools' ``cu2qu``, within
:data:`MAX_ERROR_UNITS`), and the PDF embeds the result the way every reader handles: a ``CIDFontType2``
with ``Identity-H`` encoding, ``/FontFile2`` and a ``/ToUnicode`` map.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pylopdf_fonts_zh_cn
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.subset import Options, Subsetter
from fontTools.ttLib import TTFont, newTable

MAX_ERROR_UNITS = 1.0
"""Largest distance between a cubic curve and its quadratic approximation, in font units (1/1000 em):
far below a printer dot at any size a certificate uses."""
ALWAYS_KEPT = frozenset(chr(code) for code in range(0x20, 0x7F))
"""Printable ASCII is always kept, so that digits filled in at output time (page counts) have glyphs."""


@cache
def source_path() -> Path:
    """Noto Sans SC Regular from the ``pylopdf-fonts-zh-cn`` wheel."""
    path = Path(pylopdf_fonts_zh_cn.sans_path())
    assert path.is_file(), f"the CJK font is missing: {path}"
    return path


def truetype_subset(characters: Iterable[str]) -> bytes:
    """A TrueType font with the glyphs of ``characters`` (plus printable ASCII) from Noto Sans SC."""
    with TTFont(source_path()) as font:
        return _subset_as_truetype(font, set(characters) | ALWAYS_KEPT)


def _subset_as_truetype(font: TTFont, characters: set[str]) -> bytes:
    options = Options()
    options.name_IDs = ["*"]  # keep the copyright and licence names with the font
    options.notdef_outline = True
    options.hinting = False
    options.desubroutinize = True
    subsetter = Subsetter(options)
    subsetter.populate(unicodes={ord(character) for character in characters})
    subsetter.subset(font)
    _cff_to_glyf(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _cff_to_glyf(font: TTFont) -> None:
    """Replace the CFF outlines by quadratic ``glyf`` ones (after fontTools' ``Snippets/otf2ttf.py``)."""
    assert font.sfntVersion == "OTTO", "expected an OpenType font"
    assert "CFF " in font, "expected CFF outlines"
    glyph_order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in glyph_order:
        pen = TTGlyphPen(glyph_set)
        # CFF contours run counter-clockwise and TrueType ones clockwise: reverse while converting.
        glyph_set[name].draw(Cu2QuPen(pen, MAX_ERROR_UNITS, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf = newTable("glyf")
    glyf.glyphOrder = glyph_order
    glyf.glyphs = glyphs
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    glyf.compile(font)
    hmtx = font["hmtx"]
    for name, glyph in glyphs.items():  # left side bearings are the new outlines' xMin
        hmtx[name] = (hmtx[name][0], getattr(glyph, "xMin", 0))
    maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    maxp.maxTwilightPoints = 0
    maxp.maxStorage = 0
    maxp.maxFunctionDefs = 0
    maxp.maxInstructionDefs = 0
    maxp.maxStackElements = 0
    maxp.maxSizeOfInstructions = 0
    maxp.maxComponentElements = 0
    font["maxp"] = maxp
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = glyph_order
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\x00\x01\x00\x00"
