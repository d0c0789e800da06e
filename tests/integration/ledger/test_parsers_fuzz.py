"""The readers of what outsiders send or keep, fed garbage and near-misses (hypothesis).

Signed notes, checkpoints, witness and verifier keys, ``add-checkpoint`` requests, ``.tlog-proof`` files,
certificates and entry bodies reach the ledger's code from the network and from files anyone may have
edited. Each reader documents one error for bad input (a ``ValueError`` subclass, or a 400
``WitnessRefusal``), which the API turns into a problem answer and the command line into a one-line
message; any other exception (an ``IndexError``, a ``binascii.Error``, a ``UnicodeError``) would be a
500 or a traceback. These tests check, for arbitrary text and for valid artefacts with a few random
edits (a character replaced, inserted or deleted, a line dropped or repeated), that every reader either
accepts the input or raises its own error, and that what it accepts reads back as it was written.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests_support import migrate

from ledger.certificate_check import CertificateInvalid, tlog_proof_with_body, verify_certificate
from ledger.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from ledger.checkpoint_witness import WitnessRefusal, add_checkpoint_body, parse_add_checkpoint
from ledger.commands import Allocation, Beneficiary, Issue, Retire, Selection
from ledger.cosignature import CosignatureVerifier, Cosigner, cosignatures
from ledger.database import Database
from ledger.entries import parse_body
from ledger.merkle import leaf_hash
from ledger.note import NoteError, NoteVerifier, open_note
from ledger.service import LedgerConfig, LedgerService
from ledger.tlog_proof import TlogProofError, parse_tlog_proof, verify_tlog_proof

ORIGIN = "fuzz.tanhui.example/ledger"
EXAMPLES = int(os.environ.get("TANHUI_FUZZ_EXAMPLES", "300"))
"""Per reader; CI's 300 take seconds. A deeper run: TANHUI_FUZZ_EXAMPLES=20000."""
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Characters the formats are made of, and some they must refuse: newlines, the signature dash, base64,
# digits, spaces, tabs, NUL, a carriage return, Chinese text and an unpaired surrogate's neighbours.
ALPHABET = st.sampled_from(
    [*"\n\n\n —+/=0123456789abcdefABCDEF. \t\r\x00", "中", "碳", "\u2028", "\ufeff", "é"]
)


@dataclass(frozen=True)
class Artefacts:
    """Valid inputs of every reader, from one real ledger: the mutations start from these."""

    note: str
    checkpoint_text: str
    verifiers: tuple[NoteVerifier, ...]
    witness: CosignatureVerifier
    cosigned_note: str
    add_checkpoint: bytes
    tlog_proof: str
    leaf: bytes
    certificate_proof: str
    certificate_json: str
    body: bytes


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Artefacts:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{folder / 'ledger.db'}"
    migrate(url)
    service = LedgerService(Database(url), LedgerConfig(origin=ORIGIN, signing_key_file=folder / "key"))
    try:
        for account_id, kind in (("OWN-A", "owner"), ("ENT-A", "enterprise")):
            service.open_account(account_id, kind, account_id)
        service.append([Issue("i", "LS01", "2024", 1, (Allocation("ENT-A", 1_000),))])
        service.append(
            [
                Retire(
                    "r",
                    "ENT-A",
                    Selection(quantity_kg=400),
                    Beneficiary("成都马拉松组委会", public=True),
                    "event",
                    "2025 成都马拉松",
                )
            ]
        )
        _size, note = service.sign_checkpoint()
        proof = service.proof_for(1)
        verifiers = (NoteVerifier.from_vkey(service.verifier_key()),)
    finally:
        service.database.dispose()
    witness = Cosigner.generate("witness.fuzz.example")
    text = note[: note.index("\n\n") + 1]
    cosigned = witness.cosign_note(note, 1_700_000_000)
    certificate = {"seq": proof.seq, "proof": proof.as_json()}
    return Artefacts(
        note=note,
        checkpoint_text=text,
        verifiers=verifiers,
        witness=witness.verifier,
        cosigned_note=cosigned,
        add_checkpoint=add_checkpoint_body(1, [bytes(range(32))], note),
        tlog_proof=proof.as_tlog_proof(),
        leaf=leaf_hash(proof.body.encode("utf-8")),
        certificate_proof=tlog_proof_with_body(proof.seq, proof.body, proof.checkpoint, proof.inclusion),
        certificate_json=json.dumps(certificate, ensure_ascii=False),
        body=proof.body.encode("utf-8"),
    )


