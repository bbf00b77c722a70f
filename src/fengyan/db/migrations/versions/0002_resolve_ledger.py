"""Entity-resolution decision ledger: machine suggestions and human decisions per pair.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the append-only ``resolve_edge`` table."""
    op.create_table(
        "resolve_edge",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("left_key", sa.String(200), nullable=False),
        sa.Column("right_key", sa.String(200), nullable=False),
        sa.Column("judgement", sa.String(16), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("user", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_resolve_edge_pair", "resolve_edge", ["kind", "left_key", "right_key"])
    op.create_index("ix_resolve_edge_right", "resolve_edge", ["right_key"])
    op.create_index(
        "ux_resolve_edge_current",
        "resolve_edge",
        ["kind", "left_key", "right_key"],
        unique=True,
        sqlite_where=sa.text("retired_at IS NULL"),
        postgresql_where=sa.text("retired_at IS NULL"),
    )


def downgrade() -> None:
    """Drop the decision ledger."""
    op.drop_table("resolve_edge")
