"""The trained model on real CCKS data: beats the keyword baseline; robust; saves and loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from fengyan.text.ccks import Labelled, load_ccks, stratified_split
from fengyan.text.events import ModelError, evaluate, load_model, train
from fengyan.text.metrics import score
from tests.conftest import SHARED_DATA

CCKS = SHARED_DATA / "ccks2019-fin-events" / "train.csv"
needs_ccks = pytest.mark.skipif(
    not CCKS.exists(),
    reason=f"CCKS 2019 data not found at {CCKS} (set FENGYAN_SHARED_DATA): real-data test skipped",
)

TOY: list[Labelled] = [
    Labelled(t, frozenset(e))
    for t, e in [
        ("平台老板跑路失联", {"runaway"}),
        ("公司负责人失联跑路", {"runaway"}),
        ("投资人无法提现", {"overdue"}),
        ("逾期兑付，提现困难", {"overdue"}),
        ("涉嫌非法吸收公众存款", {"ifr"}),
        ("涉嫌非法集资被查", {"ifr"}),
        ("公司举办客户答谢会", set()),
        ("新项目签约落地", set()),
    ]
]


@pytest.fixture(scope="module")
def split() -> tuple[list[Labelled], list[Labelled]]:
    return stratified_split(load_ccks(CCKS))


@needs_ccks
@pytest.mark.slow
def test_model_beats_keyword_baseline_on_held_out_real_data(
    split: tuple[list[Labelled], list[Labelled]],
) -> None:
    train_set, test_set = split
    # A subsample keeps the test fast; the full run is benchmarks/bench_text_events.py.
    sub = train_set[:5000]
    model = train([d.text for d in sub], [d.events for d in sub], max_features=60_000)
    cmp = evaluate(model, [d.text for d in test_set], [d.events for d in test_set])
    assert cmp.model.macro_f1 > cmp.baseline.macro_f1 + 0.1
    assert cmp.model.by_event()["ifr"].f1 > 0.6


@needs_ccks
def test_ccks_is_grouped_by_text_and_split_is_stratified(
    split: tuple[list[Labelled], list[Labelled]],
) -> None:
    train_set, test_set = split
    assert not {d.text for d in train_set} & {d.text for d in test_set}
    for ev in ("ifr", "mlm", "runaway", "suspension", "overdue"):
        n_test = sum(ev in d.events for d in test_set)
        n_all = n_test + sum(ev in d.events for d in train_set)
        assert abs(n_test / n_all - 0.2) < 0.1, ev


@pytest.fixture(scope="module")
def toy_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = train([d.text for d in TOY], [d.events for d in TOY], c=1.0)
    return model.save(tmp_path_factory.mktemp("m") / "events.joblib")


def test_save_load_round_trip(toy_model_path: Path) -> None:
    model = load_model(toy_model_path)
    assert model.events == ("ifr", "overdue", "runaway")
    assert "runaway" in model.predict(["平台老板失联跑路"])[0]


@pytest.mark.parametrize(
    "text", ["", "😀🔥", "<p>&nbsp;</p>", "平臺老闆跑路失聯", "ＡＢＣ１２３", "a" * 5000]
)
def test_predict_is_robust_to_odd_input(toy_model_path: Path, text: str) -> None:
    (labels,) = load_model(toy_model_path).predict([text])
    assert labels <= {"ifr", "overdue", "runaway"}


def test_traditional_and_fullwidth_predict_like_simplified(toy_model_path: Path) -> None:
    model = load_model(toy_model_path)
    a, b = model.decision(["平台老板失联跑路", "<b>平臺老闆失聯跑路</b>"])
    assert a == pytest.approx(b)


def test_missing_or_foreign_artefact_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="build it with"):
        load_model(tmp_path / "absent.joblib")
    import joblib

    joblib.dump({"name": "other"}, tmp_path / "x.joblib")
    with pytest.raises(ModelError, match="not a events-tfidf-v1"):
        load_model(tmp_path / "x.joblib")


def test_score_counts() -> None:
    gold = [frozenset({"a"}), frozenset({"a", "b"}), frozenset()]
    pred = [frozenset({"a"}), frozenset({"b"}), frozenset({"a"})]
    rep = score(gold, pred, ["a", "b", "c"]).by_event()
    assert (rep["a"].precision, rep["a"].recall) == (0.5, 0.5)
    assert rep["b"].f1 == 1.0
    assert score(gold, pred, ["a", "b", "c"]).macro_f1 == pytest.approx(0.75)
