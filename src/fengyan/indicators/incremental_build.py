# ruff: noqa: S608 - this module builds SQL from the compiler's step names and SQL; the only
# values inserted (firm ids, a file path) go through compiler.lit() or are quoted.
"""The warm tables of the incremental scorer: built once per lake generation, kept fresh.

:class:`WarmTables` is the part of :class:`~fengyan.indicators.incremental.IncrementalScorer`
that owns the private DuckDB database: the firm-keyed source rows, each source's own steps
computed for every firm (:meth:`WarmTables._derive`), the presence table, the defaults of
sources without rows, and the working database a call runs its statements in
(:meth:`WarmTables._run`). How a call uses them: :mod:`fengyan.indicators.incremental`.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from fengyan.indicators.compiler import CUTPOINTS_TABLE, col, compile_plan, lit
from fengyan.indicators.engines.duckdb import DIALECT, DuckDBEngine
from fengyan.indicators.incremental_plan import (
    AGGREGATE_PREFIX,
    EVIDENCE_STEP,
    HIDDEN,
    KEY,
    OWN_STAGE,
    PARSED_CACHE,
    POSITION,
    PRESENCE,
    SCORE_OUTPUT,
    SCORES,
    SCORES_STEP,
    SOURCE_PREFIX,
    TEMPLATE_FIRM,
    TEMPLATE_PREFIX,
    UNIVERSE,
    VALUE_OUTPUT,
    WARM_PREFIX,
    WORK_CATALOG,
    Call,
    FirmPlan,
    base_tables,
    closure,
    firm_plan,
    query_of,
    referenced,
)
from fengyan.indicators.load import SpecSet, load_specs
from fengyan.indicators.plan import Plan, Step
from fengyan.indicators.service import as_of_bounds
from fengyan.indicators.sources import VERSIONS_SUFFIX
from fengyan.indicators.spec import Rank
from fengyan.workspace import Workspace

# The presence table while it is rebuilt (from the previous one).
PRESENCE_NEW = f"{PRESENCE}_new"


def quoted(name: str) -> str:
    """A DuckDB identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


