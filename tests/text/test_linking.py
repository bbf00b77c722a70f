"""Mention linking on hand-built firms: surfaces, full names, disambiguation, lexicon scan."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from fengyan.text.keywords import KeywordTagger
from fengyan.text.linking import (
    OPEN_DAY,
    FirmFacts,
    LexiconScanner,
    Linker,
    build_dictionary,
    frequent_suffixes,
    normalize_many,
    short_surfaces,
)
from fengyan.text.normalize import normalize_text
from fengyan.text.service import load_settings

SETTINGS = load_settings().linking

# firm index, name, kind; region, finance-like, established (days since 1970)
FIRMS = [
    (0, "深圳市前海鹏润财富管理有限公司", "current", "440305001", True),
    (1, "深圳市鹏润贸易有限公司", "current", "440307002", False),
    (2, "华泰（深圳）科技有限公司", "current", "440304003", False),
    (3, "深圳市光明科技有限公司", "current", "440311001", False),
    (4, "深圳市瑞融信息咨询有限公司", "current", "440311002", True),
    (4, "深圳市瑞丰信息咨询有限公司", "former", "440311002", True),
    (4, "深圳市瑞融信息咨询有限公司南山分公司", "branch", "440311002", True),
    (5, "深圳市abc电子有限公司", "current", "440306001", False),
    (6, "深圳市新锐贸易有限公司", "current", "440306001", False),
]


@pytest.fixture(scope="module")
def linker() -> Linker:
    firm = [f[0] for f in FIRMS]
    names = [f[1] for f in FIRMS]
    kinds = [f[2] for f in FIRMS]
    d = build_dictionary(firm, names, kinds, SETTINGS)
    per_firm = {f[0]: f for f in FIRMS if f[2] == "current"}
    n = len(per_firm)
    facts = FirmFacts(
        ids=[f"ent:{i}" for i in range(n)],
        region=[per_firm[i][3] for i in range(n)],
        operating_region=[""] * n,
        established=np.full(n, 0, dtype=np.int64),
        closed=np.full(n, OPEN_DAY, dtype=np.int64),
        finance=np.array([per_firm[i][4] for i in range(n)]),
    )
    return Linker(d, facts, SETTINGS)


def _links(linker: Linker, text: str, **kw: object) -> list[tuple[int, str, str]]:
    norm = normalize_text(text)
    found = linker.link(norm, **kw)  # type: ignore[arg-type]
    for m in found:
        assert norm[m.start : m.end] == m.surface  # offsets index the normalised text
        assert 0 < m.confidence <= 1
    return [(m.firm, m.surface, m.method) for m in found]


@pytest.mark.parametrize(
    ("core", "expected"),
    [
        ("前海鹏润财富管理", ["鹏润财富管理", "鹏润财富", "鹏润"]),
        ("鹏润科技", ["鹏润科技", "鹏润"]),
        ("华健金融信息服务", ["华健金融信息服务", "华健金融信息", "华健金融", "华健"]),
        ("鹏润", ["鹏润"]),  # nothing left to take off
        ("鸿科技", ["鸿科技"]),  # one Han character would remain
    ],
)
def test_short_surfaces(core: str, expected: list[str]) -> None:
    suffixes = frequent_suffixes([], SETTINGS)
    assert short_surfaces(core, suffixes, SETTINGS) == expected


def test_frequent_core_endings_become_industry_words() -> None:
    cores = [f"{b}云链" for b in ("鹏润", "华健", "瑞融", "新锐", "光迪")]
    assert "云链" in frequent_suffixes(cores, SETTINGS)
    assert "云链" not in frequent_suffixes(cores[:4], SETTINGS)  # below suffix_min_firms


def test_normalize_many_matches_one_by_one() -> None:
    names = ["深圳市鵬潤科技有限公司", "ＡＢＣ（深圳）有限公司", "", "a  b"]
    assert normalize_many(names) == [normalize_text(n) for n in names]


def test_full_names_in_every_written_form(linker: Linker) -> None:
    assert _links(linker, "深圳市前海鹏润财富管理有限公司推出新产品") == [
        (0, "深圳市前海鹏润财富管理有限公司", "full_name")
    ]
    # Traditional script and full-width brackets are normalised first.
    assert _links(linker, "華泰（深圳）科技有限公司成立") == [
        (2, "华泰(深圳)科技有限公司", "full_name")
    ]
    assert _links(linker, "深圳市瑞丰信息咨询有限公司更名") == [
        (4, "深圳市瑞丰信息咨询有限公司", "former_name")
    ]
    # A branch name links to its parent firm.
    assert _links(linker, "深圳市瑞融信息咨询有限公司南山分公司开业") == [
        (4, "深圳市瑞融信息咨询有限公司南山分公司", "full_name")
    ]


def test_short_names_and_brands(linker: Linker) -> None:
    assert _links(linker, "鹏润贸易招聘销售") == [(1, "鹏润贸易", "short_name")]
    assert _links(linker, "鹏润财富推出理财产品") == [(0, "鹏润财富", "short_name")]
    # A brand alone needs support: here the firm word after it (瑞融公司).
    assert _links(linker, "瑞融公司老板失联") == [(4, "瑞融", "brand")]
    assert _links(linker, "瑞融发布通知") == []


def test_shared_brand_is_disambiguated_by_context(linker: Linker) -> None:
    # 鹏润 is the brand of firm 0 (finance, Nanshan) and firm 1 (trade, Longgang).
    assert _links(linker, "鹏润公司承诺年化18%，保本保息") == [(0, "鹏润", "brand")]
    assert _links(linker, "龙岗区鹏润公司贸易业务扩张") == [(1, "鹏润", "brand")]
    # Nothing tells them apart: nothing is recorded.
    assert _links(linker, "鹏润公司举办年会") == []
    # A full-name mention elsewhere in the document decides the short one.
    got = _links(linker, "深圳市鹏润贸易有限公司成立十年。鹏润公司举办年会")
    assert got == [(1, "深圳市鹏润贸易有限公司", "full_name"), (1, "鹏润", "brand")]
    # So do the document's own keys (credit code, resolution).
    assert _links(linker, "鹏润公司举办年会", known=[1]) == [(1, "鹏润", "brand")]


def test_status_at_publication(linker: Linker) -> None:
    facts = linker.firms
    est = facts.established.copy()
    est[0] = (date(2030, 1, 1) - date(1970, 1, 1)).days
    later = Linker(
        linker.d,
        FirmFacts(
            facts.ids, facts.region, facts.operating_region, est, facts.closed, facts.finance
        ),
        SETTINGS,
    )
    # Firm 0 did not exist yet in 2025, so the finance context no longer decides for it.
    text = "鹏润公司承诺年化18%，保本保息"
    assert _links(later, text, published=date(2025, 1, 1)) == [(1, "鹏润", "brand")]


def test_generic_and_region_words_are_not_surfaces(linker: Linker) -> None:
    # 光明 is a district (光明区), 科技 an industry word: 深圳市光明科技 is found only in full
    # or as 光明科技, never from 光明 or 科技 alone.
    assert _links(linker, "光明区的科技企业") == []
    assert _links(linker, "光明科技发布新品") == [(3, "光明科技", "short_name")]
    assert _links(linker, "深圳市光明科技有限公司") == [(3, "深圳市光明科技有限公司", "full_name")]


def test_latin_surfaces_respect_word_boundaries(linker: Linker) -> None:
    assert _links(linker, "ABC电子新品上市") == [(5, "abc电子", "short_name")]
    assert _links(linker, "xabc电子") == []


def test_empty_text(linker: Linker) -> None:
    assert linker.link("") == []


def test_bad_name_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown name kinds"):
        build_dictionary([0], ["深圳市鹏润科技有限公司"], ["alias"], SETTINGS)


TEXTS = [
    "某平台承诺年化收益18%，保本保息，老板已失联跑路，投资人报警，经侦介入。",
    "公司涉嫌非法吸收公众存款，多名投资者维权，提现困难，逾期兑付。",
    "養老公寓床位認購，高額返利，拉人頭獎勵，區塊鏈數字藏品",
    "",
    "完全无关的天气预报：明天晴。",
]


def test_lexicon_scanner_gives_the_keyword_taggers_hits() -> None:
    tagger = KeywordTagger()
    scanner = LexiconScanner()
    lex_terms = [h for h in scanner.terms]
    texts = [*TEXTS, "；".join(lex_terms[:60]), "".join(lex_terms[60:120])]
    for text in texts:
        norm = normalize_text(text)
        events, features = scanner.scan(norm)
        assert events == tagger.event_hits(text)
        assert features == tagger.feature_hits(text)
    assert scanner.scan(normalize_text(TEXTS[0]))[0]  # the texts do hit the lexicon
