"""Outcome labels (结果标签): what became of a firm, with the date it became known.

Labels come from closing a case (its determination), from a lead's feedback (a police
case), or are recorded by hand. The table is append-only: a correction retires the old
row. :func:`outcome_labels` is what the learning issue trains on — with ``as_of`` it
returns only what was known then, so a backtest cannot see the future.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengyan.clock import now
from fengyan.db.cases import Case, CaseOutcome
from fengyan.web.scope import Principal
from fengyan.workflow.access import require, require_visible
from fengyan.workflow.core import ActionResult, idempotent, load_case, write_event
from fengyan.workflow.errors import invalid
from fengyan.workflow.machine import load_machine


@dataclass(frozen=True, slots=True)
class OutcomeLabel:
    """One current label: a firm, what became of it, when that was known, and the case."""

    id: int
    firm_id: str
    outcome: str
    known_at: datetime
    case_id: int
    source: str


def _known_at(value: datetime | None) -> datetime:
    moment = now()
    if value is None:
        return moment
    if value.tzinfo is None:
        raise invalid("workflow_naive_time", value=value)
    if value > moment:
        raise invalid("workflow_future_time", value=value)
    return value


def add_outcome(
    session: Session,
    actor: Principal,
    case: Case,
    outcome: str,
    known_at: datetime,
    source: str,
    note: str | None,
) -> ActionResult:
    """Write a label and its event/audit entry (used by the actions that produce labels)."""
    if outcome not in load_machine().outcomes:
        raise invalid(
            "workflow_bad_outcome", value=outcome, allowed=", ".join(load_machine().outcomes)
        )
    moment = now()
    row = CaseOutcome(
        case_id=case.id,
        firm_id=case.firm_id,
        outcome=outcome,
        known_at=known_at,
        source=source,
        note=note,
        recorded_by=actor.username,
        recorded_at=moment,
    )
    session.add(row)
    session.flush()
    detail = {
        "outcome_id": row.id,
        "outcome": outcome,
        "source": source,
        "known_at": known_at.isoformat(),
        "note": note,
    }
    return write_event(session, actor, case, "outcome", "outcome.record", detail, moment=moment)


def do_record_outcome(
    session: Session,
    actor: Principal,
    case_id: int,
    outcome: str,
    *,
    known_at: datetime | None = None,
    note: str | None = None,
    idempotency_key: str | None = None,
) -> ActionResult:
    """Record an outcome label learned outside the case flow (e.g. a court ruling)."""
    require(load_machine(), actor, "record_outcome")
    request = dict(case_id=case_id, outcome=outcome, known_at=known_at, note=note)

    def apply() -> ActionResult:
        case = load_case(session, actor, case_id)
        return add_outcome(session, actor, case, outcome, _known_at(known_at), "manual", note)

    return idempotent(session, actor, idempotency_key, "outcome", request, apply)


def do_retire_outcome(
    session: Session,
    actor: Principal,
    outcome_id: int,
    *,
    reason: str,
    idempotency_key: str | None = None,
) -> ActionResult:
    """Withdraw a wrong label (it stays in the table, retired, with who and when)."""
    require(load_machine(), actor, "record_outcome")
    if not reason.strip():
        raise invalid("workflow_missing_field", field="reason")

    def apply() -> ActionResult:
        row = session.get(CaseOutcome, outcome_id)
        if row is None:
            raise invalid("workflow_no_outcome", outcome_id=outcome_id)
        case = require_visible(actor, session.get(Case, row.case_id), row.case_id)
        if row.retired_at is not None:
            raise invalid("workflow_no_outcome", outcome_id=outcome_id)
        row.retired_at, row.retired_by = now(), actor.username
        detail = {"outcome_id": row.id, "outcome": row.outcome, "reason": reason.strip()}
        return write_event(session, actor, case, "outcome_retire", "outcome.record", detail)

    request = {"outcome_id": outcome_id, "reason": reason}
    return idempotent(session, actor, idempotency_key, "retire_outcome", request, apply)


def outcome_labels(session: Session, *, as_of: datetime | None = None) -> list[OutcomeLabel]:
    """Current (not retired) labels known at ``as_of`` (default: all), oldest first.

    For the learning job, which runs as the system and sees every region.
    """
    query = select(CaseOutcome).where(CaseOutcome.retired_at.is_(None))
    if as_of is not None:
        query = query.where(CaseOutcome.known_at <= as_of)
    rows = session.scalars(query.order_by(CaseOutcome.known_at, CaseOutcome.id)).all()
    return [OutcomeLabel(r.id, r.firm_id, r.outcome, r.known_at, r.case_id, r.source) for r in rows]
