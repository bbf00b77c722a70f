"""Case pages (核查处置) and their JSON API twins under ``/api/v1/cases``.

Thin shells over :mod:`fengyan.workflow`: every read goes through the workflow's query
services (which apply the jurisdiction through ``workflow/access.py``), every change through
one ``do_*`` action inside ``with Session(engine) as s, s.begin():`` so the change, its
timeline event and its audit entry commit together. Forms carry the case version the page
showed (optimistic lock: a stale form answers 409); API posts honour ``Idempotency-Key``.
Attachments are read and written through the workflow's content-addressed
:class:`~fengyan.workflow.AttachmentStore` only.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Path, Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from fengyan.web.deps import (
    DbSession,
    Lang,
    Pagination,
    SuperviseCases,
    ViewCases,
    WorkCases,
    WorkspaceDep,
)
from fengyan.web.errors import BadRequest, NotFound
from fengyan.web.scope import Principal
from fengyan.web.templating import render
from fengyan.workflow import (
    ActionResult,
    AttachmentStore,
    CaseDetail,
    LeadKeys,
    case_statistics,
    do_add_attachment,
    do_add_comment,
    do_assign_case,
    do_record_lead_feedback,
    do_record_lead_receipt,
    do_record_outcome,
    do_take_back_case,
    do_transfer_lead,
    do_transition_case,
    do_update_checklist,
    export_lead_package,
    get_case,
    lake_evidence_loader,
    list_cases,
    load_machine,
    my_tasks,
    record_case_view,
    team_board,
)
from fengyan.workflow.config import load_settings
from fengyan.workflow.machine import LEVEL_DIGITS
from fengyan.workspace import Workspace

router = APIRouter(tags=["cases"])
# Fields an upload form or JSON body may be, at most; the workflow applies its own limits.
MAX_KEY = 200
# Ids beyond the database's integer range would fail in the driver, not as "not found".
CaseIdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=MAX_KEY,
        description="Retry-safe key: a retry with the same key returns the first result.",
    ),
]


def attachment_store(ws: Workspace) -> AttachmentStore:
    """The workspace's attachment store (``$FENGYAN_HOME/attachments``)."""
    return AttachmentStore(ws.settings.home / "attachments")


def _json(value: Any) -> Any:
    """Dataclasses (with datetimes) as JSON-able data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return jsonable_encoder(value)


def _day(value: date | None) -> datetime | None:
    if value is None:
        return None
    return datetime.combine(value, time.min, tzinfo=UTC)


def _labels(lang: str) -> dict[str, Any]:
    """Display labels of states, levels, sources, disposals and outcomes for the templates."""
    machine = load_machine()
    from fengyan.i18n import t

    return {
        "states": {k: s.label.text(lang) for k, s in machine.states.items()},
        "sections": {
            name: {k: c.label.text(lang) for k, c in entries.items()}
            for name, entries in machine.sections.items()
        },
        "outcomes": {k: v.text(lang) for k, v in machine.outcomes.items()},
        "levels": {k: t(f"web_cases_level_{k}", lang) for k in LEVEL_DIGITS},
    }


def _detail(db: Session, who: ViewCases, case_id: int, lang: str) -> CaseDetail:
    return get_case(db, who, case_id, lang=lang)


# ---- pages ---------------------------------------------------------------------------------


@router.get("/cases", response_class=HTMLResponse, include_in_schema=False)
def tasks_page(request: Request, db: DbSession, who: ViewCases, lang: Lang,
               page: Pagination) -> HTMLResponse:  # fmt: skip
    """我的任务: the open tasks the user's unit holds or that were escalated to it."""
    tasks = my_tasks(db, who, page=page.page, size=page.size)
    return render(request, "cases_tasks.html", {"tasks": tasks, "labels": _labels(lang)})


@router.get("/cases/board", response_class=HTMLResponse, include_in_schema=False)
def board_page(
    request: Request,
    db: DbSession,
    who: ViewCases,
    lang: Lang,
    page: Pagination,
    state: Annotated[str | None, Query(max_length=40)] = None,
    overdue: bool | None = None,
) -> HTMLResponse:
    """团队看板: own unit and the units right below, with the cases in the scope."""
    board = team_board(db, who)
    cases = list_cases(db, who, state=state or None, overdue=overdue, page=page.page,
                       size=page.size)  # fmt: skip
    return render(
        request,
        "cases_board.html",
        {"board": board, "cases": cases, "labels": _labels(lang), "state": state or "",
         "overdue": overdue},
    )  # fmt: skip


