"""Finance-like discovery and risk categories over the wide score table, vectorised in numpy.

For every firm: ``finance_score`` = Σ weight × score over ``finance_like.indicators``;
the firm is finance-like when that reaches ``min_score`` or any ``strong`` indicator scores
at least ``strong_score``. Each category's score is Σ weight × score over its indicators;
a finance-like firm gets the best category whose score reaches the category's
``min_score``, and the runner-up among the others that do. Missing scores count as 0.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from fengyan.indicators.lists import Categories

SCHEMA = pa.schema(
    [
        pa.field("firm_id", pa.string()),
        pa.field("finance_like", pa.bool_()),
        pa.field("finance_score", pa.float32()),
        pa.field("category", pa.string()),
        pa.field("category_score", pa.float32()),
        pa.field("runner_up", pa.string()),
        pa.field("runner_up_score", pa.float32()),
    ]
)


def _column(scores: pa.Table, indicator_id: str) -> np.ndarray:
    arr = scores.column(indicator_id).to_numpy(zero_copy_only=False)
    return np.nan_to_num(np.asarray(arr, dtype=np.float32), nan=0.0)


def _weighted(scores: pa.Table, weights: dict[str, float]) -> np.ndarray:
    total = np.zeros(scores.num_rows, dtype=np.float32)
    for ind, w in weights.items():
        total += np.float32(w) * _column(scores, ind)
    return total


def firm_category(scores: pa.Table, cats: Categories) -> pa.Table:
    """The ``firm_category`` table for every row of ``indicator_score``."""
    n = scores.num_rows
    fl = cats.finance_like
    finance = _weighted(scores, fl.indicators)
    finance_like = finance >= np.float32(fl.min_score)
    for ind in fl.strong:
        finance_like |= _column(scores, ind) >= np.float32(fl.strong_score)
    ids = np.array([c.id for c in cats.categories], dtype=object)
    matrix = np.stack([_weighted(scores, c.indicators) for c in cats.categories], axis=1)
    floors = np.array([c.min_score for c in cats.categories], dtype=np.float32)
    eligible = np.where((matrix >= floors) & finance_like[:, None] & (matrix > 0), matrix, -np.inf)
    rows = np.arange(n)
    best = eligible.argmax(axis=1) if n else np.zeros(0, dtype=np.int64)
    best_score = eligible[rows, best] if n else np.zeros(0, dtype=np.float32)
    eligible[rows, best] = -np.inf
    second = eligible.argmax(axis=1) if n else np.zeros(0, dtype=np.int64)
    second_score = eligible[rows, second] if n else np.zeros(0, dtype=np.float32)
    has_best = np.isfinite(best_score)
    has_second = np.isfinite(second_score)
    return pa.table(
        {
            "firm_id": scores.column("firm_id"),
            "finance_like": pa.array(finance_like),
            "finance_score": pa.array(finance, type=pa.float32()),
            "category": pa.array(ids[best] if n else [], type=pa.string(), mask=~has_best),
            "category_score": pa.array(
                np.where(has_best, best_score, 0).astype(np.float32), mask=~has_best
            ),
            "runner_up": pa.array(ids[second] if n else [], type=pa.string(), mask=~has_second),
            "runner_up_score": pa.array(
                np.where(has_second, second_score, 0).astype(np.float32), mask=~has_second
            ),
        },
        schema=SCHEMA,
    )
