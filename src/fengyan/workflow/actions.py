"""Case actions: transitions, checklist, comments, attachments.

One function per change (zulip's ``actions/``): each checks access and the state
machine, changes the case, and writes a timeline event and an audit entry in the
caller's transaction. Nothing here commits: the caller (a route, the CLI) owns the
transaction, so a failure anywhere leaves neither the change nor the audit entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengyan.clock import now
from fengyan.db.cases import Case, CaseAttachment, CaseLead
from fengyan.web.scope import Principal
from fengyan.workflow.access import level_of, require, require_worker
from fengyan.workflow.attachments import AttachmentStore, clean_file_name
from fengyan.workflow.checklists import ChecklistItem, load_checklists
from fengyan.workflow.config import load_settings
from fengyan.workflow.core import (
    ActionResult,
    dumps,
    idempotent,
    load_case,
    load_for_change,
    loads,
    touch,
    write_event,
)
from fengyan.workflow.errors import ActionForbidden, invalid
from fengyan.workflow.machine import LEVEL_DIGITS, Machine, Transition, load_machine
from fengyan.workflow.outcomes import add_outcome
from fengyan.workflow.tasks import move_task, open_task


def checklist_for(case: Case) -> list[ChecklistItem]:
    """The checklist items that apply to the case (its category and verification mode)."""
    return load_checklists().items(case.category, case.mode)


def missing_requirements(
    session: Session,
    machine: Machine,
    case: Case,
    transition: Transition,
    fields: Mapping[str, str],
) -> list[str]:
    """What the transition still needs, as message-ready names (empty when ready)."""
    req = transition.requires
    missing = [f"field:{name}" for name in req.fields if not fields.get(name)]
    for name, section in req.choices.items():
        if fields.get(name) not in machine.sections[section]:
            missing.append(f"choice:{name}")
    if req.checklist:
        ticked = loads(case.checklist)
        missing += [
            f"checklist:{item.id}"
            for item in checklist_for(case)
            if item.required and not (ticked.get(item.id) or {}).get("done")
        ]
    if req.attachments:
        count = session.scalar(
            select(func.count())
            .select_from(CaseAttachment)
            .where(CaseAttachment.case_id == case.id)
        )
        if (count or 0) < req.attachments:
            missing.append(f"attachments:{req.attachments}")
    if req.lead and case.disposal:
        kind = machine.sections["disposals"][case.disposal].needs_lead
        if kind is not None and not session.scalar(
            select(func.count())
            .select_from(CaseLead)
            .where(CaseLead.case_id == case.id, CaseLead.direction == "out", CaseLead.kind == kind)
        ):
            missing.append(f"lead:{kind}")
    return missing


def check_transition(
    machine: Machine, actor: Principal, case: Case, transition: Transition
) -> None:
    """Raise unless ``actor`` may make ``transition`` on ``case`` (role, level, holder)."""
    if transition.source != case.state:
        raise invalid("workflow_bad_transition", transition=transition.id, state=case.state)
    if actor.role not in transition.roles:
        raise ActionForbidden("workflow_role_forbidden", role=actor.role, action=transition.id)
    if level_of(actor.scope) not in transition.levels:
        raise ActionForbidden(
            "workflow_level_forbidden", level=level_of(actor.scope), action=transition.id
        )
    require_worker(actor, case)


def _clean_fields(fields: Mapping[str, str] | None, transition: Transition) -> dict[str, str]:
    limit = load_settings().field_max_chars
    allowed = {*transition.requires.fields, *transition.requires.choices, "note"}
    cleaned: dict[str, str] = {}
    for name, value in (fields or {}).items():
        if name not in allowed:
            raise invalid("workflow_unknown_field", field=name, allowed=", ".join(sorted(allowed)))
        text = str(value).strip()
        if len(text) > limit:
            raise invalid("workflow_field_too_long", field=name, limit=limit)
        if text:
            cleaned[name] = text
    return cleaned


def do_transition_case(
    session: Session,
    actor: Principal,
    case_id: int,
    transition_id: str,
    *,
    fields: Mapping[str, str] | None = None,
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> ActionResult:
    """Move a case along one transition of the state machine.

    Checks the actor's role and level against the transition, that the actor's unit
    holds the case (or is above the holder), and everything the transition requires
    (fields, choices, checklist, attachments, a transferred lead). Sets the deadline for
    the next step; closing writes the determination's outcome label; reopening gives the
    task to the actor's unit.
    """
    machine = load_machine()
    transition = machine.transitions.get(transition_id)
    if transition is None:
        raise invalid(
            "workflow_unknown_transition",
            transition=transition_id,
            known=", ".join(machine.transitions),
        )
    values = _clean_fields(fields, transition)
    request = dict(
        case_id=case_id, transition=transition_id, fields=values, expected_version=expected_version
    )

    def apply() -> ActionResult:
        case = load_for_change(session, actor, case_id, expected_version)
        check_transition(machine, actor, case, transition)
        if "mode" in values and values["mode"] in machine.sections["modes"]:
            # The checklist depends on the mode being chosen now.
            case.mode = values["mode"]
        if "disposal" in values and values["disposal"] in machine.sections["disposals"]:
            case.disposal = values["disposal"]
        missing = missing_requirements(session, machine, case, transition, values)
        if missing:
            raise invalid(
                "workflow_requirements_missing",
                transition=transition.id,
                missing=", ".join(missing),
            )
        moment = now()
        source, target = machine.states[transition.source], machine.states[transition.target]
        case.state = transition.target
        if "determination" in values:
            case.determination = values["determination"]
        merged = loads(case.fields)
        merged.update(values)
        case.fields = dumps(merged)
        days = machine.deadline_days(transition)
        case.due_at = (
            moment + timedelta(days=days) if days is not None and not target.final else None
        )
        touch(case, moment)
        outcome = None
        if target.final:
            case.closed_at = moment
            task = open_task(session, case.id)
            if task is not None:
                task.status, task.ended_at, task.ended_by = "closed", moment, actor.username
            if case.determination:
                outcome = machine.sections["determinations"][case.determination].outcome
        elif source.final:
            case.closed_at = None
            case.reopened += 1
            move_task(session, case, actor.username, actor.scope, None, "closed", moment)
        else:
            scope = case.holder_scope
            if transition.hand_to and len(scope) > LEVEL_DIGITS[transition.hand_to]:
                scope = scope[: LEVEL_DIGITS[transition.hand_to]]
                assignee = None
            else:
                assignee = case.assignee
            # A new step is a new task: its deadline and escalation start afresh.
            move_task(
                session,
                case,
                actor.username,
                scope,
                assignee,
                "returned" if scope != case.holder_scope else "done",
                moment,
            )
        detail: dict[str, Any] = {
            "transition": transition.id,
            "fields": values,
            "due_at": case.due_at.isoformat() if case.due_at else None,
            "holder": case.holder_scope,
        }
        result = write_event(
            session,
            actor,
            case,
            "transition",
            transition.audit,
            detail,
            from_state=source.id,
            to_state=target.id,
            moment=moment,
        )
        if outcome is not None:
            add_outcome(session, actor, case, outcome, moment, "close", values.get("conclusion"))
            result.detail["outcome"] = outcome
        return result

    return idempotent(session, actor, idempotency_key, "transition", request, apply)


def do_update_checklist(
    session: Session,
    actor: Principal,
    case_id: int,
    items: Mapping[str, bool],
    *,
    notes: Mapping[str, str] | None = None,
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> ActionResult:
    """Tick (or untick) checklist items of a case under verification, with notes."""
    machine = load_machine()
    require(machine, actor, "checklist")
    request = dict(
        case_id=case_id,
        items=dict(items),
        notes=dict(notes or {}),
        expected_version=expected_version,
    )

    def apply() -> ActionResult:
        case = load_for_change(session, actor, case_id, expected_version)
        require_worker(actor, case)
        if case.state not in machine.checklist_states:
            raise invalid("workflow_checklist_closed", state=case.state)
        known = {item.id for item in checklist_for(case)}
        unknown = sorted((set(items) | set(notes or {})) - known)
        if unknown:
            raise invalid("workflow_unknown_item", items=", ".join(unknown))
        moment = now()
        ticked = loads(case.checklist)
        limit = load_settings().field_max_chars
        for item_id in sorted(set(items) | set(notes or {})):
            entry = dict(ticked.get(item_id) or {})
            if item_id in items:
                entry["done"] = bool(items[item_id])
            if notes and item_id in notes:
                if len(notes[item_id]) > limit:
                    raise invalid("workflow_field_too_long", field=item_id, limit=limit)
                entry["note"] = notes[item_id].strip()
            entry.update(by=actor.username, at=moment.isoformat())
            ticked[item_id] = entry
        case.checklist = dumps(ticked)
        touch(case, moment)
        detail = {"items": dict(items), "notes": dict(notes or {})}
        return write_event(
            session, actor, case, "checklist", "case.checklist", detail, moment=moment
        )

    return idempotent(session, actor, idempotency_key, "checklist", request, apply)


def do_add_comment(
    session: Session,
    actor: Principal,
    case_id: int,
    text: str,
    *,
    idempotency_key: str | None = None,
) -> ActionResult:
    """Add a comment (意见) to a case's timeline; anyone who can see the case and may comment."""
    machine, limit = load_machine(), load_settings().comment_max_chars
    require(machine, actor, "comment")
    body = text.strip()
    if not body or len(body) > limit:
        raise invalid("workflow_bad_comment", limit=limit)

    def apply() -> ActionResult:
        case = load_case(session, actor, case_id)
        return write_event(session, actor, case, "comment", "case.comment", {"text": body})

    return idempotent(
        session, actor, idempotency_key, "comment", {"case_id": case_id, "text": body}, apply
    )


