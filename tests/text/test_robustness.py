"""Every text function on what real text contains: full-width, traditional, emoji, HTML,
mixed Chinese and English, empty, None and a 1 MB article."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fengyan.text.ads import check_ad
from fengyan.text.keywords import KeywordTagger
from fengyan.text.normalize import fold_aligned, normalize_text
from fengyan.text.promises import extract_promises
from fengyan.text.sentiment import sentiment, sentiment_toward

AD = "某某财富推出稳盈宝，年化18%，保本保息，5万元起投，国家发改委批准，拉人头有奖励。"
# The same ad as scraped: full-width, traditional, emoji, HTML, zero-width, English.
NOISY = [
    "某某財富推出穩盈寶，年化１８％，保本保息，５萬元起投，國家發改委批准，拉人頭有獎勵。",
    "<div class='ad'>某某财富推出<b>稳盈宝</b>，年化18%，保本保息，5万元起投，国家发改委批准，拉人头有奖励。</div>",  # noqa: E501
    "🔥🔥某某财富推出稳盈宝💰，年化18%，保本\u200b保息，5万元起投，国家发改委批准，拉人头有奖励。",
    "WenYing Bao by Mou Wealth: 年化18% APY!! 保本保息, min 5万元起投, 国家发改委批准, 拉人头有奖励.",  # noqa: E501
]


def _summary(text: str) -> tuple[object, ...]:
    promises = {(p.kind, p.annual_rate, p.amount_yuan) for p in extract_promises(text)}
    rules = {v.rule_id for v in check_ad(text)}
    return (frozenset(promises), frozenset(rules))


@pytest.mark.parametrize("text", NOISY)
def test_noisy_copies_give_the_same_facts(text: str) -> None:
    assert _summary(text) == _summary(AD)
    for p in extract_promises(text):
        assert text[p.start : p.end] == p.span
    for v in check_ad(text):
        assert text[v.start : v.end] == v.span


@pytest.mark.parametrize(
    "text", ["", None, "   ", "😀🔥", "<br/>", "&nbsp;", "\u200b", "abc", "%%%"]
)
def test_empty_and_symbol_only(text: str | None) -> None:
    assert extract_promises(text) == []
    assert check_ad(text, licences=frozenset()) == []
    assert sentiment(text) == ("neutral", 0.0)
    assert sentiment_toward(text, [(0, 1)]) == [("neutral", 0.0)]
    assert sentiment_toward(text, []) == []
    assert KeywordTagger().tag(text) == frozenset()
    assert len(fold_aligned(text)) == len(text or "")


def test_spans_outside_the_text_are_clipped() -> None:
    assert sentiment_toward("股价跌停", [(10, 20), (-5, 2)])[1][0] == "negative"


def test_fold_keeps_offsets_and_matches_normalisation() -> None:
    raw = "<p>平臺ＡＢＣ年化１８％</p>"
    folded = fold_aligned(raw)
    assert len(folded) == len(raw)
    assert normalize_text(folded) == normalize_text(raw)


@pytest.mark.slow
def test_one_megabyte_article_is_processed_quickly() -> None:
    filler = "公司召开年度股东大会，审议通过多项议案。" * 2000
    text = (filler + AD) * 12  # ≈ 1 MB of UTF-8
    assert len(text.encode("utf-8")) > 1_000_000
    t0 = time.perf_counter()
    promises = extract_promises(text)
    violations = check_ad(text)
    label, _ = sentiment(text)
    toward = sentiment_toward(text, [(0, 2), (len(text) - 3, len(text))])
    elapsed = time.perf_counter() - t0
    assert sum(p.kind == "yield" for p in promises) == 12
    assert sum(v.rule_id == "AD_GUARANTEED_PRINCIPAL" for v in violations) == 12
    assert label in ("negative", "neutral", "positive") and len(toward) == 2
    assert elapsed < 20  # measured ≈ 2 s on one loaded core


def _reference_normalize(text: str | None) -> str:
    """The step-by-step normalisation the fast paths of normalize_text must equal."""
    import html
    import re

    from fengyan.standards.text import to_halfwidth
    from fengyan.text.normalize import _t2s

    if not text:
        return ""
    tag = re.compile(r"<[^>]{0,500}>")
    out = html.unescape(html.unescape(tag.sub(" ", text)))
    out = tag.sub(" ", out)
    invisible = dict.fromkeys([0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, *range(0xFE00, 0xFE10)])
    lower = {c: c + 32 for c in range(65, 91)}
    out = to_halfwidth(out).translate(invisible).translate(lower)
    return re.sub(r"\s+", " ", _t2s().convert(out)).strip()


_NOISY_CHARS = "鵬潤科技ＡＢｃ１２　 \u200b\ufe0f<b>&amp;nbsp;ABCxyz😀\n\t理财年化"


@given(st.text(alphabet=st.sampled_from(list(_NOISY_CHARS)), max_size=60))
@settings(max_examples=300, deadline=None)
def test_normalize_fast_paths_equal_the_reference(text: str) -> None:
    assert normalize_text(text) == _reference_normalize(text)
    folded = fold_aligned(text)
    assert len(folded) == len(text)


def test_long_text_fold_equals_the_short_path() -> None:
    # Above 20,000 characters the fold goes through a NumPy lookup array instead.
    piece = "<p>平臺ＡＢＣ年化１８％\u200b😀</p>&amp;nbsp;鵬潤 "
    text = piece * 2000
    assert normalize_text(text) == _reference_normalize(text)
    assert fold_aligned(text) == "".join(fold_aligned(piece) for _ in range(2000))
