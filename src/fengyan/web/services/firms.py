"""Finding a firm and checking that the reader may see it (one place for every firm page).

A firm's region is its published one (``firm_score.region_code``) or, for firms no model
graded, the resolved universe's (``resolved_entity.region_code``). A firm outside the
reader's jurisdiction — or unknown — answers 404 through :func:`fengyan.web.scope.check_object`.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import select
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


def find_firm(session: Session, cache: LakeCache, firm_id: str) -> FirmRef | None:
    """The firm's name, code and region, from the published scores or the lake."""
    if not firm_id or len(firm_id) > MAX_FIRM_ID:
        return None
    row = session.execute(
        select(FirmScore.name, FirmScore.credit_code, FirmScore.region_code)
        .where(FirmScore.firm_id == firm_id)
        .limit(1)
    ).first()
    if row is not None and row[2]:
        return FirmRef(
            firm_id=firm_id,
            name=row[0],
            credit_code=row[1],
            region_code=row[2],
            region_name=region_name(row[2]),
        )
    if not cache.has("resolved_entity"):
        return None
    found = cache.rows(
        "SELECT name, credit_code, region_code FROM w_resolved_entity"
        " WHERE canonical_id = ? AND entity_kind = 'enterprise' LIMIT 1",
        [firm_id],
    )
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


def visible_firm(session: Session, cache: LakeCache, principal: Principal, firm_id: str) -> FirmRef:
    """The firm if it exists and lies in the principal's jurisdiction; else 404."""
    firm = find_firm(session, cache, firm_id)
    if firm is None:
        raise NotFound()
    check_object(principal, firm.region_code)
    return firm
