"""Witnesses: an outsider cosigns the checkpoints it followed, the registry keeps and serves the
cosignatures, and a certificate reader can require them (c2sp.org/tlog-cosignature).

Registries are real apps on SQLite served over loopback; the witness runs the command line, with no
app, configuration or database, as it would on its own machine.
"""

from __future__ import annotations

import json
import os
import stat
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from registry_support import Registry, one_line_failure, registry_cli
from sqlalchemy import select
from tests_support import closed_port_url, make_demo_app

from ledger.commands import Beneficiary, Retire, Selection, Transfer
from ledger.cosignature import CosignatureVerifier, Cosigner, cosignatures
from ledger.errors import CosignatureRefused, NotFound
from ledger.keys import read_cosigner_file, read_key_file
from ledger.log_follow import RegistryError, http_fetch
from ledger.models import CheckpointCosignature
from ledger.note import NoteVerifier, open_note
from ledger.witness import submit
from ledger.witness_push import push_to_witnesses
from ledger.witnessing import witnessed_covering
from marketplace.models import Certificate
from web.cli import main


def cli(*arguments: str) -> Result:
    return CliRunner().invoke(main, list(arguments), catch_exceptions=False)


@pytest.fixture
def witness_key(tmp_path: Path, no_app) -> tuple[Path, str]:
    """A witness's key file, made as a witness makes it; and its cosigner key."""
    path = tmp_path / "witness.key"
    result = cli("keys", "cosigner", "--name", "witness.example.org/w1", "--out", str(path))
    assert result.exit_code == 0, result.stderr
    return path, result.stdout.strip()


@pytest.fixture
def witnessed(registries, witness_key) -> Registry:
    """A registry that lists the witness, with a public retirement on its ledger."""
    _, vkey = witness_key
    registry: Registry = registries("witnessed", TANHUI_WITNESS_KEYS=(vkey,))
    registry.service.append(
        [Retire("r-1", "OWN-A", Selection(quantity_kg=1_000), Beneficiary("企业甲", True), "gift")]
    )
    registry.service.sign_checkpoint()
    return registry


def follow_and_cosign(registry: Registry, kept: Path, key: Path, *extra: str) -> Result:
    return cli(
        "ledger", "follow", str(kept), "--registry", registry.url, "--key", registry.vkey,
        "--cosign-key", str(key), *extra,
    )  # fmt: skip


def served_cosignatures(registry: Registry, vkey: str) -> list[int]:
    note = http_fetch(registry.url)("/api/v1/ledger/checkpoint").decode()
    opened = open_note(note, [NoteVerifier.from_vkey(registry.vkey)])
    return [item.timestamp for item in cosignatures(opened, [CosignatureVerifier.from_vkey(vkey)])]


def test_the_witness_key_is_an_owner_only_file_whose_key_is_a_cosigner_key(witness_key):
    path, vkey = witness_key
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert read_cosigner_file(path).vkey == vkey
    assert CosignatureVerifier.from_vkey(vkey).name == "witness.example.org/w1"
    again = cli("keys", "cosigner", "--name", "w2", "--out", str(path))
    assert "refusing to overwrite" in one_line_failure(again)


def test_a_witness_cosigns_what_it_followed_and_the_registry_serves_it(witnessed, witness_key, tmp_path):
    key, vkey = witness_key
    kept = tmp_path / "kept.checkpoint"
    first = follow_and_cosign(witnessed, kept, key, "--submit")
    assert first.exit_code == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].startswith("ok: kept the first checkpoint")
    assert lines[1].startswith("— witness.example.org/w1 ")
    assert lines[2] == "ok: the registry keeps the cosignature of tree size 2 by witness.example.org/w1"
    [stamp] = served_cosignatures(witnessed, vkey)
    page = http_fetch(witnessed.url)("/ledger", max_bytes=2**20).decode()
    assert "<li><code>witness.example.org/w1</code>" in page  # the latest checkpoint's cosigners
    assert vkey in page  # the witness keys the registry lists

    # The log grows; the witness follows again and cosigns the new checkpoint only once it extends.
    size = witnessed.grow(3, "more")
    second = follow_and_cosign(witnessed, kept, key, "--submit")
    assert second.exit_code == 0, second.stderr
    assert "grew consistently from tree size 2 to 5" in second.stdout
    assert f"cosignature of tree size {size} by" in second.stdout
    [later] = served_cosignatures(witnessed, vkey)
    assert later >= stamp

    # Without --submit, the cosignature is printed and the registry keeps nothing new.
    with witnessed.service.database.reading() as session:
        before = len(session.scalars(select(CheckpointCosignature.id)).all())
    printed = follow_and_cosign(witnessed, kept, key)
    assert printed.exit_code == 0
    assert printed.stdout.splitlines()[1].startswith("— witness.example.org/w1 ")
    with witnessed.service.database.reading() as session:
        assert len(session.scalars(select(CheckpointCosignature.id)).all()) == before


