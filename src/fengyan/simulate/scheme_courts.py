"""Court records of schemes: investors' civil suits, enforcement, the 失信 list, and the
criminal judgment that confirms the case (the label an early-warning model learns from).
"""

from __future__ import annotations

import numpy as np

from fengyan.simulate import texts
from fengyan.simulate.core import Calendar
from fengyan.simulate.eventkit import MonthDays, masked_person
from fengyan.simulate.firms import Firms
from fengyan.simulate.geography import City
from fengyan.simulate.lifecycle import Scheme
from fengyan.simulate.params import Params
from fengyan.simulate.persons import Persons
from fengyan.simulate.records import Table


def _case(city: City, district: int, year: int, kind: str, rng: np.random.Generator) -> str:
    area = city.district_codes[district][2:6]
    return f"（{year}）{city.abbr}{area}{kind}{int(rng.integers(100, 30000))}号"


def civil_suits(
    rng: np.random.Generator,
    params: Params,
    cal: Calendar,
    city: City,
    f: Firms,
    persons: Persons,
    s: Scheme,
    out: dict[str, Table],
    days: MonthDays,
) -> None:
    """Participants sue the core firm for their principal from the stress stage on."""
    t = params.schemes.typologies[s.typology]
    count = rng.poisson(s.victims * params.schemes.civil_suits_per_100_victims / 100)
    tpl = texts.templates()["judgment"]
    district = int(f.district[s.core])
    court = f"{city.name}{city.district_names[district]}人民法院"
    region = city.district_codes[district].ljust(12, "0")
    for _ in range(int(count)):
        filed = int(rng.integers(s.stress, s.collapse + 10))
        decided = filed + int(rng.integers(2, 7))
        if decided >= cal.months or filed < 0:
            continue
        year = int(cal.label(decided)[:4])
        case = _case(city, district, year, "民初", rng)
        cause = texts.choose(rng, t.causes)
        plaintiff = masked_person(str(persons.name[int(rng.integers(0, len(persons)))]))
        amount = round(s.ticket * rng.uniform(0.3, 3), -2)
        phrase, annual = texts.yield_phrase(rng, s.fmt, s.promised)
        text = texts.fill(
            tpl["civil"],
            court=court,
            plaintiff=plaintiff,
            firm=f.name[s.core],
            cause=cause,
            start=cal.label(max(s.launch, 0)),
            amount=texts.amount_phrase(rng, amount),
            yield_=phrase,
        )
        text = text.replace("{yield}", phrase)
        base = dict(
            case_number=case,
            court=court,
            region_code=region,
            case_type="民事",
            document_type="判决书",
            procedure="一审",
            cause=[cause],
            amount=amount,
            filed_date=days.draw(rng, filed),
            judgment_date=days.draw(rng, decided),
            title=f"{plaintiff}与{f.name[s.core]}{cause}一审民事判决书",
            text=text,
            _scheme=s.id,
            _kind="scheme",
            _stage="civil",
            _month=decided,
            _case=case,
            _promised=round(annual, 2),
        )
        out["Judgment"].add(
            party_kind="person", party_name=plaintiff, party_role="原告", _firm="", **base
        )
        code = str(f.credit_code[s.core])
        out["Judgment"].add(
            party_id=code,
            party_kind="enterprise",
            party_name=str(f.name[s.core]),
            party_role="被告",
            _firm=code,
            **base,
        )
        enf_month = decided + int(rng.integers(1, 4))
        if enf_month >= cal.months:
            continue
        e_case = _case(city, district, int(cal.label(enf_month)[:4]), "执", rng)
        filing = days.draw(rng, enf_month)
        out["Enforcement"].add(
            case_number=e_case,
            court=court,
            region_code=region,
            party_id=code,
            party_kind="enterprise",
            party_name=str(f.name[s.core]),
            amount=amount,
            outstanding_amount=amount,
            filing_date=filing,
            status="执行中",
            _firm=code,
            _scheme=s.id,
            _kind="scheme",
            _month=enf_month,
        )
        if rng.random() < 0.5:
            rep = int(f.state(np.array([s.core]), enf_month, ("legal_rep",))["legal_rep"][0])
            out["DishonestDebtor"].add(
                case_number=e_case,
                court=court,
                region_code=region,
                party_id=code,
                party_kind="enterprise",
                party_name=str(f.name[s.core]),
                legal_representative=str(persons.name[rep]),
                basis_document=case,
                basis_issuer=court,
                obligation=f"返还本金{amount:.0f}元及利息",
                performance="全部未履行",
                conduct="有履行能力而拒不履行生效法律文书确定义务",
                filing_date=filing,
                publish_date=filing,
                _firm=code,
                _scheme=s.id,
                _kind="scheme",
                _month=enf_month,
            )


