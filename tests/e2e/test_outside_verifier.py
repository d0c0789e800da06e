"""An outside verifier of the demo registry, written from DESIGN.md's ledger contract and the RFCs alone.

Nothing of the project checks what the server says here: SHA-256 from ``hashlib``, Ed25519 from
``cryptography``, canonical JSON from ``rfc8785``, the C2SP signed-note and tlog-checkpoint forms read
by hand, and the proof verification algorithms of RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
(consistency) written out as the RFC states them. The project only serves the demo registry and its
public HTTP endpoints, as it would to anyone: once on SQLite, once on PostgreSQL (required in CI).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from tests_support import ORIGIN, fresh_pg_schema, make_demo_app

from marketplace.models import Certificate

LEDGER = "/api/v1/ledger"
KINDS = {"issue", "transfer", "retire", "cancel"}
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def node(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


# --- C2SP signed-note and tlog-checkpoint ---------------------------------------------------------------


@dataclass(frozen=True)
class VerifierKey:
    name: str
    key_id: bytes
    public_key: Ed25519PublicKey


def read_vkey(line: str) -> VerifierKey:
    """``<name>+<hex key id>+<base64(0x01 ‖ 32-byte public key)>``, the key id checked (C2SP signed-note)."""
    name, key_id_hex, encoded = line.split("+", 2)  # a name holds no "+"; base64 may
    key = base64.b64decode(encoded, validate=True)
    assert key[0] == 0x01, "an Ed25519 key starts with its type byte 0x01"
    assert len(key) == 33
    key_id = bytes.fromhex(key_id_hex)
    assert key_id == sha256(name.encode() + b"\n" + key)[:4], "key id = SHA-256(name ‖ LF ‖ key)[:4]"
    return VerifierKey(name, key_id, Ed25519PublicKey.from_public_bytes(key[1:]))


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes


def open_note(note: str, key: VerifierKey) -> Checkpoint:
    """The checkpoint a signed note carries, if ``key`` signed its text; fails the test otherwise."""
    text, _, signatures = note.partition("\n\n")
    text += "\n"
    signed = False
    for line in signatures.splitlines():
        assert line.startswith("\u2014 "), f"a signature line starts with an em dash and a space: {line!r}"
        name, encoded = line[2:].split(" ")
        blob = base64.b64decode(encoded, validate=True)
        if name == key.name and blob[:4] == key.key_id:
            key.public_key.verify(blob[4:], text.encode())  # raises InvalidSignature
            signed = True
    assert signed, "no signature by the published key"
    origin, size, root, *_extensions = text.splitlines()
    assert re.fullmatch(r"0|[1-9][0-9]*", size)
    return Checkpoint(origin, int(size), base64.b64decode(root, validate=True))


# --- RFC 9162 -------------------------------------------------------------------------------------------


def tree_root(leaves: list[bytes]) -> bytes:
    """MTH (RFC 9162 §2.1.1) of the leaf hashes, folded as a stack of perfect subtrees."""
    if not leaves:
        return sha256(b"")
    stack: list[tuple[int, bytes]] = []  # (height, hash), heights strictly decreasing
    for leaf in leaves:
        height, value = 0, leaf
        while stack and stack[-1][0] == height:
            value = node(stack.pop()[1], value)
            height += 1
        stack.append((height, value))
    root = stack.pop()[1]
    while stack:
        root = node(stack.pop()[1], root)
    return root


def root_from_inclusion(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2, step by step; None where the RFC says to fail."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node(p, r)
            while fn and not fn & 1:  # LSB(fn) not set: shift until it is, or fn is 0
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def consistent(first: int, second: int, first_hash: bytes, second_hash: bytes, path: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2, step by step, for 0 < first < second."""
    if not path:
        return False
    if first & (first - 1) == 0:  # an exact power of 2
        path = [first_hash, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while fn and not fn & 1:  # LSB(fn) not set: shift until it is, or fn is 0
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_hash and sr == second_hash and sn == 0


# --- c2sp.org/tlog-cosignature (Ed25519, cosignature/v1) ---------------------------------------------------


@dataclass
class Witness:
    """A witness written from the spec: its key, its vkey (type 0x04), and how it signs and is checked."""

    name: str
    private_key: Ed25519PrivateKey

    @property
    def public(self) -> bytes:
        return self.private_key.public_key().public_bytes_raw()

    @property
    def key_id(self) -> bytes:  # SHA-256(<name> || "\n" || 0x04 || 32-byte key)[:4]
        return sha256(self.name.encode() + b"\n" + b"\x04" + self.public)[:4]

    @property
    def vkey(self) -> str:
        typed = base64.b64encode(bytes([0x04]) + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{typed}"

    def cosign(self, note: str) -> str:
        """``note`` with this witness's line: key id, u64 big-endian time, signature of the v1 message."""
        text = note[: note.index("\n\n") + 1]
        now = int(time.time())
        signature = self.private_key.sign(f"cosignature/v1\ntime {now}\n".encode() + text.encode())
        blob = self.key_id + now.to_bytes(8, "big") + signature
        return note + f"\u2014 {self.name} {base64.b64encode(blob).decode()}\n"

    def cosigned(self, note: str) -> bool:
        """Whether ``note`` carries a valid cosignature of its text by this witness."""
        text, _, lines = note.partition("\n\n")
        for line in lines.splitlines():
            name, encoded = line[2:].split(" ")
            blob = base64.b64decode(encoded, validate=True)
            if name == self.name and blob[:4] == self.key_id:
                stamp = int.from_bytes(blob[4:12], "big")
                message = f"cosignature/v1\ntime {stamp}\n{text}\n".encode()
                Ed25519PublicKey.from_public_bytes(self.public).verify(blob[12:], message)  # raises if not
                return True
        return False


WITNESS = Witness("witness.outside.example", Ed25519PrivateKey.generate())


# --- the registry, as anyone sees it ---------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def registry(request, tmp_path_factory):
    """The demo registry's app (on SQLite, then on PostgreSQL), its HTTP client and its certificate ids
    (as their holders would have them)."""
    folder = str(tmp_path_factory.mktemp("outside"))
    with ExitStack() as stack:
        url = None
        if request.param == "pg":
            url = stack.enter_context(fresh_pg_schema(request.getfixturevalue("pg_base_url")))
        app = make_demo_app(folder, database_url=url, TANHUI_WITNESS_KEYS=(WITNESS.vkey,))
        service = app.extensions["tanhui.ledger"]
        stack.callback(service.database.dispose)
        with service.database.reading() as session:
            certificate_ids = list(session.scalars(select(Certificate.id).order_by(Certificate.seq)))
        client = app.test_client()
        note = client.get(f"{LEDGER}/checkpoint").get_data(as_text=True)
        cosigned = client.post(f"{LEDGER}/cosignatures", data=WITNESS.cosign(note), content_type="text/plain")
        assert cosigned.status_code == 201, cosigned.get_data(as_text=True)
        yield client, certificate_ids


@pytest.fixture(scope="module")
def published(registry):
    """The verifier key, the latest checkpoint and every entry the checkpoint covers, fetched and checked."""
    client, _ = registry
    key = read_vkey(client.get(f"{LEDGER}/key").get_data(as_text=True).strip())
    checkpoint = open_note(client.get(f"{LEDGER}/checkpoint").get_data(as_text=True), key)
    bodies = []
    for seq in range(checkpoint.size):
        entry = client.get(f"{LEDGER}/entries/{seq}").get_json()
        assert entry["seq"] == seq
        bodies.append(entry["body"].encode("utf-8"))
        assert entry["leaf_hash"] == sha256(b"\x00" + bodies[-1]).hex()
    return key, checkpoint, bodies


def test_the_pages_of_entries_list_every_entry_as_it_is_served_alone(registry, published):
    client, _ = registry
    _, checkpoint, bodies = published
    listed: list[bytes] = []
    start = 0
    while start < checkpoint.size:
        page = client.get(f"{LEDGER}/entries?start={start}&limit=100").get_json()
        assert page["start"] == start
        assert page["entries"], f"no entries from {start}, below the checkpoint's size"
        assert [entry["seq"] for entry in page["entries"]] == list(range(start, start + len(page["entries"])))
        for entry in page["entries"]:
            listed.append(entry["body"].encode("utf-8"))
            assert entry["leaf_hash"] == sha256(b"\x00" + listed[-1]).hex()
        start = page["next"] if page["next"] is not None else start + len(page["entries"])
    assert listed[: checkpoint.size] == bodies


def leaf_hashes(bodies: list[bytes]) -> list[bytes]:
    return [sha256(b"\x00" + body) for body in bodies]


def test_the_checkpoint_is_signed_by_the_published_key_for_the_registry_origin(published):
    key, checkpoint, _ = published
    assert checkpoint.origin == ORIGIN == key.name
    assert len(checkpoint.root) == 32
    assert checkpoint.size > 300  # the demo's entries, all covered


def test_every_body_is_canonical_and_chained_and_the_leaves_make_the_checkpointed_root(published):
    _, checkpoint, bodies = published
    prev = "0" * 64
    for seq, body in enumerate(bodies):
        value = json.loads(body)
        assert rfc8785.dumps(value) == body, f"entry {seq} is not RFC 8785 canonical JSON"
        assert (value["v"], value["seq"]) == (1, seq)
        assert value["kind"] in KINDS
        assert value["prev"] == prev, f"entry {seq} does not name its predecessor's leaf hash"
        assert TIME.fullmatch(value["time"]), value["time"]
        assert isinstance(value["data"], dict)
        prev = sha256(b"\x00" + body).hex()
    assert {json.loads(body)["kind"] for body in bodies} == KINDS
    assert tree_root(leaf_hashes(bodies)) == checkpoint.root


def test_the_tlog_tiles_hold_every_leaf_and_entry_and_fold_to_the_root(registry, published):
    """c2sp.org/tlog-tiles: level-0 tiles of leaf hashes, entry bundles of uint16-prefixed bodies, and
    level-1 hashes over full level-0 tiles, for the checkpoint's tree (the demo has one full tile)."""
    client, _ = registry
    _, checkpoint, bodies = published
    full, width = divmod(checkpoint.size, 256)
    names = [f"{index:03d}" for index in range(full)] + ([f"{full:03d}.p/{width}"] if width else [])
    leaves: list[bytes] = []
    listed: list[bytes] = []
    for name in names:
        tile = client.get(f"{LEDGER}/tile/0/{name}")
        assert (tile.status_code, tile.mimetype) == (200, "application/octet-stream")
        leaves += [tile.data[i : i + 32] for i in range(0, len(tile.data), 32)]
        bundle = client.get(f"{LEDGER}/tile/entries/{name}").data
        while bundle:
            length = int.from_bytes(bundle[:2], "big")
            listed.append(bundle[2 : 2 + length])
            bundle = bundle[2 + length :]
    assert listed == bodies
    assert leaves == leaf_hashes(bodies)
    level_one = client.get(f"{LEDGER}/tile/1/000.p/{full}").data if full else b""
    assert level_one == b"".join(tree_root(leaves[256 * i : 256 * (i + 1)]) for i in range(full))
    assert client.get(f"{LEDGER}/tile/0/{full + 1:03d}").status_code == 404


def test_every_entry_has_an_inclusion_proof_that_rfc_9162_verifies(registry, published):
    client, _ = registry
    _, checkpoint, bodies = published
    for seq, leaf in enumerate(leaf_hashes(bodies)):
        response = client.get(f"{LEDGER}/proofs/inclusion?seq={seq}&size={checkpoint.size}").get_json()
        path = [bytes.fromhex(value) for value in response["hashes"]]
        assert root_from_inclusion(seq, checkpoint.size, leaf, path) == checkpoint.root, seq
        if path:  # a proof with any element changed proves nothing
            bent = [*path[:-1], bytes([path[-1][0] ^ 1]) + path[-1][1:]]
            assert root_from_inclusion(seq, checkpoint.size, leaf, bent) != checkpoint.root


def test_every_smaller_tree_is_consistent_with_the_checkpoint(registry, published):
    client, _ = registry
    _, checkpoint, bodies = published
    leaves = leaf_hashes(bodies)
    for first in range(1, checkpoint.size + 1):
        response = client.get(f"{LEDGER}/proofs/consistency?from={first}&to={checkpoint.size}").get_json()
        path = [bytes.fromhex(value) for value in response["hashes"]]
        if first == checkpoint.size:
            assert path == []
            continue
        first_root = tree_root(leaves[:first])
        assert consistent(first, checkpoint.size, first_root, checkpoint.root, path), first
        assert not consistent(first, checkpoint.size, sha256(first_root), checkpoint.root, path)


def test_every_certificate_of_the_demo_verifies_offline_and_states_its_entry(registry, published):
    client, certificate_ids = registry
    key, _, bodies = published
    documents = [client.get(f"/api/v1/certificates/{cid}").get_json() for cid in certificate_ids]
    # The demo's journeys: micro sinks for oneself (public and private) and as a gift, an event, compliance.
    assert {document["reason"] for document in documents} >= {
        "personal_footprint",
        "gift",
        "event",
        "compliance_period",
    }
    assert {document["beneficiary"]["public"] for document in documents} == {True, False}
    for document in documents:
        proof = document["proof"]
        checkpoint = open_note(proof["checkpoint"], key)
        body = proof["body"].encode("utf-8")
        assert proof["seq"] == document["seq"] < checkpoint.size
        assert body == bodies[proof["seq"]]
        path = [bytes.fromhex(value) for value in proof["inclusion"]]
        leaf = sha256(b"\x00" + body)
        assert root_from_inclusion(proof["seq"], checkpoint.size, leaf, path) == checkpoint.root

        entry = json.loads(body)
        data = entry["kind"], entry["data"]
        assert data[0] == "retire"
        assert data[1]["quantity_kg"] == document["quantity_kg"]
        assert data[1]["ranges"] == document["ranges"]
        assert data[1]["reason"] == document["reason"]
        beneficiary = document["beneficiary"]
        if beneficiary["public"]:
            assert data[1]["beneficiary"] == {"public": True, "name": beneficiary["name"]}
        else:  # the holder's name and salt open the entry's commitment
            opened = rfc8785.dumps({"name": beneficiary["name"], "salt": beneficiary["salt"]})
            assert data[1]["beneficiary"] == {
                "public": False,
                "commitment": hashlib.sha256(opened).hexdigest(),
            }
        assert datetime.fromisoformat(document["created_at"]).utcoffset() is not None


def test_the_checkpoint_and_every_certificate_carry_the_witness_cosignature(registry, published):
    """The registry lists the witness; the witness cosigned the checkpoint (as a witness would, over
    HTTP); the checkpoint served and every certificate's proof carry the cosignature, which verifies."""
    client, certificate_ids = registry
    key, checkpoint, _ = published
    note = client.get(f"{LEDGER}/checkpoint").get_data(as_text=True)
    assert WITNESS.cosigned(note)
    assert open_note(note, key) == checkpoint  # the registry's own signature is still there and holds
    for certificate_id in certificate_ids:
        proof = client.get(f"/api/v1/certificates/{certificate_id}").get_json()["proof"]
        assert WITNESS.cosigned(proof["checkpoint"]), certificate_id
    altered = note.replace(WITNESS.name, "witness.other.example")
    assert not WITNESS.cosigned(altered)


def test_every_certificate_downloads_as_a_tlog_proof_that_proves_its_entry(registry, published):
    """c2sp.org/tlog-proof@v1: the header, ``extra`` (here base64 of the entry body), ``index``, the
    inclusion hashes, a blank line, then the signed checkpoint; read here line by line."""
    client, certificate_ids = registry
    key, _, bodies = published
    for certificate_id in certificate_ids:
        response = client.get(f"/api/v1/certificates/{certificate_id}.tlog-proof")
        assert response.headers["Content-Disposition"].endswith('.tlog-proof"')
        head, _, note = response.get_data(as_text=True).partition("\n\n")
        header, extra, index, *hashes = head.split("\n")
        assert header == "c2sp.org/tlog-proof@v1"
        assert extra.startswith("extra ")
        assert index.startswith("index ")
        body = base64.b64decode(extra.removeprefix("extra "), validate=True)
        seq = int(index.removeprefix("index "))
        assert body == bodies[seq]
        assert json.loads(body)["kind"] == "retire"
        checkpoint = open_note(note, key)
        path = [base64.b64decode(value, validate=True) for value in hashes]
        assert root_from_inclusion(seq, checkpoint.size, sha256(b"\x00" + body), path) == checkpoint.root


def test_the_verifier_refuses_an_altered_checkpoint_and_a_key_that_did_not_sign_it(registry, published):
    """The checks above can fail: a changed tree size breaks the signature, and so does another key
    presented under the same name and key id."""
    client, _ = registry
    key, _, _ = published
    note = client.get(f"{LEDGER}/checkpoint").get_data(as_text=True)
    origin, size, rest = note.split("\n", 2)
    with pytest.raises(InvalidSignature):
        open_note(f"{origin}\n{int(size) + 1}\n{rest}", key)
    impostor = VerifierKey(key.name, key.key_id, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(InvalidSignature):
        open_note(note, impostor)
