"""``tanhui ledger audit``: anyone replays the registry's published log under the ledger's rules.

Signatures and consistency proofs show that the log was not rewritten; the audit shows that what it
records was allowed. The forged entry below is appended as an operator with write access to the
database could append it: a well-formed, correctly hashed and chained row inserted beside the
sequencer, with the tree's stored nodes and the head moved on, then covered by a signed checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from registry_support import Registry, answering, one_line_failure
from sqlalchemy import insert, select, update
from tests_support import make_demo_app, served

from ledger import limits, merkle, public_audit
from ledger.checkpoint import CheckpointError
from ledger.commands import Beneficiary, Cancel, Retire, Selection, Transfer
from ledger.entries import make_body
from ledger.log_follow import MAX_RESPONSE_BYTES, RegistryError, http_fetch
from ledger.models import Entry, Head
from ledger.note import NoteVerifier
from ledger.public_audit import audit
from ledger.ranges import SerialRange
from ledger.tree_store import read_nodes
from ledger.verify_common import VerificationFailure
from web.cli import main

ORIGIN_LINE = "test.tanhui.example/ledger"


def run_audit(registry: str, *keys: str) -> Result:
    arguments = ["ledger", "audit", "--registry", registry]
    for key in keys:
        arguments += ["--key", key]
    return CliRunner().invoke(main, arguments, catch_exceptions=False)


@pytest.fixture
def trading(registries) -> Registry:
    """A registry that issued 100 t, sold 30 t, retired 12 t publicly and 3 t privately, cancelled 5 t."""
    registry: Registry = registries("trading")
    registry.service.append(
        [
            Transfer("sale", "OWN-A", "ENT-A", Selection(quantity_kg=30_000), memo="合同 HT-1"),
            Retire("r-public", "ENT-A", Selection(quantity_kg=12_000), Beneficiary("企业甲", True), "gift"),
            Retire("r-private", "ENT-A", Selection(quantity_kg=3_000), Beneficiary("李明", False), "gift"),
            Cancel("c-1", "OWN-A", Selection(quantity_kg=5_000), "核查更正"),
        ]
    )
    registry.service.sign_checkpoint()
    return registry


def test_an_honest_registry_audits_with_its_totals(trading, no_app):
    result = run_audit(trading.url, trading.vkey)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        f"ok: 5 entries of {ORIGIN_LINE} replayed under the rules and matching its signed checkpoint; "
        "1 batches: 100000 kg issued, 15000 retired, 5000 cancelled, 80000 held\n"
    )


def forge_entry(registry: Registry, request_id: str, kind: str, data: dict[str, object]) -> int:
    """Append a hashed, chained entry straight into the tables, bypassing the rules; returns its seq."""
    with registry.service.database.unit_of_work() as uow:
        session = uow.session
        head = session.execute(select(Head.size, Head.last_leaf_hash, Head.last_time)).one()
        size, last_leaf, time = head.size, bytes(head.last_leaf_hash), head.last_time
        tree = merkle.TreeBuilder.from_nodes(size, read_nodes(session, merkle.frontier_node_ids(size)))
        body = make_body(
            seq=size, prev=last_leaf.hex(), time=time, kind=kind, request_id=request_id, data=data
        )
        leaf = merkle.leaf_hash(body)
        nodes = b"".join(tree.append(leaf))
        row = {"seq": size, "request_id": request_id, "kind": kind, "body": body.decode(), "leaf_hash": leaf}
        session.execute(insert(Entry).values(**row, subtree_hashes=nodes))
        session.execute(update(Head).values(size=size + 1, last_leaf_hash=leaf))
        uow.commit()
    registry.service.sign_checkpoint()
    return size


def test_a_second_retirement_of_the_same_kilograms_is_caught_though_every_hash_holds(
    trading, tmp_path: Path, no_app
):
    kept = tmp_path / "kept.checkpoint"
    assert (
        CliRunner()
        .invoke(main, ["ledger", "follow", str(kept), "--registry", trading.url, "--key", trading.vkey])
        .exit_code
        == 0
    )
    with trading.service.database.reading() as session:
        public_retirement = json.loads(session.scalar(select(Entry.body).where(Entry.seq == 2)))["data"]
    seq = forge_entry(trading, "forged-again", "retire", public_retirement)

    # The history was extended, not rewritten: following the checkpoints alone does not see it.
    follow = CliRunner().invoke(
        main, ["ledger", "follow", str(kept), "--registry", trading.url, "--key", trading.vkey]
    )
    assert follow.exit_code == 0, follow.stderr
    message = one_line_failure(run_audit(trading.url, trading.vkey))
    serial = public_retirement["ranges"][0]["serial"]
    failed = f"tanhui: ledger audit failed: seq {seq}: replay: "
    assert message == failed + f"ranges: account ENT-A does not hold {serial}\n"


def test_kilograms_moved_beyond_the_batch_are_caught(trading, no_app):
    quantity = 100_001
    data = {
        "from": "OWN-A",
        "to": "ENT-A",
        "quantity_kg": 1,
        "ranges": [
            {
                "batch": "LS01-2024-001",
                "start": quantity,
                "end": quantity,
                "serial": f"SC-LS01-2024-001-{quantity}-{quantity}",
            }
        ],
    }
    seq = forge_entry(trading, "forged-beyond", "transfer", data)
    message = one_line_failure(run_audit(trading.url, trading.vkey))
    failed = f"tanhui: ledger audit failed: seq {seq}: replay: "
    assert message == failed + "ranges.end: batch LS01-2024-001 has only 100000 kg\n"


# --- a registry that publishes something other than what it stored ------------------------------------


PAGE = "/api/v1/ledger/entries?start=0&limit=5"


@pytest.fixture
def published(trading) -> dict[str, bytes]:
    """Every answer the audit reads from the trading registry, fetched over HTTP, to alter one by one."""
    fetch = http_fetch(trading.url)
    return {path: fetch(path, max_bytes=2**20) for path in ("/api/v1/ledger/checkpoint", PAGE)}


def page_of(answers: dict[str, bytes]) -> dict[str, Any]:
    page: dict[str, Any] = json.loads(answers[PAGE])
    return page


def with_page(answers: dict[str, bytes], page: dict[str, Any]) -> dict[str, bytes]:
    return {**answers, PAGE: json.dumps(page).encode()}


def altered(answers: dict[str, bytes], seq: int, body: str, *, rehash: bool) -> dict[str, bytes]:
    """``answers`` with entry ``seq``'s body replaced (and its published leaf hash recomputed, if asked)."""
    page = page_of(answers)
    entry = page["entries"][seq]
    entry["body"] = body
    if rehash:
        entry["leaf_hash"] = merkle.leaf_hash(body.encode()).hex()
    return with_page(answers, page)


