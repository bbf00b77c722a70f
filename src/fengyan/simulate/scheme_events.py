"""What each scheme makes the sources say, month by month through its life cycle.

Rates per stage (``params.events.scheme_rates``) times the scheme's loudness give Poisson
counts of ads, articles, job posts and complaints; under stress the promised yield is
raised; the collapse brings news, a police notice and a surge of complaints from distinct
participants; civil suits follow, and the criminal judgment comes 8–24 months later (often
after the window). Every text's true firm, stage and promised annual rate go to ground
truth through hidden ``_`` columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fengyan.simulate import names, texts
from fengyan.simulate.core import Calendar, Streams
from fengyan.simulate.eventkit import MonthDays, masked_person
from fengyan.simulate.firms import Firms
from fengyan.simulate.geography import City
from fengyan.simulate.lifecycle import Scheme
from fengyan.simulate.params import Params
from fengyan.simulate.persons import Persons
from fengyan.simulate.records import Table
from fengyan.simulate.scheme_courts import civil_suits, criminal_judgment


class _Writer:
    """Per-scheme context: picks names, times and slot values.

    What does not change from one record to the next (the core firm's name, address and
    code in a month, the day lists of each month, the weights of a choice) is computed
    once per scheme or month; the random draws are the same, one by one, as drawing each
    record from scratch.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        params: Params,
        cal: Calendar,
        city: City,
        f: Firms,
        persons: Persons,
        s: Scheme,
        days: MonthDays,
    ) -> None:
        self.rng, self.params, self.cal, self.city, self.f, self.s = rng, params, cal, city, f, s
        self.persons = persons
        self.days = days
        self.t = params.schemes.typologies[s.typology]
        self.tpl = texts.templates()
        # Participants' complainant numbers (written out only when one complains).
        self.victims = rng.integers(10_000_000, 99_999_999, max(10, s.victims)).tolist()
        forms = params.events.mention.forms
        self.forms = list(forms)
        self.form_cdf = _cdf(np.array(list(forms.values())))
        media = self.t.media
        self.media = list(media)
        self.media_cdf = _cdf(np.array(list(media.values())), sum(media.values()))
        i = s.core
        self.code = str(f.credit_code[i])
        self.short = str(f.brand[i]) + str(f.word[i])
        self.phone = str(f.phone[i])
        self.region = str(f.region_code[i])
        self.district = city.district_names[int(f.district[i])]
        self.raised = s.raised
        self.boss = masked_person(str(persons.name[s.controller]))
        self._state: dict[int, tuple[str, str, str]] = {}
        self._month: dict[int, str] = {}

    def state(self, m: int) -> tuple[str, str, str]:
        """The core firm's registered name, address and region code in month ``m``."""
        got = self._state.get(m)
        if got is None:
            st = self.f.state(np.array([self.s.core]), m, ("name", "address", "region_code"))
            got = (str(st["name"][0]), str(st["address"][0]), str(st["region_code"][0]))
            self._state[m] = got
        return got

    def when(self, m: int) -> str:
        day = self.days.draw(self.rng, m)
        return f"{day} {int(self.rng.integers(7, 23)):02d}:{int(self.rng.integers(0, 60)):02d}"

    def name(self, m: int) -> tuple[str, str]:
        """The core firm's name as a source writes it in month ``m``, and the form used."""
        form = self.forms[_pick(self.rng, self.form_cdf)]
        full = self.state(m)[0]
        if form == "short":
            return self.short, form
        if form == "brand":
            return self.s.product, "product"
        if form == "typo":
            return names.with_typo(full, self.rng), form
        if form == "traditional":
            return names.to_traditional(full), form
        return full, "full"

    def medium(self) -> str:
        """The medium of an ad, by the typology's media mix."""
        return self.media[_pick(self.rng, self.media_cdf)]

    def promise(self, m: int) -> tuple[str, float]:
        raised = 1.25 if self.s.stage(m) == "stress" else 1.0  # 加息 under stress
        return texts.yield_phrase(self.rng, self.s.fmt, self.s.promised * raised)

    def month_text(self, m: int) -> str:
        got = self._month.get(m)
        if got is None:
            label = self.cal.label(m)
            got = self._month[m] = f"{label[:4]}年{int(label[5:])}月"
        return got

    def slots(self, m: int) -> dict[str, Any]:
        firm, form = self.name(m)
        phrase, annual = self.promise(m)
        tpl = self.tpl
        rng = self.rng
        return {
            "firm": firm,
            "_form": form,
            "_promised": round(annual, 2),
            "yield": phrase,
            "product": self.s.product,
            "city": self.city.name,
            "district": self.district,
            "promise": texts.choose(rng, tpl["promise"]),
            "gift": texts.choose(rng, tpl["gift"]),
            "ticket": texts.choose(rng, tpl["ticket"]),
            "phone": self.phone,
            "amount": texts.amount_phrase(rng, max(self.s.ticket * rng.uniform(0.3, 3), 1000)),
            "total": texts.amount_phrase(rng, max(self.raised, 1e5)),
            "city_short": self.city.short,
            "n": str(max(2, int(self.s.victims * rng.uniform(0.05, 1.0)))),
            "month": self.month_text(m),
            "months": str(int(rng.integers(1, 4))),
            "charge": self.t.charges[0],
            "court": f"{self.city.name}中级人民法院",
            "person": self.boss,
        }


