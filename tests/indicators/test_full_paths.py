"""A full run's cheaper paths give the rows of the general ones.

A full run aggregates a firm-grain source only for the firms with several rows there
(``ind__many_<source>``: a branch's code reaching its parent) and takes the others' row
expressions as they are; it joins each event or state indicator's rows with that
indicator's evidence per firm; and it leaves a sources.yaml view that one source step
reads once as a view (docs/engine.md, "Speed"). A restricted run takes the general paths
(grouping every firm, one evidence join per source): both must give every firm the same
rows, including a firm with two registry records.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from fengyan.indicators.compiler import compile_plan
from fengyan.indicators.engines.duckdb import DuckDBEngine
from fengyan.indicators.load import load_specs
from fengyan.indicators.service import compute_indicators
from fengyan.workspace import Workspace
from tests.indicators.conftest import CA, CC, A, B, C, D, build_tiny_city
from tests.indicators.test_restricted import _add_links

AS_OF = date(2024, 6, 30)


def _rows(table: pa.Table, firm: str) -> pa.Table:
    return table.filter(pc.equal(table.column("firm_id"), firm))


def test_full_run_paths_equal_the_general_ones(sqlite_workspace: Workspace) -> None:
    city = build_tiny_city(sqlite_workspace)
    ws = city.ws
    # C's code is also a branch code of A: A, the least id, takes it, so A has two
    # registry rows (its own and C's) and C none.
    _add_links(ws, [{"key_kind": "branch_code", "key": CC, "canonical_id": A, "method": "name"}])
    specs = load_specs()
    full = compute_indicators(ws, AS_OF, specs=specs)

    con = ws.lake.connect()
    try:
        tables = DuckDBEngine(con).tables()
    finally:
        con.close()
    steps = {s.name: s for s in compile_plan(specs, as_of=AS_OF, available=tables).steps}
    assert "ind__many_enterprise" in steps
    assert not steps["enterprise_versions"].materialise  # one reader, no term tests

    values = full.tables["indicator_value"]
    registry = {s.id for s in specs.indicators if s.source == "enterprise"}
    mine = _rows(values, A)
    mine = mine.filter(pc.is_in(mine.column("indicator_id"), pa.array(sorted(registry))))
    both = sorted([city.key("enterprise", CA), city.key("enterprise", CC)])
    assert mine.num_rows > 0
    assert all(ev == both for ev in mine.column("evidence").to_pylist())
    # C's registry row is A's: C cites it nowhere.
    assert all(
        city.key("enterprise", CC) not in (ev or [])
        for ev in _rows(values, C).column("evidence").to_pylist()
    )

    for firm in (A, B, C, D):
        alone = compute_indicators(ws, AS_OF, firms=[firm], specs=specs)
        for name in ("indicator_score", "indicator_value"):
            expected = _rows(full.tables[name], firm)
            assert alone.tables[name].cast(expected.schema).equals(expected), (firm, name)
