"""The five-level task flow: assign down, reassign or take back from above, escalate up.

A city assigns a case to one of its districts, a district to a street, a street to a
community (optionally naming the grid worker). Every move closes the open task row and
opens a new one, so ``case_task`` is the history of who held the case when. A supervisor
(any unit above the holder) can take the task back to itself or reassign it within its
scope. :func:`escalate_overdue` raises overdue tasks to the unit above (逐级督办), one
level per ``escalation.repeat_days``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fengyan.clock import now
from fengyan.db.cases import Case, CaseEvent, CaseTask
from fengyan.db.users import WebUser
from fengyan.web.scope import Principal
from fengyan.workflow.access import (
    check_scope_code,
    compatible,
    level_of,
    parent_scope,
    require,
    system_principal,
)
from fengyan.workflow.audit import record_many
from fengyan.workflow.config import load_settings
from fengyan.workflow.core import (
    ActionResult,
    dumps,
    flush_case,
    idempotent,
    load_for_change,
    target,
    touch,
    write_event,
)
from fengyan.workflow.errors import ActionForbidden, invalid
from fengyan.workflow.machine import LEVEL_DIGITS, LEVELS, load_machine


def open_task(session: Session, case_id: int) -> CaseTask | None:
    """The case's open task (there is at most one)."""
    return session.scalar(
        select(CaseTask).where(CaseTask.case_id == case_id, CaseTask.status == "open")
    )


def move_task(
    session: Session,
    case: Case,
    actor: str,
    scope: str,
    assignee: str | None,
    status: str,
    moment: datetime,
    due_at: datetime | None = None,
) -> CaseTask:
    """End the open task with ``status`` and open one for ``scope``/``assignee``."""
    current = open_task(session, case.id)
    if current is not None:
        current.status, current.ended_at, current.ended_by = status, moment, actor
        # The partial unique index allows one open task: end the old one first.
        session.flush()
    case.holder_scope, case.assignee = scope, assignee
    task = CaseTask(
        case_id=case.id,
        scope=scope,
        assignee=assignee,
        assigned_by=actor,
        assigned_at=moment,
        due_at=due_at or case.due_at,
        status="open",
        escalations=0,
    )
    session.add(task)
    return task


def _check_assignee(session: Session, assignee: str | None, scope: str) -> None:
    if assignee is None:
        return
    user = session.scalar(select(WebUser).where(WebUser.username == assignee))
    if user is None or not user.active or user.scope != scope:
        raise invalid("workflow_bad_assignee", user=assignee, scope=scope)


def _not_closed(case: Case) -> None:
    if load_machine().states[case.state].final:
        raise invalid("workflow_case_closed", case_id=case.id)