@router.get("/cases/stats", response_class=HTMLResponse, include_in_schema=False)
def stats_page(request: Request, db: DbSession, who: ViewCases, lang: Lang) -> HTMLResponse:
    """Statistics by level, category, outcome, time to close and overdue, with charts."""
    stats = case_statistics(db, who)
    labels = _labels(lang)
    from fengyan.i18n import t

    chart = {
        "by_level": {
            "names": [labels["levels"].get(k, k) for k in stats.by_level],
            "open": [v["open"] for v in stats.by_level.values()],
            "overdue": [v["overdue"] for v in stats.by_level.values()],
        },
        "by_category": {
            "names": list(stats.by_category),
            "open": [v["open"] for v in stats.by_category.values()],
            "closed": [v["closed"] for v in stats.by_category.values()],
        },
        "by_outcome": [
            {"name": labels["outcomes"].get(k, k), "value": v} for k, v in stats.by_outcome.items()
        ],
        "legend": {
            "open": t("web_cases_open", lang),
            "overdue": t("web_cases_overdue", lang),
            "closed": t("web_cases_closed", lang),
        },
    }
    return render(
        request,
        "cases_stats.html",
        {"stats": stats, "labels": labels, "chart": chart},
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse, include_in_schema=False)
def case_page(request: Request, ws: WorkspaceDep, who: ViewCases, lang: Lang,
              case_id: CaseIdPath) -> HTMLResponse:  # fmt: skip
    """The case: summary, evidence snapshot, checklist, timeline, attachments, transitions."""
    with Session(ws.engine, expire_on_commit=False) as s, s.begin():
        detail = _detail(s, who, case_id, lang)
        # The page shows the evidence snapshot: each view is audited.
        record_case_view(s, who, case_id)
        supervise = supervision_context(s, who, detail)
    return render(
        request,
        "cases_case.html",
        {"case": detail, "labels": _labels(lang), "can_work": who.can("work_cases"),
         "max_mb": load_settings().attachment_max_bytes // (1024 * 1024),
         "sup": supervise},
    )  # fmt: skip


def _back(case_id: int) -> RedirectResponse:
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/transition", include_in_schema=False)
async def transition_form(request: Request, ws: WorkspaceDep, who: WorkCases,
                          case_id: CaseIdPath) -> Response:  # fmt: skip
    """A transition form: ``transition``, ``version`` and the transition's fields."""
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    transition = values.pop("transition", "")
    version = _version(values.pop("version", None))
    values.pop("csrf_token", None)
    fields = {k: v for k, v in values.items() if v.strip()}

    def work() -> None:
        with Session(ws.engine) as s, s.begin():
            do_transition_case(s, who, case_id, transition, fields=fields,
                               expected_version=version)  # fmt: skip

    await run_in_threadpool(work)
    return _back(case_id)


