"""The certificate as an A4 PDF: Simplified Chinese first, English beneath, with a QR code to its public page.

It renders :func:`marketplace.certificate_document.build_certificate_document`'s document plus the
``"proof"`` the API adds, and states nothing else: beneficiary (the name as the document gives it — the
holder's document carries a private beneficiary's name, the public registry never does), purpose,
quantity in kg and t, every retired serial range (on as many pages as they need), projects, counties,
zones, the share from former poverty counties, the price paid, the date, the certificate id, the ledger
entry and the signed checkpoint that covers it. The certificate JSON itself, with its proof, is attached
to the PDF (an embedded file) so that the PDF alone is enough to verify offline.

Font: Noto Sans SC Regular (SIL Open Font License 1.1) from the PyPI wheel ``pylopdf-fonts-zh-cn`` — see
:mod:`marketplace.fonts.cjk` for where it comes from. The PDF embeds a TrueType subset of only the glyphs
the certificate uses (``CIDFontType2``, ``Identity-H``, ``/FontFile2``, ``/ToUnicode``), so every viewer
renders the Chinese without a font of its own, and the text can be searched and copied. Flask-free.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from fpdf.fonts import TTFFont

from ledger.checkpoint import Checkpoint
from marketplace.certificate_qr import qr_png
from marketplace.fonts import cjk

FONT = "NotoSansSC"
MARGIN_MM = 18
LABEL_WIDTH_MM = 42
QR_SIZE_MM = 36
LINE_MM = 5.2
GREEN = (24, 94, 58)
GREY = (96, 96, 96)
CJK_START = 0x2E80
"""The first code point of the CJK radicals; every CJK block of Unicode lies above it."""
MAX_RANGES = 100_000
"""Far above a ledger entry's own limit on ranges; a document with more is not a certificate."""


class _CertificatePdf(FPDF):
    """A4 portrait with the certificate id and the page number in every footer.

    It records every character it is asked to set, so that a first layout with the full font tells which
    glyphs the embedded TrueType subset of the second layout needs (marketplace.fonts.cjk).
    """

    def __init__(self, certificate_id: str, font_file: Path) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.certificate_id = certificate_id
        self.characters: set[str] = set()
        self.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        self.set_auto_page_break(auto=True, margin=MARGIN_MM + 4)
        self.add_font(FONT, fname=str(font_file))

    def close_fonts(self) -> None:
        for font in self.fonts.values():
            if isinstance(font, TTFFont):  # the only kind added here; core fonts have no file
                font.close()

    def normalize_text(self, text: str) -> str:
        self.characters.update(text)
        return super().normalize_text(text)

    def footer(self) -> None:
        self.set_y(-MARGIN_MM)
        self.set_font(FONT, size=7.5)
        self.set_text_color(*GREY)
        self.cell(
            0,
            4,
            f"证书编号 Certificate {self.certificate_id}    "
            f"第 {self.page_no()} / {{nb}} 页  Page {self.page_no()} of {{nb}}",
            align="C",
        )


def render_certificate_pdf(
    document: Mapping[str, Any], page_url: str, *, json_url: str | None = None
) -> bytes:
    """The certificate ``document`` (with its ``"proof"``) as PDF bytes; the QR code encodes ``page_url``.

    ``json_url`` is where the certificate JSON can be downloaded (the API's URL of it); the page by default.
    The layout runs twice: once with the full font to learn the characters, once with their subset.
    """
    ranges: Sequence[Mapping[str, Any]] = document["ranges"]
    assert 0 < len(ranges) <= MAX_RANGES, len(ranges)
    assert "proof" in document, "the PDF states the checkpoint: render the document with its proof"
    draft = _CertificatePdf(document["id"], cjk.source_path())
    try:
        _compose(draft, document, page_url, json_url or page_url)
    finally:
        draft.close_fonts()  # the draft is never output, which is where fpdf2 closes them
    with tempfile.TemporaryDirectory(prefix="tanhui-font-") as folder:
        font_file = Path(folder) / "NotoSansSC-subset.ttf"
        font_file.write_bytes(cjk.truetype_subset(draft.characters))
        pdf = _CertificatePdf(document["id"], font_file)
        _compose(pdf, document, page_url, json_url or page_url)
        assert pdf.characters <= draft.characters | cjk.ALWAYS_KEPT
        return bytes(pdf.output())  # fpdf2 reads the font file here, while it still exists


