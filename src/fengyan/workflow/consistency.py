"""Do the case tables and the audit log agree? (They are written in one transaction.)"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengyan.db.audit import AuditEntryRow
from fengyan.db.cases import CaseEvent

# Audit actions on a case that are reads, not changes: they have no timeline event.
READ_ACTIONS = ("case.view", "personal.export")


def check_consistency(session: Session) -> list[str]:
    """Problems found: events without their audit entry, case audit entries without an
    event, or an event whose audit entry names another case. Empty when they agree."""
    problems: list[str] = []
    events = {
        seq: (event_id, case_id)
        for event_id, case_id, seq in session.execute(
            select(CaseEvent.id, CaseEvent.case_id, CaseEvent.audit_seq)
        )
    }
    entries = {
        seq: target
        for seq, target in session.execute(
            select(AuditEntryRow.seq, AuditEntryRow.target).where(
                AuditEntryRow.target.startswith("case/"),
                AuditEntryRow.action.not_in(READ_ACTIONS),
            )
        )
    }
    for seq, (event_id, case_id) in sorted(events.items()):
        target = entries.get(seq)
        if target is None:
            problems.append(f"event {event_id} of case {case_id}: audit entry {seq} missing")
        elif target != f"case/{case_id}":
            problems.append(f"event {event_id}: audit entry {seq} names {target}")
    for seq in sorted(set(entries) - set(events)):
        problems.append(f"audit entry {seq} ({entries[seq]}) has no case event")
    return problems
