"""Ad-compliance rules: golden ads → the rules they break, with basis and span."""

from __future__ import annotations

import csv
import re
from importlib import resources
from pathlib import Path

import pytest

from fengyan.text.ads import check_ad, load_ad_rules, load_ad_rules_from
from fengyan.text.lexicon import LexiconError
from fengyan.text.simdata import SimText
from tests.conftest import SHARED_DATA

# ad text, licences held (None = unknown), {(rule id, span)} expected exactly
GOLDEN: list[tuple[str, frozenset[str] | None, set[tuple[str, str]]]] = [
    (
        "融达数字藏品4.6倍返还，本金100%安全。",
        None,
        {("AD_PROMISED_RETURN", "4.6倍返还"), ("AD_NO_RISK_WARNING", "4.6倍返还"),
         ("AD_GUARANTEED_PRINCIPAL", "本金100%安全")},
    ),
    (
        "国家重点扶持项目开放申报，年化36%，投资有风险。",
        None,
        {("AD_GOVERNMENT_BACKING", "国家重点扶持"), ("AD_PROMISED_RETURN", "年化36%")},
    ),
    ("经国家发改委批准，专家推荐的好项目", None,
     {("AD_STATE_ORGAN_NAME", "国家发改委"), ("AD_ENDORSEMENT", "专家推荐")}),
    ("银行级风控，零风险，央企控股", None,
     {("AD_IMPLIED_GUARANTEE", "银行级风控"), ("AD_GUARANTEED_PRINCIPAL", "零风险"),
      ("AD_NO_RISK_WARNING", "零风险"), ("AD_GOVERNMENT_BACKING", "央企控股")}),
    ("内部原始股限时认购", None, {("AD_FUNDRAISING_AD", "原始股"), ("AD_FUNDRAISING_AD", "限时认购")}),  # noqa: E501
    ("全国最佳理财平台", None, {("AD_SUPERLATIVE", "最佳")}),
    ("本产品不保本，投资有风险，谨慎投资。", None, set()),
    ("谨防以国家项目为名的骗局", None, set()),
    ("通泽贸易新品上市，欢迎新老客户选购，咨询电话15371832490。", frozenset(), set()),
    # licence rule: only when the advertiser's licences are known
    ("提供合规小额贷款服务，年化利率10.2%起，持牌经营，理性借贷。", None, set()),
    ("提供合规小额贷款服务，年化利率10.2%起，持牌经营，理性借贷。", frozenset({"小额贷款"}), set()),
    ("提供合规小额贷款服务，年化利率10.2%起，持牌经营，理性借贷。", frozenset(), {("AD_LICENCE_ABSENT", "贷款")}),  # noqa: E501
    ("现货黄金T+0双向交易，专业老师一对一带单！", frozenset({"典当"}),
     {("AD_LICENCE_ABSENT", "现货黄金"), ("AD_LICENCE_ABSENT", "带单")}),
    ("私募精选，合格投资者认证只需填表", frozenset({"私募基金管理人登记"}), set()),
]  # fmt: skip


@pytest.mark.parametrize(("text", "licences", "expected"), GOLDEN)
def test_golden_ads(
    text: str, licences: frozenset[str] | None, expected: set[tuple[str, str]]
) -> None:
    got = check_ad(text, licences=licences)
    assert {(v.rule_id, v.span) for v in got} == expected
    for v in got:
        assert text[v.start : v.end] == v.span
        assert 0 < v.severity <= 1 and v.basis


def test_basis_cites_the_statute_and_severity_grows_with_the_rate() -> None:
    (low,) = [v for v in check_ad("年化5%，投资有风险") if v.rule_id == "AD_PROMISED_RETURN"]
    (high,) = [v for v in check_ad("年化36%，投资有风险") if v.rule_id == "AD_PROMISED_RETURN"]
    assert low.basis == high.basis == "广告法第二十五条第一款第（一）项"
    assert low.severity < high.severity == 1.0
    (lic,) = check_ad("高息揽储，欢迎存款", licences=frozenset({"小额贷款"}))
    assert lic.basis == "商业银行法第十一条第二款" and lic.severity == 0.9


@pytest.mark.skipif(
    not (SHARED_DATA / "law-articles").exists(), reason="shared law-articles absent"
)
def test_verified_bases_quote_the_statute_text() -> None:
    """Every basis marked verified quotes words that occur in the statute's article."""
    articles: dict[str, str] = {}
    with (SHARED_DATA / "law-articles" / "articles_subset.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            short = row["law_name"].removeprefix("中华人民共和国")
            articles[short + row["article_no"]] = row["article_text"]
    for key, basis in load_ad_rules().spec.bases.items():
        if not basis.verified:
            assert "[verify]" in basis.cite, key
            continue
        article = re.match(r"(.+?第[一二三四五六七八九十百]+条)", basis.cite)
        assert article, key
        body = articles[article.group(1)]
        quoted = [
            q for q in re.split(r"……|—|\(|（[一二三四五六七八九十]+）", basis.text) if len(q) > 6
        ]
        assert any(q.strip("，。：") in body for q in quoted), key


def test_simulated_scheme_ads_break_rules_and_lawful_ads_do_not(sim_texts: list[SimText]) -> None:
    ads = [t for t in sim_texts if t.file.startswith("ads/")]
    scheme = [t for t in ads if t.kind == "scheme" and t.typology != "lending"]
    lawful = [t for t in ads if t.kind == "lawful"]
    assert scheme and lawful
    flagged = sum(bool(check_ad(t.body)) for t in scheme) / len(scheme)
    false = sum(bool(check_ad(t.body)) for t in lawful) / len(lawful)
    assert flagged > 0.95
    assert false < 0.05


def _rules(tmp_path: Path, old: str, new: str) -> Path:
    text = resources.files("fengyan.text").joinpath("lexicons", "ad_rules.yaml").read_text("utf-8")
    assert old in text
    path = tmp_path / "ad_rules.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("licence_types: [典当]", "licence_types: [当铺]", "licence types ['当铺'] are not in the Licence schema"),  # noqa: E501
        ("    basis: [ad-law-9-3]", "    basis: [ad-law-99]", "unknown basis 'ad-law-99'"),
        ("cite: 防范和处置非法集资条例第十一条 [verify]", "cite: 防范和处置非法集资条例第十一条", "[verify]"),  # noqa: E501
        ("    severity: 0.3\n", "    severity: 3\n", "rule 'AD_SUPERLATIVE'"),
    ],
)  # fmt: skip
def test_bad_rules_are_rejected(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(LexiconError, match=r"ad_rules\.yaml") as err:
        load_ad_rules_from(_rules(tmp_path, old, new))
    assert message in str(err.value)
