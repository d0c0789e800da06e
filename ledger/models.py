"""The ledger's tables: entries (append-only), checkpoints and keys, and the holdings derived from entries.

``ledger_entries`` is the log. Each row keeps the exact body bytes (as text), the RFC 9162 leaf hash and
the hashes of the complete subtrees that this leaf completed (levels 1..t, 32 bytes each), so that any
aligned subtree hash (level L, index i) is found in the row of seq ``(i + 1) * 2**L - 1``: proofs read
O(log n) rows and never rebuild the tree. The seq is assigned by the sequencer under its lock, never by
the database.

Holdings (``ledger_holdings``: live ranges; ``ledger_closed_ranges``: retired and cancelled ranges) and
``ledger_batches`` are state derived from the entries; ``tanhui ledger verify`` replays the entries and
compares.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.orm import Base

ACCOUNT_TYPES = ("registry", "buffer", "retail", "owner", "enterprise", "organiser", "individual")


class Account(Base):
    """A holder on the ledger. Metadata only: who holds what is in the entries."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("type IN (" + ", ".join(f"'{t}'" for t in ACCOUNT_TYPES) + ")", name="type_known"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Entry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("seq >= 0", name="seq_non_negative"),
        CheckConstraint("kind IN ('issue', 'transfer', 'retire', 'cancel')", name="kind_known"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    request_id: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    subtree_hashes: Mapped[bytes] = mapped_column(LargeBinary)


class Head(Base):
    """The one row the sequencer locks: tree size, last leaf hash and last entry time."""

    __tablename__ = "ledger_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"), CheckConstraint("size >= 0", name="size"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    last_leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    last_time: Mapped[str] = mapped_column(String(32))


class Batch(Base):
    __tablename__ = "ledger_batches"
    __table_args__ = (CheckConstraint("quantity_kg > 0", name="quantity_positive"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    project: Mapped[str] = mapped_column(String(16), index=True)
    vintage: Mapped[str] = mapped_column(String(4))
    number: Mapped[int] = mapped_column(Integer)
    quantity_kg: Mapped[int] = mapped_column(BigInteger)
    issue_seq: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_entries.seq"), unique=True)


class Holding(Base):
    """A live range: kilograms ``start_kg..end_kg`` of a batch held by an account."""

    __tablename__ = "ledger_holdings"
    __table_args__ = (
        CheckConstraint("start_kg >= 1 AND end_kg >= start_kg", name="range_valid"),
        Index("ix_ledger_holdings_account_batch", "account_id", "batch_id"),
    )

    batch_id: Mapped[str] = mapped_column(String(40), ForeignKey("ledger_batches.id"), primary_key=True)
    start_kg: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    end_kg: Mapped[int] = mapped_column(BigInteger)
    account_id: Mapped[str] = mapped_column(String(64), ForeignKey("ledger_accounts.id"))


class ClosedRange(Base):
    """A retired or cancelled range, with the entry that closed it. Never moves again."""

    __tablename__ = "ledger_closed_ranges"
    __table_args__ = (
        CheckConstraint("start_kg >= 1 AND end_kg >= start_kg", name="range_valid"),
        CheckConstraint("status IN ('retired', 'cancelled')", name="status_known"),
    )

    batch_id: Mapped[str] = mapped_column(String(40), ForeignKey("ledger_batches.id"), primary_key=True)
    start_kg: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    end_kg: Mapped[int] = mapped_column(BigInteger)
    account_id: Mapped[str] = mapped_column(String(64), ForeignKey("ledger_accounts.id"))
    status: Mapped[str] = mapped_column(String(16))
    entry_seq: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_entries.seq"), index=True)


class Checkpoint(Base):
    """A signed C2SP checkpoint note. Append-only; the id only orders them, it is not a tree index."""

    __tablename__ = "ledger_checkpoints"
    __table_args__ = (CheckConstraint("size >= 0", name="size"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VerificationRun(Base):
    """The outcome of one full verification run by the scheduler: what the registry shows of its own audit.

    ``tree_size`` is the number of entries verified (for a failure, the size when the run began);
    ``failed_seq``, ``failure`` and ``detail`` say where and what, as ``tanhui ledger verify`` does.
    """

    __tablename__ = "ledger_verification_runs"
    __table_args__ = (CheckConstraint("tree_size >= 0", name="tree_size"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    ok: Mapped[bool] = mapped_column(Boolean)
    failed_seq: Mapped[int | None] = mapped_column(BigInteger)
    failure: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)


class CheckpointCosignature(Base):
    """A witness's cosignature of a checkpoint (:mod:`ledger.cosignature`), served under the checkpoint.

    One per checkpoint and witness: a later cosignature of the same checkpoint by the same witness
    (a newer time) replaces the earlier one.
    """

    __tablename__ = "ledger_cosignatures"
    __table_args__ = (UniqueConstraint("checkpoint_id", "name", "key_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(Integer, ForeignKey("ledger_checkpoints.id"))
    name: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(8))
    timestamp: Mapped[int] = mapped_column(BigInteger)
    line: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Witness(Base):
    """A witness the registry lists (beside those of ``TANHUI_WITNESS_KEYS``): its cosignatures are kept.

    Removing a witness sets ``removed_at``; cosignatures it made while listed stay served.
    """

    __tablename__ = "ledger_witnesses"

    vkey: Mapped[str] = mapped_column(String(300), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(8))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    url: Mapped[str | None] = mapped_column(String(500))
    """The witness's submission prefix (c2sp.org/tlog-witness): checkpoints are pushed to it when set."""
    pushed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pushed_size: Mapped[int | None] = mapped_column(BigInteger)
    """The size of the checkpoint the last push offered (cosigned if ``push_error`` is None)."""
    push_error: Mapped[str | None] = mapped_column(Text)


class VerifierKey(Base):
    """Every public key that has signed checkpoints, so that old checkpoints stay verifiable."""

    __tablename__ = "ledger_verifier_keys"

    vkey: Mapped[str] = mapped_column(String(300), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BeneficiarySecret(Base):
    """Name and salt behind a private retirement's commitment; erasable without touching the log."""

    __tablename__ = "ledger_beneficiary_secrets"

    seq: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_entries.seq"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    salt: Mapped[str] = mapped_column(String(64))


class AccountEntry(Base):
    """That entry ``seq`` names account ``account_id``: a read model kept behind the log, for statements.

    Not written by the sequencer (appends stay as lean as the log allows); :mod:`ledger.account_index`
    adds the rows of new entries later and readers scan the entries it has not reached yet.
    """

    __tablename__ = "ledger_account_entries"

    account_id: Mapped[str] = mapped_column(String(64), ForeignKey("ledger_accounts.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_entries.seq"), primary_key=True)
