"""Integrated ownership, control chains and ultimate controllers (穿透式股权).

Let ``A[o, f]`` be the share of firm ``f`` held directly by ``o`` (0–1). The *integrated*
share of ``u`` in ``f`` is the sum, over every chain ``u → … → f``, of the product of the
shares along it: ``T = A + A² + A³ + … = A (I − A)⁻¹`` (the standard formulation, e.g.
Brioschi, Buzzacchi & Colombo 1989; Vitali, Glattfelder & Battiston 2011). Only rows of
*terminal* holders are kept: persons, and firms nobody is recorded as owning. Cycles (A
holds B, B holds A) make chains of every length; their terms shrink geometrically, so the
sum is computed term by term — each term one join in DuckDB — until the largest new
contribution is below ``tolerance``. A closed loop that nobody outside holds has no
terminal holder and gets none (where ``(I − A)`` would be singular).

For each pair the strongest single chain (largest product; never revisiting a firm) is
kept as the *path* a reader can follow.

*Control*: a majority link is a holding above ``majority`` (50 %); a firm's controller by
chain is the top of its chain of majority links (a loop of majority links has none).
Without one, the single holder whose integrated share reaches ``majority`` controls, else the
largest holder if it reaches ``relative_control`` and leads the next by
``relative_margin``, else the firm's first officer in ``officer_roles``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse  # type: ignore[import-untyped]

from fengyan.graph.config import OwnershipSettings
from fengyan.graph.nodes import decode, decode_lists, node_index, prefix_range

BASES: Final = ("majority_chain", "integrated_majority", "largest_share", "officer_role")


@dataclass
class Controllers:
    """Integrated holdings per firm and the controller chosen for each."""

    holdings: pa.Table  # firm_id, holder_id, share, path, path_share, rank, beneficial_owner
    control: pa.Table  # firm_id, controller_id, basis, path
    iterations: int


def _edges(con: duckdb.DuckDBPyConnection) -> None:
    # One row per (owner, asset); shares summed, capped at 1, self-holdings dropped.
    con.execute(
        """
        CREATE OR REPLACE TABLE e AS
        SELECT owner, asset, least(sum(share), 1.0) AS share
        FROM edges_in WHERE owner <> asset AND share > 0 GROUP BY ALL;
        CREATE OR REPLACE TABLE terminal AS
        SELECT DISTINCT owner AS id FROM e WHERE owner NOT IN (SELECT asset FROM e);
        """
    )


def integrated(con: duckdb.DuckDBPyConnection, settings: OwnershipSettings) -> tuple[pa.Table, int]:
    """Integrated shares of terminal holders, with their strongest path (see module doc).

    Reads ``edges_in(owner, asset, share)`` registered on ``con``.
    """
    _edges(con)
    tol = settings.tolerance
    # Each round's new terms are appended to ``deltas`` and ``frontiers`` and summed once
    # at the end: re-aggregating the running totals every round grew with the rounds.
    con.execute(
        """
        CREATE OR REPLACE TABLE delta AS
        SELECT owner AS holder, asset AS firm, share AS share FROM e
        WHERE owner IN (SELECT id FROM terminal);
        CREATE OR REPLACE TABLE frontier AS
        SELECT holder, firm, share AS path_share, [holder, firm] AS path FROM delta;
        CREATE OR REPLACE TABLE deltas AS SELECT * FROM delta;
        CREATE OR REPLACE TABLE frontiers AS SELECT * FROM frontier;
        """
    )
    iterations = 1
    while iterations < settings.max_iterations:
        con.execute(
            """
            CREATE OR REPLACE TABLE delta AS
            SELECT d.holder, e.asset AS firm, sum(d.share * e.share) AS share
            FROM delta d JOIN e ON e.owner = d.firm
            GROUP BY ALL HAVING sum(d.share * e.share) >= ?
            """,
            [tol],
        )
        rows = con.execute("SELECT count(*) FROM delta").fetchall()[0][0]
        if rows == 0:
            break
        iterations += 1
        con.execute("INSERT INTO deltas SELECT * FROM delta")
        con.execute(
            """
            -- Strongest simple chains one link longer than the last round's.
            CREATE OR REPLACE TABLE frontier AS
            SELECT f.holder, e.asset AS firm,
                   max(f.path_share * e.share) AS path_share,
                   arg_max(list_append(f.path, e.asset), f.path_share * e.share) AS path
            FROM frontier f JOIN e ON e.owner = f.firm
            WHERE NOT list_contains(f.path, e.asset) AND f.path_share * e.share >= ?
            GROUP BY ALL
            """,
            [tol],
        )
        con.execute("INSERT INTO frontiers SELECT * FROM frontier")
    con.execute(
        """
        CREATE OR REPLACE TABLE total AS
        SELECT holder, firm, sum(share) AS share FROM deltas GROUP BY ALL;
        CREATE OR REPLACE TABLE best AS
        SELECT holder, firm, arg_max(path, path_share) AS path, max(path_share) AS path_share
        FROM frontiers GROUP BY ALL;
        DROP TABLE deltas; DROP TABLE frontiers; DROP TABLE delta; DROP TABLE frontier;
        """
    )
    table = con.sql(
        """
        SELECT t.firm AS firm_id, t.holder AS holder_id, least(t.share, 1.0) AS share,
               b.path, b.path_share
        FROM total t LEFT JOIN best b USING (holder, firm)
        ORDER BY firm_id, share DESC, holder_id
        """
    ).to_arrow_table()
    return table, iterations


def integrated_sparse(
    shareholdings: pa.Table,
    settings: OwnershipSettings,
    encoded: tuple[pa.Array, np.ndarray] | None = None,
) -> tuple[pa.Table, _ChainStore, int]:
    """:func:`integrated` as ``scipy.sparse`` products over integer node ids.

    ``shareholdings(owner, asset, share)``. The same terms as the DuckDB rounds — each round
    ``Δ ← Δ·A`` with entries below ``tolerance`` dropped, summed until a round adds nothing
    — and the same strongest simple chains, kept as one back pointer per chain end instead
    of a list: the chains are walked back only for the pairs a caller asks for
    (:func:`paths_of`). Returns ``firm_id, holder_id, share, path_share, pair`` (``pair``:
    the row's handle for :func:`paths_of`, -1 without a chain), the chain store, and the
    number of rounds. ``encoded``: :func:`encode` of ``owner`` and ``asset``, if known.
    """
    m = shareholdings.num_rows
    ids, codes = encoded or encode(shareholdings["owner"], shareholdings["asset"])
    n = len(ids)
    owner, asset = codes[:m], codes[m:]
    share = pc.fill_null(shareholdings["share"], 0.0).to_numpy(zero_copy_only=False)
    share = share.astype(np.float64)
    keep = (owner != asset) & (share > 0)
    a = sparse.csr_matrix((share[keep], (owner[keep], asset[keep])), shape=(n, n))
    a.sum_duplicates()
    a.data = np.minimum(a.data, 1.0)
    a.eliminate_zeros()
    is_owner = np.diff(a.indptr) > 0
    is_asset = np.bincount(a.indices, minlength=n) > 0
    terminal = np.flatnonzero(is_owner & ~is_asset)
    tol = settings.tolerance
    delta = a[terminal].tocsr()
    # Each round's terms, summed once at the end (adding to a running total copied it
    # every round); in round order, as the running total added them.
    terms = [delta.tocoo()]
    # The strongest simple chains, round by round: entry i of round k ends at node[k][i],
    # came from entry parent[k][i] of round k - 1 and holds share[k][i] (``holder``: the
    # row of ``terminal`` it starts from).
    first = delta.tocoo()
    nodes = [first.col.astype(np.int64)]
    holders = [first.row.astype(np.int64)]
    parents = [np.full(first.nnz, -1, dtype=np.int64)]
    shares = [first.data.astype(np.float64)]
    iterations = 1
    while iterations < settings.max_iterations:
        delta = delta @ a
        delta.data[delta.data < tol] = 0.0
        delta.eliminate_zeros()
        if delta.nnz == 0:
            break
        iterations += 1
        terms.append(delta.tocoo())
        _extend(a, terminal, nodes, holders, parents, shares, tol)
    total = sparse.csr_matrix(
        (
            np.concatenate([t.data for t in terms]),
            (np.concatenate([t.row for t in terms]), np.concatenate([t.col for t in terms])),
        ),
        shape=delta.shape,
    ).tocoo()
    del terms
    rows, firms, sums = total.row, total.col, total.data
    # The strongest chain of each (holder, firm) over all rounds (the shorter on a tie).
    chain = _best_chains(n, holders, nodes, shares)
    key = rows.astype(np.int64) * n + firms
    at = np.searchsorted(chain[0], key)
    at = np.minimum(at, max(len(chain[0]) - 1, 0))
    found = (chain[0][at] == key) if len(chain[0]) else np.zeros(len(key), dtype=bool)
    pair = np.where(found, at, -1)
    path_share = np.where(found, chain[1][at] if len(chain[0]) else 0.0, np.nan)
    table = pa.table(
        {
            "firm_id": ids.take(pa.array(firms)),
            "holder_id": ids.take(pa.array(terminal[rows])),
            "share": pa.array(np.minimum(sums, 1.0), pa.float64()),
            "path_share": pa.array(path_share, pa.float64(), mask=~found),
            "pair": pa.array(pair, pa.int64()),
        }
    )
    store = _ChainStore(ids, terminal, nodes, holders, parents, chain[2], chain[3])
    return table, store, iterations


def _extend(
    a: sparse.csr_matrix,
    terminal: np.ndarray,
    nodes: list[np.ndarray],
    holders: list[np.ndarray],
    parents: list[np.ndarray],
    shares: list[np.ndarray],
    tol: float,
) -> None:
    """One round of chains: each last round's chain one link longer, never revisiting a
    node, at least ``tol``; per (holder, node) the strongest (the first on a tie)."""
    node, share = nodes[-1], shares[-1]
    starts, ends = a.indptr[node], a.indptr[node + 1]
    lens = ends - starts
    total = int(lens.sum())
    src = np.repeat(np.arange(len(node)), lens)
    arcs = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(total)
    nxt = a.indices[arcs].astype(np.int64)
    value = share[src] * a.data[arcs]
    ok = value >= tol
    src, nxt, value = src[ok], nxt[ok], value[ok]
    # Not on the chain already: walk each candidate's chain back to its holder.
    holder = holders[-1][src]
    seen = terminal[holder] == nxt
    cur = src
    for level in range(len(nodes) - 1, -1, -1):
        seen |= nodes[level][cur] == nxt
        cur = parents[level][cur]
    src, nxt, value, holder = src[~seen], nxt[~seen], value[~seen], holder[~seen]
    # Strongest per (holder, node); ties to the earlier candidate (stable order).
    order = np.lexsort((-value, nxt, holder))
    src, nxt, value, holder = src[order], nxt[order], value[order], holder[order]
    first = np.ones(len(src), dtype=bool)
    first[1:] = (holder[1:] != holder[:-1]) | (nxt[1:] != nxt[:-1])
    nodes.append(nxt[first])
    holders.append(holder[first])
    parents.append(src[first])
    shares.append(value[first])


def _best_chains(
    n: int, holders: list[np.ndarray], nodes: list[np.ndarray], shares: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per (holder, node), sorted by ``holder * n + node``: the strongest chain's share,
    round and entry (over all rounds; the earlier round on a tie)."""
    if not holders or not sum(len(h) for h in holders):
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0), empty, empty
    key = np.concatenate([h * n + v for h, v in zip(holders, nodes, strict=True)])
    value = np.concatenate(shares)
    level = np.concatenate([np.full(len(h), k, dtype=np.int64) for k, h in enumerate(holders)])
    entry = np.concatenate([np.arange(len(h), dtype=np.int64) for h in holders])
    order = np.lexsort((level, -value, key))
    key, value, level, entry = key[order], value[order], level[order], entry[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    return key[first], value[first], level[first], entry[first]


@dataclass
class _ChainStore:
    """The back pointers of :func:`integrated_sparse`'s chains."""

    ids: pa.Array
    terminal: np.ndarray
    nodes: list[np.ndarray]
    holders: list[np.ndarray]
    parents: list[np.ndarray]
    level: np.ndarray  # per pair: the round of its strongest chain
    entry: np.ndarray  # … and its entry in that round


def paths_of(store: _ChainStore, pair: np.ndarray) -> pa.Array:
    """The strongest chain (holder first, firm last) of each ``pair`` handle; null for -1."""
    valid = pair >= 0
    level = np.where(valid, store.level[np.maximum(pair, 0)] if len(store.level) else 0, -1)
    entry = np.where(valid, store.entry[np.maximum(pair, 0)] if len(store.entry) else 0, 0)
    length = np.where(valid, level + 2, 0)  # holder + one node per round
    out = np.full(int(length.sum()), -1, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(length)])
    # Fill from the end of each path backwards, one round at a time.
    cur = entry.copy()
    for k in range(int(level.max()) if len(level) and level.max() >= 0 else -1, -1, -1):
        at = np.flatnonzero(level >= k)
        pos = offsets[at] + 1 + k
        out[pos] = store.nodes[k][cur[at]]
        if k == 0:
            out[offsets[at]] = store.terminal[store.holders[0][cur[at]]]
        cur[at] = store.parents[k][cur[at]]
    values = store.ids.take(pa.array(out))
    return pa.ListArray.from_arrays(
        pa.array(offsets.astype(np.int32)), values, mask=pa.array(~valid)
    )