def _cdf(weights: np.ndarray, total: float | None = None) -> np.ndarray:
    """The cumulative weights ``rng.choice(len(w), p=w / total)`` searches."""
    cdf: np.ndarray = (weights / (weights.sum() if total is None else total)).cumsum()
    cdf /= cdf[-1]
    return cdf


def _pick(rng: np.random.Generator, cdf: np.ndarray) -> int:
    """What ``rng.choice(len(cdf), p=…)`` draws: one uniform, searched in the cdf."""
    return int(cdf.searchsorted(rng.random(), side="right"))


def scheme_events(
    streams: Streams,
    params: Params,
    cal: Calendar,
    city: City,
    f: Firms,
    persons: Persons,
    schemes: list[Scheme],
    out: dict[str, Table],
) -> None:
    """Add every scheme's events to ``out``."""
    days = MonthDays(cal)
    for s in schemes:
        w = _Writer(streams.get(f"scheme.{s.id}"), params, cal, city, f, persons, s, days)
        for m in range(max(0, s.launch), cal.months):
            stage = s.stage(m)
            rates = params.events.scheme_rates.get(stage, {})
            for kind, rate in rates.items():
                lam = (
                    rate * s.loudness
                    if stage in ("acquisition", "expansion")
                    else rate * max(1.0, s.loudness)
                )
                if stage == "after" and m > s.collapse + 6:
                    lam *= 0.2
                for _ in range(int(w.rng.poisson(lam))):
                    _EMIT[kind](w, m, out)
            if m == s.police and s.mode != "停业清退":
                _police(w, m, out)
            if m == s.judgment:
                _story(w, m, "verdict", "news", w.slots(m), "verdict", out)
        _lawsuits(w, out)


def _base(w: _Writer, m: int, stage: str) -> dict[str, Any]:
    return {
        "_firm": w.code,
        "_scheme": w.s.id,
        "_stage": stage,
        "_month": m,
        "_kind": "scheme",
    }


def _ad(w: _Writer, m: int, out: dict[str, Table]) -> None:
    sl = w.slots(m)
    options = w.tpl["ad"]["typology"].get(w.s.typology, []) + w.tpl["ad"]["generic"]
    medium = w.medium()
    outlets = w.tpl["media_outlets"].get(medium, ["其他"])
    share = w.params.events.mention.credit_code_share.get("Advertisement", 0.3)
    out["Advertisement"].add(
        credit_code=w.code if w.rng.random() < share * 0.5 else None,
        enterprise_name=sl["firm"],
        medium=medium,
        outlet=texts.choose(w.rng, outlets),
        published_at=w.when(m),
        title=w.s.product,
        text=texts.fill(texts.choose(w.rng, options), **sl),
        impressions=int(w.rng.integers(1000, 500000)),
        region_code=w.region,
        _written=sl["_form"],
        _promised=sl["_promised"],
        **_base(w, m, w.s.stage(m)),
    )


def _article(w: _Writer, m: int, out: dict[str, Table]) -> None:
    stage = w.s.stage(m)
    sl = w.slots(m)
    if stage in ("acquisition", "expansion"):
        kind = "doubt" if w.rng.random() < 0.2 else "promo"
    else:
        kind = {"stress": "stress", "collapse": "collapse"}.get(stage, "after")
    channel = {
        "promo": ["news", "wechat"],
        "doubt": ["forum", "weibo"],
        "stress": ["weibo", "forum", "video"],
        "collapse": ["news", "weibo", "wechat"],
        "after": ["news", "wechat"],
    }[kind]
    _story(w, m, kind, texts.choose(w.rng, channel), sl, stage, out)


