"""Read services for the pages and the API: my tasks, the team board, case lists, the case.

Every function takes (session, principal, …), checks the ``view`` permission and filters
by :func:`fengyan.workflow.access.visible_condition` — the one scope filter — so a street
user's lists hold only its street's cases and a case of another region is "not found".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, func, select
from sqlalchemy import case as when
from sqlalchemy.orm import Session

from fengyan.clock import now
from fengyan.db.cases import Case, CaseAttachment, CaseEvent, CaseLead, CaseOutcome, CaseTask
from fengyan.web.errors import WebError
from fengyan.web.scope import Principal
from fengyan.workflow.access import level_of, require, visible_condition
from fengyan.workflow.actions import check_transition, checklist_for, missing_requirements
from fengyan.workflow.core import load_case, loads
from fengyan.workflow.errors import invalid
from fengyan.workflow.machine import LEVEL_DIGITS, load_machine

T = TypeVar("T")
MAX_PAGE = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, with the total count (the API's ``?page=&size=``)."""

    total: int
    page: int
    size: int
    items: list[T]


@dataclass(frozen=True, slots=True)
class CaseSummary:
    """A row of a case list."""

    id: int
    uid: str
    firm_id: str
    firm_name: str | None
    credit_code: str | None
    region_code: str
    category: str | None
    grade: str | None
    score: float | None
    source: str
    state: str
    disposal: str | None
    holder_scope: str
    holder_level: str | None
    assignee: str | None
    due_at: datetime | None
    overdue: bool
    escalated_to: str | None
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    version: int


def _summary(case: Case, task: CaseTask | None, moment: datetime) -> CaseSummary:
    due = task.due_at if task is not None else None
    return CaseSummary(
        case.id,
        case.uid,
        case.firm_id,
        case.firm_name,
        case.credit_code,
        case.region_code,
        case.category,
        case.grade,
        case.score,
        case.source,
        case.state,
        case.disposal,
        case.holder_scope,
        level_of(case.holder_scope),
        case.assignee,
        due,
        due is not None and due < moment,
        task.escalated_to if task is not None else None,
        case.opened_at,
        case.updated_at,
        case.closed_at,
        case.version,
    )


def _base(principal: Principal) -> Select[Case, CaseTask]:
    return (
        select(Case, CaseTask)
        .outerjoin(CaseTask, and_(CaseTask.case_id == Case.id, CaseTask.status == "open"))
        .where(visible_condition(principal))
    )


def _page(
    session: Session, stmt: Select[Case, CaseTask], page: int, size: int, moment: datetime
) -> Page[CaseSummary]:
    if page < 1 or not 1 <= size <= MAX_PAGE:
        raise invalid("workflow_bad_page", max=MAX_PAGE)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.execute(stmt.limit(size).offset((page - 1) * size)).all()
    return Page(int(total), page, size, [_summary(c, t, moment) for c, t in rows])


