"""Background jobs (APScheduler): checkpoint signing, reservation expiry, delivery of refunds owed to buyers,
the account index of the ledger, the nightly full verification, the daily pruning of old idempotency
records and the hourly forgetting of sign-in attempts that have left their window.

Every web process may start the scheduler, but each job run first takes a lock that only one process
can hold — a PostgreSQL advisory lock (``pg_try_advisory_lock``) or, on the embedded SQLite default, an
exclusive ``flock`` on a file in the instance folder — and skips the run if another process holds it.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy import text

from api.idempotency import DEFAULT_RETENTION_S, prune_records
from ledger.replica_reads import REPLICA_FAILURES
from ledger.service import LedgerService
from ledger.verification_runs import RunRecord
from ledger.witness_push import Post, PushOutcome, http_post, push_to_witnesses
from marketplace.order_store import expire_due_orders
from marketplace.payments.provider import PaymentProvider
from marketplace.payments.refunds import deliver_refunds
from web.pages.sign_in_throttle import DEFAULT_WINDOW_S
from web.pages.sign_in_throttle import prune as prune_sign_in_attempts

log = logging.getLogger(__name__)
JOB_LOCK_KEYS = {
    "checkpoint": 7265747,
    "verify": 7265748,
    "reservations": 7265749,
    "idempotency": 7265750,
    "refunds": 7265751,
    "account-index": 7265752,
    "sign-ins": 7265753,
}


@contextmanager
def job_lock(service: LedgerService, job: str, lock_dir: Path) -> Iterator[bool]:
    """Yields True if this process holds the job's lock, False if another process does."""
    if service.database.is_sqlite:
        lock_dir.mkdir(parents=True, exist_ok=True)
        with (lock_dir / f"job-{job}.lock").open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    with service.database.engine.connect() as connection:
        key = JOB_LOCK_KEYS[job]
        held = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar_one()
        try:
            yield bool(held)
        finally:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()


def _guarded(
    service: LedgerService, job: str, lock_dir: Path, work: Callable[[], object]
) -> Callable[[], None]:
    def run() -> None:
        with job_lock(service, job, lock_dir) as mine:
            if not mine:
                log.info("job %s is running elsewhere; skipped", job)
                return
            work()

    return run


def sign_checkpoint_job(service: LedgerService, post: Post = http_post) -> list[PushOutcome]:
    """Sign a checkpoint if the ledger grew, then push the latest to the witnesses that take pushes
    (those whose last push failed, too); returns the pushes' outcomes."""
    size, _ = service.sign_checkpoint()
    log.info("checkpoint covers %d entries", size)
    outcomes = push_to_witnesses(service, post)
    for outcome in outcomes:
        if outcome.contradicts:
            log.critical(
                "witness %s holds a history that checkpoint %d contradicts: %s",
                outcome.witness,
                outcome.size,
                outcome.error,
            )
        elif outcome.error is not None:
            log.warning(
                "witness %s did not cosign checkpoint %d: %s", outcome.witness, outcome.size, outcome.error
            )
        else:
            log.info("witness %s cosigned checkpoint %d", outcome.witness, outcome.size)
    return outcomes


def expire_reservations_job(service: LedgerService, now: datetime | None = None) -> list[str]:
    """Release unpaid reservations past their time and move their orders to ``expired``, in one go."""
    with service.database.unit_of_work() as uow:
        expired = expire_due_orders(uow.session, now or datetime.now(UTC))
        uow.commit()
    if expired:
        log.info("expired %d unpaid orders", len(expired))
    return expired


def prune_idempotency_job(
    service: LedgerService, retention_s: int = DEFAULT_RETENTION_S, now: datetime | None = None
) -> int:
    with service.database.unit_of_work() as uow:
        removed = prune_records(uow.session, now=now or datetime.now(UTC), retention_s=retention_s)
        uow.commit()
    log.info("forgot %d idempotency records older than %d s", removed, retention_s)
    return removed


def deliver_refunds_job(service: LedgerService, providers: Mapping[str, PaymentProvider]) -> None:
    """Send every refund still owed (written with the order change, sent after its commit) to its provider.

    Each carries its own idempotency key, so a refund sent by a request and again by this job, or by two
    runs, is refunded once at the provider.
    """
    deliver_refunds(service.database, providers)


