"""Licensed finance: licences, periodic filings to the local bureau and lawful ads.

Licensed lenders legitimately charge and advertise rates far above bank deposits (a
micro-lender's 18–24 %, a pawnshop's monthly fees): these are hard negatives an index must
not flag for yield alone. Filings are immutable; a correction is a new filing that
``supersedes`` the old one.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from fengyan.simulate import texts
from fengyan.simulate.core import Calendar
from fengyan.simulate.eventkit import MonthDays
from fengyan.simulate.firms import Firms
from fengyan.simulate.geography import City
from fengyan.simulate.params import Params
from fengyan.simulate.records import Table

_ISSUER = "{city}地方金融管理局"
_ABBR = {
    "小额贷款": "小贷",
    "典当": "典当",
    "融资租赁": "租赁",
    "商业保理": "保理",
    "融资担保": "担保",
}


def licences(
    rng: np.random.Generator, params: Params, cal: Calendar, city: City, f: Firms
) -> Table:
    """The licence register (as versions): local 7+4 licences and AMAC registrations."""
    table = Table("Licence")
    region = city.code.ljust(12, "0")
    amac = np.flatnonzero((f.industry_code == "J6739") & (f.role == "finance_like"))
    amac = amac[rng.random(len(amac)) < params.finance.amac_share]
    for i in np.flatnonzero(f.licence != "").tolist() + amac.tolist():
        kind = str(f.licence[i]) or "私募基金管理人登记"
        start = f.established[i] + np.timedelta64(int(rng.integers(30, 200)), "D")
        year = str(start.astype("datetime64[Y]"))
        if kind == "私募基金管理人登记":
            number, issuer = f"P10{int(rng.integers(10000, 99999))}", "中国证券投资基金业协会"
        else:
            number = (
                f"{city.short[0]}金{_ABBR.get(kind, '')}〔{year}〕{int(rng.integers(1, 200))}号"
            )
            issuer = _ISSUER.format(city=city.name)
        gone = int(f.status_month[i])
        first = int(cal.month_of(np.array([start]))[0])
        row = dict(
            credit_code=str(f.credit_code[i]),
            licence_type=kind,
            licence_number=number,
            issuer=issuer,
            valid_from=str(start),
            valid_to=str(start + np.timedelta64(365 * 5, "D"))
            if kind != "私募基金管理人登记"
            else None,
            status="有效",
            approved_scope=f"{kind}业务"
            if kind != "私募基金管理人登记"
            else "私募股权、创业投资基金管理",
            region_code=region,
            permitted_regions=[region] if kind in ("小额贷款", "典当") else None,
            _month=first,
            _key=f"{f.credit_code[i]}|{kind}",
        )
        table.add(**row)
        if gone < cal.months:  # the licence ends with the firm
            table.add(**{**row, "status": "注销", "_month": max(gone, first)})
    return table


def filings(rng: np.random.Generator, params: Params, cal: Calendar, city: City, f: Firms) -> Table:
    """Quarterly reports of every licensed local organisation, filed after each quarter."""
    table = Table("RegulatoryFiling")
    fp = params.finance
    region = city.code.ljust(12, "0")
    lic = np.flatnonzero(f.licence != "")
    quarter_ends = [
        m
        for m in range(cal.months)
        if (cal.month_start(m).astype("datetime64[M]").astype(int) % 12) % 3 == 2
    ]
    seq = 0
    last_day = cal.to_date(cal.end)
    ends = {q: date.fromisoformat(str(cal.month_end(q))) for q in quarter_ends}
    starts = {q: str(cal.month_start(q - 2)) for q in quarter_ends}
    for i in lic.tolist():
        kind = str(f.licence[i])
        rate = fp.licensed[kind].rate
        capital = float(f.capital[i])
        size = capital * rng.uniform(1.2, 2.5)
        founded, gone = int(f.established_month[i]), int(f.status_month[i])
        for q in quarter_ends:
            if q < founded + 3 or q >= gone:
                continue
            end = ends[q]
            filed = end + timedelta(days=int(rng.integers(*fp.filing_lag_days)))
            if filed > last_day:
                continue
            seq += 1
            size *= rng.uniform(0.97, 1.05)
            balance = size * rng.uniform(0.7, 0.9)
            npl = rng.uniform(0.5, 5.0)
            row = dict(
                filing_id=f"JRBS{str(end)[:7].replace('-', '')}{seq:06d}",
                credit_code=str(f.credit_code[i]),
                licence_type=kind,
                report_type=fp.report_type,
                period_start=starts[q],
                period_end=str(end),
                filed_at=f"{filed} {int(rng.integers(9, 18)):02d}:{int(rng.integers(0, 60)):02d}",
                region_code=region,
                total_assets=round(size, -2),
                total_liabilities=round(size - capital, -2),
                net_assets=round(capital, -2),
                paid_in_capital=round(capital, -2),
                net_profit=round(balance * rng.uniform(0.005, 0.03), -2),
                loan_balance=round(balance, -2),
                loan_count=int(balance / rng.uniform(5e4, 5e5)),
                borrower_count=int(balance / rng.uniform(8e4, 8e5)),
                overdue_ratio=round(npl * rng.uniform(1.2, 2.0), 2),
                npl_ratio=round(npl, 2),
                provision_coverage=round(rng.uniform(120, 300), 1),
                capital_adequacy_ratio=round(rng.uniform(40, 95), 1),
                leverage_ratio=round(rng.uniform(1.0, 4.0), 2),
                largest_borrower_ratio=round(rng.uniform(1, 9.5), 2),
                top10_borrower_share=round(rng.uniform(8, 35), 2),
                related_party_balance=round(balance * rng.uniform(0, 0.05), -2),
                out_of_region_balance=round(balance * rng.uniform(0, 0.03), -2),
                average_annual_rate=round(rng.uniform(*rate), 2),
            )
            table.add(**row)
            if rng.random() < fp.correction_share:
                seq += 1
                fixed = dict(row)
                fixed["filing_id"] = f"JRBS{str(end)[:7].replace('-', '')}{seq:06d}"
                fixed["supersedes"] = row["filing_id"]
                later = min(filed + timedelta(days=int(rng.integers(5, 30))), last_day)
                fixed["filed_at"] = f"{later} 10:00"
                fixed["npl_ratio"] = round(npl * rng.uniform(1.0, 1.3), 2)
                table.add(**fixed)
    return table


def lawful_finance_ads(
    rng: np.random.Generator, params: Params, cal: Calendar, city: City, f: Firms
) -> Table:
    """Ads of licensed lenders: high but lawful rates (hard negatives)."""
    table = Table("Advertisement")
    lic = np.flatnonzero(f.licence != "")
    options = texts.templates()["licensed_ad"]
    days = MonthDays(cal)
    for i in lic.tolist():
        k = rng.poisson(params.finance.ads_per_year * cal.months / 12)
        rate = params.finance.licensed[str(f.licence[i])].rate
        months: list[int] = (
            rng.integers(max(0, int(f.established_month[i])), cal.months, k).tolist() if k else []
        )
        for m in months:
            if m >= f.status_month[i]:
                continue
            day = days.draw(rng, m)
            annual = round(float(rng.uniform(*rate)), 1)
            table.add(
                medium=texts.choose(rng, ["网站", "移动应用", "户外", "报刊"]),
                outlet=texts.choose(rng, ["官网", "本地生活App", "公交站牌", "都市报"]),
                published_at=f"{day} {int(rng.integers(8, 22)):02d}:00",
                title=f"{f.name[i]}贷款服务",
                text=texts.fill(
                    texts.choose(rng, options),
                    firm=f.name[i],
                    rate=f"{annual:g}%",
                ),
                credit_code=str(f.credit_code[i]),
                enterprise_name=str(f.name[i]),
                region_code=city.code.ljust(12, "0"),
                impressions=int(rng.integers(500, 50000)),
                _firm=str(f.credit_code[i]),
                _written="full",
                _promised=round(annual, 2),
                _kind="licensed",
            )
    return table