def _compose(pdf: _CertificatePdf, document: Mapping[str, Any], page_url: str, json_url: str) -> None:
    pdf.set_title(f"林草碳汇注销证明 Forestry Carbon Sink Retirement Certificate {document['id']}")
    pdf.set_author("Tanhui 碳汇")
    pdf.set_lang("zh-CN")
    created_at = _utc(document["created_at"])
    pdf.set_creation_date(created_at)  # the same certificate renders to the same bytes
    pdf.add_page()
    _header(pdf, page_url)
    _facts(pdf, document)
    _serial_ranges(pdf, document["ranges"])
    _verification(pdf, document, json_url)
    certificate_json = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    pdf.embed_file(
        bytes=certificate_json,
        basename=f"certificate-{document['id']}.json",
        desc="证书及其离线证明 The certificate with its offline proof",
        mime_type="application/json",
        modification_date=created_at,
        compress=True,
    )


# --- sections -------------------------------------------------------------------------------------------


def _header(pdf: FPDF, page_url: str) -> None:
    text_width = pdf.epw - QR_SIZE_MM - 6
    top = pdf.get_y()
    pdf.image(io.BytesIO(qr_png(page_url)), x=pdf.w - MARGIN_MM - QR_SIZE_MM, y=top, w=QR_SIZE_MM)
    pdf.set_text_color(*GREEN)
    pdf.set_font(FONT, size=22)
    pdf.cell(text_width, 11, "林草碳汇注销证明", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=12)
    pdf.cell(
        text_width, 7, "Forestry Carbon Sink Retirement Certificate", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(FONT, size=9)
    pdf.ln(2)
    pdf.multi_cell(
        text_width,
        4.6,
        "四川省林草碳汇登记簿证明：下列碳汇量已在登记簿上注销，不再转让或使用。\n"
        "The Sichuan forestry and grassland carbon-sink registry certifies that the credits below "
        "were retired on its ledger and can never be transferred or used again.",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_y(max(pdf.get_y(), top + QR_SIZE_MM) + 1)
    pdf.set_font(FONT, size=7)
    pdf.set_text_color(*GREY)
    pdf.cell(
        0, 3.5, f"扫码查看证书页面 Scan for the certificate page: {page_url}", align="R", new_x=XPos.LMARGIN
    )
    pdf.set_text_color(0, 0, 0)
    pdf.ln(6)
    _rule(pdf)


def _status_lines(document: Mapping[str, Any]) -> list[str]:
    """Valid, or compensated by the buffer pool after a loss (marketplace.reversals), as of rendering."""
    label = document.get("status_label") or {"zh": "有效", "en": "valid"}
    lines = [label["zh"], label["en"]]
    compensation = document.get("compensation")
    if compensation:
        kg = compensation["compensated_kg"]
        lines.append(
            f"缓冲池补偿 {kg:,} 千克，监测期 {compensation['monitoring_period']}，账本第 "
            f"{compensation['cancel_seq']} 条 / buffer compensated {kg:,} kg, monitoring period "
            f"{compensation['monitoring_period']}, ledger seq {compensation['cancel_seq']}"
        )
    return lines


def _facts(pdf: FPDF, document: Mapping[str, Any]) -> None:
    beneficiary = document["beneficiary"]
    name = beneficiary.get("name")
    if name is None:
        name_lines = ["未公开（登记簿仅存承诺值）", "not disclosed (the ledger holds only a commitment)"]
    elif beneficiary["public"]:
        name_lines = [name, "named publicly in the ledger entry"]
    else:
        name_lines = [
            f"{name}（不公开，仅证书持有人可见）",
            "private: shown to the certificate's holder only",
        ]
    purpose = document.get("purpose") or {"zh": document["reason"], "en": document["reason"]}
    purpose_lines = [purpose["zh"], purpose["en"]]
    if document.get("details"):
        purpose_lines.append(document["details"])
    kg = document["quantity_kg"]
    rows: list[tuple[str, str, list[str]]] = [
        ("证书编号", "Certificate ID", [document["id"]]),
        ("受益人", "Beneficiary", name_lines),
        ("用途", "Purpose", purpose_lines),
        (
            "注销数量",
            "Quantity retired",
            [f"{kg:,} 千克二氧化碳当量（{_tonnes(kg)} 吨）", f"{kg:,} kg CO2e ({_tonnes(kg)} t)"],
        ),
        ("项目", "Projects", _project_lines(document)),
        ("县（区）", "Counties", _county_lines(document)),
        ("发展片区", "Zones", _zone_lines(document)),
        (
            "来自原贫困县",
            "From former poverty counties",
            [
                f"{document['poverty_area_share_percent']}%（{document['poverty_area_kg']:,} 千克）",
                f"{document['poverty_area_share_percent']}% ({document['poverty_area_kg']:,} kg)",
            ],
        ),
        ("支付金额", "Price paid", _price_lines(document.get("price_fen"))),
        ("注销时间", "Retired at", [_when(document["created_at"])]),
        ("状态", "Status", _status_lines(document)),
        (
            "账本记录",
            "Ledger entry",
            [
                f"第 {document['seq']} 条（注销账户 {document['account']}）",
                f"seq {document['seq']}, account {document['account']}",
            ],
        ),
        ("签名检查点", "Signed checkpoint", _checkpoint_lines(document["proof"]["checkpoint"])),
    ]
    if document.get("order_id"):
        rows.insert(1, ("订单编号", "Order", [document["order_id"]]))
    for label_zh, label_en, values in rows:
        _row(pdf, label_zh, label_en, values)
    pdf.ln(2)
    _rule(pdf)


def _serial_ranges(pdf: FPDF, ranges: Sequence[Mapping[str, Any]]) -> None:
    _heading(pdf, f"注销序列号（共 {len(ranges):,} 段）", f"Retired serial ranges ({len(ranges):,})")
    pdf.set_font(FONT, size=8)
    serial_width = pdf.epw - 38
    pdf.set_text_color(*GREY)
    pdf.cell(serial_width, 4.5, "序列号 Serial number", new_x=XPos.RIGHT)
    pdf.cell(38, 4.5, "千克 kg", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    for item in ranges:
        pdf.cell(serial_width, 4.2, item["serial"], new_x=XPos.RIGHT)
        pdf.cell(
            38, 4.2, f"{item['end'] - item['start'] + 1:,}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
    pdf.ln(3)
    _rule(pdf)


def _verification(pdf: FPDF, document: Mapping[str, Any], json_url: str) -> None:
    _heading(pdf, "离线验证", "How to verify offline")
    file_name = f"certificate-{document['id']}.json"
    steps = (
        (
            f"1. 本 PDF 附带证书文件 {file_name}（含账本记录正文、签名检查点和包含证明），"
            f"也可从 {json_url} 下载。",
            f"This PDF carries the file {file_name} (the entry body, the signed checkpoint and the inclusion "
            f"proof); it can also be downloaded from {json_url}.",
        ),
        (
            "2. 从登记簿公布的渠道取得验证公钥（GET /api/v1/ledger/key），并与独立保存的副本核对。",
            "Obtain the registry's verifier key (GET /api/v1/ledger/key) and compare it with a copy kept "
            "elsewhere.",
        ),
        (
            f"3. 运行 tanhui certificate verify {file_name} --key '<验证公钥>'：验证检查点签名、记录包含于"
            "检查点的默克尔树（RFC 9162），以及受益人、数量和序列号与记录一致，无需信任服务器。",
            f"Run tanhui certificate verify {file_name} --key '<verifier key>': it checks the checkpoint's "
            "signature, the entry's inclusion in its Merkle tree (RFC 9162), and that the beneficiary, "
            "quantity and serial ranges are the entry's, without trusting the server.",
        ),
    )
    for zh, en in steps:
        pdf.set_font(FONT, size=8.5)
        pdf.multi_cell(0, 4.4, zh, align="L", wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_x(MARGIN_MM + 3.5)
        pdf.set_font(FONT, size=8)
        pdf.set_text_color(*GREY)
        pdf.multi_cell(0, 4.2, en, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
        pdf.ln(1)


# --- pieces ---------------------------------------------------------------------------------------------


def _row(pdf: FPDF, label_zh: str, label_en: str, values: Sequence[str]) -> None:
    """One fact: the Chinese label over the English one, and the value's lines beside them."""
    value_width = pdf.epw - LABEL_WIDTH_MM
    needed = max(2, sum(len(_wrapped(pdf, value, value_width)) for value in values)) * LINE_MM
    if pdf.will_page_break(needed):
        pdf.add_page()
    top = pdf.get_y()
    pdf.set_font(FONT, size=9.5)
    pdf.cell(LABEL_WIDTH_MM, LINE_MM, label_zh, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=7.5)
    pdf.set_text_color(*GREY)
    pdf.cell(LABEL_WIDTH_MM, LINE_MM - 1, label_en, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    label_bottom = pdf.get_y()
    pdf.set_xy(MARGIN_MM + LABEL_WIDTH_MM, top)
    pdf.set_font(FONT, size=9.5)
    for value in values:
        pdf.set_x(MARGIN_MM + LABEL_WIDTH_MM)
        pdf.multi_cell(
            value_width,
            LINE_MM,
            value,
            align="L",
            wrapmode=_wrap_mode(value),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    pdf.set_y(max(pdf.get_y(), label_bottom) + 1.2)


def _wrapped(pdf: FPDF, text: str, width: float) -> list[str]:
    pdf.set_font(FONT, size=9.5)
    lines = pdf.multi_cell(width, LINE_MM, text, wrapmode=_wrap_mode(text), dry_run=True, output="LINES")
    assert isinstance(lines, list)
    return lines


def _wrap_mode(text: str) -> WrapMode:
    """Chinese breaks between any two characters; English and identifiers between words."""
    return WrapMode.CHAR if any(ord(char) >= CJK_START for char in text) else WrapMode.WORD


def _heading(pdf: FPDF, zh: str, en: str) -> None:
    if pdf.will_page_break(20):
        pdf.add_page()
    pdf.ln(1)
    pdf.set_text_color(*GREEN)
    pdf.set_font(FONT, size=11)
    pdf.cell(0, 6, zh, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=8.5)
    pdf.cell(0, 4.5, en, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(1.5)


def _rule(pdf: FPDF) -> None:
    pdf.set_draw_color(*GREEN)
    pdf.set_line_width(0.3)
    pdf.line(MARGIN_MM, pdf.get_y(), pdf.w - MARGIN_MM, pdf.get_y())
    pdf.ln(2)


def _tonnes(kg: int) -> str:
    """Exact: 1 t = 1,000 kg, so three decimals always say every kilogram."""
    return f"{Decimal(kg) / 1000:,.3f}"


def _price_lines(price_fen: int | None) -> list[str]:
    if price_fen is None:
        return ["不适用（未经订单注销）", "not applicable: retired outside an order"]
    yuan = f"{Decimal(price_fen) / 100:,.2f}"
    return [f"人民币 {yuan} 元", f"CNY {yuan}"]


def _utc(created_at: str) -> datetime:
    """The certificate's time in UTC; a time without an offset (SQLite drops it) was stored as UTC."""
    moment = datetime.fromisoformat(created_at)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _when(created_at: str) -> str:
    return f"{_utc(created_at):%Y-%m-%d %H:%M:%S} UTC"


def _project_lines(document: Mapping[str, Any]) -> list[str]:
    lines = []
    for project in document["projects"]:
        if project.get("name") is None:
            lines.append(f"{project['code']}（登记簿未收录该项目信息 project details not on record）")
            continue
        kind = ""
        if project.get("project_type_zh"):
            kind = f" · {project['project_type_zh']} {project['project_type_en']}"
        lines.append(f"{project['code']} {project['name']}{kind}")
    return lines or ["—"]


def _county_lines(document: Mapping[str, Any]) -> list[str]:
    counties = document.get("county_names") or [{"code": code, "name": None} for code in document["counties"]]
    lines = []
    for county in counties:
        where = " ".join(part for part in (county.get("prefecture"), county.get("name")) if part)
        mark = "（原贫困县 former poverty county）" if county.get("poverty_county") else ""
        lines.append(f"{where} {county['code']}{mark}".strip())
    return lines or ["—"]


def _zone_lines(document: Mapping[str, Any]) -> list[str]:
    zones = document.get("zone_names") or [{"zh": key, "en": key} for key in document["zones"]]
    return [f"{zone['zh']} {zone['en']}" for zone in zones] or ["—"]


def _checkpoint_lines(note: str) -> list[str]:
    """Origin, size and root of the signed note's checkpoint text (the lines before the blank line)."""
    text, _, _signatures = note.partition("\n\n")
    checkpoint = Checkpoint.parse(text + "\n")
    return [
        f"日志 origin: {checkpoint.origin}",
        f"记录数 size: {checkpoint.size:,}",
        f"根哈希 root (base64): {checkpoint.body().splitlines()[2]}",
    ]
