"""Offline certificate verification: a real SQLite ledger proves its retirements to anyone holding the
verifier key, and every kind of tampering with a downloaded certificate is refused, saying what fails."""

from __future__ import annotations

import copy
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from ledger.certificate_check import (
    CertificateInvalid,
    VerifiedRetirement,
    tlog_proof_with_body,
    verify_certificate,
)
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.commands import Allocation, Beneficiary, Issue, Retire, Selection, Transfer
from ledger.cosignature import CLOCK_SKEW_S, Cosigner
from ledger.models import BeneficiarySecret
from ledger.note import NoteSigner, NoteVerifier, open_note
from ledger.ranges import SerialRange
from ledger.service import LedgerService
from ledger.tlog_proof import MAX_PROOF_HASHES
from web.cli import main

ORIGIN = "test.tanhui.example/ledger"
PRIVATE_NAME = "李明"
PUBLIC_NAME = "成都马拉松组委会"


@dataclass(frozen=True)
class Ledger:
    service: LedgerService
    vkey: str
    issue_seq: int
    transfer_seq: int
    public_seq: int
    private_seq: int
    salt: str

    @property
    def verifiers(self) -> list[NoteVerifier]:
        return [NoteVerifier.from_vkey(self.vkey)]

    def proof(self, seq: int) -> dict[str, Any]:
        return self.service.proof_for(seq).as_json()

    def body(self, seq: int) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.proof(seq)["body"])
        return data

    def certificate(self, seq: int) -> dict[str, Any]:
        """A certificate document stating everything the retirement entry says, plus off-ledger fields."""
        data = self.body(seq)["data"]
        document: dict[str, Any] = {
            "id": f"CERT-{seq}",
            "price_fen": 123_400,
            "counties": ["雷波县"],
            "seq": seq,
            "account": data["account"],
            "quantity_kg": data["quantity_kg"],
            "ranges": data["ranges"],
            "serials": [item["serial"] for item in data["ranges"]],
            "reason": data["reason"],
            "details": data["details"],
            "proof": self.proof(seq),
        }
        if data["beneficiary"]["public"]:
            document["beneficiary"] = {"name": data["beneficiary"]["name"]}
        else:
            document["beneficiary"] = {"name": PRIVATE_NAME, "salt": self.salt}
        return document


@pytest.fixture
def ledger(service: LedgerService) -> Ledger:
    issued = service.append(
        [
            Issue("i-1", "LS01", "2023", 1, (Allocation("OWN-A", 9_000), Allocation("BUFFER", 1_000))),
            Issue("i-2", "MB02", "2024", 1, (Allocation("OWN-B", 5_000),)),
        ]
    )
    moved = service.append(
        [
            Transfer("t-1", "OWN-A", "ENT-A", Selection(quantity_kg=3_000)),
            Transfer("t-2", "OWN-B", "ENT-A", Selection(quantity_kg=2_000)),
            Transfer("t-3", "OWN-A", "RETAIL", Selection(quantity_kg=500), memo="零售库存"),
        ]
    )
    [public] = service.append(
        [
            Retire(
                "r-public",
                "ENT-A",
                Selection(
                    ranges=(SerialRange("LS01-2023-001", 1, 1_200), SerialRange("MB02-2024-001", 1, 800))
                ),
                Beneficiary(PUBLIC_NAME, public=True),
                "event",
                "2025 成都马拉松",
            )
        ]
    )
    [private] = service.append(
        [
            Retire(
                "r-private",
                "RETAIL",
                Selection(quantity_kg=7),
                Beneficiary(PRIVATE_NAME, public=False),
                "personal_footprint",
            )
        ]
    )
    service.append([Transfer("t-4", "ENT-A", "ENT-B", Selection(quantity_kg=100))])
    service.sign_checkpoint()
    with service.database.reading() as session:
        salt = session.scalar(select(BeneficiarySecret.salt).where(BeneficiarySecret.seq == private.seq))
    assert isinstance(salt, str)
    return Ledger(service, service.verifier_key(), issued[0].seq, moved[0].seq, public.seq, private.seq, salt)


def rejected(document: Any, ledger: Ledger, origin: str | None = ORIGIN) -> str:
    with pytest.raises(CertificateInvalid) as caught:
        verify_certificate(document, ledger.verifiers, origin)
    return str(caught.value)