class WarmTables:
    """The warm database of an :class:`~fengyan.indicators.incremental.IncrementalScorer`
    (arguments as there): built at construction, brought up to date by :meth:`refresh`."""

    def __init__(
        self,
        ws: Workspace,
        as_of: date | datetime | None = None,
        specs: SpecSet | None = None,
        *,
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
        # Per source: its own steps kept warm for every firm (see _firm_plan), and the
        # sources whose rows a call still reads.
        self._warmed: dict[str, list[Step]] = {}
        self._rows_read: set[str] = set()
        # Per warm aggregation: the columns a call's statements read (None: all), and per
        # source the score columns its presence rows list (see SCORES).
        self._agg_read: dict[str, list[str] | None] = {}
        self._score_keys: dict[str, list[str]] = {}
        self._fp = FirmPlan([])
        # The tables each post-source step reads; the empty defaults' column types; the
        # steps' SQL without their reads of empty tables, per set of those (prune()).
        self._refs: dict[str, set[str]] = {}
        self._empty: dict[str, dict[str, str]] = {}
        self._pruned: dict[tuple[str, frozenset[str]], str] = {}
        self._value_schema: pa.Schema | None = None
        self._parsed: dict[str, duckdb.Statement] = {}
        self._score_inputs: set[str] = set()
        self._sources: list[str] = []
        # Rank indicators, and the ind__scores columns of derived ones (see _cited).
        self._ranked = any(isinstance(s.normalise, Rank) for s in self.specs.indicators)
        self._derived_scores = [col("s", s.id) for s in self.specs.indicators if s.derived]
        self._template = pa.table({})
        self._missing: dict[str, Any] = {}
        self._score_struct = pa.struct([])
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
            self._derive([n for n in stale if n != UNIVERSE])
            self._presence(set(stale))
            self._narrow([n for n in stale if n != UNIVERSE])
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
            name: {t for t in base_tables(full.steps, name) if not t.startswith(OWN_STAGE)}
            for name in warm
        }
        self._built = {}
        self._cutpoints = None
        self._plan = self._firm_plan()
        self._defaults_stale = True
        self._cutpoints_used = any(CUTPOINTS_TABLE in referenced(s) for s in self._plan.steps)
        self.seconds["compile"] = time.perf_counter() - mark

    def _build(self, names: Sequence[str], state: Mapping[str, str]) -> None:
        """Run the full plan's steps behind ``names`` on the lake; store their rows."""
        assert self._full is not None
        mark = time.perf_counter()
        outputs = [
            Step(
                f"{WARM_PREFIX}{name}",
                query_of(f'SELECT *, rowid AS {POSITION} FROM "{name}"'),
                materialise=False,
                output=name,
            )
            for name in names
        ]
        steps = [*closure(self._full.steps, names), *outputs]
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

    def _presence(self, stale: set[str]) -> None:
        """Which sources hold rows of which firm, with the firm's scores there:
        (key, firm_id, source, scores), sorted. The rows of a source not ``stale`` are
        the previous table's (its aggregation no longer holds the scores: _narrow)."""
        sources = [n for n in self._inputs if n != UNIVERSE]
        kept = set() if sources != self._sources else set(sources) - stale
        self._sources = sources
        parts = []
        for i, n in enumerate(self._sources):
            if n in kept:
                parts.append(f"SELECT * FROM {PRESENCE} WHERE source = {i}")
                continue
            firms = f'SELECT DISTINCT {KEY}, firm_id FROM "{WARM_PREFIX}{n}"'
            keys = self._score_keys.get(n)
            if not keys:
                parts.append(
                    f"SELECT {KEY}, firm_id, {i} AS source, CAST(NULL AS DOUBLE[]) AS {SCORES}"
                    f" FROM ({firms}) AS f"
                )
                continue
            # Scores are FLOAT or DOUBLE: as DOUBLE in one list, exactly.
            listed = ", ".join(f"CAST(a.{k} AS DOUBLE)" for k in keys)
            agg = f"{AGGREGATE_PREFIX}{n.removeprefix(SOURCE_PREFIX)}"
            parts.append(
                f"SELECT f.{KEY}, f.firm_id, {i} AS source, [{listed}] AS {SCORES}"
                f' FROM ({firms}) AS f LEFT JOIN "{WARM_PREFIX}{agg}" AS a'
                " ON a.firm_id = f.firm_id"
            )
        self.con.execute(
            f"CREATE OR REPLACE TABLE {PRESENCE_NEW} AS SELECT * FROM"
            f" ({' UNION ALL '.join(parts)}) AS p ORDER BY {KEY}, firm_id, source"
        )
        self.con.execute(f"DROP TABLE IF EXISTS {PRESENCE}")
        self.con.execute(f"ALTER TABLE {PRESENCE_NEW} RENAME TO {PRESENCE}")

    def _narrow(self, names: Sequence[str]) -> None:
        """Drop from the warm aggregations of sources ``names`` the score columns only
        :meth:`_presence` read (a call reads its scores from the presence rows)."""
        for name in names:
            for s in self._warmed.get(name) or []:
                read = self._agg_read.get(s.name)
                if read is None:
                    continue
                for key in self._score_keys.get(name, []):
                    if key not in read and key != "firm_id":
                        self.con.execute(
                            f'ALTER TABLE "{WARM_PREFIX}{s.name}" DROP COLUMN {quoted(key)}'
                        )

    def _derive(self, names: Sequence[str]) -> None:
        """Each source's warm steps (:meth:`_firm_plan`) over every firm's rows, stored.

        The same statements a call would run on one firm's rows, run once on all of them
        in the warm table's order (one thread, insertion order kept, the optimiser as a
        call has it), so a firm's rows come out as a call computes them: each table is
        stored with its rows' positions and sorted by the firm's key, as the source rows.
        """
        con = self.con
        work = WORK_CATALOG
        mark = time.perf_counter()
        con.execute(f"ATTACH ':memory:' AS {work}")
        con.execute(f"SET search_path = '{work}.main,{self._catalog}.main'")
        try:
            for name in names:
                steps = self._warmed.get(name) or []
                if not steps:
                    continue
                con.execute(
                    f'CREATE TABLE {work}."{name}" AS SELECT * EXCLUDE ({HIDDEN})'
                    f' FROM "{self._catalog}".main."{WARM_PREFIX}{name}"'
                )
                if self.optimise_lookups_only:
                    con.execute("PRAGMA disable_optimizer")
                try:
                    for s in steps:
                        con.execute(f'CREATE TABLE {work}."{s.name}" AS {s.sql(DIALECT)}')
                finally:
                    con.execute("PRAGMA enable_optimizer")
                for s in steps:
                    made = con.execute(f'SELECT * FROM {work}."{s.name}" LIMIT 0')
                    kept = self._stored_columns(name, s.name, [d[0] for d in made.description])
                    picked = "*" if kept is None else ", ".join(quoted(c) for c in kept)
                    con.execute(
                        f'CREATE OR REPLACE TABLE "{self._catalog}".main."{WARM_PREFIX}{s.name}"'
                        f" AS SELECT {picked}, rowid AS {POSITION}, hash(firm_id) AS {KEY}"
                        f' FROM {work}."{s.name}" ORDER BY {KEY}, firm_id, {POSITION}'
                    )
                for t in (*(s.name for s in steps), name):
                    con.execute(f'DROP TABLE {work}."{t}"')
        finally:
            con.execute(f'USE "{self._catalog}"')
            con.execute("RESET search_path")
            con.execute(f"DETACH {work}")
        self.seconds["derive"] = time.perf_counter() - mark

    def _stored_columns(self, source: str, step: str, columns: Sequence[str]) -> list[str] | None:
        """Of warm step ``step``'s ``columns`` (a step of ``source``), those read once it
        is stored (None: all). A warm aggregation keeps its firm, the columns a call looks
        up (``agg_read``) and the scores its presence rows list (``score_keys``): the
        source's other warm steps read it whole, in the working database, before."""
        read = self._agg_read.get(step)
        if read is None:
            return None
        wanted = {"firm_id", *read, *self._score_keys.get(source, [])}
        if not wanted <= set(columns):
            raise ValueError(f"warm step {step} lacks columns {sorted(wanted - set(columns))}")
        return [c for c in columns if c in wanted]

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
        fp = firm_plan(
            self._restricted.steps, (n for n in self._inputs if n != UNIVERSE), self.specs
        )
        self._fp = fp
        self._local, self._warmed, self._rows_read = fp.local, fp.warmed, fp.rows_read
        self._agg_read, self._score_keys = fp.agg_read, fp.score_keys
        self._score_inputs, self._refs = fp.score_inputs, fp.refs
        return dataclasses.replace(self._restricted, steps=fp.steps, notes=[])

    def _run(self, steps: Sequence[Call], defaults: bool = True) -> dict[str, pa.Table]:
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
                if optimising and self.optimise_lookups_only and not step.lookup:
                    con.execute("PRAGMA disable_optimizer")
                    optimising = False
                if defaults and step.name == EVIDENCE_STEP and not self._cited(out):
                    continue  # no firm cites derived evidence: the empty default
                target = f'{WORK_CATALOG}."{step.name}"'
                text = f"CREATE TABLE {target} AS {step.sql}"
                con.execute(text if step.lookup else self._parse(text))
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

    def _parse(self, text: str) -> duckdb.Statement:
        """``text`` parsed, once: DuckDB runs a parsed statement without parsing it again
        (its parser took 1.6 ms for 1.9 kB of SQL, half of running it, measured)."""
        parsed = self._parsed.get(text)
        if parsed is None:
            if len(self._parsed) >= PARSED_CACHE:
                self._parsed.clear()
            parsed = self._parsed[text] = self.con.extract_statements(text)[0]
        return parsed

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
        self._empty, self._pruned = {}, {}
        universe = query_of(
            f"SELECT * EXCLUDE ({HIDDEN}) REPLACE ({lit(TEMPLATE_FIRM)} AS firm_id)"
            f' FROM "{WARM_PREFIX}{UNIVERSE}" LIMIT 1'
        )
        empty = [
            Step(n, query_of(f'SELECT * EXCLUDE ({HIDDEN}) FROM "{WARM_PREFIX}{n}" LIMIT 0'))
            for n in self._local
        ]
        local = set().union(*self._local.values())
        keep = [
            dataclasses.replace(s, output=s.name) if s.name in local | {EVIDENCE_STEP} else s
            for s in self._plan.steps
        ]
        calls = [
            dataclasses.replace(Call.of(s), lookup=True) for s in (Step(UNIVERSE, universe), *empty)
        ]
        calls += [Call.of(s) for s in keep]
        tables = self._run(calls, defaults=False)
        # A firm without rows in a source scores what the template firm scores there.
        self._template = tables[SCORE_OUTPUT]
        self._missing = self._template.to_pylist()[0] if self._template.num_rows else {}
        self._score_struct = pa.struct(list(self._template.schema))
        self._value_schema = tables[VALUE_OUTPUT].schema
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
                        query_of(
                            f"SELECT u.firm_id, t.* FROM {UNIVERSE} AS u"
                            f' CROSS JOIN "{self._catalog}".main.{tmpl} AS t'
                        ),
                    )
                    self._defaults_made.append(f"{TEMPLATE_PREFIX}{name}")
                elif (picked := self._agg_read.get(name, None)) is not None:
                    # A warm aggregation: the columns a call reads, if any (its width
                    # costs every statement that binds it).
                    if picked:
                        columns = ", ".join(picked)
                        con.execute(
                            f'CREATE TABLE "{name}" AS SELECT {columns} FROM ind__w_arrow LIMIT 0'
                        )
                        self._defaults_made.append(name)
                else:
                    con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM ind__w_arrow LIMIT 0')
                    self._defaults_made.append(name)
            finally:
                con.unregister("ind__w_arrow")
        for name in self._defaults_made:
            if not name.startswith(TEMPLATE_PREFIX):
                described = con.execute(f'DESCRIBE "{name}"').fetchall()
                self._empty[name] = {str(r[0]): str(r[1]) for r in described}

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

    def close(self) -> None:
        """Release the warm database (and delete its file)."""
        self.con.close()
        if self._file is not None:
            shutil.rmtree(self._file.parent, ignore_errors=True)
