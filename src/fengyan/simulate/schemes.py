"""Schemes: which firms run them, who is behind them, and how the register shows it.

A scheme takes over a few rows of the firm table: a core firm named for its typology
(鑫融汇金融信息服务有限公司), shells set up around it that share its nominee officers, its
building or a 集群注册 address, and sometimes a successor registered under a new name after
the collapse. The real boss (the controller) holds the core only through a holding shell
and nominees; ground truth names them. Registry changes follow the life cycle: capital
raised during expansion, legal representative replaced and address moved to another
district under stress, licence revoked (吊销) some months after the collapse.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fengyan.simulate import names
from fengyan.simulate.core import Calendar, Ints, Streams, strs, weighted
from fengyan.simulate.enterprises import make_names
from fengyan.simulate.firms import (
    NEVER,
    ROLE_CORE,
    ROLE_SHELL,
    ROLE_SIMILAR,
    ROLE_SUCCESSOR,
    Firms,
)
from fengyan.simulate.geography import City
from fengyan.simulate.lifecycle import Scheme, plan
from fengyan.simulate.ownership import (
    ROLE_TEXTS,
    ROLES,
    Holdings,
    Posts,
    draw_people,
    role_codes,
)
from fengyan.simulate.params import Params
from fengyan.simulate.persons import Persons
from fengyan.simulate.premises import building_choice, cluster_hosts, relocations, rooms

_SHELL_WORDS = (
    "商务咨询",
    "投资管理",
    "企业管理",
    "信息技术",
    "供应链管理",
    "贸易",
    "资产管理",
    "网络科技",
)
_SHELL_INDUSTRY = {
    "商务咨询": "L7243",
    "投资管理": "L7212",
    "企业管理": "L7219",
    "信息技术": "I6560",
    "供应链管理": "L7224",
    "贸易": "F5199",
    "资产管理": "L7212",
    "网络科技": "I6513",
}
_FINANCE_WORDS = ("投资", "资产", "金融", "财富", "基金")
PostRow = tuple[int, int, str, str, int, int]  # firm, person, role, text, start, end month
HoldingRow = tuple[int, int, bool, float, int]  # asset, owner, owner is a firm, share, month


def build_schemes(
    streams: Streams,
    params: Params,
    cal: Calendar,
    city: City,
    firms: Firms,
    persons: Persons,
    posts: Posts,
    holdings: Holdings,
) -> list[Scheme]:
    """Plan the schemes and write them into the firm, post and holding tables."""
    rng = streams.get("schemes")
    sp = params.schemes
    n = len(firms)
    target = max(1, round(n * sp.firm_share))  # firms involved in schemes
    kinds = list(sp.typologies)
    weights = [sp.typologies[k].weight for k in kinds]
    schemes: list[Scheme] = []
    forms = [fm.id for fm in params.enterprises.forms]
    llc = forms.index("llc")
    free = np.flatnonzero(
        np.isin(firms.form, [llc, forms.index("llc_one")])
        & (firms.licence == "")
        & (firms.group < 0)
    )
    free = rng.permutation(free)
    taken = 0
    changed: list[int] = []
    new_posts: list[PostRow] = []
    new_holdings: list[HoldingRow] = []
    while taken < target:
        kind = kinds[int(weighted(rng, weights, 1)[0])]
        s = plan(rng, len(schemes), kind, sp.typologies[kind], sp, cal.months)
        n_shells = int(rng.integers(sp.shells[0], sp.shells[1] + 1))
        successor = rng.random() < sp.reregister_share and s.collapse + 4 < cal.months
        need = 1 + n_shells + int(successor)
        if taken + need > target:  # the last scheme is trimmed to hit the target exactly
            successor = successor and target - taken >= 2
            n_shells = max(0, target - taken - 1 - int(successor))
            need = 1 + n_shells + int(successor)
        slots = free[taken : taken + need]
        taken += need
        if len(slots) < need:
            break
        schemes.append(s)
        s.core, s.shells = int(slots[0]), [int(x) for x in slots[1 : 1 + n_shells]]
        s.brand = str(names.composed_brands(rng, 1, strs(list(sp.brand_chars)))[0])
        s.controller = int(draw_people(rng, persons, 1)[0])
        s.nominees = [int(x) for x in rng.integers(0, len(persons), 4)]
        _core(rng, params, cal, city, firms, s)
        for k, shell in enumerate(s.shells):
            _shell(rng, params, cal, city, firms, s, shell, k)
        if successor:
            s.successor = int(slots[-1])
            _successor(rng, params, cal, city, firms, s)
        changed.extend(int(x) for x in slots)
        _people(rng, s, firms, new_posts, new_holdings)
    changed.extend(_similar_names(rng, params, firms, schemes, set(changed)))
    idx = np.asarray(changed, dtype=np.int64)
    _rewrite_rows(rng, firms, posts, holdings, idx, new_posts, new_holdings, cal)
    fixed = np.ones(n, dtype=bool)
    fixed[idx] = False
    key = np.strings.add(np.strings.add(firms.word, np.asarray(firms.extra["suffix"])), "|")
    firms.brand = names.unique_brands(rng, firms.brand, key, fixed=fixed)
    make_names(firms, idx, city, np.asarray(firms.extra["individual"]))
    for s in schemes:
        s.brand = str(firms.brand[s.core])
        t = sp.typologies[s.typology]
        pattern = t.product[int(rng.integers(0, len(t.product)))]
        s.product = pattern.format(brand=s.brand, n=int(rng.integers(1, 9)))
        if s.renamed:  # same credit code, new industry word
            old = str(firms.name[s.core])
            firms.name_after[s.core] = old.replace(str(firms.word[s.core]), s.new_word, 1)
    return schemes


def _core(
    rng: np.random.Generator, params: Params, cal: Calendar, city: City, f: Firms, s: Scheme
) -> None:
    t = params.schemes.typologies[s.typology]
    i = s.core
    f.word[i] = t.words[int(rng.integers(0, len(t.words)))]
    f.brand[i] = s.brand
    _reset(params, f, i, t.industry)
    f.finance_like[i], f.role[i], f.scheme[i] = True, ROLE_CORE, s.id
    f.established[i] = cal.random_day(rng, np.array([s.setup]))[0]
    f.established_month[i] = s.setup
    f.capital[i] = float(rng.choice([1000, 2000, 5000, 10000, 20000])) * 1e4
    f.paid_in[i] = (
        np.nan if rng.random() < 0.7 else round(f.capital[i] * rng.uniform(0.01, 0.05), -3)
    )
    f.headcount[i] = int(rng.integers(3, 16))
    premium = np.array([rng.random() < params.schemes.same_building_share])
    f.building[i] = building_choice(rng, city, strs(["office"]), premium)[0]
    _place(rng, params, city, f, i)
    f.status_before[i] = "存续"
    revoke = s.collapse + int(rng.integers(6, 19))
    f.status_after[i] = "吊销"
    f.status_month[i] = revoke
    f.status_day[i] = (
        cal.random_day(rng, np.array([revoke]))[0] if revoke < cal.months else np.datetime64("NaT")
    )
    if rng.random() < 0.4:  # capital "raised" on paper during expansion
        f.capital_after[i], f.capital_month[i] = (
            f.capital[i] * float(rng.choice([2, 3, 5])),
            s.expansion,
        )
    if rng.random() < params.schemes.migrate_share:
        addr, region, district = relocations(
            rng, city, np.array([i]), params.city.floors, True, f.district[[i]]
        )
        f.address_after[i], f.region_after[i], f.district_after[i] = addr[0], region[0], district[0]
        f.address_month[i] = s.stress
        s.migrated = True
    if rng.random() < params.schemes.rename_share:
        f.name_month[i] = max(s.launch, s.stress - 1)
        s.new_word = _SHELL_WORDS[int(rng.integers(0, len(_SHELL_WORDS)))]
        s.renamed = True
    if rng.random() < 0.5:  # the legal representative is replaced under stress
        f.rep_month[i] = s.stress


def _shell(
    rng: np.random.Generator,
    params: Params,
    cal: Calendar,
    city: City,
    f: Firms,
    s: Scheme,
    i: int,
    k: int,
) -> None:
    word = _SHELL_WORDS[int(rng.integers(0, len(_SHELL_WORDS)))]
    f.word[i] = word
    f.brand[i] = s.brand if rng.random() < 0.5 else str(names.composed_brands(rng, 1)[0])
    _reset(params, f, i, _SHELL_INDUSTRY[word])
    f.finance_like[i] = any(w in word for w in _FINANCE_WORDS)
    f.role[i], f.scheme[i] = ROLE_SHELL, s.id
    latest = min(s.stress, cal.months)  # shells exist before the window ends
    month = int(rng.integers(s.setup - 2, max(s.setup - 1, latest)))
    f.established[i] = cal.random_day(rng, np.array([month]))[0]
    f.established_month[i] = month
    f.capital[i] = float(rng.choice([100, 500, 1000, 3000])) * 1e4
    f.paid_in[i] = np.nan
    f.headcount[i] = int(rng.integers(0, 3))
    # Shells sit in the core's building (often the same floor) or at a business centre.
    hosts = cluster_hosts(city)
    f.building[i] = (
        f.building[s.core] if rng.random() < 0.6 or not len(hosts) else int(rng.choice(hosts))
    )
    _place(rng, params, city, f, i)
    f.status_before[i] = f.status_after[i] = "存续"


def _successor(
    rng: np.random.Generator, params: Params, cal: Calendar, city: City, f: Firms, s: Scheme
) -> None:
    t = params.schemes.typologies[s.typology]
    i = s.successor
    f.word[i] = t.words[int(rng.integers(0, len(t.words)))]
    f.brand[i] = str(names.composed_brands(rng, 1, strs(list(params.schemes.brand_chars)))[0])
    _reset(params, f, i, t.industry)
    f.finance_like[i], f.role[i], f.scheme[i] = True, ROLE_SUCCESSOR, s.id
    month = s.collapse + int(rng.integers(1, 5))
    f.established[i] = cal.random_day(rng, np.array([month]))[0]
    f.established_month[i] = month
    f.capital[i], f.paid_in[i], f.headcount[i] = 1000e4, np.nan, 1
    addr, region, district = relocations(
        rng, city, np.array([i]), params.city.floors, True, f.district[[s.core]]
    )
    f.address[i], f.region_code[i], f.district[i] = addr[0], region[0], district[0]
    f.address_after[i], f.region_after[i], f.district_after[i] = addr[0], region[0], district[0]
    f.status_before[i] = f.status_after[i] = "存续"


def _reset(params: Params, f: Firms, i: int, code: str) -> None:
    """Give row ``i`` a scheme firm's industry and form and forget its lawful past."""
    match = next((x for x in params.industries if x.code == code), None)
    f.industry_code[i] = code
    f.industry_label[i] = match.label if match else code
    f.scope[i] = "；".join(match.scope[:2]) if match else f"{f.word[i]}服务"
    f.licence[i] = ""
    f.form[i] = 0
    f.entity_form[i] = params.enterprises.forms[0].entity_form
    np.asarray(f.extra["suffix"])[i] = params.enterprises.forms[0].suffix
    np.asarray(f.extra["individual"])[i] = False
    f.extra["style"][i] = 0  # type: ignore[index]
    for months in (f.name_month, f.address_month, f.rep_month, f.capital_month, f.status_month):
        months[i] = NEVER
    f.group[i] = -1