# --- what a valid certificate proves --------------------------------------------------------------------


def test_a_public_retirement_certificate_proves_its_entry(ledger: Ledger) -> None:
    proven = verify_certificate(ledger.certificate(ledger.public_seq), ledger.verifiers, ORIGIN)
    assert isinstance(proven, VerifiedRetirement)
    assert proven.seq == ledger.public_seq
    assert proven.checkpoint_origin == ORIGIN
    assert proven.checkpoint_size == ledger.service.size()
    assert proven.account == "ENT-A"
    assert proven.quantity_kg == 2_000
    assert proven.serials == ("SC-LS01-2023-001-1-1200", "SC-MB02-2024-001-1-800")
    assert [item.quantity_kg for item in proven.ranges] == [1_200, 800]
    assert (proven.reason, proven.details) == ("event", "2025 成都马拉松")
    assert proven.beneficiary_public
    assert proven.beneficiary_name == PUBLIC_NAME
    assert proven.beneficiary_commitment is None
    assert proven.witnessed_by == ()


def test_what_is_proven_names_the_entry_time_its_leaf_hash_and_the_checkpoint_root(ledger: Ledger) -> None:
    document = ledger.certificate(ledger.public_seq)
    proven = verify_certificate(document, ledger.verifiers, ORIGIN)
    body = document["proof"]["body"]
    checkpoint = Checkpoint.parse(open_note(document["proof"]["checkpoint"], ledger.verifiers).text)
    assert proven.time == ledger.body(ledger.public_seq)["time"]
    assert proven.leaf_hash == hashlib.sha256(b"\x00" + body.encode("utf-8")).hexdigest()
    assert proven.checkpoint_root == checkpoint.root.hex()
    assert proven.checkpoint_size == checkpoint.size


def test_a_private_retirement_certificate_proves_the_name_behind_the_commitment(ledger: Ledger) -> None:
    proven = verify_certificate(ledger.certificate(ledger.private_seq), ledger.verifiers, ORIGIN)
    assert not proven.beneficiary_public
    assert proven.beneficiary_name == PRIVATE_NAME
    assert proven.beneficiary_commitment is not None
    assert proven.account == "RETAIL"
    assert proven.quantity_kg == 7


def test_a_bare_proof_proves_the_retirement_but_not_a_private_name(ledger: Ledger) -> None:
    proven = verify_certificate({"proof": ledger.proof(ledger.private_seq)}, ledger.verifiers)
    assert proven.beneficiary_name is None
    assert (
        proven.beneficiary_commitment == ledger.body(ledger.private_seq)["data"]["beneficiary"]["commitment"]
    )


def test_the_certificate_may_be_given_as_json_text_or_bytes(ledger: Ledger) -> None:
    text = json.dumps(ledger.certificate(ledger.public_seq), ensure_ascii=False)
    assert verify_certificate(text, ledger.verifiers, ORIGIN).seq == ledger.public_seq
    assert verify_certificate(text.encode("utf-8"), ledger.verifiers, ORIGIN).seq == ledger.public_seq


def test_a_byte_order_mark_before_the_file_is_ignored(ledger: Ledger) -> None:
    """Editors on Windows save UTF-8 with a byte order mark; the file is the same certificate."""
    text = json.dumps(ledger.certificate(ledger.public_seq), ensure_ascii=False)
    for document in ("\ufeff" + text, b"\xef\xbb\xbf" + text.encode("utf-8")):
        assert verify_certificate(document, ledger.verifiers, ORIGIN).seq == ledger.public_seq
    proof_file = "\ufeff" + tlog_proof(ledger, ledger.public_seq)
    assert verify_certificate(proof_file, ledger.verifiers, ORIGIN).seq == ledger.public_seq
    assert rejected(text + "\ufeff", ledger).startswith("file is neither a JSON certificate nor a tlog-proof")


def test_a_certificate_verifies_against_an_older_checkpoint_that_covers_it(ledger: Ledger) -> None:
    document = ledger.certificate(ledger.public_seq)
    ledger.service.append([Transfer("t-5", "ENT-A", "ENT-B", Selection(quantity_kg=10))])
    ledger.service.sign_checkpoint()
    newer = ledger.certificate(ledger.public_seq)
    assert newer["proof"]["checkpoint"] != document["proof"]["checkpoint"]
    for each in (document, newer):
        assert verify_certificate(each, ledger.verifiers, ORIGIN).seq == ledger.public_seq