def _version(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise BadRequest() from None


@router.post("/cases/{case_id}/checklist", include_in_schema=False)
async def checklist_form(request: Request, ws: WorkspaceDep, who: WorkCases,
                         case_id: CaseIdPath) -> Response:  # fmt: skip
    """The checklist form: every item of the case, ticked or not, and notes."""
    form = await request.form()
    version = _version(str(form.get("version") or "") or None)
    ticked = {str(v) for v in form.getlist("done")}
    notes_in = {k[5:]: str(v) for k, v in form.items() if k.startswith("note_") and str(v)}

    def work() -> None:
        with Session(ws.engine) as s, s.begin():
            known = [i["id"] for i in get_case(s, who, case_id).checklist]
            notes = {i: notes_in[i] for i in known if i in notes_in}
            do_update_checklist(s, who, case_id, {i: i in ticked for i in known}, notes=notes,
                                expected_version=version)  # fmt: skip

    await run_in_threadpool(work)
    return _back(case_id)


@router.post("/cases/{case_id}/comment", include_in_schema=False)
def comment_form(ws: WorkspaceDep, who: WorkCases, case_id: CaseIdPath,
                 text: Annotated[str, Form(max_length=20_000)]) -> Response:  # fmt: skip
    """Add a comment to the case's timeline."""
    with Session(ws.engine) as s, s.begin():
        do_add_comment(s, who, case_id, text)
    return _back(case_id)


@router.post("/cases/{case_id}/attachments", include_in_schema=False)
async def attachment_form(ws: WorkspaceDep, who: WorkCases, case_id: CaseIdPath,
                          file: Annotated[UploadFile, File()]) -> Response:  # fmt: skip
    """Upload an attachment (type checked from the content by the store)."""
    data = await _read_limited(file)

    def work() -> None:
        with Session(ws.engine) as s, s.begin():
            do_add_attachment(s, who, case_id, attachment_store(ws), data, file.filename or "")

    await run_in_threadpool(work)
    return _back(case_id)


async def _read_limited(file: UploadFile) -> bytes:
    # One byte past the limit is enough for the store to refuse the file with 413.
    return await file.read(load_settings().attachment_max_bytes + 1)


@router.get("/cases/{case_id}/attachments/{attachment_id}", include_in_schema=False)
def attachment_page_download(
    db: DbSession, ws: WorkspaceDep, who: ViewCases, lang: Lang, case_id: CaseIdPath,
    attachment_id: CaseIdPath,
) -> Response:  # fmt: skip
    """Download an attachment of a visible case."""
    return _download(db, ws, who, lang, case_id, attachment_id)


def _download(db: Session, ws: Workspace, who: ViewCases, lang: str, case_id: int,
              attachment_id: int) -> Response:  # fmt: skip
    detail = get_case(db, who, case_id, lang=lang)
    found = next((a for a in detail.attachments if a["id"] == attachment_id), None)
    if found is None:
        raise NotFound()
    data = attachment_store(ws).get(found["sha256"])
    # Always a download, never rendered inline: the browser gets no chance to sniff.
    return Response(
        data,
        media_type=found["media_type"],
        headers={
            "Content-Disposition": "attachment; filename*=UTF-8''"
            + _quote(found["file_name"] or found["sha256"]),
            "X-Content-SHA256": found["sha256"],
        },
    )


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


# ---- JSON API ------------------------------------------------------------------------------


@router.get("/api/v1/cases/tasks", summary="My tasks (我的任务)")
def api_tasks(db: DbSession, who: ViewCases, page: Pagination) -> dict[str, Any]:
    """Open tasks the caller's unit holds (unassigned or assigned to the caller) and tasks
    escalated to it, most urgent first."""
    result: dict[str, Any] = _json(my_tasks(db, who, page=page.page, size=page.size))
    return result


@router.get("/api/v1/cases/board", summary="Team board (团队看板)")
def api_board(db: DbSession, who: ViewCases) -> dict[str, Any]:
    """The caller's unit and each unit one level below: open, overdue, escalated, by state;
    and the tasks escalated to the caller's unit (督办)."""
    result: dict[str, Any] = _json(team_board(db, who))
    return result


@router.get("/api/v1/cases/statistics", summary="Case statistics")
def api_statistics(
    db: DbSession,
    who: ViewCases,
    since: Annotated[date | None, Query(description="Opened on or after (YYYY-MM-DD).")] = None,
    until: Annotated[date | None, Query(description="Opened before (YYYY-MM-DD).")] = None,
) -> dict[str, Any]:
    """By state, level, category, source, disposal, outcome; time to close; overdue; leads."""
    if since is not None and until is not None and since > until:
        raise BadRequest()
    result: dict[str, Any] = _json(case_statistics(db, who, since=_day(since), until=_day(until)))
    return result


@router.get("/api/v1/cases", summary="Cases in the caller's jurisdiction")
def api_cases(
    db: DbSession,
    who: ViewCases,
    page: Pagination,
    state: Annotated[str | None, Query(max_length=40)] = None,
    region: Annotated[str | None, Query(max_length=12, pattern=r"^\d{2,12}$")] = None,
    holder_level: Annotated[str | None, Query(max_length=20)] = None,
    category: Annotated[str | None, Query(max_length=80)] = None,
    grade: Annotated[str | None, Query(max_length=20)] = None,
    source: Annotated[str | None, Query(max_length=40)] = None,
    firm_id: Annotated[str | None, Query(max_length=200)] = None,
    overdue: bool | None = None,
) -> dict[str, Any]:
    """Newest first, filtered; ``region`` outside the jurisdiction gives an empty list."""
    found = list_cases(
        db, who, state=state, region=region, holder_level=holder_level, category=category,
        grade=grade, source=source, firm_id=firm_id, overdue=overdue, page=page.page,
        size=page.size,
    )  # fmt: skip
    result: dict[str, Any] = _json(found)
    return result


@router.get("/api/v1/cases/{case_id}", summary="One case")
def api_case(ws: WorkspaceDep, who: ViewCases, lang: Lang,
             case_id: CaseIdPath) -> dict[str, Any]:  # fmt: skip
    """Summary (with ``version``), evidence snapshot, checklist, timeline, attachments,
    tasks, leads, outcomes and the transitions on offer. The view is audited."""
    with Session(ws.engine, expire_on_commit=False) as s, s.begin():
        detail = _detail(s, who, case_id, lang)
        record_case_view(s, who, case_id)
    result: dict[str, Any] = _json(detail)
    return result


class TransitionBody(BaseModel):
    """A transition request."""

    transition: str = Field(max_length=80, description="Transition id (case_states.yaml).")
    fields: dict[str, str] = Field(default_factory=dict, description="Required fields/choices.")
    version: int | None = Field(default=None, ge=0, description="The case version last seen.")


class CommentBody(BaseModel):
    """A comment."""

    text: str = Field(max_length=20_000)


class ChecklistBody(BaseModel):
    """Checklist ticks and notes."""

    items: dict[str, bool] = Field(default_factory=dict)
    notes: dict[str, str] = Field(default_factory=dict)
    version: int | None = Field(default=None, ge=0)


@router.post("/api/v1/cases/{case_id}/transitions", summary="Make a transition")
def api_transition(ws: WorkspaceDep, who: WorkCases, body: TransitionBody,
                   case_id: CaseIdPath,
                   idempotency_key: IdempotencyKey = None) -> dict[str, Any]:  # fmt: skip
    """409 when ``version`` is stale; a retry with the same ``Idempotency-Key`` replays."""
    with Session(ws.engine) as s, s.begin():
        result = do_transition_case(
            s, who, case_id, body.transition, fields=body.fields,
            expected_version=body.version, idempotency_key=idempotency_key,
        )  # fmt: skip
    return result.to_json()


@router.post("/api/v1/cases/{case_id}/comments", summary="Add a comment")
def api_comment(ws: WorkspaceDep, who: WorkCases, body: CommentBody,
                case_id: CaseIdPath,
                idempotency_key: IdempotencyKey = None) -> dict[str, Any]:  # fmt: skip
    """Append a comment to the case's timeline."""
    with Session(ws.engine) as s, s.begin():
        result = do_add_comment(s, who, case_id, body.text, idempotency_key=idempotency_key)
    return result.to_json()


@router.post("/api/v1/cases/{case_id}/checklist", summary="Tick checklist items")
def api_checklist(ws: WorkspaceDep, who: WorkCases, body: ChecklistBody,
                  case_id: CaseIdPath,
                  idempotency_key: IdempotencyKey = None) -> dict[str, Any]:  # fmt: skip
    """Tick or untick items (ids from the case's ``checklist``) with notes."""
    with Session(ws.engine) as s, s.begin():
        result = do_update_checklist(
            s, who, case_id, body.items, notes=body.notes, expected_version=body.version,
            idempotency_key=idempotency_key,
        )  # fmt: skip
    return result.to_json()


@router.post("/api/v1/cases/{case_id}/attachments", summary="Upload an attachment")
async def api_attachment(ws: WorkspaceDep, who: WorkCases, case_id: CaseIdPath,
                         file: Annotated[UploadFile, File()],
                         idempotency_key: IdempotencyKey = None) -> dict[str, Any]:  # fmt: skip
    """JPEG, PNG, WebP, PDF, DOCX/XLSX or plain text, detected from the content; 422 for any
    other type, 413 above the size limit."""
    data = await _read_limited(file)

    def work() -> dict[str, Any]:
        with Session(ws.engine) as s, s.begin():
            return do_add_attachment(
                s, who, case_id, attachment_store(ws), data, file.filename or "",
                idempotency_key=idempotency_key,
            ).to_json()  # fmt: skip

    return await run_in_threadpool(work)


@router.get("/api/v1/cases/{case_id}/attachments/{attachment_id}", summary="Download")
def api_attachment_download(db: DbSession, ws: WorkspaceDep, who: ViewCases, lang: Lang,
                            case_id: CaseIdPath,
                            attachment_id: CaseIdPath) -> Response:  # fmt: skip
    """The attachment's bytes (re-hashed on read), as a download."""
    return _download(db, ws, who, lang, case_id, attachment_id)


# ---- supervision: assign, take back, lead transfer, outcomes ---------------------------------
# These need the web permission ``supervise_cases`` (analyst, investigator) on top of the
# workflow's own checks (holder or supervisor of the task, one level down, same line).

OptText = Annotated[str, Form(max_length=4000)]
DayText = Annotated[str, Form(max_length=10, description="YYYY-MM-DD")]


def _opt(text: str | None) -> str | None:
    value = (text or "").strip()
    return value or None


def _form_day(text: str | None) -> datetime | None:
    """A ``YYYY-MM-DD`` form field as midnight UTC; blank is ``None``."""
    value = _opt(text)
    if value is None:
        return None
    try:
        return _day(date.fromisoformat(value))
    except ValueError:
        raise BadRequest() from None


def assign_targets(actor_scope: str, holder: str, region_code: str) -> list[tuple[str, str]]:
    """Units the actor may hand the case to, as ``(code, name)``: the child regions of the
    actor's unit on the case region's line (the holder: ``assignment.levels_down`` levels;
    a supervisor: every level below it)."""
    from fengyan.standards.regions import UnknownRegionError, region_table
    from fengyan.workflow.access import compatible

    table = region_table()
    depth = load_settings().levels_down if actor_scope == holder else len(LEVEL_DIGITS)
    found: list[tuple[str, str]] = []
    frontier = [actor_scope]
    for _ in range(depth):
        below: list[str] = []
        for code in frontier:
            try:
                children = table.children(code)
            except UnknownRegionError:
                continue
            for region in children:
                if compatible(region.code, region_code):
                    below.append(region.code)
                    found.append((region.code, region.name))
        frontier = below
    return found


def _assignees(db: Session, scopes: list[str]) -> list[tuple[str, str, str]]:
    """Active users of the target units, as ``(username, display name, scope)``."""
    from sqlalchemy import select

    from fengyan.db.users import WebUser

    if not scopes:
        return []
    rows = db.execute(
        select(WebUser.username, WebUser.display_name, WebUser.scope)
        .where(WebUser.scope.in_(scopes), WebUser.active.is_(True))
        .order_by(WebUser.scope, WebUser.username)
    ).all()
    return [(u, d, s) for u, d, s in rows]


def supervision_context(db: Session, who: Principal, detail: CaseDetail) -> dict[str, Any]:
    """What the case page's supervision forms need (empty when the user cannot supervise)."""
    c = detail.summary
    if not who.can("supervise_cases"):
        return {"can_supervise": False}
    final = load_machine().states[c.state].final
    holder = c.holder_scope
    own, above = who.scope == holder, holder.startswith(who.scope) and who.scope != holder
    targets = assign_targets(who.scope, holder, c.region_code) if (own or above) else []
    return {
        "can_supervise": True,
        "final": final,
        "can_assign": not final and bool(targets),
        "can_take_back": not final and above,
        "targets": targets,
        "assignees": _assignees(db, [code for code, _ in targets]),
    }


def _lead_of(db: Session, case_id: int, lead_id: int) -> None:
    """404 unless the lead exists and belongs to the case (the workflow checks the scope)."""
    from fengyan.db.cases import CaseLead

    lead = db.get(CaseLead, lead_id)
    if lead is None or lead.case_id != case_id:
        raise NotFound()


def _transfer(ws: Workspace, s: Session, who: Principal, case_id: int, *, kind: str,
              target_region: str | None, target_agency: str | None, internal: bool,
              note: str | None, version: int | None,
              idempotency_key: str | None = None) -> ActionResult:  # fmt: skip
    return do_transfer_lead(
        s, who, case_id, kind=kind, target_region=target_region, target_agency=target_agency,
        internal=internal, note=note, store=attachment_store(ws),
        keys=LeadKeys.from_settings(ws.settings), evidence_loader=lake_evidence_loader(ws.lake),
        expected_version=version, idempotency_key=idempotency_key,
    )  # fmt: skip


def _package(ws: Workspace, who: Principal, case_id: int, lead_id: int) -> Response:
    # The export is audited (personal.export), so it runs in a transaction of its own.
    with Session(ws.engine) as s, s.begin():
        _lead_of(s, case_id, lead_id)
        data = export_lead_package(s, who, lead_id, attachment_store(ws))
    return Response(
        data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="lead-{case_id}-{lead_id}.zip"',
            "X-Content-SHA256": hashlib.sha256(data).hexdigest(),
        },
    )


