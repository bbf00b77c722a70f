"""Groups of firms (connected components).

*Groups*: weakly connected components (``scipy.sparse.csgraph``) of a graph whose nodes
are firms, key people and contact points, and whose edges are the relations named in the
settings (control, key people, shared phone, e-mail, domain …). A contact point or person
tied to more firms than ``max_firms`` is left out — a business centre or a registration
agent's phone is evidence of a cluster, not of common control — and shows up in the
signals (:mod:`fengyan.graph.signals`) instead. Contagion is :mod:`fengyan.graph.contagion`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse  # type: ignore[import-untyped]
from scipy.sparse.csgraph import connected_components  # type: ignore[import-untyped]

from fengyan.graph.build import EdgeCodes
from fengyan.graph.config import GroupSettings
from fengyan.graph.nodes import decode, prefix_range
from fengyan.graph.ownership import encode

CONTACTS: Final = ("address", "phone", "email", "domain", "server_ip")


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
                -- Holdings point at the firm (holder → firm); contact ties start at it
                -- (firm → phone), so the firm is whichever end is an enterprise id.
                SELECT CASE WHEN dst LIKE 'ent:%' THEN dst ELSE src END AS firm,
                       CASE WHEN dst LIKE 'ent:%' THEN src ELSE dst END AS node, relation
                FROM edges
                WHERE relation IN (SELECT relation FROM wanted)
                UNION ALL
                SELECT e.dst, e.src, 'key_person' FROM edges e
                WHERE e.relation = 'officer' AND e.role IN (SELECT role FROM roles)
                  AND 'key_person' IN (SELECT relation FROM wanted)
                UNION ALL
                SELECT firm_id, controller_id, 'control' FROM control
                WHERE 'control' IN (SELECT relation FROM wanted) AND controller_id IS NOT NULL
            ), sized AS (
                SELECT node, relation, count(DISTINCT firm) AS firms FROM ties GROUP BY ALL
            )
            SELECT DISTINCT t.firm AS src, t.node AS dst, t.relation
            FROM ties t JOIN sized s USING (node, relation) LEFT JOIN caps c USING (relation)
            WHERE s.firms <= coalesce(c.cap, 1000000000) AND t.relation <> 'officer'
            """
        ).to_arrow_table()
    finally:
        con.close()


def components(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The connected component of each of ``n`` nodes joined by the undirected edges
    ``src``–``dst`` (``scipy.sparse.csgraph``: a sparse matrix instead of igraph's
    graph object, about five times faster to build and walk at a city's size; the same
    partition, numbered differently)."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    adjacency = sparse.csr_matrix(
        (np.ones(len(src), dtype=np.int8), (src.astype(np.int64), dst.astype(np.int64))),
        shape=(n, n),
    )
    _, labels = connected_components(adjacency, directed=False)
    return np.asarray(labels, dtype=np.int64)


def groups(ties: pa.Table, firms: Sequence[str] | pa.Array | pa.ChunkedArray) -> pa.Table:
    """``firm_id, group_id, group_size``: connected components over ``ties``.

    Every ``ent:`` node is a firm: those of ``firms`` (a firm tied to nobody is a group of
    one) and those the ties name. A group is named after its smallest firm id (stable while
    that firm is in it); rows are ordered by firm id.
    """
    listed = (
        firms if isinstance(firms, pa.Array | pa.ChunkedArray) else pa.array(firms, pa.string())
    )
    ids, codes = encode(listed, ties["src"], ties["dst"])
    nf, m = len(listed), ties.num_rows
    membership = components(len(ids), codes[nf : nf + m], codes[nf + m :])
    is_firm = pc.starts_with(ids, "ent:").to_numpy(zero_copy_only=False)
    con = duckdb.connect()
    try:
        con.register(
            "member",
            pa.table({"firm_id": ids.filter(pa.array(is_firm)), "comp": membership[is_firm]}),
        )
        return con.sql(
            """
            SELECT firm_id,
                   'grp:' || left(md5(min(firm_id) OVER (PARTITION BY comp)), 12) AS group_id,
                   count(*) OVER (PARTITION BY comp) AS group_size
            FROM member ORDER BY firm_id
            """
        ).to_arrow_table()
    finally:
        con.close()


