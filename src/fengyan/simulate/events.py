"""Background events of lawful firms, vectorised: news, ads, job posts, complaints, lawsuits.

Most of what the sources say is about lawful firms; that is the noise a detector must see
through. A small share of lawful firms get exactly one bad news item (wage arrears, a
consumer dispute): hard negatives, listed in ground_truth/firms.csv.
"""

from __future__ import annotations

import numpy as np

from fengyan.simulate.core import STR, Calendar, Streams, Strs, join, lognormal, strs, weighted
from fengyan.simulate.eventkit import (
    case_numbers,
    court,
    sample_firm_months,
    times,
    vfill,
    written_names,
)
from fengyan.simulate.firms import Firms
from fengyan.simulate.geography import City
from fengyan.simulate.params import Params
from fengyan.simulate.persons import Persons
from fengyan.simulate.records import Table
from fengyan.simulate.texts import templates

LAWSUITS = ("Judgment", "Enforcement", "DishonestDebtor")


def background(
    streams: Streams,
    params: Params,
    cal: Calendar,
    city: City,
    f: Firms,
    persons: Persons,
    kind: str,
) -> dict[str, Table]:
    """Lawful firms' events of record type ``kind`` (a lawsuit brings its enforcement and
    失信 records too). Each type has its own random stream, so types can be made one at a
    time, when they are written."""
    lawful = np.isin(f.role, ["normal", "finance_like", "licensed", "negative_similar_name"])
    size = np.sqrt(f.headcount + 1.0)
    out = {k: Table(k) for k in (LAWSUITS if kind in LAWSUITS else (kind,))}
    if kind == "Article":
        _articles(streams.get("bg.articles"), params, cal, city, f, lawful, size, out[kind])
    elif kind == "Advertisement":
        _ads(streams.get("bg.ads"), params, cal, city, f, lawful, out[kind])
    elif kind == "RecruitmentPost":
        mask = lawful & (f.headcount > 0)
        _posts(streams.get("bg.posts"), params, cal, city, f, mask, size, out[kind])
    elif kind == "Complaint":
        _complaints(streams.get("bg.complaints"), params, cal, city, f, lawful, out[kind])
    elif kind in LAWSUITS:
        _lawsuits(streams.get("bg.lawsuits"), params, cal, city, f, persons, lawful, out)
    else:
        raise KeyError(kind)
    return out


def _slots(f: Firms, firm: np.ndarray, city: City, names: Strs) -> dict[str, Strs]:
    return {
        "firm": names,
        "city": strs([city.name] * len(firm)),
        "district": strs(city.district_names)[f.district[firm]],
        "service": f.industry_label[firm],
        "phone": f.phone[firm],
    }


def _articles(
    rng: np.random.Generator,
    params: Params,
    cal: Calendar,
    city: City,
    f: Firms,
    lawful: np.ndarray,
    size: np.ndarray,
    table: Table,
) -> None:
    t = templates()["article"]
    firm, month = sample_firm_months(rng, f, cal, params.events.news_per_firm_year, size, lawful)
    kind: Strs = np.full(len(firm), "lawful", dtype=STR)
    # Hard negatives: lawful firms with exactly one bad news item.
    bad_pool = np.flatnonzero(lawful & (f.role == "normal"))
    bad = rng.choice(
        bad_pool, size=int(len(bad_pool) * params.events.one_bad_item_share), replace=False
    )
    if len(bad):
        start = np.maximum(f.established_month[bad], 0)
        end = np.minimum(f.status_month[bad], cal.months)
        bad_month = start + (rng.random(len(bad)) * np.maximum(end - start, 1)).astype(np.int64)
        keep = bad_month < cal.months
        firm = np.concatenate([firm, bad[keep]])
        month = np.concatenate([month, bad_month[keep]])
        kind = np.concatenate([kind, np.full(int(keep.sum()), "bad_news", dtype=STR)])
        f.extra["bad_news"] = bad[keep]
    n = len(firm)
    written, form = written_names(rng, f, firm, month, params.events.mention.forms)
    slots = _slots(f, firm, city, written)
    pair = rng.integers(0, 1 << 30, n)  # titles and texts are written as pairs
    bad_news = kind == "bad_news"
    title = np.where(
        bad_news,
        vfill(rng, t["bad_news"]["title"], slots, n, pair),
        vfill(rng, t["lawful"]["title"], slots, n, pair),
    )
    text = np.where(
        bad_news,
        vfill(rng, t["bad_news"]["text"], slots, n, pair),
        vfill(rng, t["lawful"]["text"], slots, n, pair),
    )
    channel = strs(["news", "wechat", "weibo"])[weighted(rng, [5, 3, 2], n)]
    sources = templates()["news_sources"]
    source = np.where(
        channel == "news",
        strs(sources["news"])[rng.integers(0, len(sources["news"]), n)],
        np.where(channel == "wechat", "微信公众号", "微博"),
    )
    table.extend(
        {
            "source_name": source.astype(STR),
            "channel": channel,
            "published_at": times(rng, cal, month),
            "title": title.astype(STR),
            "text": text.astype(STR),
            "reach": rng.integers(50, 20000, n),
            "_firm": f.credit_code[firm],
            "_written": form,
            "_kind": kind,
            "_month": month,
        }
    )


