"""Scoring golden cases, worked out by hand from the formulas in fengyan.index.scoring."""

from __future__ import annotations

import numpy as np
import pytest

from fengyan.index.model import GRADES, bind, load_model, parse_model
from fengyan.index.scoring import contributions, score_block, to_matrix, top_k
from fengyan.index.service import score_table
from tests.index.conftest import COLUMNS, METAS, indicator_table

NAN = None
#        A    B    C    D    E    F    G
FIRMS = {
    "f1": (1.0, 0.5, 0.3, 0.9, 0.0, NAN, 0.2),
    "f2": (0.0, 0.0, 0.0, 0.0, NAN, 0.0, 0.0),
    "f3": (0.2, NAN, 0.1, 1.0, 1.0, 1.0, 0.0),
}

# (firm, model) → (raw score, score, grade, fired rules), by hand:
# dolphin f1: compliance = A alone (F missing) = 1; yield 0.5; complaints 0.3;
#   propagation 0.6·0.9 + 0.4·(0.9+0.2)/2 = 0.76; feature words 0;
#   L = .25·1 + .2·.5 + .2·.3 + .2·.76 + 0 + interaction .1·min(.5, .76) = 0.612 → 61.2;
#   A (op_evt_runaway) = 1 and B (op_evt_withdrawal) = .5: two collapse indicators ≥ 0.5
#   fire the red floor → 80.
# dolphin f3: compliance .6·1 + .4·.6 = .84; yield 0 (B missing); complaints .1;
#   propagation .6·1 + .4·.5 = .8; feature words 1 → .21 + .02 + .16 + .15 = .54 → 54,
#   yellow (52 ≤ 54 < 62).
# eagle f1: business .6·1 + .4·.75 = .9; opinion .3; judicial 0 (F missing); operational
#   .2; related 0; L = .27 + .06 + .03 = .36; impact .5 + .5·.9 = .95 → 34.2; floor → 80.
# eagle f3: business .6·.2 + .4·.2 = .2; opinion .1; judicial 1; operational 0; related 1;
#   L = .06 + .02 + .2 + .15 = .43; scale 1 → ×1 → 43, orange (≥ 43 inclusive).
# four f1: illegality (A, E) .6·1 + .4·.5 = .8; publicity .9; inducement .5; sociality .3
#   → 62.5; three of four ≥ .5, but the floor (60) is below the score: not fired; yellow.
# four f3: illegality .6·1 + .4·.6 = .84; publicity 1; inducement 0; sociality .1 → 48.5.
GOLDEN = {
    ("f1", "dolphin-v1"): (61.2, 80.0, "red", ["collapse_confirmed"]),
    ("f2", "dolphin-v1"): (0.0, 0.0, "none", []),
    ("f3", "dolphin-v1"): (54.0, 54.0, "yellow", []),
    ("f1", "eagle-v1"): (34.2, 80.0, "red", ["collapse_confirmed"]),
    ("f2", "eagle-v1"): (0.0, 0.0, "none", []),
    ("f3", "eagle-v1"): (43.0, 43.0, "orange", []),
    ("f1", "four-v1"): (62.5, 62.5, "yellow", []),
    ("f2", "four-v1"): (0.0, 0.0, "none", []),  # the cap needs score > 59.99
    ("f3", "four-v1"): (48.5, 48.5, "blue", []),
}


def _bound(model_id: str):  # type: ignore[no-untyped-def]
    return bind(load_model(model_id), METAS, COLUMNS)


def test_shipped_models_score_the_golden_firms() -> None:
    table = indicator_table(FIRMS)
    scored = score_table(table, [_bound(m) for m in ("dolphin-v1", "eagle-v1", "four-v1")])
    got = {
        (r["firm_id"], r["model"]): (
            round(r["raw_score"], 2),
            round(r["score"], 2),
            r["grade"],
            r["rules"],
        )
        for r in scored.scores.to_pylist()
    }
    assert got == GOLDEN


def test_one_collapse_indicator_alone_does_not_fire_the_red_floor() -> None:
    # Only A (op_evt_runaway) at 1: compliance (A, F) .6·1 + .4·(1 + 0)/2 = .8 → L = .25·.8
    # = .2 → 20; the floor needs two collapse indicators.
    one = indicator_table({"g1": (1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)})
    two = indicator_table({"g2": (1.0, 0.0, 0.6, 0.0, 0.0, 0.0, 0.0)})
    s1 = score_table(one, [_bound("dolphin-v1")]).scores.to_pylist()[0]
    s2 = score_table(two, [_bound("dolphin-v1")]).scores.to_pylist()[0]
    assert (round(s1["score"], 2), s1["grade"], s1["rules"]) == (20.0, "none", [])
    # A and C (jud_police_filing) ≥ 0.5: complaints = C alone = .6; L = .2 + .2·.6 = .32 → 32,
    # and the floor → 80.
    assert (round(s2["raw_score"], 2), s2["score"], s2["grade"]) == (32.0, 80.0, "red")
    assert s2["rules"] == ["collapse_confirmed"]


