"""Advice is not an event: 请勿逾期 in a licensed lender's ad is no overdue event."""

from __future__ import annotations

from pathlib import Path

import pytest

from fengyan.text.keywords import KeywordTagger
from fengyan.text.lexicon import LexiconError, load_lexicons, load_lexicons_from
from fengyan.text.linking import LexiconScanner
from fengyan.text.normalize import normalize_text

GOLDEN: list[tuple[str, set[str]]] = [
    # Licensed lenders' ads and collection notices (found tagged overdue before the rule).
    ("正规持牌机构，额度最高20万，按时还款可提额，请勿逾期。", set()),
    ("温馨提示：请按时还款，切勿逾期，以免影响个人征信。", set()),
    ("请合理安排资金，避免出现逾期。", set()),
    ("提醒广大市民谨防非法集资，远离高息诱惑。", set()),
    ("防范非法集资宣传月活动启动", set()),
    # Real events stay events, also when advice comes first in the same text.
    ("产品已逾期三个月，投资人上门讨要本金", {"overdue"}),
    ("平台曾提醒请勿逾期，如今自己却逾期兑付，投资人维权", {"overdue", "rights"}),
    ("某某公司涉嫌非法集资被立案", {"ifr", "police"}),
    # A blocker far from the trigger does not block it.
    ("客服说不要着急，可产品已经逾期半年", {"overdue"}),
]


@pytest.mark.parametrize(("text", "expected"), GOLDEN)
def test_blockers_in_keyword_tagging(text: str, expected: set[str]) -> None:
    assert KeywordTagger().tag(text) == expected


@pytest.mark.parametrize(("text", "expected"), GOLDEN)
def test_scanner_agrees_with_the_tagger(text: str, expected: set[str]) -> None:
    tagger = KeywordTagger()
    events, features = LexiconScanner().scan(normalize_text(text))
    assert events == tagger.event_hits(text)
    assert features == tagger.feature_hits(text)
    assert {h.label for h in events if h.weight >= 0.5} == expected


def test_the_later_unblocked_occurrence_is_the_evidence() -> None:
    text = "请勿逾期。该产品已逾期"
    (hit,) = [h for h in KeywordTagger().event_hits(text) if h.term == "逾期"]
    assert hit.start == text.rindex("逾期")


def test_blockers_are_data() -> None:
    lex = load_lexicons()
    assert "勿" in lex.blockers.words and lex.blockers.window == 2


def test_bad_blocker_is_rejected(tmp_path: Path) -> None:
    import fengyan.text

    src = Path(fengyan.text.__file__).parent / "lexicons"
    for f in src.glob("*.yaml"):
        (tmp_path / f.name).write_text(f.read_text("utf-8"), "utf-8")
    path = tmp_path / "event_words.yaml"
    path.write_text(path.read_text("utf-8").replace("words: [勿,", "words: [請勿, 勿,"), "utf-8")
    with pytest.raises(LexiconError, match=r"blockers.*normalised form"):
        load_lexicons_from(tmp_path)
