"""``ledger.note`` against the published signed-note examples, and its refusals of forged or malformed notes.

The example values are transcribed from c2sp.org/signed-note v1.0.0 (the ``example.com/foo`` key and note)
and from golang.org/x/mod/sumdb/note (the ``PeterNeumann`` and ``EnochRoot`` keys and notes of its
documentation and note_test.go). ``../shared/vectors/signed-note.txt`` holds the same values; when that
file is present, a test checks that the transcription still matches it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.note import (
    MAX_SIGNATURES,
    NoteError,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    decode_base64,
    key_id,
    open_note,
    sign_note,
)

# c2sp.org/signed-note v1.0.0, "Ed25519 signatures" example.
C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_TEXT = "This is an example message.\n"
C2SP_SIGNATURE_LINE = (
    "— example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)

# golang.org/x/mod/sumdb/note: package documentation and note_test.go.
SUMDB_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
SUMDB_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
SUMDB_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
SUMDB_SIGNATURE = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)
PETER_LINE = f"— PeterNeumann {SUMDB_SIGNATURE}\n"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
ENOCH_LINE = (
    "— EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)

VECTOR_FILE = Path(__file__).parents[3].parent / "shared" / "vectors" / "signed-note.txt"

PETER = NoteVerifier.from_vkey(SUMDB_VKEY)
ENOCH = NoteVerifier.from_vkey(ENOCH_VKEY)
SUMDB_NOTE = SUMDB_TEXT + "\n" + PETER_LINE


def _read_vector_file() -> list[tuple[str, str]]:
    """``label: value`` lines of the vector file, quoted values read as JSON strings."""
    pairs = []
    for line in VECTOR_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, _, value = line.partition(": ")
        pairs.append((label, json.loads(value) if value.startswith('"') else value))
    return pairs


@pytest.mark.skipif(not VECTOR_FILE.is_file(), reason=f"{VECTOR_FILE} not found")
def test_the_transcribed_vectors_match_the_shared_vector_file() -> None:
    assert [value for _, value in _read_vector_file()] == [
        C2SP_VKEY,
        C2SP_TEXT,
        C2SP_SIGNATURE_LINE,
        SUMDB_SKEY,
        SUMDB_TEXT,
        SUMDB_SIGNATURE,
    ]


# --- The published examples -------------------------------------------------------------------------------


def test_the_sumdb_private_key_signs_the_example_text_to_exactly_the_published_signature() -> None:
    signer = NoteSigner.from_skey(SUMDB_SKEY)
    assert signer.sign(SUMDB_TEXT) == SUMDB_NOTE


def test_the_sumdb_key_has_the_published_key_id_and_verifier_key() -> None:
    signer = NoteSigner.from_skey(SUMDB_SKEY)
    assert signer.name == "PeterNeumann"
    assert signer.key_id == bytes.fromhex("c74f20a3")
    assert signer.vkey == SUMDB_VKEY
    assert signer.to_skey() == SUMDB_SKEY
    assert PETER.key_id == bytes.fromhex("c74f20a3")
    assert PETER.vkey == SUMDB_VKEY


def test_the_c2sp_example_signature_verifies_with_its_verifier_key() -> None:
    verifier = NoteVerifier.from_vkey(C2SP_VKEY)
    assert verifier.key_id == bytes.fromhex("530d903a")
    opened = open_note(C2SP_TEXT + "\n" + C2SP_SIGNATURE_LINE, [verifier])
    assert opened.text == C2SP_TEXT
    assert [(s.name, s.key_id.hex()) for s in opened.verified_by] == [("example.com/foo", "530d903a")]
    assert opened.unverified_signatures == ()


def test_the_key_id_is_the_first_four_bytes_of_sha256_of_name_newline_type_and_key() -> None:
    public_key = decode_base64(C2SP_VKEY.split("+", 2)[2])[1:]
    assert key_id("example.com/foo", public_key).hex() == "530d903a"


def test_a_signature_from_an_unknown_key_is_ignored_and_reported_as_unverified() -> None:
    opened = open_note(SUMDB_TEXT + "\n" + PETER_LINE + ENOCH_LINE, [PETER])
    assert [s.name for s in opened.verified_by] == ["PeterNeumann"]
    assert [(s.name, s.key_id.hex()) for s in opened.unverified_signatures] == [("EnochRoot", "af0cfe78")]


def test_signatures_from_two_known_keys_both_verify() -> None:
    opened = open_note(SUMDB_TEXT + "\n" + PETER_LINE + ENOCH_LINE, [ENOCH, PETER])
    assert [s.name for s in opened.verified_by] == ["PeterNeumann", "EnochRoot"]


# --- Round trips ------------------------------------------------------------------------------------------


def test_a_generated_key_round_trips_through_its_skey_and_vkey_strings() -> None:
    signer = NoteSigner.generate("tanhui.example/ledger")
    again = NoteSigner.from_skey(signer.to_skey())
    verifier = NoteVerifier.from_vkey(signer.vkey)
    assert (again.name, again.key_id, again.vkey) == (signer.name, signer.key_id, signer.vkey)
    assert verifier.vkey == signer.vkey
    note = signer.sign("hello\n")
    assert open_note(note, [verifier]).text == "hello\n"
    assert open_note(note, [again.verifier]).text == "hello\n"


def test_note_text_may_hold_empty_lines_because_the_last_blank_line_separates_the_signatures() -> None:
    signer = NoteSigner.generate("quasimodo.example/salvatore")
    text = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
    assert open_note(signer.sign(text), [signer.verifier]).text == text


def test_during_a_key_rotation_a_note_signed_by_both_keys_opens_with_either() -> None:
    old, new = NoteSigner.generate("tanhui.example/ledger"), NoteSigner.generate("tanhui.example/ledger")
    note = sign_note("size 3\n", [old, new])
    assert note.count("\n— tanhui.example/ledger ") == 2
    assert open_note(note, [old.verifier]).text == "size 3\n"
    assert open_note(note, [new.verifier]).text == "size 3\n"
    assert len(open_note(note, [old.verifier, new.verifier]).verified_by) == 2


def test_the_private_key_does_not_appear_in_a_signers_repr() -> None:
    signer = NoteSigner.from_skey(SUMDB_SKEY)
    assert "AYEKFALV" not in repr(signer)
    assert "c74f20a3" in repr(signer)


# --- Forgeries --------------------------------------------------------------------------------------------


def test_a_note_with_tampered_text_is_refused() -> None:
    tampered = SUMDB_NOTE.replace("problem is", "problem was")
    with pytest.raises(NoteError, match="does not verify"):
        open_note(tampered, [PETER])


def test_a_note_with_a_tampered_signature_is_refused() -> None:
    for position in (0, 31, 63):
        signature = bytearray(decode_base64(SUMDB_SIGNATURE)[4:])
        signature[position] ^= 0x01
        tampered = NoteSignature("PeterNeumann", PETER.key_id, bytes(signature)).line()
        with pytest.raises(NoteError, match="does not verify"):
            open_note(SUMDB_TEXT + "\n" + tampered, [PETER])


def test_a_signature_whose_name_was_changed_is_not_counted_for_the_trusted_key() -> None:
    renamed = SUMDB_NOTE.replace("— PeterNeumann ", "— PeterNeuman ")
    with pytest.raises(NoteError, match="no signature from a trusted key"):
        open_note(renamed, [PETER])


def test_a_note_signed_only_by_unknown_keys_is_refused() -> None:
    with pytest.raises(NoteError, match="no signature from a trusted key"):
        open_note(SUMDB_TEXT + "\n" + ENOCH_LINE, [PETER])
    with pytest.raises(NoteError, match="no signature from a trusted key"):
        open_note(SUMDB_NOTE, [])


def test_a_bad_signature_by_a_known_key_spoils_the_note_even_beside_a_good_one() -> None:
    # A signature by another key of the same name, labelled with the trusted key's id.
    impostor = NoteSigner.generate("PeterNeumann").signature(SUMDB_TEXT)
    forged = NoteSignature("PeterNeumann", PETER.key_id, impostor.signature).line()
    with pytest.raises(NoteError, match="known key PeterNeumann\\+c74f20a3 does not verify"):
        open_note(SUMDB_NOTE + forged, [PETER])


def test_two_trusted_keys_with_the_same_name_and_id_are_ambiguous() -> None:
    with pytest.raises(NoteError, match="share the name and key id"):
        open_note(SUMDB_NOTE, [PETER, NoteVerifier.from_vkey(SUMDB_VKEY)])


# --- Malformed notes and keys -----------------------------------------------------------------------------

MALFORMED_NOTES = {
    "text only": SUMDB_TEXT,
    "no signature after the blank line": SUMDB_TEXT + "\n",
    "signature line without its newline": SUMDB_TEXT + "\n" + PETER_LINE[:-1],
    "control character": "\x01" + SUMDB_NOTE,
    "carriage return": SUMDB_NOTE.replace("problem,\n", "problem,\r\n"),
    "not UTF-8": "\udcff" + SUMDB_NOTE,
    "name with a space": SUMDB_TEXT + "\n" + PETER_LINE.replace("PeterNeumann", "Peter Neumann"),
    "name with a plus": SUMDB_TEXT + "\n" + PETER_LINE.replace("PeterNeumann", "Peter+Neumann"),
    "empty name": SUMDB_TEXT + "\n" + PETER_LINE.replace("PeterNeumann ", " "),
    "unexpected line after the signatures": SUMDB_NOTE + "Unexpected line.\n",
    "hyphen instead of em dash": SUMDB_TEXT + "\n" + PETER_LINE.replace("—", "-"),
    "no space after the em dash": SUMDB_TEXT + "\n" + PETER_LINE.replace("— ", "—"),
    "empty signature": SUMDB_TEXT + "\n— PeterNeumann \n",
    "signature too short for a key id": SUMDB_TEXT + "\n— PeterNeumann x08go/Y=\n",
    "signature not base64": SUMDB_TEXT + "\n" + PETER_LINE.replace("x08go/", "x08go_"),
    "signature without padding": SUMDB_TEXT + "\n" + PETER_LINE.replace("AM=", "AM"),
    "signature with a non-canonical last character": SUMDB_TEXT + "\n" + PETER_LINE.replace("AM=", "AN="),
    "two spaces before the signature": SUMDB_TEXT + "\n" + PETER_LINE.replace("Neumann ", "Neumann  "),
    "too many signatures": SUMDB_TEXT + "\n" + PETER_LINE * (MAX_SIGNATURES + 1),
}


@pytest.mark.parametrize("note", MALFORMED_NOTES.values(), ids=MALFORMED_NOTES.keys())
def test_a_malformed_note_is_refused(note: str) -> None:
    assert note != SUMDB_NOTE  # The mangling did change something.
    with pytest.raises(NoteError):
        open_note(note, [PETER])


def test_a_note_with_the_maximum_number_of_signatures_is_accepted() -> None:
    opened = open_note(SUMDB_TEXT + "\n" + PETER_LINE * MAX_SIGNATURES, [PETER])
    assert len(opened.verified_by) == 1


@pytest.mark.parametrize("name", ["", "bad name", "a+b", "tab\there", "line\nbreak", "nbsp\u00a0name"])
def test_a_key_name_that_the_spec_forbids_is_refused(name: str) -> None:
    with pytest.raises(NoteError):
        NoteSigner.generate(name)


@pytest.mark.parametrize("text", ["", "no final newline", "bell\x07\n", "carriage\r\n", "\udcff\n"])
def test_text_that_is_not_valid_note_text_is_not_signed(text: str) -> None:
    with pytest.raises(NoteError):
        NoteSigner.generate("signer").sign(text)


def test_a_note_needs_a_signer_and_each_key_once() -> None:
    signer = NoteSigner.generate("signer")
    with pytest.raises(NoteError):
        sign_note("text\n", [])
    with pytest.raises(NoteError, match="twice"):
        sign_note("text\n", [signer, signer])


def _manglings(key: str) -> list[str]:
    """Every proper substring of ``key`` and every one-character increment, as in sumdb/note's tests."""
    substrings = {key[i:j] for i in range(len(key) + 1) for j in range(i + 1, len(key) + 1)} - {key}
    bumped = {key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :] for i in range(len(key))}
    return sorted(substrings | bumped)


def test_every_mangling_of_a_verifier_key_is_refused() -> None:
    for mangled in _manglings(SUMDB_VKEY):
        with pytest.raises(NoteError):
            NoteVerifier.from_vkey(mangled)


def test_every_mangling_of_a_private_key_is_refused() -> None:
    for mangled in _manglings(SUMDB_SKEY):
        with pytest.raises(NoteError):
            NoteSigner.from_skey(mangled)


def test_keys_of_another_length_or_algorithm_are_refused() -> None:
    # From sumdb/note's tests: a wrong-length key and an unknown algorithm, each with a matching key id.
    # (The first is also non-canonical base64, which is refused before its length is looked at.)
    with pytest.raises(NoteError):
        NoteVerifier.from_vkey("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
    with pytest.raises(NoteError, match="not an Ed25519 key"):
        NoteVerifier.from_vkey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


def test_verify_rejects_a_signature_of_the_wrong_length_or_for_another_message() -> None:
    signature = decode_base64(SUMDB_SIGNATURE)[4:]
    assert PETER.verify(SUMDB_TEXT.encode(), signature)
    assert not PETER.verify(SUMDB_TEXT.encode(), signature[:-1])
    assert not PETER.verify(b"other\n", signature)
