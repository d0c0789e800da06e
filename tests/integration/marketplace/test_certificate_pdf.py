"""The certificate document and its PDF, from a real retirement on a migrated SQLite ledger.

The retirement here is of a batch that was never listed as a lot (its owner retires 300 separate
kilograms), so the document must find the project, county and zone through the ledger's batch. The PDF is
read back with pypdf: its text, its fonts, its QR image (decoded with zxing-cpp) and the certificate JSON
attached to it, which must verify offline with the ledger's key.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pypdf
import pytest
import zxingcpp
from PIL import Image
from tests_support import ORIGIN, add_registered_project

from ledger.certificate_check import verify_certificate
from ledger.commands import Allocation, Beneficiary, Issue, Retire, Selection
from ledger.note import NoteVerifier
from ledger.ranges import SerialRange
from ledger.service import LedgerService
from marketplace.certificate_document import build_certificate_document
from marketplace.certificate_pdf import render_certificate_pdf
from marketplace.models import Certificate, MarketOrder

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PAGE_URL = "https://tanhui.example.cn/certificates/0123456789abcdef"
BATCH = "YY01-2021-001"
RANGE_COUNT = 300


def retire_every_other_kilogram(service: LedgerService) -> int:
    """OWN-A retires kilograms 1, 3, 5, … of an unlisted batch for 王小明 (private); returns the seq."""
    with service.database.unit_of_work() as uow:
        add_registered_project(uow.session, created_at=T0)
        service.sequencer.append(
            uow.session, [Issue("issue:YY01", "YY01", "2021", 1, (Allocation("OWN-A", 1_000),))]
        )
        ranges = tuple(SerialRange(BATCH, 2 * i + 1, 2 * i + 1) for i in range(RANGE_COUNT))
        retire = Retire(
            request_id="retire:YY01",
            account="OWN-A",
            selection=Selection(ranges=ranges),
            beneficiary=Beneficiary(name="王小明", public=False),
            reason="gift",
        )
        [entry] = service.sequencer.append(uow.session, [retire])
        uow.commit()
    return entry.seq


def certificate_for(service: LedgerService, seq: int) -> Certificate:
    """A certificate row for the retirement; its origin is an order row written straight to the table."""
    with service.database.unit_of_work() as uow:
        uow.session.add(
            MarketOrder(
                id="O-test",
                kind="individual",
                buyer_display_name="小王",
                quantity_kg=RANGE_COUNT,
                price_fen=15_000,
                state="fulfilled",
                beneficiary_name="王小明",
                beneficiary_public=False,
                reason="gift",
                details="",
                sourcing="{}",
                allocation_explanation="",
                placed_at=T0,
                fulfilment_seq=seq,
            )
        )
        uow.session.flush()
        uow.session.add(Certificate(id="0123456789abcdef", order_id="O-test", seq=seq, created_at=T0))
        uow.commit()
    with service.database.reading() as session:
        certificate = session.get(Certificate, "0123456789abcdef")
        session.expunge(certificate)
    return certificate


@pytest.fixture
def document(service: LedgerService) -> dict[str, Any]:
    seq = retire_every_other_kilogram(service)
    certificate = certificate_for(service, seq)
    with service.database.reading() as session:
        document = build_certificate_document(session, certificate)
    return document | {"proof": service.proof_for(seq).as_json()}


@pytest.fixture
def pdf(document: dict[str, Any]) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(render_certificate_pdf(document, PAGE_URL)))


def text_of(reader: pypdf.PdfReader) -> str:
    """All pages' text without whitespace (line breaks and spacing are layout, not content)."""
    return "".join("".join(page.extract_text().split()) for page in reader.pages)


