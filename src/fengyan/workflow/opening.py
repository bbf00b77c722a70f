"""Opening cases: from a warning (automatically for red), a tip, an inspection, or by hand.

A case copies its evidence at opening — the published score row's dimensions, top
contributors and their evidence keys — so that later runs, which replace ``firm_score``,
cannot change what the case was opened on.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from fengyan.clock import now
from fengyan.db.cases import Case, CaseEvent, CaseTask
from fengyan.db.published import FirmScore, GradeWarning, ScoreRun
from fengyan.standards.regions import significant_prefix
from fengyan.web.errors import NotFound
from fengyan.web.scope import Principal, in_scope
from fengyan.workflow.access import at_level, require, system_principal
from fengyan.workflow.audit import record_many
from fengyan.workflow.config import load_settings
from fengyan.workflow.core import ActionResult, dumps, idempotent, loads, target, write_event
from fengyan.workflow.errors import invalid
from fengyan.workflow.machine import Machine, load_machine

SOURCES: Final = ("warning", "tip", "inspection", "manual", "lead")
_IN_CHUNK: Final = 900  # below SQLite's bound-parameter limit


def evidence_snapshot(row: FirmScore | None, as_of: datetime | None = None) -> dict[str, Any]:
    """The copy of a published score a case keeps: score, dimensions, contributors, keys."""
    if row is None:
        return {}
    top = loads(row.top) or []
    keys: list[str] = []
    for item in top:
        for key in item.get("evidence") or []:
            if key not in keys:
                keys.append(str(key))
    return {
        "model": row.model,
        "run_id": row.run_id,
        "as_of": as_of.isoformat() if as_of else None,
        "score": row.score,
        "raw_score": row.raw_score,
        "grade": row.grade,
        "previous_grade": row.previous_grade,
        "change": row.change,
        "coverage": row.coverage,
        "dimensions": loads(row.dimensions),
        "top": top,
        "rules": loads(row.rules) or [],
        "evidence_keys": keys,
    }


def _pick_score(rows: Sequence[FirmScore], priority: Sequence[str]) -> FirmScore | None:
    """The score a case is opened on: the first model in ``priority``, then the highest."""
    if not rows:
        return None
    rank = {m: i for i, m in enumerate(priority)}
    return min(rows, key=lambda r: (rank.get(r.model, len(rank)), -r.score))


def _run_as_of(session: Session, run_id: int) -> datetime | None:
    run = session.get(ScoreRun, run_id)
    return run.as_of if run else None


def open_case_exists(session: Session, firm_id: str) -> int | None:
    """The id of the firm's case that is not closed, if any."""
    machine = load_machine()
    finals = [s.id for s in machine.states.values() if s.final]
    return session.scalar(
        select(Case.id).where(Case.firm_id == firm_id, Case.state.not_in(finals)).limit(1)
    )


def new_case_values(
    machine: Machine,
    moment: datetime,
    actor: str,
    *,
    source: str,
    source_ref: str | None,
    firm_id: str,
    firm_name: str | None,
    credit_code: str | None,
    region: str,
    category: str | None,
    grade: str | None,
    model: str | None,
    score: float | None,
    evidence: str,
    holder: str,
) -> dict[str, Any]:
    """Column values of a new case in the machine's initial state, held by ``holder``.

    ``evidence`` is the JSON snapshot; the deadline is the initial state's, from ``moment``.
    """
    days = machine.states[machine.initial].deadline_days
    return dict(
        uid=uuid.uuid4().hex,
        source=source,
        source_ref=source_ref,
        firm_id=firm_id,
        firm_name=firm_name,
        credit_code=credit_code,
        region_code=region,
        category=category,
        grade=grade,
        model=model,
        score=score,
        evidence=evidence,
        state=machine.initial,
        mode=None,
        disposal=None,
        determination=None,
        holder_scope=holder,
        assignee=None,
        checklist="{}",
        fields="{}",
        opened_by=actor,
        opened_at=moment,
        updated_at=moment,
        due_at=moment + timedelta(days=days) if days is not None else None,
        closed_at=None,
        reopened=0,
        version=1,
    )


