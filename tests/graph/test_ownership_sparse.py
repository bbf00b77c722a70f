"""Integrated ownership by sparse products equals the DuckDB rounds (the reference).

``integrated_sparse`` (scipy, integer node ids, back pointers for chains) replaced the
DuckDB rounds of ``integrated`` in :func:`controllers`; the rounds stay as the readable
reference. Same shares (to rounding), same strongest chains, same number of rounds, on the
hand-built cases with cycles and on random graphs with many.
"""

from __future__ import annotations

import random

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from fengyan.graph.config import load_settings
from fengyan.graph.ownership import integrated, integrated_sparse, paths_of

SETTINGS = load_settings().ownership
Edge = tuple[str, str, float]

CASES: dict[str, list[Edge]] = {
    "two layers": [("per:P", "ent:A", 0.6), ("per:R", "ent:A", 0.4), ("ent:A", "ent:B", 0.8),
                   ("per:Q", "ent:B", 0.2)],
    "cross holding": [("ent:A", "ent:B", 0.3), ("ent:B", "ent:A", 0.2), ("per:P", "ent:A", 0.8),
                      ("per:Q", "ent:B", 0.7)],
    "three-firm loop": [("ent:A", "ent:B", 0.2), ("ent:B", "ent:C", 0.2), ("ent:C", "ent:A", 0.2),
                        ("per:P", "ent:A", 0.8), ("per:Q", "ent:B", 0.8), ("per:R", "ent:C", 0.8)],
    "closed loop": [("ent:A", "ent:B", 1.0), ("ent:B", "ent:A", 1.0)],
    "duplicates, self-holding, over 100 %": [("per:P", "ent:A", 0.7), ("per:P", "ent:A", 0.6),
                                            ("ent:A", "ent:A", 0.5), ("per:Q", "ent:B", 0.0),
                                            ("ent:A", "ent:B", 0.9)],
}  # fmt: skip


def _table(edges: list[Edge]) -> pa.Table:
    return pa.table(
        {
            "owner": pa.array([e[0] for e in edges], pa.string()),
            "asset": pa.array([e[1] for e in edges], pa.string()),
            "share": pa.array([float(e[2]) for e in edges], pa.float64()),
        }
    )


def _reference(edges: pa.Table) -> tuple[dict[tuple[str, str], tuple[float, object]], int, dict]:  # type: ignore[type-arg]
    con = duckdb.connect()
    con.register("edges_in", edges)
    table, rounds = integrated(con, SETTINGS)
    rows = table.to_pylist()
    out = {(r["firm_id"], r["holder_id"]): (r["share"], r["path_share"]) for r in rows}
    return out, rounds, {(r["firm_id"], r["holder_id"]): r["path"] for r in rows}


def _sparse(edges: pa.Table) -> tuple[dict[tuple[str, str], tuple[float, object]], int, dict]:  # type: ignore[type-arg]
    table, store, rounds = integrated_sparse(edges, SETTINGS)
    paths = paths_of(store, table["pair"].to_numpy(zero_copy_only=False)).to_pylist()
    rows = table.to_pylist()
    out = {(r["firm_id"], r["holder_id"]): (r["share"], r["path_share"]) for r in rows}
    chains = {(r["firm_id"], r["holder_id"]): p for r, p in zip(rows, paths, strict=True)}
    return out, rounds, chains


def _same(edges: pa.Table) -> None:
    ref, ref_rounds, ref_chains = _reference(edges)
    new, rounds, chains = _sparse(edges)
    assert rounds == ref_rounds
    assert chains == ref_chains
    assert set(new) == set(ref)
    for pair, (share, path_share) in ref.items():
        assert new[pair][0] == pytest.approx(share, rel=1e-12, abs=1e-15)
        if path_share is None:
            assert new[pair][1] is None
        else:
            assert new[pair][1] == pytest.approx(path_share, rel=1e-12)
            chain = chains[pair]
            # A simple chain from the holder to the firm whose shares multiply to path_share.
            assert chain[0] == pair[1] and chain[-1] == pair[0]
            assert len(set(chain)) == len(chain)


@pytest.mark.parametrize("case", sorted(CASES))
def test_hand_built_cases(case: str) -> None:
    _same(_table(CASES[case]))


def test_chains_of_the_cross_holding_case() -> None:
    _, _, chains = _sparse(_table(CASES["cross holding"]))
    assert chains[("ent:A", "per:Q")] == ["per:Q", "ent:B", "ent:A"]
    assert chains[("ent:B", "per:P")] == ["per:P", "ent:A", "ent:B"]


@pytest.mark.parametrize("seed", range(6))
def test_random_graphs_with_cycles(seed: int) -> None:
    rng = random.Random(seed)
    firms = [f"ent:{i:02d}" for i in range(25)]
    people = [f"per:{i:02d}" for i in range(10)]
    edges: list[Edge] = []
    for firm in firms:
        # Shares with distinct values (no ties between chains of equal strength).
        for owner in rng.sample(firms + people, rng.randrange(1, 4)):
            edges.append((owner, firm, round(rng.uniform(0.05, 0.95), 6) + rng.random() * 1e-7))
    _same(_table(edges))


def test_no_edges() -> None:
    table, _, rounds = integrated_sparse(_table([]), SETTINGS)
    assert table.num_rows == 0 and rounds == 1
    assert np.asarray(table["pair"]).size == 0