def test_an_unlisted_batch_is_traced_to_its_project_county_and_zone_through_the_ledger(document):
    assert [(p["code"], p["name"], p["project_type_zh"]) for p in document["projects"]] == [
        ("YY01", "盐源县造林碳汇", "造林")
    ]
    assert document["counties"] == ["513423"]
    assert document["county_names"] == [
        {"code": "513423", "name": "盐源县", "prefecture": "凉山彝族自治州", "poverty_county": True}
    ]
    assert document["zones"] == ["川西南"]
    assert document["zone_names"][0]["zh"] == "川西南发展片"
    assert document["poverty_area_kg"] == RANGE_COUNT
    assert document["poverty_area_share_percent"] == "100.00"
    assert document["purpose"] == {"zh": "赠送", "en": "Gift"}
    assert document["beneficiary"]["name"] == "王小明"


def test_the_pdf_states_title_beneficiary_quantity_and_every_serial_range(pdf, document):
    text = text_of(pdf)
    assert "林草碳汇注销证明" in text
    assert "ForestryCarbonSinkRetirementCertificate" in text
    assert "王小明" in text
    assert "300千克二氧化碳当量（0.300吨）" in text
    assert "300kgCO2e(0.300t)" in text
    assert "人民币150.00元" in text
    for item in document["ranges"]:
        assert item["serial"] in text
    assert ORIGIN in text


def test_hundreds_of_ranges_continue_on_further_pages_each_range_once(pdf, document):
    assert len(pdf.pages) > 3
    pages = ["".join(page.extract_text().split()) for page in pdf.pages]
    # Each serial ends in "-N-N"; count whole serials by what follows them (the kilograms column, "1").
    for item in document["ranges"]:
        assert sum(page.count(item["serial"] + "1") for page in pages) == 1, item["serial"]
    assert f"第1/{len(pdf.pages)}页" in pages[0]
    assert f"第{len(pdf.pages)}/{len(pdf.pages)}页" in pages[-1]


def test_the_chinese_font_is_embedded_as_a_subset_on_every_page(pdf):
    for page in pdf.pages:
        fonts = page["/Resources"]["/Font"]
        assert fonts
        for reference in fonts.values():
            font = reference.get_object()
            assert font["/Subtype"] == "/Type0"
            assert font["/BaseFont"][7] == "+"  # "/" then a subset's six-letter tag, e.g. /MPDFAA+NotoSansSC
            assert "/ToUnicode" in font  # the text can be searched and copied
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor or "/FontFile3" in descriptor


def test_the_qr_code_on_the_first_page_decodes_to_the_certificate_page(pdf):
    [image] = pdf.pages[0].images
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)).convert("L"))
    assert [result.text for result in decoded] == [PAGE_URL]


def test_the_certificate_attached_to_the_pdf_verifies_offline(pdf, service):
    [attachment] = pdf.attachments["certificate-0123456789abcdef.json"]
    certificate = json.loads(attachment)
    proven = verify_certificate(certificate, [NoteVerifier.from_vkey(service.verifier_key())], ORIGIN)
    assert proven.beneficiary_name == "王小明"
    assert proven.quantity_kg == RANGE_COUNT
    assert len(proven.serials) == RANGE_COUNT


def test_a_name_the_document_does_not_carry_is_not_printed(document):
    # A private retirement whose name and salt were erased: the document has only the commitment.
    anonymous = document | {"beneficiary": {"public": False}}
    text = text_of(pypdf.PdfReader(io.BytesIO(render_certificate_pdf(anonymous, PAGE_URL))))
    assert "王小明" not in text
    assert "未公开" in text
    assert (
        "王小明"
        not in json.loads(
            pypdf.PdfReader(io.BytesIO(render_certificate_pdf(anonymous, PAGE_URL))).attachments[
                "certificate-0123456789abcdef.json"
            ][0]
        )["proof"]["body"]
    )


def test_a_retirement_outside_an_order_states_no_price(document):
    text = text_of(
        pypdf.PdfReader(io.BytesIO(render_certificate_pdf(document | {"price_fen": None}, PAGE_URL)))
    )
    assert "不适用（未经订单注销）" in text
    assert "人民币" not in text
