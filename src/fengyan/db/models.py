"""Operational database tables (SQLAlchemy 2). Migrations live in ``db/migrations``.

The ingestion ledger (batch register, quarantine) and the entity-resolution decision
ledger (``resolve_edge``). Later parts (users, regions, published scores, cases, audit)
add their tables here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, text
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


class ResolveEdge(Base):
    """One judgement about a pair of records: a machine suggestion or a human decision.

    Append-only, after nomenklatura's resolver: a new judgement on a pair retires the
    current one (``retired_at``) and is added as a new row, so the table is the full
    history of who decided what and when. Each resolution run rebuilds its output from the
    current rows: ``positive`` forces a link, ``negative`` forbids it, ``unsure`` keeps the
    pair out of the queue without a link, ``no_judgement`` is a machine suggestion waiting
    in the review queue. At most one current (not retired) row per pair.
    """

    __tablename__ = "resolve_edge"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # "enterprise" (a record naming a firm → an enterprise) or "person" (two person records).
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    left_key: Mapped[str] = mapped_column(String(200), nullable=False)
    right_key: Mapped[str] = mapped_column(String(200), nullable=False)
    judgement: Mapped[str] = mapped_column(String(16), nullable=False)
    # Match probability of the suggestion (machine rows); None for human decisions.
    score: Mapped[float | None] = mapped_column(Float)
    # JSON: the names compared and each comparison's level and weight, for the reviewer.
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    user: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_resolve_edge_pair", "kind", "left_key", "right_key"),
        Index("ix_resolve_edge_right", "right_key"),
        Index(
            "ux_resolve_edge_current",
            "kind",
            "left_key",
            "right_key",
            unique=True,
            sqlite_where=text("retired_at IS NULL"),
            postgresql_where=text("retired_at IS NULL"),
        ),
    )


# Tables of other parts, defined in their own modules, registered on Base.metadata here so
# that migrations and the storage contract test see every table.
from fengyan.db import audit as _audit  # noqa: E402, F401
from fengyan.db import cases as _cases  # noqa: E402, F401
from fengyan.db import published as _published  # noqa: E402, F401
from fengyan.db import users as _users  # noqa: E402, F401
