"""Scoring: indicator scores → dimension scores → 0–100 score → grade, with contributions.

Everything here works on a float32 matrix of indicator scores (firms × indicators, NaN
where an indicator is missing), one block of rows at a time, with numpy only: a block of
262,144 firms × 120 indicators is 126 MB and scores in well under a second.

Per model (see :mod:`fengyan.index.model`):

1. Dimension ``d`` over its present indicators x with weights w:
   ``max_mean``: ``a·max(x) + (1 − a)·Σwx / Σw`` (missing indicators leave the mean);
   ``noisy_or``: ``1 − Π(1 − w·x)``. A dimension with no present indicator scores 0.
2. Likelihood ``L = Σ W_d·D_d + Σ interactions`` (``weight · min`` or ``· product`` of
   their dimensions), clipped to [0, 1].
3. With an impact dimension S: ``score = 100 · L · (floor + (1 − floor)·S)``; else
   ``100 · L``.
4. Caps (``min(score, max_score)``) then floors (``max(score, min_score)``): a floor is a
   hard override and wins over a cap.
5. Grade: the highest threshold the score reaches (red ≥ orange ≥ yellow ≥ blue), else none.

Contributions split the uncapped score exactly over the indicators: within a max_mean
dimension, each indicator's term of the mean plus the max term for the argmax; within a
noisy_or dimension in proportion to ``−ln(1 − w·x)``; interactions equally over their
dimensions; with an impact multiplier, the product term half to each side (the Shapley
split of a product). They sum to the score before caps and floors, which are reported as
fired rules instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from fengyan.index.model import BoundCondition, BoundModel

F32 = NDArray[np.float32]
BLOCK_ROWS = 262_144
_EPS = np.float32(1e-6)


@dataclass
class BlockScores:
    """Scores of one block of firms under one model."""

    score: F32  # (n,) 0–100, after caps and floors
    raw: F32  # (n,) 0–100, before caps and floors
    grade: NDArray[np.int8]  # (n,) rank in model.GRADES
    dims: F32  # (n, dimensions)
    coverage: F32  # (n,) share of dimensions with at least one present indicator
    rules: NDArray[np.uint32]  # (n,) bit i set: rule i fired (caps first, then floors)


def to_matrix(batch: pa.RecordBatch | pa.Table, columns: Sequence[str]) -> F32:
    """The indicator columns of ``batch`` as a float32 matrix (NaN where null)."""
    out = np.empty((batch.num_rows, len(columns)), dtype=np.float32, order="F")
    for j, name in enumerate(columns):
        col = batch.column(name)
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        out[:, j] = col.to_numpy(zero_copy_only=False)
    return out


def iter_blocks(
    table: pa.Table, columns: Sequence[str], rows: int = BLOCK_ROWS
) -> Iterator[tuple[int, F32]]:
    """(offset, matrix) blocks of ``table``'s indicator columns."""
    for start in range(0, max(table.num_rows, 1), rows):
        part = table.slice(start, rows)
        if part.num_rows or start == 0:
            yield start, to_matrix(part, columns)


Prepared = tuple[F32, F32]
"""A block's zero-filled matrix and its presence mask (1.0 where not missing), both F-order."""


Products = tuple[F32, F32, F32]
"""A block's weighted sums, present weights and present counts per dimension of one model."""


def prepare(x: F32) -> Prepared:
    """Zero-fill a block once (a copy); every model scores from the same prepared block."""
    missing = np.isnan(x)
    xz = np.array(x, dtype=np.float32, order="F")
    np.copyto(xz, np.float32(0), where=missing)
    return xz, (~missing).astype(np.float32, order="F")


