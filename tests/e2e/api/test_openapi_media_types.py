"""The OpenAPI document says what each non-JSON answer is, and which request bodies may be left out."""

from __future__ import annotations

from api_support import API


def test_files_are_described_with_their_media_types(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    expected = {".csv": "text/csv", ".pdf": "application/pdf", "qr.svg": "image/svg+xml"}

    described = {}
    for path, operations in paths.items():
        for ending, media_type in expected.items():
            if path.endswith(ending):
                [success] = [code for code in operations["get"]["responses"] if code.startswith("2")]
                described[path] = list(operations["get"]["responses"][success]["content"])
                assert described[path] == [media_type], path

    assert len(described) >= 8, described
    pdf = paths[f"{API}/certificates/{{certificate_id}}.pdf"]["get"]["responses"]["200"]["content"]
    assert pdf["application/pdf"]["schema"] == {"type": "string", "format": "binary"}


def test_a_body_that_may_be_left_out_is_not_required(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]

    start = paths[f"{API}/orders/{{order_id}}/payments"]["post"]["requestBody"]
    refund = paths[f"{API}/orders/{{order_id}}/refunds"]["post"]["requestBody"]

    assert start["required"] is False
    assert refund["required"] is True


def test_a_text_body_and_a_binary_answer_are_described(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    cosign = paths[f"{API}/ledger/cosignatures"]["post"]
    text = {"text/plain": {"schema": {"type": "string"}}}
    assert cosign["requestBody"] == {"required": True, "content": text}
    assert list(cosign["responses"]) == ["201", "4XX"]
    tile = paths[f"{API}/ledger/tile/{{tile_path}}"]["get"]["responses"]["200"]["content"]
    assert tile == {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