def tlog_proof(ledger: Ledger, seq: int) -> str:
    proof = ledger.service.proof_for(seq)
    return tlog_proof_with_body(proof.seq, proof.body, proof.checkpoint, proof.inclusion)


def test_a_tlog_proof_file_carrying_the_body_verifies(ledger: Ledger) -> None:
    text = tlog_proof(ledger, ledger.public_seq)
    assert text.startswith("c2sp.org/tlog-proof@v1\nextra ")
    assert verify_certificate(text, ledger.verifiers, ORIGIN).beneficiary_name == PUBLIC_NAME
    assert verify_certificate(text.encode("utf-8"), ledger.verifiers, ORIGIN).seq == ledger.public_seq
    document = {"tlog_proof": text, "quantity_kg": 2_000, "beneficiary": PUBLIC_NAME}
    assert verify_certificate(document, ledger.verifiers, ORIGIN).quantity_kg == 2_000


def test_a_tlog_proof_without_the_body_cannot_prove_a_retirement(ledger: Ledger) -> None:
    text = ledger.service.proof_for(ledger.public_seq).as_tlog_proof()
    assert rejected(text, ledger) == "tlog-proof has no extra line carrying the entry body"


def test_a_tlog_proof_with_another_body_is_refused(ledger: Ledger) -> None:
    proof = ledger.service.proof_for(ledger.public_seq)
    other = ledger.proof(ledger.private_seq)["body"]
    text = tlog_proof_with_body(proof.seq, other, proof.checkpoint, proof.inclusion)
    assert rejected(text, ledger) == (
        f"proof is for entry {ledger.public_seq} but the body is entry {ledger.private_seq}"
    )


# --- tampering with the proof ---------------------------------------------------------------------------


def test_a_changed_body_byte_breaks_the_inclusion_proof(ledger: Ledger) -> None:
    document = ledger.certificate(ledger.public_seq)
    body = document["proof"]["body"]
    assert '"quantity_kg":2000' in body
    document["proof"]["body"] = body.replace('"quantity_kg":2000', '"quantity_kg":3000')
    message = rejected(document, ledger)
    assert message.startswith(f"inclusion proof of entry {ledger.public_seq} (leaf hash ")
    assert "does not verify: inclusion proof leads to root" in message


def test_a_body_that_is_not_canonical_is_refused(ledger: Ledger) -> None:
    document = ledger.certificate(ledger.public_seq)
    document["proof"]["body"] = document["proof"]["body"].replace(',"kind"', ', "kind"')
    assert rejected(document, ledger) == (
        "entry body is not a canonical ledger entry: not in RFC 8785 canonical form"
    )


def test_every_inclusion_hash_is_checked(ledger: Ledger) -> None:
    original = ledger.certificate(ledger.public_seq)
    hashes = original["proof"]["inclusion"]
    assert len(hashes) >= 3
    for position, value in enumerate(hashes):
        document = copy.deepcopy(original)
        document["proof"]["inclusion"][position] = value[:-1] + ("0" if value[-1] != "0" else "1")
        message = rejected(document, ledger)
        assert "does not verify: inclusion proof leads to root" in message, position


def test_a_missing_or_extra_inclusion_hash_is_refused(ledger: Ledger) -> None:
    document = ledger.certificate(ledger.public_seq)
    want = len(document["proof"]["inclusion"])
    shorter = copy.deepcopy(document)
    shorter["proof"]["inclusion"].pop()
    assert f"has {want - 1} hashes, want {want}" in rejected(shorter, ledger)
    longer = copy.deepcopy(document)
    longer["proof"]["inclusion"].append("ab" * 32)
    assert f"has {want + 1} hashes, want {want}" in rejected(longer, ledger)


def test_a_malformed_inclusion_hash_is_refused(ledger: Ledger) -> None:
    document = ledger.certificate(ledger.public_seq)
    document["proof"]["inclusion"][1] = document["proof"]["inclusion"][1].upper()
    assert rejected(document, ledger) == "inclusion proof element 1 is not 64 lowercase hexadecimal digits"


