"""Groups: the sparse-matrix components are igraph's, node for node (up to numbering)."""

from __future__ import annotations

import igraph as ig  # type: ignore[import-untyped]
import numpy as np
import pytest

from fengyan.graph.groups import components


def _partition(labels: np.ndarray) -> set[frozenset[int]]:
    out: dict[int, set[int]] = {}
    for node, label in enumerate(labels.tolist()):
        out.setdefault(label, set()).add(node)
    return {frozenset(nodes) for nodes in out.values()}


@pytest.mark.parametrize("case", range(4))
def test_components_are_igraphs(case: int) -> None:
    rng = np.random.default_rng(case)
    n, m = 2_000, 1_500 + 500 * case  # from many small groups to a few large ones
    src, dst = rng.integers(0, n - 50, m), rng.integers(0, n - 50, m)  # 50 isolated nodes
    src[:10] = dst[:10]  # loops
    src[10:30], dst[10:30] = dst[30:50], src[30:50]  # the same tie both ways
    g = ig.Graph(n=n, edges=np.column_stack([src, dst]).tolist(), directed=False)
    want = np.asarray(g.connected_components(mode="weak").membership)
    got = components(n, src, dst)
    assert got.shape == (n,)
    assert _partition(got) == _partition(want)
    assert len(_partition(got)) > 50


def test_components_of_nothing() -> None:
    none = np.zeros(0, dtype=np.int64)
    assert components(0, none, none).shape == (0,)
    assert sorted(components(3, none, none).tolist()) == [0, 1, 2]
