"""Full runs work out of core: the streamed, memory-mapped outputs equal collected ones.

A full run stores its materialised steps in a working database file and streams each
output table to an Arrow IPC file (docs/engine.md, "Speed"); a restricted run keeps
everything in memory. Both paths, and the memory-limit (spilling) path, must give the
same tables.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from fengyan.indicators.compiler import compile_plan
from fengyan.indicators.engines.duckdb import DuckDBEngine
from fengyan.indicators.load import SpecSet, load_specs
from fengyan.indicators.service import compute_indicators
from tests.indicators.conftest import A, C, TinyCity

AS_OF = date(2024, 6, 30)


def _run(tiny: TinyCity, specs: SpecSet, work: Path | None) -> dict[str, pa.Table]:
    con = tiny.ws.lake.connect()
    try:
        engine = DuckDBEngine(con, threads=1)
        plan = compile_plan(specs, as_of=AS_OF, available=engine.tables())
        return engine.run(plan, work).tables
    finally:
        con.close()


def test_streamed_outputs_equal_collected_outputs(
    tiny: TinyCity, fixture_specs: SpecSet, tmp_path: Path
) -> None:
    collected = _run(tiny, fixture_specs, None)
    work = tmp_path / "work"
    work.mkdir()
    streamed = _run(tiny, fixture_specs, work)
    assert (
        set(streamed)
        == set(collected)
        == {
            "indicator_score",
            "indicator_value",
            "indicator_cutpoints",
        }
    )
    for name, table in collected.items():
        assert table.num_rows > 0 or name == "indicator_cutpoints", name
        assert streamed[name].equals(table), name
    # The outputs were written as files there; the working database is gone.
    assert sorted(p.name for p in work.iterdir()) == sorted(f"{n}.arrow" for n in collected)


def test_memory_limit_path_gives_the_same_tables(tiny: TinyCity, fixture_specs: SpecSet) -> None:
    plain = compute_indicators(tiny.ws, AS_OF, specs=fixture_specs, write=False)
    bounded = compute_indicators(
        tiny.ws, AS_OF, specs=fixture_specs, write=False, threads=1, memory_limit="64MB"
    )
    for name in ("indicator_score", "indicator_value", "indicator_cutpoints", "firm_category"):
        assert bounded.tables[name].equals(plain.tables[name]), name
    # The spill folder is the workspace's; the run's working folder is removed afterwards.
    tmp = tiny.ws.settings.home / "tmp"
    assert (tmp / "duckdb").is_dir()
    assert not [p for p in tmp.iterdir() if p.name.startswith("indicators-")]


def test_written_stage_equals_the_streamed_tables(tiny: TinyCity, fixture_specs: SpecSet) -> None:
    report = compute_indicators(tiny.ws, AS_OF, specs=fixture_specs)
    assert report.run is not None
    con = tiny.ws.lake.connect()
    try:
        for name in ("indicator_score", "indicator_value"):
            stored = con.sql(f"SELECT * FROM {name}").to_arrow_table()
            assert stored.equals(report.tables[name].cast(stored.schema)), name
    finally:
        con.close()


def test_indicator_order_does_not_depend_on_the_hash_seed() -> None:
    # Derived indicators are ordered by their dependencies; ties must not follow set order
    # (the order is the indicator_score column order).
    code = "from fengyan.indicators.load import load_specs; print(','.join(load_specs().ids))"
    seen = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        seen.add(out.stdout.strip())
    assert len(seen) == 1


def test_packaged_specs_restricted_run_equals_full_run_rows(tiny: TinyCity) -> None:
    # The packaged specs read the sources.yaml views (plain views in a restricted plan) and
    # the restricted `ind__out_value` picks values by position: same rows as the full run.
    specs = load_specs()
    full = compute_indicators(tiny.ws, AS_OF, specs=specs)  # writes the cut-points
    for firm in (A, C):
        alone = compute_indicators(tiny.ws, AS_OF, firms=[firm], specs=specs)
        for name in ("indicator_score", "indicator_value"):
            table = full.tables[name]
            mine = table.filter(pc.equal(table.column("firm_id"), firm))
            assert mine.num_rows > 0, (firm, name)
            assert alone.tables[name].cast(mine.schema).equals(mine), (firm, name)
