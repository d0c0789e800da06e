"""Signing keys (owner-only files, no overwriting, rotation that keeps old checkpoints verifiable) and
beneficiary privacy (a private name never reaches the public log, yet its commitment can be proved)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, text

from ledger import keys
from ledger.checkpoint import CheckpointError, open_checkpoint
from ledger.commands import Allocation, Beneficiary, Issue, Retire, Selection, Transfer
from ledger.models import BeneficiarySecret, Checkpoint
from ledger.note import NoteSigner, NoteVerifier
from ledger.rules import beneficiary_commitment
from ledger.service import LedgerConfig, LedgerService
from ledger.verify import VerificationFailure
from web.cli import main

SIGNATURE_LINE = re.compile(r"^\u2014 \S+ \S+$", re.MULTILINE)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """Run with umask 000, so that only the code's own choice of mode keeps a key private."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def ledger(service: LedgerService) -> LedgerService:
    service.append(
        [Issue("i-1", "LS01", "2023", 1, (Allocation("OWN-A", 9_000), Allocation("BUFFER", 1_000)))]
    )
    service.append([Transfer("t-1", "OWN-A", "RETAIL", Selection(quantity_kg=3_000))])
    return service


# --- key files ------------------------------------------------------------------------------------------


def test_a_generated_key_file_is_readable_by_its_owner_only(tmp_path: Path, permissive_umask: None):
    path = tmp_path / "keys" / "signing.key"
    signer = keys.load_or_create(path, "test.tanhui.example/ledger")
    assert mode(path) == 0o600
    assert path.read_text(encoding="ascii") == signer.to_skey() + "\n"
    assert keys.read_key_file(path).vkey == signer.vkey


def test_the_service_creates_its_missing_key_with_owner_only_permissions(
    ledger: LedgerService, permissive_umask: None
):
    path = ledger.config.signing_key_file
    assert not path.exists()
    ledger.sign_checkpoint()
    assert mode(path) == 0o600


@pytest.mark.parametrize("unsafe", [0o640, 0o604, 0o644, 0o660, 0o620, 0o602, 0o610, 0o601, 0o700 | 0o070])
def test_a_key_file_that_others_can_access_is_refused(tmp_path: Path, unsafe: int):
    path = tmp_path / "signing.key"
    keys.write_key_file(path, NoteSigner.generate("test.tanhui.example/ledger"))
    path.chmod(unsafe)
    with pytest.raises(keys.KeyFileError, match="chmod 600"):
        keys.read_key_file(path)
    with pytest.raises(keys.KeyFileError):
        keys.load_or_create(path, "test.tanhui.example/ledger")
    path.chmod(0o600)
    keys.read_key_file(path)


def test_an_unreadable_key_file_is_refused_saying_why(tmp_path: Path):
    missing = tmp_path / "missing.key"
    with pytest.raises(keys.KeyFileError) as refused:
        keys.read_key_file(missing)
    assert str(refused.value) == f"cannot read signing key {missing}: No such file or directory"

    signer = NoteSigner.generate("test.tanhui.example/ledger")
    not_ascii = tmp_path / "not-ascii.key"
    keys.write_key_file(not_ascii, signer)
    not_ascii.write_text(signer.to_skey().replace("test.tanhui", "测试.tanhui") + "\n", encoding="utf-8")
    with pytest.raises(keys.KeyFileError) as refused:
        keys.read_key_file(not_ascii)
    assert str(refused.value) == f"cannot read signing key {not_ascii}: not ASCII text"

    malformed = tmp_path / "malformed.key"
    keys.write_key_file(malformed, signer)
    malformed.write_text(signer.to_skey()[:-4] + "\n", encoding="ascii")
    with pytest.raises(keys.KeyFileError, match=f"^{re.escape(str(malformed))} does not hold a signed-note"):
        keys.read_key_file(malformed)


def test_the_ledger_signs_nothing_with_a_key_that_others_can_read(ledger: LedgerService):
    ledger.sign_checkpoint()
    ledger.config.signing_key_file.chmod(0o644)
    fresh = LedgerService(ledger.database, ledger.config)
    ledger.append([Transfer("t-2", "OWN-A", "ENT-A", Selection(quantity_kg=1))])
    with pytest.raises(keys.KeyFileError):
        fresh.sign_checkpoint()
    with ledger.database.reading() as session:
        assert session.scalars(select(Checkpoint.size)).all() == [2]


def test_writing_a_key_never_overwrites_an_existing_file(tmp_path: Path):
    path = tmp_path / "signing.key"
    path.write_text("precious\n")
    with pytest.raises(keys.KeyFileError, match="refusing to overwrite"):
        keys.write_key_file(path, NoteSigner.generate("test.tanhui.example/ledger"))
    assert path.read_text() == "precious\n"


