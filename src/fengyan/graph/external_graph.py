"""Resolution, shares and control on real ownership data read by :mod:`fengyan.graph.external`.

:func:`resolve_external` merges the records of one real entity across subgraphs, files and
datasets (same source id, ``same_as`` links, folded names under country and identifier
constraints); :func:`graph_inputs` turns the edges in force on a date into the graph's edge
table (``graph.build.EDGE_SCHEMA``) in canonical ids, with a share for every holding and
the basis of that share; :func:`analyse` runs the graph's own integrated ownership,
controllers (:func:`fengyan.graph.ownership.controllers`) and groups on them. docs/graph.md
("Real ownership data") explains every rule.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import duckdb
import igraph as ig  # type: ignore[import-untyped]
import numpy as np
import pyarrow as pa

from fengyan.graph.build import EDGE_SCHEMA
from fengyan.graph.config import GraphSettings, load_settings
from fengyan.graph.external import ExternalData, one_value
from fengyan.graph.external_names import firm_key, is_chinese, load_rules, person_key
from fengyan.graph.groups import group_edges, groups
from fengyan.graph.ownership import Controllers, controllers

_CONFLICT_SQL: Final = """
CREATE OR REPLACE MACRO kinds(a) AS
    list_distinct(list_transform(a, lambda x: split_part(x, ':', 1)));
CREATE OR REPLACE MACRO conflict(a, b) AS len(list_filter(list_intersect(kinds(a), kinds(b)),
    lambda t: NOT list_has_any(list_filter(a, lambda x: split_part(x, ':', 1) = t),
                               list_filter(b, lambda x: split_part(x, ':', 1) = t)))) > 0;
