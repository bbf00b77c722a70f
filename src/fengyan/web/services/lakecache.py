# ruff: noqa: S608 - SQL here is built from identifiers of settings.yaml, sources.yaml and the
# lake's own table list (quoted), and from scope.duckdb_condition; every value is bound.
"""The lake as the web reads it: one in-memory DuckDB copy of what pages look up by firm.

The lake's views compute each record's validity window over every batch file on every
query — right for a pipeline stage, far too slow for a page that answers in milliseconds.
:class:`LakeCache` copies, once per lake generation, the current state of the tables a
profile reads (registry facts, the timeline's record tables, the derived resolve, graph,
indicator and index tables) into an in-memory DuckDB database, plus one *record index*:
every timeline record with the firm it belongs to, its date and its title, linked the way
the indicator engine links them (``indicators/sources.yaml``: record keys first, then
credit codes). Lookups by firm id are then point queries on small columnar tables.

A generation is the set of batch files and the derived stages' ``CURRENT`` pointers; the
cache checks it at most every ``lake_refresh_seconds`` and rebuilds in the background of
the request that notices the change (readers keep the old copy until the new one is
complete). Each request reads through its own cursor, so threads do not share a
connection.

What a page looks up by one key — a firm's indicator values, timeline records, controllers,
holders, group, signals and category, a registry record by credit code, names by canonical
id, a graph node's edges — is not asked of DuckDB (0.3–1.2 ms a query, however small the
answer) but read from :data:`INDEXES`: Arrow copies sorted by the key, found by binary
search (:mod:`fengyan.web.services.keyindex`, microseconds). Tables that only those lookups
read are dropped from the DuckDB copy once indexed (:data:`INDEX_ONLY`), so they are held
once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from fengyan.lake import Lake
from fengyan.web.heap import settle
from fengyan.web.services.config import service_settings
from fengyan.web.services.keyindex import KeyIndex

log = logging.getLogger("fengyan.web")
# Derived tables the web reads, and the column each is looked up by.
DERIVED = {
    "resolved_entity": "canonical_id",
    "resolved_link": "key",
    "graph_edge": None,
    "graph_controller": "firm_id",
    "graph_holding": "firm_id",
    "graph_group": "firm_id",
    "graph_signal": "firm_id",
    "indicator_value": "firm_id",
    "firm_category": "firm_id",
    "index_score": "firm_id",
    "text_mention": "firm_id",
}
# Key lookups: index name → (tables the copy must hold, query over the copy, key column).
# Each query orders rows by the key, then as the page lists them (rowid: the copy's order,
# which the pages showed before these indexes existed).
INDEXES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "enterprise": (
        ("enterprise",),
        "SELECT * FROM w_enterprise ORDER BY credit_code, rowid",
        "credit_code",
    ),
    "entity": (
        ("resolved_entity",),
        "SELECT canonical_id, name, entity_kind, credit_code, region_code"
        " FROM w_resolved_entity ORDER BY canonical_id, rowid",
        "canonical_id",
    ),
    "indicator_value": (
        ("indicator_value",),
        "SELECT firm_id, indicator_id, value, score, evidence FROM w_indicator_value"
        " ORDER BY firm_id, score DESC, indicator_id, rowid",
        "firm_id",
    ),
    "record": (
        (),
        "SELECT firm_id, tbl, rid, event_date, title FROM w_record"
        " ORDER BY firm_id, event_date DESC NULLS LAST, tbl, rid",
        "firm_id",
    ),
    "graph_controller": (
        ("graph_controller",),
        "SELECT firm_id, controller_id, basis, path FROM w_graph_controller"
        " ORDER BY firm_id, rowid",
        "firm_id",
    ),
    "graph_holding": (
        ("graph_holding",),
        "SELECT firm_id, holder_id, share, path, path_share, beneficial_owner"
        " FROM w_graph_holding ORDER BY firm_id, rank, rowid",
        "firm_id",
    ),
    "graph_group": (
        ("graph_group",),
        "SELECT firm_id, group_id, group_size FROM w_graph_group ORDER BY firm_id, rowid",
        "firm_id",
    ),
    "group_member": (
        ("graph_group", "resolved_entity"),
        "SELECT g.group_id, g.firm_id, e.name, e.region_code FROM w_graph_group g"
        " JOIN w_resolved_entity e ON e.canonical_id = g.firm_id"
        " ORDER BY g.group_id, g.firm_id",
        "group_id",
    ),
    "graph_signal": (
        ("graph_signal",),
        "SELECT * FROM w_graph_signal ORDER BY firm_id, rowid",
        "firm_id",
    ),
    "firm_category": (
        ("firm_category",),
        "SELECT firm_id, category, finance_like FROM w_firm_category ORDER BY firm_id, rowid",
        "firm_id",
    ),
}
# Second keys over an index's rows: name → (index, expression over its rows' columns).
REINDEXES: dict[str, tuple[str, tuple[str, str, str]]] = {
    # A timeline record by "<table>/<_id>" (evidence keys).
    "record_key": ("record", ("tbl", "/", "rid")),
}
# Tables only the indexes read (and the record index's build): not kept in DuckDB.
INDEX_ONLY = frozenset(
    {
        "indicator_value",
        "graph_controller",
        "graph_holding",
        "graph_group",
        "graph_signal",
        "firm_category",
        "graph_edge",
        "text_mention",
    }
)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _generation(lake: Lake) -> tuple[Any, ...]:
    """What identifies the lake's current content: batch files and derived pointers."""
    root = lake.root
    if not root.exists():
        return ()
    files = tuple(sorted(str(p.relative_to(root)) for p in root.glob("*/batch-*.parquet")))
    pointers = tuple(
        (str(p.relative_to(root)), p.read_text().strip())
        for p in sorted((root / "_derived").glob("*/CURRENT"))
    )
    return files + pointers