def _story(
    w: _Writer, m: int, kind: str, ch: str, sl: dict[str, Any], stage: str, out: dict[str, Table]
) -> None:
    art = w.tpl["article"]
    sources = w.tpl["news_sources"][ch]
    pair = int(w.rng.integers(0, 1 << 30))  # a title and a text written as a pair
    template = art[kind]["text"][pair % len(art[kind]["text"])]
    text = texts.fill(template, **sl)
    out["Article"].add(
        source_name=texts.choose(w.rng, sources),
        channel=ch,
        published_at=w.when(m),
        title=texts.fill(art[kind]["title"][pair % len(art[kind]["title"])], **sl),
        text=text,
        author=masked_person(str(w.persons.name[int(w.rng.integers(0, len(w.persons)))]))
        if ch in ("weibo", "forum")
        else None,
        reach=int(w.rng.integers(100, 200000)),
        _written=sl["_form"],
        _promised=sl["_promised"] if "{yield}" in template else None,
        **_base(w, m, stage),
    )


def _post(w: _Writer, m: int, out: dict[str, Table]) -> None:
    sl = w.slots(m)
    low = int(w.rng.integers(3, 7)) * 1000
    high = low * int(w.rng.integers(3, 8))
    job = texts.choose(w.rng, w.t.jobs)
    salary = texts.salary_phrase(w.rng, low, high)
    out["RecruitmentPost"].add(
        credit_code=w.code if w.rng.random() < 0.5 else None,
        enterprise_name=sl["firm"],
        platform=texts.choose(w.rng, w.tpl["platforms"]),
        posted_at=w.when(m)[:10],
        job_title=job,
        headcount=int(w.rng.integers(5, 50)) if w.rng.random() < 0.6 else None,
        salary_min=low,
        salary_max=high,
        text=texts.fill(
            texts.choose(w.rng, w.tpl["recruitment"]["scheme"]),
            job=job,
            salary=salary,
            **{k: v for k, v in sl.items() if k != "salary"},
        ),
        city=w.city.name,
        work_address=w.state(m)[1],
        region_code=w.state(m)[2],
        _written=sl["_form"],
        **_base(w, m, w.s.stage(m)),
    )


def _complaint(w: _Writer, m: int, out: dict[str, Table]) -> None:
    stage = w.s.stage(m)
    sl = w.slots(m)
    c = w.tpl["complaint"]
    key = (
        "lending"
        if w.t.lends
        else {"acquisition": "early", "expansion": "early", "stress": "stress"}.get(
            stage, "collapse"
        )
    )
    many = key == "collapse" and w.rng.random() < 0.3
    share = w.params.events.mention.credit_code_share.get("Complaint", 0.25)
    channel = texts.choose(w.rng, ["12345热线", "网上举报", "信访", "小程序", "来电", "来信"])
    out["Complaint"].add(
        complaint_type="举报" if key == "early" else texts.choose(w.rng, ["投诉", "信访", "举报"]),
        channel=channel,
        received_at=w.when(m),
        credit_code=w.code if w.rng.random() < share else None,
        enterprise_name=sl["firm"] if w.rng.random() < 0.8 else None,
        platform_name=w.s.product,
        complainant_id=f"GZ{w.victims[int(w.rng.integers(0, len(w.victims)))]}",
        anonymous="是" if w.rng.random() < 0.15 else "否",
        category=w.t.category,
        amount=round(
            w.s.ticket * w.rng.uniform(0.3, 3) * (w.rng.integers(5, 60) if many else 1), -2
        ),
        people_count=int(w.rng.integers(5, 60)) if many else 1,
        title=f"关于{sl['firm']}的{'集体' if many else ''}投诉",
        text=texts.fill(texts.choose(w.rng, c[key]), **sl),
        region_code=w.state(m)[2],
        _written=sl["_form"],
        **_base(w, m, stage),
    )


def _police(w: _Writer, m: int, out: dict[str, Table]) -> None:
    sl = w.slots(m)
    text = texts.fill(w.tpl["article"]["collapse"]["text"][1], **sl)
    source = texts.fill(texts.choose(w.rng, w.tpl["police_sources"]), city=w.city.short)
    out["Article"].add(
        source_name=source,
        channel="wechat",
        published_at=w.when(m),
        title=f"警情通报（{sl['firm']}）",
        text=text,
        reach=int(w.rng.integers(5000, 500000)),
        _written=sl["_form"],
        **_base(w, m, "police"),
    )


_EMIT = {"ads": _ad, "articles": _article, "posts": _post, "complaints": _complaint}


def _lawsuits(w: _Writer, out: dict[str, Table]) -> None:
    """Investors' civil suits under stress and after; the criminal judgment, when in time."""
    civil_suits(w.rng, w.params, w.cal, w.city, w.f, w.persons, w.s, out, w.days)
    if w.s.judgment < w.cal.months:
        criminal_judgment(w.rng, w.params, w.cal, w.city, w.f, w.persons, w.s, out, w.days)