def majority_chains(
    shareholdings: pa.Table,
    majority: float,
    inclusive: bool,
    encoded: tuple[pa.Array, np.ndarray] | None = None,
) -> pa.Table:
    """``firm_id, controller_id, path``: the top of each firm's chain of majority links.

    Vectorised pointer jumping over the majority parent of every firm (``log2 n`` rounds);
    firms whose chain runs into a loop get no row. Two majority holders (50/50 with
    ``inclusive``) is joint control: no single parent. ``encoded`` as for
    :func:`integrated_sparse`.
    """
    share = shareholdings["share"].to_numpy(zero_copy_only=False).astype(np.float64)
    ids, codes = encoded or encode(shareholdings["owner"], shareholdings["asset"])
    n = len(ids)
    o, a = codes[: shareholdings.num_rows], codes[shareholdings.num_rows :]
    keep = ((share >= majority) if inclusive else (share > majority)) & (o != a)
    o, a = o[keep], a[keep]
    parent = np.full(n, -1, dtype=np.int64)
    single = np.bincount(a, minlength=n)[a] == 1
    parent[a[single]] = o[single]
    up = np.where(parent >= 0, parent, np.arange(n))
    for _ in range(int(np.ceil(np.log2(max(n, 2)))) + 1):
        up = up[up]
    nodes = np.flatnonzero((parent >= 0) & (parent[up] < 0))
    # The chain of each firm, built level by level for all firms at once.
    levels, cur = [nodes], nodes
    while True:
        nxt = parent[cur]
        if not (nxt >= 0).any():
            break
        levels.append(np.where(nxt >= 0, nxt, -1))
        cur = np.where(nxt >= 0, nxt, cur)
    matrix = np.stack(levels[::-1], axis=1) if len(levels) > 1 else np.stack(levels, axis=1)
    # Rows are padded with -1 at the front (shorter chains); drop the padding.
    valid = matrix >= 0
    offsets = np.concatenate([[0], np.cumsum(valid.sum(axis=1))]).astype(np.int32)
    values = ids.take(pa.array(matrix[valid]))
    paths = pa.ListArray.from_arrays(pa.array(offsets), values)
    return pa.table(
        {
            "firm_id": ids.take(pa.array(nodes)),
            "controller_id": ids.take(pa.array(up[nodes])),
            "path": paths,
        }
    )