class LakeCache:
    """An in-memory DuckDB copy of the lake tables the workbench looks things up in."""

    def __init__(self, lake: Lake, *, keep_sql_tables: bool = False) -> None:
        """``keep_sql_tables``: keep :data:`INDEX_ONLY` tables and ``w_record`` in the DuckDB
        copy as well (tests compare the indexes with SQL over them; servers do not)."""
        self.lake = lake
        self.keep_sql_tables = keep_sql_tables
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._generation: tuple[Any, ...] | None = None
        self._checked = 0.0
        self.tables: set[str] = set()
        self.lake_tables: frozenset[str] = frozenset()
        self.built_seconds = 0.0
        self.generation_id = 0
        self._indexes: dict[str, KeyIndex] = {}

    # ---- building --------------------------------------------------------------------

    def _build(self) -> tuple[duckdb.DuckDBPyConnection, set[str], dict[str, KeyIndex]]:
        cfg = service_settings()
        con = self.lake.connect()
        # Page lookups are tiny: one thread each, so concurrent requests do not queue
        # behind each other's parallel plans.
        con.execute("SET threads = 1")
        present = set(self.lake.tables())
        derived = set(self.lake.derived_files())
        made: set[str] = set()
        wanted = [*cfg.materialise, *cfg.timeline]
        for table in dict.fromkeys(wanted):
            if table in present:
                con.execute(f"CREATE TABLE {_q('w_' + table)} AS SELECT * FROM {_q(table)}")
                made.add(table)
        for table, key in DERIVED.items():
            if table in derived:
                con.execute(f"CREATE TABLE {_q('w_' + table)} AS SELECT * FROM {_q(table)}")
                if key and table not in INDEX_ONLY:
                    con.execute(f"CREATE INDEX {_q('ix_' + table)} ON {_q('w_' + table)} ({key})")
                made.add(table)
        self._record_index(con, made)
        indexes = _key_indexes(con, made)
        con.execute("DROP TABLE IF EXISTS codes")
        con.execute("DROP TABLE IF EXISTS recs")
        if not self.keep_sql_tables:
            # Held once: what only the indexes read leaves the DuckDB copy.
            for table in sorted(INDEX_ONLY & made):
                con.execute(f"DROP TABLE {_q('w_' + table)}")
            con.execute("DROP TABLE w_record")
        return con, made, indexes

    def _record_index(self, con: duckdb.DuckDBPyConnection, made: set[str]) -> None:
        """``w_record``: firm_id, tbl, rid, event_date, title — every timeline record."""
        from fengyan.indicators.sources import CodeLink, SourceError, load_sources

        cfg = service_settings()
        try:
            sources = load_sources()
        except SourceError:
            # The pipeline cannot run with a broken sources.yaml either; the pages still
            # serve everything but the timeline until it is fixed.
            log.exception("indicators/sources.yaml does not load: the timeline is empty")
            sources = None
        has_links = "resolved_link" in made
        if has_links:
            con.execute(
                "CREATE TEMP TABLE codes AS SELECT key, any_value(canonical_id) AS firm_id "
                "FROM w_resolved_link WHERE key_kind IN ('credit_code', 'branch_code') "
                "GROUP BY key"
            )
            con.execute(
                "CREATE TEMP TABLE recs AS SELECT key, any_value(canonical_id) AS firm_id "
                "FROM w_resolved_link WHERE key_kind = 'record' GROUP BY key"
            )
        parts: list[str] = []
        for table, title in cfg.timeline.items():
            if table not in made:
                continue
            src = (
                next((s for s in sources.sources.values() if s.table == table), None)
                if sources is not None
                else None
            )
            if src is None:
                continue
            firm_parts: list[str] = []
            joins: list[str] = []
            key = f"'{table}/' || t._id"
            for i, link in enumerate(src.firm):
                if not has_links:
                    break
                if link == "record":
                    joins.append(f"LEFT JOIN recs l{i} ON l{i}.key = {key}")
                    firm_parts.append(f"l{i}.firm_id")
                elif isinstance(link, CodeLink):
                    joins.append(f"LEFT JOIN codes l{i} ON l{i}.key = t.{_q(link.code)}")
                    firm_parts.append(f"l{i}.firm_id")
            if not firm_parts:
                continue
            firm = firm_parts[0] if len(firm_parts) == 1 else f"coalesce({', '.join(firm_parts)})"
            date_col = src.event_date
            when = f"CAST(t.{_q(date_col)} AS DATE)" if date_col else "CAST(NULL AS DATE)"
            parts.append(
                f"SELECT {firm} AS firm_id, '{table}' AS tbl, t._id AS rid, {when} AS event_date,"
                f" CAST(t.{_q(title)} AS VARCHAR) AS title"
                f" FROM {_q('w_' + table)} t {' '.join(joins)} WHERE {firm} IS NOT NULL"
            )
        if "text_mention" in made and "article" in made:
            # Articles reach firms through the text linker's mentions, not a field.
            parts.append(
                "SELECT DISTINCT m.firm_id, 'article' AS tbl, a._id AS rid,"
                " CAST(a.published_at AS DATE) AS event_date, CAST(a.title AS VARCHAR) AS title"
                " FROM w_text_mention m JOIN w_article a ON m.doc_key = 'article/' || a._id"
                " WHERE m.firm_id IS NOT NULL"
            )
        if parts:
            union = " UNION ".join(parts)
            con.execute(f"CREATE TABLE w_record AS SELECT DISTINCT * FROM ({union})")
        else:
            con.execute(
                "CREATE TABLE w_record (firm_id VARCHAR, tbl VARCHAR, rid VARCHAR,"
                " event_date DATE, title VARCHAR)"
            )

    def refresh(self, force: bool = False) -> None:
        """Rebuild the copy if the lake changed (checked at most every refresh interval)."""
        now = time.monotonic()
        interval = service_settings().lake_refresh_seconds
        if not force and self._con is not None and now - self._checked < interval:
            return
        with self._lock:
            if not force and self._con is not None and time.monotonic() - self._checked < interval:
                return
            generation = _generation(self.lake)
            self._checked = time.monotonic()
            if not force and self._con is not None and generation == self._generation:
                return
            mark = time.perf_counter()
            from fengyan.web.services.common import warm_up

            warm_up()
            con, made, indexes = self._build()
            self.lake_tables = frozenset(self.lake.tables())
            old = self._con
            self._con, self.tables, self._indexes, self._generation = (
                con,
                made,
                indexes,
                generation,
            )
            self.generation_id += 1
            self.built_seconds = time.perf_counter() - mark
            if old is not None:
                old.close()
            settle()  # the copy's catalogues and specs are long-lived: out of the GC's scans

    # ---- reading ---------------------------------------------------------------------

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the current copy (refreshed first when due)."""
        self.refresh()
        assert self._con is not None
        cur = self._con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def has(self, table: str) -> bool:
        """Whether the copy holds ``table`` (lake or derived)."""
        self.refresh()
        return table in self.tables

    def index(self, name: str) -> KeyIndex | None:
        """Key index ``name`` of :data:`INDEXES` (or ``record_key``, ``edge_src``,
        ``edge_dst``) over the current copy; None when the lake lacks its tables."""
        self.refresh()
        return self._indexes.get(name)

    @property
    def index_bytes(self) -> int:
        """Memory the key indexes hold (rows and keys; rows shared by reindexes once)."""
        seen: set[int] = set()
        total = 0
        for ix in list(self._indexes.values()):
            if id(ix.table) not in seen:
                seen.add(id(ix.table))
                total += ix.table.nbytes
            total += ix.keys.nbytes + (0 if ix.order is None else ix.order.nbytes)
        return total

    def query(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run ``sql`` (bound ``params``) on the copy; an Arrow table."""
        with self.cursor() as cur:
            return cur.sql(sql, params=params or []).to_arrow_table()

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Run ``sql`` on the copy; a list of dicts."""
        rows: list[dict[str, Any]] = self.query(sql, params).to_pylist()
        return rows

    def lake_record(self, table: str, record_id: str) -> dict[str, Any] | None:
        """One current record of a lake table by ``_id`` (copy first, else the lake view)."""
        self.refresh()
        if table not in self.lake_tables:
            return None
        if self.has(table):
            found = self.rows(f"SELECT * FROM {_q('w_' + table)} WHERE _id = ?", [record_id])
        else:
            con = duckdb.connect()
            try:
                sql = f"SELECT * FROM ({self.lake.current_sql(table)}) WHERE _id = ?"
                found = con.sql(sql, params=[record_id]).to_arrow_table().to_pylist()
            finally:
                con.close()
        return found[0] if found else None


def _key_indexes(con: duckdb.DuckDBPyConnection, made: set[str]) -> dict[str, KeyIndex]:
    """The :data:`INDEXES`, :data:`REINDEXES` and the edge indexes over the built copy."""
    indexes: dict[str, KeyIndex] = {}
    for name, (needs, sql, key) in INDEXES.items():
        if all(t in made for t in needs):
            indexes[name] = KeyIndex.build(con.sql(sql).to_arrow_table(), key)
    for name, (base, (left, sep, right)) in REINDEXES.items():
        if base in indexes:
            table = indexes[base].table
            keys = pc.binary_join_element_wise(table.column(left), table.column(right), sep)
            indexes[name] = indexes[base].reindex(keys)
    if "graph_edge" in made:
        # In the copy's order, which decides what a truncated neighbourhood shows.
        edges: pa.Table = con.sql(
            "SELECT src, dst, relation, share, role FROM w_graph_edge ORDER BY rowid"
        ).to_arrow_table()
        indexes["edge_src"] = KeyIndex.over(edges, edges.column("src"))
        indexes["edge_dst"] = KeyIndex.over(edges, edges.column("dst"))
    return indexes


_CACHES: dict[Path, LakeCache] = {}
_CACHES_LOCK = threading.Lock()


def lake_cache(lake: Lake) -> LakeCache:
    """The process's cache of ``lake`` (one per lake folder)."""
    with _CACHES_LOCK:
        cache = _CACHES.get(lake.root)
        if cache is None:
            cache = _CACHES[lake.root] = LakeCache(lake)
        return cache
