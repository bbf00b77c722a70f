"""What the warm incremental scorer runs for a call, derived from the compiled plans.

:mod:`fengyan.indicators.incremental` keeps warm tables and runs statements; this module
holds the analysis of the restricted plan it relies on (no connection, no state):

* which steps belong to one source (its aggregation, evidence and value rows) and which
  of those read nothing but the source's rows — per-firm functions of them, computed
  for every firm when the source is built and looked up by a call (:class:`FirmPlan`);
* which columns of a warm aggregation a call's statements read, and which score columns
  the score row takes from it (a call reads those as one list per source, not the wide
  aggregation: DuckDB's cost per statement grows with its columns, ~0.05 ms each);
* how the ``indicator_score`` row is assembled from those (:func:`score_table`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from fengyan.indicators.compiler import col
from fengyan.indicators.engines.duckdb import DIALECT
from fengyan.indicators.load import SpecSet
from fengyan.indicators.plan import FIRMS_TABLE, Step

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
# The presence table's list of a firm's scores in a source (its aggregation's score
# columns, ``_score_keys``): a call reads one narrow row per source instead of the wide
# aggregation (DuckDB's cost per statement grows with its columns, ~0.05 ms each).
SCORES = "ind__w_scores"
# Parsed statements kept (the plan's steps, and their variants without empty tables).
PARSED_CACHE = 1024
# Derived tables of the indicators stage: read (cut-points) but never a source's input.
OWN_STAGE = ("indicator_", "firm_category")


def query_of(sql: str) -> exp.Query:
    tree = sqlglot.parse_one(sql)
    if not isinstance(tree, exp.Query):
        raise TypeError(f"not a query: {sql[:100]}")
    return tree


def referenced(step: Step) -> set[str]:
    """Tables a step reads (its own CTEs excluded)."""
    names: set[str] = set()
    for tree in (step.query, step.texts):
        if tree is None:
            continue
        ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
        names |= {t.name for t in tree.find_all(exp.Table) if t.name not in ctes}
    return names


def closure(steps: Sequence[Step], wanted: Iterable[str]) -> list[Step]:
    """The steps ``wanted`` needs, directly or through other steps, in plan order."""
    by_name = {s.name: s for s in steps}
    needed: set[str] = set()
    todo = [w for w in wanted if w in by_name]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        todo += [r for r in referenced(by_name[name]) if r in by_name and r not in needed]
    return [s for s in steps if s.name in needed]


def base_tables(steps: Sequence[Step], name: str) -> set[str]:
    """Lake or derived tables a step reads, through the steps before it."""
    by_name = {s.name: s for s in steps}
    out: set[str] = set()
    for s in closure(steps, [name]):
        out |= {r for r in referenced(s) if r not in by_name}
    return out


@dataclass(frozen=True)
class Call:
    """A statement of one call: its table's name, its SQL (DuckDB), whether returned."""

    name: str
    sql: str
    output: str | None = None
    # A look-up of warm rows: runs with the optimiser on (its filter must reach the scan).
    lookup: bool = False

    @classmethod
    def of(cls, step: Step, output: bool = False) -> Call:
        return cls(step.name, step.sql(DIALECT), step.name if output else step.output)


def string_literal(value: str) -> str:
    """A DuckDB string literal (quotes doubled; DuckDB's '…' has no backslash escapes):
    ``compiler.lit`` renders through sqlglot, 0.3 ms a call."""
    return "'" + value.replace("'", "''") + "'"


@dataclass
class FirmPlan:
    """The restricted plan's steps after its sources, as a warm call uses them.

    ``local``: per source step, its own steps (aggregation, evidence, value rows) — for
    firms without rows in the source the same whatever the firm (defaults). ``warmed``:
    of those, the ones reading nothing but the source's rows and each other, in plan
    order. ``rows_read``: sources whose rows a call still reads. ``agg_read``: per warm
    aggregation, the columns a call's statements name (None: all; empty: not read).
    ``score_keys``: per source, the score columns its presence rows list; ``score_plan``:
    per indicator (id, score column, source step, place in that list, aggregation).
    """

    steps: list[Step]
    local: dict[str, set[str]] = field(default_factory=dict)
    warmed: dict[str, list[Step]] = field(default_factory=dict)
    rows_read: set[str] = field(default_factory=set)
    agg_read: dict[str, list[str] | None] = field(default_factory=dict)
    score_inputs: set[str] = field(default_factory=set)
    refs: dict[str, set[str]] = field(default_factory=dict)
    score_keys: dict[str, list[str]] = field(default_factory=dict)
    score_plan: list[tuple[str, str, str, int | None, str]] = field(default_factory=list)


