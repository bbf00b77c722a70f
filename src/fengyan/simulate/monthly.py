"""Monthly and quarterly records, generated one delivery period at a time (so a large
city is written in chunks): social-security headcounts, tax returns and the banks'
fund-flow summaries.

Lawful firms' numbers follow their size; a scheme's follow its life cycle: few insured
staff against a large sales force, revenue that is a sliver of the money taken in,
inflows from many individuals (many of them elderly or from other provinces) that peak and
stop, payouts that fall behind, cash withdrawals and cross-border transfers at the end.
"""

from __future__ import annotations

import numpy as np

from fengyan.simulate.core import STR, Calendar, Streams, join, lognormal, strs
from fengyan.simulate.firms import Firms
from fengyan.simulate.geography import City
from fengyan.simulate.lifecycle import Scheme
from fengyan.simulate.params import Params
from fengyan.simulate.records import Table, take, text

_RATINGS = (("A", 0.2), ("B", 0.5), ("M", 0.25), ("C", 0.03), ("D", 0.02))


def _active(f: Firms, m: int) -> np.ndarray:
    return (f.established_month <= m) & (f.status_month > m)


def _month_text(cal: Calendar, m: int) -> str:
    return cal.label(m)


def _find(sorted_idx: np.ndarray, value: int) -> int:
    """Position of ``value`` in a sorted index array, or -1."""
    j = int(np.searchsorted(sorted_idx, value))
    return j if j < len(sorted_idx) and sorted_idx[j] == value else -1


def social_security(
    streams: Streams,
    cal: Calendar,
    city: City,
    f: Firms,
    schemes: list[Scheme],
    first: int,
    last: int,
) -> Table:
    """Insured headcount of every active firm with staff, each month."""
    table = Table("SocialSecurityRecord")
    district_code = text(strs([c.ljust(12, "0") for c in city.district_codes]))
    yes_no = text(strs(["否", "是"]))
    for m in range(first, last + 1):
        rng = streams.get(f"ss.{m}")
        idx = np.flatnonzero(_active(f, m) & (f.headcount > 0))
        drift = np.exp(0.03 * np.sin((m + idx % 12) / 6.0) + 0.02 * rng.standard_normal(len(idx)))
        heads = np.maximum(0, np.round(f.headcount[idx] * drift)).astype(np.int64)
        arrears = rng.random(len(idx)) < 0.01
        for s in schemes:  # staff grow a little in expansion; contributions stop under stress
            j = _find(idx, s.core)
            if j >= 0:
                stage = s.stage(m)
                heads[j] = heads[j] * (2 if stage == "expansion" else 1) if stage != "after" else 0
                arrears[j] = stage in ("stress", "collapse")
        table.extend(
            {
                "credit_code": f.texts("credit_code", idx),
                "month": _month_text(cal, m),
                "insured_headcount": heads,
                "in_arrears": take(yes_no, arrears.astype(np.int64)),
                "arrears_amount": np.where(
                    arrears, np.round(heads * rng.uniform(800, 1500, len(idx)), -1), np.nan
                ),
                "region_code": take(district_code, f.district[idx]),
                "_month": m,
            }
        )
    return table


def tax(
    streams: Streams,
    cal: Calendar,
    city: City,
    f: Firms,
    schemes: list[Scheme],
    first: int,
    last: int,
) -> Table:
    """Quarterly tax returns of every active firm."""
    table = Table("TaxRecord")
    authority = text(strs([f"国家税务总局{city.name}{d}税务局" for d in city.district_names]))
    district_code = text(strs([c.ljust(12, "0") for c in city.district_codes]))
    core = {s.core: s for s in schemes}
    ratings = text(strs([r for r, _ in _RATINGS]))
    for m in range(first, last + 1):
        if (int(str(cal.month_start(m))[5:7]) % 3) != 0:
            continue
        rng = streams.get(f"tax.{m}")
        idx = np.flatnonzero(_active(f, m) & (f.established_month <= m - 2))
        revenue = lognormal(rng, 25e4 * (f.headcount[idx] + 1) ** 0.9, 0.8, len(idx))
        revenue = np.where(rng.random(len(idx)) < 0.15, 0.0, np.round(revenue, -2))
        for i, s in core.items():  # declared revenue is a sliver of what a scheme takes in
            j = _find(idx, i)
            if j >= 0:
                inflow = sum(s.series(k)[1] for k in range(m - 2, m + 1))
                revenue[j] = round(inflow * rng.uniform(0.005, 0.03), -2)
        rating = take(
            ratings, np.searchsorted(np.cumsum([w for _, w in _RATINGS]), rng.random(len(idx)))
        )
        table.extend(
            {
                "credit_code": f.texts("credit_code", idx),
                "period_start": str(cal.month_start(m - 2)),
                "period_end": str(cal.month_end(m)),
                "tax_paid": np.round(revenue * rng.uniform(0.01, 0.06, len(idx)), 2),
                "revenue_declared": revenue,
                "credit_rating": rating,
                "tax_authority": take(authority, f.district[idx]),
                "region_code": take(district_code, f.district[idx]),
                "_month": m,
            }
        )
    return table


