"""Officers and shareholders: who runs and who owns every firm.

People take posts with a heavy-tailed propensity (a few hold dozens), so the officer graph
has the hubs real registers have. Corporate groups share their parent's brand word and
can be several layers deep; a few pairs of firms hold each other's shares and a few
ownership loops (A→B→C→A) exist. The ultimate controller of each firm — the person at the
end of the majority-owner chain, or the real owner behind a nominee — goes to ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from fengyan.simulate.core import STR, Bools, Days, Floats, Ints, Strs, draw_cumulative, strs
from fengyan.simulate.firms import Firms
from fengyan.simulate.params import Params
from fengyan.simulate.persons import Persons

# Officer templates per legal form: (who, role, role as written). who: 0 legal
# representative, 1 supervisor, 2 and 3 further directors.
_COMPANY = (
    (0, "法定代表人", "法定代表人"),
    (0, "执行董事", "执行董事兼总经理"),
    (0, "经理", "执行董事兼总经理"),
    (1, "监事", "监事"),
)
_TEMPLATES = {
    "llc": _COMPANY,
    "llc_one": _COMPANY,
    "llc_corp": _COMPANY,
    "jsc": (
        (0, "法定代表人", "法定代表人"),
        (0, "董事长", "董事长"),
        (2, "董事", "董事"),
        (3, "董事", "董事"),
        (2, "经理", "总经理"),
        (1, "监事会主席", "监事会主席"),
    ),
    "lp": ((0, "执行事务合伙人", "执行事务合伙人"),),
    "sole": ((0, "负责人", "投资人"),),
    "individual": ((0, "负责人", "经营者"),),
}


@dataclass
class Posts:
    """Officer rows. Roles are codes into :data:`ROLES` and :data:`ROLE_TEXTS` (a few
    words repeated over millions of posts)."""

    firm: Ints
    holder: Ints
    role: Ints
    role_text: Ints
    start: Days
    end: Days

    def roles(self, rows: Ints) -> Strs:
        """The role (职务类别) of posts ``rows``."""
        return ROLES[self.role[rows]]

    def role_texts(self, rows: Ints) -> Strs:
        """The role as written (职务) of posts ``rows``."""
        return ROLE_TEXTS[self.role_text[rows]]


ROLES = strs(sorted({r for t in _TEMPLATES.values() for _, r, _ in t}))
ROLE_TEXTS = strs(sorted({x for t in _TEMPLATES.values() for _, _, x in t}))


def role_codes(roles: list[str], table: Strs) -> Ints:
    """Codes of ``roles`` in ``table``."""
    index = {w: k for k, w in enumerate(table.tolist())}
    return np.asarray([index[r] for r in roles], dtype=np.int8)


@dataclass
class Holdings:
    """Shareholding rows (owner is a person, or a firm when ``owner_is_firm``)."""

    asset: Ints
    owner: Ints
    owner_is_firm: Bools
    share: Floats
    start: Days
    end: Days

    def extend(self, other: Holdings) -> None:
        """Append ``other``'s rows."""
        for f in fields(self):
            setattr(self, f.name, np.concatenate([getattr(self, f.name), getattr(other, f.name)]))


def draw_people(rng: np.random.Generator, persons: Persons, n: int) -> Ints:
    """``n`` people drawn by their propensity to hold posts."""
    return draw_cumulative(rng, persons.cumulative_activity(), n)


def assign_posts(
    rng: np.random.Generator, firms: Firms, persons: Persons, params: Params
) -> tuple[Posts, Holdings]:
    """Legal representative, officers and shareholders of every firm."""
    n = len(firms)
    who = np.stack([draw_people(rng, persons, n) for _ in range(4)])
    for k in range(1, 4):  # the supervisor may not be the director (公司法)
        same = who[k] == who[0]
        who[k, same] = (who[k, same] + 1) % len(persons)
    firms.legal_rep = who[0].copy()
    firms.rep_after = who[0].copy()
    forms = [fm.id for fm in params.enterprises.forms]
    rows: list[tuple[Ints, Ints, Ints, Ints]] = []
    for k, form in enumerate(forms):
        idx = np.flatnonzero(firms.form == k)
        for slot, role, text in _TEMPLATES.get(form, _COMPANY):
            r, x = role_codes([role], ROLES)[0], role_codes([text], ROLE_TEXTS)[0]
            rows.append(
                (idx, who[slot, idx], np.full(len(idx), r, np.int8), np.full(len(idx), x, np.int8))
            )
    firm = np.concatenate([r[0] for r in rows])
    order = np.argsort(firm, kind="stable")
    posts = Posts(
        firm=firm[order],
        holder=np.concatenate([r[1] for r in rows])[order],
        role=np.concatenate([r[2] for r in rows])[order],
        role_text=np.concatenate([r[3] for r in rows])[order],
        start=firms.established[firm[order]],
        end=np.full(len(firm), np.datetime64("NaT"), dtype="datetime64[D]"),
    )
    return posts, _holdings(rng, firms, persons, params, who)