def do_add_attachment(
    session: Session,
    actor: Principal,
    case_id: int,
    store: AttachmentStore,
    data: bytes,
    file_name: str,
    *,
    idempotency_key: str | None = None,
) -> ActionResult:
    """Attach a file (photo, PDF, Word/Excel document, plain text) to an open case.

    The type is read from the content, never the name; the bytes are stored under their
    SHA-256 (no user text reaches a path) and the hash is recorded and audited.
    """
    machine, settings = load_machine(), load_settings()
    require(machine, actor, "attach")
    name = clean_file_name(file_name, settings.attachment_max_name_chars)

    def apply() -> ActionResult:
        case = load_case(session, actor, case_id)
        require_worker(actor, case)
        if machine.states[case.state].final:
            raise invalid("workflow_case_closed", case_id=case_id)
        count = session.scalar(
            select(func.count())
            .select_from(CaseAttachment)
            .where(CaseAttachment.case_id == case_id)
        )
        if (count or 0) >= settings.attachment_max_per_case:
            raise invalid("workflow_too_many_attachments", limit=settings.attachment_max_per_case)
        stored = store.put(data)
        if session.scalar(
            select(CaseAttachment.id).where(
                CaseAttachment.case_id == case_id, CaseAttachment.sha256 == stored.sha256
            )
        ):
            raise invalid("workflow_attachment_exists", sha256=stored.sha256)
        moment = now()
        session.add(
            CaseAttachment(
                case_id=case_id,
                sha256=stored.sha256,
                size=stored.size,
                media_type=stored.media_type,
                file_name=name,
                uploaded_by=actor.username,
                uploaded_at=moment,
            )
        )
        detail = {
            "sha256": stored.sha256,
            "size": stored.size,
            "media_type": stored.media_type,
            "file_name": name,
        }
        return write_event(session, actor, case, "attach", "case.attach", detail, moment=moment)

    # The request is identified by the content hash, not the (possibly huge) bytes.
    request = {"case_id": case_id, "sha256": AttachmentStore.digest(data), "name": name}
    return idempotent(session, actor, idempotency_key, "attach", request, apply)


def record_case_view(session: Session, actor: Principal, case_id: int) -> int:
    """Audit that ``actor`` opened the case page (``case.view``); returns the audit seq."""
    from fengyan.workflow.audit import record
    from fengyan.workflow.core import target

    load_case(session, actor, case_id)
    return record(session, actor.username, "case.view", target(case_id), {})
