"""Witness cosignatures (c2sp.org/tlog-cosignature, Ed25519 cosignature/v1), checked against the spec.

The spec's own example cosignature line is read for what a reader can check without the witness's
key (its key id and timestamp, which the spec's example message states). The rest is built from the
spec's definitions, written out here independently of the module: the key id, the signed message and
the timestamped signature, verified with ``cryptography`` directly.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.cosignature import (
    MAX_TIMESTAMP,
    CosignatureError,
    CosignatureVerifier,
    Cosigner,
    cosignatures,
    timestamp_of,
)
from ledger.note import NoteSignature, NoteSigner, NoteVerifier, open_note
from ledger.note import _parse_signature_line as parse_signature_line

# c2sp.org/tlog-cosignature, "Transparency Log Cosignatures": the example checkpoint and its cosignature.
SPEC_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGz"
    "Gku9nTo+zyWE+xeMcTOAYQ8=\n"
    "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZ"
    "qhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)
TEXT = "tanhui.example/ledger\n42\n" + base64.b64encode(bytes(range(32))).decode() + "\n"


def test_the_spec_examples_cosignature_states_the_time_of_its_example_message():
    line = SPEC_CHECKPOINT.rstrip("\n").split("\n")[-1]
    signature = parse_signature_line(line, 1)
    assert signature.name == "witness.example.com/w1"
    assert timestamp_of(signature) == 1679315147  # "time 1679315147" in the spec's example message
    assert len(signature.signature) == 8 + 64


def test_a_cosignature_is_the_spec_construction():
    cosigner = Cosigner.generate("witness.tanhui.example/w1")
    public = base64.b64decode(cosigner.vkey.split("+", 2)[2])
    assert public[0] == 0x04
    material = b"witness.tanhui.example/w1\n\x04" + public[1:]
    assert cosigner.key_id == hashlib.sha256(material).digest()[:4]
    assert (
        cosigner.vkey
        == f"witness.tanhui.example/w1+{cosigner.key_id.hex()}+{base64.b64encode(public).decode()}"
    )

    signature = cosigner.cosign(TEXT, 1_765_000_000)
    assert signature.key_id == cosigner.key_id
    assert signature.signature[:8] == (1_765_000_000).to_bytes(8, "big")
    message = b"cosignature/v1\ntime 1765000000\n" + TEXT.encode()
    Ed25519PublicKey.from_public_bytes(public[1:]).verify(signature.signature[8:], message)  # raises if not


def test_cosignatures_verify_on_a_signed_checkpoint_and_other_lines_are_ignored():
    log = NoteSigner.generate("tanhui.example/ledger")
    witness, other = Cosigner.generate("w1.example"), Cosigner.generate("w2.example")
    note = log.sign(TEXT) + witness.cosign(TEXT, 100).line() + other.cosign(TEXT, 200).line()
    opened = open_note(note, [log.verifier])  # the log's own check ignores the cosignatures
    [found] = cosignatures(opened, [witness.verifier])
    assert (found.name, found.timestamp) == ("w1.example", 100)
    assert {c.name for c in cosignatures(opened, [witness.verifier, other.verifier])} == {
        "w1.example",
        "w2.example",
    }
    assert cosignatures(opened, []) == []
    # The same key as a signed-note key has another key id: a cosignature is not a note signature.
    assert witness.key_id != NoteVerifier(witness.name, witness._private_key.public_key()).key_id


def test_a_cosignature_that_does_not_verify_refuses_the_note():
    log = NoteSigner.generate("tanhui.example/ledger")
    witness = Cosigner.generate("w1.example")
    line = witness.cosign(TEXT, 100)
    other_text = TEXT.replace("\n42\n", "\n43\n")
    forged = log.sign(other_text) + line.line()  # cosigned another checkpoint
    with pytest.raises(CosignatureError, match="does not verify"):
        cosignatures(open_note(forged, [log.verifier]), [witness.verifier])
    retimed = type(line)(line.name, line.key_id, (101).to_bytes(8, "big") + line.signature[8:])
    with pytest.raises(CosignatureError, match="does not verify"):
        cosignatures(open_note(log.sign(TEXT) + retimed.line(), [log.verifier]), [witness.verifier])
    short = type(line)(line.name, line.key_id, line.signature[:70])
    with pytest.raises(CosignatureError, match="not 72"):
        cosignatures(open_note(log.sign(TEXT) + short.line(), [log.verifier]), [witness.verifier])
    with pytest.raises(CosignatureError, match="in the future"):
        cosignatures(
            open_note(log.sign(TEXT) + line.line(), [log.verifier]), [witness.verifier], not_after=99
        )


def test_keys_round_trip_and_malformed_keys_are_refused():
    witness = Cosigner.generate("w1.example")
    assert Cosigner.from_skey(witness.to_skey()).vkey == witness.vkey
    assert CosignatureVerifier.from_vkey(witness.vkey).key_id == witness.key_id
    registry_key = NoteSigner.generate("w1.example").vkey  # type 0x01, not a cosigner key
    name, id_hex, key = witness.vkey.split("+", 2)
    for bad, message in [
        (registry_key, "not an Ed25519 cosigner key"),
        (f"{name}+00000000+{key}", "does not match"),
        (f"{name}+{id_hex}", "not <name>"),
        (f"{name}+{id_hex}+{key[:-2]}", "base64"),
        (f"w 1+{id_hex}+{key}", "space"),
    ]:
        with pytest.raises(CosignatureError, match=message):
            CosignatureVerifier.from_vkey(bad)
    with pytest.raises(CosignatureError, match="PRIVATE"):
        Cosigner.from_skey(witness.vkey)
    assert "PRIVATE" not in repr(witness)


def test_the_timestamp_runs_from_zero_to_two_to_the_63_minus_one():
    log = NoteSigner.generate("tanhui.example/ledger")
    witness = Cosigner.generate("w1.example")
    for timestamp in (0, MAX_TIMESTAMP):
        note = log.sign(TEXT) + witness.cosign(TEXT, timestamp).line()
        [found] = cosignatures(open_note(note, [log.verifier]), [witness.verifier])
        assert found.timestamp == timestamp
    for timestamp in (-1, MAX_TIMESTAMP + 1):
        with pytest.raises(CosignatureError, match=rf"^timestamp {timestamp} is outside 0\.\.2\^63-1$"):
            witness.cosign(TEXT, timestamp)
    # A line stating a time beyond 2^63 - 1 is refused before its signature is looked at.
    beyond = NoteSignature(witness.name, witness.key_id, (MAX_TIMESTAMP + 1).to_bytes(8, "big") + bytes(64))
    with pytest.raises(
        CosignatureError, match=r"^cosignature by w1\.example has a timestamp beyond 2\^63-1$"
    ):
        timestamp_of(beyond)


def test_a_cosignature_dated_at_the_latest_time_allowed_counts():
    log = NoteSigner.generate("tanhui.example/ledger")
    witness = Cosigner.generate("w1.example")
    opened = open_note(log.sign(TEXT) + witness.cosign(TEXT, 100).line(), [log.verifier])
    [found] = cosignatures(opened, [witness.verifier], not_after=100)
    assert found.timestamp == 100


def test_of_two_cosignatures_by_one_witness_the_later_counts_in_either_order():
    log = NoteSigner.generate("tanhui.example/ledger")
    witness = Cosigner.generate("w1.example")
    earlier, later = witness.cosign(TEXT, 100), witness.cosign(TEXT, 200)
    for lines in ((earlier, later), (later, earlier)):
        opened = open_note(log.sign(TEXT) + "".join(line.line() for line in lines), [log.verifier])
        [found] = cosignatures(opened, [witness.verifier])
        assert (found.name, found.key_id, found.timestamp) == (witness.name, witness.key_id, 200)
        assert found.line == later.line()


def test_a_witness_key_whose_base64_holds_a_plus_sign_or_whose_id_is_upper_case_is_read():
    seeds = (Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32) for n in range(256))
    witness = next(c for c in (Cosigner("w1.example", k) for k in seeds) if "+" in c.vkey.split("+", 2)[2])
    assert CosignatureVerifier.from_vkey(witness.vkey).key_id == witness.key_id
    assert Cosigner.from_skey(witness.to_skey()).vkey == witness.vkey
    name, id_hex, key = witness.vkey.split("+", 2)
    assert CosignatureVerifier.from_vkey(f"{name}+{id_hex.upper()}+{key}").key_id == witness.key_id


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda n, i, k: f"{n}+{i[:7]}+{k}", "witness key: key id '{i7}' is not 8 hexadecimal digits"),
        (lambda n, i, k: f"{n}+{i}0+{k}", "witness key: key id '{i}0' is not 8 hexadecimal digits"),
        (lambda n, i, k: f"{n}+{i[:7]}g+{k}", "witness key: key id '{i7}g' is not 8 hexadecimal digits"),
        (lambda n, i, k: f"{n}+{i}+{k[:-2]}", "witness key: not standard base64: '{k2}'"),
        (
            lambda n, i, k: f"{n}+{i}+AQ==",
            "witness key is not an Ed25519 cosigner key (type 0x04 and 32 bytes)",
        ),
        (lambda n, i, k: f"w 1+{i}+{k}", "witness key: key name 'w 1' contains a space or a plus sign"),
    ],
)
def test_a_bad_witness_key_is_refused_saying_what_is_wrong(make, message):
    witness = Cosigner.generate("w1.example")
    name, id_hex, key = witness.vkey.split("+", 2)
    with pytest.raises(CosignatureError) as caught:
        CosignatureVerifier.from_vkey(make(name, id_hex, key))
    assert str(caught.value) == message.format(
        i=id_hex, i7=id_hex[:7], k2=key[:-2][:40]
    )  # the message quotes at most 40 characters


def test_a_bad_witness_private_key_is_refused_saying_what_is_wrong():
    witness = Cosigner.generate("w1.example")
    with pytest.raises(CosignatureError, match=r"^private key: not standard base64: '!!'$"):
        Cosigner.from_skey(f"PRIVATE+KEY+w1.example+{witness.key_id.hex()}+!!")
    with pytest.raises(CosignatureError, match=r"^private key w1\.example: key id 00000000 does not match"):
        Cosigner.from_skey(witness.to_skey().replace(witness.key_id.hex(), "00000000"))
