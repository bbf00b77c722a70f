# ruff: noqa: S608 - this module builds SQL from the compiler's step names and SQL; the only
# values inserted (firm ids, a file path) go through compiler.lit() or are quoted.
"""Warm incremental rescoring: one firm's indicators and index scores, alone and fast.

A restricted run (``compute_indicators(ws, firms=[…])``) pays, for every call, a lake
connection, DuckDB's planning of ~146 statements (~410 kB of SQL) and scans of lake tables
the firm filter cannot reach (1.1 s at 30,000 firms, 1.8 s at 300,000, 5.8 s at 3M).
:class:`IncrementalScorer` is the long-lived alternative a service keeps (F4, "7×24
re-scoring as data arrives"). Once per lake generation and (specs, as-of date) it builds:

* **firm-keyed source rows** — the full plan's own source steps (``ind__src_<source>``:
  every row with the firm it reaches, term tests applied, events after the as-of date
  dropped) and the universe, run once over the lake and stored in a private DuckDB
  database as tables sorted by a hash of ``firm_id`` (then by the row's position in the
  full plan's step, so a firm's float sums add in the full run's order). A firm's rows
  are then one row group of each table, whatever the jurisdiction's size (the filter on
  the hash reaches the scan's zone maps; on the id itself it did not);
* **which sources hold rows of which firm** (``ind__w_presence``, sorted by firm);
* **defaults for a firm without rows in a source** — that source's aggregation and
  evidence are empty and its value rows are the missing-value constants whatever the
  firm: computed once for a template firm, so a call skips those steps (the benchmark's
  firm has rows in 4 of 34 sources);
* **bound index models** (``bound_models``) for ``rescore_firm``.

A call (:meth:`IncrementalScorer.rescore`, :meth:`~IncrementalScorer.rescore_many`) then
runs, in a working database attached for it, the lookups of the firms' rows and the
restricted plan's steps after its sources for the sources that hold rows, with DuckDB's
optimiser off past the lookups (it costs more than it saves on a few rows); the
``indicator_score`` row is assembled from the aggregations in Python (the plan's 34-way
join of them cost more to plan than everything else). DuckDB plans every statement anew:
``PREPARE``/``EXECUTE`` re-binds and re-optimises at each ``EXECUTE`` in DuckDB 2.0
(measured, docs/incremental.md), so the statements are planned per call and several
firms are best passed together.

Because the source rows are the full run's own and every later step is the restricted
plan's, a firm's rows equal the full run's (ranks: the last full run's cut-points, as in a
restricted run). Each warm table is keyed by the generations of the lake tables and the
derived runs it reads (``Lake.generation``: the batch files' names, sizes and times, as
the ``_current/`` cache): :meth:`~IncrementalScorer.refresh` (called by ``rescore`` unless
told not to) rebuilds only the sources whose inputs changed — a complaint batch rebuilds
the complaint source, not the registry — and says which firms' rows changed
(:attr:`~IncrementalScorer.changed`, :meth:`~IncrementalScorer.rescore_changed`).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp

from fengyan.indicators.categories import SCHEMA as CATEGORY_SCHEMA
from fengyan.indicators.categories import firm_category
from fengyan.indicators.compiler import CUTPOINTS_TABLE, col, compile_plan, lit
from fengyan.indicators.engines.duckdb import DIALECT, DuckDBEngine
from fengyan.indicators.load import SpecSet, load_specs
from fengyan.indicators.plan import FIRMS_TABLE, Plan, Step
from fengyan.indicators.service import as_of_bounds
from fengyan.indicators.sources import VERSIONS_SUFFIX
from fengyan.indicators.spec import Rank
from fengyan.workspace import Workspace

# Step names of the compiled plans this module relies on.
UNIVERSE = "ind__universe"
SOURCE_PREFIX = "ind__src_"
AGGREGATE_PREFIX = "ind__agg_"
# Warm tables of the scorer's own database.
WARM_PREFIX = "ind__w_"
# Output and step names of the restricted plan read when assembling the score table.
SCORE_OUTPUT = "indicator_score"
VALUE_OUTPUT = "indicator_value"
SCORES_STEP = "ind__scores"
EVIDENCE_STEP = "ind__evidence"
# The working database of a call (dropped at its end) and the firm of the defaults.
WORK_CATALOG = "ind__w_work"
TEMPLATE_FIRM = "ind__w_template"
TEMPLATE_PREFIX = "ind__w_tmpl_"
PRESENCE = "ind__w_presence"
# A warm row's position in the full plan's step: a firm's rows keep the order the full
# run aggregates them in (a float sum's last bits depend on it).
POSITION = "ind__w_pos"
# A hash of the firm id the warm tables are sorted by: DuckDB's zone maps of a string
# keep only its first bytes, the same ("ent:9144") for every firm id, so a filter on the
# id scanned every row group (20.8 ms at 3M rows against 0.47 ms on the hash, measured).
KEY = "ind__w_key"
HIDDEN = f"{POSITION}, {KEY}"
# Derived tables of the indicators stage: read (cut-points) but never a source's input.
_OWN_STAGE = ("indicator_", "firm_category")


@dataclass
class FirmResult:
    """One firm's recomputed rows: the indicator tables (one firm each) and its index.

    ``index``: per model, what ``rescore_firm`` returns (score, grade, dimensions, rules,
    top contributors with evidence); None when the firm is not in the universe or the
    scorer was built without index models.
    """

    firm_id: str
    as_of: date
    tables: dict[str, pa.Table]
    index: list[dict[str, Any]] | None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        """Whether the firm is in the universe (resolution knows it)."""
        return bool(self.tables["indicator_score"].num_rows > 0)


def _query(sql: str) -> exp.Query:
    tree = sqlglot.parse_one(sql)
    if not isinstance(tree, exp.Query):
        raise TypeError(f"not a query: {sql[:100]}")
    return tree


def _referenced(step: Step) -> set[str]:
    """Tables a step reads (its own CTEs excluded)."""
    names: set[str] = set()
    for tree in (step.query, step.texts):
        if tree is None:
            continue
        ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
        names |= {t.name for t in tree.find_all(exp.Table) if t.name not in ctes}
    return names


def _closure(steps: Sequence[Step], wanted: Iterable[str]) -> list[Step]:
    """The steps ``wanted`` needs, directly or through other steps, in plan order."""
    by_name = {s.name: s for s in steps}
    needed: set[str] = set()
    todo = [w for w in wanted if w in by_name]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        todo += [r for r in _referenced(by_name[name]) if r in by_name and r not in needed]
    return [s for s in steps if s.name in needed]


def _base_tables(steps: Sequence[Step], name: str) -> set[str]:
    """Lake or derived tables a step reads, through the steps before it."""
    by_name = {s.name: s for s in steps}
    out: set[str] = set()
    for s in _closure(steps, [name]):
        out |= {r for r in _referenced(s) if r not in by_name}
    return out


@dataclass(frozen=True)
class _Call:
    """A statement of one call: its table's name, its SQL (DuckDB), whether returned."""

    name: str
    sql: str
    output: str | None = None

    @classmethod
    def of(cls, step: Step, output: bool = False) -> _Call:
        return cls(step.name, step.sql(DIALECT), step.name if output else step.output)


