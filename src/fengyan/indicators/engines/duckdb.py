"""The DuckDB adapter: transpile each plan step with sqlglot and run it on a lake connection.

All DuckDB specifics of the indicator engine live here: the dialect name, the session
settings (time zone for TIMESTAMPTZ → DATE, insertion order) and temporary tables for the
materialised steps. The connection comes from ``Lake.connect(as_of)``, whose views already
show the lake as it was known at the as-of time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from fengyan.indicators.plan import FIRMS_TABLE, Plan

DIALECT = "duckdb"


@dataclass
class EngineResult:
    """The plan's output tables and the seconds each step took."""

    tables: dict[str, pa.Table]
    seconds: dict[str, float] = field(default_factory=dict)


class DuckDBEngine:
    """Runs plans on one DuckDB connection (the caller owns and closes it)."""

    name = "duckdb"
    version = duckdb.__version__

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        temp_directory: str | None = None,
    ) -> None:
        self.con = con
        # Event dates of TIMESTAMPTZ columns are calendar days in China, where the data is.
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        # Row order inside a step does not matter (outputs are ORDER BY'd): lets DuckDB
        # stream and spill instead of buffering to keep insertion order.
        con.execute("SET preserve_insertion_order = false")
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        # With a limit, materialised steps beyond it spill to the temporary directory
        # instead of growing the process (3M firms × 244 indicators do not fit otherwise).
        if memory_limit is not None:
            con.execute(f"SET memory_limit = '{memory_limit.replace(chr(39), '')}'")
        if temp_directory is not None:
            con.execute(f"SET temp_directory = '{temp_directory.replace(chr(39), chr(39) * 2)}'")

    def tables(self) -> set[str]:
        """Tables and views the connection can read."""
        rows = self.con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        return {str(r[0]) for r in rows}

    def run(self, plan: Plan) -> EngineResult:
        """Run every step; materialised steps become temporary tables, outputs Arrow tables."""
        result = EngineResult({})
        created: list[tuple[str, str]] = []
        if plan.firms is not None:
            self.con.register(FIRMS_TABLE, pa.table({"firm_id": pa.array(plan.firms, pa.string())}))
        try:
            for step in plan.steps:
                start = time.perf_counter()
                sql = step.sql(DIALECT)
                if step.output is not None:
                    result.tables[step.output] = self.con.sql(sql).to_arrow_table()
                else:
                    kind = "TABLE" if step.materialise else "VIEW"
                    self.con.execute(f'CREATE OR REPLACE TEMP {kind} "{step.name}" AS {sql}')
                    created.append((kind, step.name))
                result.seconds[step.name] = time.perf_counter() - start
        finally:
            for kind, name in reversed(created):
                self.con.execute(f'DROP {kind} IF EXISTS "{name}"')
            if plan.firms is not None:
                self.con.unregister(FIRMS_TABLE)
        return result
