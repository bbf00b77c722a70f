"""The people behind the firms: names, valid ID numbers, phones, home addresses.

Most people in a city's register were born elsewhere; ID numbers start with a real county
code of their birth province (weights in ``params.persons.origin_provinces``). A few people
appear twice in the register (two person ids, sometimes one with the old 15-digit ID
number): ground_truth/person_ids.csv says which records are the same person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pyarrow as pa

from fengyan.simulate import codes, names
from fengyan.simulate.core import STR, Bools, Days, Floats, Ints, Strs, join, strs, weighted
from fengyan.simulate.geography import City
from fengyan.simulate.params import PersonParams
from fengyan.simulate.premises import building_choice, rooms
from fengyan.simulate.records import ArrowCopies, take
from fengyan.standards.regions import region_table


@dataclass
class Persons:
    """Every real person (index = person number, their ground-truth uid)."""

    name: Strs
    male: Bools
    birth: Days
    id_number: Strs
    phone: Strs  # one or two numbers joined by ';'
    address: Strs
    region_code: Strs
    nationality: Strs
    activity: Floats  # how readily this person takes posts (Pareto weight)
    person_id: Strs  # the registry's id of the person
    _cum: Floats | None = field(default=None, repr=False)
    arrow: ArrowCopies = field(default_factory=ArrowCopies, repr=False)

    def __len__(self) -> int:
        return len(self.name)

    def texts(self, name: str, idx: Ints) -> pa.Array:
        """Text column ``name`` at ``idx`` as Arrow text (for writers)."""
        return take(self.arrow.get(self, name), idx)

    def cumulative_activity(self) -> Floats:
        """Cumulative ``activity`` (computed once; people are drawn by it many times)."""
        if self._cum is None:
            self._cum = np.cumsum(np.asarray(self.activity, dtype=np.float64))
        return self._cum


@cache
def _counties(province: str) -> tuple[str, ...]:
    table = region_table()
    rows = table.descendants(province, level=3)
    # Development zones (codes ..7x..) never appear on identity cards.
    return tuple(r.code12[:6] for r in rows if r.name != "市辖区" and int(r.code12[4:6]) < 70)


def _origin_codes(rng: np.random.Generator, params: PersonParams, city: City, n: int) -> Ints:
    provinces = dict(params.origin_provinces)
    provinces.pop(city.province_code, None)
    local = rng.random(n) < params.local_share
    out = np.zeros(n, dtype=np.int64)
    home = _counties(city.province_code) or (city.code.ljust(6, "0"),)
    own = [c for c in home if c.startswith(city.code[:4])]
    k = int(local.sum())
    pool = np.array([int(c) for c in home])
    own_pool = np.array([int(c) for c in own]) if own else pool
    mix = rng.random(k) < 0.5  # half of the locals were born in the city itself
    out[np.flatnonzero(local)[mix]] = own_pool[rng.integers(0, len(own_pool), int(mix.sum()))]
    out[np.flatnonzero(local)[~mix]] = pool[rng.integers(0, len(pool), int((~mix).sum()))]
    keys = list(provinces)
    which = weighted(rng, [provinces[p] for p in keys], n - k)
    rows = np.flatnonzero(~local)
    for j, prov in enumerate(keys):
        sel = rows[which == j]
        counties = _counties(prov) or (prov.ljust(6, "0"),)
        arr = np.array([int(c) for c in counties])
        out[sel] = arr[rng.integers(0, len(arr), len(sel))]
    return out


def generate_persons(
    rng: np.random.Generator, params: PersonParams, city: City, n: int, floors: tuple[int, int]
) -> Persons:
    """``n`` people living in ``city``."""
    male = rng.random(n) >= params.female_share
    lo, hi = params.birth_years
    # Ages peak around 40: a triangular draw between the bounds.
    years = rng.triangular(lo, lo + (hi - lo) * 0.62, hi, n).astype(np.int64)
    first = (years - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    birth = first + rng.integers(0, 365, n).astype("timedelta64[D]")
    origin = _origin_codes(rng, params, city, n)
    ids = codes.id_numbers(rng, origin, birth, male)
    phones = codes.mobiles(rng, n)
    two = rng.random(n) < 0.15 if params.phones_per_person[1] > 1 else np.zeros(n, dtype=bool)
    phones = np.where(two, join(phones, ";", codes.mobiles(rng, n)), phones).astype(STR)
    home = building_choice(rng, city, strs(["residential"] * n))
    address = join(city.building_address[home], rooms(rng, city, home, floors))
    nationality = np.where(np.strings.startswith(ids, "81"), "HK", "CN").astype(STR)
    activity = rng.pareto(params.activity_shape, n) + 1.0
    order = rng.permutation(n)  # registry ids do not follow our numbering
    return Persons(
        name=names.person_names(rng, male),
        male=male,
        birth=birth,
        id_number=ids,
        phone=phones,
        address=address,
        region_code=city.place_code[city.building_place[home]],
        nationality=nationality,
        activity=activity,
        person_id=codes.ints_to_ids("SC", order + 1, 9),
    )


def registry_duplicates(
    rng: np.random.Generator, persons: Persons, used: Ints, params: PersonParams
) -> tuple[Ints, Strs, Strs]:
    """People the register lists twice: (person, second person id, ID number as written).

    Only people who hold a post are listed, so only ``used`` people are chosen. About half
    of the second records give the old 15-digit number for people born in the 1900s.
    """
    k = int(len(used) * params.duplicate_share)
    who = rng.choice(used, size=k, replace=False) if k else np.zeros(0, dtype=np.int64)
    second = codes.ints_to_ids("SC", len(persons) + np.arange(1, k + 1), 9)
    numbers = persons.id_number[who].copy()
    legacy = (rng.random(k) < params.legacy_id_share / max(params.duplicate_share, 1e-9)) & (
        np.strings.slice(numbers, 6, 8) == "19"
    )
    if legacy.any():
        numbers[legacy] = strs([codes.legacy_id(x) for x in numbers[legacy].tolist()])
    return who, second, numbers
