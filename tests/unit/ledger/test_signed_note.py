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
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

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

NOT_BASE64 = "signature line 1: not standard base64: "
MORE_THAN_ONE_SPACE = (
    "signature line 1 has more than the one space between key name and signature (key names hold no spaces)"
)
MALFORMED_NOTES: dict[str, tuple[str, str]] = {
    "text only": (SUMDB_TEXT, "note has no blank line before its signatures"),
    "no signature after the blank line": (
        SUMDB_TEXT + "\n",
        "note does not end with a signature line and a newline",
    ),
    "signature line without its newline": (
        SUMDB_TEXT + "\n" + PETER_LINE[:-1],
        "note does not end with a signature line and a newline",
    ),
    "control character": ("\x01" + SUMDB_NOTE, "note has control character '\\x01' at position 0"),
    "carriage return": (
        SUMDB_NOTE.replace("problem,\n", "problem,\r\n"),
        "note has control character '\\r' at position 56",
    ),
    "not UTF-8": ("\udcff" + SUMDB_NOTE, "note is not valid UTF-8"),
    "name with a space": (
        SUMDB_TEXT + "\n" + PETER_LINE.replace("PeterNeumann", "Peter Neumann"),
        MORE_THAN_ONE_SPACE,
    ),
    "name with a plus": (
        SUMDB_TEXT + "\n" + PETER_LINE.replace("PeterNeumann", "Peter+Neumann"),
        "signature line 1: key name 'Peter+Neumann' contains a space or a plus sign",
    ),
    "empty name": (
        SUMDB_TEXT + "\n" + PETER_LINE.replace("PeterNeumann ", " "),
        "signature line 1: key name is empty",
    ),
    "unexpected line after the signatures": (
        SUMDB_NOTE + "Unexpected line.\n",
        "signature line 2 does not start with an em dash and a space",
    ),
    "hyphen instead of em dash": (
        SUMDB_TEXT + "\n" + PETER_LINE.replace("—", "-"),
        "signature line 1 does not start with an em dash and a space",
    ),
    "no space after the em dash": (
        SUMDB_TEXT + "\n" + PETER_LINE.replace("— ", "—"),
        "signature line 1 does not start with an em dash and a space",
    ),
    "empty signature": (
        SUMDB_TEXT + "\n— PeterNeumann \n",
        "signature line 1 is too short to hold a key id and a signature",
    ),
    "a key id and no signature": (
        SUMDB_TEXT + "\n— PeterNeumann x08gow==\n",
        "signature line 1 is too short to hold a key id and a signature",
    ),
    "a signature of one byte by the known key": (
        SUMDB_TEXT + "\n— PeterNeumann x08go/Y=\n",
        "signature by known key PeterNeumann+c74f20a3 does not verify",
    ),
    "signature not base64": (
        SUMDB_TEXT + "\n" + PETER_LINE.replace("x08go/", "x08go_"),
        NOT_BASE64 + "'x08go_ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcE'",
    ),
    "signature without padding": (
        SUMDB_TEXT + "\n" + PETER_LINE.replace("AM=", "AM"),
        NOT_BASE64 + "'x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcE'",
    ),
    "signature with a non-canonical last character": (
        SUMDB_TEXT + "\n" + PETER_LINE.replace("AM=", "AN="),
        "signature line 1: not canonical base64: 'x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcE'",
    ),
    "two spaces before the signature": (
        SUMDB_TEXT + "\n" + PETER_LINE.replace("Neumann ", "Neumann  "),
        MORE_THAN_ONE_SPACE,
    ),
    "a bad second signature line": (
        SUMDB_NOTE + "— EnochRoot x08go/Y\n",
        "signature line 2: not standard base64: 'x08go/Y'",
    ),
    "too many signatures": (
        SUMDB_TEXT + "\n" + PETER_LINE * (MAX_SIGNATURES + 1),
        "note has 101 signatures, more than the 100 accepted",
    ),
}


