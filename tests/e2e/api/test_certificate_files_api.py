"""The certificate's files through the API: the PDF of a real fulfilled order (paid by invoice) and the QR
code of its public page, with the page URL from TANHUI_PUBLIC_BASE_URL or else the request's host."""

from __future__ import annotations

import io

import pypdf
import pytest
import zxingcpp
from api_support import API, assert_problem
from flask import Flask
from market_support import add_lot, individual_order, pay
from PIL import Image

from marketplace.certificate_qr import qr_svg


@pytest.fixture
def market(app: Flask) -> Flask:
    add_lot(app, "L-1", "YY01", "513423", "川西南", 10_000, 50_000)  # 盐源县, a former poverty county
    return app


@pytest.fixture
def certificate_id(market, client, admin) -> str:
    """王小明's private micro-sink of 12 kg, paid by invoice: fulfilled, retired, certified."""
    order = individual_order(client).get_json()
    paid = pay(admin, order)
    assert paid.status_code == 200, paid.get_json()
    certificate_id: str = paid.get_json()["certificate_id"]
    return certificate_id


def pdf_of(response) -> pypdf.PdfReader:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/pdf"
    return pypdf.PdfReader(io.BytesIO(response.get_data()))


def qr_of(reader: pypdf.PdfReader) -> list[str]:
    [image] = reader.pages[0].images
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)).convert("L"))]


def test_the_pdf_of_a_private_micro_sink_names_its_holder_and_states_the_serials(client, certificate_id):
    response = client.get(f"{API}/certificates/{certificate_id}.pdf")
    reader = pdf_of(response)
    assert f'filename="certificate-{certificate_id}.pdf"' in response.headers["Content-Disposition"]
    certificate = client.get(f"{API}/certificates/{certificate_id}").get_json()
    text = "".join("".join(page.extract_text().split()) for page in reader.pages)
    assert "林草碳汇注销证明" in text
    assert "王小明" in text  # private in the ledger; the holder's certificate carries the name
    assert "12千克二氧化碳当量（0.012吨）" in text
    assert "12kgCO2e(0.012t)" in text
    assert [item["serial"] for item in certificate["ranges"]] == [certificate["ranges"][0]["serial"]]
    assert certificate["ranges"][0]["serial"] in text
    assert "人民币6.00元" in text
    assert "凉山彝族自治州盐源县513423（原贫困县formerpovertycounty）" in text


def test_the_qr_codes_point_at_the_request_host_without_a_public_base_url(client, certificate_id):
    page_url = f"http://registry.test/certificates/{certificate_id}"
    reader = pdf_of(client.get(f"{API}/certificates/{certificate_id}.pdf", base_url="http://registry.test"))
    assert qr_of(reader) == [page_url]
    svg = client.get(f"{API}/certificates/{certificate_id}/qr.svg", base_url="http://registry.test")
    assert svg.status_code == 200
    assert svg.mimetype == "image/svg+xml"
    assert svg.get_data() == qr_svg(page_url)  # whose decoding tests/unit/marketplace tests


def test_the_qr_codes_point_at_the_configured_public_base_url(market, client, certificate_id):
    market.config["TANHUI_PUBLIC_BASE_URL"] = "https://tanhui.example.cn/"
    page_url = f"https://tanhui.example.cn/certificates/{certificate_id}"
    reader = pdf_of(client.get(f"{API}/certificates/{certificate_id}.pdf"))
    assert qr_of(reader) == [page_url]
    text = "".join("".join(page.extract_text().split()) for page in reader.pages)
    assert f"https://tanhui.example.cn/api/v1/certificates/{certificate_id}" in text
    assert client.get(f"{API}/certificates/{certificate_id}/qr.svg").get_data() == qr_svg(page_url)


@pytest.mark.parametrize("suffix", [".pdf", "/qr.svg"])
def test_an_unknown_certificate_is_a_404_problem(market, client, suffix):
    assert_problem(client.get(f"{API}/certificates/0000000000000000{suffix}"), 404, "certificate_id")
    assert_problem(client.get(f"{API}/certificates/{'x' * 200}{suffix}"), 404, "certificate_id")


def test_the_file_endpoints_are_documented(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    assert "get" in paths["/api/v1/certificates/{certificate_id}.pdf"]
    assert "get" in paths["/api/v1/certificates/{certificate_id}/qr.svg"]
