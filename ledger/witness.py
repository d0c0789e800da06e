"""A witness's side: cosign the checkpoint that ``ledger follow`` has just found consistent, and send it.

Cosigning only after :func:`ledger.log_follow.follow` has passed is what gives the cosignature its
meaning (c2sp.org/tlog-cosignature): as of its time, this is the largest tree of the log the witness has
seen, and it extends every earlier one the witness kept. Pure Python over ``urllib``, like ``follow``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime

from ledger.cosignature import Cosigner
from ledger.http_client import open_url
from ledger.log_follow import TIMEOUT_S, FollowResult, RegistryError

COSIGNATURES_PATH = "/api/v1/ledger/cosignatures"
MAX_ANSWER_BYTES = 64 * 1024


def cosigned(result: FollowResult, cosigner: Cosigner, now: datetime | None = None) -> str:
    """The latest checkpoint as the registry served it, with this witness's cosignature line under it."""
    note = result.latest_note
    text = note[: note.rindex("\n\n") + 1]  # the note text: everything before the blank line
    timestamp = int((now or datetime.now(UTC)).timestamp())
    return note + cosigner.cosign(text, timestamp).line()


def submit(base_url: str, cosigned_note: str, timeout_s: float = TIMEOUT_S) -> dict[str, object]:
    """Send a cosigned checkpoint to the registry; its answer, or :class:`RegistryError` naming why not."""
    request = urllib.request.Request(  # noqa: S310  (the address was checked to be http(s) by follow)
        base_url.rstrip("/") + COSIGNATURES_PATH,
        data=cosigned_note.encode("utf-8"),
        headers={"Content-Type": "text/plain; charset=utf-8"},
        method="POST",
    )
    try:
        with open_url(request, timeout_s) as response:
            answer = response.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as exc:
        detail = _detail(exc.read(MAX_ANSWER_BYTES))
        exc.close()
        raise RegistryError(f"the registry refused the cosignature (HTTP {exc.code}): {detail}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise RegistryError(f"cannot send the cosignature: {reason}") from exc
    try:
        parsed: dict[str, object] = json.loads(answer)
    except ValueError as exc:
        raise RegistryError("the registry's answer to the cosignature is not JSON") from exc
    return parsed


def _detail(body: bytes) -> str:
    try:
        problem = json.loads(body)
    except ValueError:
        return "no explanation"
    return str(problem.get("detail", "no explanation")) if isinstance(problem, dict) else "no explanation"
