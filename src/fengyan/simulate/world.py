"""The generated world held in memory, and its ground truth written out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fengyan.simulate import finance, monthly, registry, truth
from fengyan.simulate.branches import Branches
from fengyan.simulate.core import Calendar, Ints, Streams, Strs
from fengyan.simulate.firms import Firms
from fengyan.simulate.geography import City
from fengyan.simulate.lifecycle import Scheme
from fengyan.simulate.ownership import Holdings, Posts
from fengyan.simulate.params import Params
from fengyan.simulate.persons import Persons
from fengyan.simulate.records import Table
from fengyan.simulate.web import web_presence
from fengyan.simulate.writers import FileSpec


@dataclass
class World:
    """Everything the simulator decided, before it is written."""

    params: Params
    seed: int
    cal: Calendar
    city: City
    firms: Firms
    persons: Persons
    posts: Posts
    holdings: Holdings
    branches: Branches
    schemes: list[Scheme]
    dups: tuple[Ints, Strs, Strs]
    controller: Ints
    via: Strs
    events: dict[str, Table]
    watched: np.ndarray
    streams: Streams

    def registry_versions(self) -> dict[str, dict[str, np.ndarray]]:
        """Versioned registry-like tables, ready to be cut into deliveries."""
        cal, f, p = self.cal, self.firms, self.persons
        tables = {
            "Enterprise": registry.enterprise_versions(cal, f, p),
            "Person": registry.person_versions(p, self.posts, self.holdings, f, self.dups),
            "Officer": registry.officer_versions(cal, self.posts, p, f),
            "Shareholding": registry.holding_versions(cal, self.holdings, p, f),
            "Branch": registry.branch_versions(cal, self.branches, f),
            "PhoneContact": registry.phone_versions(f),
            "Licence": finance.licences(
                self.streams.get("finance.licences"), self.params, cal, self.city, f
            ),
            "WebPresence": web_presence(
                self.streams,
                self.params,
                cal,
                self.city,
                f,
                p,
                self.schemes,
                self.params.calendar.delivery_months,
            ),
        }
        return {k: v.to_columns() for k, v in tables.items()}

    def periodic(self, first: int, last: int) -> dict[str, Table]:
        """Tax, social-security and bank records of months ``first..last``."""
        s, cal, city, f = self.streams, self.cal, self.city, self.firms
        return {
            "TaxRecord": monthly.tax(s, cal, city, f, self.schemes, first, last),
            "SocialSecurityRecord": monthly.social_security(
                s, cal, city, f, self.schemes, first, last
            ),
            "FundFlowSummary": monthly.fund_flows(
                s, self.params, cal, f, self.schemes, self.watched, first, last
            ),
        }


def write_truth(
    folder: Path,
    w: World,
    files: list[FileSpec],
    mentions: list[tuple[str, str, dict[str, np.ndarray]]],
) -> None:
    """Every ground-truth file (see :mod:`.truth`)."""
    cal, f = w.cal, w.firms
    typ = {s.id: s.typology for s in w.schemes}
    label = cal.label
    truth.write_csv(
        folder / "schemes.csv",
        [
            "scheme_id",
            "typology",
            "core_credit_code",
            "core_name",
            "district",
            "setup_month",
            "launch_month",
            "peak_month",
            "collapse_month",
            "collapse_in_window",
            "collapse_mode",
            "police_month",
            "judgment_month",
            "participants",
            "amount_raised",
            "amount_lost",
            "promised_annual_rate",
            "yield_format",
            "product",
            "loudness",
            "migrated",
            "renamed",
            "successor_credit_code",
            "controller_uid",
            "shells",
            "branches",
        ],
        (
            [
                s.id,
                s.typology,
                f.credit_code[s.core],
                f.name[s.core],
                w.city.district_names[int(f.district[s.core])],
                label(s.setup),
                label(s.launch),
                label(s.stress),
                label(s.collapse),
                s.collapse < cal.months,
                s.mode,
                label(s.police),
                label(s.judgment),
                s.victims,
                round(s.raised),
                round(s.lost),
                round(s.promised, 2),
                s.fmt,
                s.product,
                round(s.loudness, 3),
                s.migrated,
                s.renamed,
                f.credit_code[s.successor] if s.successor >= 0 else "",
                s.controller,
                ";".join(str(f.credit_code[i]) for i in s.shells),
                len(s.branches),
            ]
            for s in w.schemes
        ),
    )
    truth.write_csv(
        folder / "scheme_months.csv",
        ["scheme_id", "month", "stage", "new_participants", "inflow", "payout"],
        (
            [s.id, label(m), s.stage(m), *_money(s, m)]
            for s in w.schemes
            for m in range(max(s.setup, 0), min(s.collapse + 1, cal.months))
        ),
    )
    bad = set(np.asarray(f.extra.get("bad_news", np.zeros(0, dtype=np.int64))).tolist())
    scheme_buildings = {int(f.building[s.core]) for s in w.schemes}
    clustered = np.asarray(f.extra["clustered"])
    truth.write_csv(
        folder / "firms.csv",
        [
            "credit_code",
            "name",
            "role",
            "scheme_id",
            "typology",
            "finance_like",
            "licence",
            "industry_code",
            "region_code",
            "established",
            "group_id",
            "controller_uid",
            "controller_via",
            "bad_news_only",
            "shares_building_with_scheme",
            "cluster_address",
        ],
        (
            [
                f.credit_code[i],
                f.name[i],
                f.role[i],
                int(f.scheme[i]) if f.scheme[i] >= 0 else "",
                typ.get(int(f.scheme[i]), ""),
                bool(f.finance_like[i]),
                f.licence[i],
                f.industry_code[i],
                f.region_code[i],
                str(f.established[i]),
                int(f.group[i]) if f.group[i] >= 0 else "",
                int(w.controller[i]) if w.controller[i] >= 0 else "",
                w.via[i],
                i in bad,
                f.scheme[i] < 0 and int(f.building[i]) in scheme_buildings,
                bool(clustered[i]),
            ]
            for i in range(len(f))
        ),
    )
    dup, second, written = w.dups
    p = w.persons
    truth.write_csv(
        folder / "person_ids.csv",
        ["person_id", "uid", "name", "id_number_written", "duplicate"],
        [
            *([p.person_id[i], i, p.name[i], p.id_number[i], False] for i in range(len(p))),
            *([second[k], int(dup[k]), p.name[dup[k]], written[k], True] for k in range(len(dup))),
        ],
    )
    truth.write_csv(
        folder / "mentions.csv",
        [
            "file",
            "type",
            "record_id",
            "true_credit_code",
            "written_as",
            "kind",
            "scheme_id",
            "stage",
            "promised_annual_rate",
        ],
        _mention_rows(mentions),
    )
    truth.write_csv(
        folder / "dirty_records.csv",
        ["file", "row", "kind", "field", "value", "expected_reason"],
        (
            [
                spec.path,
                d.index + (1 if spec.fmt == "jsonl" else 2),
                d.kind,
                d.field,
                d.value,
                d.reason,
            ]
            for spec in files
            for d in spec.dirty
        ),
    )
    summary: dict[str, Any] = {
        "seed": w.seed,
        "city": {
            "code": w.city.code,
            "name": w.city.name,
            "districts": len(w.city.district_names),
            "communities": w.city.n_places,
            "buildings": len(w.city.building_address),
        },
        "window": {
            "first_month": label(0),
            "last_month": label(cal.months - 1),
            "months": cal.months,
        },
        "counts": {
            "enterprises": len(f),
            "persons": len(p),
            "schemes": len(w.schemes),
            "scheme_firms": int((f.scheme >= 0).sum()),
            "finance_like": int(f.finance_like.sum()),
            "licensed": int((f.licence != "").sum()),
            "branches": len(w.branches),
        },
        "files": {
            spec.path: {"type": spec.type, "rows": spec.rows, "dirty": len(spec.dirty)}
            for spec in files
        },
        "dirty_total": sum(len(spec.dirty) for spec in files),
    }
    truth.write_summary(folder / "summary.yaml", summary)


def _money(s: Scheme, m: int) -> list[Any]:
    new, inflow, payout = s.series(m)
    return [new, round(inflow), round(payout)]


def _mention_rows(mentions: list[tuple[str, str, dict[str, np.ndarray]]]) -> Any:
    id_field = {
        "Article": "article_id",
        "Advertisement": "ad_id",
        "Complaint": "complaint_id",
        "RecruitmentPost": "post_id",
        "Judgment": "judgment_id",
        "Enforcement": "enforcement_id",
        "DishonestDebtor": "dishonest_id",
        "RegulatoryFiling": "filing_id",
    }
    for path, kind, cols in mentions:
        if not cols:
            continue
        n = len(cols[id_field[kind]])
        blank = np.full(n, None, dtype=object)
        firm, form, how, sid, stage, rate = (
            cols.get(k, blank)
            for k in ("_firm", "_written", "_kind", "_scheme", "_stage", "_promised")
        )
        ids = cols[id_field[kind]]
        for i in range(n):
            yield [path, kind, ids[i], firm[i], form[i], how[i], sid[i], stage[i], rate[i]]
