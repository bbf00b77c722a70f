"""The market-regulation register as versions, and its periodic deliveries.

Every registry record (a firm, a person, an officer post, a shareholding, a branch, a
licence, a registered phone) is built as *versions*: the record as it stood from a given
month. A delivery for months ``a..b`` carries each record whose latest version falls in
that period, in that latest state; the first delivery carries the state before the
window. Ingested in order with the manifest's per-file ``as_of`` (the period's last day),
the lake's version history then answers "what did the register say at the end of month
k" for every delivery month k.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fengyan.arrays import distinct
from fengyan.simulate.branches import Branches
from fengyan.simulate.core import STR, Calendar, Ints, Strs, fmt_dates, strs
from fengyan.simulate.firms import NEVER, Firms
from fengyan.simulate.ownership import ROLE_TEXTS, ROLES, Holdings, Posts
from fengyan.simulate.persons import Persons
from fengyan.simulate.records import Column, Table, fill, take, text


@dataclass(frozen=True)
class Delivery:
    """One delivery period: months ``first..last`` known as of the end of ``last``."""

    first: int
    last: int
    label: str  # YYYY-MM of the as-of month
    as_of: str  # YYYY-MM-DD


def deliveries(cal: Calendar, every: int) -> list[Delivery]:
    """The initial state (before the window) and one delivery per ``every`` months."""
    out = [Delivery(-(10**6), -1, cal.label(-1), str(cal.month_end(-1)))]
    for first in range(0, cal.months, every):
        last = min(first + every, cal.months) - 1
        out.append(Delivery(first, last, cal.label(last), str(cal.month_end(last))))
    return out


class Versions:
    """A versioned registry table: the month and record of every version, and the columns
    of any versions on request (built a chunk at a time when a delivery is written)."""

    def __init__(
        self,
        month: Ints,
        key: Ints,
        build: Callable[[Ints], dict[str, Column]],
        names: list[str],
    ) -> None:
        self.month = np.asarray(month, dtype=np.int64)
        self.key = np.asarray(key, dtype=np.int64)  # versions of one record share a key
        self.build = build
        self.names = names

    def __len__(self) -> int:
        return len(self.month)

    @classmethod
    def of_table(cls, table: Table) -> Versions:
        """Versions held in a table with ``_month`` and ``_key`` columns."""
        src = table.source()
        every = np.arange(len(src))
        if not len(src):
            return cls(every, every, lambda rows: {}, [])
        hidden = src.take(every, ["_month", "_key"])
        key = pc.dictionary_encode(hidden["_key"]).indices.to_numpy()
        return cls(np.asarray(hidden["_month"]), key, lambda rows: src.take(rows), src.names)

    def cut(self, d: Delivery) -> np.ndarray:
        """Versions to deliver in ``d``: the latest version per record in it."""
        rows = np.flatnonzero((self.month >= d.first) & (self.month <= d.last))
        if len(rows) == 0:
            return rows
        key = self.key[rows]
        order = np.lexsort((self.month[rows], key))
        last = np.ones(len(order), dtype=bool)
        last[:-1] = key[order][1:] != key[order][:-1]
        picked: np.ndarray = np.sort(rows[order[last]])
        return picked

    def rows(self, picked: Ints) -> VersionRows:
        """The versions ``picked`` as a source a writer reads a chunk at a time."""
        return VersionRows(self, picked)


class VersionRows:
    """Some versions of a :class:`Versions` table, read a chunk at a time."""

    def __init__(self, versions: Versions, picked: Ints) -> None:
        self.versions, self.picked = versions, picked
        self.names = versions.names

    def __len__(self) -> int:
        return len(self.picked)

    def take(self, rows: Ints, names: Sequence[str] | None = None) -> dict[str, Column]:
        """Columns ``names`` (default: all) of ``rows``."""
        columns = self.versions.build(self.picked[rows])
        return {k: columns[k] for k in (self.names if names is None else names)}


def _names(build: Callable[[Ints], dict[str, Column]]) -> list[str]:
    return list(build(np.zeros(0, dtype=np.int64)))


def _version_day(cal: Calendar, month: Ints, salt: Ints) -> np.ndarray:
    day: np.ndarray = cal.month_start(month) + (salt % 28).astype("timedelta64[D]")
    return day


def enterprise_versions(cal: Calendar, f: Firms, persons: Persons) -> Versions:
    """One version per firm at its founding and one per change inside the window."""
    idx_parts, month_parts = [np.arange(len(f))], [f.established_month]
    for m in (f.status_month, f.name_month, f.address_month, f.rep_month, f.capital_month):
        hit = np.flatnonzero((m < cal.months) & (m > f.established_month))
        idx_parts.append(hit)
        month_parts.append(m[hit])
    idx = np.concatenate(idx_parts)
    month = np.concatenate(month_parts)
    # Unique (firm, month) pairs in firm, then month order.
    pair = distinct(idx * (cal.months + 2 * NEVER) + (month + NEVER))
    idx, month = pair // (cal.months + 2 * NEVER), pair % (cal.months + 2 * NEVER) - NEVER

    def build(rows: Ints) -> dict[str, np.ndarray]:
        i, m = idx[rows], month[rows]
        st = f.state(i, m)
        founded = m == f.established_month[i]
        status_change = (m == f.status_month[i]) & ~np.isnat(f.status_day[i])
        day = np.where(
            founded,
            f.established[i],
            np.where(status_change, f.status_day[i], _version_day(cal, m, i)),
        )
        rep = np.asarray(st["legal_rep"], dtype=np.int64)
        return {
            "credit_code": f.texts("credit_code", i),
            "name": st["name"],
            "former_names": st["former_names"],
            "legal_representative": persons.texts("name", np.maximum(rep, 0)),
            "registered_capital": np.asarray(st["capital"], dtype=np.float64),
            "capital_currency": fill("人民币", len(i)),
            "paid_in_capital": f.paid_in[i],
            "established": f.established[i],
            "status": st["status"],
            "status_date": np.where(
                st["status"] == f.status_before[i], f.established[i], st["status_day"]
            ),
            "entity_form": f.entity_form.arrow(i),
            "business_scope": f.scope.arrow(i),
            "industry_code": f.industry_code[i],
            "registered_address": st["address"],
            "region_code": st["region_code"],
            "operating_address": f.operating_address[i],
            "operating_region_code": f.operating_region[i],
            "registration_authority": f.authority.arrow(i),
            "approved": day.astype("datetime64[D]"),
        }

    return Versions(month, idx, build, _names(build))


def person_versions(
    persons: Persons, posts: Posts, h: Holdings, f: Firms, dups: tuple[Ints, Strs, Strs]
) -> Versions:
    """People appear in the register with their first post or shareholding."""
    first = np.full(len(persons), NEVER, dtype=np.int64)
    np.minimum.at(first, posts.holder, f.established_month[posts.firm])
    owners = ~h.owner_is_firm
    np.minimum.at(first, h.owner[owners], f.established_month[h.asset[owners]])
    who = np.flatnonzero(first < NEVER)
    dup, second_id, written = dups
    known = first[dup] < NEVER
    person = np.concatenate([who, dup[known]])
    n_own = len(who)

    listed_twice = np.flatnonzero(known)

    def build(rows: Ints) -> dict[str, np.ndarray]:
        p = person[rows]
        ids, numbers = persons.person_id[p], persons.id_number[p]
        twice = np.flatnonzero(rows >= n_own)  # the register's second record of a person
        k = listed_twice[rows[twice] - n_own]
        ids[twice], numbers[twice] = second_id[k], written[k]
        return {
            "person_id": ids,
            "name": persons.name[p],
            "id_number": numbers,
            "phone": np.asarray(persons.phone[p], dtype=STR),
            "nationality": persons.nationality[p],
            "address": persons.address[p],
            "region_code": persons.region_code[p],
        }

    every = np.arange(len(person))
    return Versions(first[person], every, build, _names(build))


def officer_versions(cal: Calendar, posts: Posts, persons: Persons, f: Firms) -> Versions:
    """A post appears when it starts and again, with its end date, when it ends."""
    ended = np.flatnonzero(~np.isnat(posts.end))
    post = np.concatenate([np.arange(len(posts.firm)), ended])
    with_end = np.arange(len(post)) >= len(posts.firm)
    month = np.where(with_end, cal.month_of(posts.end[post]), cal.month_of(posts.start[post]))
    roles, role_texts = text(ROLES), text(ROLE_TEXTS)
    # A post is known by firm, person and role (the person id is one per person).
    key = (posts.firm[post] * len(persons) + posts.holder[post]) * len(ROLES) + posts.role[post]

    def build(rows: Ints) -> dict[str, np.ndarray]:
        i = post[rows]
        holder = posts.holder[i]
        return {
            "credit_code": f.texts("credit_code", posts.firm[i]),
            "officer_id": persons.texts("person_id", holder),
            "officer_kind": fill("person", len(i)),
            "officer_name": persons.texts("name", holder),
            "role": take(roles, posts.role[i]),
            "role_text": take(role_texts, posts.role_text[i]),
            "start_date": posts.start[i],
            "end_date": np.where(with_end[rows], posts.end[i], np.datetime64("NaT")),
        }

    return Versions(month, key, build, _names(build))


def holding_versions(cal: Calendar, h: Holdings, persons: Persons, f: Firms) -> Versions:
    """Shareholdings as registered when they start."""
    firm_owner = h.owner_is_firm
    # Owners are firms (by credit code) or people (by person id): one key space.
    owner_key = np.where(firm_owner, h.owner, len(f) + h.owner)
    key = h.asset * (len(f) + len(persons)) + owner_key

    def build(rows: Ints) -> dict[str, np.ndarray]:
        asset, owner, is_firm = h.asset[rows], h.owner[rows], firm_owner[rows]
        person, firm = np.where(is_firm, 0, owner), owner[is_firm]
        mask = pa.array(is_firm)
        owner_id = pc.replace_with_mask(
            persons.texts("person_id", person), mask, f.texts("credit_code", firm)
        )
        owner_name = pc.replace_with_mask(persons.texts("name", person), mask, text(f.name[firm]))
        share = h.share[rows]
        return {
            "asset_credit_code": f.texts("credit_code", asset),
            "owner_id": owner_id,
            "owner_kind": np.where(is_firm, "enterprise", "person").astype(STR),
            "owner_name": owner_name,
            "share_percent": share,
            "subscribed_amount": np.round(f.capital[asset] * share / 100, 2),
            "paid_amount": np.round(f.paid_in[asset] * share / 100, 2),
            "start_date": h.start[rows],
            "end_date": h.end[rows],
        }

    return Versions(cal.month_of(h.start), key, build, _names(build))


def branch_versions(cal: Calendar, b: Branches, f: Firms) -> Versions:
    """Branches appear when opened and again when closed (注销)."""
    closed = np.flatnonzero(b.closed_month < cal.months)
    branch = np.concatenate([np.arange(len(b)), closed])
    gone = np.arange(len(branch)) >= len(b)
    month = np.where(gone, b.closed_month[branch], b.established_month[branch])

    def build(rows: Ints) -> dict[str, np.ndarray]:
        i = branch[rows]
        return {
            "parent_credit_code": f.texts("credit_code", b.parent[i]),
            "branch_credit_code": b.credit_code[i],
            "branch_name": b.name[i],
            "address": b.address[i],
            "region_code": b.region_code[i],
            "established": b.established[i],
            "status": np.where(gone[rows], "注销", "存续").astype(STR),
        }

    return Versions(month, branch, build, _names(build))


def phone_versions(f: Firms) -> Versions:
    """The phone each firm registered (shells of one scheme share one)."""

    def build(rows: Ints) -> dict[str, np.ndarray]:
        return {
            "credit_code": f.texts("credit_code", rows),
            "phone": f.phone[rows],
            "role": fill("登记联系电话", len(rows)),
            "first_seen": f.established[rows],
        }

    every = np.arange(len(f))
    return Versions(f.established_month, every, build, _names(build))


def dates(values: np.ndarray) -> Strs:
    """Format date columns for writing."""
    return fmt_dates(values)


__all__ = ["Delivery", "Versions", "deliveries", "strs"]
