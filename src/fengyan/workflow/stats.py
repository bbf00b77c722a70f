"""Statistics for the statistics page: by level, category, outcome, time to close, overdue,
and the cross-region lead flows (transferred out and in, and what became of them).

Aggregates run in SQL (GROUP BY) over the principal's visible cases only; the time to
close is summarised with numpy over the closed cases' (opened, closed) pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from fengyan.clock import now
from fengyan.db.cases import Case, CaseLead, CaseOutcome, CaseTask
from fengyan.web.scope import Principal
from fengyan.workflow.access import level_of, require, visible_condition
from fengyan.workflow.machine import load_machine


@dataclass
class CaseStatistics:
    """Counts and durations over the cases a principal can see."""

    scope: str
    total: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    by_level: dict[str, dict[str, int]] = field(default_factory=dict)
    by_category: dict[str, dict[str, int]] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    by_disposal: dict[str, int] = field(default_factory=dict)
    by_outcome: dict[str, int] = field(default_factory=dict)
    time_to_close_days: dict[str, float] = field(default_factory=dict)
    overdue: int = 0
    escalated: int = 0
    leads: dict[str, Any] = field(default_factory=dict)


def _grouped(session: Session, column: Any, where: list[ColumnElement[bool]]) -> dict[str, int]:
    rows = session.execute(
        select(column, func.count()).select_from(Case).where(*where).group_by(column)
    )
    return {str(k) if k is not None else "-": int(n) for k, n in rows}


def case_statistics(
    session: Session,
    principal: Principal,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    at: datetime | None = None,
) -> CaseStatistics:
    """Statistics of the cases opened in [``since``, ``until``) inside the scope."""
    machine = load_machine()
    require(machine, principal, "view")
    moment = at or now()
    finals = [s.id for s in machine.states.values() if s.final]
    where: list[ColumnElement[bool]] = [visible_condition(principal)]
    if since is not None:
        where.append(Case.opened_at >= since)
    if until is not None:
        where.append(Case.opened_at < until)
    stats = CaseStatistics(principal.scope)
    stats.by_state = _grouped(session, Case.state, where)
    stats.total = sum(stats.by_state.values())
    stats.by_source = _grouped(session, Case.source, where)
    stats.by_disposal = _grouped(session, Case.disposal, [*where, Case.disposal.is_not(None)])
    closed = Case.state.in_(finals)
    for category, is_closed, n in session.execute(
        select(Case.category, closed, func.count()).where(*where).group_by(Case.category, closed)
    ):
        entry = stats.by_category.setdefault(category or "-", {"open": 0, "closed": 0})
        entry["closed" if is_closed else "open"] += int(n)
    late = and_(CaseTask.due_at.is_not(None), CaseTask.due_at < moment)
    open_rows = session.execute(
        select(Case.holder_scope, late, CaseTask.escalated_to.is_not(None), func.count())
        .select_from(Case)
        .join(CaseTask, and_(CaseTask.case_id == Case.id, CaseTask.status == "open"))
        .where(*where, ~closed)
        .group_by(Case.holder_scope, late, CaseTask.escalated_to.is_not(None))
    ).all()
    for holder, is_late, is_escalated, n in open_rows:
        entry = stats.by_level.setdefault(level_of(holder) or "-", {"open": 0, "overdue": 0})
        entry["open"] += int(n)
        if is_late:
            entry["overdue"] += int(n)
            stats.overdue += int(n)
        if is_escalated:
            stats.escalated += int(n)
    stats.by_outcome = {
        str(k): int(n)
        for k, n in session.execute(
            select(CaseOutcome.outcome, func.count())
            .join(Case, Case.id == CaseOutcome.case_id)
            .where(*where, CaseOutcome.retired_at.is_(None))
            .group_by(CaseOutcome.outcome)
        )
    }
    pairs = session.execute(select(Case.opened_at, Case.closed_at).where(*where, closed)).all()
    if pairs:
        days = np.array([(c - o).total_seconds() / 86400 for o, c in pairs if c is not None])
        if days.size:
            stats.time_to_close_days = {
                "count": float(days.size),
                "mean": float(days.mean()),
                "median": float(np.median(days)),
                "p90": float(np.percentile(days, 90)),
                "max": float(days.max()),
            }
    stats.leads = _lead_stats(session, where)
    return stats


def _lead_stats(session: Session, where: list[ColumnElement[bool]]) -> dict[str, Any]:
    rows = session.execute(
        select(
            CaseLead.direction,
            CaseLead.kind,
            CaseLead.status,
            CaseLead.target_region,
            CaseLead.feedback_outcome,
            CaseLead.origin,
            func.count(),
        )
        .join(Case, Case.id == CaseLead.case_id)
        .where(*where)
        .group_by(
            CaseLead.direction,
            CaseLead.kind,
            CaseLead.status,
            CaseLead.target_region,
            CaseLead.feedback_outcome,
            CaseLead.origin,
        )
    ).all()
    out: dict[str, Any] = {
        "out": {"total": 0, "by_kind": {}, "by_status": {}, "by_target_region": {}, "outcomes": {}},
        "in": {"total": 0, "by_kind": {}, "by_origin": {}},
    }
    for direction, kind, status, region, outcome, origin, n in rows:
        n = int(n)
        side = out[direction]
        side["total"] += n
        side["by_kind"][kind] = side["by_kind"].get(kind, 0) + n
        if direction == "out":
            side["by_status"][status] = side["by_status"].get(status, 0) + n
            key = region or "-"
            side["by_target_region"][key] = side["by_target_region"].get(key, 0) + n
            if outcome:
                side["outcomes"][outcome] = side["outcomes"].get(outcome, 0) + n
        else:
            key = origin or "-"
            side["by_origin"][key] = side["by_origin"].get(key, 0) + n
    return out