def group_edge_codes(edges: EdgeCodes, control: pa.Table, settings: GroupSettings) -> pa.Table:
    """:func:`group_edges` over node codes: ``src`` (the firm), ``dst`` (the node).

    ``control(firm_id, controller_id)`` in codes too. The relation of a tie is a code of
    its own here; only the pairs matter to :func:`group_codes`.
    """
    firms = prefix_range(edges.ids, "ent:")
    wanted = [edges.relation_code(r) for r in settings.relations if r != "officer"]
    wanted = [c for c in wanted if c >= 0]
    key_person, ctrl = len(edges.relations), len(edges.relations) + 1  # codes of their own
    codes = {name: i for i, name in enumerate(edges.relations)}
    codes.update({"key_person": key_person, "control": ctrl})
    caps = pa.table(
        {
            "relation": pa.array([codes.get(r, -1) for r in settings.max_firms], pa.int64()),
            "cap": pa.array(list(settings.max_firms.values()), pa.int64()),
        }
    )
    officer = edges.relation_code("officer")
    roles = edges.role_codes(settings.key_person_roles)
    con = duckdb.connect()
    try:
        con.register("edges", edges.coded())
        con.register("control", control)
        con.register("caps", caps)
        con.register("wanted", pa.table({"relation": pa.array(wanted, pa.int64())}))
        con.register("roles", pa.table({"role": pa.array(roles, pa.int64())}))
        return con.sql(
            """
            WITH ties AS (
                SELECT CASE WHEN dst >= $lo AND dst < $hi THEN dst ELSE src END AS firm,
                       CASE WHEN dst >= $lo AND dst < $hi THEN src ELSE dst END AS node,
                       relation::BIGINT AS relation
                FROM edges
                WHERE relation IN (SELECT relation FROM wanted)
                UNION ALL
                SELECT e.dst, e.src, $key_person FROM edges e
                WHERE e.relation = $officer AND e.role IN (SELECT role FROM roles)
                  AND $use_key_person
                UNION ALL
                SELECT firm_id, controller_id, $control FROM control
                WHERE $use_control AND controller_id IS NOT NULL
            ), sized AS (
                SELECT node, relation, count(DISTINCT firm) AS firms FROM ties GROUP BY ALL
            )
            SELECT DISTINCT t.firm AS src, t.node AS dst
            FROM ties t JOIN sized s USING (node, relation) LEFT JOIN caps c USING (relation)
            WHERE s.firms <= coalesce(c.cap, 1000000000)
            """,
            params={
                "lo": firms[0],
                "hi": firms[1],
                "key_person": key_person,
                "control": ctrl,
                "officer": officer,
                "use_key_person": "key_person" in settings.relations,
                "use_control": "control" in settings.relations,
            },
        ).to_arrow_table()
    finally:
        con.close()


def group_codes(ids: pa.Array, ties: pa.Table, firms: np.ndarray) -> pa.Table:
    """:func:`groups` over node codes: ``ties(src, dst)`` and the codes of ``firms`` index
    the sorted node dictionary ``ids``; the table holds ids."""
    n = len(ids)
    src = ties["src"].to_numpy().astype(np.int64) if ties.num_rows else np.zeros(0, np.int64)
    dst = ties["dst"].to_numpy().astype(np.int64) if ties.num_rows else np.zeros(0, np.int64)
    membership = components(n, src, dst)
    present = np.zeros(n, dtype=bool)
    present[firms[firms >= 0]] = True
    present[src] = True
    present[dst] = True
    del src, dst
    lo, hi = prefix_range(ids, "ent:")
    # Firms in code order, which is id order.
    member = lo + np.flatnonzero(present[lo:hi])
    comp = membership[member]
    del membership, present
    # A group's name comes from its smallest firm: its first member in code order.
    labels, first, which, size = np.unique(
        comp, return_index=True, return_inverse=True, return_counts=True
    )
    del labels, comp
    heads = member[first]
    con = duckdb.connect()
    try:
        con.register("head", pa.table({"firm_id": decode(ids, heads)}))
        # A projection keeps the rows' order (DuckDB's preserve_insertion_order).
        named = con.sql("SELECT 'grp:' || left(md5(firm_id), 12) AS group_id FROM head")
        group_id = named.to_arrow_table()["group_id"].combine_chunks()
    finally:
        con.close()
    return pa.table(
        {
            "firm_id": decode(ids, member),
            "group_id": group_id.take(pa.array(which)),
            "group_size": pa.array(size[which], pa.int64()),
        }
    )