def _ads(
    rng: np.random.Generator,
    params: Params,
    cal: Calendar,
    city: City,
    f: Firms,
    lawful: np.ndarray,
    table: Table,
) -> None:
    firm, month = sample_firm_months(
        rng, f, cal, params.events.ads_per_firm_year, np.ones(len(f)), lawful & (f.licence == "")
    )
    n = len(firm)
    written, form = written_names(rng, f, firm, month, params.events.mention.forms)
    share = params.events.mention.credit_code_share.get("Advertisement", 0.3)
    media = strs(["网站", "社交媒体", "户外", "短视频", "搜索引擎", "报刊"])[
        weighted(rng, [3, 4, 2, 2, 1, 1], n)
    ]
    outlets = templates()["media_outlets"]
    outlet = np.empty(n, dtype=STR)
    for medium in np.unique(media).tolist():
        rows = media == medium
        options = outlets.get(medium, [medium])
        outlet[rows] = strs(options)[rng.integers(0, len(options), int(rows.sum()))]
    table.extend(
        {
            "credit_code": np.where(rng.random(n) < share, f.credit_code[firm], "").astype(STR),
            "enterprise_name": written,
            "medium": media,
            "outlet": outlet,
            "published_at": times(rng, cal, month),
            "title": join(f.brand[firm], f.word[firm]),
            "text": vfill(rng, templates()["lawful_ad"], _slots(f, firm, city, written), n),
            "impressions": rng.integers(100, 100000, n),
            "region_code": f.region_code[firm],
            "_firm": f.credit_code[firm],
            "_written": form,
            "_kind": "lawful",
            "_month": month,
        }
    )


def _posts(
    rng: np.random.Generator,
    params: Params,
    cal: Calendar,
    city: City,
    f: Firms,
    mask: np.ndarray,
    size: np.ndarray,
    table: Table,
) -> None:
    rec = templates()["recruitment"]
    firm, month = sample_firm_months(rng, f, cal, params.events.posts_per_firm_year, size, mask)
    n = len(firm)
    written, form = written_names(rng, f, firm, month, {"full": 0.9, "short": 0.1})
    low = np.round(lognormal(rng, 6500.0, 0.35, n), -2)
    high = np.round(low * rng.uniform(1.3, 2.0, n), -2)
    job = strs(rec["lawful_jobs"])[rng.integers(0, len(rec["lawful_jobs"]), n)]
    salary = join(low.astype(np.int64).astype(STR), "-", high.astype(np.int64).astype(STR), "元/月")
    slots = {**_slots(f, firm, city, written), "job": job, "salary": salary}
    platforms = templates()["platforms"]
    share = params.events.mention.credit_code_share.get("RecruitmentPost", 0.6)
    table.extend(
        {
            "credit_code": np.where(rng.random(n) < share, f.credit_code[firm], "").astype(STR),
            "enterprise_name": written,
            "platform": strs(platforms)[rng.integers(0, len(platforms), n)],
            "posted_at": np.strings.slice(times(rng, cal, month), 0, 10),
            "job_title": job,
            "headcount": np.where(
                rng.random(n) < 0.2, "", rng.integers(1, 6, n).astype(STR)
            ).astype(STR),
            "salary_min": low,
            "salary_max": high,
            "text": vfill(rng, rec["lawful"], slots, n),
            "city": strs([city.name] * n),
            "work_address": f.address[firm],
            "region_code": f.region_code[firm],
            "_firm": f.credit_code[firm],
            "_written": form,
            "_kind": "lawful",
            "_month": month,
        }
    )


def _complaints(
    rng: np.random.Generator,
    params: Params,
    cal: Calendar,
    city: City,
    f: Firms,
    lawful: np.ndarray,
    table: Table,
) -> None:
    firm, month = sample_firm_months(
        rng, f, cal, params.events.complaints_per_firm_year, np.ones(len(f)), lawful
    )
    n = len(firm)
    written, form = written_names(rng, f, firm, month, params.events.mention.forms)
    share = params.events.mention.credit_code_share.get("Complaint", 0.25)
    channels = strs(["12345热线", "网上举报", "来电", "小程序", "信访"])
    table.extend(
        {
            "complaint_type": strs(["投诉", "投诉", "举报", "咨询"])[rng.integers(0, 4, n)],
            "channel": channels[weighted(rng, [5, 2, 2, 1, 1], n)],
            "received_at": times(rng, cal, month),
            "credit_code": np.where(rng.random(n) < share, f.credit_code[firm], "").astype(STR),
            "enterprise_name": written,
            "complainant_id": join("GZ", rng.integers(10_000_000, 99_999_999, n).astype(STR)),
            "anonymous": np.where(rng.random(n) < 0.2, "是", "否").astype(STR),
            "category": strs(["消费纠纷", "劳动纠纷", "其他"])[weighted(rng, [6, 3, 1], n)],
            "amount": np.round(lognormal(rng, 3000.0, 1.0, n), -1),
            "people_count": np.ones(n, dtype=np.int64),
            "title": join("关于", written, "的投诉"),
            "text": vfill(
                rng, templates()["complaint"]["lawful"], _slots(f, firm, city, written), n
            ),
            "region_code": f.region_code[firm],
            "_firm": f.credit_code[firm],
            "_written": form,
            "_kind": "lawful",
            "_month": month,
        }
    )


