"""The graph of a small simulated city: controllers against the truth, groups, contagion."""

from __future__ import annotations

from fengyan.resolve.evaluate import evaluate_controllers
from tests.resolve.conftest import ResolvedCity


def test_controllers_agree_with_the_simulator(resolved_city: ResolvedCity) -> None:
    con = resolved_city.ws.lake.connect()
    agreement = evaluate_controllers(con, resolved_city.truth)
    assert agreement.by_via["direct"].recall >= 0.95
    assert agreement.by_via["chain"].recall >= 0.8
    # Nominees hide the real owner from the register: the graph cannot name them.
    assert agreement.by_via["nominee"].recall <= 0.1


def test_graph_tables(resolved_city: ResolvedCity) -> None:
    con = resolved_city.ws.lake.connect()
    counts = resolved_city.graph.counts
    assert counts["graph_controller"] > 1500 and counts["seeds"] > 0
    relations = {r[0] for r in con.execute("SELECT DISTINCT relation FROM graph_edge").fetchall()}
    assert {"shareholding", "officer", "phone", "address"} <= relations
    # Every firm has a group; groups of one are the norm, shell clusters are not.
    sizes = con.execute("SELECT max(group_size), count(*) FROM graph_group").fetchall()[0]
    assert sizes[1] >= 2000 and sizes[0] >= 2
    total = con.execute("SELECT sum(score) FROM graph_contagion").fetchall()[0][0]
    assert 0 < total <= 1.0 + 1e-9
    seeds_high = con.execute("SELECT avg(percentile) FROM graph_contagion WHERE seed").fetchall()[
        0
    ][0]
    assert seeds_high > 0.9
    # Each firm the walk reaches names a seed it comes from; seeds mostly name themselves.
    sources = con.execute(
        """SELECT count(*) FILTER (WHERE c.source_seed IS NOT NULL AND c.score > 0),
                  count(*) FILTER (WHERE c.score > 0),
                  count(*) FILTER (WHERE c.source_seed IS NOT NULL AND NOT s.seed),
                  count(*) FILTER (WHERE c.seed AND c.source_seed = c.firm_id
                                   AND c.source_hops = 0),
                  count(*) FILTER (WHERE c.seed)
           FROM graph_contagion c LEFT JOIN graph_contagion s ON s.firm_id = c.source_seed"""
    ).fetchall()[0]
    assert sources[0] >= 0.9 * sources[1]
    assert sources[2] == 0  # a source is always a seed
    assert sources[3] >= 0.8 * sources[4]
