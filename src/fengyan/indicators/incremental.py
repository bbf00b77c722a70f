# ruff: noqa: S608 - this module builds SQL from the compiler's step names and SQL; the only
# values inserted (firm ids, a file path) go through string_literal(), lit() or are quoted.
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
* **each source's own steps for every firm** — its aggregation, evidence and value rows,
  where they read nothing but its rows: the statements a call would run on one firm's
  rows, run once on all of them when the source is (re)built (``incremental_build``);
* **which sources hold rows of which firm** (``ind__w_presence``, sorted by firm), with
  the firm's scores in each as one list;
* **defaults for a firm without rows in a source** — that source's aggregation and
  evidence are empty and its value rows are the missing-value constants whatever the
  firm: computed once for a template firm, so a call skips those steps (the benchmark's
  firm has rows in 4 of 34 sources);
* **bound index models** (``bound_models``) for ``rescore_firm``.

A call (:meth:`IncrementalScorer.rescore`, :meth:`~IncrementalScorer.rescore_many`) then
reads the firms' presence rows and, in a working database attached for it, looks up
their warm rows and runs the restricted plan's steps across sources (values, ranks,
scores, evidence, value rows), with DuckDB's optimiser off past the look-ups (it costs
more than it saves on a few rows). Those statements do not read the empty defaults of
the sources without rows (``incremental_prune``: an outer join with an empty table is
NULLs, a union member of one adds nothing) and are parsed once; the
``indicator_score`` row is assembled in Python (``incremental_plan.score_table``).
DuckDB plans every statement anew: ``PREPARE``/``EXECUTE`` re-binds and re-optimises at
each ``EXECUTE`` in DuckDB 2.0 (measured, docs/incremental.md), so several firms are
best passed together.

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

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from fengyan.indicators.categories import SCHEMA as CATEGORY_SCHEMA
from fengyan.indicators.categories import firm_category
from fengyan.indicators.engines.duckdb import DIALECT
from fengyan.indicators.incremental_build import WarmTables
from fengyan.indicators.incremental_plan import (
    HIDDEN,
    KEY,
    PRESENCE,
    SCORE_OUTPUT,
    SCORES,
    UNIVERSE,
    VALUE_OUTPUT,
    WARM_PREFIX,
    Call,
    score_table,
    string_literal,
)
from fengyan.indicators.incremental_prune import prune
from fengyan.indicators.load import SpecSet
from fengyan.indicators.plan import Step
from fengyan.workspace import Workspace


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


def _firm_rows(tables: Mapping[str, pa.Table], firm: str) -> dict[str, pa.Table]:
    return {k: t.filter(pc.equal(t.column("firm_id"), firm)) for k, t in tables.items()}


class IncrementalScorer(WarmTables):
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
        self._models = models
        self._index = index
        self._bound: list[Any] | None = None
        super().__init__(
            ws, as_of, specs, threads=threads, memory_limit=memory_limit, on_disk=on_disk
        )
        if index:
            self.bound()

    # ---- the per-firm statements ---------------------------------------------------------

    def _call(self, step: Step, empty: frozenset[str], output: bool = False) -> Call:
        """``step`` of a call in which the ``empty`` tables it reads are empty defaults:
        its SQL without those reads where that changes nothing (prune(), cached)."""
        if not empty:
            return Call.of(step, output=output)
        key = (step.name, empty)
        sql = self._pruned.get(key)
        if sql is None:
            types = {t: self._empty[t] for t in empty}
            sql = self._pruned[key] = prune(step.query, types).sql(DIALECT)
        return Call(step.name, sql, step.name if output else step.output)

    def _lookup(
        self, name: str, chosen: str, output: bool = False, columns: Sequence[str] | None = None
    ) -> Call:
        """The warm rows in step ``name`` (a source, the universe or a warm source's own
        step) of the ``chosen`` firms (a condition: :meth:`_chosen`); all columns, or
        ``columns``."""
        picked = f"* EXCLUDE ({HIDDEN})" if columns is None else ", ".join(columns)
        sql = f'SELECT {picked} FROM "{WARM_PREFIX}{name}" WHERE {chosen}'
        return Call(name, sql, name if output else None, lookup=True)

    @staticmethod
    def _chosen(firms: Sequence[str]) -> str:
        """The condition picking ``firms``' warm rows: on the key (zone maps), then the id."""
        quoted = [string_literal(f) for f in firms]
        ids = ", ".join(quoted)
        keys = ", ".join(f"hash({q})" for q in quoted)
        return f"{KEY} IN ({keys}) AND firm_id IN ({ids})"

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
        # Which sources hold rows of the chosen firms, and their scores there (one
        # look-up in a sorted table).
        present = self.con.execute(
            f"SELECT firm_id, source, {SCORES} FROM {PRESENCE} WHERE {lit_list}"
        ).fetchall()
        has: set[str] = set()
        listed: dict[str, dict[str, list[Any]]] = {}
        for firm, source, scores in present:
            name = self._sources[int(source)]
            has.add(name)
            if scores is not None:
                listed.setdefault(name, {})[str(firm)] = scores
        skip = {s for n in self._sources if n not in has for s in self._local[n]}
        calls = [self._lookup(UNIVERSE, lit_list, output=True)]
        warm: set[str] = set()
        for n in self._sources:
            if n not in has:
                continue
            if n in self._rows_read:
                calls.append(self._lookup(n, lit_list))
            for s in self._warmed[n]:
                warm.add(s.name)
                picked = self._agg_read.get(s.name)
                if s.name not in self._agg_read or picked is None:
                    calls.append(self._lookup(s.name, lit_list))
                elif picked:
                    calls.append(self._lookup(s.name, lit_list, columns=picked))
        # The score output (the universe joined with every aggregation) is assembled
        # from the aggregations instead (score_table).
        made = {c.name for c in calls}
        for s in self._plan.steps:
            if s.output == SCORE_OUTPUT or s.name in warm:
                continue
            if s.name in skip:
                if s.name in self._templated:
                    calls.append(Call.of(self._templated[s.name]))
                    made.add(s.name)
                continue
            made.add(s.name)
            empty = frozenset(t for t in self._refs[s.name] if t in self._empty and t not in made)
            calls.append(self._call(s, empty, output=s.name in self._score_inputs))
        tables = self._run(calls)
        score = score_table(self._fp, tables, listed, self._missing, self._score_struct)
        values = tables[VALUE_OUTPUT]
        if self._value_schema is not None:
            # A union without its empty members may have narrower types (prune()).
            values = values.cast(self._value_schema)
        tables = {SCORE_OUTPUT: score, VALUE_OUTPUT: values}
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

    def __enter__(self) -> IncrementalScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
