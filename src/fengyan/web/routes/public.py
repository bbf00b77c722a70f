"""The public risk check (F21): ``/check`` (page) and ``/api/v1/public/check`` (JSON).

No login. Both count against the per-client budget ``FENGYAN_WEB_PUBLIC_RATE`` (requests
per minute per client address; 429 with ``Retry-After`` beyond it). Answers come from the
listed warnings only (:mod:`fengyan.web.services.public`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from fengyan.web.deps import DbSession, Lang, OptionalPrincipal, WorkspaceDep, rate_limit
from fengyan.web.errors import BadRequest
from fengyan.web.services.public import PublicAnswer, public_check, public_index
from fengyan.web.templating import render

router = APIRouter(tags=["public"])
Limited = Depends(rate_limit("public"))


@router.get(
    "/api/v1/public/check",
    response_model=PublicAnswer,
    dependencies=[Limited],
    summary="Public risk check (no login, rate-limited)",
)
async def api_check(
    ws: WorkspaceDep,
    lang: Lang,
    q: Annotated[str, Query(min_length=1, max_length=200, description="Company or platform name.")],
) -> Response:
    """A plain-language hint: is the name on the published risk list?"""
    # Answered on the event loop from the worker's in-memory list; the database is read
    # (in a thread) only when the list is due for its check for a newer run.
    index = public_index(ws.engine)
    if index.due():
        await run_in_threadpool(index.refresh)
    return Response(index.answer_json(q, lang), media_type="application/json")


@router.get("/check", response_class=HTMLResponse, include_in_schema=False, dependencies=[Limited])
def page_check(
    request: Request,
    db: DbSession,
    lang: Lang,
    _who: OptionalPrincipal,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """The public check page (the answer under the form when ``q`` is given)."""
    answer, error = None, None
    if q:
        try:
            answer = public_check(db, q, lang)
        except BadRequest as exc:
            error = exc.message(lang)
    return render(request, "check.html", {"q": q or "", "answer": answer, "error": error})
