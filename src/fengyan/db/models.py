"""Operational database tables (SQLAlchemy 2). Migrations live in ``db/migrations``.

Only what the ingestion ledger needs so far: the batch register and the quarantine.
Later parts (users, regions, published scores, cases, audit) add their tables here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from fengyan.db.types import UTCDateTime


class Base(DeclarativeBase):
    """Declarative base for every operational table."""


class IngestBatch(Base):
    """One file ingested into the lake: who sent it, what it held, where it went."""

    __tablename__ = "ingest_batch"

    # Deterministic: a hash of the file's bytes, entity type, source, mapping and as-of.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True, nullable=False)
    entity_type: Mapped[str] = mapped_column(String(64), nullable=False)
    source: Mapped[str] = mapped_column(String(200), nullable=False)
    file_name: Mapped[str] = mapped_column(String(500), nullable=False)
    file_format: Mapped[str] = mapped_column(String(16), nullable=False)
    file_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    file_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    encoding: Mapped[str | None] = mapped_column(String(32))
    mapping_sha256: Mapped[str | None] = mapped_column(String(64))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    rows_read: Mapped[int] = mapped_column(BigInteger, nullable=False)
    rows_stored: Mapped[int] = mapped_column(BigInteger, nullable=False)
    rows_quarantined: Mapped[int] = mapped_column(BigInteger, nullable=False)
    warnings: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    lake_file: Mapped[str] = mapped_column(String(500), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    fengyan_version: Mapped[str] = mapped_column(String(32), nullable=False)
    # JSON: notes such as ignored columns, detected encoding, per-field error counts.
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="{}")

    __table_args__ = (
        Index("ix_ingest_batch_type", "entity_type"),
        Index("ix_ingest_batch_file_sha", "file_sha256"),
    )


class QuarantineEntry(Base):
    """A record (or one field of it) that failed validation, with where and why."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("ingest_batch.id", ondelete="RESTRICT"), nullable=False
    )
    file_name: Mapped[str] = mapped_column(String(500), nullable=False)
    # "error": the record was not stored. "warning": stored, with a finding to review.
    severity: Mapped[str] = mapped_column(String(8), nullable=False)
    row: Mapped[int | None] = mapped_column(BigInteger)
    field: Mapped[str | None] = mapped_column(String(200))
    value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(64), nullable=False)
    # JSON parameters for the reason's message template (see fengyan.i18n).
    params: Mapped[str] = mapped_column(Text, nullable=False, default="{}")

    __table_args__ = (
        Index("ix_quarantine_batch", "batch_id"),
        Index("ix_quarantine_reason", "reason"),
    )
