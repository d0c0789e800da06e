"""The registry's side of c2sp.org/tlog-witness: push the latest checkpoint to every witness that takes
pushes, and keep the cosignatures they answer with.

A witness listed with a submission address (``tanhui witnesses add VKEY --url URL``) is sent
``POST <url>/add-checkpoint``: the old size (the largest checkpoint it is known to have cosigned: the
kept cosignatures say so), a consistency proof from it, and the signed checkpoint
(:func:`ledger.checkpoint_witness.add_checkpoint_body`). The answers:

* 200: cosignature lines, kept through :func:`ledger.witnessing.accept_cosignatures` like any other;
* 409 with a ``text/x.tlog.size`` body: the witness has cosigned another size (its state was reset, or
  cosignatures reached it by another path): the push is sent once more from that size;
* anything else, or no answer: the push failed. The reason is kept on the witness's row, for
  ``tanhui witnesses list`` and the health check, and the next checkpoint job tries again.

A witness that holds a history this checkpoint contradicts (a 409 over the root at the same size, a 422
over the proof, or a cosigned size larger than the registry's latest checkpoint) is the alarm witnesses
exist for: the outcome says so (``contradicts``) and the scheduler logs it as critical.

HTTP happens outside any database transaction: a slow witness holds no lock of the registry's.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger import checkpoints, proofs
from ledger.checkpoint import TREE_SIZE
from ledger.checkpoint_witness import ADD_CHECKPOINT_PATH, SIZE_CONTENT_TYPE, add_checkpoint_body
from ledger.errors import LedgerError
from ledger.http_client import HttpAnswer, post_text
from ledger.models import Checkpoint, CheckpointCosignature, Witness

if TYPE_CHECKING:
    from ledger.service import LedgerService

PUSH_TIMEOUT_S = 10.0
MAX_PARALLEL_PUSHES = 8
MAX_ANSWER_BYTES = 16 * 1024
"""A few cosignature lines; a larger answer is not one."""


Post = Callable[[str, bytes], HttpAnswer]
"""Sends a request body to a URL and returns the answer; raises :class:`PushFailed` if none came."""


class PushFailed(Exception):
    """A push the witness did not cosign; ``contradicts``: it holds a history this checkpoint contradicts."""

    def __init__(self, message: str, *, contradicts: bool = False) -> None:
        super().__init__(message)
        self.contradicts = contradicts


@dataclass(frozen=True)
class PushOutcome:
    witness: str
    url: str
    size: int
    error: str | None = None
    contradicts: bool = False


def http_post(url: str, body: bytes, timeout_s: float = PUSH_TIMEOUT_S) -> HttpAnswer:
    """``POST`` over HTTP(S): any status is an answer; no answer at all is :class:`PushFailed`."""
    try:
        return post_text(url, body, timeout_s, MAX_ANSWER_BYTES)
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise PushFailed(f"no answer from {url}: {reason}") from exc


def exchange(
    url: str, note: str, size: int, old_size: int, *, prove: Callable[[int], list[bytes]], post: Post
) -> str:
    """Push the checkpoint ``note`` (of ``size``) to the witness at ``url``; its signature lines.

    ``prove(old)`` is the consistency proof from ``old`` to ``size``. One 409 that names another old
    size is followed; raises :class:`PushFailed` otherwise.
    """
    target = url.rstrip("/") + ADD_CHECKPOINT_PATH
    for _attempt in range(2):
        proof = prove(old_size) if 0 < old_size < size else []
        answer = post(target, add_checkpoint_body(old_size, proof, note))
        if len(answer.body) > MAX_ANSWER_BYTES:
            raise PushFailed(
                f"the witness answered HTTP {answer.status} with more than {MAX_ANSWER_BYTES} bytes"
            )
        text = answer.body.decode("utf-8", errors="replace")
        if answer.status == 200:
            return text
        if answer.status == 409 and answer.content_type == SIZE_CONTENT_TYPE:
            told = _size(text)
            if told > size:
                raise PushFailed(
                    f"the witness has cosigned a tree of {told} entries of this log, larger than the "
                    f"registry's latest checkpoint ({size})",
                    contradicts=True,
                )
            if told == old_size:
                raise PushFailed(f"the witness refused old size {old_size} and then asked for it")
            old_size = told
            continue
        raise PushFailed(_refusal(answer.status, text.strip()[:300]), contradicts=answer.status in {409, 422})
    raise PushFailed("the witness asked for another old size twice")


def push_to_witnesses(
    service: LedgerService, post: Post = http_post, *, again: bool = False
) -> list[PushOutcome]:
    """Push the latest checkpoint to every listed witness with a submission address; one outcome each,
    in the witnesses' key order.

    The witnesses are asked at the same time (at most ``MAX_PARALLEL_PUSHES`` at once), so that a slow
    or silent one costs the checkpoint job one timeout, not one per witness. A witness whose last push
    of this very checkpoint succeeded is left alone, unless ``again``: it would only renew the time.
    """
    with service.database.reading() as session:
        record = checkpoints.latest(session)
        if record is None:
            return []
        size, note = record.size, record.note
        targets = [
            _Target(row.vkey, row.name, row.url, _cosigned_size(session, row, size))
            for row in _pushed_to(session)
            if row.url is not None and (again or row.pushed_size != size or row.push_error is not None)
        ]
    if not targets:
        return []

    def push_one(target: _Target) -> PushOutcome:
        outcome = PushOutcome(target.name, target.url, size)
        try:
            lines = exchange(
                target.url,
                note,
                size,
                target.old_size,
                prove=lambda old: _prove(service, old, size),
                post=post,
            )
            service.accept_cosignatures(note + lines)
        except PushFailed as exc:
            outcome = PushOutcome(target.name, target.url, size, str(exc), exc.contradicts)
        except LedgerError as exc:  # the answer held no valid cosignature by this witness
            outcome = PushOutcome(target.name, target.url, size, f"the witness's answer was not kept: {exc}")
        _record(service, target.vkey, outcome)
        return outcome

    with ThreadPoolExecutor(
        min(MAX_PARALLEL_PUSHES, len(targets)), thread_name_prefix="witness-push"
    ) as pool:
        return list(pool.map(push_one, targets))


class _Target(NamedTuple):
    vkey: str
    name: str
    url: str
    old_size: int


@dataclass(frozen=True)
class PushState:
    """How the last push to a witness went (``pushed_at`` None: never pushed)."""

    url: str
    pushed_at: datetime | None
    pushed_size: int | None
    error: str | None


def push_states(session: Session) -> dict[str, PushState]:
    """The listed witnesses with a submission address, by cosigner key, with their last push."""
    return {
        row.vkey: PushState(row.url, row.pushed_at, row.pushed_size, row.push_error)
        for row in _pushed_to(session)
        if row.url is not None
    }


def _pushed_to(session: Session) -> list[Witness]:
    """The listed witnesses with a submission address, in key order."""
    query = select(Witness).where(Witness.url.is_not(None), Witness.removed_at.is_(None))
    return list(session.scalars(query.order_by(Witness.vkey)))


def _cosigned_size(session: Session, witness: Witness, latest: int) -> int:
    """The largest checkpoint, up to ``latest``, that the registry keeps this witness's cosignature of."""
    return (
        session.scalar(
            select(func.max(Checkpoint.size))
            .join(CheckpointCosignature, CheckpointCosignature.checkpoint_id == Checkpoint.id)
            .where(
                CheckpointCosignature.name == witness.name,
                CheckpointCosignature.key_id == witness.key_id,
                Checkpoint.size <= latest,
            )
        )
        or 0
    )


def _prove(service: LedgerService, old_size: int, size: int) -> list[bytes]:
    with service.database.reading() as session:
        return proofs.consistency(session, old_size, size)


def _record(service: LedgerService, vkey: str, outcome: PushOutcome) -> None:
    with service.database.unit_of_work() as uow:
        row = uow.session.get(Witness, vkey)
        if row is not None:
            row.pushed_at = datetime.now(UTC)
            row.pushed_size = outcome.size
            row.push_error = outcome.error
        uow.commit()


def _size(text: str) -> int:
    if not text.endswith("\n") or not TREE_SIZE.fullmatch(text[:-1]):
        raise PushFailed("the witness answered 409 with a malformed tree size")
    return int(text)


def _refusal(status: int, detail: str) -> str:
    meaning = {
        400: "the witness found the request malformed",
        403: "the witness does not trust the registry's signing key",
        404: "the witness does not witness this log (origin)",
        409: "the witness holds another root at the size it cosigned: the registry's history differs from it",
        422: "the witness found that the checkpoint does not extend the one it cosigned",
    }.get(status, f"the witness answered HTTP {status}")
    return f"{meaning} (HTTP {status}): {detail}" if detail else f"{meaning} (HTTP {status})"