def list_cases(
    session: Session,
    principal: Principal,
    *,
    state: str | None = None,
    region: str | None = None,
    holder_level: str | None = None,
    category: str | None = None,
    grade: str | None = None,
    source: str | None = None,
    firm_id: str | None = None,
    overdue: bool | None = None,
    page: int = 1,
    size: int = 50,
    at: datetime | None = None,
) -> Page[CaseSummary]:
    """Cases in the principal's scope, newest first, with optional filters.

    ``region`` narrows to a region prefix inside the scope (outside it: nothing);
    ``holder_level`` keeps cases held at that level; ``overdue`` those past their due time.
    """
    require(load_machine(), principal, "view")
    moment = at or now()
    stmt = _base(principal)
    if region:
        stmt = stmt.where(Case.region_code.startswith(region, autoescape=True))
    if holder_level:
        if holder_level not in LEVEL_DIGITS:
            raise invalid("workflow_bad_level", value=holder_level)
        stmt = stmt.where(func.length(Case.holder_scope) == LEVEL_DIGITS[holder_level])
    for column, value in (
        (Case.state, state),
        (Case.category, category),
        (Case.grade, grade),
        (Case.source, source),
        (Case.firm_id, firm_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if overdue is not None:
        late = and_(CaseTask.due_at.is_not(None), CaseTask.due_at < moment)
        stmt = stmt.where(late if overdue else ~late | CaseTask.due_at.is_(None))
    return _page(session, stmt.order_by(Case.opened_at.desc(), Case.id.desc()), page, size, moment)


def my_tasks(
    session: Session,
    principal: Principal,
    *,
    page: int = 1,
    size: int = 50,
    at: datetime | None = None,
) -> Page[CaseSummary]:
    """The open tasks the principal's unit holds (unassigned, or assigned to them),
    and tasks escalated to the unit; the most urgent first."""
    require(load_machine(), principal, "view")
    moment = at or now()
    mine = and_(
        Case.holder_scope == principal.scope,
        (Case.assignee.is_(None)) | (Case.assignee == principal.username),
    )
    stmt = (
        _base(principal)
        .where(CaseTask.id.is_not(None), mine | (CaseTask.escalated_to == principal.scope))
        .order_by(CaseTask.due_at.is_(None), CaseTask.due_at, Case.id)
    )
    return _page(session, stmt, page, size, moment)


@dataclass
class UnitLoad:
    """One unit's row on the team board."""

    scope: str
    level: str | None
    open: int = 0
    overdue: int = 0
    escalated: int = 0
    by_state: dict[str, int] = field(default_factory=dict)


@dataclass
class TeamBoard:
    """The principal's unit and each unit right below it, with their open cases."""

    scope: str
    own: UnitLoad
    below: list[UnitLoad]
    escalated_to_me: list[CaseSummary]


def team_board(session: Session, principal: Principal, *, at: datetime | None = None) -> TeamBoard:
    """Open cases per unit one level below the principal (and its own unit), overdue and
    escalated counts, and the tasks escalated to the principal's unit (督办)."""
    machine = load_machine()
    require(machine, principal, "view")
    moment = at or now()
    finals = [s.id for s in machine.states.values() if s.final]
    lengths = sorted(LEVEL_DIGITS.values())
    child = next((n for n in lengths if n > len(principal.scope)), len(principal.scope))
    late = and_(CaseTask.due_at.is_not(None), CaseTask.due_at < moment)
    # Grouped by holder in SQL (few distinct holders); units are cut to one level below.
    rows = session.execute(
        select(
            Case.holder_scope,
            Case.state,
            func.count(),
            func.sum(when((late, 1), else_=0)),
            func.sum(when((CaseTask.escalated_to.is_not(None), 1), else_=0)),
        )
        .select_from(Case)
        .outerjoin(CaseTask, and_(CaseTask.case_id == Case.id, CaseTask.status == "open"))
        .where(visible_condition(principal), Case.state.not_in(finals))
        .group_by(Case.holder_scope, Case.state)
    ).all()
    own = UnitLoad(principal.scope, level_of(principal.scope))
    below: dict[str, UnitLoad] = {}
    for holder, state, count, overdue, escalated in rows:
        unit = holder[:child]
        held_below = (
            holder != principal.scope and len(unit) == child and unit.startswith(principal.scope)
        )
        load = below.setdefault(unit, UnitLoad(unit, level_of(unit))) if held_below else own
        load.open += int(count)
        load.overdue += int(overdue or 0)
        load.escalated += int(escalated or 0)
        load.by_state[state] = load.by_state.get(state, 0) + int(count)
    escalated_rows = session.execute(
        _base(principal).where(CaseTask.escalated_to == principal.scope).order_by(CaseTask.due_at)
    ).all()
    return TeamBoard(
        principal.scope,
        own,
        [below[k] for k in sorted(below)],
        [_summary(c, t, moment) for c, t in escalated_rows],
    )


@dataclass(frozen=True, slots=True)
class TransitionOption:
    """A transition as the case page offers it: whether the viewer may make it now."""

    id: str
    label: str
    target: str
    allowed: bool
    reason: str | None
    missing: list[str]
    fields: list[str]
    choices: dict[str, list[tuple[str, str]]]


@dataclass
class CaseDetail:
    """Everything the case page shows."""

    summary: CaseSummary
    evidence: dict[str, Any]
    fields: dict[str, Any]
    mode: str | None
    determination: str | None
    checklist: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    attachments: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    leads: list[dict[str, Any]]
    outcomes: list[dict[str, Any]]
    transitions: list[TransitionOption]


def _rows(session: Session, model: Any, case_id: int, order: Sequence[Any]) -> list[Any]:
    return list(session.scalars(select(model).where(model.case_id == case_id).order_by(*order)))


def get_case(
    session: Session,
    principal: Principal,
    case_id: int,
    *,
    lang: str | None = None,
    at: datetime | None = None,
) -> CaseDetail:
    """The case page: summary, evidence snapshot, checklist, timeline (comments included),
    attachments, task history, leads, outcome labels and the transitions on offer."""
    machine = load_machine()
    require(machine, principal, "view")
    moment = at or now()
    case = load_case(session, principal, case_id)
    tasks = _rows(session, CaseTask, case_id, [CaseTask.id])
    current = next((t for t in tasks if t.status == "open"), None)
    ticked = loads(case.checklist)
    options = []
    for tr in machine.outgoing(case.state):
        reason: str | None = None
        try:
            check_transition(machine, principal, case, tr)
        except WebError as exc:
            reason = exc.message(lang)
        missing = missing_requirements(session, machine, case, tr, {})
        missing = [m for m in missing if not m.startswith(("field:", "choice:"))]
        choices = {
            name: [(k, c.label.text(lang)) for k, c in machine.sections[section].items()]
            for name, section in tr.requires.choices.items()
        }
        options.append(
            TransitionOption(
                tr.id,
                tr.label.text(lang),
                tr.target,
                reason is None and not missing,
                reason,
                missing,
                list(tr.requires.fields),
                choices,
            )
        )
    return CaseDetail(
        summary=_summary(case, current, moment),
        evidence=loads(case.evidence),
        fields=loads(case.fields),
        mode=case.mode,
        determination=case.determination,
        checklist=[
            {
                "id": i.id,
                "label": i.label(lang),
                "required": i.required,
                "done": bool((ticked.get(i.id) or {}).get("done")),
                "note": (ticked.get(i.id) or {}).get("note"),
                "by": (ticked.get(i.id) or {}).get("by"),
            }
            for i in checklist_for(case)
        ],
        timeline=[
            {
                "id": e.id,
                "at": e.at,
                "actor": e.actor,
                "kind": e.kind,
                "from": e.from_state,
                "to": e.to_state,
                "detail": loads(e.detail),
                "audit_seq": e.audit_seq,
            }
            for e in _rows(session, CaseEvent, case_id, [CaseEvent.id])
        ],
        attachments=[
            {
                "id": a.id,
                "sha256": a.sha256,
                "size": a.size,
                "media_type": a.media_type,
                "file_name": a.file_name,
                "uploaded_by": a.uploaded_by,
                "uploaded_at": a.uploaded_at,
            }
            for a in _rows(session, CaseAttachment, case_id, [CaseAttachment.id])
        ],
        tasks=[
            {
                "id": t.id,
                "scope": t.scope,
                "level": level_of(t.scope),
                "assignee": t.assignee,
                "assigned_by": t.assigned_by,
                "assigned_at": t.assigned_at,
                "due_at": t.due_at,
                "status": t.status,
                "ended_at": t.ended_at,
                "escalated_to": t.escalated_to,
                "escalations": t.escalations,
            }
            for t in tasks
        ],
        leads=[
            {
                "id": x.id,
                "uid": x.uid,
                "direction": x.direction,
                "kind": x.kind,
                "target_region": x.target_region,
                "target_agency": x.target_agency,
                "internal": x.internal,
                "peer_case_id": x.peer_case_id,
                "origin": x.origin,
                "status": x.status,
                "sent_at": x.sent_at,
                "receipt_at": x.receipt_at,
                "receipt_ref": x.receipt_ref,
                "feedback_at": x.feedback_at,
                "feedback": x.feedback,
                "feedback_outcome": x.feedback_outcome,
                "package_sha256": x.package_sha256,
            }
            for x in _rows(session, CaseLead, case_id, [CaseLead.id])
        ],
        outcomes=[
            {
                "id": o.id,
                "outcome": o.outcome,
                "label": machine.outcomes[o.outcome].text(lang)
                if o.outcome in machine.outcomes
                else o.outcome,
                "known_at": o.known_at,
                "source": o.source,
                "retired_at": o.retired_at,
                "recorded_by": o.recorded_by,
            }
            for o in _rows(session, CaseOutcome, case_id, [CaseOutcome.id])
        ],
        transitions=options,
    )
