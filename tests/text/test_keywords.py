"""Golden table: hand-written snippets → event types tagged by the keyword baseline."""

from __future__ import annotations

import pytest

from fengyan.text.keywords import KeywordTagger

GOLDEN: list[tuple[str, set[str]]] = [
    ("平台负责人失联，公司办公室已人去楼空", {"runaway"}),
    ("多名投资人反映无法提现，客服称系统升级", {"overdue"}),
    ("经侦已立案，相关犯罪嫌疑人被刑事拘留", {"police"}),
    ("某某财富涉嫌非法吸收公众存款，警方已立案侦查", {"ifr", "police"}),
    ("该公司以拉人头、发展下线方式计酬，涉嫌传销", {"mlm"}),
    ("数百名投资人到门店维权，要求追回本金", {"rights"}),
    ("公司发布公告称即日起停止运营并启动清退", {"suspension"}),
    ("产品连续三个月逾期兑付，老人们的养老钱拿不回来", {"overdue"}),
    ("平台被曝自融，借款标的均为虚构项目", {"fraud"}),
    ("公司实际控制人变更为张某，原董事长辞职", {"control_change"}),
    ("子公司银行账户被冻结，涉及资金2亿元", {"account_risk"}),
    ("公司前三季度净利润下降47%，业绩变脸", {"results_decline"}),
    ("联合资信将该公司主体评级下调至aa-，展望负面", {"rating_change"}),
    ("警方查封了公司名下房产三处", {"asset_negative"}),
    ("老板卷款跑路，投资者报警", {"runaway", "rights"}),
    ("交易所就信披违规向公司发出问询函", {"disclosure_violation"}),
    ("公司终止重大资产重组", {"restructuring_failed"}),
    ("公司举办年度客户答谢会，介绍新产品", set()),
]


@pytest.fixture(scope="module")
def tagger() -> KeywordTagger:
    return KeywordTagger()


@pytest.mark.parametrize(("text", "expected"), GOLDEN)
def test_golden_snippets(tagger: KeywordTagger, text: str, expected: set[str]) -> None:
    assert tagger.tag(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "平臺負責人失聯",  # traditional
        "<p>平台负责人<b>失联</b>&nbsp;</p>",  # HTML remnants
        "平台负责人失\u200b联😱😱",  # zero-width space, emoji
        "&lt;div&gt;平台负责人失联&lt;/div&gt;",  # escaped HTML
    ],
)
def test_tagging_survives_noise(tagger: KeywordTagger, text: str) -> None:
    assert tagger.tag(text) == {"runaway"}


@pytest.mark.parametrize("text", ["", None, "   ", "😀🔥", "<br/>"])
def test_empty_and_symbol_only_texts(tagger: KeywordTagger, text: str | None) -> None:
    assert tagger.tag(text) == frozenset()
    assert tagger.feature_hits(text) == []


def test_feature_hits_carry_category_and_sector(tagger: KeywordTagger) -> None:
    hits = tagger.feature_hits("ＸＸ养老项目，保本保息，年化18%，拉人头有奖励，ＮＦＴ数字藏品")
    labels = {(h.term, h.label) for h in hits}
    assert ("养老项目", "sector:pension") in labels
    assert ("保本", "inducement") in labels
    assert ("拉人头", "sociality") in labels
    assert ("nft", "sector:nft") in labels
    assert [h.start for h in hits] == sorted(h.start for h in hits)