def add_new_case(session: Session, values: dict[str, Any], assigned_by: str) -> Case:
    """Insert a case made by :func:`new_case_values` with its open task for the holder."""
    case = Case(**values)
    session.add(case)
    session.flush()
    session.add(
        CaseTask(
            case_id=case.id,
            scope=case.holder_scope,
            assigned_by=assigned_by,
            assigned_at=case.opened_at,
            due_at=case.due_at,
            status="open",
            escalations=0,
        )
    )
    return case


def do_open_case(
    session: Session,
    actor: Principal,
    *,
    firm_id: str | None = None,
    warning_id: int | None = None,
    source: str = "manual",
    source_ref: str | None = None,
    region_code: str | None = None,
    firm_name: str | None = None,
    credit_code: str | None = None,
    category: str | None = None,
    note: str | None = None,
    idempotency_key: str | None = None,
) -> ActionResult:
    """Open a case on a firm: from a published warning (``warning_id``), a tip, an
    inspection finding, or by hand.

    The firm's published score (if any) gives grade, category, region and the evidence
    snapshot; explicit arguments fill what is unknown. The case starts in the machine's
    initial state, held by the actor's unit. A firm has at most one case not closed.
    """
    machine = load_machine()
    require(machine, actor, "open")
    request = dict(
        firm_id=firm_id,
        warning_id=warning_id,
        source=source,
        source_ref=source_ref,
        region_code=region_code,
        firm_name=firm_name,
        credit_code=credit_code,
        category=category,
        note=note,
    )

    def apply() -> ActionResult:
        nonlocal firm_id, source, source_ref
        warning = None
        if warning_id is not None:
            warning = session.get(GradeWarning, warning_id)
            if warning is None or not in_scope(actor, warning.region_code):
                raise NotFound("workflow_warning_not_found", warning_id=warning_id)
            firm_id, source, source_ref = warning.firm_id, "warning", f"warning/{warning.id}"
        if source not in SOURCES[:-1]:
            raise invalid("workflow_bad_source", value=source, allowed=", ".join(SOURCES[:-1]))
        if not firm_id:
            raise invalid("workflow_missing_field", field="firm_id")
        rows = session.scalars(select(FirmScore).where(FirmScore.firm_id == firm_id)).all()
        if warning is not None:
            rows = [r for r in rows if r.model == warning.model] or list(rows)
        score_row = _pick_score(rows, load_settings().model_priority)
        region = significant_prefix(
            region_code or (score_row.region_code if score_row else None) or ""
        )
        if region is None:
            raise invalid("workflow_missing_field", field="region_code")
        if not in_scope(actor, region):
            raise NotFound("workflow_firm_not_found", firm_id=firm_id)
        existing = open_case_exists(session, firm_id)
        if existing is not None:
            raise invalid("workflow_case_exists", firm_id=firm_id, case_id=existing)
        moment = now()
        evidence = evidence_snapshot(
            score_row, _run_as_of(session, score_row.run_id) if score_row else None
        )
        values = new_case_values(
            machine,
            moment,
            actor.username,
            source=source,
            source_ref=source_ref,
            firm_id=firm_id,
            firm_name=firm_name or (score_row.name if score_row else None),
            credit_code=credit_code or (score_row.credit_code if score_row else None),
            region=region,
            category=category or (score_row.category if score_row else None),
            grade=score_row.grade if score_row else None,
            model=score_row.model if score_row else None,
            score=score_row.score if score_row else None,
            evidence=dumps(evidence),
            holder=actor.scope,
        )
        case = add_new_case(session, values, actor.username)
        detail = {
            "source": source,
            "source_ref": source_ref,
            "firm_id": firm_id,
            "region": region,
            "grade": case.grade,
            "note": note,
        }
        return write_event(
            session, actor, case, "open", "case.open", detail, to_state=case.state, moment=moment
        )

    return idempotent(session, actor, idempotency_key, "open", request, apply)


@dataclass
class OpenReport:
    """What :func:`open_cases_for_new_red` did."""

    run_id: int
    opened: list[int] = field(default_factory=list)
    already_open: list[str] = field(default_factory=list)
    no_region: list[str] = field(default_factory=list)


