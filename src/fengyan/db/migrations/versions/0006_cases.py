"""Cases: case_file, case_task, case_event, case_attachment, case_lead, case_outcome,
workflow_idempotency (fengyan.db.cases).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _case_fk() -> sa.Column[int]:
    return sa.Column(
        "case_id", sa.Integer, sa.ForeignKey("case_file.id", ondelete="RESTRICT"), nullable=False
    )


def upgrade() -> None:
    """Create the case tables."""
    op.create_table(
        "case_file",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(32), nullable=False, unique=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_ref", sa.String(200)),
        sa.Column("firm_id", sa.String(200), nullable=False),
        sa.Column("firm_name", sa.String(300)),
        sa.Column("credit_code", sa.String(18)),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("category", sa.String(64)),
        sa.Column("grade", sa.String(8)),
        sa.Column("model", sa.String(32)),
        sa.Column("score", sa.Float),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16)),
        sa.Column("disposal", sa.String(32)),
        sa.Column("determination", sa.String(32)),
        sa.Column("holder_scope", sa.String(12), nullable=False),
        sa.Column("assignee", sa.String(64)),
        sa.Column("checklist", sa.Text, nullable=False),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("opened_by", sa.String(200), nullable=False),
        sa.Column("opened_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("due_at", TZ),
        sa.Column("closed_at", TZ),
        sa.Column("reopened", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_case_file_region", "case_file", ["region_code"])
    op.create_index("ix_case_file_holder", "case_file", ["holder_scope", "state"])
    op.create_index("ix_case_file_firm", "case_file", ["firm_id", "state"])
    op.create_index("ix_case_file_state", "case_file", ["state", "due_at"])

    op.create_table(
        "case_task",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _case_fk(),
        sa.Column("scope", sa.String(12), nullable=False),
        sa.Column("assignee", sa.String(64)),
        sa.Column("assigned_by", sa.String(200), nullable=False),
        sa.Column("assigned_at", TZ, nullable=False),
        sa.Column("due_at", TZ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ended_at", TZ),
        sa.Column("ended_by", sa.String(200)),
        sa.Column("escalated_to", sa.String(12)),
        sa.Column("escalated_at", TZ),
        sa.Column("escalations", sa.Integer, nullable=False),
    )
    op.create_index("ix_case_task_case", "case_task", ["case_id"])
    op.create_index("ix_case_task_scope", "case_task", ["scope", "status"])
    op.create_index("ix_case_task_due", "case_task", ["status", "due_at"])
    op.create_index(
        "ux_case_task_open",
        "case_task",
        ["case_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )

    op.create_table(
        "case_event",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _case_fk(),
        sa.Column("at", TZ, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16)),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("audit_seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_case_event_case", "case_event", ["case_id", "id"])
    op.create_index("ix_case_event_audit", "case_event", ["audit_seq"])

    op.create_table(
        "case_attachment",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _case_fk(),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("uploaded_by", sa.String(200), nullable=False),
        sa.Column("uploaded_at", TZ, nullable=False),
        sa.UniqueConstraint("case_id", "sha256", name="uq_case_attachment_sha"),
    )

    op.create_table(
        "case_lead",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(32), nullable=False, unique=True),
        _case_fk(),
        sa.Column("direction", sa.String(4), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("target_region", sa.String(12)),
        sa.Column("target_agency", sa.String(200)),
        sa.Column("internal", sa.Boolean, nullable=False),
        sa.Column("peer_case_id", sa.Integer),
        sa.Column("origin", sa.String(200)),
        sa.Column("peer_case_uid", sa.String(32)),
        sa.Column("package_sha256", sa.String(64)),
        sa.Column("key_id", sa.String(32)),
        sa.Column("note", sa.Text),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("sent_at", TZ, nullable=False),
        sa.Column("sent_by", sa.String(200), nullable=False),
        sa.Column("receipt_at", TZ),
        sa.Column("receipt_ref", sa.String(200)),
        sa.Column("feedback_at", TZ),
        sa.Column("feedback", sa.Text),
        sa.Column("feedback_outcome", sa.String(32)),
    )
    op.create_index("ix_case_lead_case", "case_lead", ["case_id"])
    op.create_index("ix_case_lead_direction", "case_lead", ["direction", "kind", "status"])

    op.create_table(
        "case_outcome",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _case_fk(),
        sa.Column("firm_id", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("known_at", TZ, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("retired_at", TZ),
        sa.Column("retired_by", sa.String(200)),
    )
    op.create_index("ix_case_outcome_firm", "case_outcome", ["firm_id", "outcome"])
    op.create_index("ix_case_outcome_case", "case_outcome", ["case_id"])
    op.create_index("ix_case_outcome_known", "case_outcome", ["known_at"])

    op.create_table(
        "workflow_idempotency",
        sa.Column("actor", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )


def downgrade() -> None:
    """Drop the case tables."""
    for table in (
        "workflow_idempotency",
        "case_outcome",
        "case_lead",
        "case_attachment",
        "case_event",
        "case_task",
        "case_file",
    ):
        op.drop_table(table)
