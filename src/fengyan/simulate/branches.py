"""Branches (分公司, 营业部, 门店): their own credit codes, names and addresses.

Lawful firms open branches over their life; schemes open stores in other districts during
expansion (门店扩张), which is an indicator, and those stores close after the collapse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fengyan.simulate import codes
from fengyan.simulate.core import STR, Calendar, Days, Ints, Strs, join, strs
from fengyan.simulate.firms import NEVER, Firms
from fengyan.simulate.geography import City
from fengyan.simulate.lifecycle import Scheme
from fengyan.simulate.params import Params
from fengyan.simulate.premises import relocations


@dataclass
class Branches:
    """Branch rows."""

    parent: Ints
    credit_code: Strs
    name: Strs
    address: Strs
    region_code: Strs
    established: Days
    established_month: Ints
    closed_month: Ints  # NEVER = still open

    def __len__(self) -> int:
        return len(self.parent)


def _district_short(name: str) -> str:
    return name[:-1] if name.endswith(("区", "县", "市")) and len(name) > 2 else name


def generate_branches(
    rng: np.random.Generator,
    params: Params,
    cal: Calendar,
    city: City,
    f: Firms,
    schemes: list[Scheme],
) -> Branches:
    """Branches of lawful firms and the stores schemes open while they expand."""
    ep = params.enterprises
    lawful = np.flatnonzero(
        (f.role != "scheme_core") & ~np.asarray(f.extra["individual"]) & (f.form != 4)
    )
    owners = lawful[rng.random(len(lawful)) < ep.branch_share]
    count = rng.integers(ep.branches[0], ep.branches[1] + 1, len(owners))
    parent = np.repeat(owners, count)
    age = (cal.end - f.established[parent]).astype(np.int64)
    est = f.established[parent] + (rng.random(len(parent)) * np.maximum(age, 1)).astype(
        "timedelta64[D]"
    )
    closed = np.where(f.status_month[parent] < NEVER, f.status_month[parent], NEVER)
    extra_parent, extra_month, extra_closed = [], [], []
    for s in schemes:
        if rng.random() >= params.schemes.branch_share or s.expansion >= cal.months:
            continue
        for _ in range(int(rng.integers(1, 5))):
            extra_parent.append(s.core)
            last = min(s.stress + 1, cal.months)
            extra_month.append(int(rng.integers(s.expansion, max(s.expansion + 1, last))))
            extra_closed.append(s.collapse + 1)
    sp = np.asarray(extra_parent, dtype=np.int64)
    sm = np.asarray(extra_month, dtype=np.int64)
    parent = np.concatenate([parent, sp])
    est = np.concatenate([est, cal.random_day(rng, sm)]).astype("datetime64[D]")
    closed = np.concatenate([closed, np.asarray(extra_closed, dtype=np.int64)])
    n = len(parent)
    address, region, district = relocations(
        rng, city, np.arange(n), params.city.floors, True, f.district[parent]
    )
    shorts = strs([_district_short(d) or city.short for d in city.district_names])
    ending = np.where(np.isin(parent, sp), strs(["营业部"] * n), strs(["分公司"] * n))
    ending = np.where(rng.random(n) < 0.3, "门店", ending) if len(sp) else ending
    name = join(f.name[parent], shorts[district], ending.astype(STR))
    # Two branches of one firm in one district get a sequence number: 南山第二分公司.
    _, first = np.unique(name, return_index=True)
    dup = np.ones(n, dtype=bool)
    dup[first] = False
    name[dup] = join(name[dup], "（", np.arange(int(dup.sum())).astype(STR), "）")
    org = codes.org_codes(rng, n, np.ones(n, dtype=bool))
    code6 = city.code.ljust(6, "0")
    credit = codes.credit_codes(strs(["91"] * n), strs([code6] * n), org)
    order = np.argsort(parent, kind="stable")
    for s in schemes:
        lo, hi = np.searchsorted(parent[order], [s.core, s.core + 1])
        s.branches = order[lo:hi].tolist()
    return Branches(
        parent=parent,
        credit_code=credit,
        name=name,
        address=address,
        region_code=region,
        established=est,
        established_month=cal.month_of(est),
        closed_month=closed,
    )