def open_cases_for_new_red(session: Session, run_id: int) -> OpenReport:
    """Open a case for every firm the run newly graded red (or escalated to red).

    Run right after publishing (same or next transaction). The grades and change types
    are data (``settings.yaml`` ``auto_open``). Firms that already have a case not closed
    are left alone (so running it twice opens nothing new); firms without a region are
    reported, not dropped silently. Cases are held by the firm's city; one audit entry
    and one timeline event per case, all in the caller's transaction.
    """
    machine, settings = load_machine(), load_settings()
    report = OpenReport(run_id)
    warnings = session.scalars(
        select(GradeWarning).where(
            GradeWarning.run_id == run_id,
            GradeWarning.grade.in_(sorted(settings.auto_grades)),
            GradeWarning.change.in_(sorted(settings.auto_changes)),
        )
    ).all()
    by_firm: dict[str, list[GradeWarning]] = {}
    for w in warnings:
        by_firm.setdefault(w.firm_id, []).append(w)
    if not by_firm:
        return report
    firms = sorted(by_firm)
    finals = [s.id for s in machine.states.values() if s.final]
    scores: dict[str, list[FirmScore]] = {}
    busy: set[str] = set()
    for start in range(0, len(firms), _IN_CHUNK):
        chunk = firms[start : start + _IN_CHUNK]
        for row in session.scalars(select(FirmScore).where(FirmScore.firm_id.in_(chunk))):
            scores.setdefault(row.firm_id, []).append(row)
        busy.update(
            session.scalars(
                select(Case.firm_id).where(Case.firm_id.in_(chunk), Case.state.not_in(finals))
            )
        )
    actor = system_principal("auto-open")
    moment = now()
    as_of = _run_as_of(session, run_id)
    rows: list[dict[str, Any]] = []
    refs: list[GradeWarning] = []
    for firm in firms:
        if firm in busy:
            report.already_open.append(firm)
            continue
        models = {w.model for w in by_firm[firm]}
        score_row = _pick_score(
            [r for r in scores.get(firm, []) if r.model in models], settings.model_priority
        )
        warning = min(
            by_firm[firm], key=lambda w: (score_row is None or w.model != score_row.model, w.id)
        )
        region = significant_prefix(
            (score_row.region_code if score_row else None) or warning.region_code or ""
        )
        if region is None:
            report.no_region.append(firm)
            continue
        rows.append(
            new_case_values(
                machine,
                moment,
                actor.username,
                source="warning",
                source_ref=f"warning/{warning.id}",
                firm_id=firm,
                firm_name=score_row.name if score_row else None,
                credit_code=score_row.credit_code if score_row else None,
                region=region,
                category=score_row.category if score_row else None,
                grade=score_row.grade if score_row else None,
                model=score_row.model if score_row else None,
                score=score_row.score if score_row else None,
                evidence=dumps(evidence_snapshot(score_row, as_of)),
                holder=at_level(region, settings.auto_holder_level),
            )
        )
        refs.append(warning)
    if not rows:
        return report
    ids = list(
        session.execute(
            insert(Case).returning(Case.id, sort_by_parameter_order=True), rows
        ).scalars()
    )
    seqs = record_many(
        session,
        actor.username,
        [
            (
                "case.open",
                target(i),
                {
                    "kind": "open",
                    "source": "warning",
                    "firm_id": r["firm_id"],
                    "region": r["region_code"],
                    "grade": r["grade"],
                    "source_ref": r["source_ref"],
                    "to": machine.initial,
                },
            )
            for i, r in zip(ids, rows, strict=True)
        ],
    )
    session.execute(
        insert(CaseTask),
        [
            dict(
                case_id=i,
                scope=r["holder_scope"],
                assignee=None,
                assigned_by=actor.username,
                assigned_at=moment,
                due_at=r["due_at"],
                status="open",
                escalations=0,
            )
            for i, r in zip(ids, rows, strict=True)
        ],
    )
    session.execute(
        insert(CaseEvent),
        [
            dict(
                case_id=i,
                at=moment,
                actor=actor.username,
                kind="open",
                from_state=None,
                to_state=machine.initial,
                audit_seq=seq,
                detail=dumps(
                    {
                        "source": "warning",
                        "source_ref": r["source_ref"],
                        "firm_id": r["firm_id"],
                        "region": r["region_code"],
                        "grade": r["grade"],
                        "run_id": run_id,
                        "warning_id": w.id,
                    }
                ),
            )
            for i, r, seq, w in zip(ids, rows, seqs, refs, strict=True)
        ],
    )
    report.opened = ids
    return report