def _holdings(
    rng: np.random.Generator, firms: Firms, persons: Persons, params: Params, who: Ints
) -> Holdings:
    n = len(firms)
    lo = np.array([fm.owners[0] for fm in params.enterprises.forms])[firms.form]
    hi = np.array([fm.owners[1] for fm in params.enterprises.forms])[firms.form]
    count = rng.integers(lo, hi + 1)
    asset = np.repeat(np.arange(n), count)
    rank = np.arange(len(asset)) - np.repeat(np.cumsum(count) - count, count)
    owner = np.where(rank == 0, who[0][asset], np.where(rank == 1, who[2][asset], -1))
    extra = owner < 0
    owner[extra] = draw_people(rng, persons, int(extra.sum()))
    # The first owner (the legal representative) usually holds the majority.
    w = rng.gamma(1.0, size=len(asset)) * np.where(rank == 0, 2.5, 1.0)
    share = _normalise(w, asset, n)
    return Holdings(
        asset=asset,
        owner=owner,
        owner_is_firm=np.zeros(len(asset), dtype=bool),
        share=share,
        start=firms.established[asset],
        end=np.full(len(asset), np.datetime64("NaT"), dtype="datetime64[D]"),
    )


def _normalise(w: Floats, asset: Ints, n: int) -> Floats:
    """Shares in percent per firm, two decimals, summing to exactly 100 per firm."""
    totals = np.bincount(asset, weights=w, minlength=n)
    share = np.round(w / totals[asset] * 100, 2)
    gap = np.round(100 - np.bincount(asset, weights=share, minlength=n), 2)
    first = np.unique(asset, return_index=True)[1]
    share[first] = np.round(share[first] + gap[asset[first]], 2)
    return share


def corporate_owners(
    rng: np.random.Generator, firms: Firms, holdings: Holdings, params: Params
) -> Ints:
    """Groups, sole corporate owners, cross-holdings and loops; returns group ids."""
    n = len(firms)
    op = params.ownership
    forms = [fm.id for fm in params.enterprises.forms]
    company = np.isin(firms.form, [forms.index(f) for f in ("llc", "llc_one", "llc_corp", "jsc")])
    company &= firms.licence == ""
    group = np.full(n, -1, dtype=np.int64)
    parent_of = np.full(n, -1, dtype=np.int64)
    candidates = rng.permutation(np.flatnonzero(company))
    mean_size = sum(op.group_size) / 2
    n_groups = int(n * op.group_share / mean_size)
    pos = 0
    for g in range(n_groups):
        size = int(rng.integers(op.group_size[0], op.group_size[1] + 1))
        members = candidates[pos : pos + size]
        pos += size
        if len(members) < 2:
            break
        group[members] = g
        parent_of[members[1]] = members[0]
        for j in range(2, len(members)):
            # A subsidiary may hang under an earlier subsidiary: multi-layer groups.
            up = (
                members[int(rng.integers(1, j))]
                if rng.random() < op.layer_probability
                else members[0]
            )
            parent_of[members[j]] = up
    # Sole corporate owners outside groups: another, older company.
    corp = forms.index("llc_corp")
    lone = np.flatnonzero((firms.form == corp) & (parent_of < 0))
    pool = np.flatnonzero(company)
    parent_of[lone] = pool[rng.integers(0, len(pool), len(lone))]
    parent_of[parent_of == np.arange(n)] = -1
    subs = np.flatnonzero(parent_of >= 0)
    keep = ~np.isin(holdings.asset, subs)
    rows = Holdings(
        asset=subs,
        owner=parent_of[subs],
        owner_is_firm=np.ones(len(subs), dtype=bool),
        share=np.full(len(subs), 100.0),
        start=firms.established[subs],
        end=np.full(len(subs), np.datetime64("NaT"), dtype="datetime64[D]"),
    )
    for f in fields(holdings):
        setattr(holdings, f.name, getattr(holdings, f.name)[keep])
    holdings.extend(rows)
    firms.form[subs] = corp
    firms.entity_form[subs] = params.enterprises.forms[corp].entity_form
    _mutual(rng, firms, holdings, pool, int(n * op.cross_holding_pairs_per_10000 / 10000), 2)
    _mutual(rng, firms, holdings, pool, int(n * op.cycles_per_10000 / 10000), 3)
    firms.group = group
    return parent_of


