"""Per-source fused steps: values and scores per source, constants for firms without rows.

A firm without rows in a source takes each of its indicators' constant score (the score of
the missing value), computed at compile time; the engine must give that very score.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from fengyan.indicators.compiler import compile_plan, constant_score, constant_sql, score_sql
from fengyan.indicators.load import SpecSet, load_specs
from fengyan.indicators.service import compute_indicators
from fengyan.indicators.spec import Rank
from tests.indicators.conftest import TinyCity

AS_OF = date(2024, 6, 30)


@pytest.mark.parametrize("which", ["packaged", "fixture"])
def test_constant_scores_equal_the_engines(which: str, fixture_specs: SpecSet) -> None:
    specs = load_specs() if which == "packaged" else fixture_specs
    chosen = [s for s in specs.indicators if not s.derived and not isinstance(s.normalise, Rank)]
    assert chosen
    con = duckdb.connect()
    con.execute("CREATE TABLE t (v DOUBLE)")
    positive = 0
    for s in chosen:
        fill = s.missing_value
        con.execute("DELETE FROM t")
        con.execute("INSERT INTO t VALUES (?)", [fill])
        engine, const = con.execute(
            f"SELECT {score_sql('v', s)}, {constant_sql(s)} FROM t"
        ).fetchone()
        assert engine == const, s.id
        assert (constant_score(s) is None) == (fill is None), s.id
        positive += bool(const)
    if which == "fixture":
        # A lower-is-riskier count of zero scores > 0 without any row.
        assert positive > 0


def test_plan_has_one_output_step_per_source(fixture_specs: SpecSet) -> None:
    tables = {"resolved_entity", "resolved_link", "enterprise", "complaint", "advertisement"}
    plan = compile_plan(fixture_specs, as_of=AS_OF, available=tables)
    names = [s.name for s in plan.steps]
    sources = {s.source for s in fixture_specs.indicators if not s.derived}
    for source in sources:
        assert f"ind__agg_{source}" in names
    longs = [n for n in names if n.startswith("ind__long_")]
    assert longs and len(longs) <= len(sources)
    scores = next(s for s in plan.steps if s.name == "ind__scores").sql("duckdb")
    # Only rank and derived indicators keep a value in the wide table.
    valued = [s for s in fixture_specs.indicators if s.derived or isinstance(s.normalise, Rank)]
    for s in fixture_specs.indicators:
        assert (f"v_{s.id.lower()}" in scores) == (s in valued), s.id


def test_absent_firms_get_constant_rows(tiny: TinyCity, fixture_specs: SpecSet) -> None:
    report = compute_indicators(tiny.ws, AS_OF, specs=fixture_specs, write=False)
    score = report.tables["indicator_score"]
    value = report.tables["indicator_value"]
    rows = {(f, i): (v, s) for f, i, v, s in zip(
        value["firm_id"].to_pylist(), value["indicator_id"].to_pylist(),
        value["value"].to_pylist(), value["score"].to_pylist(), strict=True,
    )}  # fmt: skip
    checked = 0
    for s in fixture_specs.indicators:
        scores = score[s.id].to_pylist()
        for firm, sc in zip(score["firm_id"].to_pylist(), scores, strict=True):
            # Every score > 0 in the wide table has its long row with the same score.
            if sc is not None and sc > 0:
                assert rows[(firm, s.id)][1] == pytest.approx(sc, rel=1e-7), (firm, s.id)
                checked += 1
            else:
                assert (firm, s.id) not in rows, (firm, s.id)
    assert checked > 0
