"""Conformance of ``ledger.merkle``'s verifiers with the language-neutral RFC 6962 / RFC 9162 proof probes.

The vectors are the testdata of transparency-dev/merkle (commit 417fb0c, Apache-2.0), kept outside the
project in ``../shared/vectors/merkle`` (see its README and LICENSE). Each file is one case: the happy
path, or a mutation of it (bit flips, truncation, garbage, wrong sizes) that must be refused. When the
folder is absent (outside CI), the module is skipped.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from ledger.merkle import ProofError, verify_consistency, verify_inclusion

REPO_ROOT = Path(__file__).parents[3]
VECTORS = REPO_ROOT.parent / "shared" / "vectors" / "merkle"

if not VECTORS.is_dir():
    pytest.skip(f"Merkle proof vectors not found at {VECTORS}", allow_module_level=True)


def _cases(kind: str) -> list[Any]:
    files = sorted((VECTORS / kind).rglob("*.json"))
    return [pytest.param(path, id=str(path.relative_to(VECTORS / kind))) for path in files]


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def _load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    case["proof"] = [_b64(item) for item in case.get("proof") or []]
    return case


def test_the_vector_folders_hold_cases() -> None:
    assert len(_cases("inclusion")) > 50
    assert len(_cases("consistency")) > 50


@pytest.mark.parametrize("path", _cases("inclusion"))
def test_inclusion_vector_is_accepted_or_refused_as_expected(path: Path) -> None:
    case = _load(path)

    def verify() -> None:
        verify_inclusion(
            _b64(case["leafHash"]), case["leafIdx"], case["treeSize"], case["proof"], _b64(case["root"])
        )

    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify()
    else:
        verify()


@pytest.mark.parametrize("path", _cases("consistency"))
def test_consistency_vector_is_accepted_or_refused_as_expected(path: Path) -> None:
    case = _load(path)

    def verify() -> None:
        verify_consistency(
            case["size1"], case["size2"], case["proof"], _b64(case["root1"]), _b64(case["root2"])
        )

    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify()
    else:
        verify()