def criminal_judgment(
    rng: np.random.Generator,
    params: Params,
    cal: Calendar,
    city: City,
    f: Firms,
    persons: Persons,
    s: Scheme,
    out: dict[str, Table],
    days: MonthDays,
) -> None:
    """The first-instance criminal judgment: the firm and its people convicted."""
    t = params.schemes.typologies[s.typology]
    tpl = texts.templates()["judgment"]
    court = (
        f"{city.name}中级人民法院"
        if s.raised > 5e7
        else f"{city.name}{city.district_names[int(f.district[s.core])]}人民法院"
    )
    region = (
        city.code.ljust(12, "0")
        if "中级" in court
        else city.district_codes[int(f.district[s.core])].ljust(12, "0")
    )
    year = int(cal.label(s.judgment)[:4])
    area = city.code[2:4] if "中级" in court else city.district_codes[int(f.district[s.core])][2:6]
    case = f"（{year}）{city.abbr}{area}刑初{int(rng.integers(10, 2000))}号"
    people = [s.controller, s.nominees[1]]
    shown = [masked_person(str(persons.name[p])) for p in people]
    if shown[0] == shown[1]:  # courts tell apart two 张某 as 张某甲, 张某乙
        shown = [shown[0] + "甲", shown[1] + "乙"]
    phrase, annual = texts.yield_phrase(rng, s.fmt, s.promised)
    text = texts.fill(
        tpl["criminal"],
        court=court,
        procuratorate=court.replace("法院", "检察院"),
        firm=f.name[s.core],
        person="、".join(shown),
        start=f"{cal.label(max(s.launch, -60))[:4]}年",
        product=s.product,
        yield_=phrase,
        channel=texts.choose(rng, tpl["channels"]),
        n=s.victims,
        amount=texts.amount_phrase(rng, s.raised),
        loss=texts.amount_phrase(rng, s.lost),
        charge=t.charges[0],
    ).replace("{yield}", phrase)
    base = dict(
        case_number=case,
        court=court,
        region_code=region,
        case_type="刑事",
        document_type="判决书",
        procedure="一审",
        cause=list(t.charges[:2]),
        amount=round(s.raised, -2),
        participant_count=s.victims,
        filed_date=days.draw(rng, max(s.police, 0)),
        judgment_date=days.draw(rng, s.judgment),
        title=f"{f.name[s.core]}、{shown[0]}{t.charges[0]}一审刑事判决书",
        text=text,
        _scheme=s.id,
        _kind="scheme",
        _stage="criminal",
        _month=s.judgment,
        _case=case,
        _promised=round(annual, 2),
    )
    out["Judgment"].add(
        party_kind="other",
        party_name=court.replace("法院", "检察院"),
        party_role="公诉机关",
        _firm="",
        **base,
    )
    code = str(f.credit_code[s.core])
    out["Judgment"].add(
        party_id=code,
        party_kind="enterprise",
        party_name=str(f.name[s.core]),
        party_role="被告人",
        _firm=code,
        **base,
    )
    for p, name in zip(people, shown, strict=True):
        out["Judgment"].add(
            party_kind="person",
            party_name=name,
            party_role="被告人",
            _firm="",
            _person=int(p),
            **base,
        )
