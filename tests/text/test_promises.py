"""Promise extraction: a golden table of real-world phrasings, and the simulator's truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from fengyan.text.lexicon import LexiconError
from fengyan.text.numbers import parse_number
from fengyan.text.promises import (
    extract_promises,
    load_promise_rules,
    load_promise_rules_from,
)
from fengyan.text.simdata import SimText, yield_agreement

# phrase → (kind, annual rate or None, amount or None, term days or None) of the first
# promise of that kind. Rates are simple annual rates (0.18 = 18 %).
GOLDEN: list[tuple[str, str, float | None, float | None, int | None]] = [
    ("年化18%", "yield", 0.18, None, None),
    ("预期年化收益率百分之十八", "yield", 0.18, None, None),
    ("年收益率12%-15%", "yield", 0.15, None, None),
    ("年化收益率高达12至15个点", "yield", 0.15, None, None),
    ("年化１８％，当天计息", "yield", 0.18, None, None),
    ("月息2分", "yield", 0.24, None, None),
    ("月息二分，按月付息", "yield", 0.24, None, None),
    ("每月2分利", "yield", 0.24, None, None),
    ("月息3厘", "yield", 0.036, None, None),
    ("年息1分", "yield", 0.10, None, None),
    ("日息千分之三", "yield", 1.095, None, None),
    ("日利率3‰", "yield", 1.095, None, None),
    ("每天收益千分之三", "yield", 1.095, None, None),
    ("日化0.1%", "yield", 0.365, None, None),
    ("每天返利0.5%", "yield", 1.825, None, None),
    ("周收益2%", "yield", 1.04, None, None),
    ("每月返还1.5%", "yield", 0.18, None, None),
    ("月收益1.5个点", "yield", 0.18, None, None),
    ("月回报率百分之二", "yield", 0.24, None, None),
    ("投1万每月返500", "yield", 0.60, 10000.0, None),
    ("投资两千每天返20元", "yield", 3.65, 2000.0, None),
    ("投资10万元，12个月后本息合计12万元", "yield", 0.20, 100000.0, 365),
    ("投一万，一年后连本带利拿回一万五", "yield", 0.50, 10000.0, 365),
    ("一年翻倍", "yield", 1.0, None, 365),
    ("十二个月翻一番", "yield", 1.0, None, 365),
    ("24个月4.6倍收益", "yield", 1.80, None, 730),
    ("期限6个月，到期1.5倍返还", "yield", 1.0, None, 183),
    ("上线即翻倍", "yield", None, None, None),
    ("每日分红，躺赚", "yield", None, None, None),
    ("年化14.4%另加3.6%新手奖励", "yield", 0.18, None, None),
    ("年化11.7%，再送2.9%加息券", "yield", 0.146, None, None),
    ("预期年化14.4%+3.6%", "yield", 0.18, None, None),
    ("收益率高达20%", "yield", 0.20, None, None),
    ("保本保息", "principal", None, None, None),
    ("本金无忧，零风险", "principal", None, None, None),
    ("国家兜底", "principal", None, None, None),
    ("稳赚不赔", "principal", None, None, None),
    ("本金100%安全", "principal", None, None, None),
    ("到期还本付息", "principal", None, None, None),
    ("5万元起投", "min_ticket", None, 50000.0, None),
    ("起投金额1万", "min_ticket", None, 10000.0, None),
    ("最低投资2万元", "min_ticket", None, 20000.0, None),
    ("100元即可参与", "min_ticket", None, 100.0, None),
    ("单笔10万元以上享受VIP收益", "min_ticket", None, 100000.0, None),
    ("两千元起购", "min_ticket", None, 2000.0, None),
    ("期限6个月", "term", None, None, 183),
    ("90天到期", "term", None, None, 90),
    ("一年期理财", "term", None, None, 365),
    ("推荐奖励", "referral", None, None, None),
    ("拉人头有奖励", "referral", None, None, None),
    ("返佣3%", "referral", None, None, None),
    ("发展下线越多赚得越多", "referral", None, None, None),
    ("推荐一人奖励500元，三级分润", "referral", None, 500.0, None),
]


@pytest.mark.parametrize(("text", "kind", "rate", "amount", "days"), GOLDEN)
def test_golden_phrasings(
    text: str, kind: str, rate: float | None, amount: float | None, days: int | None
) -> None:
    found = [p for p in extract_promises(text) if p.kind == kind]
    assert found, f"no {kind} promise in {text!r}: {extract_promises(text)}"
    p = found[0]
    if rate is None:
        assert p.annual_rate is None
    else:
        assert p.annual_rate == pytest.approx(rate, rel=1e-3)
    assert p.amount_yuan == (None if amount is None else pytest.approx(amount))
    assert p.term_days == days
    assert text[p.start : p.end] == p.span


@pytest.mark.parametrize(
    "text",
    [
        "本产品不保本，投资有风险",  # negated
        "谨防“保本保息”类宣传",  # a warning, not a promise
        "提供合规小额贷款服务，年化利率10.2%起，持牌经营，理性借贷。",  # loan cost
        "缺钱找瑞融借，1000-50000元随借随还，日息低至千分之一，黑户也能借。",  # loan cost
        "2024年3月起，公司迁往新址",  # a date, not a ticket or a term
        "最快5分钟到账",  # 分钟 is not 分
        "公司举办年度客户答谢会",
    ],
)
def test_non_promises(text: str) -> None:
    assert [
        p for p in extract_promises(text) if p.kind in ("yield", "principal", "min_ticket")
    ] == []


def test_offsets_refer_to_raw_text() -> None:
    raw = "<p>平臺推出產品，年化１８％，保本保息</p>"
    got = {p.kind: p for p in extract_promises(raw)}
    assert got["yield"].span == "年化１８％" and got["yield"].annual_rate == pytest.approx(0.18)
    assert raw[got["principal"].start : got["principal"].end] == "保本保息"


@pytest.mark.parametrize(
    ("text", "value"),
    [("18", 18), ("1,200,000", 1.2e6), ("1.5万", 1.5e4), ("一万", 1e4), ("两千", 2000),
     ("两千五", 2500), ("十五", 15), ("三百余万", 3e6), ("一百零八", 108), ("1.2亿", 1.2e8),
     ("一万五", 15000), ("二点五", 2.5)],
)  # fmt: skip
def test_parse_number(text: str, value: float) -> None:
    assert parse_number(text) == pytest.approx(value)


def test_parse_number_rejects_words() -> None:
    assert parse_number("年化") is None
    assert parse_number("") is None


def test_every_pattern_has_a_golden_example() -> None:
    # The loader checks each pattern against its own example; the golden table must also
    # exercise every kind.
    kinds = {p.kind for p, _ in load_promise_rules().compiled}
    assert kinds == {k for _, k, *_ in GOLDEN}


def _rules_file(tmp_path: Path, old: str, new: str) -> Path:
    from importlib import resources

    text = resources.files("fengyan.text").joinpath("lexicons", "promises.yaml").read_text("utf-8")
    assert old in text
    path = tmp_path / "promises.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("    example: 月息2分\n", "    example: 月利润\n", "'yield_monthly' does not match its example"),  # noqa: E501
        ("  - id: yield_weekly\n    kind: yield\n", "  - id: yield_weekly\n    kind: gift\n", "kind"),  # noqa: E501
        ("{GAP}){0,4}?(?P<rate>{RANGE})'\n    example: 月息2分", "{NOPE}'\n    example: 月息2分",
         "unknown macro {NOPE}"),
        ("  - id: yield_weekly\n", "  - id: yield_monthly\n", "'yield_monthly' is listed twice"),
    ],
)  # fmt: skip
def test_bad_rules_are_rejected(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(LexiconError, match=r"promises\.yaml") as err:
        load_promise_rules_from(_rules_file(tmp_path, old, new))
    assert message in str(err.value)


def test_simulated_texts_state_rates_that_are_extracted(sim_texts: list[SimText]) -> None:
    """Against the simulator's truth: no wrong rate; every rate written as a rate is found.

    Texts that state no rate by design — a multiple without a term (1.5倍返还), lending
    ads whose scheme truth is a rate they never print — can only be missing, never wrong.
    """
    groups = yield_agreement(sim_texts)
    assert {"annual", "monthly_fen", "daily_pct", "multiple", "bonus", "licensed"} <= set(groups)
    for fmt in ("annual", "daily_pct", "bonus"):
        assert groups[fmt].share_correct == 1.0, fmt
    assert sum(g.wrong for g in groups.values()) == 0
    # licensed lenders' ads state a loan cost, which is not a promised yield
    assert groups["licensed"].share_correct == 1.0
    scheme = [g for k, g in groups.items() if k != "licensed"]
    assert sum(g.correct for g in scheme) / sum(g.total for g in scheme) > 0.6