def _place(rng: np.random.Generator, params: Params, city: City, f: Firms, i: int) -> None:
    b = np.array([f.building[i]])
    place = city.building_place[b]
    f.address[i] = np.strings.add(
        city.building_address[b], rooms(rng, city, b, params.city.floors)
    )[0]
    f.region_code[i] = city.place_code[place][0]
    f.district[i] = city.place_district[place][0]
    f.address_after[i], f.region_after[i], f.district_after[i] = (
        f.address[i],
        f.region_code[i],
        f.district[i],
    )
    f.operating_address[i] = f.operating_region[i] = ""
    np.asarray(f.extra["clustered"])[i] = bool(city.building_cluster[f.building[i]])


def _people(
    rng: np.random.Generator, s: Scheme, f: Firms, posts: list[PostRow], holdings: list[HoldingRow]
) -> None:
    """Nominees run the firms; the controller owns the core only through a holding shell."""
    boss, n0, n1, n2, n3 = s.controller, *s.nominees
    core = s.core
    start = int(f.established_month[core])
    f.legal_rep[core], f.rep_after[core] = n1, n3
    change = int(f.rep_month[core])
    for role, text in (
        ("法定代表人", "法定代表人"),
        ("执行董事", "执行董事兼总经理"),
        ("经理", "执行董事兼总经理"),
    ):
        posts.append((core, n1, role, text, start, change))
        if change != NEVER:
            posts.append((core, n3, role, text, change, NEVER))
    posts.append((core, n2, "监事", "监事", start, NEVER))
    holding = s.shells[0] if s.shells else -1
    if holding >= 0:
        hs = int(f.established_month[holding])
        holdings.append((core, holding, True, 70.0, start))
        holdings.append((core, n1, False, 30.0, start))
        holdings.append((holding, n0, False, 90.0, hs))
        holdings.append((holding, boss, False, 10.0, hs))
    else:
        holdings.append((core, n1, False, 100.0, start))
    for shell in s.shells:
        m = int(f.established_month[shell])
        f.legal_rep[shell] = f.rep_after[shell] = n0  # one nominee fronts every shell
        posts.append((shell, n0, "法定代表人", "法定代表人", m, NEVER))
        posts.append((shell, n0, "执行董事", "执行董事兼总经理", m, NEVER))
        posts.append((shell, n2, "监事", "监事", m, NEVER))
        if shell != holding:
            holdings.append((shell, n0, False, 100.0, m))
    if s.successor >= 0:
        m = int(f.established_month[s.successor])
        f.legal_rep[s.successor] = f.rep_after[s.successor] = n2
        posts.append((s.successor, n2, "法定代表人", "法定代表人", m, NEVER))
        posts.append((s.successor, n0, "监事", "监事", m, NEVER))
        holdings.append((s.successor, n2, False, 100.0, m))


