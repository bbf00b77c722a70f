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
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Path, Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from fengyan.web.deps import DbSession, Lang, Pagination, ViewCases, WorkCases, WorkspaceDep
from fengyan.web.errors import BadRequest, NotFound
from fengyan.web.templating import render
from fengyan.workflow import (
    AttachmentStore,
    CaseDetail,
    case_statistics,
    do_add_attachment,
    do_add_comment,
    do_transition_case,
    do_update_checklist,
    get_case,
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
    return render(
        request,
        "cases_case.html",
        {"case": detail, "labels": _labels(lang), "can_work": who.can("work_cases"),
         "max_mb": load_settings().attachment_max_bytes // (1024 * 1024)},
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
