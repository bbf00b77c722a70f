"""The one place where the workflow writes to the audit log.

Every ``do_*`` action calls :func:`record` inside its own transaction, after its change is
flushed, so the change, its timeline event and the audit entry commit or roll back
together. It calls :func:`fengyan.audit.append` (issue 8's tamper-evident log); switching
the log implementation is an edit here only.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from fengyan.audit import AuditItem, append, append_many


def record(
    session: Session, actor: str, action: str, target: str, detail: Mapping[str, object]
) -> int:
    """Append one audit entry in the session's transaction; returns its sequence number."""
    return append(session, actor=actor, action=action, target=target, detail=detail).seq


def record_many(
    session: Session, actor: str, items: list[tuple[str, str, dict[str, object]]]
) -> list[int]:
    """Append (action, target, detail) entries in bulk; returns their sequence numbers."""
    if not items:
        return []
    last = append_many(session, [AuditItem(actor, a, t, d) for a, t, d in items])
    return list(range(last - len(items) + 1, last + 1))