def index_accounts_job(service: LedgerService) -> int:
    """Bring the ledger's account index up to the log (statements scan whatever it has not reached)."""
    indexed = service.index_accounts()
    if indexed:
        log.info("account index: %d more entries", indexed)
    return indexed


def prune_sign_ins_job(service: LedgerService, window_s: int, now: datetime | None = None) -> int:
    """Forget sign-in attempts that have left the failed-attempt window."""
    with service.database.unit_of_work() as uow:
        removed = prune_sign_in_attempts(uow.session, now=now or datetime.now(UTC), window_s=window_s)
        uow.commit()
    return removed


def verify_job(service: LedgerService, on_replica: bool = False) -> RunRecord:
    """Verify the whole ledger; the outcome is stored (the ledger page and the health check show it).

    ``on_replica`` (``TANHUI_VERIFY_ON_REPLICA``): read it on the read replica; when the replica cannot be
    read, on the primary after all, since a night without verification is worse than a loaded primary.
    """
    try:
        record = service.verify_and_record(on_replica=on_replica)
    except REPLICA_FAILURES as exc:
        if not on_replica:
            raise
        service.database.replica_failed(exc)
        log.warning("nightly ledger verification: the read replica failed; verifying on the primary")
        record = service.verify_and_record()
    if record.ok:
        log.info("nightly ledger verification ok: %d entries", record.tree_size)
    else:
        where = f"seq {record.failed_seq}: " if record.failed_seq is not None else ""
        log.critical("nightly ledger verification FAILED: %s%s: %s", where, record.failure, record.detail)
    return record


def start_scheduler(app: Flask, service: LedgerService) -> BackgroundScheduler:
    lock_dir = Path(app.instance_path)
    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    scheduler.add_job(
        _guarded(service, "checkpoint", lock_dir, lambda: sign_checkpoint_job(service)),
        "interval",
        seconds=app.config["TANHUI_CHECKPOINT_INTERVAL_S"],
        id="sign-checkpoint",
        max_instances=1,
        coalesce=True,
    )

    def expire_reservations() -> None:
        expire_reservations_job(service)

    scheduler.add_job(
        _guarded(service, "reservations", lock_dir, expire_reservations),
        "interval",
        seconds=app.config.get("TANHUI_RESERVATION_EXPIRY_INTERVAL_S", 60),
        id="expire-reservations",
        max_instances=1,
        coalesce=True,
    )
    with app.app_context():
        from api.payments_views import payment_providers

        providers = payment_providers()
    scheduler.add_job(
        _guarded(service, "refunds", lock_dir, lambda: deliver_refunds_job(service, providers)),
        "interval",
        seconds=app.config.get("TANHUI_RESERVATION_EXPIRY_INTERVAL_S", 60),
        id="deliver-refunds",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        _guarded(service, "account-index", lock_dir, lambda: index_accounts_job(service)),
        "interval",
        seconds=app.config.get("TANHUI_ACCOUNT_INDEX_INTERVAL_S", 60),
        id="index-accounts",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        _guarded(
            service,
            "verify",
            lock_dir,
            lambda: verify_job(service, on_replica=bool(app.config.get("TANHUI_VERIFY_ON_REPLICA"))),
        ),
        "cron",
        hour=2,
        minute=30,
        id="nightly-verify",
        max_instances=1,
        coalesce=True,
    )
    window_s = int(app.config.get("TANHUI_SIGN_IN_WINDOW_S", DEFAULT_WINDOW_S))
    scheduler.add_job(
        _guarded(service, "sign-ins", lock_dir, lambda: prune_sign_ins_job(service, window_s)),
        "interval",
        hours=1,
        id="prune-sign-ins",
        max_instances=1,
        coalesce=True,
    )
    retention_s = int(app.config.get("TANHUI_IDEMPOTENCY_RETENTION_S", DEFAULT_RETENTION_S))
    scheduler.add_job(
        _guarded(service, "idempotency", lock_dir, lambda: prune_idempotency_job(service, retention_s)),
        "cron",
        hour=3,
        minute=15,
        id="prune-idempotency",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    app.extensions["tanhui.scheduler"] = scheduler
    return scheduler