def run_cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None):
    settings = {
        "TANHUI_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "TANHUI_SIGNING_KEY_FILE": str(tmp_path / "default.key"),
        "TANHUI_LEDGER_ORIGIN": "test.tanhui.example/ledger",
        "TANHUI_SCHEDULER": "false",
    } | (env or {})
    return CliRunner().invoke(main, list(args), env=settings, catch_exceptions=False)


def test_keys_generate_writes_an_owner_only_key_and_prints_its_verifier_key(
    tmp_path: Path, permissive_umask: None
):
    out = tmp_path / "new.key"
    result = run_cli(tmp_path, "keys", "generate", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert mode(out) == 0o600
    vkey = result.stdout.strip()
    assert vkey == keys.read_key_file(out).vkey
    assert NoteVerifier.from_vkey(vkey).name == "test.tanhui.example/ledger"


def test_keys_generate_makes_the_directories_it_needs(tmp_path: Path, permissive_umask: None):
    out = tmp_path / "etc" / "tanhui" / "keys" / "new.key"
    result = run_cli(tmp_path, "keys", "generate", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert keys.read_key_file(out).vkey == result.stdout.strip()
    assert mode(out) == 0o600


def test_keys_generate_refuses_to_overwrite_a_key(tmp_path: Path):
    out = tmp_path / "new.key"
    first = run_cli(tmp_path, "keys", "generate", "--out", str(out))
    assert first.exit_code == 0, first.output
    before = out.read_bytes()
    second = run_cli(tmp_path, "keys", "generate", "--out", str(out))
    assert second.exit_code != 0
    assert "refusing to overwrite" in second.stderr
    assert second.stdout == ""
    assert out.read_bytes() == before


# --- rotation -------------------------------------------------------------------------------------------


def signature_count(note: str) -> int:
    return len(SIGNATURE_LINE.findall(note))


def test_key_rotation_keeps_old_checkpoints_verifiable_and_co_signs_the_hand_over(ledger: LedgerService):
    size, old_note = ledger.sign_checkpoint()
    old = ledger.signer
    old_vkey, new_vkey = ledger.rotate_key()
    assert old_vkey == old.vkey != new_vkey
    old_verifier, new_verifier = NoteVerifier.from_vkey(old_vkey), NoteVerifier.from_vkey(new_vkey)

    # The key file now holds the new key; the old one is kept aside, still owner-only.
    key_file = ledger.config.signing_key_file
    assert keys.read_key_file(key_file).vkey == new_vkey
    retired = key_file.with_name(f"{key_file.name}.{old.key_id.hex()}.retired")
    assert keys.read_key_file(retired).vkey == old_vkey
    assert mode(retired) == 0o600

    # The old checkpoint still opens with the old key, and not with the new one alone.
    assert signature_count(old_note) == 1
    assert open_checkpoint(old_note, [old_verifier]).size == size
    with pytest.raises(CheckpointError):
        open_checkpoint(old_note, [new_verifier])

    # The hand-over checkpoint, over the same tree, carries both signatures, each valid on its own.
    with ledger.database.reading() as session:
        notes = session.scalars(select(Checkpoint.note).order_by(Checkpoint.id)).all()
    assert len(notes) == 2
    assert notes[0] == old_note
    hand_over = notes[1]
    assert signature_count(hand_over) == 2
    for verifier in (old_verifier, new_verifier):
        opened = open_checkpoint(hand_over, [verifier], origin=ledger.config.origin)
        assert opened.size == size
        assert opened.root == open_checkpoint(old_note, [old_verifier]).root

    # Later checkpoints are signed by the new key only.
    ledger.append([Transfer("t-2", "RETAIL", "ENT-A", Selection(quantity_kg=10))])
    _, later = ledger.sign_checkpoint()
    assert signature_count(later) == 1
    assert open_checkpoint(later, [new_verifier]).size == size + 1
    with pytest.raises(CheckpointError):
        open_checkpoint(later, [old_verifier])

    # The whole ledger verifies with the keys it registered, or with both keys pinned; not with one alone.
    assert {verifier.vkey for verifier in ledger.verifiers()} == {old_vkey, new_vkey}
    assert ledger.verify().checkpoints == 3
    assert ledger.verify(pinned_keys=[old_vkey, new_vkey]).checkpoints == 3
    for only in (old_vkey, new_vkey):
        with pytest.raises(VerificationFailure) as failure:
            ledger.verify(pinned_keys=[only])
        assert failure.value.what == "signature"


def test_a_rotation_whose_hand_over_is_not_stored_leaves_the_key_files_as_they_were(tmp_path: Path):
    """``tanhui keys rotate`` against a database that cannot store the hand-over (here: never migrated)
    fails in one line, and the registry goes on signing with its old key, not with one nobody vouched for."""
    key = tmp_path / "default.key"
    assert run_cli(tmp_path, "keys", "generate", "--out", str(key)).exit_code == 0
    before = key.read_bytes()
    result = run_cli(tmp_path, "keys", "rotate")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert re.fullmatch(
        r"tanhui: database error: .*no such table: \S+; run: tanhui db upgrade\n", result.stderr
    ), result.stderr
    assert key.read_bytes() == before
    assert sorted(tmp_path.glob("default.key*")) == [key]  # no new key, no retired one

    assert run_cli(tmp_path, "db", "upgrade").exit_code == 0
    rotated = run_cli(tmp_path, "keys", "rotate")
    assert rotated.exit_code == 0, rotated.output
    old = NoteSigner.from_skey(before.decode("ascii").strip())
    assert key.with_name(f"{key.name}.{old.key_id.hex()}.retired").read_bytes() == before
    assert rotated.stdout == f"retired {old.vkey}\ncurrent {keys.read_key_file(key).vkey}\n"


def test_a_rotation_that_fails_deletes_its_new_key_and_one_left_by_a_crash_is_refused(tmp_path: Path):
    path = tmp_path / "signing.key"
    keys.write_key_file(path, NoteSigner.generate("test.tanhui.example/ledger"))
    before = path.read_bytes()
    staged = path.with_name("signing.key.new")
    seen: dict[str, object] = {}

    def hand_over_not_stored() -> None:
        with keys.rotation(path, "test") as (old, new):
            seen.update(old=old.vkey, new=new.vkey, in_place=keys.read_key_file(path).vkey)
            seen.update(staged=keys.read_key_file(staged).vkey, staged_mode=mode(staged))
            raise RuntimeError("hand-over not stored")

    with pytest.raises(RuntimeError, match="hand-over not stored"):
        hand_over_not_stored()
    assert seen["staged"] == seen["new"] != seen["old"] == seen["in_place"]  # the new key waited beside
    assert seen["staged_mode"] == 0o600
    assert path.read_bytes() == before
    assert sorted(tmp_path.iterdir()) == [path]

    staged.write_text("left by a crash\n")
    with (
        pytest.raises(keys.KeyFileError, match=r"signing\.key\.new exists already"),
        keys.rotation(path, "t"),
    ):
        pytest.fail("a rotation began beside a key left by another")
    assert path.read_bytes() == before
    assert staged.read_text() == "left by a crash\n"


def test_a_second_rotation_keeps_both_earlier_keys_in_use_for_their_checkpoints(ledger: LedgerService):
    ledger.sign_checkpoint()
    first, second = ledger.rotate_key()
    ledger.append([Transfer("t-2", "RETAIL", "ENT-A", Selection(quantity_kg=10))])
    ledger.sign_checkpoint()
    again, third = ledger.rotate_key()
    assert again == second
    assert len({first, second, third}) == 3
    assert ledger.verify().checkpoints == 4
    assert ledger.verify(pinned_keys=[first, second, third]).size == 3


def reader_without_the_key(ledger: LedgerService, tmp_path: Path) -> LedgerService:
    """A node of the same registry that holds no private key (a web node in production), nor makes one."""
    config = LedgerConfig(
        origin=ledger.config.origin, signing_key_file=tmp_path / "absent.key", create_key_if_missing=False
    )
    return LedgerService(ledger.database, config)


def test_a_node_without_the_private_key_serves_the_newest_registered_verifier_key(
    ledger: LedgerService, tmp_path: Path
):
    reader = reader_without_the_key(ledger, tmp_path)
    with pytest.raises(LookupError, match="no signing key has been configured or registered"):
        reader.verifier_key()
    ledger.sign_checkpoint()
    assert reader.verifier_key() == ledger.signer.vkey
    for _ in range(3):  # each rotation's new key is the one to serve, whatever its key id or text
        _old, new = ledger.rotate_key()
        assert reader.verifier_key() == new
    assert len(ledger.verifiers()) == 4
    assert not reader.config.signing_key_file.exists()  # nothing was generated on the way


def test_a_key_file_at_hand_is_served_before_the_registered_keys(ledger: LedgerService, tmp_path: Path):
    ledger.sign_checkpoint()
    reader = reader_without_the_key(ledger, tmp_path)
    unused = NoteSigner.generate(ledger.config.origin)  # e.g. installed, not yet used to sign
    keys.write_key_file(reader.config.signing_key_file, unused)
    assert reader.verifier_key() == unused.vkey != ledger.signer.vkey


def test_keys_show_without_any_key_fails_in_one_line(tmp_path: Path):
    no_key = {"TANHUI_CREATE_SIGNING_KEY": "false"}
    unmigrated = run_cli(tmp_path, "keys", "show", env=no_key)
    assert unmigrated.exit_code == 1
    assert unmigrated.stdout == ""
    assert re.fullmatch(
        r"tanhui: database error: .*no such table.*; run: tanhui db upgrade\n", unmigrated.stderr
    )
    assert run_cli(tmp_path, "db", "upgrade").exit_code == 0
    result = run_cli(tmp_path, "keys", "show", env=no_key)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "tanhui: no signing key has been configured or registered\n"
    assert not (tmp_path / "default.key").exists()


# --- beneficiary privacy --------------------------------------------------------------------------------


def retire(ledger: LedgerService, request_id: str, name: str, public: bool):
    [entry] = ledger.append(
        [
            Retire(
                request_id,
                "RETAIL",
                Selection(quantity_kg=7),
                Beneficiary(name, public),
                "personal_footprint",
            )
        ]
    )
    return entry


def stored_body(ledger: LedgerService, seq: int) -> str:
    with ledger.database.reading() as session:
        return session.execute(
            text("SELECT body FROM ledger_entries WHERE seq = :seq"), {"seq": seq}
        ).scalar_one()


def secret_of(ledger: LedgerService, seq: int):
    """The stored ``(name, salt)`` row behind a private retirement, or None."""
    with ledger.database.reading() as session:
        return session.execute(
            select(BeneficiarySecret.name, BeneficiarySecret.salt).where(BeneficiarySecret.seq == seq)
        ).first()


@pytest.mark.parametrize("name", ["李明", "Zhang Wei", "Émilie Dupont", "成都马拉松组委会"])
def test_a_private_beneficiary_leaves_no_trace_in_the_public_entry(ledger: LedgerService, name: str):
    entry = retire(ledger, "private-1", name, public=False)
    body = stored_body(ledger, entry.seq)
    assert body == entry.body
    # Neither the name, nor an escaped form of it, nor an unsalted hash that a dictionary would undo.
    for trace in (
        name,
        json.dumps(name)[1:-1],
        json.dumps(name, ensure_ascii=False)[1:-1],
        hashlib.sha256(name.encode("utf-8")).hexdigest(),
        name.encode("utf-8").hex(),
    ):
        assert trace not in body
    beneficiary = json.loads(body)["data"]["beneficiary"]
    assert set(beneficiary) == {"public", "commitment"}
    assert beneficiary["public"] is False

    # The commitment recomputes from the stored secret, and only from it.
    secret = secret_of(ledger, entry.seq)
    assert secret is not None
    assert secret.name == name
    assert re.fullmatch(r"[0-9a-f]{32}", secret.salt)
    assert beneficiary_commitment(secret.name, secret.salt) == beneficiary["commitment"]
    assert beneficiary_commitment(secret.name + " ", secret.salt) != beneficiary["commitment"]
    assert beneficiary_commitment(secret.name, "0" * 32) != beneficiary["commitment"]

    # The offline proof for a certificate carries the same body, so no name there either.
    proof = ledger.proof_for(entry.seq)
    assert proof.body == body


def test_the_same_private_name_gets_a_different_commitment_each_time(ledger: LedgerService):
    first = retire(ledger, "private-1", "李明", public=False)
    second = retire(ledger, "private-2", "李明", public=False)
    commitments = {
        json.loads(stored_body(ledger, e.seq))["data"]["beneficiary"]["commitment"] for e in (first, second)
    }
    assert len(commitments) == 2
    assert secret_of(ledger, first.seq).salt != secret_of(ledger, second.seq).salt


def test_a_public_beneficiary_is_named_in_the_entry_and_keeps_no_secret(ledger: LedgerService):
    entry = retire(ledger, "public-1", "成都马拉松组委会", public=True)
    body = stored_body(ledger, entry.seq)
    assert '"beneficiary":{"name":"成都马拉松组委会","public":true}' in body
    assert secret_of(ledger, entry.seq) is None


def test_erasing_a_private_beneficiary_secret_leaves_the_ledger_verifying(ledger: LedgerService):
    entry = retire(ledger, "private-1", "李明", public=False)
    ledger.sign_checkpoint()
    with ledger.database.unit_of_work() as uow:
        uow.session.execute(delete(BeneficiarySecret).where(BeneficiarySecret.seq == entry.seq))
        uow.commit()
    assert secret_of(ledger, entry.seq) is None
    assert "李明" not in stored_body(ledger, entry.seq)
    assert ledger.verify().size == 3
