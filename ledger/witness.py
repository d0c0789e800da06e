"""A witness's side: cosign the checkpoint that ``ledger follow`` has just found consistent, and send it.

Cosigning only after :func:`ledger.log_follow.follow` has passed is what gives the cosignature its
meaning (c2sp.org/tlog-cosignature): as of its time, this is the largest tree of the log the witness has
seen, and it extends every earlier one the witness kept. Pure Python over ``urllib``, like ``follow``.

:func:`pull` does the same through the state of a witness that also takes pushes
(:mod:`ledger.checkpoint_witness`): one key must cosign from one view of the log, or a log could show
one history to the key's pulls and another to its pushes and have both cosigned.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime

from ledger.checkpoint_witness import CheckpointWitness, WitnessRefusal, add_checkpoint_body
from ledger.cosignature import Cosigner
from ledger.http_client import post_text
from ledger.log_follow import (
    TIMEOUT_S,
    Fetch,
    FollowResult,
    LogNotExtended,
    RegistryError,
    fetch_checkpoint,
    fetch_consistency,
)

COSIGNATURES_PATH = "/api/v1/ledger/cosignatures"
MAX_ANSWER_BYTES = 64 * 1024


def cosigned(result: FollowResult, cosigner: Cosigner, now: datetime | None = None) -> str:
    """The latest checkpoint as the registry served it, with this witness's cosignature line under it."""
    return cosigner.cosign_note(result.latest_note, int((now or datetime.now(UTC)).timestamp()))


def pull(witness: CheckpointWitness, fetch: Fetch, origin: str) -> tuple[int, str]:
    """Read the registry's latest checkpoint of ``origin`` and cosign it through the witness's state, as
    if the registry had pushed it; returns its size and the checkpoint with the cosignature under it.

    Raises :class:`LogNotExtended` if it does not extend the checkpoint the witness cosigned last (the
    witness keeps it as evidence), :class:`RegistryError` if the registry cannot be read.
    """
    latest, note = fetch_checkpoint(fetch, witness.logs[origin], origin)
    cosigned = witness.store.latest(origin)
    old = cosigned.size if cosigned is not None else 0
    for _attempt in range(2):  # a push may move the state between the read and the cosigning
        if old > latest.size:
            raise LogNotExtended(
                f"the registry's latest checkpoint has {latest.size} entries, fewer than the {old} of the "
                "one this witness cosigned: its log was rolled back or forked"
            )
        proof = fetch_consistency(fetch, old, latest.size) if 0 < old < latest.size else []
        try:
            return latest.size, note + witness.add_checkpoint(add_checkpoint_body(old, proof, note))
        except WitnessRefusal as refusal:
            if refusal.size is None:
                raise LogNotExtended(
                    f"the witness refuses the registry's checkpoint: {refusal.message}"
                ) from refusal
            old = refusal.size
    raise RegistryError("the witness's state moved twice while cosigning; try again")


def submit(base_url: str, cosigned_note: str, timeout_s: float = TIMEOUT_S) -> dict[str, object]:
    """Send a cosigned checkpoint to the registry; its answer, or :class:`RegistryError` naming why not."""
    url = base_url.rstrip("/") + COSIGNATURES_PATH
    try:
        answer = post_text(url, cosigned_note.encode("utf-8"), timeout_s, MAX_ANSWER_BYTES)
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise RegistryError(f"cannot send the cosignature: {reason}") from exc
    if not 200 <= answer.status < 300:
        detail = _detail(answer.body)
        raise RegistryError(f"the registry refused the cosignature (HTTP {answer.status}): {detail}")
    try:
        parsed: dict[str, object] = json.loads(answer.body)
    except ValueError as exc:
        raise RegistryError("the registry's answer to the cosignature is not JSON") from exc
    return parsed


def _detail(body: bytes) -> str:
    try:
        problem = json.loads(body)
    except ValueError:
        return "no explanation"
    return str(problem.get("detail", "no explanation")) if isinstance(problem, dict) else "no explanation"
