"""Audit log tables: the entries, the signed checkpoints and the sequence counter.

Written only through :mod:`fengyan.audit` (``append`` and ``create_checkpoint``). The
migration that creates these tables also installs triggers that refuse ``UPDATE``,
``DELETE`` (and, on PostgreSQL, ``TRUNCATE``) on ``audit_entry`` and ``audit_checkpoint``,
and refuse to move the counter backwards, so nobody can rewrite the log through the
application's connection. See docs/audit.md.

Times are stored as their canonical text (``2026-11-21T08:54:24.123456Z``), not as a
datetime column: the text is exactly what is hashed, it is the same on every backend, and
being fixed-width it sorts (and range-filters) as time does.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fengyan.db.models import Base


class AuditEntryRow(Base):
    """One audit log entry: who did what to which object, and its RFC 6962 leaf hash."""

    __tablename__ = "audit_entry"

    # Gap-free from 1; the entry with seq n is leaf n - 1 of the Merkle tree.
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(27), nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    target: Mapped[str] = mapped_column(String(500), nullable=False)
    # Canonical JSON (sorted keys, no spaces); spliced as-is into the hashed entry bytes.
    detail: Mapped[str] = mapped_column(Text, nullable=False)
    # SHA-256(0x00 || entry bytes), kept to serve proofs fast; verify recomputes it.
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)

    __table_args__ = (
        Index("ix_audit_entry_actor", "actor", "seq"),
        Index("ix_audit_entry_action", "action", "seq"),
        Index("ix_audit_entry_target", "target", "seq"),
        Index("ix_audit_entry_at", "at"),
    )


class AuditCheckpointRow(Base):
    """A signed tree head: the root of the first ``tree_size`` entries, signed with Ed25519."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(String(200), nullable=False)
    tree_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    at: Mapped[str] = mapped_column(String(27), nullable=False)
    key_id: Mapped[str] = mapped_column(String(64), nullable=False)
    # Base64 of the 64-byte Ed25519 signature over the checkpoint note.
    signature: Mapped[str] = mapped_column(String(100), nullable=False)

    __table_args__ = (Index("ix_audit_checkpoint_size", "tree_size"),)


class AuditHead(Base):
    """The single-row counter that hands out sequence numbers (``id`` is always 1).

    Appends lock it with ``UPDATE … SET size = size + n RETURNING size`` in the caller's
    transaction: on PostgreSQL the row lock serialises concurrent appends, on SQLite the
    statement takes the writer lock; a rolled-back transaction gives its numbers back.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