@router.post("/cases/{case_id}/assign", include_in_schema=False)
def assign_form(ws: WorkspaceDep, who: SuperviseCases, case_id: CaseIdPath,
                to_scope: Annotated[str, Form(max_length=12)],
                assignee: Annotated[str, Form(max_length=64)] = "",
                note: OptText = "", version: Annotated[str, Form(max_length=20)] = "",
                ) -> Response:  # fmt: skip
    """分派 / 改派: hand the task to a unit below (optionally a named user of it)."""
    with Session(ws.engine) as s, s.begin():
        do_assign_case(s, who, case_id, to_scope, assignee=_opt(assignee), note=_opt(note),
                       expected_version=_version(version))  # fmt: skip
    return _back(case_id)


@router.post("/cases/{case_id}/take-back", include_in_schema=False)
def take_back_form(ws: WorkspaceDep, who: SuperviseCases, case_id: CaseIdPath,
                   note: OptText = "",
                   version: Annotated[str, Form(max_length=20)] = "") -> Response:  # fmt: skip
    """收回: the supervisor's unit takes the task back from the unit below."""
    with Session(ws.engine) as s, s.begin():
        do_take_back_case(s, who, case_id, note=_opt(note), expected_version=_version(version))
    return _back(case_id)


@router.post("/cases/{case_id}/leads", include_in_schema=False)
def lead_form(ws: WorkspaceDep, who: SuperviseCases, case_id: CaseIdPath,
              kind: Annotated[str, Form(max_length=20)],
              target_region: Annotated[str, Form(max_length=12)] = "",
              target_agency: Annotated[str, Form(max_length=200)] = "",
              internal: Annotated[str, Form(max_length=10)] = "",
              note: OptText = "",
              version: Annotated[str, Form(max_length=20)] = "") -> Response:  # fmt: skip
    """线索移交: to the police or another region; an external lead gets a signed package."""
    with Session(ws.engine) as s, s.begin():
        _transfer(ws, s, who, case_id, kind=kind, target_region=_opt(target_region),
                  target_agency=_opt(target_agency), internal=internal == "true",
                  note=_opt(note), version=_version(version))  # fmt: skip
    return _back(case_id)


