"""``fengyan graph``: build the graph from the lake and write its derived tables.

Derived tables (``Lake.write_derived("graph", …)``, one atomic generation per run):

* ``graph_edge`` — src, dst, relation, share, role (canonical ids and contact points);
* ``graph_holding`` — firm_id, holder_id, share (integrated), path, path_share, rank,
  beneficial_owner: each firm's top holders through every chain;
* ``graph_controller`` — firm_id, controller_id, basis, path: one controller per firm;
* ``graph_group`` — firm_id, group_id, group_size;
* ``graph_signal`` — firms sharing each contact point, re-registration;
* ``graph_contagion`` — firm_id, score, percentile, seed, source_seed, source_hops.

Needs a resolution run first (it reads ``resolved_link``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from fengyan.clock import CHINA_TZ, now
from fengyan.graph.build import RELATIONS, EdgeCodes, read_ties
from fengyan.graph.config import GraphSettings, load_settings
from fengyan.graph.contagion import contagion_codes
from fengyan.graph.groups import group_codes, group_edge_codes
from fengyan.graph.nodes import prefix_range
from fengyan.graph.ownership import Controllers, controller_codes, decode_controllers
from fengyan.graph.signals import signals
from fengyan.resolve.service import StepClock
from fengyan.threads import second_thread
from fengyan.workspace import Workspace

STAGE = "graph"
# Lake tables the edges and signals read (materialised once per lake generation).
LAKE_TABLES = (
    "enterprise",
    "shareholding",
    "officer",
    "phone_contact",
    "email_contact",
    "web_presence",
)


@dataclass
class GraphReport:
    """Sizes and timings of a graph run (wall and CPU seconds of each step).

    The steps of :func:`build_graph` in order, ``total``, and ``contagion_task``: the
    contagion thread's own wall and CPU time, which overlaps controllers, groups and
    signals (``contagion`` is only the wait for it after them).
    """

    model: str
    counts: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)
    run: Path | None = None
    cpu_seconds: dict[str, float] = field(default_factory=dict)


def _seeds(con: duckdb.DuckDBPyConnection, settings: GraphSettings) -> dict[str, float]:
    """Seed firm → weight: firms linked (by resolve) from the configured records; a firm
    named by several kinds of record takes the largest weight."""
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    parts = [
        f"""SELECT DISTINCT l.canonical_id AS firm, {float(seed.weight)!r} AS weight
            FROM "{seed.table}" t
            JOIN resolved_link l ON l.key_kind = 'record' AND l.key = '{seed.table}/' || t._id
            WHERE ({seed.where}) AND l.canonical_id LIKE 'ent:%'
              AND l.method NOT IN ('review')"""  # noqa: S608 - settings.yaml
        for seed in settings.contagion.seeds
        if seed.table in tables
    ]
    if not parts:
        return {}
    rows = con.execute(
        f"SELECT firm, max(weight) FROM ({' UNION ALL '.join(parts)}) GROUP BY firm"  # noqa: S608
    ).fetchall()
    return dict(rows)


def _controllers(edges: EdgeCodes, settings: GraphSettings) -> Controllers:
    """:func:`fengyan.graph.ownership.controller_codes` of the edges' holdings and posts."""
    holding = np.flatnonzero(edges.relation == edges.relation_code("shareholding"))
    officer = np.flatnonzero(edges.relation == edges.relation_code("officer"))
    # The place of each role in officer_roles (-1: not there), by role code.
    listed = list(settings.ownership.officer_roles)
    rank = np.array([listed.index(r) if r in listed else -1 for r in edges.roles], np.int64)
    role_rank = rank[edges.role[officer]]
    share = edges.share[holding]
    return controller_codes(
        pa.table(
            {
                "owner": pa.array(edges.src[holding]),
                "asset": pa.array(edges.dst[holding]),
                "share": pa.array(np.where(np.isnan(share), 0.0, share)),
            }
        ),
        pa.table(
            {
                "person": pa.array(edges.src[officer]),
                "firm": pa.array(edges.dst[officer]),
                "role_rank": pa.array(role_rank, mask=role_rank < 0),
            }
        ),
        settings.ownership,
        prefix_range(edges.ids, "per:"),
    )


