"""The commitment to a private beneficiary is a published format: certificate holders open it elsewhere.

A private retirement's entry carries SHA-256 of the RFC 8785 canonical JSON ``{"name": ..., "salt": ...}``
(``ledger.rules.beneficiary_commitment``), and the certificate gives its holder the name and salt to
open it with any JSON canonicaliser, in any language. Checked here against the ``rfc8785`` package and a
value worked out by hand, so that a change of keys or of the canonical form fails a test of its own.
"""

from __future__ import annotations

import hashlib

import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from ledger.rules import beneficiary_commitment

SALT = "00112233445566778899aabbccddeeff"


def test_a_commitment_worked_out_by_hand() -> None:
    opened = '{"name":"张三","salt":"00112233445566778899aabbccddeeff"}'.encode()
    assert beneficiary_commitment("张三", SALT) == hashlib.sha256(opened).hexdigest()


@given(name=st.text(min_size=1, max_size=200), salt=st.from_regex(r"[0-9a-f]{32}", fullmatch=True))
def test_a_commitment_is_the_sha256_of_the_rfc8785_form_of_name_and_salt(name: str, salt: str) -> None:
    expected = hashlib.sha256(rfc8785.dumps({"name": name, "salt": salt})).hexdigest()
    assert beneficiary_commitment(name, salt) == expected
