"""The trained model on real CCKS data: beats the keyword baseline; robust; saves and loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from fengyan.text.ccks import Labelled, load_ccks, stratified_split
from fengyan.text.events import ModelError, evaluate, load_model, train
from fengyan.text.metrics import score
from tests.conftest import SHARED_DATA
from tests.text.conftest import TOY

CCKS = SHARED_DATA / "ccks2019-fin-events" / "train.csv"
needs_ccks = pytest.mark.skipif(
    not CCKS.exists(),
    reason=f"CCKS 2019 data not found at {CCKS} (set FENGYAN_SHARED_DATA): real-data test skipped",
)


@pytest.fixture(scope="module")
def split() -> tuple[list[Labelled], list[Labelled]]:
    return stratified_split(load_ccks(CCKS))


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


def test_hybrid_model_uses_keywords_and_round_trips(tmp_path: Path) -> None:
    texts = [d.text for d in TOY] * 3
    labels = [d.events for d in TOY] * 3
    model = train(texts, labels, c=1.0, hybrid=True, tune_thresholds=True, folds=3)
    assert model.name == "events-hybrid-v2"
    assert model.thresholds is not None and len(model.thresholds) == len(model.events)
    # 人去楼空 never occurs in the toy texts: only the lexicon feature knows it means runaway
    assert "runaway" in model.predict(["公司人去楼空"])[0]
    loaded = load_model(model.save(tmp_path / "h.joblib"))
    assert loaded.thresholds == model.thresholds
    assert loaded.predict(["平台老板失联跑路"]) == model.predict(["平台老板失联跑路"])


def test_thresholds_are_f1_best_and_nearest_zero_on_ties() -> None:
    import numpy as np

    from fengyan.text.events import _best_thresholds

    margins = np.array([[0.9], [0.3], [-0.2], [-0.6], [0.1]])
    y = np.array([[1], [1], [1], [0], [0]])
    grid = np.round(np.arange(-0.8, 0.81, 0.05), 2)
    # cuts in [-0.6, -0.2) catch all three positives and one negative (F1 6/7); nearest 0: -0.25
    assert _best_thresholds(margins, y, grid) == (-0.25,)
    assert _best_thresholds(margins[:2], y[:2] * 0, grid) == (0.0,)  # < 3 positives


@needs_ccks
@pytest.mark.slow
def test_models_beat_keywords_and_hybrid_beats_plain_on_rare_types(
    split: tuple[list[Labelled], list[Labelled]],
) -> None:
    """On held-out real CCKS texts. A subsample keeps the test fast; the full run is
    benchmarks/bench_text_events.py."""
    train_set, test_set = split
    sub = train_set[:5000]
    texts, labels = [d.text for d in sub], [d.events for d in sub]
    gold = [d.events for d in test_set]
    plain = train(texts, labels, max_features=30_000)
    hybrid = train(texts, labels, max_features=30_000, hybrid=True, tune_thresholds=True, folds=2)
    rare = ("runaway", "suspension", "overdue", "rights")
    p = score(gold, plain.predict([d.text for d in test_set]), plain.events).by_event()
    h = score(gold, hybrid.predict([d.text for d in test_set]), hybrid.events).by_event()
    assert sum(h[e].f1 for e in rare if e in h) > sum(p[e].f1 for e in rare if e in p) + 0.2
    cmp = evaluate(plain, [d.text for d in test_set], gold)
    assert cmp.model.macro_f1 > cmp.baseline.macro_f1 + 0.1
    assert cmp.model.by_event()["ifr"].f1 > 0.6