def test_a_certificate_reader_can_require_the_witness(witnessed, witness_key, tmp_path, no_app):
    key, vkey = witness_key
    certificate = tmp_path / "certificate.json"
    certificate.write_text(json.dumps({"proof": witnessed.service.proof_for(1).as_json()}))
    verify = ("certificate", "verify", str(certificate), "--key", witnessed.vkey, "--witness", vkey)
    refused = one_line_failure(cli(*verify))
    assert "cosignatures by 0 of the given witnesses, fewer than the 1 required" in refused

    assert follow_and_cosign(witnessed, tmp_path / "kept", key, "--submit").exit_code == 0
    witnessed.grow(2, "after")  # a newer checkpoint, not cosigned: the certificate keeps the witnessed one
    certificate.write_text(json.dumps({"proof": witnessed.service.proof_for(1).as_json()}))
    accepted = cli(*verify)
    assert accepted.exit_code == 0, accepted.stderr
    assert "cosigned by witnesses: witness.example.org/w1" in accepted.stdout
    assert one_line_failure(cli(*verify, "--witnesses", "2")).endswith("but 1 witnesses given\n")
    assert cli("certificate", "verify", str(certificate), "--key", witnessed.vkey).exit_code == 0


def cosigned_note(registry: Registry, cosigner: Cosigner, timestamp: int, note: str | None = None) -> str:
    note = note or http_fetch(registry.url)("/api/v1/ledger/checkpoint").decode()
    return cosigner.cosign_note(note, timestamp)


def test_the_registry_keeps_only_valid_cosignatures_of_its_own_checkpoints_by_listed_witnesses(
    witnessed, witness_key
):
    key, _ = witness_key
    witness = read_cosigner_file(key)
    service = witnessed.service
    now = int(time.time())
    stranger = Cosigner.generate("stranger.example")
    with pytest.raises(CosignatureRefused, match="no cosignature by a witness this registry lists"):
        service.accept_cosignatures(cosigned_note(witnessed, stranger, now))
    with pytest.raises(CosignatureRefused, match="dated in the future"):
        service.accept_cosignatures(cosigned_note(witnessed, witness, now + 3_600))
    with pytest.raises(CosignatureRefused, match="dated before the checkpoint was signed"):
        service.accept_cosignatures(cosigned_note(witnessed, witness, now - 86_400))
    valid = cosigned_note(witnessed, witness, now)
    bent = valid[:-10] + ("A" if valid[-10] != "A" else "B") + valid[-9:]
    with pytest.raises(CosignatureRefused, match="does not verify"):
        service.accept_cosignatures(bent)
    # A checkpoint signed with the registry's own key, but one the registry never stored.
    signer = read_key_file(Path(witnessed.service.config.signing_key_file))
    fake_text = f"{service.config.origin}\n99\n{'A' * 43}=\n"
    with pytest.raises(NotFound, match="signed no such checkpoint of size 99"):
        service.accept_cosignatures(cosigned_note(witnessed, witness, now, signer.sign(fake_text)))
    with pytest.raises(CosignatureRefused, match="not a checkpoint signed by this registry"):
        service.accept_cosignatures(Cosigner.generate("x").vkey + "\n\n— x AAAA\n")
    with witnessed.service.database.reading() as session:
        assert session.scalars(select(CheckpointCosignature.id)).all() == []
    size, [kept] = service.accept_cosignatures(valid)
    assert (size, kept.timestamp) == (2, now)
    service.accept_cosignatures(cosigned_note(witnessed, witness, now + 5))  # a newer time replaces it
    service.accept_cosignatures(cosigned_note(witnessed, witness, now - 5))  # an older one does not
    with witnessed.service.database.reading() as session:
        assert session.scalars(select(CheckpointCosignature.timestamp)).all() == [now + 5]