def do_assign_case(
    session: Session,
    actor: Principal,
    case_id: int,
    to_scope: str,
    *,
    assignee: str | None = None,
    due_at: datetime | None = None,
    note: str | None = None,
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> ActionResult:
    """Assign (the holder, one level down) or reassign (a supervisor, anywhere below it).

    ``to_scope`` must lie on the case region's line (a district of the firm's district, a
    street of it …). ``assignee`` names an active user whose scope is ``to_scope``;
    ``due_at`` may shorten the task's deadline, never extend past the case's.
    """
    machine, settings = load_machine(), load_settings()
    require(machine, actor, "assign")
    request = dict(
        case_id=case_id,
        to_scope=to_scope,
        assignee=assignee,
        due_at=due_at,
        note=note,
        expected_version=expected_version,
    )

    def apply() -> ActionResult:
        case = load_for_change(session, actor, case_id, expected_version)
        _not_closed(case)
        scope = check_scope_code(to_scope, "to_scope")
        own = actor.scope == case.holder_scope
        supervising = case.holder_scope.startswith(actor.scope) and not own
        if not own and not supervising:
            raise ActionForbidden("workflow_not_holder", case_id=case_id, holder=case.holder_scope)
        if supervising:
            require(machine, actor, "supervise")
        depth = LEVELS.index(level_of(scope) or "") - LEVELS.index(level_of(actor.scope) or "")
        if not scope.startswith(actor.scope) or depth < 1:
            raise invalid("workflow_assign_below", scope=scope, own=actor.scope)
        if own and depth > settings.levels_down:
            raise invalid("workflow_assign_too_deep", scope=scope, levels=settings.levels_down)
        if not compatible(scope, case.region_code):
            raise invalid("workflow_assign_off_line", scope=scope, region=case.region_code)
        if scope == case.holder_scope and assignee == case.assignee:
            raise invalid("workflow_assign_same", scope=scope)
        _check_assignee(session, assignee, scope)
        if due_at is not None and (due_at.tzinfo is None or (case.due_at and due_at > case.due_at)):
            raise invalid("workflow_bad_due", due=due_at, case_due=case.due_at)
        moment = now()
        previous = case.holder_scope
        move_task(
            session,
            case,
            actor.username,
            scope,
            assignee,
            "delegated" if own else "reassigned",
            moment,
            due_at,
        )
        touch(case, moment)
        kind = "assign" if own else "reassign"
        detail = {
            "from_scope": previous,
            "to_scope": scope,
            "assignee": assignee,
            "due_at": due_at.isoformat() if due_at else None,
            "note": note,
        }
        return write_event(session, actor, case, kind, f"case.{kind}", detail, moment=moment)

    return idempotent(session, actor, idempotency_key, "assign", request, apply)


def do_take_back_case(
    session: Session,
    actor: Principal,
    case_id: int,
    *,
    note: str | None = None,
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> ActionResult:
    """A supervisor takes the task back from a unit below it to its own unit."""
    machine = load_machine()
    require(machine, actor, "supervise")
    request = dict(case_id=case_id, note=note, expected_version=expected_version)

    def apply() -> ActionResult:
        case = load_for_change(session, actor, case_id, expected_version)
        _not_closed(case)
        if case.holder_scope == actor.scope or not case.holder_scope.startswith(actor.scope):
            raise ActionForbidden(
                "workflow_not_supervisor", case_id=case_id, holder=case.holder_scope
            )
        moment = now()
        previous = case.holder_scope
        move_task(session, case, actor.username, actor.scope, None, "taken_back", moment)
        touch(case, moment)
        detail = {"from_scope": previous, "to_scope": actor.scope, "note": note}
        return write_event(
            session, actor, case, "take_back", "case.take_back", detail, moment=moment
        )

    return idempotent(session, actor, idempotency_key, "take_back", request, apply)


@dataclass(frozen=True, slots=True)
class Escalation:
    """One task raised to the unit above."""

    case_id: int
    task_id: int
    holder: str
    escalated_to: str
    overdue_since: datetime


def escalate_overdue(session: Session, at: datetime | None = None) -> list[Escalation]:
    """Escalate every open task past its due time to the unit above (run periodically).

    A task overdue and not yet escalated goes to its holder's parent; a task escalated
    ``escalation.repeat_days`` ago and still overdue goes one level further, up to
    ``escalation.top_level``. Each escalation writes a timeline event and an audit entry
    (``case.escalate``); all in the caller's transaction. Running it twice at the same
    moment escalates nothing the second time.
    """
    settings = load_settings()
    moment = at or now()
    if moment.tzinfo is None:
        raise invalid("workflow_naive_time", value=moment)
    repeat = timedelta(days=settings.escalation_repeat_days)
    top = LEVEL_DIGITS[settings.escalation_top_level]
    rows = session.execute(
        select(CaseTask, Case)
        .join(Case, Case.id == CaseTask.case_id)
        .where(
            CaseTask.status == "open",
            CaseTask.due_at.is_not(None),
            CaseTask.due_at < moment,
            or_(CaseTask.escalated_at.is_(None), CaseTask.escalated_at <= moment - repeat),
        )
        .order_by(CaseTask.case_id)
    ).all()
    actor = system_principal("escalation")
    done: list[Escalation] = []
    for task, case in rows:
        current = task.escalated_to or task.scope
        parent = parent_scope(current)
        if parent is None or len(current) <= top:
            continue
        task.escalated_to, task.escalated_at = parent, moment
        task.escalations += 1
        touch(case, moment)
        assert task.due_at is not None
        done.append(Escalation(case.id, task.id, task.scope, parent, task.due_at))
    # Case rows first, the audit counter last: the lock order every action uses.
    for e in done:
        flush_case(session, e.case_id)
    seqs = record_many(
        session,
        actor.username,
        [
            (
                "case.escalate",
                target(e.case_id),
                {
                    "kind": "escalate",
                    "holder": e.holder,
                    "escalated_to": e.escalated_to,
                    "due_at": e.overdue_since.isoformat(),
                },
            )
            for e in done
        ],
    )
    session.add_all(
        CaseEvent(
            case_id=e.case_id,
            at=moment,
            actor=actor.username,
            kind="escalate",
            detail=dumps(
                {
                    "holder": e.holder,
                    "escalated_to": e.escalated_to,
                    "due_at": e.overdue_since.isoformat(),
                }
            ),
            audit_seq=seq,
        )
        for e, seq in zip(done, seqs, strict=True)
    )
    session.flush()
    return done