def test_a_wrong_seq_is_refused(ledger: Ledger) -> None:
    document = ledger.certificate(ledger.public_seq)
    document["proof"]["seq"] = ledger.public_seq - 1
    assert rejected(document, ledger) == (
        f"proof is for entry {ledger.public_seq - 1} but the body is entry {ledger.public_seq}"
    )
    size = ledger.service.size()
    document["proof"]["seq"] = size
    assert rejected(document, ledger) == (
        f"proof is for entry {size} but the checkpoint covers only {size} entries"
    )


def test_a_wrong_seq_in_both_proof_and_body_breaks_the_inclusion_proof(ledger: Ledger) -> None:
    document = ledger.certificate(ledger.public_seq)
    other = ledger.public_seq + 1
    document["proof"]["seq"] = other
    document["proof"]["body"] = document["proof"]["body"].replace(
        f'"seq":{ledger.public_seq},', f'"seq":{other},'
    )
    assert rejected(document, ledger).startswith(f"inclusion proof of entry {other} (leaf hash ")


def test_a_checkpoint_signed_by_another_key_is_refused(ledger: Ledger) -> None:
    document = ledger.certificate(ledger.public_seq)
    opened = open_note(document["proof"]["checkpoint"], ledger.verifiers)
    impostor = NoteSigner.generate(ORIGIN)
    document["proof"]["checkpoint"] = sign_checkpoint(Checkpoint.parse(opened.text), [impostor])
    assert (
        rejected(document, ledger) == "checkpoint: checkpoint note: note has no signature from a trusted key"
    )
    # The impostor's key proves the impostor's note, never the registry's.
    assert verify_certificate(document, [impostor.verifier], ORIGIN).seq == ledger.public_seq


def test_a_checkpoint_is_checked_against_the_given_key_only(ledger: Ledger) -> None:
    document = ledger.certificate(ledger.public_seq)
    with pytest.raises(CertificateInvalid, match=r"^checkpoint: checkpoint note: note has no signature from"):
        verify_certificate(document, [NoteSigner.generate(ORIGIN).verifier], ORIGIN)
    with pytest.raises(CertificateInvalid, match=r"^no verifier key was given$"):
        verify_certificate(document, [], ORIGIN)


def test_a_forged_checkpoint_signature_is_refused(ledger: Ledger) -> None:
    document = ledger.certificate(ledger.public_seq)
    note: str = document["proof"]["checkpoint"]
    text, _, signatures = note.partition("\n\n")
    lines = text.split("\n")
    lines[1] = str(int(lines[1]) + 1)  # claim a bigger tree under the same signature
    document["proof"]["checkpoint"] = "\n".join(lines) + "\n\n" + signatures
    assert rejected(document, ledger).startswith(
        f"checkpoint: checkpoint note: signature by known key {ORIGIN}+"
    )


def test_a_wrong_origin_is_refused(ledger: Ledger) -> None:
    document = ledger.certificate(ledger.public_seq)
    assert rejected(document, ledger, origin="other.example/ledger") == (
        f"checkpoint: checkpoint is for log {ORIGIN!r}, not 'other.example/ledger'"
    )


def test_a_non_retirement_entry_is_refused(ledger: Ledger) -> None:
    for seq, kind in ((ledger.issue_seq, "issue"), (ledger.transfer_seq, "transfer")):
        assert rejected({"proof": ledger.proof(seq)}, ledger) == (
            f"entry {seq} is a {kind!r} entry, not a retirement"
        )


def test_a_document_without_a_proof_is_refused(ledger: Ledger) -> None:
    document = ledger.certificate(ledger.public_seq)
    del document["proof"]
    assert rejected(document, ledger) == "certificate has no 'proof'"
    assert rejected("[1, 2]", ledger) == "certificate JSON is not an object"
    assert rejected(b"\xff", ledger).startswith("file is not UTF-8")
    assert rejected("not json", ledger).startswith("file is neither a JSON certificate nor a tlog-proof")


