"""The regional map and comparison (区域态势, 区域横向对比): one layer per region.

A layer is the children of a region inside the reader's jurisdiction with their graded
firms: cities of a province and districts of a city come from ``region_summary`` (district
rows, summed per city for a province), streets of a district from its street rows,
communities of a street from ``firm_score`` (graded firms only: the summary has no
community level). The boundary file for the map, when one is shipped, is chosen by the
region (``geo`` in settings.yaml); everywhere else the layer is a table and a bar chart.
"""

from __future__ import annotations

from importlib import resources

from pydantic import BaseModel
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from fengyan.db.published import FirmScore, RegionSummary
from fengyan.web.scope import LEVELS, Principal, narrow, prefix_condition
from fengyan.web.services.common import latest_run, region_name
from fengyan.web.services.config import service_settings


class RegionItem(BaseModel):
    """One child region of the layer."""

    region_code: str
    name: str
    map_key: str
    firms: int
    red: int
    orange: int
    yellow: int
    blue: int
    new: int
    escalated: int
    warned: int
    drillable: bool


class Crumb(BaseModel):
    """A region on the way from the jurisdiction down to the layer's region."""

    region_code: str
    name: str


class RegionLayer(BaseModel):
    """The map layer of one region."""

    model: str
    region_code: str
    name: str
    level: str
    child_level: str
    geo: str | None
    run_id: int | None
    breadcrumbs: list[Crumb]
    items: list[RegionItem]
    totals: RegionItem | None


CHILD_WIDTH = {2: 4, 4: 6, 6: 9, 9: 12}


def geo_file(prefix: str) -> str | None:
    """The boundary file (under /static/geo) whose features are ``prefix``'s children."""
    name = service_settings().geo.get(prefix)
    if name is None:
        return None
    folder = resources.files("fengyan.web").joinpath("static", "geo")
    return name if folder.joinpath(name).is_file() else None


def _item(code: str, counts: tuple[int, ...]) -> RegionItem:
    firms, red, orange, yellow, blue, new, escalated = (int(c or 0) for c in counts)
    return RegionItem(
        region_code=code,
        name=region_name(code),
        map_key=code.ljust(6, "0")[:6] if len(code) <= 6 else code,
        firms=firms,
        red=red,
        orange=orange,
        yellow=yellow,
        blue=blue,
        new=new,
        escalated=escalated,
        warned=red + orange,
        drillable=len(code) < 12,
    )


def region_layer(
    session: Session, principal: Principal, model: str, region: str | None
) -> RegionLayer:
    """The children of ``region`` (default: the jurisdiction) with their grade counts.

    A region outside the jurisdiction answers 404 (:func:`fengyan.web.scope.narrow`).
    """
    prefix = narrow(principal, region)
    run = latest_run(session)
    width = CHILD_WIDTH.get(len(prefix))
    items: list[RegionItem] = []
    if run is not None and width is not None:
        if width <= 9:
            level = "district" if width <= 6 else "street"
            code = func.substr(RegionSummary.region_code, 1, width)
            rows = session.execute(
                select(
                    code,
                    func.sum(RegionSummary.firms),
                    func.sum(RegionSummary.red),
                    func.sum(RegionSummary.orange),
                    func.sum(RegionSummary.yellow),
                    func.sum(RegionSummary.blue),
                    func.sum(RegionSummary.new),
                    func.sum(RegionSummary.escalated),
                )
                .where(
                    RegionSummary.run_id == run.id,
                    RegionSummary.model == model,
                    RegionSummary.level == level,
                    prefix_condition(RegionSummary.region_code, prefix),
                )
                .group_by(code)
                .order_by(code)
            ).all()
        else:
            grade_count = [
                func.sum(case((FirmScore.grade == g, 1), else_=0))
                for g in ("red", "orange", "yellow", "blue")
            ]
            change_count = [
                func.sum(case((FirmScore.change == c, 1), else_=0)) for c in ("new", "escalated")
            ]
            rows = session.execute(
                select(FirmScore.region_code, func.count(), *grade_count, *change_count)
                .where(
                    FirmScore.model == model,
                    prefix_condition(FirmScore.region_code, prefix),
                )
                .group_by(FirmScore.region_code)
                .order_by(FirmScore.region_code)
            ).all()
        items = [_item(str(c), tuple(rest)) for c, *rest in rows if c]
    totals = None
    if items:
        sums = [
            sum(getattr(i, f) for i in items)
            for f in ("firms", "red", "orange", "yellow", "blue", "new", "escalated")
        ]
        totals = _item(prefix, tuple(sums))
    crumbs = [
        Crumb(region_code=prefix[:n], name=region_name(prefix[:n]))
        for n in (2, 4, 6, 9, 12)
        if len(principal.scope) <= n <= len(prefix)
    ]
    return RegionLayer(
        model=model,
        region_code=prefix,
        name=region_name(prefix),
        level=LEVELS.get(len(prefix), "none"),
        child_level=LEVELS.get(width or 0, "none"),
        geo=geo_file(prefix),
        run_id=run.id if run else None,
        breadcrumbs=crumbs,
        items=items,
        totals=totals,
    )
