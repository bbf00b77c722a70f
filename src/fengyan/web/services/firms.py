"""Finding a firm and checking that the reader may see it (one place for every firm page).

A firm's region is its published one (``firm_score.region_code``) or, for firms no model
graded, the resolved universe's (``resolved_entity.region_code``). A firm outside the
reader's jurisdiction — or unknown — answers 404 through :func:`fengyan.web.scope.check_object`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from fengyan.db.published import FirmScore
from fengyan.web.errors import NotFound
from fengyan.web.scope import Principal, check_object
from fengyan.web.services.common import region_name
from fengyan.web.services.lakecache import LakeCache

MAX_FIRM_ID = 200


class FirmRef(BaseModel):
    """A firm as lists and links show it."""

    firm_id: str
    name: str | None
    credit_code: str | None
    region_code: str | None
    region_name: str


def published_scores(session: Session, firm_id: str) -> list[FirmScore]:
    """The firm's published rows, one per model, in model order (empty if not graded)."""
    if not firm_id or len(firm_id) > MAX_FIRM_ID:
        return []
    return list(session.scalars(_PUBLISHED, {"firm_id": firm_id}).all())


_PUBLISHED = (
    select(FirmScore).where(FirmScore.firm_id == bindparam("firm_id")).order_by(FirmScore.model)
)


def find_firm(
    session: Session,
    cache: LakeCache,
    firm_id: str,
    published: Sequence[FirmScore] | None = None,
) -> FirmRef | None:
    """The firm's name, code and region, from the published scores or the lake.

    ``published``: the firm's rows of :func:`published_scores` when the caller has read
    them already (the profile), saving a round trip.
    """
    if not firm_id or len(firm_id) > MAX_FIRM_ID:
        return None
    row: tuple[str | None, str | None, str | None] | None
    if published is None:
        found_row = session.execute(
            select(FirmScore.name, FirmScore.credit_code, FirmScore.region_code)
            .where(FirmScore.firm_id == firm_id)
            .limit(1)
        ).first()
        row = None if found_row is None else (found_row[0], found_row[1], found_row[2])
    else:
        first = published[0] if published else None
        row = None if first is None else (first.name, first.credit_code, first.region_code)
    if row is not None and row[2]:
        return FirmRef(
            firm_id=firm_id,
            name=row[0],
            credit_code=row[1],
            region_code=row[2],
            region_name=region_name(row[2]),
        )
    index = cache.index("entity")
    found = [r for r in index.rows(firm_id) if r["entity_kind"] == "enterprise"] if index else []
    if not found:
        return None
    f = found[0]
    return FirmRef(
        firm_id=firm_id,
        name=f["name"],
        credit_code=f["credit_code"],
        region_code=f["region_code"],
        region_name=region_name(f["region_code"]),
    )


def visible_firm(
    session: Session,
    cache: LakeCache,
    principal: Principal,
    firm_id: str,
    published: Sequence[FirmScore] | None = None,
) -> FirmRef:
    """The firm if it exists and lies in the principal's jurisdiction; else 404.

    ``published`` as for :func:`find_firm`.
    """
    firm = find_firm(session, cache, firm_id, published)
    if firm is None:
        raise NotFound()
    check_object(principal, firm.region_code)
    return firm
