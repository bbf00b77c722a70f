"""The graph's fast paths give exactly (bit for bit, row for row) what the plain ones did."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from scipy import sparse  # type: ignore[import-untyped]

from fengyan.graph.contagion import _unique_pairs, merge_parallel, pagerank, sources
from fengyan.graph.ownership import encode


def _hashed(*columns: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """:func:`encode` as it was: one dictionary_encode of the columns one after the other."""
    chunks = [
        c for col in columns for c in (col.chunks if isinstance(col, pa.ChunkedArray) else [col])
    ]
    encoded = pc.dictionary_encode(pa.concat_arrays(chunks), null_encoding="encode")
    return encoded.dictionary, encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("case", range(4))
def test_encode_of_node_codes_is_first_seen(dtype: type, case: int) -> None:
    rng = np.random.default_rng(case)
    n = [50, 5000, 3, 1 << 21][case]
    a = rng.integers(0, n, 4000).astype(dtype)
    b = rng.integers(0, n, 3000).astype(dtype)
    columns = (pa.array(a), pa.chunked_array([pa.array(b[:1000]), pa.array(b[1000:])]))
    got, want = encode(*columns), _hashed(*columns)
    assert got[0].type == want[0].type and got[0].equals(want[0])
    assert got[1].dtype == np.int64 and np.array_equal(got[1], want[1])


def test_encode_of_other_integers_and_strings() -> None:
    for columns in (
        (pa.array([5, -1, 5, 2], pa.int32()), pa.array([2, 7], pa.int32())),  # negative
        (pa.array([3, None, 3], pa.int64()), pa.array([None, 1], pa.int64())),  # nulls
        (pa.array([10**12, 0, 10**12]),),  # far from dense
        (pa.array(["b", "a", None, "b"]), pa.array(["c", "a"])),
    ):
        got, want = encode(*columns), _hashed(*columns)
        assert got[0].equals(want[0]) and np.array_equal(got[1], want[1])


@pytest.mark.parametrize("n", [1, 2, 40, 100_000])
def test_unique_pairs_is_numpys(n: int) -> None:
    rng = np.random.default_rng(n)
    low, high = np.sort(rng.integers(0, n, (2, 5000)), axis=0)
    pairs, which = _unique_pairs(low, high, n)
    want_pairs, want_which = np.unique(low * n + high, return_inverse=True)
    assert np.array_equal(pairs, want_pairs) and np.array_equal(which, want_which)
    assert np.array_equal(pairs[which], low * n + high)


def _pagerank_as_it_was(
    n: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray, reset: np.ndarray, d: float
) -> np.ndarray:
    """The conjugate gradients of :func:`pagerank` with a fresh array per operation."""
    frm = np.concatenate([src, dst]).astype(np.intp)
    to = np.concatenate([dst, src]).astype(np.intp)
    w = np.concatenate([weight, weight]).astype(np.float64)
    strength = np.bincount(frm, weights=w, minlength=n)
    live = strength > 0
    root = np.sqrt(strength)
    inv_root = np.divide(1.0, root, out=np.zeros(n), where=live)
    matrix = sparse.csr_matrix(((w * inv_root[frm]) * inv_root[to], (to, frm)), shape=(n, n))
    r = reset / reset.sum()
    b = np.where(live, r * inv_root, 0.0)
    z, residual = np.zeros(n), b.copy()
    direction = residual.copy()
    rs = float(residual @ residual)
    stop = (1e-10 * float(np.sqrt(b @ b))) ** 2
    for _ in range(1000):
        if rs <= stop:
            break
        product = direction - d * (matrix @ direction)
        alpha = rs / float(direction @ product)
        z += alpha * direction
        residual -= alpha * product
        rs_next = float(residual @ residual)
        direction = residual + (rs_next / rs) * direction
        rs = rs_next
    y = np.where(live, z * root, r)
    return np.asarray(y / y.sum())


@pytest.mark.parametrize("case", range(3))
def test_pagerank_bits_unchanged(case: int) -> None:
    rng = np.random.default_rng(case)
    n, m = 3000, 9000
    src, dst, weight = rng.integers(0, n, m), rng.integers(0, n, m), rng.random(m)
    reset = np.zeros(n)
    reset[rng.integers(0, n, 20)] = rng.random(20) + 0.1
    merged = merge_parallel(n, src, dst, weight)
    got = pagerank(n, *merged, reset, 0.85)
    assert np.array_equal(got, _pagerank_as_it_was(n, *merged, reset, 0.85))


def _sources_as_they_were(
    n: int, src: np.ndarray, dst: np.ndarray, w: np.ndarray, reset: np.ndarray, hops_max: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`sources` with every arc's own end gathered per arc, as it was."""
    frm, to, w = np.concatenate([src, dst]), np.concatenate([dst, src]), np.concatenate([w, w])
    strength = np.bincount(frm, weights=w, minlength=n)
    keep = w > 0
    frm, to, w = frm[keep], to[keep], w[keep]
    cost = -np.log(0.85 * w / strength[frm])
    order = np.argsort(frm, kind="stable")
    frm, to, cost = frm[order], to[order], cost[order]
    starts = np.concatenate([[0], np.cumsum(np.bincount(frm, minlength=n))])
    best, source = np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    hops = np.full(n, -1, dtype=np.int16)
    seeds = np.flatnonzero(reset > 0)
    best[seeds], source[seeds], hops[seeds] = -np.log(reset[seeds] / reset.sum()), seeds, 0
    active = seeds
    for step in range(1, hops_max + 1):
        lens = starts[active + 1] - starts[active]
        if not lens.sum():
            break
        arcs = np.repeat(starts[active] - np.cumsum(lens) + lens, lens) + np.arange(lens.sum())
        cand, target = best[frm[arcs]] + cost[arcs], to[arcs]
        new = best.copy()
        np.minimum.at(new, target, cand)
        improved = new < best
        win = improved[target] & (cand == new[target])
        pick = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(pick, target[win], source[frm[arcs[win]]])
        active = np.flatnonzero(improved)
        best[active], source[active], hops[active] = new[active], pick[active], step
    return source, hops


@pytest.mark.parametrize("case", range(3))
def test_sources_unchanged(case: int) -> None:
    rng = np.random.default_rng(case)
    n, m = 3000, 6000
    src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
    weight = rng.integers(0, 4, m) / 4.0  # ties and weightless edges
    reset = np.zeros(n)
    reset[rng.integers(0, n, 15)] = rng.integers(1, 3, 15)
    merged = merge_parallel(n, src, dst, weight)
    got = sources(n, *merged, reset, 0.85, 6)
    want = _sources_as_they_were(n, *merged, reset, 6)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    # Edges not grouped by src (both arc lists sorted), parallel ones not merged.
    got = sources(n, src, dst, weight, reset, 0.85, 6)
    want = _sources_as_they_were(n, src, dst, weight, reset, 6)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
