"""The certificate's QR code: its PNG and its SVG both decode, with a real QR decoder (zxing-cpp), to the
certificate page's URL."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from PIL import Image

from marketplace.certificate_qr import QUIET_ZONE_MODULES, certificate_qr, qr_png, qr_svg

PAGE_URL = "https://tanhui.example.cn/certificates/8bfd9114854cdae4"
SVG = "{http://www.w3.org/2000/svg}"


def decode(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image.convert("L"))]


def svg_modules(svg: bytes) -> tuple[int, set[tuple[int, int]]]:
    """The dark modules that segno's SVG path draws: ``M x y`` moves, ``m dx dy`` moves by, ``h n`` draws n.

    Each run is a horizontal stroke through the middle of its row of modules (y + 0.5).
    """
    root = ET.fromstring(svg)
    [path] = root.iter(f"{SVG}path")
    scale = int(re.fullmatch(r"scale\((\d+)\)", path.get("transform", "scale(1)"))[1])
    size = int(root.get("width")) // scale
    x = y = 0.0
    dark: set[tuple[int, int]] = set()
    for command, args in re.findall(r"([MmHhVvZz])([^MmHhVvZz]*)", path.get("d")):
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", args)]
        if command == "M":
            x, y = numbers
        elif command == "m":
            x, y = x + numbers[0], y + numbers[1]
        elif command == "h":
            for column in range(int(numbers[0])):
                dark.add((int(x) + column, int(y)))
            x += numbers[0]
        else:
            pytest.fail(f"unexpected path command {command}")
    return size, dark


def image_of(size: int, dark: set[tuple[int, int]], px: int = 4) -> Image.Image:
    image = Image.new("L", (size * px, size * px), 255)
    for column, row in dark:
        image.paste(0, (column * px, row * px, (column + 1) * px, (row + 1) * px))
    return image


def test_the_png_decodes_to_the_page_url():
    assert decode(Image.open(io.BytesIO(qr_png(PAGE_URL)))) == [PAGE_URL]


def test_the_svg_draws_a_code_that_decodes_to_the_page_url():
    size, dark = svg_modules(qr_svg(PAGE_URL))
    assert decode(image_of(size, dark)) == [PAGE_URL]


def test_the_svg_draws_exactly_the_modules_of_the_code_inside_its_quiet_zone():
    code = certificate_qr(PAGE_URL)
    size, dark = svg_modules(qr_svg(PAGE_URL))
    assert size == len(code.matrix) + 2 * QUIET_ZONE_MODULES
    expected = {
        (column + QUIET_ZONE_MODULES, row + QUIET_ZONE_MODULES)
        for row, line in enumerate(code.matrix)
        for column, module in enumerate(line)
        if module
    }
    assert dark == expected


def test_the_svg_is_a_titled_standalone_document():
    root = ET.fromstring(qr_svg(PAGE_URL))
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == "证书页面 Certificate page"
    assert root.find(f"{SVG}desc").text == PAGE_URL


def test_a_qr_code_is_never_made_of_anything_but_a_web_address():
    with pytest.raises(AssertionError):
        certificate_qr("javascript:alert(1)")
