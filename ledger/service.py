"""The ledger as the rest of the system uses it: one object wiring database, signing key and origin.

Plain Python, no Flask: the web app, the CLI, the scheduler's jobs and the demo all go through it.
Every write runs in one unit of work that commits only if the whole command batch succeeded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import checkpoints, keys
from ledger.account_index import index_new_entries
from ledger.accounts import ensure_account
from ledger.commands import Command
from ledger.cosignature import Cosignature, CosignatureVerifier
from ledger.database import Database
from ledger.errors import ProofUnavailable
from ledger.models import VerifierKey
from ledger.note import NoteSigner, NoteVerifier
from ledger.proofs import EntryProof, entry_proof
from ledger.replica_reads import read_replica
from ledger.sequencer import AppendedEntry, Sequencer
from ledger.verification_runs import RunRecord, record_run
from ledger.verify import VerificationReport, verify_ledger
from ledger.verify_common import VerificationFailure
from ledger.witnessing import (
    accept_cosignatures,
    add_witness,
    listed_witnesses,
    remove_witness,
    witnessed_covering,
)


@dataclass
class LedgerConfig:
    origin: str
    signing_key_file: Path
    create_key_if_missing: bool = True
    witness_keys: tuple[str, ...] = ()
    """Cosigner vkeys (:mod:`ledger.cosignature`) of the witnesses whose cosignatures are kept and served."""


class LedgerService:
    def __init__(self, database: Database, config: LedgerConfig, sequencer: Sequencer | None = None) -> None:
        self.database = database
        self.config = config
        self.sequencer = sequencer or Sequencer()
        self._signer: NoteSigner | None = None
        self.configured_witnesses = [CosignatureVerifier.from_vkey(vkey) for vkey in config.witness_keys]

    # --- keys -----------------------------------------------------------------------------------------

    @property
    def signer(self) -> NoteSigner:
        if self._signer is None:
            path = self.config.signing_key_file
            if self.config.create_key_if_missing:
                self._signer = keys.load_or_create(path, self.config.origin)
            else:
                self._signer = keys.read_key_file(path)
        return self._signer

    def verifier_key(self) -> str:
        """The current verifier key line; without the private key at hand, the newest one registered."""
        path = self.config.signing_key_file
        if self._signer is not None or path.exists() or self.config.create_key_if_missing:
            return self.signer.vkey
        with self.database.reading() as session:
            vkey = session.scalar(select(VerifierKey.vkey).order_by(VerifierKey.created_at.desc()).limit(1))
        if vkey is None:
            raise LookupError("no signing key has been configured or registered")
        return vkey

    def rotate_key(self) -> tuple[str, str]:
        """New signing key; signs a hand-over checkpoint with both keys. Returns (old vkey, new vkey).

        The key file changes only once the hand-over is stored (:func:`ledger.keys.rotation`).
        """
        with (
            keys.rotation(self.config.signing_key_file, self.config.origin) as (old, new),
            self.database.unit_of_work() as uow,
        ):
            checkpoints.sign_current(uow.session, [old, new], self.config.origin, force=True)
            uow.commit()
        self._signer = new
        return old.vkey, new.vkey

    # --- writes ---------------------------------------------------------------------------------------

    def open_account(self, account_id: str, account_type: str, name: str) -> None:
        """Create an account if it does not exist (idempotent by id)."""
        with self.database.unit_of_work() as uow:
            ensure_account(uow.session, account_id, account_type, name)
            uow.commit()

    def append(self, commands: Sequence[Command]) -> list[AppendedEntry]:
        with self.database.unit_of_work() as uow:
            entries = self.sequencer.append(uow.session, commands)
            uow.commit()
        return entries

    def index_accounts(self) -> int:
        """One run of the account index behind statements, in its own transaction; entries indexed."""
        with self.database.unit_of_work() as uow:
            indexed = index_new_entries(uow.session)
            uow.commit()
        return indexed

    def sign_checkpoint(self, *, force: bool = False) -> tuple[int, str]:
        with self.database.unit_of_work() as uow:
            record = checkpoints.sign_current(uow.session, [self.signer], self.config.origin, force=force)
            size, note = record.size, record.note
            uow.commit()
        return size, note

    def accept_cosignatures(self, note: str, now: datetime | None = None) -> tuple[int, list[Cosignature]]:
        """Keep the listed witnesses' cosignatures on one of this registry's checkpoints (see witnessing)."""
        with self.database.unit_of_work() as uow:
            log_keys = checkpoints.known_verifiers(uow.session)
            witnesses = listed_witnesses(uow.session, self.configured_witnesses)
            accepted = accept_cosignatures(uow.session, note, log_keys, witnesses, now or datetime.now(UTC))
            uow.commit()
        return accepted

    def witnesses(self) -> list[CosignatureVerifier]:
        """The witnesses listed: by ``TANHUI_WITNESS_KEYS`` and by ``tanhui witnesses add``."""
        with self.database.reading() as session:
            return listed_witnesses(session, self.configured_witnesses)

    def add_witness(self, vkey: str, url: str | None = None) -> CosignatureVerifier:
        """List a witness; with ``url`` (its tlog-witness submission prefix), checkpoints are pushed to it."""
        with self.database.unit_of_work() as uow:
            witness = add_witness(uow.session, vkey, datetime.now(UTC), url)
            uow.commit()
        return witness

    def remove_witness(self, vkey: str) -> None:
        with self.database.unit_of_work() as uow:
            remove_witness(uow.session, vkey, datetime.now(UTC))
            uow.commit()

    def proof_for(self, seq: int) -> EntryProof:
        """An offline-verifiable proof of entry ``seq``, signing a covering checkpoint if none exists yet.

        Read on the read replica when it holds a covering checkpoint already (certificates are the
        registry's most read pages); otherwise on the primary, which may sign one.
        """
        found = read_replica(self.database, lambda session: _covered_proof(session, seq))
        if found is not None:
            return found[0]
        with self.database.unit_of_work() as uow:
            checkpoint = witnessed_covering(uow.session, seq) or checkpoints.ensure_covering(
                uow.session, seq, [self.signer], self.config.origin
            )
            proof = entry_proof(uow.session, seq, checkpoint)
            uow.commit()
        return proof

    # --- reads ----------------------------------------------------------------------------------------

    def verifiers(self, pinned: Sequence[str] = ()) -> list[NoteVerifier]:
        if pinned:
            return [NoteVerifier.from_vkey(vkey) for vkey in pinned]
        with self.database.reading() as session:
            return checkpoints.known_verifiers(session)

    def verify(
        self,
        pinned_keys: Sequence[str] = (),
        progress: Callable[[int], None] | None = None,
        *,
        jobs: int = 1,
        on_replica: bool = False,
    ) -> VerificationReport:
        """Full verification; ``jobs=2`` checks integrity in a second process beside the replay.

        ``on_replica``: read the ledger on the read replica (its state when the verification starts), so
        that a long verification does not load the primary. A streaming replica holds the primary's very
        pages, so whatever was written to the primary (tampering through SQL included) is verified there
        too; a fault of the primary's own disk that never reached its log would not be. Raises
        ``ValueError`` when no replica is configured.
        """
        if jobs not in (1, 2):
            raise ValueError("jobs must be 1 or 2")
        if jobs == 2 and not self.database.shareable:
            raise ValueError("an in-memory database cannot be read by a second process: use jobs=1")
        if on_replica and self.database.replica_url is None:
            raise ValueError("no read replica is configured (DATABASE_REPLICA_URL)")
        verifiers = self.verifiers(pinned_keys)
        url = self.database.replica_url if on_replica else self.database.url
        with self._reading(on_replica) as session:
            return verify_ledger(
                session,
                verifiers,
                self.config.origin,
                progress=progress,
                parallel_url=url if jobs == 2 else None,
            )

    def verify_and_record(
        self,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        jobs: int = 1,
        on_replica: bool = False,
    ) -> RunRecord:
        """A full verification (:meth:`verify`) whose outcome, held or failed, is stored (on the primary)
        and returned."""
        started_at = clock()
        size_at_start = self.size(on_replica=on_replica)
        outcome: VerificationReport | VerificationFailure
        try:
            outcome = self.verify(jobs=jobs, on_replica=on_replica)
        except VerificationFailure as failure:
            outcome = failure
        return self.record_verification(started_at, clock(), outcome, size_at_start)

    def record_verification(
        self,
        started_at: datetime,
        finished_at: datetime,
        outcome: VerificationReport | VerificationFailure,
        size_at_start: int,
    ) -> RunRecord:
        """Store the outcome of a full verification (what the ledger page and the health check show)."""
        with self.database.unit_of_work() as uow:
            record = record_run(
                uow.session,
                started_at=started_at,
                finished_at=finished_at,
                outcome=outcome,
                size_at_start=size_at_start,
            )
            uow.commit()
        return record

    def size(self, *, on_replica: bool = False) -> int:
        """The ledger's size (as the read replica has it, with ``on_replica``)."""
        with self._reading(on_replica) as session:
            return checkpoints.ledger_size(session)

    def _reading(self, on_replica: bool) -> AbstractContextManager[Session]:
        return self.database.replica_reading() if on_replica else self.database.reading()


def _covered_proof(session: Session, seq: int) -> EntryProof:
    """The proof of ``seq`` against a checkpoint that covers it already: the one the primary would choose
    (the most cosigned, else the latest)."""
    checkpoint = witnessed_covering(session, seq)
    if checkpoint is None:
        latest = checkpoints.latest(session)
        checkpoint = latest if latest is not None and latest.size > seq else None
    if checkpoint is None:
        raise ProofUnavailable(f"no signed checkpoint covers entry {seq} yet", field="seq")
    return entry_proof(session, seq, checkpoint)
