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

from dataclasses import dataclass

import numpy as np

from fengyan.simulate.branches import Branches
from fengyan.simulate.core import STR, Calendar, Ints, Strs, fmt_dates, join, strs
from fengyan.simulate.firms import NEVER, Firms
from fengyan.simulate.ownership import Holdings, Posts
from fengyan.simulate.persons import Persons
from fengyan.simulate.records import Table


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


def cut(columns: dict[str, np.ndarray], d: Delivery) -> np.ndarray:
    """Rows of a versioned table to deliver in ``d``: the latest version per key in it."""
    month = columns["_month"].astype(np.int64)
    rows = np.flatnonzero((month >= d.first) & (month <= d.last))
    if len(rows) == 0:
        return rows
    key = columns["_key"][rows].astype(str)
    order = np.lexsort((month[rows], key))
    last = np.ones(len(order), dtype=bool)
    last[:-1] = key[order][1:] != key[order][:-1]
    picked: np.ndarray = np.sort(rows[order[last]])
    return picked


def _version_day(cal: Calendar, month: Ints, salt: Ints) -> np.ndarray:
    day: np.ndarray = cal.month_start(month) + (salt % 28).astype("timedelta64[D]")
    return day


def enterprise_versions(cal: Calendar, f: Firms, persons: Persons) -> Table:
    """One version per firm at its founding and one per change inside the window."""
    idx_parts, month_parts = [np.arange(len(f))], [f.established_month]
    for m in (f.status_month, f.name_month, f.address_month, f.rep_month, f.capital_month):
        hit = np.flatnonzero((m < cal.months) & (m > f.established_month))
        idx_parts.append(hit)
        month_parts.append(m[hit])
    idx = np.concatenate(idx_parts)
    month = np.concatenate(month_parts)
    pairs = np.unique(np.stack([idx, month]), axis=1)
    idx, month = pairs[0], pairs[1]
    st = f.state(idx, month)
    founded = month == f.established_month[idx]
    status_change = (month == f.status_month[idx]) & ~np.isnat(f.status_day[idx])
    day = np.where(
        founded,
        f.established[idx],
        np.where(status_change, f.status_day[idx], _version_day(cal, month, idx)),
    )
    rep = np.asarray(st["legal_rep"], dtype=np.int64)
    table = Table("Enterprise")
    table.extend(
        {
            "credit_code": f.credit_code[idx],
            "name": st["name"],
            "former_names": st["former_names"],
            "legal_representative": persons.name[np.maximum(rep, 0)],
            "registered_capital": np.asarray(st["capital"], dtype=np.float64),
            "capital_currency": "人民币",
            "paid_in_capital": f.paid_in[idx],
            "established": f.established[idx],
            "status": st["status"],
            "status_date": np.where(
                st["status"] == f.status_before[idx], f.established[idx], st["status_day"]
            ),
            "entity_form": f.entity_form[idx],
            "business_scope": f.scope[idx],
            "industry_code": f.industry_code[idx],
            "registered_address": st["address"],
            "region_code": st["region_code"],
            "operating_address": f.operating_address[idx],
            "operating_region_code": f.operating_region[idx],
            "registration_authority": f.authority[idx],
            "approved": day.astype("datetime64[D]"),
            "_month": month,
            "_key": f.credit_code[idx],
            "_firm": idx,
        }
    )
    return table


def person_versions(
    persons: Persons, posts: Posts, h: Holdings, f: Firms, dups: tuple[Ints, Strs, Strs]
) -> Table:
    """People appear in the register with their first post or shareholding."""
    first = np.full(len(persons), NEVER, dtype=np.int64)
    np.minimum.at(first, posts.holder, f.established_month[posts.firm])
    owners = ~h.owner_is_firm
    np.minimum.at(first, h.owner[owners], f.established_month[h.asset[owners]])
    who = np.flatnonzero(first < NEVER)
    table = Table("Person")
    table.extend(
        _person_block(persons, who, persons.person_id[who], persons.id_number[who], first[who])
    )
    dup, second_id, written = dups
    dup_known = first[dup] < NEVER
    table.extend(
        _person_block(
            persons, dup[dup_known], second_id[dup_known], written[dup_known], first[dup[dup_known]]
        )
    )
    return table