def _similar_names(
    rng: np.random.Generator, params: Params, f: Firms, schemes: list[Scheme], taken: set[int]
) -> list[int]:
    """Lawful firms that happen to share a scheme's brand word (hard negatives)."""
    k = params.schemes.similar_name_negatives
    pool = np.flatnonzero((f.role == "normal") & ~np.asarray(f.extra["individual"]))
    pool = np.setdiff1d(pool, np.fromiter(taken, dtype=np.int64, count=len(taken)))
    chosen = rng.choice(pool, size=min(len(pool), k * len(schemes)), replace=False)
    kept = []
    for j, i in enumerate(chosen.tolist()):
        s = schemes[j // k]
        if f.word[i] == f.word[s.core]:  # same brand and word would be the same name
            continue
        f.brand[i] = s.brand
        f.role[i] = ROLE_SIMILAR
        f.extra["style"][i] = 0  # type: ignore[index]
        f.name_month[i] = NEVER  # its lawful rename (if any) would now rename nothing
        kept.append(int(i))
    return kept


def _rewrite_rows(
    rng: np.random.Generator,
    f: Firms,
    posts: Posts,
    holdings: Holdings,
    changed: Ints,
    new_posts: list[PostRow],
    new_holdings: list[HoldingRow],
    cal: Calendar,
) -> None:
    """Replace the posts and holdings of the firms the schemes took over."""
    rewired = np.unique(
        np.asarray([p[0] for p in new_posts] + [h[0] for h in new_holdings], dtype=np.int64)
    )
    keep = ~np.isin(posts.firm, rewired)
    p: list[tuple[Any, ...]] = list(zip(*new_posts, strict=True)) if new_posts else [()] * 6
    start = _day(rng, cal, f, np.asarray(p[0], dtype=np.int64), np.asarray(p[4], dtype=np.int64))
    end_m = np.asarray(p[5], dtype=np.int64)
    end = np.where(
        end_m < cal.months, cal.month_start(np.minimum(end_m, cal.months)), np.datetime64("NaT")
    )
    posts.firm = np.concatenate([posts.firm[keep], np.asarray(p[0], dtype=np.int64)])
    posts.holder = np.concatenate([posts.holder[keep], np.asarray(p[1], dtype=np.int64)])
    posts.role = np.concatenate([posts.role[keep], role_codes(list(p[2]), ROLES)])
    posts.role_text = np.concatenate([posts.role_text[keep], role_codes(list(p[3]), ROLE_TEXTS)])
    posts.start = np.concatenate([posts.start[keep], start])
    posts.end = np.concatenate([posts.end[keep], end.astype("datetime64[D]")])
    keep = ~np.isin(holdings.asset, rewired)
    h: list[tuple[Any, ...]] = list(zip(*new_holdings, strict=True)) if new_holdings else [()] * 5
    asset = np.asarray(h[0], dtype=np.int64)
    for name in ("asset", "owner", "owner_is_firm", "share", "start", "end"):
        setattr(holdings, name, getattr(holdings, name)[keep])
    holdings.extend(
        Holdings(
            asset=asset,
            owner=np.asarray(h[1], dtype=np.int64),
            owner_is_firm=np.asarray(h[2], dtype=bool),
            share=np.asarray(h[3], dtype=np.float64),
            start=_day(rng, cal, f, asset, np.asarray(h[4], dtype=np.int64)),
            end=np.full(len(asset), np.datetime64("NaT"), dtype="datetime64[D]"),
        )
    )
    del changed


def _day(rng: np.random.Generator, cal: Calendar, f: Firms, firm: Ints, month: Ints) -> np.ndarray:
    """The firm's establishment day when ``month`` is its founding month, else a day in it."""
    same = month == f.established_month[firm]
    other = cal.random_day(rng, month)
    return np.where(same, f.established[firm], other).astype("datetime64[D]")
