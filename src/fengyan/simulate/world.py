"""The generated world held in memory, and its ground truth written out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fengyan.simulate import finance, monthly, registry, truth
from fengyan.simulate.branches import Branches
from fengyan.simulate.core import STR, Calendar, Ints, Streams, Strs, fmt_dates, strs
from fengyan.simulate.events import background
from fengyan.simulate.firms import Firms
from fengyan.simulate.geography import City
from fengyan.simulate.lifecycle import Scheme
from fengyan.simulate.ownership import Holdings, Posts
from fengyan.simulate.params import Params
from fengyan.simulate.persons import Persons
from fengyan.simulate.records import ArrowCopies, Table
from fengyan.simulate.scheme_events import scheme_events
from fengyan.simulate.web import web_presence
from fengyan.simulate.writers import FileSpec

# Firm columns read only when the register is written (see World.registry_written).
REGISTRY_ONLY = (
    "entity_form",
    "scope",
    "authority",
    "operating_address",
    "operating_region",
    "paid_in",
    "status_before",
    "status_after",
    "status_day",
    "capital_after",
    "capital_month",
    "district_after",
    "form",
)
EVENT_TYPES = (
    "Article",
    "Advertisement",
    "Complaint",
    "RecruitmentPost",
    "Judgment",
    "Enforcement",
    "DishonestDebtor",
)


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
    events: dict[str, Table] | None  # the schemes' records, made when first written
    watched: np.ndarray
    streams: Streams

    pending: dict[str, Table] = field(default_factory=dict)  # lawsuits bring three kinds

    def registry_versions(self) -> dict[str, registry.Versions]:
        """Versioned registry-like tables, ready to be cut into deliveries."""
        cal, f, p = self.cal, self.firms, self.persons
        return {
            "Enterprise": registry.enterprise_versions(cal, f, p),
            "Person": registry.person_versions(p, self.posts, self.holdings, f, self.dups),
            "Officer": registry.officer_versions(cal, self.posts, p, f),
            "Shareholding": registry.holding_versions(cal, self.holdings, p, f),
            "Branch": registry.branch_versions(cal, self.branches, f),
            "PhoneContact": registry.phone_versions(f),
            "Licence": registry.Versions.of_table(
                finance.licences(
                    self.streams.get("finance.licences"), self.params, cal, self.city, f
                )
            ),
            "WebPresence": registry.Versions.of_table(
                web_presence(
                    self.streams,
                    self.params,
                    cal,
                    self.city,
                    f,
                    p,
                    self.schemes,
                    self.params.calendar.delivery_months,
                )
            ),
        }

    def periodic(self, first: int, last: int) -> dict[str, Callable[[], Table]]:
        """Tax, social-security and bank records of months ``first..last`` (each made when
        called, so only one type's records are in memory at a time)."""
        s, cal, city, f, schemes = self.streams, self.cal, self.city, self.firms, self.schemes
        return {
            "TaxRecord": lambda: monthly.tax(s, cal, city, f, schemes, first, last),
            "SocialSecurityRecord": lambda: monthly.social_security(
                s, cal, city, f, schemes, first, last
            ),
            "FundFlowSummary": lambda: monthly.fund_flows(
                s, self.params, cal, f, schemes, self.watched, first, last
            ),
        }

    def registry_written(self) -> None:
        """Forget what only the register needed (officer posts, shareholdings, the firm
        columns no event or ground-truth file reads), so a large city's event files — the
        most memory-hungry step — are made with that memory free again."""
        self.posts = Posts(*(np.zeros(0, dtype=v.dtype) for v in vars(self.posts).values()))
        h = self.holdings
        self.holdings = Holdings(*(np.zeros(0, dtype=v.dtype) for v in vars(h).values()))
        self.firms.forget(REGISTRY_ONLY)
        self.persons.arrow = ArrowCopies()

    def event_table(self, kind: str) -> Table:
        """Every record of an event type: the schemes' first, then lawful firms' (made
        now, so only one type's records are in memory at a time)."""
        s, params, cal, city, f = self.streams, self.params, self.cal, self.city, self.firms
        if kind == "RegulatoryFiling":
            return finance.filings(s.get("finance.filings"), params, cal, city, f)
        if self.events is None:  # made with the first type that needs them
            self.events = {k: Table(k) for k in EVENT_TYPES}
            scheme_events(s, params, cal, city, f, self.persons, self.schemes, self.events)
        table = self.events.pop(kind)
        if kind not in self.pending:
            self.pending.update(background(s, params, cal, city, f, self.persons, kind))
        for block in self.pending.pop(kind).blocks:
            table.extend(block)
        if kind == "Advertisement":
            table.extend(
                finance.lawful_finance_ads(s.get("finance.ads"), params, cal, city, f).to_columns()
            )
        return table


def write_truth(
    folder: Path,
    w: World,
    files: list[FileSpec],
) -> None:
    """Every ground-truth file except mentions.csv (see :mod:`.truth`), which is written
    with the events."""
    cal, f = w.cal, w.firms
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
    bad = np.asarray(f.extra.get("bad_news", np.zeros(0, dtype=np.int64)))
    scheme_buildings = np.asarray([int(f.building[s.core]) for s in w.schemes], dtype=np.int64)
    typology = strs([s.typology for s in w.schemes] + [""])  # scheme -1 → ""
    truth.write_columns(
        folder / "firms.csv",
        {
            "credit_code": f.credit_code,
            "name": f.name,
            "role": f.role,
            "scheme_id": _ids(f.scheme),
            "typology": typology[f.scheme],
            "finance_like": f.finance_like,
            "licence": f.licence,
            "industry_code": f.industry_code,
            "region_code": f.region_code,
            "established": fmt_dates(f.established),
            "group_id": _ids(f.group),
            "controller_uid": _ids(w.controller),
            "controller_via": w.via,
            "bad_news_only": np.isin(np.arange(len(f)), bad),
            "shares_building_with_scheme": (f.scheme < 0) & np.isin(f.building, scheme_buildings),
            "cluster_address": np.asarray(f.extra["clustered"], dtype=bool),
        },
    )
    dup, second, written = w.dups
    p = w.persons
    truth.write_columns(
        folder / "person_ids.csv",
        {
            "person_id": np.concatenate([p.person_id, second]),
            "uid": np.concatenate([np.arange(len(p)), dup]),
            "name": np.concatenate([p.name, p.name[dup]]),
            "id_number_written": np.concatenate([p.id_number, written]),
            "duplicate": np.arange(len(p) + len(dup)) >= len(p),
        },
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


def _ids(values: Ints) -> Strs:
    """Non-negative ids as text, "" for -1 (none)."""
    return np.where(values >= 0, values.astype(STR), "").astype(STR)