def _connect(
    ws: Workspace, as_of: datetime | None, settings: GraphSettings
) -> duckdb.DuckDBPyConnection:
    """A lake connection with the graph's DuckDB memory limit (spilling under ``home``)."""
    con = ws.lake.connect(as_of)
    if settings.memory_limit is not None:
        spill = ws.settings.home / "tmp" / "duckdb"
        spill.mkdir(parents=True, exist_ok=True)
        # Both values are checked: the limit by its pattern, the path is ours.
        con.execute(f"SET memory_limit = '{settings.memory_limit}'")
        con.execute("SET temp_directory = '" + spill.as_posix().replace("'", "''") + "'")
    return con


def build_graph(
    ws: Workspace, as_of: datetime | None = None, settings: GraphSettings | None = None
) -> GraphReport:
    """Build the graph as of ``as_of`` and publish its derived tables.

    After the edges, contagion (it needs only the edges and the seeds) runs in a second
    thread while controllers, groups and signals run in this one: numpy's sorts and
    gathers, ``scipy.sparse`` products, Arrow's kernels and DuckDB's queries release the
    GIL, so the two paths share the two cores (``concurrent: false`` in the settings: one
    after the other, as the contact keys and the edge queries, and the two halves of the
    node dictionary (:meth:`EdgeCodes.from_rows`), then are too).

    ``seconds``/``cpu_seconds`` keep one lap per step of this thread (CPU: the whole
    process, so the laps of controllers, groups and signals include the contagion thread's
    work meanwhile); ``contagion`` is the wait for that thread once they are done, and
    ``contagion_task`` the thread's own wall time and CPU time (:class:`GraphReport`).
    """
    settings = settings or load_settings()
    clock = StepClock()
    today = (as_of or now()).astimezone(CHINA_TZ).date()
    ws.lake.materialise([*LAKE_TABLES, *(seed.table for seed in settings.contagion.seeds)])
    clock.lap("materialise")
    # One lake connection for the edges, closed at once: DuckDB keeps the memory of its
    # queries (gigabytes at a city's scale) until its connection closes.
    con = _connect(ws, as_of, settings)
    try:
        firms = con.sql(
            """SELECT canonical_id FROM resolved_entity WHERE entity_kind = 'enterprise'
               AND kind <> 'unregistered'"""
        ).to_arrow_table()["canonical_id"]
        raw = read_ties(con, today, settings.concurrent)
    finally:
        con.close()
    # Integer node codes from here on; ids again only in the tables written.
    edges = EdgeCodes.from_rows(raw, [firms], RELATIONS, settings.concurrent)
    firm_codes = edges.extra[0]
    del firms, raw
    clock.lap("edges")
    # One lake connection for the seeds and the signals, closed before the wait for
    # contagion (DuckDB keeps a query's memory until then).
    con = _connect(ws, as_of, settings)
    with second_thread(settings.concurrent, "graph-contagion") as pool:
        try:
            task = pool.submit(_spread, edges, _seeds(con, settings), settings)
            coded = _controllers(edges, settings)
            clock.lap("controllers")
            grouped = group_codes(
                edges.ids, group_edge_codes(edges, coded.control, settings.groups), firm_codes
            )
            del firm_codes
            ctrl = decode_controllers(edges.ids, coded)
            del coded
            clock.lap("groups")
            signal = signals(con, edges, settings.signals)
        finally:
            con.close()
        clock.lap("signals")
        spread, task_wall, task_cpu = task.result()
    clock.lap("contagion")
    tables = {
        "graph_edge": edges.table(),
        "graph_holding": ctrl.holdings,
        "graph_controller": ctrl.control,
        "graph_group": grouped,
        "graph_signal": signal,
        "graph_contagion": spread,
    }
    del edges
    run = ws.lake.write_derived(STAGE, tables)
    clock.lap("write")
    clock.total()
    clock.wall["contagion_task"], clock.cpu["contagion_task"] = task_wall, task_cpu
    counts = {name: t.num_rows for name, t in tables.items()}
    counts["ownership_iterations"] = ctrl.iterations
    counts["seeds"] = int(pa.compute.sum(spread["seed"]).as_py() or 0) if spread.num_rows else 0
    return GraphReport(settings.model, counts, clock.wall, run, clock.cpu)


def _spread(
    edges: EdgeCodes, seeds: dict[str, float], settings: GraphSettings
) -> tuple[pa.Table, float, float]:
    """The contagion table, and the wall and CPU seconds of the thread that made it."""
    wall, cpu = time.perf_counter(), time.thread_time()
    spread = contagion_codes(
        edges.ids,
        edges.src,
        edges.dst,
        edges.relation,
        edges.relations,
        edges.share,
        seeds,
        settings.contagion,
    )
    return spread, time.perf_counter() - wall, time.thread_time() - cpu