def test_the_cosignature_endpoint_answers_problems(witnessed, witness_key):
    def post(data: bytes, content_type: str = "text/plain") -> tuple[int, dict[str, object]]:
        request = urllib.request.Request(
            witnessed.url + "/api/v1/ledger/cosignatures",
            data=data,
            headers={"Content-Type": content_type},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                answer = json.loads(exc.read())
                answer["content_type"] = exc.headers["Content-Type"]
                return exc.code, answer

    status, problem = post(b'{"note": "x"}', "application/json")
    assert (status, problem["field"], problem["content_type"]) == (422, "note", "application/problem+json")
    status, problem = post(b"\xff\xfe")
    assert (status, problem["field"]) == (422, "note")
    status, problem = post(b"not a checkpoint\n")
    assert (status, problem["field"]) == (422, "note")
    key, _ = witness_key
    note = cosigned_note(witnessed, read_cosigner_file(key), int(time.time()))
    status, answer = post(note.encode())
    assert status == 201
    assert answer["checkpoint_size"] == 2
    assert [item["name"] for item in answer["cosigned_by"]] == ["witness.example.org/w1"]


def served_witnesses(registry: Registry) -> str:
    return http_fetch(registry.url)("/api/v1/ledger/witnesses").decode()


def test_a_registry_that_does_not_list_the_witness_refuses_its_cosignature(registries, witness_key, tmp_path):
    key, _ = witness_key
    unlisted: Registry = registries("unlisted")
    kept = tmp_path / "kept"
    result = follow_and_cosign(unlisted, kept, key, "--submit")
    assert result.exit_code == 1
    assert result.stderr == (
        "tanhui: cosignature not kept: the registry refused the cosignature (HTTP 422): "
        "cosignature: this registry lists no witnesses\n"
    )
    assert result.stdout.startswith("ok: kept the first checkpoint")  # the follow itself succeeded
    assert kept.exists()
    alone = cli("ledger", "follow", str(kept), "--registry", unlisted.url, "--key", unlisted.vkey, "--submit")
    assert one_line_failure(alone) == "tanhui: --submit sends a cosignature: give --cosign-key too\n"


def test_witnesses_are_listed_and_removed_from_the_command_line(registries, tmp_path):
    """Listing a witness needs no restart: tanhui witnesses add, list and remove, in the database."""
    registry: Registry = registries("managed")
    service = registry.service

    def run(*arguments: str) -> Result:
        return registry_cli(registry, tmp_path / "cli", "witnesses", *arguments)

    witness = Cosigner.generate("witness.managed.example")
    note = http_fetch(registry.url)("/api/v1/ledger/checkpoint").decode()
    with pytest.raises(CosignatureRefused, match="lists no witnesses"):
        service.accept_cosignatures(cosigned_note(registry, witness, int(time.time()), note))
    added = run("add", witness.vkey)
    expected = f"ok: cosignatures by witness.managed.example ({witness.key_id.hex()}) are kept from now on\n"
    assert added.stdout == expected
    assert run("list").stdout == witness.vkey + "\n"
    assert served_witnesses(registry) == witness.vkey + "\n"  # what the certificate page checks against
    _, [kept] = service.accept_cosignatures(cosigned_note(registry, witness, int(time.time()), note))
    assert kept.name == "witness.managed.example"
    assert push_to_witnesses(service) == []  # listed without an address: it pulls, nobody pushes to it
    assert run("remove", witness.vkey).stdout == "ok: removed\n"
    assert run("list").stdout == ""
    assert served_witnesses(registry) == ""
    with pytest.raises(CosignatureRefused, match="lists no witnesses"):
        service.accept_cosignatures(cosigned_note(registry, witness, int(time.time()) + 1, note))
    served = http_fetch(registry.url)("/api/v1/ledger/checkpoint").decode()
    assert kept.line in served  # made while listed: still served
    assert "does not list that witness" in one_line_failure(run("remove", witness.vkey))
    assert "bad witness key" in one_line_failure(run("add", registry.vkey))  # a log key, type 0x01


def test_the_demo_registry_shows_a_witnessed_checkpoint(tmp_path, no_app):
    app = make_demo_app(str(tmp_path))
    service = app.extensions["tanhui.ledger"]
    try:
        [witness] = service.witnesses()
        assert witness.name == "witness.demo.tanhui.example"
        client = app.test_client()
        note = client.get("/api/v1/ledger/checkpoint").get_data(as_text=True)
        opened = open_note(note, [NoteVerifier.from_vkey(service.verifier_key())])
        [cosignature] = cosignatures(opened, [witness])
        page = client.get("/ledger").get_data(as_text=True)
        assert "<li><code>witness.demo.tanhui.example</code>" in page
        assert witness.vkey in page
        with service.database.reading() as session:
            certificate_id = session.scalars(select(Certificate.id)).first()
        proof = client.get(f"/api/v1/certificates/{certificate_id}").get_json()["proof"]
        assert cosignature.line in proof["checkpoint"]
    finally:
        service.database.dispose()


def test_a_certificate_proves_against_the_covering_checkpoint_most_witnesses_cosigned(registries):
    """Of the checkpoints covering an entry, the one the most listed witnesses cosigned (the newest of
    those): a reader who requires witnesses then finds as many as there are under its checkpoint."""
    one, two = Cosigner.generate("witness.example.org/one"), Cosigner.generate("witness.example.org/two")
    registry: Registry = registries("most", TANHUI_WITNESS_KEYS=(one.vkey, two.vkey))
    service = registry.service
    now = int(time.time())

    def checkpoint_cosigned_by(*witnesses: Cosigner) -> int:
        tag = f"most-{service.size()}"
        service.append([Transfer(tag, "OWN-A", "ENT-A", Selection(quantity_kg=1))])
        size, note = service.sign_checkpoint()
        for witness in witnesses:
            service.accept_cosignatures(witness.cosign_note(note, now))
        return size

    both = checkpoint_cosigned_by(one, two)
    later_by_one = checkpoint_cosigned_by(one)
    with service.database.reading() as session:
        assert witnessed_covering(session, 0).size == both  # covered by both: the most cosigned
        assert witnessed_covering(session, both).size == later_by_one  # only the later one covers it
        assert witnessed_covering(session, later_by_one) is None  # no cosigned checkpoint covers it
    again_by_both = checkpoint_cosigned_by(two, one)
    with service.database.reading() as session:
        assert witnessed_covering(session, 0).size == again_by_both  # as many: the newest


def test_a_cosignature_is_sent_to_the_registry_address_as_given_or_says_why_not(witnessed, witness_key):
    key, _ = witness_key
    witness = read_cosigner_file(key)
    note = http_fetch(witnessed.url)("/api/v1/ledger/checkpoint").decode()
    now = int(time.time())
    answer = submit(witnessed.url + "/", witness.cosign_note(note, now))  # with a trailing slash
    assert answer["cosigned_by"] == [{"name": witness.name, "timestamp": now}]
    refused = r"^cannot send the cosignature: \[Errno 111\] Connection refused$"  # why, in the OS's words
    with pytest.raises(RegistryError, match=refused):
        submit(closed_port_url(), witness.cosign_note(note, int(time.time())))


def test_two_keys_of_one_witness_name_keep_a_cosignature_each(registries):
    """A witness rotating its key is listed under both keys for a while: the cosignature each key makes
    is kept and served, not one in place of the other."""
    old, new = (
        Cosigner.generate("witness.example.org/rotating"),
        Cosigner.generate("witness.example.org/rotating"),
    )
    registry: Registry = registries("rotating", TANHUI_WITNESS_KEYS=(old.vkey, new.vkey))
    note = http_fetch(registry.url)("/api/v1/ledger/checkpoint").decode()
    now = int(time.time())
    for witness in (old, new):
        registry.service.accept_cosignatures(witness.cosign_note(note, now))
    served = http_fetch(registry.url)("/api/v1/ledger/checkpoint").decode()
    opened = open_note(served, [NoteVerifier.from_vkey(registry.vkey)])
    for witness in (old, new):
        [cosignature] = cosignatures(opened, [witness.verifier])
        assert cosignature.key_id == witness.key_id