@router.get("/cases/{case_id}/leads/{lead_id}/package", include_in_schema=False)
def lead_package_page(ws: WorkspaceDep, who: SuperviseCases, case_id: CaseIdPath,
                      lead_id: CaseIdPath) -> Response:  # fmt: skip
    """Download the signed lead package (the export is audited)."""
    return _package(ws, who, case_id, lead_id)


@router.post("/cases/{case_id}/leads/{lead_id}/receipt", include_in_schema=False)
def lead_receipt_form(ws: WorkspaceDep, who: SuperviseCases, case_id: CaseIdPath,
                      lead_id: CaseIdPath,
                      receipt_ref: Annotated[str, Form(max_length=200)] = "",
                      received_at: DayText = "") -> Response:  # fmt: skip
    """回执: the receiver acknowledged the lead."""
    with Session(ws.engine) as s, s.begin():
        _lead_of(s, case_id, lead_id)
        do_record_lead_receipt(s, who, lead_id, receipt_ref=_opt(receipt_ref),
                               received_at=_form_day(received_at))  # fmt: skip
    return _back(case_id)


@router.post("/cases/{case_id}/leads/{lead_id}/feedback", include_in_schema=False)
def lead_feedback_form(ws: WorkspaceDep, who: SuperviseCases, case_id: CaseIdPath,
                       lead_id: CaseIdPath, feedback: OptText,
                       outcome: Annotated[str, Form(max_length=40)] = "",
                       known_at: DayText = "") -> Response:  # fmt: skip
    """反馈: what the receiver did; an outcome becomes a label known from ``known_at``."""
    with Session(ws.engine) as s, s.begin():
        _lead_of(s, case_id, lead_id)
        do_record_lead_feedback(s, who, lead_id, feedback=feedback, outcome=_opt(outcome),
                                known_at=_form_day(known_at))  # fmt: skip
    return _back(case_id)


