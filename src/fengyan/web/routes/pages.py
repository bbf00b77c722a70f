"""Server-rendered pages: overview, map, warnings, enterprise profile, evidence, search.

Each page calls the same service as its ``/api/v1`` twin and renders a template; charts
get their data as JSON embedded in the page (``<script type="application/json">``, which
the CSP allows because it is never executed) and are drawn by ``static/app.js``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from fengyan.web.deps import (
    DbSession,
    Lang,
    Pagination,
    SearchEnterprise,
    ViewMap,
    ViewOverview,
    ViewProfile,
    ViewWarnings,
)
from fengyan.web.errors import BadRequest
from fengyan.web.routes.api import Cache, Filters, ModelQ
from fengyan.web.services.common import (
    GRADE_ORDER,
    category_ids,
    category_label,
    check_model,
    dimension_label,
    dimension_names,
    grade_label,
    model_label,
    pages,
)
from fengyan.web.services.evidence import view_evidence_record
from fengyan.web.services.overview import overview
from fengyan.web.services.profile import view_profile
from fengyan.web.services.regions import region_layer
from fengyan.web.services.search import KINDS, SearchResult, view_search
from fengyan.web.services.warnings import SORTS, list_warnings
from fengyan.web.templating import cached_fragment, render

router = APIRouter(include_in_schema=False)
MODELS = ("dolphin-v1", "eagle-v1", "four-v1")


def _models(lang: str) -> list[tuple[str, str]]:
    return [(m, model_label(m, lang)) for m in MODELS]


@router.get("/", response_class=HTMLResponse)
def page_overview(
    request: Request, db: DbSession, who: ViewOverview, lang: Lang, model: ModelQ = None
) -> HTMLResponse:
    """The overview of the reader's jurisdiction."""
    data = overview(db, who, check_model(model), lang)
    return render(request, "overview.html", {"o": data, "models": _models(lang)})


@router.get("/map", response_class=HTMLResponse)
def page_map(
    request: Request,
    db: DbSession,
    who: ViewMap,
    lang: Lang,
    model: ModelQ = None,
    region: Annotated[str | None, Query(max_length=12)] = None,
) -> HTMLResponse:
    """The regional map and comparison of a region (default: the jurisdiction)."""
    layer = region_layer(db, who, check_model(model), region)
    return render(request, "map.html", {"layer": layer, "models": _models(lang)})


@router.get("/warnings", response_class=HTMLResponse)
def page_warnings(
    request: Request,
    db: DbSession,
    who: ViewWarnings,
    lang: Lang,
    filters: Filters,
    page: Pagination,
) -> HTMLResponse:
    """The warning list with its filters."""
    result = list_warnings(db, who, filters, page.page, page.size, lang)
    model = filters.model
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    base = urlencode(kept) + "&" if kept else ""
    export_query = urlencode([(k, v) for k, v in kept if k != "size"])
    can_export = who.can("export")
    body = cached_fragment(
        request,
        "_warnings_body.html",
        (*result.cache_key, base, export_query, can_export) if result.cache_key else (),
        lambda: {
            "result": result,
            "pages": pages(result.total, result.size),
            "models": _models(lang),
            "grades": [(g, grade_label(g, lang)) for g in GRADE_ORDER],
            "categories": [(c, category_label(c, lang)) for c in category_ids()],
            "changes": ["new", "escalated", "de-escalated", "unchanged"],
            "dimensions": [(d, dimension_label(model, d, lang)) for d in dimension_names(model)],
            "sorts": SORTS,
            "base": base,
            "export_query": export_query,
            "can_export": can_export,
        },
    )
    return render(request, "warnings.html", {"body": body})


@router.get("/firm/{firm_id}", response_class=HTMLResponse)
def page_profile(
    request: Request,
    firm_id: str,
    db: DbSession,
    who: ViewProfile,
    lang: Lang,
    cache: Cache,
    model: ModelQ = None,
) -> HTMLResponse:
    """The enterprise profile."""
    data = view_profile(db, cache, who, firm_id, check_model(model), lang)
    body = cached_fragment(
        request,
        "_profile_body.html",
        data.cache_key,
        lambda: {
            "p": data,
            "radar": next((s for s in data.scores if s.model == data.model), None),
            "models": _models(lang),
        },
    )
    return render(request, "profile.html", {"p": data, "body": body})


@router.get("/firm/{firm_id}/evidence/{table}/{record_id}", response_class=HTMLResponse)
def page_evidence(
    request: Request,
    firm_id: str,
    table: str,
    record_id: str,
    db: DbSession,
    who: ViewProfile,
    lang: Lang,
    cache: Cache,
) -> HTMLResponse:
    """One evidence record of a firm."""
    record = view_evidence_record(db, cache, who, firm_id, table, record_id, lang)
    return render(request, "evidence.html", {"r": record})


@router.get("/search", response_class=HTMLResponse)
def page_search(
    request: Request,
    db: DbSession,
    who: SearchEnterprise,
    lang: Lang,
    cache: Cache,
    q: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[str, Query(max_length=10)] = "auto",
    model: ModelQ = None,
) -> HTMLResponse:
    """The search form and its results."""
    result: SearchResult | None = None
    error = None
    kinds = [k for k in KINDS if k != "person" or who.can("search_person")]
    if q:
        try:
            result = view_search(db, cache, who, q, kind, check_model(model), lang)
        except BadRequest as exc:
            error = exc.message(lang)
    return render(
        request,
        "search.html",
        {"q": q or "", "kind": kind, "kinds": kinds, "result": result, "error": error},
    )
