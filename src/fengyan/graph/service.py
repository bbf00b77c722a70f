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

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from fengyan.clock import CHINA_TZ, now
from fengyan.graph.build import load_edges
from fengyan.graph.config import GraphSettings, load_settings
from fengyan.graph.contagion import contagion
from fengyan.graph.groups import group_edges, groups
from fengyan.graph.ownership import controllers
from fengyan.graph.signals import signals
from fengyan.resolve.service import StepClock
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
    """Sizes and timings of a graph run (wall and CPU seconds of each step)."""

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


def build_graph(
    ws: Workspace, as_of: datetime | None = None, settings: GraphSettings | None = None
) -> GraphReport:
    """Build the graph as of ``as_of`` and publish its derived tables."""
    settings = settings or load_settings()
    clock = StepClock()
    today = (as_of or now()).astimezone(CHINA_TZ).date()
    ws.lake.materialise([*LAKE_TABLES, *(seed.table for seed in settings.contagion.seeds)])
    clock.lap("materialise")
    con = ws.lake.connect(as_of)
    try:
        if settings.memory_limit is not None:
            spill = ws.settings.home / "tmp" / "duckdb"
            spill.mkdir(parents=True, exist_ok=True)
            # Both values are checked: the limit by its pattern, the path is ours.
            con.execute(f"SET memory_limit = '{settings.memory_limit}'")
            con.execute("SET temp_directory = '" + spill.as_posix().replace("'", "''") + "'")
        edges = load_edges(con, today)
        clock.lap("edges")
        holdings = edges.filter(pa.compute.equal(edges["relation"], "shareholding"))
        officers = edges.filter(pa.compute.equal(edges["relation"], "officer"))
        ctrl = controllers(
            pa.table(
                {
                    "owner": holdings["src"],
                    "asset": holdings["dst"],
                    "share": pa.compute.fill_null(holdings["share"], 0.0),
                }
            ),
            pa.table(
                {"person": officers["src"], "firm": officers["dst"], "role": officers["role"]}
            ),
            settings.ownership,
        )
        del holdings, officers  # copies of a third of the edges: not kept through the run
        clock.lap("controllers")
        firms = con.sql(
            """SELECT canonical_id FROM resolved_entity WHERE entity_kind = 'enterprise'
               AND kind <> 'unregistered'"""
        ).to_arrow_table()["canonical_id"]
        grouped = groups(group_edges(edges, ctrl.control, settings.groups), firms)
        clock.lap("groups")
        signal = signals(con, edges, settings.signals)
        clock.lap("signals")
        spread = contagion(edges, _seeds(con, settings), settings.contagion)
        clock.lap("contagion")
    finally:
        con.close()
    tables = {
        "graph_edge": edges,
        "graph_holding": ctrl.holdings,
        "graph_controller": ctrl.control,
        "graph_group": grouped,
        "graph_signal": signal,
        "graph_contagion": spread,
    }
    run = ws.lake.write_derived(STAGE, tables)
    clock.lap("write")
    clock.total()
    counts = {name: t.num_rows for name, t in tables.items()}
    counts["ownership_iterations"] = ctrl.iterations
    counts["seeds"] = int(pa.compute.sum(spread["seed"]).as_py() or 0) if spread.num_rows else 0
    return GraphReport(settings.model, counts, clock.wall, run, clock.cpu)
