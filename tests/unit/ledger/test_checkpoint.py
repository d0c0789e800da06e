"""``ledger.checkpoint``: the c2sp.org/tlog-checkpoint body, its strict parsing, and signed checkpoints."""

from __future__ import annotations

import base64
import hashlib

import pytest

from ledger.checkpoint import Checkpoint, CheckpointError, open_checkpoint, sign_checkpoint
from ledger.merkle import EMPTY_ROOT
from ledger.note import NoteSignature, NoteSigner

ORIGIN = "tanhui.example/ledger"
ROOT = hashlib.sha256(b"a root").digest()
ROOT_B64 = base64.b64encode(ROOT).decode()
URL_SAFE_ROOT = base64.urlsafe_b64encode(b"\xff" * 32).decode()  # "_" where standard base64 has "/".
LOG_KEY = NoteSigner.generate(ORIGIN)
WITNESS_KEY = NoteSigner.generate("witness.example/w1")


def test_the_body_is_origin_size_and_base64_root_each_on_its_own_line() -> None:
    checkpoint = Checkpoint(ORIGIN, 20852163, ROOT)
    assert checkpoint.body() == f"{ORIGIN}\n20852163\n{ROOT_B64}\n"


def test_extension_lines_follow_the_root_each_ending_in_a_newline() -> None:
    checkpoint = Checkpoint(ORIGIN, 3, ROOT, ("ext one", "ext two"))
    assert checkpoint.body() == f"{ORIGIN}\n3\n{ROOT_B64}\next one\next two\n"
    assert Checkpoint.parse(checkpoint.body()) == checkpoint


def test_the_spec_example_body_parses() -> None:
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    checkpoint = Checkpoint.parse(text)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.extensions == ()
    assert checkpoint.body() == text


def test_an_empty_tree_is_size_zero_with_the_hash_of_nothing_as_root() -> None:
    checkpoint = Checkpoint(ORIGIN, 0, EMPTY_ROOT)
    assert Checkpoint.parse(checkpoint.body()) == checkpoint
    with pytest.raises(CheckpointError, match="empty tree"):
        Checkpoint(ORIGIN, 0, ROOT)


MALFORMED_BODIES = {
    "no final newline": f"{ORIGIN}\n3\n{ROOT_B64}",
    "two lines": f"{ORIGIN}\n3\n",
    "empty origin": f"\n3\n{ROOT_B64}\n",
    "leading zero": f"{ORIGIN}\n03\n{ROOT_B64}\n",
    "two zeros": f"{ORIGIN}\n00\n{ROOT_B64}\n",
    "plus sign": f"{ORIGIN}\n+3\n{ROOT_B64}\n",
    "negative": f"{ORIGIN}\n-3\n{ROOT_B64}\n",
    "space in size": f"{ORIGIN}\n 3\n{ROOT_B64}\n",
    "empty size": f"{ORIGIN}\n\n{ROOT_B64}\n",
    "exponent": f"{ORIGIN}\n1e3\n{ROOT_B64}\n",
    "underscore": f"{ORIGIN}\n1_000\n{ROOT_B64}\n",
    "full-width digit": f"{ORIGIN}\n３\n{ROOT_B64}\n",
    "arabic-indic digit": f"{ORIGIN}\n٣\n{ROOT_B64}\n",
    "size of 2**64": f"{ORIGIN}\n{2**64}\n{ROOT_B64}\n",
    "short root": f"{ORIGIN}\n3\n{base64.b64encode(ROOT[:31]).decode()}\n",
    "long root": f"{ORIGIN}\n3\n{base64.b64encode(ROOT + b'x').decode()}\n",
    "unpadded root": f"{ORIGIN}\n3\n{ROOT_B64.rstrip('=')}\n",
    "url-safe root": f"{ORIGIN}\n3\n{URL_SAFE_ROOT}\n",
    "empty extension line": f"{ORIGIN}\n3\n{ROOT_B64}\n\next\n",
    "trailing blank line": f"{ORIGIN}\n3\n{ROOT_B64}\n\n",
    "carriage return": f"{ORIGIN}\r\n3\n{ROOT_B64}\n",
}