def _firm_rows(tables: Mapping[str, pa.Table], firm: str) -> dict[str, pa.Table]:
    return {k: t.filter(pc.equal(t.column("firm_id"), firm)) for k, t in tables.items()}


class IncrementalScorer:
    """Rescore single firms fast against a warm copy of the lake's firm-keyed rows.

    ``as_of``: as in :func:`~fengyan.indicators.service.compute_indicators` (None: now,
    the latest state). ``models``: index model ids (default: the shipped three); with
    ``index=False`` only the indicator rows are computed. ``threads`` and
    ``memory_limit`` (DuckDB syntax, spilling to the workspace's ``tmp/duckdb``) bound the
    build of the source rows, as in ``compute_indicators``; rescoring runs on one thread
    (its rows are few). The warm rows live in memory: about the size of the full run's
    source steps' tables for the used columns.
    Not thread-safe: one scorer per thread, or a lock around :meth:`rescore`.
    """

    def __init__(
        self,
        ws: Workspace,
        as_of: date | datetime | None = None,
        specs: SpecSet | None = None,
        *,
        models: Sequence[str] | None = None,
        index: bool = True,
        threads: int | None = None,
        memory_limit: str | None = None,
        on_disk: bool = False,
    ) -> None:
        self.ws = ws
        self.specs = specs or load_specs()
        self._as_of = as_of
        self.day, self.moment = as_of_bounds(as_of)
        self.threads = threads
        self.memory_limit = memory_limit
        self._models = models
        self._index = index
        self._bound: list[Any] | None = None
        # On disk (``on_disk``), under the workspace's tmp folder and removed at close:
        # DuckDB compresses the warm rows there and its buffer pool (``memory_limit``)
        # keeps only what calls read, instead of every row in memory.
        self._file: Path | None = None
        if on_disk:
            base = ws.settings.home / "tmp"
            base.mkdir(parents=True, exist_ok=True)
            self._file = Path(tempfile.mkdtemp(prefix="incremental-db-", dir=base)) / "warm.duckdb"
        self.con = duckdb.connect(str(self._file) if self._file is not None else ":memory:")
        if on_disk and memory_limit is not None:
            quoted = memory_limit.replace("'", "''")
            self.con.execute(f"SET memory_limit = '{quoted}'")
        row = self.con.execute("SELECT current_database()").fetchone()
        # The warm database's catalog ("memory", or the file's name).
        self._catalog = str(row[0]) if row else "memory"
        # Event dates of TIMESTAMPTZ columns are calendar days in China (as the engine);
        # one firm's rows are a few: one thread plans and runs them with least overhead.
        self.con.execute("SET TimeZone = 'Asia/Shanghai'")
        self.con.execute("SET threads = 1")
        self._available: frozenset[str] | None = None
        self._full: Plan | None = None
        self._restricted: Plan | None = None
        self._plan: Plan | None = None
        self._inputs: dict[str, set[str]] = {}
        self._built: dict[str, dict[str, str]] = {}
        self._cutpoints: str | None = None
        self._cutpoints_used = False
        self._state_seen: dict[str, str] | None = None
        # After :meth:`refresh`: the firms whose rows it changed, None when it cannot tell
        # (the first build, a new plan, new cut-points): a service rescores those.
        self.changed: set[str] | None = None
        self._local: dict[str, set[str]] = {}
        self._score_inputs: set[str] = set()
        self._sources: list[str] = []
        # Rank indicators, and the ind__scores columns of derived ones (see _cited).
        self._ranked = any(isinstance(s.normalise, Rank) for s in self.specs.indicators)
        self._derived_scores = [col("s", s.id) for s in self.specs.indicators if s.derived]
        self._template = pa.table({})
        # Value rows of a source for firms without rows in it: one cheap step each.
        self._templated: dict[str, Step] = {}
        self._defaults_made = []
        self._defaults_stale = True
        self.seconds: dict[str, float] = {}
        # Seconds of each step of the last call (what a benchmark shows).
        self.steps: dict[str, float] = {}
        # DuckDB's optimiser costs more than it saves on a few firms' rows (15-25 % of a
        # call, measured); it stays on for the warm lookups, whose firm filter must reach
        # the scans' zone maps. Results are the same either way (tests run both).
        self.optimise_lookups_only = True
        self.refresh()
        if index:
            self.bound()

    # ---- state of the lake ------------------------------------------------------------

    def _state(self) -> tuple[dict[str, str], list[str]]:
        """Each lake table's generation and each derived table's file, and the lake's
        tables (a directory listing and a ``stat`` per batch file: no file is read)."""
        lake = self.ws.lake
        tables = lake.tables()
        state = {t: lake.generation(lake.files(t)) for t in tables}
        state.update((name, str(path)) for name, path in lake.derived_files().items())
        return state, tables

    @staticmethod
    def _key(inputs: Iterable[str], state: Mapping[str, str]) -> dict[str, str]:
        """The state of the tables a warm table is built from."""
        bases = {n.removesuffix(VERSIONS_SUFFIX) for n in inputs}
        return {n: state.get(n, "") for n in sorted(bases)}

    # ---- building -----------------------------------------------------------------------

    def refresh(self) -> list[str]:
        """Rebuild the warm rows of every source whose inputs changed; their names.

        A new lake or derived table (the plan itself changes) rebuilds everything; a new
        full run's cut-points are reloaded. When nothing changed: a directory listing.
        """
        if self._as_of is None and as_of_bounds(None)[0] != self.day:
            # "Now" moved to a new day: windows and the event cut move with it.
            self.day, self.moment = as_of_bounds(None)
            self._available, self._state_seen = None, None
        state, lake_tables = self._state()
        if state == self._state_seen:
            self.changed = set()
            return []
        # Firms whose source rows the rebuild changes (None: any firm may have changed).
        self.changed = set() if self._state_seen is not None else None
        # What a lake connection shows: every table, its history view, derived tables.
        available = frozenset(set(state) | {t + VERSIONS_SUFFIX for t in lake_tables})
        if available != self._available:
            self._compile(available)
            self.changed = None
        stale = [
            n for n, ins in self._inputs.items() if self._built.get(n) != self._key(ins, state)
        ]
        if stale:
            self._build(stale, state)
        cut = state.get(CUTPOINTS_TABLE)
        if self._cutpoints_used and cut != self._cutpoints:
            if self._cutpoints is not None:
                self.changed = None  # every rank may move
            self._load_cutpoints(cut)
        if stale:
            self._presence()
        if self._defaults_stale or UNIVERSE in stale:
            self._defaults()
            self._defaults_stale = False
        self._state_seen = state
        return stale

    def _compile(self, available: frozenset[str]) -> None:
        mark = time.perf_counter()
        full = compile_plan(self.specs, as_of=self.day, available=available)
        restricted = compile_plan(self.specs, as_of=self.day, available=available, firms=["-"])
        self._full, self._restricted, self._available = full, restricted, available
        # The warm tables: the universe and every source step of the full plan.
        warm = [UNIVERSE] + [s.name for s in full.steps if s.name.startswith(SOURCE_PREFIX)]
        self._inputs = {
            name: {t for t in _base_tables(full.steps, name) if not t.startswith(_OWN_STAGE)}
            for name in warm
        }
        self._built = {}
        self._cutpoints = None
        self._plan = self._firm_plan()
        self._defaults_stale = True
        self._cutpoints_used = any(CUTPOINTS_TABLE in _referenced(s) for s in self._plan.steps)
        self.seconds["compile"] = time.perf_counter() - mark

    def _build(self, names: Sequence[str], state: Mapping[str, str]) -> None:
        """Run the full plan's steps behind ``names`` on the lake; store their rows."""
        assert self._full is not None
        mark = time.perf_counter()
        outputs = [
            Step(
                f"{WARM_PREFIX}{name}",
                _query(f'SELECT *, rowid AS {POSITION} FROM "{name}"'),
                materialise=False,
                output=name,
            )
            for name in names
        ]
        steps = [*_closure(self._full.steps, names), *outputs]
        plan = dataclasses.replace(self._full, steps=steps, notes=[])
        base = self.ws.settings.home / "tmp"
        base.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="incremental-", dir=base))
        lake = self.ws.lake.connect(self.moment)
        try:
            spill = self.ws.settings.home / "tmp" / "duckdb"
            if self.memory_limit is not None:
                spill.mkdir(parents=True, exist_ok=True)
            engine = DuckDBEngine(
                lake,
                threads=self.threads,
                memory_limit=self.memory_limit,
                temp_directory=str(spill) if self.memory_limit is not None else None,
            )
            # Rows stored in the order they are read (the engine lets DuckDB reorder them
            # for a full run): the positions, so each firm's order, are the same at every
            # build — a float sum's last bits depend on that order.
            lake.execute("SET preserve_insertion_order = true")
            result = engine.run(plan, work)
            # Sorted by the firm's hash: its rows are in one row group (zone maps).
            for name in names:
                self.con.register("ind__w_arrow", result.tables[name])
                try:
                    if name in self._built and self.changed is not None:
                        self.changed |= self._changed_firms(name)
                    self.con.execute(
                        f'CREATE OR REPLACE TABLE "{WARM_PREFIX}{name}" AS'
                        f" SELECT *, hash(firm_id) AS {KEY} FROM ind__w_arrow"
                        f" ORDER BY {KEY}, firm_id, {POSITION}"
                    )
                finally:
                    self.con.unregister("ind__w_arrow")
                self._built[name] = self._key(self._inputs[name], state)
            del result
        finally:
            lake.close()
            shutil.rmtree(work, ignore_errors=True)
        self.seconds["build"] = time.perf_counter() - mark

    def _presence(self) -> None:
        """Which sources hold rows of which firm: (key, firm_id, source), sorted."""
        self._sources = [n for n in self._inputs if n != UNIVERSE]
        parts = " UNION ALL ".join(
            f'SELECT DISTINCT {KEY}, firm_id, {i} AS source FROM "{WARM_PREFIX}{n}"'
            for i, n in enumerate(self._sources)
        )
        self.con.execute(
            f"CREATE OR REPLACE TABLE {PRESENCE} AS SELECT * FROM ({parts}) AS p"
            f" ORDER BY {KEY}, firm_id, source"
        )

    def _changed_firms(self, name: str) -> set[str]:
        """Firms whose rows in warm table ``name`` differ from the new rows (``ind__w_arrow``)."""
        old = f'SELECT * EXCLUDE ({HIDDEN}) FROM "{WARM_PREFIX}{name}"'
        new = f"SELECT * EXCLUDE ({POSITION}) FROM ind__w_arrow"
        rows = self.con.execute(
            f"SELECT DISTINCT firm_id FROM (({old} EXCEPT ALL {new})"
            f" UNION ALL ({new} EXCEPT ALL {old})) AS d WHERE firm_id IS NOT NULL"
        ).fetchall()
        return {str(r[0]) for r in rows}

    def _load_cutpoints(self, path: str | None) -> None:
        if path is None:
            # compile_plan refused a restricted plan with rank indicators already.
            raise LookupError("no indicator_cutpoints from a full run")
        quoted = path.replace("'", "''")
        self.con.execute(
            f"CREATE OR REPLACE TABLE {CUTPOINTS_TABLE} AS SELECT * FROM read_parquet('{quoted}')"
        )
        self._cutpoints = path

    # ---- the per-firm statements ---------------------------------------------------------

    def _firm_plan(self) -> Plan:
        """The restricted plan's steps after its sources, which read the warm rows."""
        assert self._restricted is not None
        steps = self._restricted.steps
        first = next(i for i, s in enumerate(steps) if s.name.startswith(AGGREGATE_PREFIX))
        post = steps[first:]
        for s in post:
            if s.texts is not None or FIRMS_TABLE in _referenced(s):
                raise ValueError(f"step {s.name} cannot run on warm rows")
        # A source's own steps (its aggregation, evidence and value rows): for firms
        # without rows in the source they are the same whatever the firm, so they are
        # computed once (:meth:`_defaults`) and skipped.
        self._local = {}
        for name in self._inputs:
            if name == UNIVERSE:
                continue
            source = name.removeprefix(SOURCE_PREFIX)
            own = {f"ind__agg_{source}", f"ind__evidence_{source}", f"ind__long_{source}"}
            self._local[name] = {s.name for s in post if s.name in own}
        out = next(s for s in post if s.output == SCORE_OUTPUT)
        self._score_inputs = _referenced(out)
        return dataclasses.replace(self._restricted, steps=post, notes=[])

    def _lookup(self, name: str, chosen: str, output: bool = False) -> _Call:
        """The warm rows in source (or universe) step ``name`` of the ``chosen`` firms
        (a condition: :meth:`_chosen`)."""
        sql = f'SELECT * EXCLUDE ({HIDDEN}) FROM "{WARM_PREFIX}{name}" WHERE {chosen}'
        return _Call(name, sql, name if output else None)

    @staticmethod
    def _chosen(firms: Sequence[str]) -> str:
        """The condition picking ``firms``' warm rows: on the key (zone maps), then the id."""
        ids = ", ".join(lit(f) for f in firms)
        keys = ", ".join(f"hash({lit(f)})" for f in firms)
        return f"{KEY} IN ({keys}) AND firm_id IN ({ids})"

    def _run(self, steps: Sequence[_Call], defaults: bool = True) -> dict[str, pa.Table]:
        """Run ``steps`` in a working database attached for the call; their outputs.

        A name no step of the call creates resolves to the warm database (the defaults).
        """
        con = self.con
        con.execute(f"ATTACH ':memory:' AS {WORK_CATALOG}")
        con.execute(f"SET search_path = '{WORK_CATALOG}.main,{self._catalog}.main'")
        out: dict[str, pa.Table] = {}
        self.steps = {}
        optimising = True
        try:
            for step in steps:
                mark = time.perf_counter()
                if optimising and self.optimise_lookups_only and step.name not in self._inputs:
                    con.execute("PRAGMA disable_optimizer")
                    optimising = False
                if defaults and step.name == EVIDENCE_STEP and not self._cited(out):
                    continue  # no firm cites derived evidence: the empty default
                target = f'{WORK_CATALOG}."{step.name}"'
                con.execute(f"CREATE TABLE {target} AS {step.sql}")
                if step.output is not None:
                    out[step.output] = con.sql(f"SELECT * FROM {target}").to_arrow_table()
                self.steps[step.name] = time.perf_counter() - mark
        finally:
            if not optimising:
                con.execute("PRAGMA enable_optimizer")
            con.execute(f'USE "{self._catalog}"')
            con.execute("RESET search_path")
            con.execute(f"DETACH {WORK_CATALOG}")
        return out

    def _defaults(self) -> None:
        """Each source's own steps for a firm without rows in it, in the warm database.

        Computed for a firm that exists nowhere but in the universe: its aggregation and
        evidence are empty tables (their columns); its value rows do not depend on the
        firm but for its id (the constants of missing values), kept as a template the
        default view crosses with the call's universe.
        """
        assert self._plan is not None
        con = self.con
        for name in self._defaults_made:
            con.execute(f'DROP TABLE IF EXISTS "{name}"')
        self._defaults_made = []
        universe = _query(
            f"SELECT * EXCLUDE ({HIDDEN}) REPLACE ({lit(TEMPLATE_FIRM)} AS firm_id)"
            f' FROM "{WARM_PREFIX}{UNIVERSE}" LIMIT 1'
        )
        empty = [
            Step(n, _query(f'SELECT * EXCLUDE ({HIDDEN}) FROM "{WARM_PREFIX}{n}" LIMIT 0'))
            for n in self._local
        ]
        local = set().union(*self._local.values())
        keep = [
            dataclasses.replace(s, output=s.name) if s.name in local | {EVIDENCE_STEP} else s
            for s in self._plan.steps
        ]
        calls = [_Call.of(s) for s in (Step(UNIVERSE, universe), *empty, *keep)]
        tables = self._run(calls, defaults=False)
        # A firm without rows in a source scores what the template firm scores there.
        self._template = tables[SCORE_OUTPUT]
        self._templated = {}
        if EVIDENCE_STEP in tables:
            con.register("ind__w_arrow", tables[EVIDENCE_STEP])
            try:
                con.execute(f"CREATE TABLE {EVIDENCE_STEP} AS SELECT * FROM ind__w_arrow LIMIT 0")
            finally:
                con.unregister("ind__w_arrow")
            self._defaults_made.append(EVIDENCE_STEP)
        for name in sorted(local):
            table = tables[name]
            con.register("ind__w_arrow", table)
            try:
                if name.startswith("ind__long_") and table.num_rows:
                    # Union members are read by position: firm_id stays the first column.
                    assert table.column_names[0] == "firm_id"
                    tmpl = f'"{TEMPLATE_PREFIX}{name}"'
                    con.execute(
                        f"CREATE TABLE {tmpl} AS SELECT * EXCLUDE (firm_id) FROM ind__w_arrow"
                    )
                    self._templated[name] = Step(
                        name,
                        _query(
                            f"SELECT u.firm_id, t.* FROM {UNIVERSE} AS u"
                            f' CROSS JOIN "{self._catalog}".main.{tmpl} AS t'
                        ),
                    )
                    self._defaults_made.append(f"{TEMPLATE_PREFIX}{name}")
                else:
                    con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM ind__w_arrow LIMIT 0')
                    self._defaults_made.append(name)
            finally:
                con.unregister("ind__w_arrow")

    _defaults_made: list[str] = []  # noqa: RUF012 - replaced per instance before use

    def _cited(self, tables: Mapping[str, pa.Table]) -> bool:
        """Whether ``ind__evidence`` can have rows for the call's firms.

        Its rows are the evidence lists of rank indicators and of derived indicators
        scoring > 0 (``ind__scores``); without rank indicators and with no derived score
        above 0 it is empty, whatever else the firms have (most firms: 77 % at 30,000).
        """
        scores = tables.get(SCORES_STEP)
        if self._ranked or scores is None:
            return True
        for key in self._derived_scores:
            if key in scores.column_names and any(
                v is not None and v > 0 for v in scores.column(key).to_pylist()
            ):
                return True
        return False

    def _scores(self, tables: Mapping[str, pa.Table]) -> pa.Table:
        """``indicator_score`` of the call's firms, as the plan's output step computes it.

        That step is the universe left-joined with every source's aggregation and with
        ``ind__scores``: a rank or derived indicator's score is its ``ind__scores``
        column; any other is its source's aggregation's score, else (no row there, or a
        missing value) the score of the missing value, which is the template firm's. For
        a few firms the join's planning costs far more than this (docs/engine.md).
        """
        template = self._template
        missing = template.to_pylist()[0] if template.num_rows else {}
        firms = sorted(tables[UNIVERSE]["firm_id"].to_pylist())
        # Per table read: its columns, and firm → row.
        rows: dict[str, tuple[dict[str, list[Any]], dict[str, int]]] = {}
        for name in self._score_inputs - {UNIVERSE}:
            if name in tables:
                data = tables[name].to_pydict()
                rows[name] = (data, {f: i for i, f in enumerate(data["firm_id"])})
        columns: dict[str, list[Any]] = {"firm_id": firms}
        scored = rows.get(SCORES_STEP)
        for spec in self.specs.indicators:
            key = col("s", spec.id)
            if scored is not None and key in scored[0]:
                (data, at), fill = scored, None
            else:
                data, at = rows.get(f"{AGGREGATE_PREFIX}{spec.source}", ({}, {}))
                fill = missing.get(spec.id)
            values = data.get(key, [])
            column = [values[at[f]] if f in at else None for f in firms]
            columns[spec.id] = [fill if v is None else v for v in column]
        return pa.table(columns, schema=template.schema)

    # ---- rescoring ------------------------------------------------------------------------

    def bound(self) -> list[Any]:
        """The index models bound to the indicator columns (bound on first use)."""
        if self._bound is None:
            from fengyan.index.service import bound_models

            self._bound = bound_models(list(self.specs.ids), self._models)
        return self._bound

    def indicators(self, firms: Sequence[str]) -> dict[str, pa.Table]:
        """The firms' ``indicator_score``, ``indicator_value`` and ``firm_category`` rows."""
        assert self._plan is not None
        chosen = list(dict.fromkeys(firms))
        if not chosen:
            raise ValueError("no firms")
        lit_list = self._chosen(chosen)
        # Which sources hold rows of the chosen firms (one look-up in a sorted table).
        present = self.con.execute(
            f"SELECT DISTINCT source FROM {PRESENCE} WHERE {lit_list}"
        ).fetchall()
        has = {self._sources[int(r[0])] for r in present}
        skip = {s for n in self._sources if n not in has for s in self._local[n]}
        calls = [self._lookup(UNIVERSE, lit_list, output=True)]
        calls += [self._lookup(n, lit_list) for n in self._sources if n in has]
        # The score output (the universe joined with every aggregation) is assembled
        # from the aggregations instead (:meth:`_scores`).
        for s in self._plan.steps:
            if s.output == SCORE_OUTPUT:
                continue
            if s.name in skip:
                if s.name in self._templated:
                    calls.append(_Call.of(self._templated[s.name]))
                continue
            calls.append(_Call.of(s, output=s.name in self._score_inputs))
        tables = self._run(calls)
        score = self._scores(tables)
        tables = {SCORE_OUTPUT: score, VALUE_OUTPUT: tables[VALUE_OUTPUT]}
        tables["firm_category"] = (
            firm_category(score, self.specs.categories)
            if self.specs.categories is not None
            else CATEGORY_SCHEMA.empty_table()
        )
        return tables

    def rescore(self, firm_id: str, *, check: bool = True) -> FirmResult:
        """Recompute one firm's indicator rows and index scores.

        ``check``: first bring the warm rows up to date with the lake (:meth:`refresh`,
        a directory listing when nothing changed); a caller that refreshes itself after
        each batch passes False.
        """
        return self.rescore_many([firm_id], check=check)[0]

    def rescore_many(self, firms: Iterable[str], *, check: bool = True) -> list[FirmResult]:
        """:meth:`rescore` for several firms in one pass (one result per firm, in order).

        The statements are planned once for all of them: a batch of firms costs little
        more than one (a service rescoring the firms of a new batch passes them together).
        """
        chosen = list(dict.fromkeys(firms))
        if not chosen:
            return []
        seconds: dict[str, float] = {}
        mark = time.perf_counter()
        if check:
            self.refresh()
            seconds["refresh"] = time.perf_counter() - mark
        mark = time.perf_counter()
        tables = self.indicators(chosen)
        seconds["indicators"] = time.perf_counter() - mark
        out = []
        for firm in chosen:
            mine = tables if len(chosen) == 1 else _firm_rows(tables, firm)
            mark = time.perf_counter()
            index = None
            score = mine["indicator_score"]
            if self._index and score.num_rows == 1:
                from fengyan.index.service import rescore_firm

                index = rescore_firm(self.bound(), score, mine["indicator_value"])
            spent = {**seconds, "index": time.perf_counter() - mark}
            if len(chosen) > 1:
                # A share of the pass per firm, so that the seconds still add up.
                spent.update({k: v / len(chosen) for k, v in seconds.items()})
            out.append(FirmResult(firm, self.day, mine, index, spent))
        return out

    def rescore_changed(self) -> list[FirmResult]:
        """Bring the warm rows up to date and rescore the firms whose rows changed.

        The 7×24 loop of a service: call it when batches arrive. Raises LookupError when
        the change cannot be narrowed to firms (a new plan or cut-points: rescore all, or
        run the full stage).
        """
        self.refresh()
        if self.changed is None:
            raise LookupError("the change is not limited to some firms: run a full rescore")
        return self.rescore_many(sorted(self.changed), check=False)

    def close(self) -> None:
        """Release the warm database (and delete its file)."""
        self.con.close()
        if self._file is not None:
            shutil.rmtree(self._file.parent, ignore_errors=True)

    def __enter__(self) -> IncrementalScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