def body_of(answers: dict[str, bytes], seq: int) -> str:
    body: str = page_of(answers)["entries"][seq]["body"]
    return body


def audit_failure(answers: dict[str, bytes], trading: Registry) -> VerificationFailure:
    with pytest.raises(VerificationFailure) as caught:
        audit(answering(answers), [NoteVerifier.from_vkey(trading.vkey)])
    return caught.value


def test_the_published_answers_audit_as_they_are(published, trading):
    told: list[int] = []
    report = audit(answering(published), [NoteVerifier.from_vkey(trading.vkey)], ORIGIN_LINE, told.append)
    assert told == [1] * len(page_of(published)["entries"])  # the command's progress bar, an entry a step
    assert (report.issued_kg, report.retired_kg, report.cancelled_kg, report.held_kg) == (
        100_000,
        15_000,
        5_000,
        80_000,
    )


def test_an_altered_body_is_named_by_its_leaf_hash_chain_time_form_or_the_root(published, trading):
    memo = body_of(published, 1).replace("合同 HT-1", "合同 HT-2")
    failure = audit_failure(altered(published, 1, memo, rehash=False), trading)
    assert (failure.seq, failure.what) == (1, "leaf hash")
    failure = audit_failure(altered(published, 1, memo, rehash=True), trading)
    assert (failure.seq, failure.what) == (2, "chain link")
    reason = body_of(published, 4).replace("核查更正", "核查更正（改）")
    failure = audit_failure(altered(published, 4, reason, rehash=True), trading)
    assert (failure.seq, failure.what) == (None, "root")
    time = json.loads(body_of(published, 3))["time"]
    earlier = body_of(published, 3).replace(time, "2000-01-01T00:00:00.000000Z")
    failure = audit_failure(altered(published, 3, earlier, rehash=True), trading)
    assert (failure.seq, failure.what) == (3, "time")
    spaced = body_of(published, 3).replace(":", ": ", 1)
    failure = audit_failure(altered(published, 3, spaced, rehash=True), trading)
    assert (failure.seq, failure.what) == (3, "body")


