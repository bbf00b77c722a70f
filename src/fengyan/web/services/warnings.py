"""The warning list (预警列表): graded firms of one model, filtered, sorted, paginated.

Rows are the published current scores (``firm_score``): every graded firm with its grade,
the change of the last run (new, escalated …), its category and dimension scores. Filters:
grade, category, region (inside the jurisdiction), change type, dimension (firms scoring
at least ``dimension_threshold`` there) and a name or credit-code fragment. The export
takes the same filters (:func:`export_rows`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from pydantic import BaseModel, PrivateAttr
from sqlalchemy import (
    JSON,
    ColumnElement,
    Float,
    Select,
    case,
    cast,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from fengyan.db.published import FirmScore
from fengyan.web.errors import BadRequest
from fengyan.web.scope import Principal, narrow, prefix_condition, scoped
from fengyan.web.services.common import (
    CHANGES,
    GRADE_ORDER,
    GRADE_RANK,
    category_label,
    change_label,
    check_choice,
    database_key,
    dimension_label,
    dimension_names,
    grade_label,
    latest_run_id,
    load_json,
    region_name,
)
from fengyan.web.services.config import service_settings

SORTS = (
    "score",
    "-score",
    "grade",
    "-grade",
    "name",
    "-name",
    "region",
    "-region",
    "change",
    "-change",
    "dimension",
    "-dimension",
)


class WarningFilters(BaseModel):
    """What the list is filtered and sorted by (all optional)."""

    model: str
    grade: list[str] = []
    category: str | None = None
    region: str | None = None
    change: str | None = None
    dimension: str | None = None
    q: str | None = None
    sort: str = "-score"


class WarningRow(BaseModel):
    """One graded firm in the list."""

    firm_id: str
    name: str | None
    credit_code: str | None
    region_code: str | None
    region_name: str
    model: str
    score: float
    grade: str
    grade_label: str
    previous_grade: str
    change: str
    change_label: str
    category: str | None
    category_label: str
    dimensions: dict[str, float]
    top_dimension: str | None
    top_dimension_label: str | None


class WarningPage(BaseModel):
    """A page of the list: ``items`` and the ``total`` matching the filters."""

    items: list[WarningRow]
    page: int
    size: int
    total: int
    filters: WarningFilters
    # (database, run, scope, filters, page, size, language): pages cache their rendering under it.
    _key: tuple[Any, ...] = PrivateAttr(default=())

    @property
    def cache_key(self) -> tuple[Any, ...]:
        """The key this page is cached under (empty when it was not)."""
        return self._key


def check_filters(filters: WarningFilters) -> WarningFilters:
    """``BadRequest`` for values the lists do not know (they would match nothing silently)."""
    for g in filters.grade:
        check_choice(g, GRADE_ORDER, "grade")
    check_choice(filters.change, CHANGES, "change")
    check_choice(filters.dimension, dimension_names(filters.model), "dimension")
    if filters.sort not in SORTS:
        raise BadRequest("web_bad_choice", field="sort", value=filters.sort)
    if filters.q is not None and len(filters.q) > 200:
        raise BadRequest("web_bad_choice", field="q", value=filters.q[:20])
    return filters


def _dimension_value(session: Session, dimension: str) -> ColumnElement[Any]:
    """The firm's score in ``dimension`` from the JSON text column, on either backend."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(cast(FirmScore.dimensions, JSON)[dimension].astext, Float)
    return cast(type_coerce(FirmScore.dimensions, JSON)[dimension].as_float(), Float)


def _grade_rank() -> ColumnElement[int]:
    return case(*((FirmScore.grade == g, GRADE_RANK[g]) for g in GRADE_ORDER), else_=0)


def _filtered(session: Session, principal: Principal, f: WarningFilters) -> Select[Any]:
    stmt = scoped(select(FirmScore), FirmScore.region_code, principal).where(
        FirmScore.model == f.model
    )
    if f.region:
        stmt = stmt.where(prefix_condition(FirmScore.region_code, narrow(principal, f.region)))
    if f.grade:
        stmt = stmt.where(FirmScore.grade.in_(f.grade))
    if f.category is not None:
        stmt = stmt.where(
            FirmScore.category.is_(None) if f.category == "" else FirmScore.category == f.category
        )
    if f.change:
        stmt = stmt.where(FirmScore.change == f.change)
    if f.dimension:
        threshold = service_settings().dimension_threshold
        stmt = stmt.where(_dimension_value(session, f.dimension) >= threshold)
    if f.q:
        text = f.q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{text}%"
        stmt = stmt.where(
            or_(
                FirmScore.name.like(like, escape="\\"),
                FirmScore.credit_code == f.q.strip().upper(),
            )
        )
    return stmt


