"""The lawful population of firms, drawn in one vectorised pass.

Industry (GB/T 4754), legal form, age, exit (注销/吊销/迁出), capital snapped to the amounts
people register, paid-in capital, insured headcount, premises and address, credit code,
and the lawful changes of the window (renames, moves). Licensed local financial
organisations (7+4) are drawn here too, as one more kind of industry; schemes overwrite a
few rows later (:mod:`.schemes`).
"""

from __future__ import annotations

import numpy as np

from fengyan.simulate import codes, names
from fengyan.simulate.core import (
    STR,
    Calendar,
    Ints,
    Streams,
    Strs,
    join,
    lognormal,
    strs,
    weighted,
)
from fengyan.simulate.firms import (
    NEVER,
    ROLE_FINANCE,
    ROLE_LICENSED,
    Firms,
    Labels,
    empty_firms,
)
from fengyan.simulate.geography import City
from fengyan.simulate.params import Params
from fengyan.simulate.premises import assign_premises, relocations

_SHOP_SUFFIXES = {
    "F": ("商行", "百货店", "便利店", "经营部"),
    "H": ("餐饮店", "饭店", "小吃店"),
    "O": ("美容店", "理发店", "家政服务部"),
}
_DEFAULT_SHOP = ("经营部", "商行", "工作室")
_SHOP_SECTIONS = ("F", "H", "O")


def generate_firms(streams: Streams, params: Params, cal: Calendar, city: City) -> Firms:
    """``params.enterprises.count`` lawful firms of ``city``."""
    rng = streams.get("firms")
    ep = params.enterprises
    n = ep.count
    f = empty_firms(n)
    # Industry: ordinary classes plus licensed organisation types, by share.
    ind = params.industries
    lic = list(params.finance.licensed.items())
    weights = [i.weight / 100 for i in ind] + [t.share for _, t in lic]
    total_ordinary = sum(i.weight for i in ind) / 100
    scale = (1 - sum(t.share for _, t in lic)) / total_ordinary
    weights = [w * scale for w in weights[: len(ind)]] + weights[len(ind) :]
    pick = weighted(rng, weights, n)
    is_lic = pick >= len(ind)
    codes_ = [i.code for i in ind] + [t.industry for _, t in lic]
    labels = [i.label for i in ind] + [t.label for _, t in lic]
    f.industry_code = strs(codes_)[pick]
    f.industry_label = Labels(strs(labels)[pick])
    f.finance_like = np.array([i.finance_like for i in ind] + [True] * len(lic))[pick]
    f.licence = np.where(is_lic, strs([""] * len(ind) + [k for k, _ in lic])[pick], "").astype(STR)
    f.role = np.where(is_lic, ROLE_LICENSED, np.where(f.finance_like, ROLE_FINANCE, f.role))
    f.role = np.asarray(f.role, dtype=STR)
    # Industry words and scope clauses.
    word_lists = [i.words for i in ind] + [t.words for _, t in lic]
    scope_lists = [i.scope for i in ind] + [[t.label + "业务（持牌经营）"] for _, t in lic]
    f.word = _pick_from_lists(rng, word_lists, pick)
    f.scope = Labels(_scopes(rng, scope_lists, pick))
    # Legal form: licensed organisations are companies; individual businesses only in shops.
    forms = ep.forms
    form = weighted(rng, [fm.weight for fm in forms], n)
    individual_id = next((k for k, fm in enumerate(forms) if fm.id == "individual"), -1)
    shop = np.isin(np.strings.slice(f.industry_code, 0, 1), _SHOP_SECTIONS) & ~f.finance_like
    bad_individual = (form == individual_id) & ~shop
    form[bad_individual | is_lic] = 0
    f.form = form
    f.entity_form = Labels(strs([fm.entity_form for fm in forms])[form])
    individual = form == individual_id
    # Age, establishment and exit.
    age_days = np.minimum(
        rng.exponential(ep.age_years_mean * 365.25, n), ep.age_years_max * 365.25
    ).astype(np.int64)
    f.established = cal.end - age_days.astype("timedelta64[D]")
    f.established_month = cal.month_of(f.established)
    rate = ep.exit_rate_per_year * np.where(individual, 1.5, 1.0) * np.where(is_lic, 0.3, 1.0)
    exits = rng.random(n) < 1 - np.exp(-rate * age_days / 365.25)
    exit_day = f.established + (rng.random(n) * age_days).astype("timedelta64[D]")
    active = strs(list(ep.active_kinds))[weighted(rng, list(ep.active_kinds.values()), n)]
    gone = strs(list(ep.exit_kinds))[weighted(rng, list(ep.exit_kinds.values()), n)]
    f.status_before = active
    f.status_after = np.where(exits, gone, active).astype(STR)
    f.status_month = np.where(exits, cal.month_of(exit_day), NEVER)
    f.status_day = np.where(exits, exit_day, np.datetime64("NaT"))
    # Capital (yuan), paid-in, headcount.
    median_cap = np.array(
        [i.capital_wan for i in ind]
        + [np.sqrt(t.capital_wan[0] * t.capital_wan[1]) for _, t in lic]
    )
    cap_wan = lognormal(rng, median_cap[pick], ep.capital_sigma, n)
    cap_wan = np.where(individual, rng.choice([1.0, 3.0, 5.0, 10.0], n), cap_wan)
    steps = np.array(ep.capital_steps_wan)
    f.capital = (
        steps[np.abs(np.log(cap_wan[:, None]) - np.log(steps[None, :])).argmin(axis=1)] * 1e4
    )
    for k, (_, t) in enumerate(lic):
        rows = pick == len(ind) + k
        f.capital[rows] = np.clip(f.capital[rows], t.capital_wan[0] * 1e4, t.capital_wan[1] * 1e4)
    paid = rng.random(n) < ep.paid_in_share
    f.paid_in = np.where(paid, np.round(f.capital * rng.uniform(0.1, 1.0, n), -3), np.nan)
    f.paid_in = np.where(is_lic, f.capital, f.paid_in)
    heads = np.array([i.headcount for i in ind] + [12.0] * len(lic))[pick]
    staff = lognormal(rng, np.maximum(heads, 0.5), ep.headcount_sigma, n)
    staff = np.where(rng.random(n) < ep.no_staff_share, 0, np.round(staff))
    f.headcount = np.where(individual, np.minimum(staff, 3), staff).astype(np.int64)
    # Names: unique brand + word + ending in the city.
    suffix = strs([fm.suffix for fm in forms])[form]
    section = np.strings.slice(f.industry_code, 0, 1)
    for sec, options in _SHOP_SUFFIXES.items():
        rows = individual & (section == sec)
        suffix[rows] = strs(list(options))[rng.integers(0, len(options), int(rows.sum()))]
    rows = individual & ~np.isin(section, list(_SHOP_SUFFIXES))
    suffix[rows] = strs(list(_DEFAULT_SHOP))[rng.integers(0, len(_DEFAULT_SHOP), int(rows.sum()))]
    f.word = np.where(individual, "", f.word).astype(STR)
    f.extra["suffix"] = suffix
    assign_premises(rng, f, params, city, individual)
    key = join(f.word, suffix, "|", np.where(individual, f.district.astype(STR), ""))
    f.brand = names.unique_brands(rng, names.brand_words(rng, n), key)
    styles = ep.name_styles
    f.extra["style"] = weighted(
        rng, [styles.city_first, styles.city_in_brackets, styles.city_short], n
    )
    make_names(f, np.arange(n), city, individual)
    # Credit codes: registering authority = the city or the district bureau.
    new = f.established >= np.datetime64("2015-10-01")
    org = codes.org_codes(streams.get("codes"), n, new)
    city6 = city.code.ljust(6, "0")
    district6 = strs(city.district_codes)[f.district]
    region6 = np.where(rng.random(n) < 0.6, city6, district6).astype(STR)
    klass = strs([fm.code_class for fm in forms])[form]
    f.credit_code = codes.credit_codes(join("9", np.strings.slice(klass, 1, 2)), region6, org)
    f.authority = Labels(
        np.where(
            region6 == city6,
            f"{city.name}市场监督管理局",
            join(f"{city.name}市场监督管理局", strs(city.district_names)[f.district], "分局"),
        ).astype(STR)
    )
    f.extra["individual"] = individual
    return f