@router.post("/cases/{case_id}/outcomes", include_in_schema=False)
def outcome_form(ws: WorkspaceDep, who: SuperviseCases, case_id: CaseIdPath,
                 outcome: Annotated[str, Form(max_length=40)],
                 known_at: DayText = "",
                 note: OptText = "") -> Response:  # fmt: skip
    """结果标签: confirmed illegal fundraising, police case or clearance, with its date."""
    with Session(ws.engine) as s, s.begin():
        do_record_outcome(s, who, case_id, outcome, known_at=_form_day(known_at),
                          note=_opt(note))  # fmt: skip
    return _back(case_id)


class AssignBody(BaseModel):
    """An assignment (分派) or reassignment (改派)."""

    to_scope: str = Field(max_length=12, pattern=r"^\d{2,12}$", description="Unit code below.")
    assignee: str | None = Field(default=None, max_length=64, description="A user of the unit.")
    due_at: datetime | None = Field(default=None, description="Earlier deadline (with zone).")
    note: str | None = Field(default=None, max_length=4000)
    version: int | None = Field(default=None, ge=0, description="The case version last seen.")


class TakeBackBody(BaseModel):
    """A take-back (收回)."""

    note: str | None = Field(default=None, max_length=4000)
    version: int | None = Field(default=None, ge=0)


