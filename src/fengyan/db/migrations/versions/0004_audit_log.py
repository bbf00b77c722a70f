"""Tamper-evident audit log: entries, signed checkpoints, the sequence counter, triggers.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit_entry", "audit_checkpoint")

# PostgreSQL: one function raising for every forbidden change; row triggers for UPDATE and
# DELETE, a statement trigger for TRUNCATE (which skips row triggers). They fire for every
# role, the owner and superusers included: only dropping the trigger gets past them.
PG_FUNCTION = """
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'audit_head' AND TG_OP = 'UPDATE' THEN
        IF NEW.id = OLD.id AND NEW.size >= OLD.size THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'fengyan audit log: % on % is not allowed (append-only)',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$
"""
SQLITE_MESSAGE = "fengyan audit log: {op} on {table} is not allowed (append-only)"


def upgrade() -> None:
    """Create the audit tables, the counter row and the append-only triggers."""
    op.create_table(
        "audit_entry",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(27), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(500), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_index("ix_audit_entry_actor", "audit_entry", ["actor", "seq"])
    op.create_index("ix_audit_entry_action", "audit_entry", ["action", "seq"])
    op.create_index("ix_audit_entry_target", "audit_entry", ["target", "seq"])
    op.create_index("ix_audit_entry_at", "audit_entry", ["at"])
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("origin", sa.String(200), nullable=False),
        sa.Column("tree_size", sa.BigInteger, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("at", sa.String(27), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(100), nullable=False),
    )
    op.create_index("ix_audit_checkpoint_size", "audit_checkpoint", ["tree_size"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("size", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "size": 0}])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
            )
        for table in (*APPEND_ONLY, "audit_head"):
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
            )
        op.execute(
            "CREATE TRIGGER audit_head_forward BEFORE UPDATE OR DELETE ON audit_head "
            "FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
        )
        return
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            message = SQLITE_MESSAGE.format(op=verb, table=table)
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
    op.execute(
        "CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head "
        "WHEN NEW.id != OLD.id OR NEW.size < OLD.size "
        f"BEGIN SELECT RAISE(ABORT, '{SQLITE_MESSAGE.format(op='UPDATE', table='audit_head')}'); "
        "END"
    )
    op.execute(
        "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
        f"BEGIN SELECT RAISE(ABORT, '{SQLITE_MESSAGE.format(op='DELETE', table='audit_head')}'); "
        "END"
    )


def downgrade() -> None:
    """Drop the audit tables (their triggers go with them) and the trigger function."""
    for table in ("audit_head", "audit_checkpoint", "audit_entry"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