@st.composite
def edited(draw: st.DrawFn, text: str) -> str:
    """``text`` with one to four random edits: a character replaced, inserted or deleted, a line dropped
    or repeated."""
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["replace", "insert", "delete", "drop line", "repeat line"]))
        if kind in ("drop line", "repeat line"):
            lines = text.split("\n")
            at = draw(st.integers(0, len(lines) - 1))
            lines[at : at + 1] = [] if kind == "drop line" else [lines[at], lines[at]]
            text = "\n".join(lines)
            continue
        at = draw(st.integers(0, max(len(text) - 1, 0)))
        char = draw(ALPHABET) if kind != "delete" else ""
        text = text[:at] + char + text[at + (0 if kind == "insert" else 1) :]
    return text


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def near(artefact: str) -> st.SearchStrategy[str]:
    """Garbage, or the artefact with a few edits (mostly the latter: that is where readers slip)."""
    return st.one_of(st.text(ALPHABET, max_size=300), edited(artefact), edited(artefact), edited(artefact))


@given(data=st.data())
@FUZZ
def test_a_signed_note_opens_or_raises_note_error(artefacts: Artefacts, data: st.DataObject) -> None:
    note = data.draw(near(artefacts.cosigned_note))
    try:
        opened = open_note(note, artefacts.verifiers)
    except NoteError:
        return
    assert note.startswith(opened.text)  # what verified is the text the note carries
    assert opened.verified_by


@given(data=st.data())
@FUZZ
def test_a_checkpoint_reads_back_as_written_or_raises_checkpoint_error(
    artefacts: Artefacts, data: st.DataObject
) -> None:
    text = data.draw(near(artefacts.checkpoint_text))
    try:
        checkpoint = Checkpoint.parse(text)
    except CheckpointError:
        return
    assert checkpoint.body() == text


@given(data=st.data())
@FUZZ
def test_a_signed_checkpoint_opens_or_raises_checkpoint_error(
    artefacts: Artefacts, data: st.DataObject
) -> None:
    note = data.draw(near(artefacts.note))
    try:
        checkpoint = open_checkpoint(note, artefacts.verifiers, ORIGIN)
    except CheckpointError:
        return
    assert note.startswith(checkpoint.body())


@given(data=st.data())
@FUZZ
def test_cosignatures_verify_or_raise_note_error(artefacts: Artefacts, data: st.DataObject) -> None:
    note = data.draw(near(artefacts.cosigned_note))
    try:
        opened = open_note(note, artefacts.verifiers)
        found = cosignatures(opened, [artefacts.witness])
    except NoteError:
        return
    for cosignature in found:
        assert cosignature.name == artefacts.witness.name


@given(data=st.data())
@FUZZ
def test_a_key_line_reads_or_raises_a_value_error(artefacts: Artefacts, data: st.DataObject) -> None:
    vkey = data.draw(st.one_of(near(artefacts.verifiers[0].vkey), near(artefacts.witness.vkey)))
    for read in (NoteVerifier.from_vkey, CosignatureVerifier.from_vkey):
        try:
            key = read(vkey)
        except ValueError:
            continue
        # A key line reads back as itself; its hex key id in either case (as Go's note package reads it).
        name, key_id, public = vkey.split("+", 2)
        assert key.vkey == f"{name}+{key_id.lower()}+{public}"


@given(data=st.data())
@FUZZ
def test_an_add_checkpoint_request_reads_or_is_a_400(artefacts: Artefacts, data: st.DataObject) -> None:
    request = data.draw(
        st.one_of(
            st.binary(max_size=200),
            near(artefacts.add_checkpoint.decode("utf-8")).map(
                lambda text: text.encode("utf-8", "surrogatepass")
            ),
        )
    )
    try:
        parsed = parse_add_checkpoint(request)
    except WitnessRefusal as refusal:
        status = refusal.status
    else:
        status = 200
    if status != 200:
        assert status == 400  # a malformed request is the client's error, never another answer
        return
    assert add_checkpoint_body(parsed.old_size, parsed.proof, parsed.note) == request


@given(data=st.data())
@FUZZ
def test_a_tlog_proof_verifies_or_raises_tlog_proof_error(artefacts: Artefacts, data: st.DataObject) -> None:
    text = data.draw(near(artefacts.tlog_proof))
    with contextlib.suppress(TlogProofError):
        parse_tlog_proof(text)
    try:
        checkpoint = verify_tlog_proof(text, artefacts.leaf, artefacts.verifiers, ORIGIN)
    except TlogProofError:
        return
    assert checkpoint.size == 2


@given(data=st.data())
@FUZZ
def test_a_certificate_verifies_or_raises_certificate_invalid(
    artefacts: Artefacts, data: st.DataObject
) -> None:
    document = data.draw(st.one_of(near(artefacts.certificate_proof), near(artefacts.certificate_json)))
    try:
        retirement = verify_certificate(document, artefacts.verifiers, ORIGIN)
    except CertificateInvalid:
        return
    assert retirement.seq == 1


@given(data=st.data())
@FUZZ
def test_an_entry_body_reads_or_raises_a_value_error(artefacts: Artefacts, data: st.DataObject) -> None:
    raw = data.draw(
        st.one_of(
            st.binary(max_size=200),
            near(artefacts.body.decode("utf-8")).map(_utf8),
        )
    )
    try:
        parsed = parse_body(raw)
    except ValueError:
        return
    assert parsed.seq >= 0
