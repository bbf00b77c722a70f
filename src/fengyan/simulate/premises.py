"""Where firms register: a building of the kind their industry uses, a room in it.

Popular buildings attract many firms (a Zipf-like pull), 集群注册 business centres host a
share of small companies under one address, and a firm registered at a business centre
operates somewhere else (its 实际经营地址). Addresses are the building's (which parses back
to its community, see :mod:`.geography`) plus a room, floor or unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fengyan.simulate.core import STR, Ints, Strs, join, strs
from fengyan.simulate.firms import Firms
from fengyan.simulate.geography import KINDS, City
from fengyan.simulate.params import Params

_BLOCK = 250_000  # rows of string work at a time (bounds temporary memory)


def building_choice(
    rng: np.random.Generator, city: City, kind: Strs, premium: np.ndarray | None = None
) -> Ints:
    """A building of each requested kind (premium office towers when ``premium``)."""
    n = len(kind)
    out = np.zeros(n, dtype=np.int64)
    for k in KINDS:
        rows = np.flatnonzero(kind == k)
        pool = _pool(city, k)
        if premium is not None:
            want = premium[rows]
            if len(pool.top):
                out[rows[want]] = pool.top[rng.integers(0, len(pool.top), int(want.sum()))]
            rows = rows[~want]
        out[rows] = pool.buildings[np.searchsorted(pool.cum, rng.random(len(rows)) * pool.total)]
    return out


@dataclass(frozen=True)
class _Pool:
    """The ordinary buildings of one kind, their grade-A towers and the pull of each."""

    buildings: Ints
    top: Ints
    cum: np.ndarray
    total: float


def _pool(city: City, kind: str) -> _Pool:
    """Buildings of ``kind`` to choose from (computed once per city and kind)."""
    cache: dict[str, _Pool] = city.cache.setdefault(("pools", len(city.building_kind)), {})
    got = cache.get(kind)
    if got is None:
        ordinary = ~city.building_cluster
        pool = np.flatnonzero(ordinary & (city.building_kind == kind))
        if len(pool) == 0:
            pool = np.flatnonzero(ordinary)
        # Zipf-like popularity: the k-th building of a kind draws about 1/k^0.6 of its firms.
        pull = 1.0 / np.arange(1, len(pool) + 1) ** 0.6
        got = _Pool(pool, pool[city.building_premium[pool]], np.cumsum(pull), pull.sum())
        cache[kind] = got
    return got


def cluster_hosts(city: City) -> Ints:
    """The 集群注册 business centres of the city."""
    hosts: Ints = city.cache.setdefault(
        ("hosts", len(city.building_kind)), np.flatnonzero(city.building_cluster)
    )
    return hosts


def rooms(rng: np.random.Generator, city: City, building: Ints, floors: tuple[int, int]) -> Strs:
    """A room, floor or unit inside each building, written as such addresses are."""
    n = len(building)
    kind = city.building_kind[building]
    floor = rng.integers(floors[0], floors[1], n)
    room = rng.integers(1, 40, n)
    tower = rng.integers(0, 6, n)
    suite = rng.random(n) < 0.5  # 室
    park = rng.integers(1, 12, n), rng.integers(1, 8, n)
    shop = rng.integers(1, 3, n), rng.integers(1, 200, n)
    home = rng.integers(1, 20, n), rng.integers(1, 30, n)
    towers = strs(["A座", "B座", "C座", "", "", ""])
    out = np.empty(n, dtype=STR)
    for a in range(0, n, _BLOCK):  # the strings in blocks: four candidates per row
        b = slice(a, a + _BLOCK)
        unit = np.strings.zfill(room[b].astype(STR), 2)
        office = join(towers[tower[b]], floor[b].astype(STR), unit)
        office = np.where(suite[b], join(office, "室"), office)
        in_park = join(park[0][b].astype(STR), "栋", park[1][b].astype(STR), "楼")
        in_shop = join(shop[0][b].astype(STR), "楼", shop[1][b].astype(STR), "号铺")
        at_home = join(home[0][b].astype(STR), "栋", home[1][b].astype(STR), unit)
        k = kind[b]
        chosen = np.where(k == "park", in_park, np.where(k == "commercial", in_shop, office))
        out[b] = np.where(k == "residential", at_home, chosen)
    return out


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
    hosts = cluster_hosts(city)
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
    f.address_after = np.full(n, "", dtype=STR)  # set where a firm moves
    f.region_after = np.full(n, "", dtype=STR)
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