def _mutual(
    rng: np.random.Generator, firms: Firms, h: Holdings, pool: Ints, count: int, length: int
) -> None:
    """``count`` rings of ``length`` firms each holding 5–30 % of the next one."""
    if count <= 0 or len(pool) < length:
        return
    # The rows of each asset: the existing ones (found by sorting once) and those added here.
    order = np.argsort(h.asset, kind="stable")
    assets = h.asset[order]
    added: list[tuple[int, int, float]] = []  # asset, owner, share
    added_of: dict[int, list[int]] = {}
    for _ in range(count):
        ring = rng.choice(pool, size=length, replace=False)
        for j in range(length):
            asset, owner = int(ring[j]), int(ring[(j + 1) % length])
            stake = float(np.round(rng.uniform(5, 30), 2))
            lo, hi = np.searchsorted(assets, [asset, asset + 1])
            rows = order[lo:hi]
            mine = added_of.setdefault(asset, [])
            shares = np.concatenate(
                [h.share[rows], np.array([added[k][2] for k in mine], dtype=np.float64)]
            )
            shares = np.round(shares * (1 - stake / 100), 2)
            if len(shares):  # the first row takes the rounding gap
                shares[0] += np.round(100 - stake - shares.sum(), 2)
            h.share[rows] = shares[: len(rows)]
            for k, value in zip(mine, shares[len(rows) :].tolist(), strict=True):
                added[k] = (added[k][0], added[k][1], value)
            mine.append(len(added))
            added.append((asset, owner, stake))
    asset_ = np.array([a for a, _, _ in added], dtype=np.int64)
    h.extend(
        Holdings(
            asset_,
            np.array([o for _, o, _ in added], dtype=np.int64),
            np.ones(len(added), dtype=bool),
            np.array([v for _, _, v in added], dtype=np.float64),
            firms.established[asset_],
            np.full(len(added), np.datetime64("NaT"), dtype="datetime64[D]"),
        )
    )


def controllers(firms: Firms, h: Holdings, real_owner: Ints) -> tuple[Ints, Strs]:
    """Ultimate controlling person of each firm and how it was reached.

    Follows the largest owner up the chain; ``real_owner`` (>= 0) overrides a nominee.
    ``via``: direct, chain, nominee, or none (a loop without a person at the end).
    """
    n = len(firms)
    order = np.lexsort((-h.share, h.asset))
    first = order[np.unique(h.asset[order], return_index=True)[1]]
    top_firm = np.full(n, -1, dtype=np.int64)
    person = firms.legal_rep.copy()
    assets = h.asset[first]
    is_firm = h.owner_is_firm[first]
    top_firm[assets[is_firm]] = h.owner[first][is_firm]
    person[assets[is_firm]] = -1
    person[assets[~is_firm]] = h.owner[first][~is_firm]
    via = np.where(top_firm >= 0, "chain", "direct").astype(STR)
    ptr = top_firm.copy()
    for _ in range(40):  # pointer jumping up the chains
        open_ = (ptr >= 0) & (person < 0)
        if not open_.any():
            break
        up = ptr[open_]
        person[open_] = person[up]
        ptr[open_] = ptr[up]
    via[person < 0] = "none"
    nominee = real_owner >= 0
    person[nominee] = real_owner[nominee]
    via[nominee] = "nominee"
    return person, via