def _person_block(
    p: Persons, who: Ints, ids: Strs, numbers: Strs, month: Ints
) -> dict[str, object]:
    return {
        "person_id": ids,
        "name": p.name[who],
        "id_number": numbers,
        "phone": np.asarray(p.phone[who], dtype=STR),
        "nationality": p.nationality[who],
        "address": p.address[who],
        "region_code": p.region_code[who],
        "_month": month,
        "_key": ids,
        "_person": who,
    }


def officer_versions(cal: Calendar, posts: Posts, persons: Persons, f: Firms) -> Table:
    """A post appears when it starts and again, with its end date, when it ends."""
    table = Table("Officer")
    ended = ~np.isnat(posts.end)
    for rows, with_end in ((np.arange(len(posts.firm)), False), (np.flatnonzero(ended), True)):
        firm = posts.firm[rows]
        key = join(
            f.credit_code[firm], "|", persons.person_id[posts.holder[rows]], "|", posts.role[rows]
        )
        table.extend(
            {
                "credit_code": f.credit_code[firm],
                "officer_id": persons.person_id[posts.holder[rows]],
                "officer_kind": "person",
                "officer_name": persons.name[posts.holder[rows]],
                "role": posts.role[rows],
                "role_text": posts.role_text[rows],
                "start_date": posts.start[rows],
                "end_date": posts.end[rows]
                if with_end
                else np.full(len(rows), np.datetime64("NaT")),
                "_month": cal.month_of(posts.end[rows])
                if with_end
                else cal.month_of(posts.start[rows]),
                "_key": key,
                "_person": posts.holder[rows],
            }
        )
    return table


def holding_versions(cal: Calendar, h: Holdings, persons: Persons, f: Firms) -> Table:
    """Shareholdings as registered when they start."""
    firm_owner = h.owner_is_firm
    owner_id = np.where(
        firm_owner,
        f.credit_code[np.where(firm_owner, h.owner, 0)],
        persons.person_id[np.where(firm_owner, 0, h.owner)],
    ).astype(STR)
    owner_name = np.where(
        firm_owner,
        f.name[np.where(firm_owner, h.owner, 0)],
        persons.name[np.where(firm_owner, 0, h.owner)],
    ).astype(STR)
    subscribed = np.round(f.capital[h.asset] * h.share / 100, 2)
    table = Table("Shareholding")
    table.extend(
        {
            "asset_credit_code": f.credit_code[h.asset],
            "owner_id": owner_id,
            "owner_kind": np.where(firm_owner, "enterprise", "person").astype(STR),
            "owner_name": owner_name,
            "share_percent": h.share,
            "subscribed_amount": subscribed,
            "paid_amount": np.round(f.paid_in[h.asset] * h.share / 100, 2),
            "start_date": h.start,
            "end_date": h.end,
            "_month": cal.month_of(h.start),
            "_key": join(f.credit_code[h.asset], "|", owner_id),
            "_firm": h.asset,
        }
    )
    return table


def branch_versions(cal: Calendar, b: Branches, f: Firms) -> Table:
    """Branches appear when opened and again when closed (注销)."""
    table = Table("Branch")
    closed = np.flatnonzero(b.closed_month < cal.months)
    for rows, status in ((np.arange(len(b)), "存续"), (closed, "注销")):
        table.extend(
            {
                "parent_credit_code": f.credit_code[b.parent[rows]],
                "branch_credit_code": b.credit_code[rows],
                "branch_name": b.name[rows],
                "address": b.address[rows],
                "region_code": b.region_code[rows],
                "established": b.established[rows],
                "status": status,
                "_month": b.established_month[rows] if status == "存续" else b.closed_month[rows],
                "_key": b.credit_code[rows],
            }
        )
    return table


def phone_versions(f: Firms) -> Table:
    """The phone each firm registered (shells of one scheme share one)."""
    table = Table("PhoneContact")
    table.extend(
        {
            "credit_code": f.credit_code,
            "phone": f.phone,
            "role": "登记联系电话",
            "first_seen": f.established,
            "_month": f.established_month,
            "_key": f.credit_code,
        }
    )
    return table


def dates(values: np.ndarray) -> Strs:
    """Format date columns for writing."""
    return fmt_dates(values)


__all__ = ["Delivery", "cut", "deliveries", "strs"]
