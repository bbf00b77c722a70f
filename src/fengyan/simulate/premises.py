"""Where firms register: a building of the kind their industry uses, a room in it.

Popular buildings attract many firms (a Zipf-like pull), 集群注册 business centres host a
share of small companies under one address, and a firm registered at a business centre
operates somewhere else (its 实际经营地址). Addresses are the building's (which parses back
to its community, see :mod:`.geography`) plus a room, floor or unit.
"""

from __future__ import annotations

import numpy as np

from fengyan.simulate.core import STR, Ints, Strs, join, strs
from fengyan.simulate.firms import Firms
from fengyan.simulate.geography import KINDS, City
from fengyan.simulate.params import Params


def building_choice(
    rng: np.random.Generator, city: City, kind: Strs, premium: np.ndarray | None = None
) -> Ints:
    """A building of each requested kind (premium office towers when ``premium``)."""
    n = len(kind)
    out = np.zeros(n, dtype=np.int64)
    ordinary = ~city.building_cluster
    for k in KINDS:
        rows = np.flatnonzero(kind == k)
        pool = np.flatnonzero(ordinary & (city.building_kind == k))
        if len(pool) == 0:
            pool = np.flatnonzero(ordinary)
        if premium is not None:
            want = premium[rows]
            top = pool[city.building_premium[pool]]
            if len(top):
                out[rows[want]] = top[rng.integers(0, len(top), int(want.sum()))]
            rows = rows[~want]
        # Zipf-like popularity: the k-th building of a kind draws about 1/k^0.6 of its firms.
        pull = 1.0 / np.arange(1, len(pool) + 1) ** 0.6
        out[rows] = pool[np.searchsorted(np.cumsum(pull), rng.random(len(rows)) * pull.sum())]
    return out


def rooms(rng: np.random.Generator, city: City, building: Ints, floors: tuple[int, int]) -> Strs:
    """A room, floor or unit inside each building, written as such addresses are."""
    n = len(building)
    kind = city.building_kind[building]
    floor = rng.integers(floors[0], floors[1], n)
    room = np.strings.zfill(rng.integers(1, 40, n).astype(STR), 2)
    tower = strs(["A座", "B座", "C座", "", "", ""])[rng.integers(0, 6, n)]
    office = join(tower, floor.astype(STR), room)
    office = np.where(rng.random(n) < 0.5, join(office, "室"), office)
    park = join(rng.integers(1, 12, n).astype(STR), "栋", rng.integers(1, 8, n).astype(STR), "楼")
    shop = join(
        rng.integers(1, 3, n).astype(STR), "楼", rng.integers(1, 200, n).astype(STR), "号铺"
    )
    home = join(rng.integers(1, 20, n).astype(STR), "栋", rng.integers(1, 30, n).astype(STR), room)
    out = np.where(kind == "park", park, np.where(kind == "commercial", shop, office))
    return np.where(kind == "residential", home, out).astype(STR)


def assign_premises(
    rng: np.random.Generator, f: Firms, params: Params, city: City, individual: np.ndarray
) -> None:
    """Fill building, address, region and district of every firm; cluster hosts too."""
    n = len(f)
    code_to_premises = {i.code: i.premises for i in params.industries}
    kind = np.full(n, "office", dtype=STR)
    for code in np.unique(f.industry_code).tolist():
        rows = np.flatnonzero(f.industry_code == code)
        options = code_to_premises.get(code, ["office"])
        kind[rows] = strs(options)[rng.integers(0, len(options), len(rows))]
    kind[individual] = "commercial"
    f.building = building_choice(rng, city, kind)
    where = rooms(rng, city, f.building, params.city.floors)
    # 集群注册: small companies (not shops, not licensed) hosted by a business centre.
    hosts = np.flatnonzero(city.building_cluster)
    small = ~individual & (f.licence == "") & (f.headcount < 10)
    clustered = small & (rng.random(n) < params.city.cluster.firm_share / max(small.mean(), 1e-9))
    if len(hosts):
        f.building[clustered] = hosts[rng.integers(0, len(hosts), int(clustered.sum()))]
    place = city.building_place[f.building]
    f.district = city.place_district[place]
    f.region_code = city.place_code[place]
    f.address = join(city.building_address[f.building], where)
    seq = np.strings.zfill(rng.integers(1, 9999, n).astype(STR), 4)
    cluster_room = join(rng.integers(1, 30, n).astype(STR), "楼", seq, "号")
    f.address[clustered] = join(
        city.building_address[f.building[clustered]], cluster_room[clustered]
    )
    f.extra["clustered"] = clustered
    with_province = rng.random(n) < params.city.address_with_province
    if city.province != city.name:
        f.address = np.where(with_province, join(city.province, f.address), f.address).astype(STR)
    # Firms at a business centre work elsewhere: their operating address.
    elsewhere = building_choice(rng, city, strs(["office"] * int(clustered.sum())))
    f.operating_address[clustered] = join(
        city.building_address[elsewhere], rooms(rng, city, elsewhere, params.city.floors)
    )
    f.operating_region[clustered] = city.place_code[city.building_place[elsewhere]]
    f.address_after = f.address.copy()
    f.region_after = f.region_code.copy()
    f.district_after = f.district.copy()


def relocations(
    rng: np.random.Generator,
    city: City,
    idx: Ints,
    floors: tuple[int, int],
    other_district: bool = False,
    current: Ints | None = None,
) -> tuple[Strs, Strs, Ints]:
    """New addresses for firms ``idx`` (in another district when ``other_district``)."""
    kind = strs(["office"] * len(idx))
    building = building_choice(rng, city, kind)
    if other_district and current is not None:
        for _ in range(10):
            same = city.place_district[city.building_place[building]] == current
            if not same.any():
                break
            building[same] = building_choice(rng, city, kind[same])
    address = join(city.building_address[building], rooms(rng, city, building, floors))
    place = city.building_place[building]
    return address, city.place_code[place], city.place_district[place]