def test_a_page_that_skips_repeats_or_misplaces_an_entry_or_is_not_json_is_refused(published, trading):
    verifiers = [NoteVerifier.from_vkey(trading.vkey)]
    page = page_of(published)
    entries = page["entries"]
    wrong_pages = {
        "did not answer with entry 2": {**page, "entries": entries[:2] + entries[3:]},
        "did not answer with entry 3": {**page, "entries": entries[:3] + entries[2:4]},
        "did not answer with a page of entries from 0": {**page, "start": 1},
        "did not answer with a page of entries from 0 ": {**page, "entries": []},
        "did not answer with a page of entries from 0  ": {**page, "entries": entries + entries[:1]},
        "did not answer with a page of entries from 0   ": {**page, "entries": {"0": entries[0]}},
        "did not answer with entry 1": {**page, "entries": [entries[0], [entries[1]], *entries[2:]]},
    }
    for message, wrong in wrong_pages.items():
        with pytest.raises(RegistryError, match=message.strip()):
            audit(answering(with_page(published, wrong)), verifiers)
    with pytest.raises(RegistryError, match="the page of entries from 0 is not JSON"):
        audit(answering({**published, PAGE: b"<html>"}), verifiers)
    with pytest.raises(RegistryError, match="did not answer with a page of entries from 0"):
        audit(answering({**published, PAGE: b"[]"}), verifiers)


def test_pages_shorter_than_asked_for_are_followed_to_the_checkpoint(trading, monkeypatch):
    """The audit asks for pages of PAGE_ENTRIES; the registry may list fewer (its byte budget)."""
    monkeypatch.setattr(public_audit, "PAGE_ENTRIES", 2)
    asked: list[str] = []
    fetch = http_fetch(trading.url)

    def recording(path: str, max_bytes: int = MAX_RESPONSE_BYTES) -> bytes:
        asked.append(path)
        return fetch(path, max_bytes)

    verifiers = [NoteVerifier.from_vkey(trading.vkey)]
    assert audit(recording, verifiers).held_kg == 80_000
    pages = ((0, 2), (2, 2), (4, 1))
    assert asked[1:] == [f"/api/v1/ledger/entries?start={start}&limit={n}" for start, n in pages]
    monkeypatch.setattr(limits, "MAX_PAGE_BODY_BYTES", 1)  # the registry lists one entry a page
    asked.clear()
    assert audit(recording, verifiers).held_kg == 80_000
    assert len(asked) == 1 + 5


def test_an_entry_larger_than_a_checkpoint_answer_audits_over_http(trading, no_app):
    """A transfer of 1,000 separate ranges has a body of about 90 KB, beyond MAX_RESPONSE_BYTES."""
    singles = tuple(SerialRange("LS01-2024-001", kg, kg) for kg in range(40_001, 42_001, 2))
    [entry] = trading.service.append([Transfer("fragments", "OWN-A", "ENT-A", Selection(ranges=singles))])
    trading.service.sign_checkpoint()
    assert len(entry.body.encode("utf-8")) > MAX_RESPONSE_BYTES
    result = run_audit(trading.url, trading.vkey)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"ok: 6 entries of {ORIGIN_LINE} replayed under the rules")
    assert "80000 held" in result.stdout


def test_the_demo_registry_audits_with_every_kind_of_entry(tmp_path: Path, no_app):
    app = make_demo_app(str(tmp_path))
    service = app.extensions["tanhui.ledger"]
    try:
        with served(app, "demo") as url:
            result = run_audit(url, service.verifier_key())
            report = audit(http_fetch(url), [NoteVerifier.from_vkey(service.verifier_key())])
    finally:
        service.database.dispose()
    assert result.exit_code == 0, result.stderr
    assert report.checkpoint.size == service.size() > 300
    assert report.issued_kg == report.held_kg + report.retired_kg + report.cancelled_kg
    assert min(report.retired_kg, report.cancelled_kg) > 0
    assert f"{report.batches} batches: {report.issued_kg} kg issued" in result.stdout


def test_a_checkpoint_of_another_log_than_the_origin_given_is_not_audited(published, trading):
    with pytest.raises(CheckpointError, match=f"is for log {ORIGIN_LINE!r}, not 'other.example/log'"):
        audit(answering(published), [NoteVerifier.from_vkey(trading.vkey)], "other.example/log")
