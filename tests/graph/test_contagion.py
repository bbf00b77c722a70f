"""Contagion: the scores are igraph's personalised PageRank; the sources are hand-checked."""

from __future__ import annotations

import igraph as ig  # type: ignore[import-untyped]
import numpy as np
import pyarrow as pa
import pytest

from fengyan.graph.config import load_settings
from fengyan.graph.contagion import (
    _strength,
    contagion,
    lone_nodes,
    merge_parallel,
    pagerank,
    sources,
)

SETTINGS = load_settings().contagion


@pytest.mark.parametrize("case", range(5))
def test_pagerank_is_igraphs(case: int) -> None:
    rng = np.random.default_rng(case)
    n, m = 300, 600
    src, dst = rng.integers(0, n - 20, m), rng.integers(0, n - 20, m)  # 20 isolated nodes
    weight = rng.random(m)
    weight[rng.integers(0, m, 30)] = 0.0  # nodes whose only edges weigh nothing dangle
    src[:5] = dst[:5]  # loops
    src[5:15], dst[5:15] = src[15:25], dst[15:25]  # parallel edges
    reset = np.zeros(n)
    reset[rng.integers(0, n, 6)] = rng.random(6) + 0.1
    if case % 2:
        reset[n - 1] = 0.5  # a seed with no edges at all
    g = ig.Graph(n=n, edges=np.column_stack([src, dst]).tolist(), directed=False)
    want = g.personalized_pagerank(
        directed=False, damping=0.85, reset=reset.tolist(), weights=weight.tolist()
    )
    got = pagerank(n, src, dst, weight, reset, 0.85)
    assert np.abs(got - np.asarray(want)).max() < 1e-9
    assert got.sum() == pytest.approx(1.0)
    # Parallel edges merged into one with the summed weight: the same walk.
    merged = merge_parallel(n, src, dst, weight)
    assert len(merged[0]) < m
    assert np.abs(pagerank(n, *merged, reset, 0.85) - got).max() < 1e-9