@pytest.mark.parametrize(("note", "message"), MALFORMED_NOTES.values(), ids=MALFORMED_NOTES.keys())
def test_a_malformed_note_is_refused_saying_what_is_wrong(note: str, message: str) -> None:
    assert note != SUMDB_NOTE  # The mangling did change something.
    with pytest.raises(NoteError) as caught:
        open_note(note, [PETER])
    assert str(caught.value) == message


def test_a_note_whose_text_is_one_newline_opens_as_it_was_signed() -> None:
    """The blank line before the signatures may be the note's first two characters: text "\\n"."""
    signer = NoteSigner.generate("signer")
    note = signer.sign("\n")
    assert note.startswith("\n\n— signer ")
    assert open_note(note, [signer.verifier]).text == "\n"


def test_a_note_is_signed_by_at_most_the_maximum_number_of_signers() -> None:
    signers = [NoteSigner.generate(f"signer{number}") for number in range(MAX_SIGNATURES + 1)]
    note = sign_note("text\n", signers[:MAX_SIGNATURES])
    opened = open_note(note, [signer.verifier for signer in signers[:MAX_SIGNATURES]])
    assert len(opened.verified_by) == MAX_SIGNATURES
    with pytest.raises(NoteError, match=r"^101 signers, more than the 100 a note may carry$"):
        sign_note("text\n", signers)


def test_a_verifier_key_id_may_be_written_in_upper_case_as_sumdb_note_reads_it() -> None:
    name, id_hex, key = SUMDB_VKEY.split("+", 2)
    assert NoteVerifier.from_vkey(f"{name}+{id_hex.upper()}+{key}").key_id == PETER.key_id
    for bad in ("c74f20a", "c74f20a3a", "c74f20aX", "c74f20a "):
        with pytest.raises(NoteError, match=f"^key id {bad!r} is not 8 hexadecimal digits$"):
            NoteVerifier.from_vkey(f"{name}+{bad}+{key}")


def test_keys_whose_base64_holds_a_plus_sign_are_read_whole() -> None:
    """The key is the third "+"-separated field and its base64 may itself contain "+"."""
    signers = (
        NoteSigner("signer", Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32)) for n in range(256)
    )
    signer = next(candidate for candidate in signers if "+" in candidate.vkey.split("+", 2)[2])
    assert NoteVerifier.from_vkey(signer.vkey).vkey == signer.vkey
    assert NoteSigner.from_skey(signer.to_skey()).vkey == signer.vkey


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("PeterNeumann+c74f20a3+AR!c", "verifier key: not standard base64: 'AR!c'"),
        (
            "PeterNeumann+c74f20a3+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "verifier key is not an Ed25519 key (type 0x01 and 32 bytes)",
        ),
        (
            "Peter\x01Neumann+c74f20a3+" + SUMDB_VKEY.split("+", 2)[2],
            "key name has control character '\\x01' at position 5",
        ),
    ],
)
def test_a_bad_verifier_key_is_refused_saying_what_is_wrong(key: str, message: str) -> None:
    with pytest.raises(NoteError) as caught:
        NoteVerifier.from_vkey(key)
    assert str(caught.value).startswith(message)


def test_a_bad_private_key_is_refused_saying_what_is_wrong() -> None:
    with pytest.raises(NoteError, match=r"^private key: not standard base64: 'AY!c'$"):
        NoteSigner.from_skey("PRIVATE+KEY+PeterNeumann+c74f20a3+AY!c")
    with pytest.raises(NoteError, match=r"^private key is not an Ed25519 key \(type 0x01 and 32 bytes\)$"):
        NoteSigner.from_skey(SUMDB_SKEY.replace("+AYEK", "+ZYEK"))


def test_text_with_a_control_character_is_refused_saying_where() -> None:
    with pytest.raises(NoteError, match=r"^note text has control character '\\x07' at position 4$"):
        NoteSigner.generate("signer").sign("bell\x07\n")


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