def monitored(rng: np.random.Generator, params: Params, f: Firms) -> np.ndarray:
    """Firms whose accounts the banks report: all finance-like and scheme firms, a sample."""
    sample = rng.random(len(f)) < params.fund_flows.monitored_share
    return f.finance_like | (f.scheme >= 0) | sample


def fund_flows(
    streams: Streams,
    params: Params,
    cal: Calendar,
    f: Firms,
    schemes: list[Scheme],
    watch: np.ndarray,
    first: int,
    last: int,
) -> Table:
    """Monthly account summaries of the monitored firms, as their banks report them."""
    table = Table("FundFlowSummary")
    banks = params.banks
    bank = (np.arange(len(f)) * 7919) % len(banks)
    branch = (np.arange(len(f)) * 104729) % 1000
    bank_code = join(
        strs([b.code for b in banks])[bank], np.strings.zfill(branch.astype(STR), 3), "001"
    )
    for m in range(first, last + 1):
        rng = streams.get(f"flows.{m}")
        idx = np.flatnonzero(watch & _active(f, m))
        k = len(idx)
        size = (f.headcount[idx] + 1.0) ** 0.8
        payers = rng.poisson(2 + 3 * size)
        amount = np.round(payers * lognormal(rng, 3000.0, 0.8, k), 2)
        total_in = np.round(amount + lognormal(rng, 2e5, 1.0, k) * size, 2)
        out_amt = np.round(total_in * rng.uniform(0.8, 1.1, k), 2)
        cols = {
            "credit_code": f.texts("credit_code", idx),
            "month": cal.label(m),
            "account_bank_code": bank_code[idx],
            "individual_payers": payers,
            "individual_inflow_count": np.round(payers * rng.uniform(1, 1.5, k)).astype(np.int64),
            "individual_inflow_amount": amount,
            "elderly_payers": rng.binomial(payers, 0.08),
            "payer_provinces": np.minimum(payers, 1 + rng.poisson(1, k)),
            "total_inflow_amount": total_in,
            "outflow_count": rng.poisson(10 * size) + 1,
            "outflow_amount": out_amt,
            "outflow_to_individuals_amount": np.round(out_amt * rng.uniform(0.1, 0.4, k), 2),
            "cash_withdrawal_amount": np.round(out_amt * rng.uniform(0, 0.05, k), 2),
            "cross_border_amount": np.where(rng.random(k) < 0.05, np.round(out_amt * 0.1, 2), 0.0),
            "month_end_balance": np.round(lognormal(rng, 5e5, 1.0, k) * size, 2),
        }
        _scheme_rows(rng, params, m, idx, schemes, cols)
        cols["_month"] = np.full(k, m)
        table.extend(cols)
    return table


def _scheme_rows(
    rng: np.random.Generator,
    params: Params,
    m: int,
    idx: np.ndarray,
    schemes: list[Scheme],
    cols: dict[str, object],
) -> None:
    """Overwrite the core firms' rows with their scheme's money."""
    for s in schemes:
        j = _find(idx, s.core)
        if j < 0:
            continue
        t = params.schemes.typologies[s.typology]
        new, inflow, payout = s.series(m)
        stage = s.stage(m)
        active = int(np.sum(s.new_victims[: max(0, m - s.setup + 1)]))
        payers = (
            new + int(0.2 * active) if stage not in ("collapse", "after") else int(0.02 * active)
        )
        if t.lends:  # money goes out as loans, repayments and fees come back
            inflow, payout = payout * 1.4 + inflow * 0.1, inflow
        moved = inflow * (0.6 if stage == "collapse" else 0.05)
        outflow = payout + moved + inflow * 0.1
        values = {
            "individual_payers": payers,
            "individual_inflow_count": int(payers * rng.uniform(1.1, 1.8)),
            "individual_inflow_amount": round(inflow, 2),
            "elderly_payers": int(payers * t.elderly),
            "payer_provinces": min(
                31, 1 + int(30 * t.out_of_province * (1 - np.exp(-payers / 80)))
            ),
            "total_inflow_amount": round(inflow * 1.02, 2),
            "outflow_count": int(payers * 0.8) + 5,
            "outflow_amount": round(outflow, 2),
            "outflow_to_individuals_amount": round(payout, 2),
            "cash_withdrawal_amount": round(
                outflow * (0.3 if stage in ("stress", "collapse") else 0.05), 2
            ),
            "cross_border_amount": round(outflow * t.cross_border, 2),
            "month_end_balance": round(max(0.0, inflow - outflow) + 1e4, 2),
        }
        for key, value in values.items():
            np.asarray(cols[key])[j] = value
