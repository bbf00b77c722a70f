"""The simulated city: real districts, streets and communities, invented buildings.

Places come from the national division table (:func:`fengyan.standards.regions.region_table`),
so every region code is real. Buildings (office towers, industrial parks, shopping streets,
housing estates and 集群注册 business centres) are invented and placed in communities.
Every building's address is parsed back with :func:`fengyan.standards.address.parse_address`
when it is made; a building whose address would not resolve to its own community is not
used, so every registered address in the output round-trips.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fengyan.simulate.core import STR, Ints, Strs, join, strs, weighted
from fengyan.simulate.params import CityParams
from fengyan.standards.address import parse_address
from fengyan.standards.regions import VARIANT, aliases, region_table

KINDS = ("office", "park", "commercial", "residential")
_ROAD_ENDINGS = ("路", "大道", "一路", "二路", "街", "三路", "北路", "南路")
_BUILDING_WORDS = {
    "office": ("大厦", "中心", "国际中心", "广场", "商务大厦", "金融中心", "科技大厦"),
    "park": ("科技园", "工业园", "产业园", "创新园", "智造园"),
    "commercial": ("商业中心", "购物广场", "商业街", "城"),
    "residential": ("花园", "苑", "家园", "新村", "公寓"),
}
# Municipalities put the city's name on the province row; its level-2 row is 市辖区.
AREA_CODES = {
    "4403": "0755",
    "4401": "020",
    "1101": "010",
    "3101": "021",
    "1201": "022",
    "5001": "023",
    "3301": "0571",
    "3201": "025",
    "4201": "027",
    "5101": "028",
    "6101": "029",
    "4301": "0731",
    "3702": "0532",
    "3205": "0512",
    "4406": "0757",
    "4419": "0769",
    "4420": "0760",
}


PROVINCE_ABBR = {
    "11": "京",
    "12": "津",
    "13": "冀",
    "14": "晋",
    "15": "蒙",
    "21": "辽",
    "22": "吉",
    "23": "黑",
    "31": "沪",
    "32": "苏",
    "33": "浙",
    "34": "皖",
    "35": "闽",
    "36": "赣",
    "37": "鲁",
    "41": "豫",
    "42": "鄂",
    "43": "湘",
    "44": "粤",
    "45": "桂",
    "46": "琼",
    "50": "渝",
    "51": "川",
    "52": "贵",
    "53": "云",
    "54": "藏",
    "61": "陕",
    "62": "甘",
    "63": "青",
    "64": "宁",
    "65": "新",
}


@dataclass
class City:
    """Places and buildings of the simulated city (arrays indexed by place / building)."""

    code: str  # significant prefix, e.g. 4403
    name: str  # 深圳市
    short: str  # 深圳
    province: str  # 广东省
    province_code: str  # 44
    area_code: str | None
    district_names: list[str]
    district_codes: list[str]  # 6-digit
    # One place per community (or per street where a street has no usable community).
    place_code: Strs  # 12-digit code of the place
    place_district: Ints
    place_street: Strs  # 9-digit street code
    place_prefix: Strs  # 深圳市南山区粤海街道高新区社区
    # Buildings.
    building_place: Ints
    building_kind: Strs
    building_premium: np.ndarray
    building_cluster: np.ndarray
    building_address: Strs  # prefix + road + number + building name
    building_name: Strs
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)  # derived lookups

    @property
    def abbr(self) -> str:
        """The province's one-character abbreviation (粤), used in case and ICP numbers."""
        return PROVINCE_ABBR.get(self.province_code, "")

    @property
    def n_places(self) -> int:
        """How many places (communities) are in use."""
        return len(self.place_code)


