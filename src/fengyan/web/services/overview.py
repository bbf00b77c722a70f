"""The overview (总览): counts by grade and category, changes of the last run, trend, top regions.

Everything is counted inside the reader's jurisdiction: current counts from ``firm_score``
(the published current scores), the trend from ``region_summary`` rows at the level that
tiles the jurisdiction (districts for a province, city or district user, streets for a
street user), one point per month (the month's last run).
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengyan.db.published import FirmScore, RegionSummary, ScoreRun
from fengyan.web.scope import Principal, prefix_condition, scoped
from fengyan.web.services.common import (
    GRADE_ORDER,
    category_label,
    change_label,
    grade_label,
    latest_run,
    model_label,
    region_name,
)
from fengyan.web.services.config import service_settings


class Count(BaseModel):
    """One bar of a count chart; ``key`` is the filter value the list behind it takes."""

    key: str
    label: str
    count: int


class TrendPoint(BaseModel):
    """Graded firms at the last run of one month."""

    month: str
    run_id: int
    red: int
    orange: int
    yellow: int
    blue: int


class RegionCount(BaseModel):
    """A region's graded firms (red and orange first)."""

    region_code: str
    name: str
    firms: int
    red: int
    orange: int
    yellow: int
    blue: int
    new: int
    escalated: int


class Overview(BaseModel):
    """What the overview page shows."""

    model: str
    model_label: str
    scope: str
    scope_name: str
    run_id: int | None
    as_of: str | None
    graded: int
    by_grade: list[Count]
    by_category: list[Count]
    by_change: list[Count]
    trend: list[TrendPoint]
    top_regions: list[RegionCount]


def summary_level(prefix: str) -> tuple[str, int] | None:
    """The ``region_summary`` level tiling a prefix: (level, code width), None below streets."""
    if len(prefix) <= 6:
        return ("district", 6)
    if len(prefix) <= 9:
        return ("street", 9)
    return None


def overview(session: Session, principal: Principal, model: str, lang: str) -> Overview:
    """The overview of ``model`` inside the principal's jurisdiction."""
    cfg = service_settings().overview
    base = scoped(select(FirmScore.grade, func.count()), FirmScore.region_code, principal).where(
        FirmScore.model == model
    )
    grades = dict(session.execute(base.group_by(FirmScore.grade)).all())
    categories = session.execute(
        scoped(select(FirmScore.category, func.count()), FirmScore.region_code, principal)
        .where(FirmScore.model == model)
        .group_by(FirmScore.category)
        .order_by(func.count().desc())
    ).all()
    changes = dict(
        session.execute(
            scoped(select(FirmScore.change, func.count()), FirmScore.region_code, principal)
            .where(FirmScore.model == model)
            .group_by(FirmScore.change)
        ).all()
    )
    run = latest_run(session)
    return Overview(
        model=model,
        model_label=model_label(model, lang),
        scope=principal.scope,
        scope_name=region_name(principal.scope),
        run_id=run.id if run else None,
        as_of=run.as_of.date().isoformat() if run else None,
        graded=sum(grades.values()),
        by_grade=[
            Count(key=g, label=grade_label(g, lang), count=grades.get(g, 0)) for g in GRADE_ORDER
        ],
        by_category=[
            Count(key=c or "", label=category_label(c, lang), count=n) for c, n in categories
        ],
        by_change=[
            Count(key=c, label=change_label(c, lang), count=changes.get(c, 0))
            for c in ("new", "escalated", "de-escalated", "unchanged")
        ],
        trend=trend(session, principal, model, cfg.trend_months),
        top_regions=top_regions(
            session, principal, model, run.id if run else None, cfg.top_regions
        ),
    )


def trend(session: Session, principal: Principal, model: str, months: int) -> list[TrendPoint]:
    """Graded firms per month (the month's last run), oldest first."""
    level = summary_level(principal.scope) if principal.scope else None
    if level is None:
        return []
    rows = session.execute(
        select(
            ScoreRun.id,
            ScoreRun.as_of,
            func.sum(RegionSummary.red),
            func.sum(RegionSummary.orange),
            func.sum(RegionSummary.yellow),
            func.sum(RegionSummary.blue),
        )
        .join(RegionSummary, RegionSummary.run_id == ScoreRun.id)
        .where(
            RegionSummary.model == model,
            RegionSummary.level == level[0],
            prefix_condition(RegionSummary.region_code, principal.scope),
            ScoreRun.finished_at.is_not(None),
        )
        .group_by(ScoreRun.id, ScoreRun.as_of)
        .order_by(ScoreRun.id)
    ).all()
    by_month: dict[str, TrendPoint] = {}
    for run_id, as_of, red, orange, yellow, blue in rows:
        key = as_of.strftime("%Y-%m")
        by_month[key] = TrendPoint(
            month=key,
            run_id=run_id,
            red=int(red or 0),
            orange=int(orange or 0),
            yellow=int(yellow or 0),
            blue=int(blue or 0),
        )
    return sorted(by_month.values(), key=lambda p: p.month)[-months:]


def top_regions(
    session: Session, principal: Principal, model: str, run_id: int | None, limit: int
) -> list[RegionCount]:
    """The regions one level below the scope with the most red and orange firms."""
    level = summary_level(principal.scope) if principal.scope else None
    if level is None or run_id is None:
        return []
    rows = session.scalars(
        select(RegionSummary)
        .where(
            RegionSummary.run_id == run_id,
            RegionSummary.model == model,
            RegionSummary.level == level[0],
            prefix_condition(RegionSummary.region_code, principal.scope),
        )
        .order_by(
            (RegionSummary.red + RegionSummary.orange).desc(),
            RegionSummary.firms.desc(),
            RegionSummary.region_code,
        )
        .limit(limit)
    ).all()
    return [region_count(r) for r in rows]


def region_count(r: RegionSummary) -> RegionCount:
    """A summary row as the pages show it."""
    return RegionCount(
        region_code=r.region_code,
        name=region_name(r.region_code),
        firms=r.firms,
        red=r.red,
        orange=r.orange,
        yellow=r.yellow,
        blue=r.blue,
        new=r.new,
        escalated=r.escalated,
    )