class LeadBody(BaseModel):
    """A lead transfer (线索移交)."""

    kind: str = Field(max_length=20, description="police or region.")
    target_region: str | None = Field(default=None, max_length=12, pattern=r"^\d{2,12}$")
    target_agency: str | None = Field(default=None, max_length=200)
    internal: bool = Field(default=False, description="The region is served by this system.")
    note: str | None = Field(default=None, max_length=4000)
    version: int | None = Field(default=None, ge=0)


class ReceiptBody(BaseModel):
    """A receipt (回执)."""

    receipt_ref: str | None = Field(default=None, max_length=200)
    received_at: datetime | None = None


class FeedbackBody(BaseModel):
    """Feedback (反馈), optionally with an outcome label."""

    feedback: str = Field(max_length=4000)
    outcome: str | None = Field(default=None, max_length=40)
    known_at: datetime | None = None


class OutcomeBody(BaseModel):
    """An outcome label (结果标签) and when it became known."""

    outcome: str = Field(max_length=40, description="confirmed_ifr, police_case or clearance.")
    known_at: datetime | None = None
    note: str | None = Field(default=None, max_length=4000)


@router.post("/api/v1/cases/{case_id}/assign", summary="Assign or reassign")
def api_assign(ws: WorkspaceDep, who: SuperviseCases, body: AssignBody, case_id: CaseIdPath,
               idempotency_key: IdempotencyKey = None) -> dict[str, Any]:  # fmt: skip
    """The holder assigns one level down; a supervisor reassigns anywhere below it."""
    with Session(ws.engine) as s, s.begin():
        result = do_assign_case(
            s, who, case_id, body.to_scope, assignee=body.assignee, due_at=body.due_at,
            note=body.note, expected_version=body.version, idempotency_key=idempotency_key,
        )  # fmt: skip
    return result.to_json()