def to_prepared(batch: pa.RecordBatch | pa.Table, columns: Sequence[str]) -> Prepared:
    """:func:`prepare` straight from Arrow: nulls filled per column, no pass over NaN.

    Most indicators have ``missing: zero`` and hold no null, so their presence column is
    a constant and their values are copied once.
    """
    n = batch.num_rows
    xz = np.empty((n, len(columns)), dtype=np.float32, order="F")
    present = np.ones((n, len(columns)), dtype=np.float32, order="F")
    for j, name in enumerate(columns):
        col = batch.column(name)
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        if col.null_count:
            present[:, j] = col.is_valid().to_numpy(zero_copy_only=False)
            col = col.fill_null(0)
        xz[:, j] = col.to_numpy(zero_copy_only=False)
    return xz, present


def products(bound: Sequence[BoundModel], prepared: Prepared) -> list[Products]:
    """Every model's per-dimension sums and presence over a block, in two matrix products.

    The block is read once for all models: at 120 indicators the products are bound by
    memory, not arithmetic, so stacking the models' weight matrices saves most of the time.
    """
    xz, present = prepared
    stacked = np.hstack([b.weight_matrix for b in bound])
    sums = xz @ stacked
    pres = present @ np.hstack([stacked, (stacked > 0).astype(np.float32)])
    width = stacked.shape[1]
    out, at = [], 0
    for b in bound:
        k = b.weight_matrix.shape[1]
        out.append(
            (sums[:, at : at + k], pres[:, at : at + k], pres[:, width + at : width + at + k])
        )
        at += k
    return out


def dimension_scores(
    bm: BoundModel, x: F32, prepared: Prepared | None = None, prod: Products | None = None
) -> tuple[F32, F32, F32]:
    """(dimension scores, coverage, zero-filled matrix) of a block; ``x`` is not changed.

    Weighted sums and presence counts of all dimensions are two matrix products; the max
    runs column by column (contiguous in F order) instead of gathering sub-matrices.
    """
    prepared = prepared if prepared is not None else prepare(x)
    xz = prepared[0]
    n = len(xz)
    sums, denom, counts = prod if prod is not None else products([bm], prepared)[0]
    dims = np.empty((n, len(bm.dimensions)), dtype=np.float32)
    for k, d in enumerate(bm.dimensions):
        if d.aggregate == "noisy_or":
            acc = np.zeros(n, dtype=np.float32)
            for j, w in zip(d.columns, d.weights, strict=True):
                acc += np.log1p(-np.minimum(xz[:, j] * w, 1 - _EPS))
            dims[:, k] = 1 - np.exp(acc)
            continue
        top = xz[:, d.columns[0]].copy()
        for j in d.columns[1:]:
            np.maximum(top, xz[:, j], out=top)
        mean = np.divide(
            sums[:, k], denom[:, k], out=np.zeros(n, np.float32), where=denom[:, k] > 0
        )
        dims[:, k] = d.max_share * top + (1 - d.max_share) * mean
    coverage: F32 = ((counts > 0).sum(axis=1) / max(len(bm.dimensions), 1)).astype(np.float32)
    return dims, coverage, xz


def _interaction(dims: F32, positions: NDArray[np.intp], method: str) -> F32:
    sub = dims[:, positions]
    out: F32 = (sub.min(axis=1) if method == "min" else sub.prod(axis=1)).astype(np.float32)
    return out


def _holds(c: BoundCondition, dims: F32, xz: F32) -> NDArray[np.bool_]:
    values = dims[:, c.dimensions] if len(c.dimensions) else xz[:, c.columns]
    if c.below is not None:
        return np.asarray((values < c.below).all(axis=1))
    assert c.at_least is not None
    return np.asarray((values >= c.at_least).sum(axis=1) >= c.count)


def likelihood_and_impact(bm: BoundModel, dims: F32) -> tuple[F32, F32]:
    """Likelihood L in [0, 1] and the impact multiplier of each firm."""
    lik = dims[:, bm.likelihood] @ np.array(
        [bm.dimensions[i].weight for i in bm.likelihood], dtype=np.float32
    )
    for _, positions, method, weight in bm.interactions:
        lik = lik + weight * _interaction(dims, positions, method)
    lik = np.clip(lik, 0, 1).astype(np.float32)
    if bm.impact is None:
        return lik, np.ones(len(dims), dtype=np.float32)
    mult = bm.impact_floor + (1 - bm.impact_floor) * dims[:, bm.impact]
    return lik, mult.astype(np.float32)