def firm_plan(restricted: Sequence[Step], sources: Iterable[str], specs: SpecSet) -> FirmPlan:
    """The :class:`FirmPlan` of a restricted plan's ``steps`` over warm ``sources``."""
    first = next(i for i, s in enumerate(restricted) if s.name.startswith(AGGREGATE_PREFIX))
    post = list(restricted[first:])
    for s in post:
        if s.texts is not None or FIRMS_TABLE in referenced(s):
            raise ValueError(f"step {s.name} cannot run on warm rows")
    fp = FirmPlan(post)
    fp.refs = {s.name: referenced(s) for s in post}
    for name in sources:
        source = name.removeprefix(SOURCE_PREFIX)
        own = {f"ind__agg_{source}", f"ind__evidence_{source}", f"ind__long_{source}"}
        fp.local[name] = {s.name for s in post if s.name in own}
    # Of a source's own steps, those that read nothing but its rows and each other are
    # per-firm functions of its rows: computed for every firm when the source is
    # (re)built and looked up by a call, which then plans only the steps across sources
    # (values, scores, evidence, value rows).
    for name, own in fp.local.items():
        warm: list[Step] = []
        for s in post:
            if s.name in own and fp.refs[s.name] <= {name} | {w.name for w in warm}:
                warm.append(s)
        fp.warmed[name] = warm
    warmed = {w.name for ws in fp.warmed.values() for w in ws}
    per_call = [s for s in post if s.name not in warmed and s.output != SCORE_OUTPUT]
    fp.rows_read = {r for s in per_call for r in fp.refs[s.name] if r in fp.local}
    # A warm aggregation is looked up with the columns the call's statements name.
    named = {c.name for s in per_call for c in s.query.find_all(exp.Column)}
    for s in post:
        if s.name not in warmed or not s.name.startswith(AGGREGATE_PREFIX):
            continue
        readers = [r for r in per_call if s.name in fp.refs[r.name]]
        if any(r.query.find(exp.Star) is not None for r in readers):
            fp.agg_read[s.name] = None
        else:  # no reader: not looked up (its scores are in the presence rows)
            fp.agg_read[s.name] = [
                c for c in s.query.named_selects if c == "firm_id" or c in named
            ][: None if readers else 0]
    out = next(s for s in post if s.output == SCORE_OUTPUT)
    fp.score_inputs = referenced(out)
    # The score columns the score row takes from each warm aggregation (score_table).
    by_step = {s.name: s for s in post}
    scores = by_step.get(SCORES_STEP)
    from_scores = set(scores.query.named_selects) if scores is not None else set()
    for spec in specs.indicators:
        key, agg = col("s", spec.id), f"{AGGREGATE_PREFIX}{spec.source}"
        if key in from_scores or agg not in warmed:
            continue
        if key in by_step[agg].query.named_selects:
            fp.score_keys.setdefault(f"{SOURCE_PREFIX}{spec.source}", []).append(key)
    places = {(n, k): i for n, keys in fp.score_keys.items() for i, k in enumerate(keys)}
    for spec in specs.indicators:
        source, key = f"{SOURCE_PREFIX}{spec.source}", col("s", spec.id)
        agg = f"{AGGREGATE_PREFIX}{spec.source}"
        fp.score_plan.append((spec.id, key, source, places.get((source, key)), agg))
    return fp


def score_table(
    fp: FirmPlan,
    tables: Mapping[str, pa.Table],
    listed: Mapping[str, Mapping[str, list[Any]]],
    missing: Mapping[str, Any],
    schema: pa.StructType,
) -> pa.Table:
    """``indicator_score`` of a call's firms, as the plan's output step computes it.

    That step is the universe left-joined with every source's aggregation and with
    ``ind__scores``: a rank or derived indicator's score is its ``ind__scores`` column;
    any other is its source's aggregation's score, else (no row there, or a missing
    value) the score of the missing value (``missing``: the template firm's row). For a
    few firms the join's planning costs far more than this (docs/engine.md). A warm
    aggregation's scores come from the presence rows (``listed``: source → firm → its
    ``score_keys`` values), any other from the call's ``tables``.
    """
    firms = sorted(tables[UNIVERSE]["firm_id"].to_pylist())
    # Per table read: firm → its row.
    tabled: dict[str, dict[str, dict[str, Any]]] = {}
    for name in fp.score_inputs - {UNIVERSE}:
        if name in tables:
            tabled[name] = {r["firm_id"]: r for r in tables[name].to_pylist()}
    scored = tabled.get(SCORES_STEP, {})
    from_scores = set(tables[SCORES_STEP].column_names) if SCORES_STEP in tabled else set()
    rows = []
    for firm in firms:
        row: dict[str, Any] = {"firm_id": firm}
        for ident, key, source, place, agg in fp.score_plan:
            if key in from_scores:
                # A rank or derived indicator: its ind__scores value, no default.
                row[ident] = scored.get(firm, {}).get(key)
                continue
            if place is not None:
                scores = listed.get(source, {}).get(firm)
                value = scores[place] if scores is not None else None
            else:
                value = tabled.get(agg, {}).get(firm, {}).get(key)
            row[ident] = missing.get(ident) if value is None else value
        rows.append(row)
    # A struct array of rows builds the table ~3x faster than 257 columns one by one.
    return pa.Table.from_struct_array(pa.array(rows, type=schema))