def _ordered(session: Session, stmt: Select[Any], f: WarningFilters) -> Select[Any]:
    key = f.sort.lstrip("-")
    columns: dict[str, Any] = {
        "score": FirmScore.score,
        "grade": _grade_rank(),
        "name": FirmScore.name,
        "region": FirmScore.region_code,
        "change": FirmScore.change,
    }
    column: Any = columns.get(key, FirmScore.score)
    if key == "dimension" and f.dimension:
        column = _dimension_value(session, f.dimension)
    primary = column.desc() if f.sort.startswith("-") else column.asc()
    return stmt.order_by(primary, FirmScore.score.desc(), FirmScore.firm_id)


def row(score: FirmScore, lang: str) -> WarningRow:
    """A published score as a list row."""
    dims = {str(k): float(v) for k, v in load_json(score.dimensions, {}).items()}
    top = max(dims, key=lambda d: dims[d]) if dims else None
    return WarningRow(
        firm_id=score.firm_id,
        name=score.name,
        credit_code=score.credit_code,
        region_code=score.region_code,
        region_name=region_name(score.region_code),
        model=score.model,
        score=round(score.score, 2),
        grade=score.grade,
        grade_label=grade_label(score.grade, lang),
        previous_grade=score.previous_grade,
        change=score.change,
        change_label=change_label(score.change, lang),
        category=score.category,
        category_label=category_label(score.category, lang),
        dimensions=dims,
        top_dimension=top,
        top_dimension_label=dimension_label(score.model, top, lang) if top else None,
    )


def list_warnings(
    session: Session,
    principal: Principal,
    filters: WarningFilters,
    page: int,
    size: int,
    lang: str,
) -> WarningPage:
    """One page of the warning list inside the principal's jurisdiction.

    Pages change only when a run is published: they are kept in a small LRU per (run,
    scope, filters, page, size, language), so the jurisdiction filter is part of the key.
    """
    f = check_filters(filters)
    key = (
        database_key(session),
        latest_run_id(session),
        principal.scope,
        f.model_dump_json(),
        page,
        size,
        lang,
    )
    with _LOCK:
        hit = _PAGES.get(key)
        if hit is not None:
            _PAGES.move_to_end(key)
            return hit
    stmt = _filtered(session, principal, f)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    scores = session.scalars(_ordered(session, stmt, f).offset((page - 1) * size).limit(size))
    made = WarningPage(
        items=[row(s, lang) for s in scores], page=page, size=size, total=total, filters=f
    )
    made._key = key
    with _LOCK:
        _PAGES[key] = made
        while len(_PAGES) > PAGE_CACHE_SIZE:
            _PAGES.popitem(last=False)
    return made


PAGE_CACHE_SIZE = 1000
_LOCK = threading.Lock()
_PAGES: OrderedDict[tuple[Any, ...], WarningPage] = OrderedDict()


def count_warnings(session: Session, principal: Principal, filters: WarningFilters) -> int:
    """How many rows the filters select."""
    stmt = _filtered(session, principal, check_filters(filters))
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


EXPORT_COLUMNS = (
    "firm_id",
    "name",
    "credit_code",
    "region_code",
    "region_name",
    "grade",
    "previous_grade",
    "change",
    "score",
    "category",
    "top_dimension",
)


def export_header(lang: str) -> list[str]:
    """Column titles of the export, in the reader's language."""
    from fengyan.i18n import t

    return [t(f"web_col_{c}", lang) for c in EXPORT_COLUMNS]


def export_rows(
    session: Session, principal: Principal, filters: WarningFilters, lang: str
) -> list[list[Any]]:
    """Every row the filters select (at most the export cap; ``BadRequest`` above it)."""
    f = check_filters(filters)
    cap = service_settings().export.max_rows
    stmt = _filtered(session, principal, f)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if total > cap:
        raise BadRequest("web_export_too_large", rows=total, cap=cap)
    out: list[list[Any]] = []
    for s in session.scalars(_ordered(session, stmt, f)):
        r = row(s, lang)
        out.append(
            [
                r.firm_id,
                r.name,
                r.credit_code,
                r.region_code,
                r.region_name,
                r.grade_label,
                grade_label(r.previous_grade, lang),
                r.change_label,
                r.score,
                r.category_label,
                r.top_dimension_label,
            ]
        )
    return out
