"""Published scores and warnings: score_run, firm_score, warning, region_summary.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables the index publishes to (fengyan.db.published)."""
    op.create_table(
        "score_run",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("models", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("firms", sa.BigInteger, nullable=False),
        sa.Column("counts", sa.Text, nullable=False),
        sa.Column("fengyan_version", sa.String(32), nullable=False),
    )
    op.create_table(
        "firm_score",
        sa.Column("model", sa.String(32), primary_key=True),
        sa.Column("firm_id", sa.String(200), primary_key=True),
        sa.Column(
            "run_id",
            sa.Integer,
            sa.ForeignKey("score_run.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("raw_score", sa.Float, nullable=False),
        sa.Column("grade", sa.String(8), nullable=False),
        sa.Column("previous_grade", sa.String(8), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("coverage", sa.Float, nullable=False),
        sa.Column("dimensions", sa.Text, nullable=False),
        sa.Column("top", sa.Text, nullable=False),
        sa.Column("rules", sa.Text, nullable=False),
        sa.Column("name", sa.String(300)),
        sa.Column("credit_code", sa.String(18)),
        sa.Column("region_code", sa.String(12)),
        sa.Column("category", sa.String(64)),
        sa.Column("finance_like", sa.Boolean),
    )
    op.create_index("ix_firm_score_grade", "firm_score", ["model", "grade", "score"])
    op.create_index("ix_firm_score_region", "firm_score", ["region_code"])
    op.create_index("ix_firm_score_firm", "firm_score", ["firm_id"])
    op.create_table(
        "warning",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            sa.Integer,
            sa.ForeignKey("score_run.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("model", sa.String(32), nullable=False),
        sa.Column("firm_id", sa.String(200), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("grade", sa.String(8), nullable=False),
        sa.Column("previous_grade", sa.String(8), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("previous_score", sa.Float),
        sa.Column("region_code", sa.String(12)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_warning_firm", "warning", ["firm_id", "model"])
    op.create_index("ix_warning_run", "warning", ["run_id", "change"])
    op.create_table(
        "region_summary",
        sa.Column(
            "run_id",
            sa.Integer,
            sa.ForeignKey("score_run.id", ondelete="RESTRICT"),
            primary_key=True,
        ),
        sa.Column("model", sa.String(32), primary_key=True),
        sa.Column("region_code", sa.String(12), primary_key=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("firms", sa.BigInteger, nullable=False),
        sa.Column("red", sa.BigInteger, nullable=False),
        sa.Column("orange", sa.BigInteger, nullable=False),
        sa.Column("yellow", sa.BigInteger, nullable=False),
        sa.Column("blue", sa.BigInteger, nullable=False),
        sa.Column("new", sa.BigInteger, nullable=False),
        sa.Column("escalated", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    """Drop the published tables."""
    for table in ("region_summary", "warning", "firm_score", "score_run"):
        op.drop_table(table)
