"""Audit log fixtures: a workspace per backend, its audit settings, and a tamperer.

The tamperer plays a database superuser: it drops the append-only triggers (which stop
the application's own connection) and then edits the tables with raw SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fengyan.audit import AuditSettings, append
from fengyan.workspace import Workspace

SQLITE_TRIGGERS = (
    "audit_entry_no_update", "audit_entry_no_delete", "audit_checkpoint_no_update",
    "audit_checkpoint_no_delete", "audit_head_forward", "audit_head_no_delete",
)  # fmt: skip
PG_TRIGGERS = (
    ("audit_entry_append_only", "audit_entry"), ("audit_entry_no_truncate", "audit_entry"),
    ("audit_checkpoint_append_only", "audit_checkpoint"),
    ("audit_checkpoint_no_truncate", "audit_checkpoint"),
    ("audit_head_forward", "audit_head"), ("audit_head_no_truncate", "audit_head"),
)  # fmt: skip


@pytest.fixture
def audit(tmp_path: Path) -> AuditSettings:
    """Audit settings with the key and the export folder outside the workspace."""
    return AuditSettings(tmp_path / "keys" / "signing.key", tmp_path / "anchor", "fengyan-test")


def drop_triggers(engine: Engine) -> None:
    """What only a database superuser (or the schema owner) can do."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for trigger, table in PG_TRIGGERS:
                conn.execute(text(f"DROP TRIGGER {trigger} ON {table}"))
        else:
            for trigger in SQLITE_TRIGGERS:
                conn.execute(text(f"DROP TRIGGER {trigger}"))


def fill(engine: Engine, n: int, start: int = 1, actor: str = "li.na") -> None:
    """Append ``n`` case transitions through the application's ``append``, in one transaction."""
    with Session(engine) as session, session.begin():
        for i in range(start, start + n):
            append(
                session,
                actor=actor if i % 3 else "wang.qiang",
                action="case.transition" if i % 4 else "personal.view",
                target=f"case/2026-{i:04d}",
                detail={"from": "核查中", "to": "研判", "n": i},
            )


@pytest.fixture
def engine(workspace: Workspace) -> Iterator[Engine]:
    """The workspace's migrated engine (SQLite and PostgreSQL)."""
    yield workspace.engine
