"""Risk contagion: personalised PageRank from high-risk firms, and where each score comes from.

*Score*: personalised PageRank over the undirected firm–person–contact graph. Each edge
weighs its relation's weight from the settings (a shareholding's times its share); a walker
moves to a neighbour with probability proportional to the edge weight, with probability
``1 − damping`` (and always at a node with no weighted edge) it jumps back to a seed,
chosen in proportion to the seeds' weights. The score is the share of time the walker
spends at each node; scores sum to one. This is igraph's ``personalized_pagerank``
(undirected, weighted; ``tests/graph/test_contagion.py`` checks the two agree to 1e-9),
solved here by conjugate gradients over a ``scipy.sparse`` matrix (:func:`pagerank`) because
building an igraph graph of 20 million edges from Python alone costs more than the whole
solution.

*Source*: for each node, the seed whose single most probable walk reaches it — the walk
that maximises ``weight(seed) · Π damping · w(u, v) / strength(u)`` over at most
``explain_max_hops`` steps (a shortest path with costs ``−log``, by frontier Bellman–Ford
in numpy). The score sums over all walks from all seeds; the source names the seed that
the strongest of them starts from, and how many steps it takes. Nodes no walk of at most
``explain_max_hops`` steps reaches have none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse  # type: ignore[import-untyped]

from fengyan.graph.config import ContagionSettings
from fengyan.graph.nodes import codes_of, decode, node_index, prefix_range
from fengyan.graph.ownership import encode

CONTAGION_SCHEMA = pa.schema(
    [
        ("firm_id", pa.string()),
        ("score", pa.float64()),
        ("percentile", pa.float64()),
        ("seed", pa.bool_()),
        ("source_seed", pa.string()),
        ("source_hops", pa.int16()),
    ]
)


def merge_parallel(
    n: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One edge per pair of nodes, weights summed: the walk is the same, with a third fewer
    edges to walk (a person is often officer and shareholder of one firm)."""
    low = np.minimum(src, dst).astype(np.int64)
    high = np.maximum(src, dst).astype(np.int64)
    pairs, which = _unique_pairs(low, high, max(n, 1))
    summed = np.bincount(which, weights=weight, minlength=len(pairs))
    # Indices stay intp: numpy converts narrower ones on every gather and bincount.
    return pairs // max(n, 1), pairs % max(n, 1), summed


