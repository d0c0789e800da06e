"""The public ledger HTTP contract of DESIGN.md, exercised through the app as an outside verifier would."""

from __future__ import annotations

import base64
import json

import pytest
from response_conformance import documented_responses
from tests_support import ORIGIN, migrate

from ledger import limits, merkle
from ledger.checkpoint import open_checkpoint
from ledger.commands import Allocation, Beneficiary, Issue, Retire, Selection, Transfer
from ledger.note import NoteVerifier
from ledger.tlog_proof import verify_tlog_proof
from web.app import create_app


@pytest.fixture
def app(tmp_path):
    url = f"sqlite:///{tmp_path / 'api.db'}"
    migrate(url)
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": url,
            "TANHUI_SIGNING_KEY_FILE": tmp_path / "signing.key",
            "TANHUI_LEDGER_ORIGIN": ORIGIN,
        }
    )
    ledger = app.extensions["tanhui.ledger"]
    for account, kind in (("OWN-A", "owner"), ("ENT-A", "enterprise"), ("BUFFER", "buffer")):
        ledger.open_account(account, kind, account)
    ledger.append([Issue("i1", "LS01", "2023", 1, (Allocation("OWN-A", 9_000), Allocation("BUFFER", 1_000)))])
    for n in range(1, 12):
        ledger.append([Transfer(f"t{n}", "OWN-A", "ENT-A", Selection(quantity_kg=100 * n))])
    ledger.append(
        [
            Retire(
                "r1",
                "ENT-A",
                Selection(quantity_kg=50),
                Beneficiary("企业甲", True),
                "compliance_period",
                "2025",
            )
        ]
    )
    ledger.sign_checkpoint()
    with documented_responses(app):
        yield app
    ledger.database.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def verifier(client) -> NoteVerifier:
    response = client.get("/api/v1/ledger/key")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return NoteVerifier.from_vkey(response.get_data(as_text=True).strip())


def test_the_checkpoint_is_a_signed_note_that_verifies_with_the_published_key(client):
    response = client.get("/api/v1/ledger/checkpoint")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    # The latest checkpoint changes with every signing: a cache must ask again; the key may be kept a while.
    assert response.headers["Cache-Control"] == "no-cache"
    key = client.get("/api/v1/ledger/key")
    assert key.headers["Cache-Control"] == "public, max-age=300"
    assert client.get("/api/v1/ledger/witnesses").headers["Cache-Control"] == "public, max-age=300"
    checkpoint = open_checkpoint(response.get_data(as_text=True), [verifier(client)], origin=ORIGIN)
    assert checkpoint.size == 13


def test_every_entry_is_included_in_the_checkpointed_tree(client):
    checkpoint = open_checkpoint(
        client.get("/api/v1/ledger/checkpoint").get_data(as_text=True), [verifier(client)]
    )
    previous = "0" * 64
    for seq in range(checkpoint.size):
        entry = client.get(f"/api/v1/ledger/entries/{seq}").get_json()
        body = entry["body"].encode("utf-8")
        assert merkle.leaf_hash(body).hex() == entry["leaf_hash"]
        assert json.loads(body)["prev"] == previous
        previous = entry["leaf_hash"]
        proof = client.get(f"/api/v1/ledger/proofs/inclusion?seq={seq}&size={checkpoint.size}").get_json()
        assert (proof["seq"], proof["size"]) == (seq, checkpoint.size)
        hashes = [bytes.fromhex(node) for node in proof["hashes"]]
        merkle.verify_inclusion(merkle.leaf_hash(body), seq, checkpoint.size, hashes, checkpoint.root)


