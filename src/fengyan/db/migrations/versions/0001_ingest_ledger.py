"""Ingest ledger: batch register and quarantine.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the batch register and the quarantine."""
    op.create_table(
        "ingest_batch",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False, unique=True),
        sa.Column("entity_type", sa.String(64), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("file_name", sa.String(500), nullable=False),
        sa.Column("file_format", sa.String(16), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("file_size", sa.BigInteger, nullable=False),
        sa.Column("encoding", sa.String(32)),
        sa.Column("mapping_sha256", sa.String(64)),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows_read", sa.BigInteger, nullable=False),
        sa.Column("rows_stored", sa.BigInteger, nullable=False),
        sa.Column("rows_quarantined", sa.BigInteger, nullable=False),
        sa.Column("warnings", sa.BigInteger, nullable=False),
        sa.Column("lake_file", sa.String(500), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fengyan_version", sa.String(32), nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
    )
    op.create_index("ix_ingest_batch_type", "ingest_batch", ["entity_type"])
    op.create_index("ix_ingest_batch_file_sha", "ingest_batch", ["file_sha256"])
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "batch_id",
            sa.String(64),
            sa.ForeignKey("ingest_batch.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("file_name", sa.String(500), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("row", sa.BigInteger),
        sa.Column("field", sa.String(200)),
        sa.Column("value", sa.Text),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
    )
    op.create_index("ix_quarantine_batch", "quarantine", ["batch_id"])
    op.create_index("ix_quarantine_reason", "quarantine", ["reason"])


def downgrade() -> None:
    """Drop the ledger tables."""
    op.drop_table("quarantine")
    op.drop_table("ingest_batch")
