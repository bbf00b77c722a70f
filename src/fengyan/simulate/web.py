"""Websites, apps, mini-programs and public accounts, with ICP filings and servers.

Domains are spelled with a deterministic pseudo-pinyin syllable per character (not real
pinyin: the package ships no pinyin table), so one brand always gives one spelling.
Schemes often run apps whose ICP filing is missing or held by a person or a shell, and
servers abroad; their sites go dark at the collapse. Server addresses come from a few
illustrative prefixes per country; they are not geolocation-accurate.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from fengyan.simulate.core import Calendar, Streams, weighted
from fengyan.simulate.eventkit import MonthDays
from fengyan.simulate.firms import Firms
from fengyan.simulate.geography import City
from fengyan.simulate.lifecycle import Scheme
from fengyan.simulate.params import Params
from fengyan.simulate.persons import Persons
from fengyan.simulate.records import Table

_SYLLABLES = [
    "an",
    "ba",
    "bai",
    "bang",
    "bao",
    "bei",
    "ben",
    "bi",
    "bin",
    "bo",
    "cai",
    "can",
    "chang",
    "chao",
    "chen",
    "cheng",
    "chuang",
    "da",
    "dao",
    "de",
    "ding",
    "dong",
    "du",
    "fa",
    "fan",
    "fang",
    "fei",
    "feng",
    "fu",
    "gang",
    "gao",
    "ge",
    "guang",
    "gui",
    "guo",
    "hai",
    "han",
    "hao",
    "he",
    "heng",
    "hong",
    "hua",
    "huan",
    "hui",
    "jia",
    "jian",
    "jin",
    "jing",
    "jun",
    "kai",
    "kang",
    "ke",
    "kun",
    "lai",
    "lan",
    "le",
    "li",
    "lian",
    "lin",
    "ling",
    "long",
    "lu",
    "ma",
    "mei",
    "meng",
    "ming",
    "na",
    "ning",
    "peng",
    "ping",
    "qi",
    "qian",
    "qing",
    "rong",
    "rui",
    "run",
    "sen",
    "sha",
    "shan",
    "sheng",
    "shi",
    "shun",
    "tai",
    "tian",
    "tong",
    "wan",
    "wei",
    "wen",
    "xiang",
    "xin",
    "xing",
    "xu",
    "ya",
    "yang",
    "yi",
    "yin",
    "ying",
    "yong",
    "you",
    "yu",
    "yuan",
    "yue",
    "yun",
    "ze",
    "zhan",
    "zhi",
    "zhong",
]
_PREFIXES = {
    "CN": ("47.106", "120.24", "119.29", "183.60", "121.40"),
    "HK": ("103.97", "156.241"),
    "US": ("104.21", "172.67"),
    "SG": ("128.199", "139.59"),
    "JP": ("133.18", "160.16"),
    "KH": ("103.216",),
    "PH": ("112.198",),
    "MY": ("175.143",),
}
_PLATFORMS = {
    "app": ("华为应用市场", "App Store", "小米应用商店", "应用宝"),
    "mini_program": ("微信",),
    "public_account": ("微信",),
    "website": ("",),
}


def pinyinish(text: str) -> str:
    """A stable latin spelling of ``text``: one syllable per character."""
    return "".join(_SYLLABLES[(ord(c) * 2654435761) % len(_SYLLABLES)] for c in text)


def _ip(rng: np.random.Generator, country: str) -> str:
    prefix = _PREFIXES.get(country, _PREFIXES["HK"])[
        int(rng.integers(0, len(_PREFIXES.get(country, ("",)))))
    ]
    return f"{prefix}.{int(rng.integers(1, 255))}.{int(rng.integers(1, 255))}"


def web_presence(
    streams: Streams,
    params: Params,
    cal: Calendar,
    city: City,
    f: Firms,
    persons: Persons,
    schemes: list[Scheme],
    every: int,
) -> Table:
    """Sites and apps as versions: seen at each delivery while alive, then unreachable."""
    rng = streams.get("web")
    table = Table("WebPresence")
    days = MonthDays(cal)
    lawful = np.flatnonzero(
        (f.scheme < 0) & (rng.random(len(f)) < params.web.lawful_site_share * (1 + f.finance_like))
    )
    abroad = list(params.web.countries_abroad)
    abroad_w = list(params.web.countries_abroad.values())
    for i in lawful.tolist():  # lawful sites: seen once, and once more if they go dark
        kind = "website" if rng.random() < 0.7 else "public_account"
        _site(
            rng,
            table,
            cal,
            city,
            f,
            i,
            kind,
            "enterprise",
            str(f.name[i]),
            ["CN"],
            int(f.established_month[i]),
            int(f.status_month[i]),
            0,
            ".com" if rng.random() < 0.6 else ".cn",
            days,
        )
    for s in schemes:
        t = params.schemes.typologies[s.typology]
        for kind, p in t.web.items():
            if rng.random() >= p:
                continue
            country = (
                ["CN"]
                if rng.random() >= t.server_abroad
                else [abroad[int(weighted(rng, abroad_w, 1)[0])]]
            )
            if country != ["CN"] and rng.random() < 0.5:
                country = ["CN", country[0]]  # a CDN at home, the origin abroad
            holder = rng.random()
            if holder < 0.4:
                subject_kind, subject = "enterprise", str(f.name[s.core])
            elif holder < 0.7 and s.shells:
                subject_kind, subject = "enterprise", str(f.name[s.shells[-1]])
            else:
                subject_kind, subject = "person", str(persons.name[s.nominees[0]])
            _site(
                rng,
                table,
                cal,
                city,
                f,
                s.core,
                kind,
                subject_kind,
                subject,
                country,
                max(s.launch - 1, -60),
                s.collapse,
                every,
                str(rng.choice([".com", ".cn", ".vip", ".top", ".net", ".io"])),
                days,
                downloads=int(s.victims * rng.uniform(2, 20)),
                icp_missing=rng.random() < 0.4,
            )
    return table


def _site(
    rng: np.random.Generator,
    table: Table,
    cal: Calendar,
    city: City,
    f: Firms,
    i: int,
    kind: str,
    subject_kind: str,
    subject: str,
    countries: list[str],
    born: int,
    dies: int,
    every: int,
    tld: str,
    days: MonthDays,
    downloads: int | None = None,
    icp_missing: bool = False,
) -> None:
    spelled = pinyinish(str(f.brand[i]))
    domain = f"{spelled}{tld}"
    identifier = {
        "website": domain,
        "app": f"com.{spelled}.app",
        "mini_program": f"wx{rng.integers(0, 2**63):016x}",
        "public_account": f"gh_{rng.integers(0, 2**47):012x}",
    }[kind]
    serial = int(rng.integers(10_000_000, 99_999_999))
    icp = None if icp_missing else f"{city.abbr}ICP备{serial}号-{'1A' if kind == 'app' else '1'}"
    born = max(born, int(f.established_month[i]))
    back = timedelta(days=int(rng.integers(5, 200)))
    registered = date.fromisoformat(days.start(born)) - back
    crawls = range(every - 1, cal.months, every) if every else range(0)
    marks = sorted({born, *[m for m in crawls if born <= m < min(dies, cal.months)]})
    if dies < cal.months and dies >= born:
        marks.append(dies)
    platform = _PLATFORMS[kind][int(rng.integers(0, len(_PLATFORMS[kind])))]
    ips = [_ip(rng, c) for c in countries]
    first_seen = days.start(max(born, -600))
    for m in marks:
        alive = m < dies
        seen = days.end(min(m, cal.months - 1))
        table.add(
            credit_code=str(f.credit_code[i]),
            kind=kind,
            identifier=identifier,
            name=f"{f.brand[i]}{f.word[i]}",
            platform=platform or None,
            domain=domain if kind == "website" else None,
            url=f"https://www.{domain}" if kind == "website" else None,
            icp_number=icp,
            icp_subject_kind=subject_kind if icp else None,
            icp_subject_name=subject if icp else None,
            server_ip=ips if kind in ("website", "app") else None,
            server_country=countries if kind in ("website", "app") else None,
            domain_registered=registered.isoformat() if kind == "website" else None,
            downloads=downloads,
            reachable="是" if alive else "否",
            first_seen=first_seen,
            last_seen=seen,
            _month=m,
            _key=f"{f.credit_code[i]}|{kind}|{identifier}",
            _firm=str(f.credit_code[i]),
        )