def _city_like(seed: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A merged graph of 200 firms with people and shared contact points, most of which
    belong to one firm only (pendant nodes), some weightless ties and a lone pair; the
    firm mask and the restart weights (seeds are firms, plus one lone-looking person)."""
    rng = np.random.default_rng(seed)
    firms, others = 200, 500
    n = firms + others + 2
    src = np.concatenate(
        [rng.integers(0, firms, 300), rng.integers(0, firms, 450), [n - 2]]
    )  # firm-firm ties, then firm-to-contact/person ties, then the lone pair
    dst = np.concatenate(
        [rng.integers(0, firms, 300), firms + rng.integers(0, others, 450), [n - 1]]
    )
    weight = rng.random(len(src))
    weight[rng.integers(300, 750, 20)] = 0.0
    src[:3] = dst[:3]  # loops
    merged = merge_parallel(n, src, dst, weight)
    is_firm = np.zeros(n, dtype=bool)
    is_firm[:firms] = True
    reset = np.zeros(n)
    reset[rng.integers(0, firms, 5)] = rng.random(5) + 0.1
    hanging = firms + np.flatnonzero(np.bincount(dst[300:750] - firms, minlength=others) == 1)
    reset[hanging[0]] = 0.3  # a seed that is not a firm, with one edge: never solved for
    return n, *merged, reset, is_firm


@pytest.mark.parametrize("case", range(6))
def test_lone_nodes_solved_from_their_neighbour_give_the_same_scores(case: int) -> None:
    n, src, dst, weight, reset, is_firm = _city_like(case)
    fixed = is_firm | (reset > 0)
    lone = lone_nodes(n, src, dst, weight, fixed)
    degree = np.bincount(src, minlength=n) + np.bincount(dst, minlength=n)
    assert lone.sum() > 100 and not (lone & fixed).any() and (degree[lone] == 1).all()
    assert not lone[n - 2] and not lone[n - 1]  # two lone nodes tied to each other
    edge_weight = np.zeros(n)
    np.add.at(edge_weight, src, weight)
    np.add.at(edge_weight, dst, weight)
    assert (edge_weight[lone] > 0).all()  # a weightless tie is not solved for
    strength = _strength(n, src, dst, weight)
    plain = pagerank(n, src, dst, weight, reset, 0.85, 1e-13, strength=strength)
    solved = pagerank(n, src, dst, weight, reset, 0.85, 1e-13, strength=strength, lone=lone)
    assert np.abs(solved - plain).max() < 1e-12
    assert solved.sum() == pytest.approx(1.0)
    g = ig.Graph(n=n, edges=np.column_stack([src, dst]).tolist(), directed=False)
    want = g.personalized_pagerank(
        directed=False, damping=0.85, reset=reset.tolist(), weights=weight.tolist()
    )
    assert np.abs(solved - np.asarray(want)).max() < 1e-9
    # The sources never need a lone node's edge: every other node gets the same.
    keep = ~(lone[src] | lone[dst])
    full = sources(n, src, dst, weight, reset, 0.85, 6, strength)
    cut = sources(n, src[keep], dst[keep], weight[keep], reset, 0.85, 6, strength)
    for a, b in zip(full, cut, strict=True):
        assert np.array_equal(a[~lone], b[~lone])


def test_a_seed_is_never_solved_for_from_its_neighbour() -> None:
    src, dst, weight = np.array([0]), np.array([1]), np.array([1.0])
    reset = np.array([0.0, 1.0])
    with pytest.raises(ValueError, match="restart weight"):
        pagerank(2, src, dst, weight, reset, 0.85, lone=np.array([False, True]))
    # Only a node with one edge, to a node that stays, can be solved for.
    src, dst, weight = np.array([0, 1]), np.array([1, 2]), np.ones(2)
    reset = np.array([1.0, 0.0, 0.0])
    for lone in ([False, True, False], [False, True, True]):
        with pytest.raises(ValueError, match="one edge, to a core node"):
            pagerank(3, src, dst, weight, reset, 0.85, lone=np.array(lone))
    got = pagerank(3, src, dst, weight, reset, 0.85, lone=np.array([False, False, True]))
    assert np.abs(got - pagerank(3, src, dst, weight, reset, 0.85)).max() < 1e-12


def test_sources_follow_the_most_probable_walk() -> None:
    # Seeds 0 (weight 1) and 4 (weight 0.1) on the path 0-1-2-3-4; node 5 hangs off 3;
    # node 6 is alone. From 0, every step on the path costs the walker half its way
    # (two neighbours) except the first; 4 is weak but next door to 3.
    src = np.array([0, 1, 2, 3, 3])
    dst = np.array([1, 2, 3, 4, 5])
    weight = np.ones(5)
    reset = np.array([1.0, 0, 0, 0, 0.1, 0, 0])
    origin, hops = sources(7, src, dst, weight, reset, 0.85, max_hops=8)
    assert origin.tolist()[:3] == [0, 0, 0]
    assert hops.tolist()[:3] == [0, 1, 2]
    # 3: from 0 it is 1·(.85·1)(.85·.5)(.85·.5) ≈ 0.154; from 4 it is 0.1·0.85 = 0.085.
    assert (origin[3], hops[3]) == (0, 3)
    # 4 is a seed, but the walk from 0 (0.154·0.85/3 ≈ 0.044) is weaker than its own 0.1.
    assert (origin[4], hops[4]) == (4, 0)
    assert (origin[5], hops[5]) == (0, 4)
    assert (origin[6], hops[6]) == (-1, -1)
    # With at most two steps, 0 no longer reaches 3 and 5: the weak seed next door does.
    origin, hops = sources(7, src, dst, weight, reset, 0.85, max_hops=2)
    assert origin.tolist() == [0, 0, 0, 4, 4, 4, -1]
    assert hops.tolist() == [0, 1, 2, 1, 0, 2, -1]


def test_contagion_table() -> None:
    edges = pa.table(
        {
            "src": ["per:a", "per:a", "ent:B", "ent:C", "ent:D", "ent:E", "ent:F"],
            "dst": ["ent:A", "ent:B", "phone:1", "phone:1", "phone:2", "phone:2", "ent:G"],
            "relation": ["officer", "shareholding", "phone", "phone", "phone", "phone", "x"],
            "share": [None, 0.6, None, None, None, None, None],
            "role": ["法定代表人", None, None, None, None, None, None],
        }
    )
    table = contagion(edges, {"ent:A": 1.0, "ent:Z": 0.5}, SETTINGS)
    rows = {r["firm_id"]: r for r in table.to_pylist()}
    # ent:F and ent:G only have a relation without a weight: not in the graph.
    assert table["firm_id"].to_pylist() == ["ent:A", "ent:B", "ent:C", "ent:D", "ent:E"]
    assert rows["ent:A"]["seed"] and not rows["ent:B"]["seed"]
    assert rows["ent:A"]["score"] > rows["ent:B"]["score"] > rows["ent:C"]["score"] > 0
    assert rows["ent:D"]["score"] == rows["ent:E"]["score"] == 0
    # Tied firms share a percentile: the share of firms scoring lower.
    assert rows["ent:D"]["percentile"] == rows["ent:E"]["percentile"] == 0
    assert rows["ent:A"]["percentile"] == 1.0
    assert [rows[f]["source_seed"] for f in "ABCDE" for f in [f"ent:{f}"]] == [
        "ent:A", "ent:A", "ent:A", None, None]  # fmt: skip
    assert [rows[f"ent:{f}"]["source_hops"] for f in "ABC"] == [0, 2, 4]