def _unique_pairs(low: np.ndarray, high: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(low * n + high, return_inverse=True)`` for ``low``, ``high`` in ``[0, n)``.

    The rows are ordered by two sorts of plain integers (:func:`stable_order`, by ``high``
    then by ``low``) instead of numpy's argsort of the keys: several times faster for the
    tens of millions of edges of a city, and the same pairs and inverse.
    """
    if len(low) < 2:
        pairs, which = np.unique(low * n + high, return_inverse=True)
        return pairs, which
    by_high = stable_order(high, n)
    order = by_high[stable_order(low[by_high], n)]
    del by_high
    key = low[order] * n + high[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    which = np.empty(len(key), dtype=np.intp)
    which[order] = np.cumsum(first) - 1
    return key[first], which


def pagerank(
    n: int,
    src: np.ndarray,
    dst: np.ndarray,
    weight: np.ndarray,
    reset: np.ndarray,
    damping: float,
    tolerance: float = 1e-10,
    max_iterations: int = 1000,
    strength: np.ndarray | None = None,
    lone: np.ndarray | None = None,
) -> np.ndarray:
    """Personalised PageRank of an undirected weighted multigraph.

    ``src``/``dst``/``weight``: one entry per edge (both directions are walked; a loop
    counts twice, as in igraph). ``reset``: the restart weight of every node (not all zero).
    ``strength``: :func:`_strength` of the edges, when the caller has it already.
    ``lone``: nodes to solve for from their one neighbour (:func:`lone_nodes`), see below.

    The scores solve ``x = d·P·x + (d·Σ x[dangling] + 1 − d)·r`` with ``P = A·D⁻¹``; the
    bracket is a number, so ``x`` is ``(I − d·P)⁻¹ r`` scaled to sum to one. On an
    undirected graph ``I − d·P`` is similar to the symmetric ``I − d·D^-½·A·D^-½``, whose
    eigenvalues lie in ``[1 − d, 1 + d]``: conjugate gradients solve it to a relative
    residual of ``tolerance`` in about 45 matrix products at d = 0.85, where the power
    iteration needs 130.

    A ``lone`` node ℓ (one edge, of weight w, to u; no restart weight) has the equation
    ``z_ℓ = d·S_ℓu·z_u``. Put into u's equation, it adds ``−d²·w/s_u`` to u's diagonal
    (``S_uℓ² = w / s_u``): the conjugate gradients run on the other nodes only, with that
    diagonal, and each lone node's score is then ``d·w·z_u / √s_u`` (:class:`_Lone`).
    The same solution; in a city most contact points are a lone firm's, a third of the
    nodes. The scores differ from the plain solve's by the solver's tolerance.
    """
    if strength is None:
        strength = _strength(n, src, dst, weight)
    cut = _Lone.of(n, src, dst, weight, reset, lone) if lone is not None and lone.any() else None
    if cut is not None:
        src, dst, weight = cut.src, cut.dst, cut.weight
        strength, reset_c = strength[cut.core], reset[cut.core]
    else:
        reset_c = reset
    nc = len(strength)
    live = strength > 0
    root = np.sqrt(strength)
    inv_root = np.divide(1.0, root, out=np.zeros(nc), where=live)
    matrix = _normalised(nc, src, dst, weight, inv_root)
    del src, dst, weight
    r = reset_c / reset.sum()
    b = np.where(live, r * inv_root, 0.0)
    diagonal = None if cut is None else cut.diagonal(strength, live, damping)
    z = _conjugate_gradients(matrix, diagonal, damping, b, tolerance, max_iterations)
    # A node without weighted edges keeps only what restarts there.
    y = np.where(live, z * root, r)
    if cut is not None:
        y = cut.spread(y, z, inv_root, damping)
    return np.asarray(y / y.sum())


def lone_nodes(
    n: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray, fixed: np.ndarray
) -> np.ndarray:
    """The nodes :func:`pagerank` may solve for from their neighbour: not ``fixed``, with
    one edge (of positive weight) whose other end is not such a node too."""
    degree = np.bincount(src, minlength=n) + np.bincount(dst, minlength=n)
    lone: np.ndarray = (degree == 1) & ~fixed
    at_src, at_dst = lone[src], lone[dst]
    bad = (at_src & at_dst) | ((at_src | at_dst) & ~(weight > 0))
    lone[src[bad]] = False
    lone[dst[bad]] = False
    return lone


@dataclass
class _Lone:
    """The edges of a graph without its lone nodes (:func:`lone_nodes`), renumbered over
    the ``core`` nodes, and each lone node's one edge (``leaf`` — ``attach``, ``leaf_w``)."""

    core: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    leaf: np.ndarray
    attach: np.ndarray  # the core place of each lone node's neighbour
    leaf_w: np.ndarray

    @classmethod
    def of(
        cls,
        n: int,
        src: np.ndarray,
        dst: np.ndarray,
        weight: np.ndarray,
        reset: np.ndarray,
        lone: np.ndarray,
    ) -> _Lone:
        """Split the edges ``src — dst`` at the ``lone`` nodes."""
        if (reset[lone] != 0).any():
            raise ValueError("a node with a restart weight cannot be solved for from its neighbour")
        at_src, at_dst = lone[src], lone[dst]
        pendant = at_src | at_dst
        if int(pendant.sum()) != int(lone.sum()) or (at_src & at_dst).any():
            raise ValueError(
                "a node solved for from its neighbour must have one edge, to a core node"
            )
        core = np.flatnonzero(~lone)
        place = np.full(n, -1, dtype=np.intp)
        place[core] = np.arange(len(core))
        keep = ~pendant
        return cls(
            core,
            place[src[keep]],
            place[dst[keep]],
            weight[keep].astype(np.float64),
            np.where(at_src, src, dst)[pendant],
            place[np.where(at_src, dst, src)[pendant]],
            weight[pendant].astype(np.float64),
        )

    def diagonal(self, strength: np.ndarray, live: np.ndarray, damping: float) -> np.ndarray:
        """``1 − d²·L/s`` of each core node (``L``: the weight of its lone neighbours)."""
        lone_weight = np.bincount(self.attach, weights=self.leaf_w, minlength=len(self.core))
        ratio = np.divide(lone_weight, strength, out=np.zeros(len(strength)), where=live)
        out: np.ndarray = 1.0 - damping * damping * ratio
        return out

    def spread(
        self, y: np.ndarray, z: np.ndarray, inv_root: np.ndarray, damping: float
    ) -> np.ndarray:
        """Every node's score from the core's (``y``, its solution ``z``)."""
        out = np.empty(len(self.core) + len(self.leaf))  # one edge per lone node
        out[self.core] = y
        out[self.leaf] = damping * self.leaf_w * z[self.attach] * inv_root[self.attach]
        return out


def _normalised(
    n: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray, inv_root: np.ndarray
) -> sparse.csr_matrix:
    """``S = D^-½ A D^-½`` of the edges as a sparse matrix (row: target, column: source;
    parallel arcs and both halves of a loop summed): one compiled product per step."""
    frm = np.concatenate([src, dst]).astype(np.intp, copy=False)
    to = np.concatenate([dst, src]).astype(np.intp, copy=False)
    w = np.concatenate([weight, weight]).astype(np.float64, copy=False)
    p = (w * inv_root[frm]) * inv_root[to]
    del w
    return sparse.csr_matrix((p, (to, frm)), shape=(n, n))


def _conjugate_gradients(
    matrix: sparse.csr_matrix,
    diagonal: np.ndarray | None,
    damping: float,
    b: np.ndarray,
    tolerance: float,
    max_iterations: int,
) -> np.ndarray:
    """``z`` with ``diag(diagonal)·z − damping·matrix·z = b`` (no ``diagonal``: ones) to
    a relative residual of ``tolerance``; the system is symmetric positive definite."""
    # The vector updates write into arrays allocated once: a fresh array of millions of
    # floats per operation cost page faults and memory traffic every step. Each operation
    # is the one it replaces (``a * x`` is ``x * a``, ``x + y`` is ``y + x``): the same bits.
    scratch = np.empty(len(b))

    def apply(v: np.ndarray) -> np.ndarray:
        """(diag − d·S) v in the product's own array."""
        out: np.ndarray = matrix @ v
        out *= damping
        first = v if diagonal is None else np.multiply(diagonal, v, out=scratch)
        np.subtract(first, out, out=out)
        return out

    z = np.zeros(len(b))
    residual = b.copy()
    direction = residual.copy()
    rs = float(residual @ residual)
    stop = (tolerance * float(np.sqrt(b @ b))) ** 2
    for _ in range(max_iterations):
        if rs <= stop:
            break
        product = apply(direction)
        alpha = rs / float(direction @ product)
        z += np.multiply(direction, alpha, out=scratch)  # z += alpha * direction
        residual -= np.multiply(product, alpha, out=scratch)  # residual -= alpha * product
        del product
        rs_next = float(residual @ residual)
        direction *= rs_next / rs  # direction = residual + (rs_next / rs) * direction
        direction += residual
        rs = rs_next
    return z


def stable_order(values: np.ndarray, n: int) -> np.ndarray:
    """``np.argsort(values, kind="stable")`` of integers in ``[0, n)``.

    Each value and its place are packed into one integer, so a plain sort of integers (no
    indirection: several times faster than numpy's stable argsort) gives the order.
    """
    place_bits = max(len(values) - 1, 1).bit_length()
    if max(n - 1, 1).bit_length() + place_bits > 63:
        return np.argsort(values, kind="stable")
    key = values.astype(np.int64) << place_bits
    key |= np.arange(len(values), dtype=np.int64)
    key.sort()
    key &= (1 << place_bits) - 1
    return key


def sources(
    n: int,
    src: np.ndarray,
    dst: np.ndarray,
    weight: np.ndarray,
    reset: np.ndarray,
    damping: float,
    max_hops: int,
    strength: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(source, hops)`` per node: the seed index of the most probable walk of at most
    ``max_hops`` steps that reaches it, and its length (``-1, -1`` when none does).

    ``strength``: each node's summed weight as :func:`pagerank` computes it (computed
    here when not given). The arcs are kept in two lists, ``src → dst`` and ``dst → src``,
    each grouped by its first end: the edges of :func:`merge_parallel` come grouped by
    ``src`` already, so only the other direction is sorted. Every step takes the minimum
    over the arcs leaving the active nodes, in whatever order, so the lists give what one
    list of both directions gave.
    """
    if strength is None:
        strength = _strength(n, src, dst, weight)
    halves = [_arcs(n, a, b, weight, strength, damping) for a, b in ((src, dst), (dst, src))]
    best = np.full(n, np.inf)
    source = np.full(n, -1, dtype=np.int64)
    hops = np.full(n, -1, dtype=np.int16)
    seeds = np.flatnonzero(reset > 0)
    best[seeds] = -np.log(reset[seeds] / reset.sum())
    source[seeds] = seeds
    hops[seeds] = 0
    active = seeds
    for step in range(1, max_hops + 1):
        cands, targets, origins = [], [], []
        for starts, to, cost in halves:
            lens = starts[active + 1] - starts[active]
            total = int(lens.sum())
            if not total:
                continue
            # The arcs leaving the active nodes: their runs in the sorted arc list. An
            # arc's own end is its run's node: repeated from the active nodes, not
            # gathered per arc.
            arcs = np.repeat(starts[active] - np.cumsum(lens) + lens, lens) + np.arange(total)
            cand = np.repeat(best[active], lens)
            cand += cost[arcs]
            cands.append(cand)
            targets.append(to[arcs])
            origins.append(np.repeat(source[active], lens))
        if not cands:
            break
        cand, target, origin = (np.concatenate(x) for x in (cands, targets, origins))
        del cands, targets, origins
        new = best.copy()
        np.minimum.at(new, target, cand)
        improved = new < best
        win = improved[target] & (cand == new[target])
        # Ties between equally probable walks go to the smaller seed index.
        pick = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(pick, target[win], origin[win])
        active = np.flatnonzero(improved)
        best[active] = new[active]
        source[active] = pick[active]
        hops[active] = step
    return source, hops


def _strength(n: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Each node's summed edge weight, both ends of each edge, summed in the order of the
    edges as ``src`` then as ``dst`` (the order fixes the bits)."""
    frm = np.concatenate([src, dst])
    w = np.concatenate([weight, weight])
    out: np.ndarray = np.bincount(frm, weights=w, minlength=n)
    return out


def _arcs(
    n: int,
    frm: np.ndarray,
    to: np.ndarray,
    weight: np.ndarray,
    strength: np.ndarray,
    damping: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The arcs ``frm → to`` of positive weight grouped by ``frm`` (stably): each node's
    first arc (``starts``, ``n + 1`` entries), the arcs' other ends and their costs
    ``−log(damping · w / strength[frm])``."""
    keep = weight > 0
    if not keep.all():
        frm, to, weight = frm[keep], to[keep], weight[keep]
    del keep
    cost = -np.log(damping * weight / strength[frm])
    if len(frm) > 1 and not (frm[1:] >= frm[:-1]).all():
        order = stable_order(frm, n)
        to, cost = to[order], cost[order]
        del order
    starts = np.concatenate([[0], np.cumsum(np.bincount(frm, minlength=n))])
    return starts, to, cost


def contagion(edges: pa.Table, seeds: dict[str, float], settings: ContagionSettings) -> pa.Table:
    """``firm_id, score, percentile, seed, source_seed, source_hops`` (module docstring).

    ``percentile``: the share of firms with a lower score (tied firms share one value).
    Rows are ordered by firm id.
    """
    ids, (src, dst) = node_index(edges["src"], edges["dst"])
    relation = pc.dictionary_encode(edges["relation"].combine_chunks())
    share = pc.fill_null(edges["share"], np.nan).to_numpy(zero_copy_only=False)
    return contagion_codes(
        ids,
        src,
        dst,
        relation.indices.to_numpy(zero_copy_only=False),
        tuple(relation.dictionary.to_pylist()),
        share.astype(np.float64),
        seeds,
        settings,
    )


def contagion_codes(
    ids: pa.Array,
    src: np.ndarray,
    dst: np.ndarray,
    relation: np.ndarray,
    relations: tuple[str, ...],
    share: np.ndarray,
    seeds: dict[str, float],
    settings: ContagionSettings,
) -> pa.Table:
    """:func:`contagion` of the edges ``src → dst`` given as codes into the sorted node
    dictionary ``ids`` (:mod:`fengyan.graph.nodes`), each of relation
    ``relations[relation]`` and ``share`` (NaN: none)."""
    weights = settings.weights
    per_relation = np.array([weights.get(r, np.nan) for r in relations], dtype=np.float64)
    w = per_relation[relation.astype(np.int64)] if len(relation) else np.zeros(0)
    wanted = ~np.isnan(w)
    if not wanted.all():
        src, dst, w, share = src[wanted], dst[wanted], w[wanted], share[wanted]
    del wanted
    w = np.where(np.isnan(share), w, w * share)
    # The graph's own nodes, numbered in order of first sight as the edges list them (the
    # numbering decides the order of sums and of ties below: kept as it always was).
    local, codes = encode(pa.array(src), pa.array(dst))
    n, m = len(local), len(src)
    s, d = codes[:m], codes[m:]
    del codes
    node = local.to_numpy(zero_copy_only=False).astype(np.int64)
    reset = np.zeros(n)
    if seeds and n:
        seed_codes = codes_of(ids, pa.array(list(seeds), pa.string())).astype(np.int64)
        # Each seed's place among the graph's nodes (-1: no edge), by a table over the
        # node codes rather than hashing the millions of nodes.
        place = np.full(len(ids) + 1, -1, dtype=np.int64)  # the last entry: no code
        place[node] = np.arange(n, dtype=np.int64)
        at_np = place[np.where(seed_codes >= 0, seed_codes, len(ids))]
        del place
        found = at_np >= 0
        np.add.at(
            reset,
            at_np[found],
            np.asarray(list(seeds.values()), dtype=np.float64)[found],
        )
    lo, hi = prefix_range(ids, "ent:")
    is_firm = (node >= lo) & (node < hi)
    if reset.sum() > 0:
        c = settings
        s, d, w = merge_parallel(n, s, d, w)
        strength = _strength(n, s, d, w)
        # Contact points and people tied to one firm only: solved for from that firm (no
        # firm and no seed is, so the sources below need none of their edges either: a
        # walk never passes through such a node, and costs are positive).
        lone = lone_nodes(n, s, d, w, is_firm | (reset > 0))
        scores = pagerank(
            n, s, d, w, reset, c.damping, c.tolerance, c.max_iterations, strength, lone
        )
        keep = ~(lone[s] | lone[d])
        del lone
        s, d, w = s[keep], d[keep], w[keep]
        del keep
        origin, hops = sources(n, s, d, w, reset, c.damping, c.explain_max_hops, strength)
        del strength
    else:
        scores = np.zeros(n)
        origin, hops = np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int16)
    del s, d, w
    firm_rows = np.flatnonzero(is_firm)
    firm_scores = scores[firm_rows]
    rank = pc.rank(pa.array(firm_scores), tiebreaker="min").to_numpy(zero_copy_only=False)
    pct = (rank - 1) / max(len(firm_rows) - 1, 1)
    # Rows in firm id order: code order.
    order = np.argsort(node[firm_rows], kind="stable")
    firm_rows, firm_scores, pct = firm_rows[order], firm_scores[order], pct[order]
    origin_f = origin[firm_rows]
    reached = origin_f >= 0
    return pa.table(
        {
            "firm_id": decode(ids, node[firm_rows]),
            "score": pa.array(firm_scores, pa.float64()),
            "percentile": pa.array(pct, pa.float64()),
            "seed": pa.array(reset[firm_rows] > 0, pa.bool_()),
            "source_seed": decode(ids, np.where(reached, node[np.maximum(origin_f, 0)], -1)),
            "source_hops": pa.array(hops[firm_rows], pa.int16(), mask=~reached),
        },
        schema=CONTAGION_SCHEMA,
    )
