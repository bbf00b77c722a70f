"""The DuckDB adapter: transpile each plan step with sqlglot and run it on a lake connection.

All DuckDB specifics of the indicator engine live here: the dialect name, the session
settings (time zone for TIMESTAMPTZ → DATE, insertion order), where materialised steps are
stored and how outputs leave the engine. The connection comes from
``Lake.connect(as_of)``, whose views already show the lake as it was known at the as-of time.

Two ways to run a plan:

* in memory (restricted runs, tests): materialised steps are tables of an in-memory
  database attached for the run, and outputs are collected as Arrow tables;
* out of core (``work_dir``, full runs): materialised steps are tables of a DuckDB file
  attached for the run, so the buffer pool evicts them to disk under the memory limit
  instead of failing, and each output is streamed batch by batch into an uncompressed
  Arrow IPC file in ``work_dir`` and handed back memory-mapped (file-backed pages the
  kernel can drop, not process memory). The working file is deleted after the run.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from fengyan.indicators.plan import FIRMS_TABLE, Plan, Step, TermTest
from fengyan.indicators.termhits import TermMatcher

DIALECT = "duckdb"
# Rows per record batch when an output is streamed to a file.
BATCH_ROWS = 262_144
# Catalog name of the attached working database (out-of-core runs).
WORK_CATALOG = "ind_work"


@dataclass
class EngineResult:
    """The plan's output tables and the seconds each step took."""

    tables: dict[str, pa.Table]
    seconds: dict[str, float] = field(default_factory=dict)


def _quote(text: str) -> str:
    return text.replace("'", "''")


def stream_to_file(reader: pa.RecordBatchReader, path: Path) -> pa.Table:
    """Write ``reader``'s batches to an Arrow IPC file; the table, memory-mapped from it."""
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
    return pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()


@functools.lru_cache(maxsize=64)
def _matcher(tests: tuple[TermTest, ...]) -> TermMatcher:
    return TermMatcher(tests)


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
        # With a limit, operators beyond it spill to the temporary directory instead of
        # growing the process (3M firms × 256 indicators do not fit otherwise).
        if memory_limit is not None:
            con.execute(f"SET memory_limit = '{_quote(memory_limit)}'")
        if temp_directory is not None:
            con.execute(f"SET temp_directory = '{_quote(temp_directory)}'")

    def tables(self) -> set[str]:
        """Tables and views the connection can read."""
        rows = self.con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        return {str(r[0]) for r in rows}

    def run(self, plan: Plan, work_dir: Path | None = None) -> EngineResult:
        """Run every step; outputs come back as Arrow tables.

        ``work_dir`` (an existing folder): run out of core — materialised steps in a
        database file there, outputs streamed to ``<output>.arrow`` files there and
        returned memory-mapped (the caller removes the folder when done with them).
        """
        result = EngineResult({})
        created: list[str] = []
        if plan.firms is not None:
            self.con.register(FIRMS_TABLE, pa.table({"firm_id": pa.array(plan.firms, pa.string())}))
        work_db = work_dir / f"work-{os.getpid()}.duckdb" if work_dir is not None else None
        # Materialised steps go to an attached working database: a file out of core, else
        # memory. Detaching it at the end drops them all at once (a restricted run has
        # ~100 small tables; dropping them one by one cost a statement each).
        where = _quote(str(work_db)) if work_db is not None else ":memory:"
        self.con.execute(f"ATTACH '{where}' AS {WORK_CATALOG}")
        # Steps read each other by bare name: the working database first, then the lake.
        self.con.execute(f"SET search_path = '{WORK_CATALOG}.main,memory.main'")
        try:
            for step in plan.steps:
                start = time.perf_counter()
                sql = step.sql(DIALECT)
                if step.output is not None:
                    if work_dir is None:
                        table = self.con.sql(sql).to_arrow_table()
                    else:
                        reader = self.con.sql(sql).to_arrow_reader(BATCH_ROWS)
                        table = stream_to_file(reader, work_dir / f"{step.output}.arrow")
                    result.tables[step.output] = table
                elif step.texts is not None:
                    # Term tests: the distinct texts through one Aho-Corasick automaton.
                    self._term_step(step)
                elif not step.materialise:
                    self.con.execute(f'CREATE OR REPLACE TEMP VIEW "{step.name}" AS {sql}')
                    created.append(step.name)
                else:
                    target = f'{WORK_CATALOG}."{step.name}"'
                    self.con.execute(f"CREATE OR REPLACE TABLE {target} AS {sql}")
                result.seconds[step.name] = time.perf_counter() - start
        finally:
            for name in reversed(created):
                self.con.execute(f'DROP VIEW IF EXISTS "{name}"')
            self.con.execute("USE memory")
            self.con.execute("RESET search_path")
            self.con.execute(f"DETACH {WORK_CATALOG}")
            if work_db is not None:
                for path in (work_db, work_db.with_name(work_db.name + ".wal")):
                    path.unlink(missing_ok=True)
            if plan.firms is not None:
                self.con.unregister(FIRMS_TABLE)
        return result

    def _term_step(self, step: Step) -> None:
        """A term step's table from its distinct texts, matched in batches (Arrow in/out)."""
        texts = self.con.sql(step.texts_sql(DIALECT)).to_arrow_table()
        matcher = _matcher(step.terms)
        batches = (
            matcher.hits(chunk).to_batches()[0] for chunk in texts.column(0).chunks if len(chunk)
        )
        schema = matcher.hits(pa.array([], pa.string())).schema
        view = f"ind__arrow_{step.name}"
        self.con.register(view, pa.RecordBatchReader.from_batches(schema, batches))
        target = f'{WORK_CATALOG}."{step.name}"'
        try:
            # Names come from the compiler.
            self.con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {view}")  # noqa: S608
        finally:
            self.con.unregister(view)