def make_names(f: Firms, idx: Ints, city: City, individual: np.ndarray) -> None:
    """(Re)build the full names of firms ``idx`` from brand, word, ending and style."""
    style = np.asarray(f.extra["style"])[idx]
    suffix = np.asarray(f.extra["suffix"])[idx]
    district = strs(city.district_names)[f.district[idx]]
    f.name[idx] = names.firm_names(
        np.random.default_rng(0),
        f.brand[idx],
        f.word[idx],
        suffix,
        style,
        city.name,
        city.short,
        district,
        individual[idx],
    )


def _pick_from_lists(rng: np.random.Generator, lists: list[list[str]], which: Ints) -> Strs:
    out = np.empty(len(which), dtype=STR)
    for k, options in enumerate(lists):
        rows = which == k
        out[rows] = strs(options)[rng.integers(0, len(options), int(rows.sum()))]
    return out


def _scopes(rng: np.random.Generator, lists: list[list[str]], which: Ints) -> Strs:
    """Two or three scope clauses of the industry, joined the registry's way (；)."""
    a = _pick_from_lists(rng, lists, which)
    b = _pick_from_lists(rng, lists, which)
    both = join(a, "；", b)
    return np.where(a == b, a, both).astype(STR)


def lawful_changes(
    rng: np.random.Generator, params: Params, cal: Calendar, city: City, f: Firms
) -> None:
    """Renames (another word of the same industry) and moves of lawful firms in the window."""
    ep = params.enterprises
    individual = np.asarray(f.extra["individual"])
    alive = (f.status_month >= cal.months) & ~individual
    first = np.maximum(f.established_month + 1, 0)
    room = first < cal.months
    renamed = np.flatnonzero(alive & room & (rng.random(len(f)) < ep.rename_share))
    words = {i.code: i.words for i in params.industries}
    for i in renamed.tolist():
        options = [w for w in words.get(str(f.industry_code[i]), []) if w != f.word[i]]
        if not options:
            continue
        new = options[int(rng.integers(0, len(options)))]
        f.name_after[i] = str(f.name[i]).replace(str(f.word[i]), new, 1)
        f.name_month[i] = int(rng.integers(first[i], cal.months))
    moved = np.flatnonzero(alive & room & (rng.random(len(f)) < ep.address_change_share))
    address, region, district = relocations(rng, city, moved, params.city.floors)
    f.address_after[moved], f.region_after[moved], f.district_after[moved] = (
        address,
        region,
        district,
    )
    f.address_month[moved] = first[moved] + (
        rng.random(len(moved)) * (cal.months - first[moved])
    ).astype(np.int64)