def build_city(
    rng: np.random.Generator, params: CityParams, n_firms: int, brand_words: Strs
) -> City:
    """Districts, streets and communities of ``params.code`` and its buildings."""
    table = region_table()
    city_row = table.index_of(params.code)
    if city_row is None:
        raise ValueError(f"unknown city code {params.code}")
    region = table.region_at(city_row)
    chain = table.ancestors(region.code)
    province = chain[0]
    named = [r for r in chain if r.level <= 2 and r.name not in ("市辖区", "县")]
    city_name = named[-1].name
    short = next((a for a, form in aliases(city_name, 2) if form != 0), city_name)
    districts = [d for d in table.descendants(region.code, level=3) if d.name not in ("市辖区",)]
    if not districts:  # 不设区的地级市 (东莞): streets hang off the city
        districts = [region]
    codes, dist, streets, prefixes = [], [], [], []
    head = city_name if province.name == city_name else province.name + city_name
    for k, district in enumerate(districts):
        dname = "" if district.code == region.code else district.name
        for street in table.children(district.code) if dname else table.children(region.code):
            if street.level != 4:
                continue
            for community in table.children(street.code):
                written = next(
                    (a for a, form in aliases(community.name, 5) if form == VARIANT), community.name
                )
                text = f"{dname}{street.name}{written}"
                match = parse_address(head + text, default_city=region.code)
                if match is None or match.code != community.code or match.ambiguous:
                    continue
                codes.append(community.code12)
                dist.append(k)
                streets.append(street.code)
                prefixes.append(text)
    if not codes:
        raise ValueError(f"city {params.code} has no community whose address parses back")
    city = City(
        code=region.code,
        name=city_name,
        short=short,
        province=province.name,
        province_code=province.code,
        area_code=AREA_CODES.get(region.code),
        district_names=[d.name if d.code != region.code else "" for d in districts],
        district_codes=[d.code12[:6] for d in districts],
        place_code=strs(codes),
        place_district=np.asarray(dist, dtype=np.int64),
        place_street=strs(streets),
        place_prefix=join(city_name, strs(prefixes)),
        building_place=np.zeros(0, dtype=np.int64),
        building_kind=strs([]),
        building_premium=np.zeros(0, dtype=bool),
        building_cluster=np.zeros(0, dtype=bool),
        building_address=strs([]),
        building_name=strs([]),
    )
    _add_buildings(rng, city, params, n_firms, brand_words)
    return city


def _add_buildings(
    rng: np.random.Generator, city: City, params: CityParams, n_firms: int, words: Strs
) -> None:
    n = max(40, int(n_firms * params.buildings_per_1000_firms / 1000))
    kinds = np.array(list(params.building_kinds), dtype=STR)
    kind = kinds[weighted(rng, list(params.building_kinds.values()), n)]
    place = rng.integers(0, city.n_places, size=n)
    road = join(words[rng.integers(0, len(words), n)], _choice(rng, _ROAD_ENDINGS, n))
    number = rng.integers(1, 3000, size=n).astype(STR)
    base = words[rng.integers(0, len(words), n)]
    ending = np.empty(n, dtype=STR)
    for k in KINDS:
        mask = kind == k
        ending[mask] = _choice(rng, _BUILDING_WORDS[k], int(mask.sum()))
    name = join(base, ending)
    premium = (kind == "office") & (rng.random(n) < params.premium_office_share)
    # 集群注册 business centres: one or more per district.
    clusters = []
    for d in range(len(city.district_names)):
        places = np.flatnonzero(city.place_district == d)
        for _ in range(params.cluster.addresses_per_district):
            clusters.append(int(rng.choice(places)))
    c = len(clusters)
    place = np.concatenate([place, np.asarray(clusters, dtype=np.int64)])
    kind = np.concatenate([kind, strs(["office"] * c)])
    road = np.concatenate([road, join(words[rng.integers(0, len(words), c)], "路")])
    number = np.concatenate([number, rng.integers(1, 300, size=c).astype(STR)])
    name = np.concatenate([name, join(words[rng.integers(0, len(words), c)], "商务中心")])
    premium = np.concatenate([premium, np.zeros(c, dtype=bool)])
    cluster = np.concatenate([np.zeros(n, dtype=bool), np.ones(c, dtype=bool)])
    address = join(city.place_prefix[place], road, number, "号", name)
    ok = _round_trips(city, address, place)
    city.building_place = place[ok]
    city.building_kind = kind[ok]
    city.building_premium = premium[ok]
    city.building_cluster = cluster[ok]
    city.building_address = address[ok]
    city.building_name = name[ok]


def _round_trips(city: City, address: Strs, place: Ints) -> np.ndarray:
    """Whether each address parses back to its place (the rest are not used)."""
    ok = np.zeros(len(address), dtype=bool)
    for i, text in enumerate(address.tolist()):
        match = parse_address(text, default_city=city.code)
        ok[i] = match is not None and match.code.ljust(12, "0") == city.place_code[place[i]]
    return ok


def _choice(rng: np.random.Generator, options: tuple[str, ...], n: int) -> Strs:
    return np.asarray(np.array(options, dtype=STR)[rng.integers(0, len(options), n)], dtype=STR)