def _lawsuits(
    rng: np.random.Generator,
    params: Params,
    cal: Calendar,
    city: City,
    f: Firms,
    persons: Persons,
    lawful: np.ndarray,
    out: dict[str, Table],
) -> None:
    ev = params.events
    j = templates()["judgment"]
    firm, month = sample_firm_months(
        rng, f, cal, ev.civil_suits_per_firm_year, np.sqrt(f.capital / 1e6 + 1), lawful
    )
    n = len(firm)
    plaintiff = rng.integers(0, len(f), n)
    cause = strs(j["lawful_causes"])[rng.integers(0, len(j["lawful_causes"]), n)]
    amount = np.round(lognormal(rng, 80000.0, 1.2, n), -2)
    court_name, court_region = court(city, f.district[firm])
    year = cal.month_start(month).astype("datetime64[Y]").astype(np.int64) + 1970
    case = case_numbers(city, f.district[firm], year, "民初", rng.integers(100, 30000, n))
    day = np.strings.slice(times(rng, cal, month), 0, 10)
    text = vfill(
        rng,
        [j["lawful_civil"]],
        {
            "court": court_name,
            "plaintiff": f.name[plaintiff],
            "firm": f.name[firm],
            "cause": cause,
            "amount": amount.astype(np.int64).astype(STR),
        },
        n,
    )
    base = {
        "case_number": case,
        "court": court_name,
        "region_code": court_region,
        "case_type": "民事",
        "document_type": "判决书",
        "procedure": "一审",
        "cause": cause,
        "amount": amount,
        "judgment_date": day,
        "title": join(f.name[firm], cause, "一审民事判决书"),
        "text": text,
        "_kind": "lawful",
        "_month": month,
        "_case": case,
    }
    jt = out["Judgment"]
    jt.extend(
        {
            **base,
            "party_id": f.credit_code[plaintiff],
            "party_kind": "enterprise",
            "party_name": f.name[plaintiff],
            "party_role": "原告",
            "_firm": f.credit_code[plaintiff],
        }
    )
    jt.extend(
        {
            **base,
            "party_id": f.credit_code[firm],
            "party_kind": "enterprise",
            "party_name": f.name[firm],
            "party_role": "被告",
            "_firm": f.credit_code[firm],
        }
    )
    # Some judgment debtors do not pay: enforcement, and for some the 失信 list.
    enf = rng.random(n) < ev.enforcement_share
    later = np.minimum(month + rng.integers(1, 4, n), cal.months - 1)
    ok = enf & (later > month)
    k = int(ok.sum())
    e_case = case_numbers(city, f.district[firm[ok]], year[ok], "执", rng.integers(100, 20000, k))
    filing = np.strings.slice(times(rng, cal, later[ok]), 0, 10)
    out["Enforcement"].extend(
        {
            "case_number": e_case,
            "court": court_name[ok],
            "region_code": court_region[ok],
            "party_id": f.credit_code[firm[ok]],
            "party_kind": "enterprise",
            "party_name": f.name[firm[ok]],
            "amount": amount[ok],
            "outstanding_amount": np.round(amount[ok] * rng.uniform(0.3, 1, k), -2),
            "filing_date": filing,
            "status": strs(["执行中", "终结本次执行", "执行完毕"])[rng.integers(0, 3, k)],
            "_firm": f.credit_code[firm[ok]],
            "_kind": "lawful",
            "_month": later[ok],
        }
    )
    listed = rng.random(k) < ev.dishonest_share
    m = int(listed.sum())
    rows = np.flatnonzero(ok)[listed]
    rep = f.legal_rep[firm[rows]]
    out["DishonestDebtor"].extend(
        {
            "case_number": e_case[listed],
            "court": court_name[rows],
            "region_code": court_region[rows],
            "party_id": f.credit_code[firm[rows]],
            "party_kind": "enterprise",
            "party_name": f.name[firm[rows]],
            "legal_representative": persons.name[np.maximum(rep, 0)],
            "basis_document": case[rows],
            "basis_issuer": court_name[rows],
            "obligation": join("支付", amount[rows].astype(np.int64).astype(STR), "元及利息"),
            "performance": strs(["全部未履行", "部分未履行"])[rng.integers(0, 2, m)],
            "conduct": "有履行能力而拒不履行生效法律文书确定义务",
            "filing_date": filing[listed],
            "publish_date": filing[listed],
            "_firm": f.credit_code[firm[rows]],
            "_kind": "lawful",
            "_month": later[rows],
        }
    )