def test_a_certificate_with_two_proofs_or_a_proof_file_that_is_not_text_is_refused(ledger: Ledger) -> None:
    document = ledger.certificate(ledger.public_seq)
    document["tlog_proof"] = tlog_proof(ledger, ledger.public_seq)
    assert rejected(document, ledger) == "certificate carries both 'proof' and 'tlog_proof'; give one"
    del document["proof"]
    assert verify_certificate(document, ledger.verifiers, ORIGIN).seq == ledger.public_seq
    document["tlog_proof"] = document["tlog_proof"].encode("utf-8").hex()
    assert rejected(document, ledger).startswith("tlog-proof: ")
    document["tlog_proof"] = ["c2sp.org/tlog-proof@v1"]
    assert rejected(document, ledger) == "certificate 'tlog_proof' is not a string"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("seq", -1, "proof seq -1 is not a non-negative integer"),
        ("seq", True, "proof seq True is not a non-negative integer"),
        ("seq", "3", "proof seq '3' is not a non-negative integer"),
        ("seq", 3.0, "proof seq 3.0 is not a non-negative integer"),
        ("seq", None, "proof seq None is not a non-negative integer"),
        ("body", {"v": 1}, "proof body is not a string"),
        ("body", "\ud800", "proof body is not valid Unicode: "),
        ("checkpoint", b"checkpoint", "proof checkpoint is not a string"),
        ("inclusion", None, f"proof inclusion is not a list of at most {MAX_PROOF_HASHES} hashes"),
        ("inclusion", "ab" * 32, f"proof inclusion is not a list of at most {MAX_PROOF_HASHES} hashes"),
        (
            "inclusion",
            ["ab" * 32] * 65,
            f"proof inclusion is not a list of at most {MAX_PROOF_HASHES} hashes",
        ),
        ("inclusion", [None], "inclusion proof element 0 is not 64 lowercase hexadecimal digits"),
    ],
)
def test_a_proof_field_of_the_wrong_type_or_range_is_refused(
    ledger: Ledger, field: str, value: object, message: str
) -> None:
    document = ledger.certificate(ledger.public_seq)
    document["proof"][field] = value
    assert rejected(document, ledger).startswith(message)


def test_a_proof_of_the_most_hashes_allowed_is_read_and_then_checked(ledger: Ledger) -> None:
    """64 hashes (a tree of 2^64 entries) is a proof to check, not malformed input."""
    document = ledger.certificate(ledger.public_seq)
    want = len(document["proof"]["inclusion"])
    document["proof"]["inclusion"] = ["ab" * 32] * MAX_PROOF_HASHES
    assert f"has {MAX_PROOF_HASHES} hashes, want {want}" in rejected(document, ledger)


def test_a_proof_that_is_not_an_object_of_the_four_fields_is_refused(ledger: Ledger) -> None:
    document = ledger.certificate(ledger.public_seq)
    proof = document["proof"]
    document["proof"] = json.dumps(proof)
    assert rejected(document, ledger) == "certificate 'proof' is not an object"
    document["proof"] = {**proof, "leaf_hash": "00" * 32}
    assert rejected(document, ledger) == (
        "proof fields are ['body', 'checkpoint', 'inclusion', 'leaf_hash', 'seq'], "
        "expected ['body', 'checkpoint', 'inclusion', 'seq']"
    )


# --- tampering with what the certificate states ---------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("quantity_kg", 2_001, "certificate states quantity_kg 2001 but entry {seq} has 2000"),
        ("quantity_kg", "2000", "certificate states quantity_kg '2000' but entry {seq} has 2000"),
        ("account", "ENT-B", "certificate states account 'ENT-B' but entry {seq} has 'ENT-A'"),
        ("reason", "gift", "certificate states reason 'gift' but entry {seq} has 'event'"),
        (
            "details",
            "2025 成都马拉松 ",
            "certificate states details '2025 成都马拉松 ' but entry {seq} has '2025 成都马拉松'",
        ),
        ("seq", 0, "certificate states seq 0 but entry {seq} has {seq}"),
        (
            "serials",
            ["SC-LS01-2023-001-1-1201", "SC-MB02-2024-001-1-800"],
            "certificate states serials SC-LS01-2023-001-1-1201, SC-MB02-2024-001-1-800 but entry {seq} "
            "retired SC-LS01-2023-001-1-1200, SC-MB02-2024-001-1-800",
        ),
        (
            "serials",
            ["SC-LS01-2023-001-1-1200"],
            "certificate states serials SC-LS01-2023-001-1-1200 but entry {seq} "
            "retired SC-LS01-2023-001-1-1200, SC-MB02-2024-001-1-800",
        ),
        (
            "ranges",
            ["SC-LS01-2023-001-2-1200", "SC-MB02-2024-001-1-800"],
            "certificate states ranges SC-LS01-2023-001-2-1200, SC-MB02-2024-001-1-800 but entry {seq} "
            "retired SC-LS01-2023-001-1-1200, SC-MB02-2024-001-1-800",
        ),
        (
            "beneficiary",
            {"name": "成都马拉松"},
            "certificate states beneficiary '成都马拉松' but entry {seq} names '成都马拉松组委会'",
        ),
        (
            "beneficiary",
            {"name": PUBLIC_NAME, "salt": "00" * 16},
            "certificate gives a salt but entry {seq}'s beneficiary is public, not a commitment",
        ),
        (
            "beneficiary",
            {"name": PUBLIC_NAME, "public": False},
            "certificate states a private beneficiary but entry {seq}'s is public",
        ),
    ],
)
def test_a_statement_that_differs_from_the_entry_is_refused(
    ledger: Ledger, field: str, value: object, message: str
) -> None:
    document = ledger.certificate(ledger.public_seq)
    document[field] = value
    assert rejected(document, ledger) == message.format(seq=ledger.public_seq)


