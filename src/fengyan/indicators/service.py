"""``compute_indicators``: the one entry point the CLI and ``fengyan run`` call.

A full run (``firms=None``) computes every firm and replaces the ``indicators`` stage's
derived tables at once: ``indicator_score``, ``indicator_value``, ``indicator_run``,
``indicator_cutpoints`` and ``firm_category``. A restricted run (``firms=[…]``) runs the
same plan on those firms only, with ranks taken from the last full run's cut-points; its
tables are returned, and merged into the stage only with ``write=True``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from fengyan import __version__
from fengyan.clock import CHINA_TZ, now
from fengyan.indicators.categories import SCHEMA as CATEGORY_SCHEMA
from fengyan.indicators.categories import firm_category
from fengyan.indicators.compiler import compile_plan
from fengyan.indicators.engines.duckdb import DuckDBEngine
from fengyan.indicators.load import SpecSet, load_specs
from fengyan.workspace import Workspace

STAGE = "indicators"
MODEL = "indicators-v1"


@dataclass
class IndicatorReport:
    """What a run computed: its tables (in memory), sizes and timings."""

    as_of: date
    mode: str
    firms: int
    indicators: int
    tables: dict[str, pa.Table]
    seconds: dict[str, float] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)
    run: Path | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Rows per output table."""
        return {name: t.num_rows for name, t in self.tables.items()}


def as_of_bounds(as_of: date | datetime | None) -> tuple[date, datetime | None]:
    """The evaluation date and the lake time to read at.

    A date means "known by the end of that day in China"; None means now (latest state).
    """
    if as_of is None:
        return now().astimezone(CHINA_TZ).date(), None
    if isinstance(as_of, datetime):
        moment = as_of if as_of.tzinfo else as_of.replace(tzinfo=CHINA_TZ)
        day = moment.astimezone(CHINA_TZ).date()
        # A bare date given as midnight (typer parses --as-of 2024-06-30 so) is that whole day.
        if moment.astimezone(CHINA_TZ).time() == dtime(0, 0):
            return day, _end_of_day(day)
        return day, moment
    return as_of, _end_of_day(as_of)


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), dtime(0, 0), CHINA_TZ) - timedelta(
        microseconds=1
    )


def _run_table(
    specs: SpecSet, as_of: date, mode: str, firms: int, started: datetime, engine: str
) -> pa.Table:
    return pa.table(
        {
            "as_of": pa.array([as_of], pa.date32()),
            "model": [MODEL],
            "mode": [mode],
            "engine": [engine],
            "fengyan_version": [__version__],
            "spec_hash": [specs.spec_hash],
            "terms_hash": [specs.versions.get("terms", "")],
            "categories_hash": [specs.versions.get("categories", "")],
            "sources_hash": [specs.versions.get("sources", "")],
            "indicators": pa.array([len(specs.indicators)], pa.int32()),
            "firms": pa.array([firms], pa.int64()),
            "started": pa.array([started], pa.timestamp("us", tz="UTC")),
            "finished": pa.array([now()], pa.timestamp("us", tz="UTC")),
        }
    )


def compute_indicators(
    ws: Workspace,
    as_of: date | datetime | None = None,
    firms: Sequence[str] | None = None,
    specs: SpecSet | None = None,
    *,
    write: bool | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> IndicatorReport:
    """Compute indicators as of ``as_of`` for every firm, or only ``firms``.

    ``write`` defaults to True for a full run and False for a restricted one.
    ``threads`` and ``memory_limit`` (DuckDB syntax, ``"6GB"``) bound the engine; beyond
    the limit it spills to the workspace's ``tmp/duckdb`` folder.
    """
    started = now()
    t0 = time.perf_counter()
    specs = specs or load_specs()
    day, moment = as_of_bounds(as_of)
    mode = "full" if firms is None else "firms"
    seconds: dict[str, float] = {"load": time.perf_counter() - t0}
    con = ws.lake.connect(moment)
    # A full run works out of core: materialised steps in a working database file and the
    # output tables streamed to files there, handed back memory-mapped (docs/engine.md).
    work = _work_dir(ws) if firms is None else None
    try:
        spill = ws.settings.home / "tmp" / "duckdb" if memory_limit is not None else None
        if spill is not None:
            spill.mkdir(parents=True, exist_ok=True)
        engine = DuckDBEngine(
            con,
            threads=threads,
            memory_limit=memory_limit,
            temp_directory=str(spill) if spill is not None else None,
        )
        mark = time.perf_counter()
        plan = compile_plan(specs, as_of=day, available=engine.tables(), firms=firms)
        seconds["compile"] = time.perf_counter() - mark
        mark = time.perf_counter()
        result = engine.run(plan, work)
        seconds["compute"] = time.perf_counter() - mark
    finally:
        con.close()
        # The memory-mapped outputs stay readable after their files are unlinked.
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    mark = time.perf_counter()
    tables = dict(result.tables)
    scores = tables["indicator_score"]
    tables["firm_category"] = (
        firm_category(scores, specs.categories)
        if specs.categories is not None
        else CATEGORY_SCHEMA.empty_table()
    )
    seconds["categories"] = time.perf_counter() - mark
    tables["indicator_run"] = _run_table(specs, day, mode, scores.num_rows, started, engine.name)
    report = IndicatorReport(
        day, mode, scores.num_rows, len(specs.indicators), tables, seconds, result.seconds
    )
    if write if write is not None else firms is None:
        mark = time.perf_counter()
        report.run = _write(ws, tables, firms)
        seconds["write"] = time.perf_counter() - mark
    seconds["total"] = time.perf_counter() - t0
    return report


def _work_dir(ws: Workspace) -> Path:
    base = ws.settings.home / "tmp"
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="indicators-", dir=base))


def _write(ws: Workspace, tables: dict[str, pa.Table], firms: Sequence[str] | None) -> Path:
    if firms is None:
        return ws.lake.write_derived(STAGE, tables)
    # A restricted run replaces those firms' rows in the stage; the cut-points stay those
    # of the last full run (a restricted run never computes them).
    current = ws.lake.derived_files()
    chosen = pa.array(list(firms), pa.string())
    merged: dict[str, pa.Table] = {}
    for name, table in tables.items():
        if name == "indicator_run" or name not in current:
            merged[name] = table
            continue
        old = _read(current[name])
        old = old.filter(pc.invert(pc.is_in(old.column("firm_id"), value_set=chosen)))
        merged[name] = pa.concat_tables([old, table.cast(old.schema)]).sort_by("firm_id")
    if "indicator_cutpoints" in current:
        merged["indicator_cutpoints"] = _read(current["indicator_cutpoints"])
    return ws.lake.write_derived(STAGE, merged)


def _read(path: Path) -> pa.Table:
    import pyarrow.parquet as pq

    return pq.read_table(path)