def test_consistency_proofs_link_every_smaller_tree_to_the_checkpoint(app, client):
    checkpoint = open_checkpoint(
        client.get("/api/v1/ledger/checkpoint").get_data(as_text=True), [verifier(client)]
    )
    leaves = [
        bytes.fromhex(client.get(f"/api/v1/ledger/entries/{seq}").get_json()["leaf_hash"])
        for seq in range(checkpoint.size)
    ]
    for size in range(1, checkpoint.size + 1):
        proof = client.get(f"/api/v1/ledger/proofs/consistency?from={size}&to={checkpoint.size}").get_json()
        assert (proof["from"], proof["to"]) == (size, checkpoint.size)
        merkle.verify_consistency(
            size,
            checkpoint.size,
            [bytes.fromhex(h) for h in proof["hashes"]],
            merkle.root_of(leaves[:size]),
            checkpoint.root,
        )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("/proofs/inclusion?seq=3&size=14", "size"),  # beyond the latest checkpoint
        ("/proofs/inclusion?seq=13&size=13", "seq"),  # seq >= size
        ("/proofs/inclusion?seq=-1&size=5", "seq"),
        ("/proofs/inclusion?seq=x&size=5", "seq"),
        ("/proofs/inclusion?size=5", "seq"),
        ("/proofs/consistency?from=0&to=5", "from"),
        ("/proofs/consistency?from=6&to=5", "from"),
        ("/proofs/consistency?from=1&to=99", "to"),
        ("/proofs/consistency?from=1", "to"),
        ("/entries/-1", "seq"),
        ("/entries/abc", "seq"),
        ("/entries/00", "seq"),
    ],
)
def test_impossible_proofs_and_bad_parameters_are_4xx_problems_naming_the_field(client, query, field):
    response = client.get("/api/v1/ledger" + query)
    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == response.status_code
    assert problem["field"] == field
    assert "hashes" not in problem


def test_an_entry_that_does_not_exist_is_a_404_problem(client):
    response = client.get("/api/v1/ledger/entries/999")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_a_page_lists_the_entries_exactly_as_they_are_served_one_by_one(client):
    one_by_one = [client.get(f"/api/v1/ledger/entries/{seq}").get_json() for seq in range(13)]
    response = client.get("/api/v1/ledger/entries?start=0&limit=13")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.get_json() == {"start": 0, "entries": one_by_one, "next": 13}
    middle = client.get("/api/v1/ledger/entries?start=4&limit=3").get_json()
    assert middle == {"start": 4, "entries": one_by_one[4:7], "next": 7}
    assert client.get("/api/v1/ledger/entries?start=0").get_json()["entries"] == one_by_one  # limit 256


def test_a_page_that_reaches_the_newest_entry_is_not_cached_and_lists_more_as_the_log_grows(app, client):
    response = client.get("/api/v1/ledger/entries?start=11&limit=5")
    assert response.headers["Cache-Control"] == "no-cache"
    page = response.get_json()
    assert ([entry["seq"] for entry in page["entries"]], page["next"]) == ([11, 12], None)
    past = client.get("/api/v1/ledger/entries?start=13&limit=5")
    assert (past.status_code, past.get_json()) == (200, {"start": 13, "entries": [], "next": None})
    assert past.headers["Cache-Control"] == "no-cache"
    app.extensions["tanhui.ledger"].append([Transfer("t-late", "OWN-A", "ENT-A", Selection(quantity_kg=1))])
    grown = client.get("/api/v1/ledger/entries?start=11&limit=5").get_json()
    assert ([entry["seq"] for entry in grown["entries"]], grown["next"]) == ([11, 12, 13], None)


def test_a_page_stops_at_its_byte_budget_but_always_lists_its_first_entry(client, monkeypatch):
    bodies = [client.get(f"/api/v1/ledger/entries/{seq}").get_json()["body"] for seq in range(13)]
    sizes = [len(body.encode("utf-8")) for body in bodies]
    monkeypatch.setattr(limits, "MAX_PAGE_BODY_BYTES", sizes[1] + sizes[2])
    response = client.get("/api/v1/ledger/entries?start=1&limit=10")
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"  # it never changes
    page = response.get_json()
    assert ([entry["body"] for entry in page["entries"]], page["next"]) == (bodies[1:3], 3)
    monkeypatch.setattr(limits, "MAX_PAGE_BODY_BYTES", 1)
    page = client.get("/api/v1/ledger/entries?start=5&limit=10").get_json()
    assert ([entry["body"] for entry in page["entries"]], page["next"]) == ([bodies[5]], 6)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "start"),
        ("?start=-1", "start"),
        ("?start=x", "start"),
        ("?start=0&limit=0", "limit"),
        ("?start=0&limit=1001", "limit"),
        ("?start=0&limit=2.5", "limit"),
        ("?start=0&size=3", "size"),
    ],
)
def test_a_bad_page_query_is_a_problem_naming_the_field(client, query, field):
    response = client.get("/api/v1/ledger/entries" + query)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["field"] == field