@router.post("/api/v1/cases/{case_id}/take-back", summary="Take the task back")
def api_take_back(ws: WorkspaceDep, who: SuperviseCases, body: TakeBackBody,
                  case_id: CaseIdPath,
                  idempotency_key: IdempotencyKey = None) -> dict[str, Any]:  # fmt: skip
    """A unit above the holder takes the task back to itself."""
    with Session(ws.engine) as s, s.begin():
        result = do_take_back_case(s, who, case_id, note=body.note,
                                   expected_version=body.version,
                                   idempotency_key=idempotency_key)  # fmt: skip
    return result.to_json()


@router.post("/api/v1/cases/{case_id}/leads", summary="Transfer the lead")
def api_lead(ws: WorkspaceDep, who: SuperviseCases, body: LeadBody, case_id: CaseIdPath,
             idempotency_key: IdempotencyKey = None) -> dict[str, Any]:  # fmt: skip
    """To the police (``target_agency``) or a region (``target_region``, ``internal`` when
    this deployment serves it); ``detail.package_sha256`` names the signed package."""
    with Session(ws.engine) as s, s.begin():
        result = _transfer(ws, s, who, case_id, kind=body.kind,
                           target_region=body.target_region, target_agency=body.target_agency,
                           internal=body.internal, note=body.note, version=body.version,
                           idempotency_key=idempotency_key)  # fmt: skip
    return result.to_json()


@router.get("/api/v1/cases/{case_id}/leads/{lead_id}/package", summary="Lead package")
def api_lead_package(ws: WorkspaceDep, who: SuperviseCases, case_id: CaseIdPath,
                     lead_id: CaseIdPath) -> Response:  # fmt: skip
    """The signed package (ZIP) of an outgoing lead; the download is audited."""
    return _package(ws, who, case_id, lead_id)


@router.post("/api/v1/cases/{case_id}/leads/{lead_id}/receipt", summary="Record a receipt")
def api_lead_receipt(ws: WorkspaceDep, who: SuperviseCases, body: ReceiptBody,
                     case_id: CaseIdPath, lead_id: CaseIdPath,
                     idempotency_key: IdempotencyKey = None) -> dict[str, Any]:  # fmt: skip
    """The receiver acknowledged the lead (回执)."""
    with Session(ws.engine) as s, s.begin():
        _lead_of(s, case_id, lead_id)
        result = do_record_lead_receipt(s, who, lead_id, receipt_ref=body.receipt_ref,
                                        received_at=body.received_at,
                                        idempotency_key=idempotency_key)  # fmt: skip
    return result.to_json()


@router.post("/api/v1/cases/{case_id}/leads/{lead_id}/feedback", summary="Record feedback")
def api_lead_feedback(ws: WorkspaceDep, who: SuperviseCases, body: FeedbackBody,
                      case_id: CaseIdPath, lead_id: CaseIdPath,
                      idempotency_key: IdempotencyKey = None) -> dict[str, Any]:  # fmt: skip
    """What the receiver did (反馈); an ``outcome`` becomes a label known at ``known_at``."""
    with Session(ws.engine) as s, s.begin():
        _lead_of(s, case_id, lead_id)
        result = do_record_lead_feedback(s, who, lead_id, feedback=body.feedback,
                                         outcome=body.outcome, known_at=body.known_at,
                                         idempotency_key=idempotency_key)  # fmt: skip
    return result.to_json()


@router.post("/api/v1/cases/{case_id}/outcomes", summary="Record an outcome label")
def api_outcome(ws: WorkspaceDep, who: SuperviseCases, body: OutcomeBody, case_id: CaseIdPath,
                idempotency_key: IdempotencyKey = None) -> dict[str, Any]:  # fmt: skip
    """confirmed_ifr, police_case or clearance, with the date it became known."""
    with Session(ws.engine) as s, s.begin():
        result = do_record_outcome(s, who, case_id, body.outcome, known_at=body.known_at,
                                   note=body.note, idempotency_key=idempotency_key)  # fmt: skip
    return result.to_json()