"""


@dataclass
class Resolution:
    """Canonical ids of the records of several datasets, and how many merged."""

    mapping: pa.Table  # id, canonical_id, kind
    entities: pa.Table  # canonical_id, kind, name, members, datasets
    report: dict[str, int]


def _usable(key: str, kind: str) -> bool:
    """A key worth matching on: a firm's has a core, a person's at least two words (one
    given name — Abdullah, Faisal — is no identity) unless it is a Chinese name."""
    if kind == "enterprise":
        return not key.startswith("|")
    words = load_rules().resolution.person_min_words
    return len(key.split()) >= words or (is_chinese(key) and len(key) >= words)


def _keys(nodes: pa.Table) -> pa.Table:
    """``id, key`` for every name of every firm and person (placeholders have none)."""
    ids, kinds, names = (nodes[c].to_pylist() for c in ("id", "kind", "names"))
    pairs = {
        (n, k) for n_list, k in zip(names, kinds, strict=True) for n in n_list if k != "unknown"
    }
    folded = {(n, k): (firm_key(n) if k == "enterprise" else person_key(n)) for n, k in pairs}
    out_id, out_key = [], []
    for node_id, kind, n_list in zip(ids, kinds, names, strict=True):
        if kind == "unknown":
            continue
        for key in {folded[(n, kind)] for n in n_list}:
            if _usable(key, kind):
                out_id.append(node_id)
                out_key.append(f"{kind}/{key}")
    return pa.table({"id": out_id, "key": out_key})


def resolve_external(datas: list[ExternalData]) -> Resolution:
    """One canonical id per real entity across ``datas`` (docs/graph.md, "Real ownership data").

    Links: the same source id in two datasets; ``same_as`` edges; a shared folded name
    between two records of one kind whose typed attributes (country or jurisdiction,
    registration and tax numbers) do not conflict. A record lacking an attribute links
    only when the records it would link to agree among themselves; a cluster that still
    ends up holding two conflicting records is split back into its records.
    """
    con = duckdb.connect()
    try:
        con.execute(_CONFLICT_SQL)
        con.register("nodes_in", pa.concat_tables([d.nodes for d in datas]))
        con.register("edges_in", pa.concat_tables([d.edges for d in datas]))
        con.execute(
            """CREATE TABLE nodes AS
               SELECT id, arg_min(kind, dataset) AS kind, arg_min(name, dataset) AS name,
                      list_distinct(flatten(list(names))) AS names,
                      list_distinct(flatten(list(attrs))) AS attrs, count(*) AS copies,
                      -- The canonical id is a register record's when the cluster has one
                      -- (a Company node, not an officer node of the same name).
                      min(source_type NOT IN ('Company', 'Entity', 'Person', 'Organization',
                                              'LegalEntity', 'PublicBody')) AS secondary
               FROM nodes_in GROUP BY id ORDER BY id"""
        )
        sources = list(load_rules().resolution.resolved_sources)
        con.register("resolved_sources", pa.table({"s": pa.array(sources, pa.string())}))
        con.register("keys", _keys(con.sql("SELECT id, kind, names FROM nodes").to_arrow_table()))
        con.execute(
            """CREATE TABLE cand AS
               SELECT DISTINCT a.id AS a, b.id AS b, conflict(x.attrs, y.attrs) AS clash
               FROM keys a JOIN keys b ON a.key = b.key AND a.id < b.id
               JOIN nodes x ON x.id = a.id JOIN nodes y ON y.id = b.id;
               -- Two ids of one source that resolved its own entities stay two.
               CREATE TABLE ok AS SELECT a, b FROM cand WHERE NOT clash
               AND NOT (split_part(a, ':', 1) = split_part(b, ':', 1)
                        AND split_part(a, ':', 1) IN (SELECT s FROM resolved_sources));
               -- A record whose would-be partners conflict with each other is ambiguous.
               CREATE TABLE side AS SELECT a AS r, b AS p FROM ok UNION SELECT b, a FROM ok;
               CREATE TABLE ambiguous AS
               SELECT DISTINCT s.r FROM side s JOIN side t ON s.r = t.r AND s.p < t.p
               JOIN nodes x ON x.id = s.p JOIN nodes y ON y.id = t.p
               WHERE conflict(x.attrs, y.attrs);
               CREATE TABLE links AS
               SELECT a, b, 'name' AS how FROM ok
               WHERE a NOT IN (SELECT r FROM ambiguous) AND b NOT IN (SELECT r FROM ambiguous)
               UNION ALL
               SELECT e.src, e.dst, 'same_as' FROM edges_in e
               JOIN nodes x ON x.id = e.src JOIN nodes y ON y.id = e.dst
               WHERE e.relation = 'same_as' AND x.kind = y.kind AND x.kind <> 'unknown'"""
        )
        con.execute(
            "CREATE TABLE ix AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS i FROM nodes"
        )
        pairs = con.sql(
            "SELECT x.i, y.i FROM links JOIN ix x ON x.id = a JOIN ix y ON y.id = b"
        ).fetchnumpy()
        n = one_value(con, "SELECT count(*) FROM ix")
        graph = ig.Graph(n=n, edges=np.column_stack(list(pairs.values())).tolist() if n else [])
        con.register(
            "member", pa.table({"i": np.arange(n), "c": graph.connected_components().membership})
        )
        con.execute("CREATE TABLE comp AS SELECT id, c FROM ix JOIN member USING (i)")
        # A cluster joined through a chain of compatible pairs may still hold two records
        # that conflict (A ~ B ~ C, A ≠ C): undo it rather than guess.
        con.execute(
            """CREATE TABLE split AS SELECT DISTINCT p.c FROM comp p JOIN comp q
                   ON p.c = q.c AND p.id < q.id
               JOIN nodes x ON x.id = p.id JOIN nodes y ON y.id = q.id
               WHERE conflict(x.attrs, y.attrs);
               CREATE TABLE canon AS
               SELECT c.id, n.kind, n.name,
                      CASE WHEN c.c IN (SELECT c FROM split) THEN c.id
                           ELSE arg_min(c.id, (n.secondary, c.id)) OVER (PARTITION BY c.c)
                      END AS root
               FROM comp c JOIN nodes n USING (id)"""
        )
        mapping = con.sql(
            """SELECT id, CASE kind WHEN 'enterprise' THEN 'ent:' WHEN 'person' THEN 'per:'
                                    ELSE 'unk:' END || root AS canonical_id, kind
               FROM canon ORDER BY id"""
        ).to_arrow_table()
        con.register("mapping", mapping)
        entities = con.sql(
            """SELECT canonical_id, any_value(kind) AS kind,
                      arg_min(name, id) AS name, list(id ORDER BY id) AS members,
                      list_distinct(list(split_part(id, ':', 1))) AS datasets
               FROM mapping JOIN canon USING (id, kind) GROUP BY canonical_id
               ORDER BY canonical_id"""
        ).to_arrow_table()

        def one(sql: str) -> int:
            return one_value(con, sql)

        report = {
            "records": one("SELECT sum(copies) FROM nodes"),
            "distinct_ids": one("SELECT count(*) FROM nodes"),
            "entities": entities.num_rows,
            "merged_records": one("SELECT count(*) FROM nodes") - entities.num_rows,
            "name_links": one("SELECT count(*) FROM links WHERE how = 'name'"),
            "same_as_links": one("SELECT count(*) FROM links WHERE how = 'same_as'"),
            "blocked_by_conflict": one("SELECT count(*) FROM cand WHERE clash"),
            "ambiguous_records": one("SELECT count(*) FROM ambiguous"),
            "split_clusters": one("SELECT count(*) FROM split"),
            "name_links_sharing_address": one(
                """SELECT count(*) FROM links l WHERE how = 'name' AND EXISTS (
                   SELECT 1 FROM edges_in x JOIN edges_in y ON x.dst = y.dst
                   WHERE x.relation = 'address' AND y.relation = 'address'
                     AND x.src = l.a AND y.src = l.b)"""
            ),
        }
        for kind in ("enterprise", "person", "unknown"):
            report[f"entities_{kind}"] = sum(1 for k in entities["kind"].to_pylist() if k == kind)
    finally:
        con.close()
    return Resolution(mapping, entities, report)


# --------------------------------------------------------------------------- graph input

SHARES_SQL: Final = """
-- Several records of one (holder, firm) pair in force on the date are versions of one
-- holding (a register's history): the most recent is kept.
CREATE OR REPLACE TABLE kept AS
SELECT * FROM (
    SELECT *, row_number() OVER (PARTITION BY src, dst ORDER BY "start" DESC NULLS LAST,
               "end" DESC NULLS FIRST, percent DESC NULLS LAST, shares DESC NULLS LAST,
               record) AS k,
           count(*) OVER (PARTITION BY src, dst) AS versions
    FROM held) WHERE k = 1;
CREATE OR REPLACE TABLE firm AS
SELECT dst, coalesce(sum(percent), 0) AS stated,
       sum(shares) FILTER (WHERE percent IS NULL) AS counted,
       count(*) FILTER (WHERE percent IS NULL AND shares IS NULL) AS unknown
FROM kept GROUP BY dst;
CREATE OR REPLACE TABLE shares_out AS
SELECT k.src, k.dst, k.percent, k.shares, k.versions, k.record, f.stated,
       CASE WHEN k.percent IS NOT NULL THEN k.percent
            WHEN k.shares IS NOT NULL THEN greatest(1 - f.stated, 0) * k.shares / f.counted
            WHEN f.counted IS NULL THEN greatest(1 - f.stated, 0) / f.unknown
            ELSE 0 END AS share,
       CASE WHEN k.percent IS NOT NULL THEN 'stated'
            WHEN k.shares IS NOT NULL THEN 'share_count'
            WHEN f.counted IS NULL AND f.stated < 1 THEN 'equal_split'
            ELSE 'none_left' END AS basis,
       f.stated > 1 + 1e-9 AS oversubscribed
FROM kept k JOIN firm f USING (dst);
"""


@dataclass
class GraphInput:
    """The edges in force on the date, in canonical ids, with a share for every holding."""

    edges: pa.Table  # EDGE_SCHEMA: src, dst, relation, share, role
    holdings: pa.Table  # src, dst, share, basis, percent, shares, versions, record, oversubscribed
    report: dict[str, int]


def graph_inputs(
    datas: list[ExternalData], resolution: Resolution, as_of: date | None = None
) -> GraphInput:
    """Edges in force on ``as_of`` (default: each dataset's snapshot date) in canonical ids.

    Shares: a stated percentage is used as stated (a firm whose stated shares add up to
    more than 100 % is flagged, not rescaled); holders with a number of shares and no
    percentage share what the percentages leave, in proportion to their shares; holders
    with neither split what is left equally (``equal_split``) — or get nothing
    (``none_left``). Every share not stated is flagged by its ``basis``.
    """
    con = duckdb.connect()
    try:
        raw = pa.concat_tables([d.edges for d in datas])
        con.register("raw", raw)
        con.register("mapping", resolution.mapping)
        # Files that share an id space (every FtM export is "ftm") are read as of the
        # latest snapshot among them.
        snaps: dict[str, date] = {}
        for d in datas:
            snaps[d.dataset] = as_of or max(snaps.get(d.dataset, d.as_of), d.as_of)
        con.register(
            "snap",
            pa.table(
                {"dataset": list(snaps), "as_of": pa.array(list(snaps.values()), pa.date32())}
            ),
        )
        con.execute(
            """CREATE TABLE live AS
               SELECT coalesce(s.canonical_id, r.src) AS src,
                      coalesce(t.canonical_id, r.dst) AS dst,
                      t.kind AS dst_kind, r.* EXCLUDE (src, dst)
               FROM raw r JOIN snap d ON d.dataset = split_part(r.src, ':', 1)
               LEFT JOIN mapping s ON s.id = r.src LEFT JOIN mapping t ON t.id = r.dst
               WHERE r.relation <> 'same_as'
                 AND (r."start" IS NULL OR r."start" <= d.as_of)
                 AND (r."end" IS NULL OR r."end" > d.as_of);
               CREATE TABLE held AS SELECT * FROM live
               WHERE relation = 'shareholding' AND src <> dst AND dst_kind = 'enterprise';"""
        )
        con.execute(SHARES_SQL)
        holdings = con.sql(
            "SELECT * EXCLUDE (stated) FROM shares_out ORDER BY dst, share DESC, src"
        ).to_arrow_table()
        edges = (
            con.sql(
                """SELECT src, dst, 'shareholding' AS relation, share, NULL AS role FROM shares_out
               UNION ALL
               SELECT DISTINCT src, dst, relation, NULL, role FROM live
               WHERE relation IN ('officer', 'intermediary', 'address') AND src <> dst
               ORDER BY relation, src, dst"""
            )
            .to_arrow_table()
            .cast(EDGE_SCHEMA)
        )

        def one(sql: str) -> int:
            return one_value(con, sql)

        report = {
            "raw_edges": raw.num_rows,
            "edges_in_force": one("SELECT count(*) FROM live"),
            "edges_not_in_force": one("SELECT count(*) FROM raw WHERE relation <> 'same_as'")
            - one("SELECT count(*) FROM live"),
            "holding_records": one("SELECT count(*) FROM held"),
            "holdings": holdings.num_rows,
            "holding_versions_collapsed": one("SELECT count(*) FROM held") - holdings.num_rows,
            "holdings_stated": one("SELECT count(*) FROM shares_out WHERE basis = 'stated'"),
            "holdings_share_count": one(
                "SELECT count(*) FROM shares_out WHERE basis = 'share_count'"
            ),
            "holdings_equal_split": one(
                "SELECT count(*) FROM shares_out WHERE basis = 'equal_split'"
            ),
            "holdings_none_left": one("SELECT count(*) FROM shares_out WHERE basis = 'none_left'"),
            "oversubscribed_firms": one(
                "SELECT count(DISTINCT dst) FROM shares_out WHERE oversubscribed"
            ),
            "self_holdings_dropped": one(
                "SELECT count(*) FROM live WHERE relation = 'shareholding' AND src = dst"
            ),
            "holdings_of_non_firms": one(
                """SELECT count(*) FROM live WHERE relation = 'shareholding' AND src <> dst
                   AND dst_kind IS DISTINCT FROM 'enterprise'"""
            ),
            "officer_links": one("SELECT count(*) FROM edges_out_o")
            if False
            else one(
                "SELECT count(DISTINCT (src, dst, role)) FROM live WHERE relation = 'officer'"
            ),
            "officer_links_other_role": one(
                """SELECT count(DISTINCT (src, dst)) FROM live
                   WHERE relation = 'officer' AND role = '其他'"""
            ),
        }
    finally:
        con.close()
    return GraphInput(edges, holdings, report)


# --------------------------------------------------------------------------- analysis


_NO_GROUPS: Final = pa.table(
    {"firm_id": pa.array([], pa.string()), "group_id": pa.array([], pa.string()),
     "group_size": pa.array([], pa.int64())}
)  # fmt: skip


@dataclass
class ExternalResult:
    """Everything :func:`analyse` computed, with counts and timings."""

    datas: list[ExternalData]
    resolution: Resolution
    inputs: GraphInput
    control: Controllers
    groups: pa.Table
    cycles: list[list[str]]
    seconds: dict[str, float]

    def controller_of(self, firm_id: str) -> dict[str, Any] | None:
        """The controller row of ``firm_id`` (controller_id, basis, path), if any."""
        rows = self.control.control.filter(
            pa.compute.equal(self.control.control["firm_id"], firm_id)
        )
        return rows.to_pylist()[0] if rows.num_rows else None

    def holders_of(self, firm_id: str) -> list[dict[str, Any]]:
        """The integrated holders of ``firm_id``, largest first."""
        rows = self.control.holdings.filter(
            pa.compute.equal(self.control.holdings["firm_id"], firm_id)
        )
        return list(rows.to_pylist())


def ownership_cycles(holdings: pa.Table) -> list[list[str]]:
    """Firms on ownership cycles: strongly connected sets of two or more (igraph)."""
    live = holdings.filter(pa.compute.greater(holdings["share"], 0))
    src = live["src"].to_numpy(zero_copy_only=False).astype(str)
    dst = live["dst"].to_numpy(zero_copy_only=False).astype(str)
    ids, codes = np.unique(np.concatenate([src, dst]), return_inverse=True)
    g = ig.Graph(
        n=len(ids),
        edges=np.column_stack([codes[: len(src)], codes[len(src) :]]).tolist(),
        directed=True,
    )
    return sorted(
        sorted(ids[c].tolist()) for c in g.connected_components(mode="strong") if len(c) > 1
    )


def analyse(
    datas: list[ExternalData], as_of: date | None = None, settings: GraphSettings | None = None
) -> ExternalResult:
    """Resolve ``datas`` together, then run the graph's ownership, controllers and groups."""
    settings = settings or load_settings()
    seconds: dict[str, float] = {}
    mark = time.perf_counter()
    resolution = resolve_external(datas)
    seconds["resolve"] = time.perf_counter() - mark
    mark = time.perf_counter()
    inputs = graph_inputs(datas, resolution, as_of)
    seconds["inputs"] = time.perf_counter() - mark
    mark = time.perf_counter()
    h, edges = inputs.holdings, inputs.edges
    officers = edges.filter(pa.compute.equal(edges["relation"], "officer"))
    control = controllers(
        pa.table({"owner": h["src"], "asset": h["dst"], "share": h["share"]}),
        pa.table({"person": officers["src"], "firm": officers["dst"], "role": officers["role"]}),
        settings.ownership,
    )
    cycles = ownership_cycles(h)
    seconds["controllers"] = time.perf_counter() - mark
    mark = time.perf_counter()
    firms = [c for c in resolution.entities["canonical_id"].to_pylist() if c.startswith("ent:")]
    ties = group_edges(edges, control.control, settings.groups)
    # graph.groups needs at least one node (a dataset of persons only has none).
    grouped = groups(ties, firms) if firms or ties.num_rows else _NO_GROUPS
    seconds["groups"] = time.perf_counter() - mark
    return ExternalResult(datas, resolution, inputs, control, grouped, cycles, seconds)