def test_a_changed_range_object_is_refused(ledger: Ledger) -> None:
    document = ledger.certificate(ledger.public_seq)
    document["ranges"][1] = {
        "batch": "MB02-2024-001",
        "start": 1,
        "end": 900,
        "serial": "SC-MB02-2024-001-1-900",
    }
    assert rejected(document, ledger) == (
        f"certificate states ranges SC-LS01-2023-001-1-1200, SC-MB02-2024-001-1-900 but entry "
        f"{ledger.public_seq} retired SC-LS01-2023-001-1-1200, SC-MB02-2024-001-1-800"
    )
    document["ranges"][1] = {"batch": "MB02-2024-001", "start": 1, "end": 800, "serial": "SC-X"}
    assert rejected(document, ledger).endswith("does not state its batch, start and end")


def test_a_serial_stated_in_digits_other_than_ascii_is_refused(ledger: Ledger) -> None:
    """``SC-…-1-1２００`` would read as kilograms 1 to 1,200, but it is not the serial number retired."""
    document = ledger.certificate(ledger.public_seq)
    document["ranges"][0] = "SC-LS01-2023-001-1-1２００"
    assert rejected(document, ledger) == (
        "certificate range 'SC-LS01-2023-001-1-1２００' is not a serial number"
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("ranges", "SC-LS01-2023-001-1-1200", "certificate ranges is not a list"),
        ("serials", "SC-LS01-2023-001-1-1200", "certificate serials is not a list"),
        ("ranges", [5], "certificate range 5 is neither a serial number nor {batch, start, end, serial}"),
        (
            "ranges",
            [{"batch": "LS01-2023-001", "start": 1, "end": 1_200}],
            "certificate range {'batch': 'LS01-2023-001', 'start': 1, 'end': 1200} is neither a serial "
            "number nor {batch, start, end, serial}",
        ),
        (
            "ranges",
            [{"batch": "LS01-2023-001", "start": 1.0, "end": 1_200, "serial": "SC-LS01-2023-001-1.0-1200"}],
            "certificate range {'batch': 'LS01-2023-001', 'start': 1.0, 'end': 1200, 'serial': "
            "'SC-LS01-2023-001-1.0-1200'} does not state its batch, start and end",
        ),
        (
            "serials",
            ["SC-LS01-2023-001-1-1200", 800],
            "certificate states serials 800, SC-LS01-2023-001-1-1200 but entry {seq} retired "
            "SC-LS01-2023-001-1-1200, SC-MB02-2024-001-1-800",
        ),
        ("beneficiary", 5, "certificate beneficiary is neither a name nor {name, salt, public}"),
        ("beneficiary", {"salt": "00"}, "certificate beneficiary is neither a name nor {name, salt, public}"),
        (
            "beneficiary",
            {"name": PUBLIC_NAME, "note": "x"},
            "certificate beneficiary is neither a name nor {name, salt, public}",
        ),
        ("beneficiary", {"name": 5}, "certificate beneficiary name and salt must be strings"),
        (
            "beneficiary",
            {"name": PUBLIC_NAME, "salt": 5},
            "certificate beneficiary name and salt must be strings",
        ),
    ],
)
def test_a_statement_of_the_wrong_shape_is_refused_not_crashed_on(
    ledger: Ledger, field: str, value: object, message: str
) -> None:
    document = ledger.certificate(ledger.public_seq)
    document[field] = value
    assert rejected(document, ledger) == message.replace("{seq}", str(ledger.public_seq))