def test_contributions_sum_to_the_raw_score_and_rank_the_top() -> None:
    table = indicator_table(FIRMS)
    scored = score_table(table, [_bound("dolphin-v1")])
    top = [(r["firm_id"], r["rank"], r["indicator_id"], r["contribution"])
           for r in scored.top.to_pylist()]  # fmt: skip
    # f1: A 25; B 10 + half the interaction (5) = 12.5; propagation carries 15.2 + 2.5,
    # split D .72 : G .04 of .76 → 16.77 and 0.93; C 6. f2 is not graded: no top list.
    assert top[:5] == [
        ("f1", 1, "A", 25.0), ("f1", 2, "D", 16.77), ("f1", 3, "B", 12.5),
        ("f1", 4, "C", 6.0), ("f1", 5, "G", 0.93),
    ]  # fmt: skip
    assert {f for f, *_ in top} == {"f1", "f3"}
    for model in ("dolphin-v1", "eagle-v1", "four-v1"):
        bm = _bound(model)
        x = to_matrix(table, COLUMNS)
        s, _ = score_block(bm, x)
        c = contributions(bm, x, s.dims)
        np.testing.assert_allclose(c.sum(axis=1), s.raw, atol=0.02)


def test_blocks_do_not_change_the_result() -> None:
    rng = np.random.default_rng(5)
    rows = {
        f"f{i}": tuple(None if v < 0.1 else float(v) for v in rng.random(len(COLUMNS)))
        for i in range(50)
    }
    table = indicator_table(rows)
    models = [_bound(m) for m in ("dolphin-v1", "eagle-v1", "four-v1")]
    whole = score_table(table, models)
    blocks = score_table(table, models, block_rows=7)
    assert whole.scores.equals(blocks.scores)
    assert whole.top.equals(blocks.top)


MODEL = """
id: test-v1
name: {zh: 测试, en: Test}
description: test model
basis: test
dimensions:
  one:
    name: {zh: 一, en: One}
    weight: 0.5
    select: {ids: [A, B]}
    aggregate: noisy_or
    weights: {B: 0.5}
  two:
    name: {zh: 二, en: Two}
    weight: 0.5
    select: {dimension: [opinion, scale]}
    max_share: 0
interactions:
  - id: both
    name: {zh: 同时, en: Both}
    dimensions: [one, two]
    method: product
    weight: 0.4
caps:
  - id: cap_two
    name: {zh: 封顶, en: Cap}
    when: [{dimensions: [two], below: 0.25}]
    max_score: 30
floors: []
grades: {red: 80, orange: 70, yellow: 60, blue: 40}
"""


@pytest.mark.parametrize(
    ("a", "b", "c", "d", "raw", "score", "grade"),
    [
        # one = 1 − (1 − .5)(1 − .5·.4) = .6; two = mean(.2, .4) = .3 (max_share 0);
        # L = .3 + .15 + .4·.6·.3 = .522 → 52.2; two ≥ .25: no cap.
        (0.5, 0.4, 0.2, 0.4, 52.2, 52.2, "blue"),
        # one = .6 as above; two = mean(.1, .2) = .15 < .25; L = .3 + .075 + .4·.6·.15
        # = .411: capped from 41.1 to 30.
        (0.5, 0.4, 0.1, 0.2, 41.1, 30.0, "none"),
        # one = 1 − 0·… = 1 (clipped at 1 − 1e-6); two = 1: L = .5 + .5 + .4 → clipped 1.
        (1.0, 1.0, 1.0, 1.0, 100.0, 100.0, "red"),
    ],
)
def test_noisy_or_interaction_and_cap(
    a: float, b: float, c: float, d: float, raw: float, score: float, grade: str
) -> None:
    bm = bind(parse_model(MODEL, "test.yaml"), METAS, COLUMNS)
    table = indicator_table({"f": (a, b, c, d, 0.0, 0.0, 0.0)})
    s, _ = score_block(bm, to_matrix(table, COLUMNS))
    assert float(s.raw[0]) == pytest.approx(raw, abs=0.01)
    assert float(s.score[0]) == pytest.approx(score, abs=0.01)
    assert GRADES[s.grade[0]] == grade
    assert bool(s.rules[0] & 1) == (score < raw)
    x = to_matrix(table, COLUMNS)
    assert float(contributions(bm, x, s.dims).sum()) == pytest.approx(raw, abs=0.02)


@pytest.mark.parametrize(
    ("value", "grade"),
    [(0.0, "none"), (0.3999, "none"), (0.4, "blue"), (0.6, "yellow"), (0.6999, "yellow"),
     (0.7, "orange"), (0.8, "red"), (1.0, "red")],
)  # fmt: skip
def test_grade_thresholds_are_inclusive_lower_bounds(value: float, grade: str) -> None:
    bm = bind(parse_model(_one_dimension(), "one.yaml"), METAS, COLUMNS)
    table = indicator_table({"f": (value, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)})
    s, _ = score_block(bm, to_matrix(table, COLUMNS))
    assert GRADES[s.grade[0]] == grade


def _one_dimension() -> str:
    return """
id: one-v1
name: {zh: 一, en: One}
description: score = 100 · A
basis: test
dimensions:
  one:
    name: {zh: 一, en: One}
    weight: 1
    select: {ids: [A]}
    max_share: 1
grades: {red: 80, orange: 70, yellow: 60, blue: 40}
"""


def test_top_k_orders_descending() -> None:
    c = np.array([[0.0, 3.0, 1.0, 2.0], [5.0, 0.0, 0.0, 4.0]], dtype=np.float32)
    idx, val = top_k(c, 3)
    assert idx.tolist() == [[1, 3, 2], [0, 3, 1]] or idx.tolist() == [[1, 3, 2], [0, 3, 2]]
    assert val.tolist() == [[3.0, 2.0, 1.0], [5.0, 4.0, 0.0]]