def score_block(
    bm: BoundModel, x: F32, prepared: Prepared | None = None, prod: Products | None = None
) -> tuple[BlockScores, F32]:
    """Score a block; also returns the zero-filled matrix (for contributions)."""
    dims, coverage, xz = dimension_scores(bm, x, prepared, prod)
    lik, mult = likelihood_and_impact(bm, dims)
    raw = np.round(100 * lik * mult, 2).astype(np.float32)
    score = raw.copy()
    rules = np.zeros(len(x), dtype=np.uint32)
    for bit, rule in enumerate((*bm.caps, *bm.floors)):
        fired = np.ones(len(x), dtype=bool)
        for c in rule.when:
            fired &= _holds(c, dims, xz)
        if bit < len(bm.caps):
            fired &= score > rule.limit
            score = np.where(fired, np.float32(rule.limit), score)
        else:
            fired &= score < rule.limit
            score = np.where(fired, np.float32(rule.limit), score)
        rules |= fired.astype(np.uint32) << np.uint32(bit)
    grade = np.searchsorted(bm.thresholds, score, side="right").astype(np.int8)
    return BlockScores(score, raw, grade, dims, coverage, rules), xz


def contributions(
    bm: BoundModel, x: F32 | None, dims: F32, prepared: Prepared | None = None
) -> F32:
    """Score points per indicator (rows × all indicator columns), summing to the raw score.

    ``x`` is the block's matrix with NaN for missing indicators (or ``prepared`` its
    zero-filled matrix and presence), ``dims`` its dimension scores — all for the rows to
    explain only.
    """
    if prepared is None:
        assert x is not None
        prepared = prepare(x)
    xz, present_f = prepared
    present_all = present_f > 0
    n = len(xz)
    out = np.zeros(xz.shape, dtype=np.float32)
    lik, mult = likelihood_and_impact(bm, dims)
    # Score points carried by each dimension (see the module docstring).
    weights = np.array([d.weight for d in bm.dimensions], dtype=np.float32)
    shares = dims * weights
    for _, positions, method, weight in bm.interactions:
        extra = weight * _interaction(dims, positions, method) / len(positions)
        shares[:, positions] += extra[:, None]
    if bm.impact is not None:
        shares[:, bm.impact] = 0
        s = dims[:, bm.impact]
        floor = bm.impact_floor
        points = 100 * shares * (floor + 0.5 * (1 - floor) * s)[:, None]
        points[:, bm.impact] = 100 * 0.5 * (1 - floor) * s * lik
    else:
        points = 100 * shares
    # The likelihood was clipped to 1: scale the points down alike.
    total = points.sum(axis=1)
    target = 100 * lik * mult
    scale = np.divide(target, total, out=np.ones(n, np.float32), where=total > 0)
    points *= scale[:, None]
    for k, d in enumerate(bm.dimensions):
        sub = xz[:, d.columns]
        if d.aggregate == "noisy_or":
            parts = -np.log1p(-np.minimum(sub * d.weights, 1 - _EPS))
        else:
            denom = present_all[:, d.columns].astype(np.float32) @ d.weights
            parts = (1 - d.max_share) * np.divide(
                sub * d.weights, denom[:, None], out=np.zeros_like(sub), where=denom[:, None] > 0
            )
            arg = sub.argmax(axis=1)
            parts[np.arange(n), arg] += d.max_share * sub[np.arange(n), arg]
        tot = parts.sum(axis=1)
        factor = np.divide(points[:, k], tot, out=np.zeros(n, np.float32), where=tot > 0)
        out[:, d.columns] += parts * factor[:, None]
    return out


def top_k(contrib: F32, k: int) -> tuple[NDArray[np.intp], F32]:
    """Column positions and values of the ``k`` largest contributions per row, descending."""
    k = min(k, contrib.shape[1])
    part = np.argpartition(-contrib, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(contrib, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(vals, order, axis=1)