def test_ranges_in_another_order_are_the_same_ranges(ledger: Ledger) -> None:
    document = ledger.certificate(ledger.public_seq)
    document["ranges"].reverse()
    document["serials"].reverse()
    assert verify_certificate(document, ledger.verifiers, ORIGIN).quantity_kg == 2_000


def test_a_wrong_salt_or_name_for_a_private_beneficiary_is_refused(ledger: Ledger) -> None:
    seq = ledger.private_seq
    commitment = ledger.body(seq)["data"]["beneficiary"]["commitment"]
    document = ledger.certificate(seq)
    wrong_salt = ledger.salt[:-1] + ("0" if ledger.salt[-1] != "0" else "1")
    document["beneficiary"] = {"name": PRIVATE_NAME, "salt": wrong_salt}
    assert rejected(document, ledger) == (
        f"beneficiary name {PRIVATE_NAME!r} and the given salt do not reproduce entry {seq}'s "
        f"commitment {commitment}"
    )
    document["beneficiary"] = {"name": "王芳", "salt": ledger.salt}
    assert rejected(document, ledger) == (
        f"beneficiary name '王芳' and the given salt do not reproduce entry {seq}'s commitment {commitment}"
    )
    document["beneficiary"] = {"name": PRIVATE_NAME}
    assert rejected(document, ledger) == (
        f"certificate states beneficiary {PRIVATE_NAME!r} without the salt that proves entry {seq}'s "
        "commitment"
    )
    document["beneficiary"] = {"name": PRIVATE_NAME, "salt": ledger.salt, "public": True}
    assert rejected(document, ledger) == (
        f"certificate states a public beneficiary but entry {seq}'s is private"
    )


def test_more_witness_cosignatures_required_than_witnesses_given_is_refused(ledger: Ledger) -> None:
    document = ledger.certificate(ledger.public_seq)
    with pytest.raises(CertificateInvalid) as caught:
        verify_certificate(document, ledger.verifiers, ORIGIN, witnesses=(), quorum=1)
    assert str(caught.value) == "1 witness cosignatures required, but 0 witnesses given"


def cosigned(document: dict[str, Any], witness: Cosigner, timestamp: int) -> dict[str, Any]:
    """The certificate with the witness's cosignature, dated ``timestamp``, added under its checkpoint."""
    cosigned = copy.deepcopy(document)
    cosigned["proof"]["checkpoint"] = witness.cosign_note(document["proof"]["checkpoint"], timestamp)
    return cosigned


def test_a_witness_quorum_counts_valid_cosignatures_dated_up_to_now(ledger: Ledger) -> None:
    first, second = Cosigner.generate("w1.example/witness"), Cosigner.generate("w2.example/witness")
    witnesses = (first.verifier, second.verifier)
    now = int(time.time())
    document = cosigned(ledger.certificate(ledger.public_seq), first, now)

    proven = verify_certificate(document, ledger.verifiers, ORIGIN, witnesses, quorum=1)
    assert proven.witnessed_by == ("w1.example/witness",)
    assert verify_certificate(document, ledger.verifiers, ORIGIN, witnesses).witnessed_by == (
        "w1.example/witness",
    )
    with pytest.raises(CertificateInvalid) as caught:
        verify_certificate(document, ledger.verifiers, ORIGIN, witnesses, quorum=2)
    assert str(caught.value) == (
        "checkpoint: it carries valid cosignatures by 1 of the given witnesses, fewer than the 2 required"
    )
    both = cosigned(document, second, now - 86_400)
    assert verify_certificate(both, ledger.verifiers, ORIGIN, witnesses, quorum=2).witnessed_by == (
        "w1.example/witness",
        "w2.example/witness",
    )


