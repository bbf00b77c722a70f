"""The JSON API under ``/api/v1``: everything the pages show, through the same services.

Conventions (docs/web.md): lists take ``page`` (from 1) and ``size`` (≤ 200) and answer
``{items, page, size, total}``; filters are query parameters; objects outside the caller's
jurisdiction answer 404; personal data is masked by role and every response holding some
is recorded in the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from fengyan.web.audit_hook import record_export, record_view
from fengyan.web.deps import (
    CurrentPrincipal,
    DbSession,
    Export,
    Lang,
    Pagination,
    SearchEnterprise,
    ViewMap,
    ViewOverview,
    ViewProfile,
    ViewWarnings,
    WorkspaceDep,
)
from fengyan.web.services import export as exporting
from fengyan.web.services.common import check_model
from fengyan.web.services.evidence import EvidenceRecord, view_evidence_record
from fengyan.web.services.graph import Neighbourhood, neighbourhood
from fengyan.web.services.lakecache import LakeCache, lake_cache
from fengyan.web.services.overview import Overview, overview
from fengyan.web.services.profile import Profile, view_profile
from fengyan.web.services.regions import RegionLayer, region_layer
from fengyan.web.services.search import SearchResult, view_search
from fengyan.web.services.warnings import (
    WarningFilters,
    WarningPage,
    export_header,
    export_rows,
    list_warnings,
)

router = APIRouter(prefix="/api/v1", tags=["workbench"])

ModelQ = Annotated[str | None, Query(description="Index model id (default: settings.yaml).")]


async def get_cache(ws: WorkspaceDep) -> LakeCache:
    """The process's in-memory copy of the lake tables the pages read (a dictionary lookup:
    ``async`` so that it costs no thread-pool hop)."""
    return lake_cache(ws.lake)


Cache = Annotated[LakeCache, Depends(get_cache)]


async def warning_filters(
    model: ModelQ = None,
    grade: Annotated[
        list[str] | None, Query(description="red, orange, yellow, blue (repeat).")
    ] = None,
    category: Annotated[str | None, Query(description="Risk category id ('' = none).")] = None,
    region: Annotated[str | None, Query(description="Region code inside your scope.")] = None,
    change: Annotated[
        str | None, Query(description="new, escalated, de-escalated, unchanged.")
    ] = None,
    dimension: Annotated[str | None, Query(description="A dimension of the model.")] = None,
    q: Annotated[
        str | None, Query(description="Name fragment or credit code.", max_length=200)
    ] = None,
    sort: Annotated[
        str,
        Query(
            description="score, -score, grade, name, region, change, dimension (- = descending)."
        ),
    ] = "-score",
) -> WarningFilters:
    """The warning filters from the query string (no I/O: ``async``, no thread-pool hop)."""
    return WarningFilters(
        model=check_model(model),
        grade=[g for g in grade or [] if g],
        category=category,
        region=region or None,
        change=change or None,
        dimension=dimension or None,
        q=q or None,
        sort=sort,
    )


Filters = Annotated[WarningFilters, Depends(warning_filters)]


@router.get("/overview", response_model=Overview, summary="Counts, changes, trend, top regions")
def api_overview(db: DbSession, who: ViewOverview, lang: Lang, model: ModelQ = None) -> Overview:
    """The overview of your jurisdiction."""
    return overview(db, who, check_model(model), lang)


@router.get("/regions", response_model=RegionLayer, summary="Map layer and regional comparison")
def api_regions(
    db: DbSession,
    who: ViewMap,
    model: ModelQ = None,
    region: Annotated[
        str | None, Query(description="Region to open (default: your scope).")
    ] = None,
) -> RegionLayer:
    """The children of a region with their grade counts (and the boundary file, if any)."""
    return region_layer(db, who, check_model(model), region)


@router.get("/warnings", response_model=WarningPage, summary="Warning list")
def api_warnings(
    db: DbSession, who: ViewWarnings, lang: Lang, filters: Filters, page: Pagination
) -> WarningPage:
    """Graded firms, filtered, sorted and paginated."""
    return list_warnings(db, who, filters, page.page, page.size, lang)


def _export(
    db: DbSession, who: CurrentPrincipal, lang: str, filters: WarningFilters, fmt: str
) -> Response:
    rows = export_rows(db, who, filters, lang)
    header = export_header(lang)
    record_export(
        db,
        who,
        "export/warnings",
        {"format": fmt, "rows": len(rows), **filters.model_dump(exclude_none=True)},
        personal=False,
    )
    db.commit()
    if fmt == "csv":
        body, media = exporting.to_csv(header, rows), "text/csv; charset=utf-8"
    else:
        body = exporting.to_xlsx(header, rows, "warnings")
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="warnings.{fmt}"'},
    )


@router.get("/warnings/export.csv", summary="Warning list as CSV", response_class=Response)
def api_export_csv(
    db: DbSession, who: Export, lang: Lang, filters: Filters, _v: ViewWarnings
) -> Response:
    """The filtered list as UTF-8 CSV (formula injection defused)."""
    return _export(db, who, lang, filters, "csv")


@router.get("/warnings/export.xlsx", summary="Warning list as Excel", response_class=Response)
def api_export_xlsx(
    db: DbSession, who: Export, lang: Lang, filters: Filters, _v: ViewWarnings
) -> Response:
    """The filtered list as an Excel workbook (formula injection defused)."""
    return _export(db, who, lang, filters, "xlsx")


@router.get("/firms/{firm_id}", response_model=Profile, summary="Enterprise profile")
def api_profile(
    firm_id: str, db: DbSession, who: ViewProfile, lang: Lang, cache: Cache, model: ModelQ = None
) -> Profile:
    """Everything known about a firm of your jurisdiction (404 otherwise)."""
    return view_profile(db, cache, who, firm_id, check_model(model), lang)


@router.get("/firms/{firm_id}/graph", response_model=Neighbourhood, summary="Graph neighbourhood")
def api_graph(
    firm_id: str,
    db: DbSession,
    who: ViewProfile,
    cache: Cache,
    model: ModelQ = None,
    hops: Annotated[int, Query(ge=1, le=3, description="1 or 2 hops.")] = 1,
) -> Neighbourhood:
    """Nodes and edges around the firm (capped; hubs not expanded)."""
    result = neighbourhood(db, cache, who, firm_id, hops, check_model(model))
    if result.personal_shown:
        record_view(db, who, f"enterprise/{firm_id}", {"page": "graph", "hops": hops})
        db.commit()
    return result


@router.get(
    "/firms/{firm_id}/evidence/{table}/{record_id}",
    response_model=EvidenceRecord,
    summary="An evidence record of a firm",
)
def api_evidence(
    firm_id: str,
    table: str,
    record_id: str,
    db: DbSession,
    who: ViewProfile,
    lang: Lang,
    cache: Cache,
) -> EvidenceRecord:
    """A record cited by the firm's indicators or on its timeline (404 for any other)."""
    return view_evidence_record(db, cache, who, firm_id, table, record_id, lang)


@router.get("/search", response_model=SearchResult, summary="Search firms")
def api_search(
    db: DbSession,
    who: SearchEnterprise,
    lang: Lang,
    cache: Cache,
    q: Annotated[str, Query(min_length=1, max_length=200, description="The query.")],
    kind: Annotated[str, Query(description="auto, name, code, person, phone, domain.")] = "auto",
    model: ModelQ = None,
) -> SearchResult:
    """Firms by name (fuzzy, short names), credit code, person (if permitted), phone, domain."""
    return view_search(db, cache, who, q, kind, check_model(model), lang)
