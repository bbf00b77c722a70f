"""Simulated texts as extra training data for the event model: labels in the model's label
space, in every fit's training part, never scored and never in the real test split."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from fengyan.simulate.params import load_params
from fengyan.simulate.service import simulate
from fengyan.text import events as events_mod
from fengyan.text.__main__ import main as build_main
from fengyan.text.ccks import Labelled, load_ccks, stratified_split
from fengyan.text.events import load_model, train
from fengyan.text.lexicon import load_lexicons
from fengyan.text.simdata import SimText, training_texts
from tests.conftest import SHARED_DATA
from tests.text.conftest import TOY

CCKS = SHARED_DATA / "ccks2019-fin-events" / "train.csv"
SPACE = frozenset(load_lexicons().ccks_map().values())

REAL = TOY  # the real texts of these tests: the toy labelled set


def _sim(text: str, events: set[str] | None) -> SimText:
    return SimText(
        "hotline/complaints.csv",
        text,
        text,
        text,
        "scheme",
        "collapse",
        "p2p",
        "annual",
        None,
        None if events is None else frozenset(events),
    )


def test_training_texts_map_to_the_label_space_dedupe_and_cap() -> None:
    sims = [
        _sim("甲公司人去楼空，警方立案侦查", {"runaway", "police"}),
        _sim("甲公司人去楼空，警方立案侦查", {"runaway", "police"}),  # duplicate
        _sim("乙公司人员已全部撤离", {"runaway", "police"}),
        _sim("丙公司人员已全部撤离", {"runaway", "police"}),
        _sim("丁公司店庆活动", set()),
        _sim("戊公司 (truth without events)", None),
    ]
    got = training_texts(sims, SPACE)
    assert "police" not in SPACE  # CCKS does not label it: the model cannot learn it
    assert sorted((d.text, sorted(d.events)) for d in got) == [
        ("丁公司店庆活动", []),
        ("丙公司人员已全部撤离", ["runaway"]),
        ("乙公司人员已全部撤离", ["runaway"]),
        ("甲公司人去楼空，警方立案侦查", ["runaway"]),
    ]
    capped = training_texts(sims, SPACE, per_label_set=2, seed=1)
    assert sum(d.events == {"runaway"} for d in capped) == 2
    assert capped == training_texts(sims, SPACE, per_label_set=2, seed=1)  # seeded


def test_simulated_city_gives_the_rare_types(sim_texts: list[SimText]) -> None:
    got = training_texts(sim_texts, SPACE)
    counts = {ev: sum(ev in d.events for d in got) for ev in SPACE}
    for ev in ("runaway", "overdue", "rights", "suspension", "ifr"):
        assert counts[ev] >= 10, (ev, counts)
    assert any(not d.events for d in got)  # negatives too
    assert all(d.events <= SPACE for d in got)


def test_extra_texts_are_trained_on_but_never_scored(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = [
        Labelled(f"{name}公司人员已全部撤离，客服失联", frozenset({"runaway", "rights"}))
        for name in "甲乙丙丁"
    ] + [Labelled("某某公司关于无关事项的说明", frozenset({"stock_anomaly"}))] * 2
    seen: list[tuple[int, ...]] = []
    real_best = events_mod._best_thresholds

    def spy(margins: np.ndarray, y: np.ndarray, grid: np.ndarray) -> tuple[float, ...]:
        seen.append(margins.shape)
        return real_best(margins, y, grid)

    monkeypatch.setattr(events_mod, "_best_thresholds", spy)
    texts, labels = [d.text for d in REAL], [d.events for d in REAL]
    model = train(
        texts,
        labels,
        c=1.0,
        hybrid=True,
        tune_thresholds=True,
        extra_texts=[d.text for d in extra],
        extra_labels=[d.events for d in extra],
    )
    # thresholds were tuned on out-of-fold margins of the real texts only
    assert seen == [(len(REAL), len(model.events))]
    # types come from the real labels; extra texts add none (rights, stock_anomaly)
    assert model.events == ("ifr", "overdue", "runaway")
    # but they were in the fit: their n-grams are in the vocabulary
    vocab = model.pipeline.named_steps["features"].transformer_list[0][1].vocabulary_
    assert "撤离" in vocab and "撤离" not in "".join(texts)
    assert "+ 6 simulated" in model.trained_on
    with pytest.raises(ValueError, match="extra texts"):
        train(texts, labels, extra_texts=["x"], extra_labels=[])


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out: Path = tmp_path_factory.mktemp("simtrain") / "city"
    simulate(out, load_params(**{"enterprises.count": 2000, "calendar.months": 12}), seed=2)
    return out


def test_build_adds_simulated_texts_unless_told_not_to(city: Path, tmp_path: Path) -> None:
    data = tmp_path / "ccks.csv"
    with open(data, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text", "event_type", "subject"])
        code_to_ccks = {"runaway": "失联跑路", "overdue": "提现困难", "ifr": "涉嫌非法集资"}
        for i, d in enumerate(REAL):
            w.writerow([i, d.text, code_to_ccks[next(iter(d.events))] if d.events else "其他", ""])
    with_sim, without = tmp_path / "with.joblib", tmp_path / "without.joblib"
    assert (
        build_main(["build", "--data", str(data), "--out", str(with_sim), "--sim", str(city)]) == 0
    )
    assert build_main(["build", "--data", str(data), "--out", str(without), "--no-sim"]) == 0
    m_sim, m_real = load_model(with_sim), load_model(without)
    assert "simulated" in m_sim.trained_on and "simulated" not in m_real.trained_on
    assert m_sim.events == m_real.events == ("ifr", "overdue", "runaway")


@pytest.mark.skipif(not CCKS.exists(), reason=f"CCKS 2019 data not found at {CCKS}")
def test_real_test_split_holds_no_simulated_text(sim_texts: list[SimText]) -> None:
    """The held-out split is made from CCKS alone and shares no text with the simulated
    training texts; adding them leaves it as it was."""
    data = load_ccks(CCKS)
    test_set = stratified_split(data)[1]
    sim = training_texts(sim_texts, SPACE)
    assert not {d.text for d in sim} & {d.text for d in test_set}
    assert not {d.text for d in sim} & {d.text for d in data}
    assert stratified_split(load_ccks(CCKS))[1] == test_set
