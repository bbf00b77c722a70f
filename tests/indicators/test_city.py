"""All packaged specs run on the simulated city (tests/resolve's resolved city)."""

from __future__ import annotations

import pyarrow.compute as pc

from fengyan.indicators.load import PACKAGE_DIR, load_specs, spec_files
from fengyan.indicators.service import compute_indicators
from tests.resolve.conftest import ResolvedCity, resolved_city

__all__ = ["resolved_city"]


def test_packaged_specs_run_on_the_city(resolved_city: ResolvedCity) -> None:
    assert spec_files(PACKAGE_DIR), "the package ships no indicator specs"
    specs = load_specs()
    report = compute_indicators(resolved_city.ws, specs=specs, write=False)
    scores = report.tables["indicator_score"]
    con = resolved_city.ws.lake.connect()
    firms = con.execute(
        "SELECT count(*) FROM resolved_entity WHERE entity_kind = 'enterprise'"
    ).fetchall()[0][0]
    assert scores.num_rows == firms
    assert scores.column_names == ["firm_id", *specs.ids]
    for name in specs.ids:
        col = scores.column(name)
        lo, hi = pc.min(col).as_py(), pc.max(col).as_py()
        assert lo is None or (0.0 <= lo <= hi <= 1.0), name
    # Every evidence key of a lake record names a record that exists.
    values = report.tables["indicator_value"]
    keys = {k for ev in values.column("evidence").to_pylist() if ev for k in ev}
    tables = {k.split("/", 1)[0] for k in keys} & set(resolved_city.ws.lake.tables())
    for table in tables:
        ids = {k.split("/", 1)[1] for k in keys if k.startswith(table + "/")}
        found = con.execute(
            f'SELECT count(DISTINCT _id) FROM "{table}__versions" WHERE _id IN ?', [list(ids)]
        ).fetchall()[0][0]
        assert found == len(ids), table
    con.close()
    assert values.num_rows > 0