def test_the_retirement_proof_verifies_offline_as_json_and_as_a_tlog_proof(app):
    ledger = app.extensions["tanhui.ledger"]
    proof = ledger.proof_for(12)
    key = NoteVerifier.from_vkey(ledger.verifier_key())
    checkpoint = open_checkpoint(proof.checkpoint, [key], origin=ORIGIN)
    leaf = merkle.leaf_hash(proof.body.encode("utf-8"))
    merkle.verify_inclusion(leaf, proof.seq, checkpoint.size, proof.inclusion, checkpoint.root)
    assert json.loads(proof.body)["kind"] == "retire"
    document = proof.as_json()
    assert set(document) == {"seq", "body", "checkpoint", "inclusion"}
    assert document["inclusion"] == [node.hex() for node in proof.inclusion]
    assert verify_tlog_proof(proof.as_tlog_proof(), leaf, [key], ORIGIN).size == checkpoint.size


def test_a_proof_is_signed_for_an_entry_no_checkpoint_covers_yet(app):
    ledger = app.extensions["tanhui.ledger"]
    [entry] = ledger.append([Transfer("late", "OWN-A", "ENT-A", Selection(quantity_kg=1))])
    proof = ledger.proof_for(entry.seq)
    checkpoint = open_checkpoint(proof.checkpoint, [NoteVerifier.from_vkey(ledger.verifier_key())])
    assert checkpoint.size == entry.seq + 1


def test_the_openapi_document_lists_the_ledger_endpoints(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    for path in (
        "/api/v1/ledger/checkpoint",
        "/api/v1/ledger/key",
        "/api/v1/ledger/entries/{seq}",
        "/api/v1/ledger/entries",
        "/api/v1/ledger/proofs/inclusion",
        "/api/v1/ledger/proofs/consistency",
    ):
        assert "get" in document["paths"][path]


def test_the_verifier_key_is_in_signed_note_vkey_form(client):
    name, key_id, key = client.get("/api/v1/ledger/key").get_data(as_text=True).strip().split("+", 2)
    assert name == ORIGIN
    assert len(bytes.fromhex(key_id)) == 4
    raw = base64.b64decode(key)
    assert raw[:1] == b"\x01"
    assert len(raw) == 33


def test_a_node_without_the_key_file_publishes_the_registered_key_or_says_there_is_none(app, tmp_path):
    """A web node that holds no private key (and may not make one) serves the key the registry signs with,
    as registered; before any checkpoint was signed there is none, and it says so."""
    ledger = app.extensions["tanhui.ledger"]
    signing_key = ledger.verifier_key()
    settings = {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "web"),
        "DATABASE_URL": ledger.database.url,
        "TANHUI_SIGNING_KEY_FILE": tmp_path / "web" / "none.key",
        "TANHUI_CREATE_SIGNING_KEY": False,
        "TANHUI_LEDGER_ORIGIN": ORIGIN,
    }
    web = create_app(settings)
    response = web.test_client().get("/api/v1/ledger/key")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == signing_key + "\n"

    empty = tmp_path / "empty.db"
    migrate(f"sqlite:///{empty}")
    fresh = create_app(settings | {"DATABASE_URL": f"sqlite:///{empty}"})
    response = fresh.test_client().get("/api/v1/ledger/key")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"] == "no signing key has been configured or registered"
    assert not (tmp_path / "web" / "none.key").exists()
    for node in (web, fresh):
        node.extensions["tanhui.ledger"].database.dispose()
