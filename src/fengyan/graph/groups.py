"""Groups of firms, shell-cluster signals and risk contagion, on igraph.

*Groups*: weakly connected components of a graph whose nodes are firms, key people and
contact points, and whose edges are the relations named in the settings (control, key
people, shared phone, e-mail, domain …). A contact point or person tied to more firms
than ``max_firms`` is left out — a business centre or a registration agent's phone is
evidence of a cluster, not of common control — and shows up in the signals instead.

*Signals* (per firm): how many other firms share its building, phone, e-mail, domain or
server address; whether a key person of it ran a firm that was deregistered or revoked
within ``reregistration_days`` before it was set up.

*Contagion*: personalised PageRank over the undirected firm–person–contact graph, edge
weights per relation from the settings (a shareholding's times its share), restarting at
the seed firms in proportion to their seed weights. Scores sum to one; the table gives
each firm's score and its percentile.
"""

from __future__ import annotations

import hashlib
from typing import Final

import duckdb
import igraph as ig  # type: ignore[import-untyped]
import numpy as np
import pyarrow as pa

from fengyan.graph.config import ContagionSettings, GroupSettings

CONTACTS: Final = ("address", "phone", "email", "domain", "server_ip")


def _index(edges: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node ids and the integer endpoints of every edge (one pass in numpy)."""
    src = edges["src"].to_numpy(zero_copy_only=False).astype(str)
    dst = edges["dst"].to_numpy(zero_copy_only=False).astype(str)
    ids, codes = np.unique(np.concatenate([src, dst]), return_inverse=True)
    return ids, codes[: len(src)], codes[len(src) :]


def group_edges(edges: pa.Table, control: pa.Table, settings: GroupSettings) -> pa.Table:
    """The ties that make groups, with hub contact points and people removed."""
    con = duckdb.connect()
    try:
        con.register("edges", edges)
        con.register("control", control)
        caps = pa.table(
            {
                "relation": list(settings.max_firms),
                "cap": list(settings.max_firms.values()),
            }
        )
        con.register("caps", caps)
        roles = pa.table(
            {"role": list(settings.key_person_roles)}, schema=pa.schema([("role", pa.string())])
        )
        con.register("roles", roles)
        wanted = pa.table(
            {"relation": list(settings.relations)}, schema=pa.schema([("relation", pa.string())])
        )
        con.register("wanted", wanted)
        return con.sql(
            """
            WITH ties AS (
                SELECT dst AS firm, src AS node, relation FROM edges
                WHERE relation IN (SELECT relation FROM wanted)
                UNION ALL
                SELECT e.dst, e.src, 'key_person' FROM edges e
                WHERE e.relation = 'officer' AND e.role IN (SELECT role FROM roles)
                  AND 'key_person' IN (SELECT relation FROM wanted)
                UNION ALL
                SELECT firm_id, controller_id, 'control' FROM control
                WHERE 'control' IN (SELECT relation FROM wanted) AND controller_id IS NOT NULL
            ), sized AS (
                SELECT t.*, count(DISTINCT firm) OVER (PARTITION BY node, relation) AS firms
                FROM ties t
            )
            SELECT DISTINCT s.firm AS src, s.node AS dst, s.relation
            FROM sized s LEFT JOIN caps c USING (relation)
            WHERE s.firms <= coalesce(c.cap, 1000000000) AND s.relation <> 'officer'
            """
        ).to_arrow_table()
    finally:
        con.close()


def groups(ties: pa.Table, firms: list[str]) -> pa.Table:
    """``firm_id, group_id, group_size``: connected components over ``ties`` (igraph)."""
    nf, m = len(firms), ties.num_rows
    all_ids, inverse = np.unique(
        np.concatenate(
            [
                np.asarray(firms, dtype=str),
                ties["src"].to_numpy(zero_copy_only=False).astype(str),
                ties["dst"].to_numpy(zero_copy_only=False).astype(str),
            ]
        ),
        return_inverse=True,
    )
    s, d = inverse[nf : nf + m], inverse[nf + m :]
    g = ig.Graph(n=len(all_ids), edges=np.column_stack([s, d]).tolist(), directed=False)
    membership = np.asarray(g.connected_components(mode="weak").membership)
    is_firm = np.char.startswith(all_ids.astype(str), "ent:")
    firm_rows = np.flatnonzero(is_firm)
    comp = membership[firm_rows]
    sizes = np.bincount(comp, minlength=int(membership.max(initial=0)) + 1)
    # A group is named after its smallest firm id: stable while that firm is in it.
    order = np.lexsort((all_ids[firm_rows], comp))
    first = np.full(len(sizes), -1, dtype=np.int64)
    sorted_comp = comp[order]
    starts = np.flatnonzero(np.r_[True, sorted_comp[1:] != sorted_comp[:-1]])
    first[sorted_comp[starts]] = firm_rows[order[starts]]
    names = np.array(
        [
            "grp:" + hashlib.md5(all_ids[i].encode()).hexdigest()[:12] if i >= 0 else ""
            for i in first
        ]
    )
    return pa.table(
        {
            "firm_id": pa.array(all_ids[firm_rows].astype(object), pa.string()),
            "group_id": pa.array(names[comp].astype(object), pa.string()),
            "group_size": pa.array(sizes[comp], pa.int64()),
        }
    )


def contagion(edges: pa.Table, seeds: dict[str, float], settings: ContagionSettings) -> pa.Table:
    """``firm_id, score, percentile, seed``: personalised PageRank from the seeds."""
    weights = settings.weights
    keep = np.isin(edges["relation"].to_numpy(zero_copy_only=False), list(weights))
    sub = edges.filter(pa.array(keep))
    ids, s, d = _index(sub)
    rel = sub["relation"].to_numpy(zero_copy_only=False)
    share = sub["share"].to_numpy(zero_copy_only=False)
    w = np.array([weights[r] for r in rel], dtype=np.float64) if len(rel) else np.zeros(0)
    w = np.where(np.isnan(share.astype(np.float64)), w, w * np.nan_to_num(share.astype(np.float64)))
    g = ig.Graph(n=len(ids), edges=np.column_stack([s, d]).tolist(), directed=False)
    reset = np.zeros(len(ids))
    seed_ids = np.asarray(list(seeds), dtype=str)
    where = np.searchsorted(ids, seed_ids)
    found = (where < len(ids)) & (ids[np.minimum(where, len(ids) - 1)] == seed_ids)
    np.add.at(reset, where[found], np.asarray(list(seeds.values()))[found])
    is_firm = np.char.startswith(ids.astype(str), "ent:")
    if reset.sum() == 0 or len(ids) == 0:
        scores = np.zeros(len(ids))
    else:
        scores = np.asarray(
            g.personalized_pagerank(
                directed=False,
                damping=settings.damping,
                reset=reset.tolist(),
                weights=w.tolist() if len(w) else None,
            )
        )
    firm_scores = scores[is_firm]
    ranks = firm_scores.argsort().argsort()
    pct = ranks / max(len(firm_scores) - 1, 1)
    return pa.table(
        {
            "firm_id": pa.array(ids[is_firm].astype(object), pa.string()),
            "score": pa.array(firm_scores, pa.float64()),
            "percentile": pa.array(pct, pa.float64()),
            "seed": pa.array(reset[is_firm] > 0, pa.bool_()),
        }
    )