@pytest.mark.parametrize("text", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
def test_a_malformed_checkpoint_body_is_refused(text: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(text)


def test_the_largest_uint64_size_parses() -> None:
    assert Checkpoint.parse(f"{ORIGIN}\n{2**64 - 1}\n{ROOT_B64}\n").size == 2**64 - 1


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, ROOT, ()),
        ("two\nlines", 1, ROOT, ()),
        (ORIGIN, -1, ROOT, ()),
        (ORIGIN, True, ROOT, ()),
        (ORIGIN, 2**64, ROOT, ()),
        (ORIGIN, 1, ROOT[:31], ()),
        (ORIGIN, 1, ROOT, ("",)),
        (ORIGIN, 1, ROOT, ("a\nb",)),
    ],
)
def test_a_checkpoint_that_could_not_be_written_as_a_body_cannot_be_made(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(origin, size, root, extensions)


@pytest.mark.parametrize(
    ("origin", "extensions", "message"),
    [
        ("", (), "origin must be a non-empty string"),
        ("two\nlines", (), "origin contains a newline or another control character"),
        (ORIGIN, ("",), "extension line must be a non-empty string"),
        (ORIGIN, ("tab\there",), "extension line contains a newline or another control character"),
    ],
)
def test_a_line_that_cannot_be_written_is_named(
    origin: str, extensions: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CheckpointError) as caught:
        Checkpoint(origin, 1, ROOT, extensions)
    assert str(caught.value) == message


# --- Signed checkpoints -----------------------------------------------------------------------------------


def test_a_signed_checkpoint_opens_with_the_log_key_and_origin() -> None:
    checkpoint = Checkpoint(ORIGIN, 42, ROOT)
    note = sign_checkpoint(checkpoint, [LOG_KEY])
    assert note.startswith(checkpoint.body() + "\n— tanhui.example/ledger ")
    assert open_checkpoint(note, [LOG_KEY.verifier], origin=ORIGIN) == checkpoint
    assert open_checkpoint(note, [LOG_KEY.verifier]) == checkpoint


def test_a_checkpoint_for_another_origin_is_refused() -> None:
    note = sign_checkpoint(Checkpoint("other.example/log", 42, ROOT), [LOG_KEY])
    with pytest.raises(CheckpointError, match=r"not 'tanhui\.example/ledger'"):
        open_checkpoint(note, [LOG_KEY.verifier], origin=ORIGIN)


def test_witness_cosignatures_from_unknown_keys_are_ignored() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), [LOG_KEY, WITNESS_KEY])
    assert open_checkpoint(note, [LOG_KEY.verifier], origin=ORIGIN).size == 42


def test_an_unsigned_checkpoint_is_refused() -> None:
    with pytest.raises(CheckpointError, match="blank line"):
        open_checkpoint(Checkpoint(ORIGIN, 42, ROOT).body(), [LOG_KEY.verifier])


def test_a_checkpoint_signed_only_by_an_untrusted_key_is_refused() -> None:
    stranger = NoteSigner.generate(ORIGIN)
    note = sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), [stranger])
    with pytest.raises(CheckpointError, match="no signature from a trusted key"):
        open_checkpoint(note, [LOG_KEY.verifier], origin=ORIGIN)


def test_a_forged_signature_under_the_log_keys_name_and_id_is_refused() -> None:
    body = Checkpoint(ORIGIN, 42, ROOT).body()
    impostor = NoteSigner.generate(ORIGIN).signature(body)
    forged = body + "\n" + NoteSignature(ORIGIN, LOG_KEY.key_id, impostor.signature).line()
    with pytest.raises(CheckpointError, match="does not verify"):
        open_checkpoint(forged, [LOG_KEY.verifier], origin=ORIGIN)


def test_a_signed_checkpoint_whose_size_or_root_was_changed_is_refused() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), [LOG_KEY])
    other_root = base64.b64encode(hashlib.sha256(b"another root").digest()).decode()
    for tampered in (note.replace("\n42\n", "\n43\n"), note.replace(ROOT_B64, other_root)):
        assert tampered != note
        with pytest.raises(CheckpointError, match="does not verify"):
            open_checkpoint(tampered, [LOG_KEY.verifier], origin=ORIGIN)


def test_a_validly_signed_text_that_is_not_a_checkpoint_is_refused() -> None:
    note = LOG_KEY.sign(f"{ORIGIN}\n042\n{ROOT_B64}\n")
    with pytest.raises(CheckpointError, match="leading zeros"):
        open_checkpoint(note, [LOG_KEY.verifier], origin=ORIGIN)