def test_a_cosignature_dated_beyond_the_allowed_clock_skew_is_refused(ledger: Ledger) -> None:
    witness = Cosigner.generate("w1.example/witness")
    later = int(time.time()) + CLOCK_SKEW_S + 3_600
    document = cosigned(ledger.certificate(ledger.public_seq), witness, later)
    with pytest.raises(CertificateInvalid) as caught:
        verify_certificate(document, ledger.verifiers, ORIGIN, [witness.verifier], quorum=1)
    assert str(caught.value) == (
        f"checkpoint: the cosignature by witness w1.example/witness is dated in the future ({later})"
    )
    # Within the skew, a witness whose clock runs a little ahead is still counted.
    ahead = cosigned(ledger.certificate(ledger.public_seq), witness, int(time.time()) + CLOCK_SKEW_S - 60)
    assert verify_certificate(ahead, ledger.verifiers, ORIGIN, [witness.verifier], quorum=1).witnessed_by


# --- the command line -----------------------------------------------------------------------------------


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_the_cli_prints_a_bilingual_summary_of_a_valid_certificate(
    ledger: Ledger, tmp_path: Path, no_app: None
) -> None:
    path = tmp_path / "certificate.json"
    path.write_text(json.dumps(ledger.certificate(ledger.private_seq), ensure_ascii=False), encoding="utf-8")
    result = run_cli("certificate", "verify", str(path), "--key", ledger.vkey, "--origin", ORIGIN)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert out.index("证书有效") < out.index("Certificate valid")
    assert f"账本第 {ledger.private_seq} 条记录" in out
    assert f"ledger entry {ledger.private_seq} (retirement)" in out
    assert "7 kg CO2e" in out
    assert PRIVATE_NAME in out


def test_the_cli_verifies_a_tlog_proof_file(ledger: Ledger, tmp_path: Path, no_app: None) -> None:
    path = tmp_path / "retirement.tlog-proof"
    path.write_text(tlog_proof(ledger, ledger.public_seq), encoding="utf-8")
    result = run_cli("certificate", "verify", str(path), "--key", ledger.vkey)
    assert result.exit_code == 0, result.stderr
    assert "SC-LS01-2023-001-1-1200, SC-MB02-2024-001-1-800" in result.stdout
    assert PUBLIC_NAME in result.stdout


def test_the_cli_rejects_a_tampered_certificate_in_one_line(
    ledger: Ledger, tmp_path: Path, no_app: None
) -> None:
    document = ledger.certificate(ledger.public_seq)
    document["quantity_kg"] = 20_000
    path = tmp_path / "certificate.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = run_cli("certificate", "verify", str(path), "--key", ledger.vkey)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"tanhui: certificate invalid: certificate states quantity_kg 20000 but entry "
        f"{ledger.public_seq} has 2000\n"
    )


def test_the_cli_rejects_another_key_and_another_origin(ledger: Ledger, tmp_path: Path, no_app: None) -> None:
    path = tmp_path / "certificate.json"
    path.write_text(json.dumps(ledger.certificate(ledger.public_seq)), encoding="utf-8")
    other = NoteSigner.generate(ORIGIN).vkey
    result = run_cli("certificate", "verify", str(path), "--key", other)
    assert result.exit_code == 1
    assert result.stderr == (
        "tanhui: certificate invalid: checkpoint: checkpoint note: note has no signature from a trusted key\n"
    )
    result = run_cli("certificate", "verify", str(path), "--key", ledger.vkey, "--origin", "x.example/log")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("tanhui: certificate invalid: checkpoint: checkpoint is for log")


def test_the_cli_rejects_a_bad_key_and_a_non_retirement(ledger: Ledger, tmp_path: Path, no_app: None) -> None:
    path = tmp_path / "transfer.json"
    path.write_text(json.dumps({"proof": ledger.proof(ledger.transfer_seq)}), encoding="utf-8")
    result = run_cli("certificate", "verify", str(path), "--key", ledger.vkey)
    assert result.exit_code == 1
    assert result.stderr == (
        f"tanhui: certificate invalid: entry {ledger.transfer_seq} is a 'transfer' entry, not a retirement\n"
    )
    result = run_cli("certificate", "verify", str(path), "--key", "not-a-key")
    assert result.exit_code == 1
    assert result.stderr.startswith("tanhui: bad verifier key: ")
    assert result.stderr.count("\n") == 1
