"""The ledger's public, read-only HTTP contract (DESIGN.md, "Ledger contract"), under ``/api/v1/ledger``.

Entries, proofs and tiles never change once published, so a read replica serves them
(:func:`ledger.replica_reads.read_published`), and the primary what the replica does not hold yet. The
latest checkpoint always comes from the primary: a client that read it there may then ask for proofs
up to its size, and any replica, caught up or not, answers them or hands them on.
"""

from __future__ import annotations

import gzip
import re

from flask import Response, request
from sqlalchemy.orm import Session

from api.blueprint import api_blueprint as bp
from api.context import ledger_service
from api.openapi import document
from api.schemas import ConsistencyQuery, EntryPageQuery, InclusionQuery
from ledger import checkpoints, proofs, tiles
from ledger.errors import InvalidCommand, NotFound
from ledger.replica_reads import read_published
from ledger.witnessing import cosigned_note

IMMUTABLE = "public, max-age=31536000, immutable"
SEQ = re.compile(r"^(0|[1-9][0-9]{0,15})$")


def _text(body: str, cache: str = "no-cache") -> Response:
    response = Response(body, mimetype="text/plain")
    response.headers["Cache-Control"] = cache
    return response


@bp.get("/ledger/checkpoint")
@document("Latest signed checkpoint (C2SP tlog-checkpoint signed note)", text=True, tag="ledger")
def latest_checkpoint() -> Response:
    with ledger_service().database.reading() as session:
        record = checkpoints.latest(session)
        if record is None:
            raise NotFound("no checkpoint has been signed yet")
        return _text(cosigned_note(session, record))


@bp.get("/ledger/key")
@document("The verifier key line (signed-note vkey form)", text=True, tag="ledger")
def verifier_key() -> Response:
    try:
        vkey = ledger_service().verifier_key()
    except LookupError as exc:  # a node without the key file, before any checkpoint was signed
        raise NotFound(str(exc)) from exc
    return _text(vkey + "\n", cache="public, max-age=300")


@bp.get("/ledger/witnesses")
@document(
    "The listed witnesses' cosigner keys (C2SP tlog-cosignature vkeys, type 0x04), one per line",
    text=True,
    tag="ledger",
)
def witness_keys() -> Response:
    """Whose cosignatures the registry keeps under its checkpoints: what the certificate page checks.

    Served by the registry, so a reader who trusts a witness compares its key with one the witness
    publishes itself."""
    lines = "".join(f"{witness.vkey}\n" for witness in ledger_service().witnesses())
    return _text(lines, cache="public, max-age=300")


@bp.get("/ledger/entries/<seq>")
@document("One entry: its exact body text and leaf hash", response="EntrySchema", tag="ledger", seq_path=True)
def get_entry(seq: str) -> tuple[dict[str, object], int, dict[str, str]]:
    if not SEQ.match(seq):
        raise InvalidCommand("seq must be a non-negative integer", field="seq")
    stored = read_published(ledger_service().database, lambda session: proofs.entry(session, int(seq)))
    return _entry_json(stored), 200, {"Cache-Control": IMMUTABLE}


def _entry_json(stored: proofs.StoredEntry) -> dict[str, object]:
    return {"seq": stored.seq, "body": stored.body, "leaf_hash": stored.leaf_hash.hex()}


@bp.get("/ledger/entries")
@document(
    "Consecutive entries from start: up to limit (at most 1,000), and bodies of at most 4 MiB in all",
    response="EntryPageSchema",
    query="EntryPageQuery",
    tag="ledger",
)
def entry_page() -> tuple[dict[str, object], int, dict[str, str]]:
    query = EntryPageQuery().load(request.args)
    page = read_published(
        ledger_service().database,
        lambda session: proofs.entry_page(session, query["start"], query["limit"]),
        complete=lambda page: page.complete,  # one that ends at a lagging replica's newest entry is not
    )
    entries = [_entry_json(stored) for stored in page.entries]
    body = {
        "start": page.start,
        "entries": entries,
        "next": page.start + len(entries) if page.complete else None,
    }
    # A complete page never changes; one that ends at the newest entry lists more once the log grows.
    return body, 200, {"Cache-Control": IMMUTABLE if page.complete else "no-cache"}


@bp.get("/ledger/proofs/inclusion")
@document(
    "RFC 9162 inclusion proof of entry seq in the tree of the given size",
    response="InclusionProofSchema",
    query="InclusionQuery",
    tag="ledger",
)
def inclusion_proof() -> tuple[dict[str, object], int, dict[str, str]]:
    query = InclusionQuery().load(request.args)
    hashes = read_published(
        ledger_service().database, lambda session: proofs.inclusion(session, query["seq"], query["size"])
    )
    body = {"seq": query["seq"], "size": query["size"], "hashes": [node.hex() for node in hashes]}
    return body, 200, {"Cache-Control": IMMUTABLE}


@bp.get("/ledger/proofs/consistency")
@document(
    "RFC 9162 consistency proof between two tree sizes",
    response="ConsistencyProofSchema",
    query="ConsistencyQuery",
    tag="ledger",
)
def consistency_proof() -> tuple[dict[str, object], int, dict[str, str]]:
    query = ConsistencyQuery().load(request.args)
    hashes = read_published(
        ledger_service().database, lambda session: proofs.consistency(session, query["from_"], query["to"])
    )
    body = {"from": query["from_"], "to": query["to"], "hashes": [node.hex() for node in hashes]}
    return body, 200, {"Cache-Control": IMMUTABLE}


@bp.post("/ledger/cosignatures")
@document(
    "A witness's cosignature: the registry's checkpoint as the witness saw it, its cosignature line under it",
    response="CosignedSchema",
    tag="ledger",
    status=201,
    text_body=True,
)
def add_cosignatures() -> tuple[dict[str, object], int, dict[str, str]]:
    """Public: a cosignature proves itself against the witness keys the registry lists."""
    if request.mimetype != "text/plain":
        raise InvalidCommand("send the cosigned checkpoint as text/plain", field="note")
    note = request.get_data(cache=False, as_text=False)
    try:
        text = note.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidCommand("the cosigned checkpoint is not UTF-8 text", field="note") from exc
    size, found = ledger_service().accept_cosignatures(text)
    body = {
        "checkpoint_size": size,
        "cosigned_by": [{"name": item.name, "timestamp": item.timestamp} for item in found],
    }
    return body, 201, {"Cache-Control": "no-store"}


@bp.get("/ledger/tile/<path:tile_path>")
@document(
    "C2SP tlog-tiles: a hash tile <L>/<N>[.p/<W>] or an entry bundle entries/<N>[.p/<W>] (immutable)",
    tag="ledger",
    media_type="application/octet-stream",
)
def tile(tile_path: str) -> Response:
    try:
        ref = tiles.parse_tile_path(tile_path)
    except ValueError as exc:
        raise NotFound(str(exc), field="tile") from exc
    data = read_published(ledger_service().database, lambda session: _tile_data(session, ref))
    response = Response(data, mimetype="application/octet-stream")
    response.headers["Cache-Control"] = IMMUTABLE
    if ref.level is None:  # the spec asks for entry bundles to be compressed at the HTTP layer
        response.vary.add("Accept-Encoding")
        if request.accept_encodings.quality("gzip") > 0:
            response.set_data(gzip.compress(data, mtime=0))
            response.headers["Content-Encoding"] = "gzip"
    return response


def _tile_data(session: Session, ref: tiles.TileRef) -> bytes:
    size = proofs.published_size(session)
    if ref.level is None:
        return tiles.entry_bundle(session, ref, size)
    return tiles.hash_tile(session, ref, size)
