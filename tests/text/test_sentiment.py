"""Lexicon sentiment: golden sentences, per-mention windows, and the real CFSC test set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fengyan.text.lexicon import LexiconError
from fengyan.text.sentiment import (
    build_extension,
    load_sentiment_lexicon,
    sentiment,
    sentiment_toward,
)
from tests.conftest import SHARED_DATA

CFSC = SHARED_DATA / "cfsc-fin-sentiment" / "cfsc_absa_test.json"
LEXICONS = SHARED_DATA / "fin-sentiment-lexicons"

GOLDEN = [
    ("公司前三季度净利润同比增长35%，业绩超预期", "positive"),
    ("平台老板跑路，投资人无法提现", "negative"),
    ("公司股价跌停，市值蒸发百亿", "negative"),
    ("公司召开年度股东大会", "neutral"),
    ("公司业绩未能扭亏", "negative"),  # negated positive
    ("公司否认资金链断裂传闻", "positive"),  # negated negative
    ("股价小幅回落", "negative"),
    ("<p>公司業績大幅增長</p>", "positive"),  # HTML, traditional
]


@pytest.mark.parametrize(("text", "label"), GOLDEN)
def test_golden_sentences(text: str, label: str) -> None:
    got, score = sentiment(text)
    assert got == label
    assert -1 <= score <= 1


def test_degree_words_strengthen() -> None:
    assert (
        sentiment("股价大幅下跌")[1] < sentiment("股价下跌")[1] < sentiment("股价小幅下跌")[1] < 0
    )


def test_toward_each_mention_uses_its_clause() -> None:
    text = "甲公司涨停，乙公司跌停；丙公司召开股东大会。"
    spans = [(0, 3), (6, 9), (12, 15)]
    labels = [label for label, _ in sentiment_toward(text, spans)]
    # 丙: no term in its clause or sentence, so the window decides, where 涨停 and 跌停 cancel
    assert labels == ["positive", "negative", "neutral"]


def test_terms_inside_the_mention_do_not_count() -> None:
    ((label, _),) = sentiment_toward("盈利宝召开发布会", [(0, 3)])
    assert label == "neutral"


def test_bad_lexicon_is_rejected(tmp_path: Path) -> None:
    from importlib import resources

    text = resources.files("fengyan.text").joinpath("lexicons", "sentiment.yaml").read_text("utf-8")
    (tmp_path / "s.yaml").write_text(text.replace("  上涨: 1.0\n", "  上涨: 1.0\n  下跌: 0.5\n", 1))
    with pytest.raises(LexiconError, match=r"sentiment\.yaml: .*下跌"):
        load_sentiment_lexicon(tmp_path / "s.yaml")
    (tmp_path / "x.json").write_text(json.dumps({"name": "other"}))
    with pytest.raises(LexiconError, match="not a sentiment-lexicon-v1 file"):
        load_sentiment_lexicon(extension=tmp_path / "x.json")


@pytest.mark.skipif(not LEXICONS.exists(), reason=f"{LEXICONS} absent: extension not built")
def test_extension_builds_from_the_cntext_dictionaries(tmp_path: Path) -> None:
    path = build_extension(LEXICONS, tmp_path / "ext.json")
    lex = load_sentiment_lexicon(extension=path)
    assert len(lex.weights) > 5000
    assert lex.weights["跌停"] == -1.0  # the core wins over the extension


@pytest.mark.skipif(not CFSC.exists(), reason=f"CFSC data not found at {CFSC}")
def test_entity_sentiment_on_real_cfsc_data() -> None:
    """Per-entity polarity on CFSC-ABSA (8,312 aspects): accuracy and macro-F1 floors.

    Measured 0.796 / 0.743 (benchmarks/bench_text_extract.py); a regression below the
    floors means the lexicon or the windowing broke.
    """
    rows = json.loads(CFSC.read_text(encoding="utf-8"))[::4]
    pred = [sentiment_toward(r["sentence"], [(r["from"], r["to"])])[0][0] for r in rows]
    gold = [r["polarity"] for r in rows]
    acc = sum(p == g for p, g in zip(pred, gold, strict=True)) / len(rows)
    f1 = []
    for c in ("negative", "neutral", "positive"):
        tp = sum(p == g == c for p, g in zip(pred, gold, strict=True))
        prec = tp / max(1, sum(p == c for p in pred))
        rec = tp / max(1, sum(g == c for g in gold))
        f1.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    assert acc > 0.75
    assert sum(f1) / 3 > 0.68