def encode(*columns: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """Distinct values of the string (or integer: node codes) ``columns`` (first-seen
    order) and every row's index into them, the columns one after the other (hash-based:
    no sort of the strings)."""
    chunks = [
        chunk if pa.types.is_integer(chunk.type) else chunk.cast(pa.string())
        for column in columns
        for chunk in (column.chunks if isinstance(column, pa.ChunkedArray) else [column])
    ]
    both = pa.concat_arrays(chunks) if chunks else pa.array([], pa.string())
    if pa.types.is_integer(both.type) and len(both) and not both.null_count:
        values = both.to_numpy()
        low, high = int(values.min()), int(values.max())
        # Node codes: small and dense, so a table indexed by value does what the hash
        # table would, in numpy's passes (a third of the time at a city's size).
        if low >= 0 and high < max(4 * len(values), 1 << 20):
            distinct, codes = _dense_first_seen(values, high + 1)
            return pa.array(distinct, both.type), codes
    # One hash pass (null a value like any other): the dictionary is the distinct values
    # in first-seen order, the indices every row's place in it (``unique`` then
    # ``index_in`` hashed every value twice).
    encoded = pc.dictionary_encode(both, null_encoding="encode")
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    return encoded.dictionary, codes.astype(np.int64)


def _dense_first_seen(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`encode` of integers in ``[0, size)``: the distinct ones in first-seen order
    and every value's place among them (``int64``)."""
    first = np.full(size, len(values), dtype=np.int64)
    np.minimum.at(first, values, np.arange(len(values), dtype=np.int64))
    is_first = np.zeros(len(values), dtype=bool)
    is_first[first[first < len(values)]] = True
    del first
    distinct = values[is_first]  # in the order of their first rows
    del is_first
    place = np.empty(size, dtype=np.int64)
    place[distinct] = np.arange(len(distinct), dtype=np.int64)
    codes: np.ndarray = place[values]
    return distinct, codes


def controllers(
    shareholdings: pa.Table, officers: pa.Table, settings: OwnershipSettings
) -> Controllers:
    """Holdings and controllers from ``shareholdings(owner, asset, share)`` (0–1) and
    ``officers(person, firm, role)``, all canonical ids."""
    ids, (owner, asset, person, firm) = node_index(
        shareholdings["owner"], shareholdings["asset"], officers["person"], officers["firm"]
    )
    roles = pa.array(list(settings.officer_roles), pa.string())
    coded = controller_codes(
        pa.table({"owner": owner, "asset": asset, "share": shareholdings["share"]}),
        pa.table(
            {
                "person": person,
                "firm": firm,
                "role_rank": pc.index_in(officers["role"].cast(pa.string()), value_set=roles),
            }
        ),
        settings,
        prefix_range(ids, "per:"),
    )
    return decode_controllers(ids, coded)


def controller_codes(
    shareholdings: pa.Table,
    officers: pa.Table,
    settings: OwnershipSettings,
    persons: tuple[int, int],
) -> Controllers:
    """:func:`controllers` over node codes (:mod:`fengyan.graph.nodes`; code order is id
    order, so every ranking and tie-break is the one over ids): ``shareholdings(owner,
    asset, share)``, ``officers(person, firm, role_rank)`` with ``role_rank`` the place of
    the officer's role in ``officer_roles`` (null if not there) and ``persons`` the range
    of person codes. The tables hold codes: :func:`decode_controllers` turns them to ids."""
    # One numbering of the holding nodes for both uses (it is the same computation).
    encoded = encode(shareholdings["owner"], shareholdings["asset"])
    holdings, store, iterations = integrated_sparse(shareholdings, settings, encoded)
    con = duckdb.connect()
    try:
        con.register("holdings_in", holdings)
        ranked = con.sql(
            """
            SELECT *, row_number() OVER (PARTITION BY firm_id ORDER BY share DESC, holder_id)
                      AS rank,
                   holder_id >= ? AND holder_id < ? AND share >= ? AS beneficial_owner
            FROM holdings_in WHERE share >= ?
            QUALIFY rank <= ?
            ORDER BY firm_id, rank
            """,
            params=[*persons, settings.beneficial_owner, settings.min_share, settings.top],
        ).to_arrow_table()
        con.unregister("holdings_in")
        del holdings
        # Chains only for the holders reported (a few per firm, not every pair).
        paths = paths_of(store, ranked["pair"].to_numpy(zero_copy_only=False))
        del store
        ranked = pa.table(
            {
                "firm_id": ranked["firm_id"],
                "holder_id": ranked["holder_id"],
                "share": ranked["share"],
                "path": paths,
                "path_share": ranked["path_share"],
                "rank": ranked["rank"],
                "beneficial_owner": ranked["beneficial_owner"],
            }
        )
        con.register("ranked", ranked)
        con.register(
            "chains",
            majority_chains(shareholdings, settings.majority, settings.inclusive, encoded),
        )
        del encoded
        con.register("officers_in", officers)
        control = _choose(con, settings)
    finally:
        con.close()
    return Controllers(ranked, control, iterations)


def decode_controllers(ids: pa.Array, coded: Controllers) -> Controllers:
    """The tables of :func:`controller_codes` with ids in place of codes."""
    h, c = coded.holdings, coded.control
    holdings = pa.table(
        {
            "firm_id": decode(ids, h["firm_id"]),
            "holder_id": decode(ids, h["holder_id"]),
            "share": h["share"],
            "path": decode_lists(ids, h["path"]),
            "path_share": h["path_share"],
            "rank": h["rank"],
            "beneficial_owner": h["beneficial_owner"],
        }
    )
    control = pa.table(
        {
            "firm_id": decode(ids, c["firm_id"]),
            "controller_id": decode(ids, c["controller_id"]),
            "basis": c["basis"],
            "path": decode_lists(ids, c["path"]),
        }
    )
    return Controllers(holdings, control, coded.iterations)


def _choose(con: duckdb.DuckDBPyConnection, settings: OwnershipSettings) -> pa.Table:
    """One controller per firm by the rules of the module docstring, in order."""
    above = ">=" if settings.inclusive else ">"
    return con.sql(
        f"""
        WITH top AS (
            SELECT firm_id, holder_id, share, path,
                   lead(share) OVER (PARTITION BY firm_id ORDER BY rank) AS runner_up, rank
            FROM ranked QUALIFY rank = 1
        ), officer AS (
            SELECT firm AS firm_id, arg_min(person, (role_rank, person)) AS person
            FROM officers_in WHERE role_rank IS NOT NULL GROUP BY firm
        ), firms AS (
            SELECT firm_id FROM ranked UNION SELECT firm_id FROM chains
            UNION SELECT firm_id FROM officer
        )
        SELECT f.firm_id,
               CASE WHEN c.firm_id IS NOT NULL THEN c.controller_id
                    WHEN t.share {above} $maj AND coalesce(t.runner_up, 0) < t.share
                         THEN t.holder_id
                    WHEN t.share >= $rel AND t.share - coalesce(t.runner_up, 0) >= $margin
                         THEN t.holder_id
                    ELSE o.person END AS controller_id,
               CASE WHEN c.firm_id IS NOT NULL THEN 'majority_chain'
                    WHEN t.share {above} $maj AND coalesce(t.runner_up, 0) < t.share
                         THEN 'integrated_majority'
                    WHEN t.share >= $rel AND t.share - coalesce(t.runner_up, 0) >= $margin
                         THEN 'largest_share'
                    WHEN o.person IS NOT NULL THEN 'officer_role' END AS basis,
               CASE WHEN c.firm_id IS NOT NULL THEN c.path
                    WHEN t.share >= $rel AND t.share - coalesce(t.runner_up, 0) >= $margin
                         THEN t.path
                    ELSE [o.person, f.firm_id] END AS path
        FROM firms f
        LEFT JOIN chains c USING (firm_id)
        LEFT JOIN top t USING (firm_id)
        LEFT JOIN officer o USING (firm_id)
        WHERE c.firm_id IS NOT NULL OR o.person IS NOT NULL
           OR (t.share {above} $maj AND coalesce(t.runner_up, 0) < t.share)
           OR (t.share >= $rel AND t.share - coalesce(t.runner_up, 0) >= $margin)
        ORDER BY f.firm_id
        """,  # noqa: S608 - the comparison operator is one of two constants
        params={
            "maj": settings.majority,
            "rel": settings.relative_control,
            "margin": settings.relative_margin,
        },
    ).to_arrow_table()
