"""A read replica (``DATABASE_REPLICA_URL``): a real PostgreSQL hot standby streaming from its primary.

DESIGN.md has replicas serving the portal and proofs. These tests run the demo registry on a throwaway
primary with a streaming standby (``tests/pg_replica_pair.py``), and count the statements each server
is sent, to show:

- the public reads (entries, pages, proofs, tiles, certificates, the portal) are answered by the
  replica alone once it has caught up;
- a replica that lags (its replay paused) hands on what it does not hold yet, so a client that has
  just read the latest checkpoint from the primary gets every proof and entry up to it, right;
- a replica that cannot be reached costs nothing but a warning: reads go to the primary and the health
  check names it; a stalled replica is named there too.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pg_replica_pair import ReplicaPair, ReplicaPairUnavailable, replica_pair
from sqlalchemy import select, text
from sqlalchemy.exc import InternalError
from stripe_support import free_port
from tests_support import Sent, make_app, make_demo_app, sent_statements

from api.auth import create_api_key
from api.schemas import HealthSchema
from ledger import merkle
from ledger.accounts import REGISTRY
from ledger.checkpoint import Checkpoint
from ledger.commands import Allocation, Issue
from ledger.cosignature import Cosigner
from ledger.database import Database
from ledger.models import Entry
from ledger.verify_common import VerificationFailure
from marketplace import compliance
from marketplace.journey_models import CarbonNeutralEvent
from marketplace.models import Certificate
from offsets.models import Organisation, Project

pytestmark = pytest.mark.pg


@pytest.fixture(scope="module")
def pair() -> Iterator[ReplicaPair]:
    try:
        with replica_pair() as started:
            yield started
    except ReplicaPairUnavailable as exc:
        if os.environ.get("TANHUI_REQUIRE_PG"):
            pytest.fail(f"a PostgreSQL primary and replica are required here: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def app(pair: ReplicaPair, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = make_demo_app(
        str(tmp_path_factory.mktemp("replica")),
        database_url=pair.primary_url,
        DATABASE_REPLICA_URL=pair.replica_url,
        TANHUI_REPLICA_MAX_LAG_S=1.0,
    )
    yield app
    _database(app).dispose()


def _database(app: Flask) -> Database:
    from api.context import database

    with app.app_context():
        return database()


class Statements:
    """The statements this thread sent to the primary and to the replica while counting (a test client's
    requests run in the test's thread; a concurrent appender's statements are not counted)."""

    def __init__(self, primary: list[Sent], replica: list[Sent]) -> None:
        self._me = threading.get_ident()
        self._primary = primary
        self._replica = replica

    @property
    def primary(self) -> list[str]:
        return [sent.sql for sent in self._primary if sent.thread == self._me]

    @property
    def replica(self) -> list[str]:
        return [sent.sql for sent in self._replica if sent.thread == self._me]


@contextmanager
def counted(database: Database) -> Iterator[Statements]:
    assert database.replica_engine is not None
    with sent_statements(database.engine) as primary, sent_statements(database.replica_engine) as replica:
        yield Statements(primary, replica)


def _checkpoint(client: Any) -> tuple[int, bytes]:
    response = client.get("/api/v1/ledger/checkpoint")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    checkpoint = Checkpoint.parse(text[: text.index("\n\n") + 1])
    return checkpoint.size, checkpoint.root


def _append_and_sign(app: Flask, count: int) -> int:
    """``count`` new issues on the primary, and a checkpoint over them: the new ledger size."""
    from api.context import ledger_service

    with app.app_context():
        service = ledger_service()
        tag = uuid.uuid4().hex[:6].upper()
        service.append(
            [
                Issue(f"replica-{tag}-{n}", f"R{tag}", "2025", n + 1, (Allocation(REGISTRY, 1_000),))
                for n in range(count)
            ]
        )
        size, _note = service.sign_checkpoint()
    return size


def test_public_reads_are_answered_by_a_caught_up_replica(app: Flask, pair: ReplicaPair) -> None:
    pair.wait_caught_up()
    client = app.test_client()
    size, root = _checkpoint(client)
    database = _database(app)
    with database.reading() as session:
        certificate_id = session.scalars(select(Certificate.id).limit(1)).one()
        project_id, project_code = session.execute(
            select(Project.id, Project.code).where(Project.status != "draft").limit(1)
        ).one()
        event_id = session.scalars(select(CarbonNeutralEvent.id).limit(1)).one()
    paths = [
        "/api/v1/ledger/entries/0",
        f"/api/v1/ledger/entries/{size - 1}",
        "/api/v1/ledger/entries?start=0&limit=10",
        f"/api/v1/ledger/proofs/inclusion?seq=3&size={size}",
        f"/api/v1/ledger/proofs/consistency?from=5&to={size}",
        "/api/v1/ledger/tile/0/000.p/5",
        "/api/v1/ledger/tile/entries/000.p/5",
        f"/api/v1/certificates/{certificate_id}",
        f"/api/v1/certificates/{certificate_id}.tlog-proof",
        f"/api/v1/certificates/{certificate_id}/qr.svg",
        "/api/v1/projects?per_page=5",
        f"/api/v1/projects/{project_id}",
        "/api/v1/public/poverty-summary",
        f"/api/v1/public/events/{event_id}",
        "/",
        "/projects",
        f"/projects/{project_code}",
        f"/events/{event_id}",
        f"/certificates/{certificate_id}",
        "/registry",
    ]
    for path in paths:
        with counted(database) as seen:
            response = client.get(path)
        assert response.status_code == 200, (path, response.get_data(as_text=True))
        assert seen.replica, path
        assert seen.primary == [], (path, seen.primary)
    # What the replica served is what the primary holds: the proof verifies against the primary's root.
    proof = client.get(f"/api/v1/ledger/proofs/inclusion?seq=3&size={size}").get_json()
    leaf = bytes.fromhex(client.get("/api/v1/ledger/entries/3").get_json()["leaf_hash"])
    merkle.verify_inclusion(leaf, 3, size, [bytes.fromhex(h) for h in proof["hashes"]], root)


def test_a_lagging_replica_hands_on_what_it_does_not_hold_yet(app: Flask, pair: ReplicaPair) -> None:
    pair.wait_caught_up()
    client = app.test_client()
    old_size, old_root = _checkpoint(client)
    pair.pause_replay()
    try:
        size = _append_and_sign(app, 3)
        assert size == old_size + 3
        checkpoint_size, root = _checkpoint(client)  # from the primary, always
        assert checkpoint_size == size
        database = _database(app)
        with database.reading() as session:
            newest = session.execute(select(Entry.body, Entry.leaf_hash).where(Entry.seq == size - 1)).one()

        with counted(database) as seen:
            entry = client.get(f"/api/v1/ledger/entries/{size - 1}")
        assert entry.status_code == 200
        assert entry.get_json() == {"seq": size - 1, "body": newest.body, "leaf_hash": newest.leaf_hash.hex()}
        assert seen.replica  # asked the replica, which did not have it
        assert seen.primary

        inclusion = client.get(f"/api/v1/ledger/proofs/inclusion?seq={size - 1}&size={size}")
        assert inclusion.status_code == 200
        hashes = [bytes.fromhex(h) for h in inclusion.get_json()["hashes"]]
        merkle.verify_inclusion(bytes(newest.leaf_hash), size - 1, size, hashes, root)

        consistency = client.get(f"/api/v1/ledger/proofs/consistency?from={old_size}&to={size}")
        assert consistency.status_code == 200
        hashes = [bytes.fromhex(h) for h in consistency.get_json()["hashes"]]
        merkle.verify_consistency(old_size, size, hashes, old_root, root)

        # The page at the head: the replica's ends early, so the primary's (with the new entries) is served.
        page = client.get(f"/api/v1/ledger/entries?start={old_size - 1}&limit=10").get_json()
        assert [item["seq"] for item in page["entries"]] == list(range(old_size - 1, size))

        # Older entries are still the replica's alone.
        with counted(database) as seen:
            assert client.get(f"/api/v1/ledger/entries/{old_size - 1}").status_code == 200
        assert seen.primary == []

        # A seq beyond every entry is refused by both, as without a replica.
        beyond = client.get(f"/api/v1/ledger/entries/{size + 100}")
        assert beyond.status_code == 404
        assert beyond.mimetype == "application/problem+json"

        health = _health_when(client, lambda body: "replica_behind" in body["attention"])
        assert HealthSchema().validate(health) == {}
        assert health["replica"]["reachable"] is True
        assert health["replica"]["behind_entries"] == 3
        assert health["replica"]["size"] == old_size
    finally:
        pair.resume_replay()
    pair.wait_caught_up()
    health = client.get("/api/v1/health").get_json()
    assert health["replica"]["behind_entries"] == 0
    assert "replica_behind" not in health["attention"]


def _health_when(client: Any, ready: Any, timeout_s: float = 15.0) -> dict[str, Any]:
    """The health check's body once ``ready(body)`` holds (the replica's lag grows with the clock)."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        body = client.get("/api/v1/health").get_json()
        if ready(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def test_a_new_certificate_is_read_on_the_primary_until_the_replica_has_it(
    app: Flask, pair: ReplicaPair
) -> None:
    """An enterprise opens the certificate of the retirement it has just made: a lagging replica does
    not turn it into a 404, nor serve it without its proof."""

    pair.wait_caught_up()
    database = _database(app)
    pair.pause_replay()
    try:
        certificate_id, seq = _new_certificate(app, "C", 50)
        client = app.test_client()
        with counted(database) as seen:
            response = client.get(f"/api/v1/certificates/{certificate_id}")
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert body["id"] == certificate_id
        assert body["proof"]["seq"] == seq  # signed on the primary: the replica has no covering checkpoint
        assert seen.replica
        assert seen.primary
        tlog_proof = client.get(f"/api/v1/certificates/{certificate_id}.tlog-proof")
        assert tlog_proof.status_code == 200
        page = client.get(f"/certificates/{certificate_id}")  # what the certificate's QR code opens
        assert page.status_code == 200
        assert certificate_id in page.get_data(as_text=True)
    finally:
        pair.resume_replay()


def _new_certificate(app: Flask, project_prefix: str, quantity_kg: int) -> tuple[str, int]:
    """A batch issued to the demo enterprise and retired at once for compliance, on the primary: the
    certificate's id and its retirement's seq."""
    from api.context import ledger_service

    database = _database(app)
    with database.reading() as session:
        enterprise_id, account = session.execute(
            select(Organisation.id, Organisation.ledger_account_id).where(Organisation.kind == "enterprise")
        ).first()
    tag = uuid.uuid4().hex[:6].upper()
    batch = f"{project_prefix}{tag}-2025-001"
    with app.app_context():
        service = ledger_service()
        service.append(
            [
                Issue(
                    f"replica-{batch}",
                    f"{project_prefix}{tag}",
                    "2025",
                    1,
                    (Allocation(account, quantity_kg),),
                )
            ]
        )
        with database.unit_of_work() as uow:
            certificate = compliance.retire_for_compliance(
                uow.session,
                service.sequencer,
                organisation_id=enterprise_id,
                request=compliance.ComplianceRetirement(
                    "2025 年度履约", quantity_kg=quantity_kg, batches=(batch,)
                ),
                request_key=f"replica-{tag}",
                now=datetime.now(UTC),
            )
            uow.commit()
            return certificate.id, certificate.seq


def test_an_unreachable_replica_leaves_reads_to_the_primary(
    pair: ReplicaPair, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    nobody = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres"  # nothing listens there
    app = make_app(str(tmp_path), database_url=pair.primary_url, DATABASE_REPLICA_URL=nobody)
    try:
        client = app.test_client()
        database = _database(app)
        assert database.replica_usable
        response = client.get("/api/v1/ledger/entries/0")
        assert response.status_code == 200
        assert not database.replica_usable  # skipped for a while, not asked on every request
        assert "read replica failed" in caplog.text
        with counted(database) as seen:
            assert client.get("/api/v1/ledger/entries/1").status_code == 200
        assert seen.replica == []
        assert seen.primary
        health = client.get("/api/v1/health")
        assert health.status_code == 200  # the instance still serves: not a reason to take it out
        body = health.get_json()
        assert HealthSchema().validate(body) == {}
        assert "replica_unreachable" in body["attention"]
        assert body["replica"] == {
            "reachable": False,
            "size": None,
            "behind_entries": None,
            "replay_lag_s": None,
        }
    finally:
        _database(app).dispose()


def test_a_replica_refuses_writes_and_the_registry_never_sends_it_any(app: Flask, pair: ReplicaPair) -> None:
    database = _database(app)
    with counted(database) as seen:
        _append_and_sign(app, 2)
    writes = [s for s in seen.replica if s.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE")]
    assert writes == []
    insert = text("INSERT INTO ledger_head (id, size, last_leaf_hash, last_time) VALUES (2, 0, '', '')")
    with database.replica_reading() as session, pytest.raises(InternalError, match="read-only transaction"):
        session.execute(insert)


def test_a_replica_without_the_schema_sends_each_read_to_the_primary(
    app: Flask, pair: ReplicaPair, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As a replica still replaying a migration would: its error is not the client's, nor a reason to
    give the replica up (it is asked again next time)."""
    bare = pair.replica_url.rsplit("/", 1)[0] + "/template1"  # on the standby, with no tables
    other = make_app(str(tmp_path), database_url=pair.primary_url, DATABASE_REPLICA_URL=bare)
    try:
        database = _database(other)
        client = other.test_client()
        for seq in (0, 1):
            with counted(database) as seen:
                response = client.get(f"/api/v1/ledger/entries/{seq}")
            assert response.status_code == 200
            assert response.get_json() == app.test_client().get(f"/api/v1/ledger/entries/{seq}").get_json()
            assert seen.replica  # asked each time
            assert seen.primary
            assert database.replica_usable
        assert "read replica: (psycopg.errors.UndefinedTable)" in caplog.text
    finally:
        _database(other).dispose()


def test_a_signed_in_owner_reads_projects_on_the_primary(app: Flask, pair: ReplicaPair) -> None:
    """Whoever sends a key may be looking at what they have just changed (a draft, a review): the
    primary answers them, a lagging replica could not."""
    database = _database(app)
    with database.unit_of_work() as uow:
        owner_id, owner_project = uow.session.execute(select(Project.owner_id, Project.id).limit(1)).one()
        _key, token = create_api_key(uow.session, owner_id, "project_owner", "replica test")
        uow.commit()
    pair.wait_caught_up()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("/api/v1/projects?per_page=5", f"/api/v1/projects/{owner_project}"):
        with counted(database) as seen:
            response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.get_data(as_text=True))
        assert seen.replica == [], path
        with counted(database) as seen:
            assert client.get(path).status_code == 200  # the same, anonymously: the replica's
        assert seen.primary == [], path


def test_proofs_up_to_the_newest_checkpoint_verify_while_the_log_grows(app: Flask, pair: ReplicaPair) -> None:
    """A client reads the latest checkpoint (primary) and at once asks for proofs up to it, while the
    registry keeps appending and signing: whichever server answers, every proof verifies."""
    import random
    import time

    client = app.test_client()
    stop = threading.Event()
    failures: list[BaseException] = []

    def grow() -> None:
        try:
            while not stop.is_set():
                _append_and_sign(app, 5)
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)

    pair.delay_apply(200)  # the replica applies each append 0.2 s after the primary: always a little behind
    writer = threading.Thread(target=grow, name="appender")
    writer.start()
    checked, sizes = 0, set()
    deadline = time.monotonic() + 4.0
    try:
        with counted(_database(app)) as seen:
            while time.monotonic() < deadline and not failures:
                size, root = _checkpoint(client)
                sizes.add(size)
                # Half near the head (the replica lacks them), half anywhere (it holds those entries,
                # but a proof up to this checkpoint only once it has replayed the checkpoint).
                seq = random.randrange(max(size - 10, 0), size) if checked % 2 else random.randrange(size)
                entry = client.get(f"/api/v1/ledger/entries/{seq}")
                proof = client.get(f"/api/v1/ledger/proofs/inclusion?seq={seq}&size={size}")
                assert (entry.status_code, proof.status_code) == (200, 200)
                leaf = bytes.fromhex(entry.get_json()["leaf_hash"])
                hashes = [bytes.fromhex(h) for h in proof.get_json()["hashes"]]
                merkle.verify_inclusion(leaf, seq, size, hashes, root)
                checked += 1
    finally:
        stop.set()
        writer.join(60)
        pair.delay_apply(0)
    assert not failures, failures
    assert len(sizes) > 3  # the log did grow under the client
    assert checked > 20
    # Both servers answered the client's entries and proofs (the checkpoint is always the primary's).
    assert any("ledger_entries" in statement for statement in seen.replica)
    assert any("ledger_entries" in statement for statement in seen.primary)


def _cli(app: Flask, *arguments: str, replica_url: str | None) -> Any:
    """``tanhui`` as the registry's operator runs it, on this app's primary (and ``replica_url``)."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from web import cli

    built: list[Flask] = []

    def create_app() -> Flask:
        built.append(cli.create_app())
        return built[-1]

    env = {
        "TANHUI_INSTANCE_PATH": app.instance_path,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "DATABASE_REPLICA_URL": replica_url or "",
        "TANHUI_SIGNING_KEY_FILE": str(app.config["TANHUI_SIGNING_KEY_FILE"]),
        "TANHUI_LEDGER_ORIGIN": app.config["TANHUI_LEDGER_ORIGIN"],
        "TANHUI_CREATE_SIGNING_KEY": "false",
    }
    try:
        return CliRunner().invoke(cli.main, list(arguments), env=env, obj=ScriptInfo(create_app=create_app))
    finally:
        for each in built:
            _database(each).dispose()


def test_the_nightly_verification_can_read_the_replica_instead_of_the_primary(
    app: Flask, pair: ReplicaPair
) -> None:
    from api.context import ledger_service
    from web.scheduler import verify_job

    pair.wait_caught_up()
    database = _database(app)
    with app.app_context():
        service = ledger_service()
        with counted(database) as seen:
            record = verify_job(service, on_replica=True)
        assert record.ok
        assert record.tree_size == service.size()
        # The ledger was read on the replica; the primary only stored the outcome (and named the keys).
        assert any("ledger_entries" in statement for statement in seen.replica)
        assert not any("ledger_entries" in statement for statement in seen.primary)
        assert any("INSERT INTO ledger_verification_runs" in statement for statement in seen.primary)
        # Two processes, the second reading the replica as well.
        assert service.verify(jobs=2, on_replica=True).size == record.tree_size

    done = _cli(app, "ledger", "verify", "--replica", "--jobs", "1", replica_url=pair.replica_url)
    assert done.exit_code == 0, done.output
    assert done.output.startswith(f"ok: {record.tree_size} entries")
    refused = _cli(app, "ledger", "verify", "--replica", replica_url=None)
    assert refused.exit_code != 0
    assert (
        refused.output.strip()
        .splitlines()[-1]
        .endswith("no read replica is configured (DATABASE_REPLICA_URL)")
    )


def test_a_nightly_verification_whose_replica_is_down_runs_on_the_primary(
    pair: ReplicaPair, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from api.context import ledger_service
    from web.scheduler import verify_job

    nobody = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres"
    other = make_app(str(tmp_path), database_url=pair.primary_url, DATABASE_REPLICA_URL=nobody)
    try:
        with other.app_context():
            record = verify_job(ledger_service(), on_replica=True)
        assert record.ok
        assert record.tree_size > 0
        assert "the read replica failed; verifying on the primary" in caplog.text
        refused = _cli(other, "ledger", "verify", "--replica", replica_url=nobody)
        assert refused.exit_code != 0
        assert "the read replica cannot be read:" in refused.output
    finally:
        _database(other).dispose()


def test_a_certificate_read_on_the_replica_proves_against_the_checkpoint_the_primary_would_choose(
    app: Flask, pair: ReplicaPair
) -> None:
    """The replica answers a certificate's proof alone once it holds a covering checkpoint, and proves
    against the one the primary would: the covering checkpoint most witnesses cosigned, else the latest."""
    from api.context import ledger_service

    pair.wait_caught_up()
    database = _database(app)
    client = app.test_client()

    def served_proof(certificate_id: str) -> dict[str, Any]:
        pair.wait_caught_up()
        with counted(database) as seen:
            response = client.get(f"/api/v1/certificates/{certificate_id}")
        assert response.status_code == 200, response.get_data(as_text=True)
        assert seen.replica
        assert seen.primary == []
        proof: dict[str, Any] = response.get_json()["proof"]
        return proof

    witness = Cosigner.generate("witness.replica-test.example")
    certificate_id, seq = _new_certificate(app, "W", 20)
    with app.app_context():
        service = ledger_service()
        size, unwitnessed = service.sign_checkpoint()
        assert size == seq + 1

        # No witness has cosigned a checkpoint covering it: the latest, on the replica.
        assert served_proof(certificate_id)["checkpoint"] == unwitnessed

        # A witness cosigns that checkpoint; a newer one covers the entry too, cosigned by nobody.
        service.add_witness(witness.vkey)
        try:
            now = int(datetime.now(UTC).timestamp())
            service.accept_cosignatures(witness.cosign_note(unwitnessed, now))
            assert _append_and_sign(app, 2) == size + 2
            proof = served_proof(certificate_id)
            assert proof["checkpoint"].startswith(unwitnessed)
            assert f"\u2014 {witness.name} " in proof["checkpoint"]
            assert proof["seq"] == seq
            leaf = merkle.leaf_hash(proof["body"].encode("utf-8"))
            root = Checkpoint.parse(unwitnessed[: unwitnessed.index("\n\n") + 1]).root
            hashes = [bytes.fromhex(node) for node in proof["inclusion"]]
            merkle.verify_inclusion(leaf, seq, size, hashes, root)
            assert service.proof_for(seq).checkpoint == proof["checkpoint"]  # what the primary serves
        finally:
            service.remove_witness(witness.vkey)


def test_tampering_on_the_primary_is_found_by_a_verification_on_the_replica(
    app: Flask, pair: ReplicaPair
) -> None:
    """A row rewritten on the primary behind the triggers' back reaches the replica with the log, and the
    verification there names it. (Last in the module: it restores the row, but is best run last.)"""
    from api.context import ledger_service

    database = _database(app)
    with database.reading() as session:
        seq, body = session.execute(select(Entry.seq, Entry.body).order_by(Entry.seq.desc()).limit(1)).one()
    tampered = body.replace('"v":1', '"v":1 ', 1) if '"v":1' in body else body + " "

    def rewrite(text_of_body: str) -> None:
        with database.engine.begin() as connection:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            connection.execute(Entry.__table__.update().where(Entry.seq == seq).values(body=text_of_body))

    rewrite(tampered)
    try:
        pair.wait_caught_up()
        with app.app_context(), pytest.raises(VerificationFailure) as failure:
            ledger_service().verify(on_replica=True)
        assert failure.value.seq == seq
        done = _cli(app, "ledger", "verify", "--replica", replica_url=pair.replica_url)
        assert done.exit_code != 0
        assert f"seq {seq}" in done.output
    finally:
        rewrite(body)
    pair.wait_caught_up()
    with app.app_context():
        assert ledger_service().verify(on_replica=True).size > seq
