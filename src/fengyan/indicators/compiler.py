# ruff: noqa: S608 - this module builds SQL: identifiers go through q(), literals through
# lit(), and spec SQL is inserted only as whitelisted sqlglot trees (expr.check).
"""Specs → one engine-neutral plan (see docs/engine.md for the steps and why).

Steps, in order:

1. ``ind__codes`` / ``ind__records`` — how credit codes and records reach canonical firms
   (``resolved_link``), and ``ind__universe`` — the firms;
2. ``ind__src_<source>`` — each source used, as rows with ``firm_id``, ``event_date`` and
   ``evidence_key`` and only the columns the specs read; event rows after the as-of date
   are dropped here, so no later step can see them;
3. ``ind__agg_<source>`` — one aggregation per source computing all its indicators at once,
   each aggregate restricted by ``FILTER (WHERE <where> AND <window>)``;
4. ``ind__values`` — the universe joined with every aggregation, the missing policy applied,
   derived indicators computed over those values; ``ind__scores`` — normalised, directed
   scores (rank: ``percent_rank()`` over the jurisdiction, or, for a run restricted to
   some firms, the cut-points the last full run saved);
5. evidence — for firms with score > 0, the first ``limit`` evidence keys per indicator in
   the spec's order; then the stage's output tables.

A spec's SQL is inserted as a checked sqlglot tree; every step is a sqlglot query, so an
adapter only transpiles and runs them.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from datetime import date, timedelta

import sqlglot
from sqlglot import exp

from fengyan.indicators import expr
from fengyan.indicators.load import SpecSet
from fengyan.indicators.plan import FIRMS_TABLE, Plan, Step
from fengyan.indicators.sources import (
    ENGINE_COLUMNS,
    FIRM_COLUMNS,
    FIRM_TABLE,
    CodeLink,
    ColumnLink,
    SourceDef,
)
from fengyan.indicators.spec import IndicatorSpec, Log, Logistic, Piecewise, Rank

CUTPOINTS_TABLE = "indicator_cutpoints"
# Default bound on stored cut-points per rank indicator (see docs/engine.md).
MAX_CUTPOINTS = 100_000
# How a restricted plan names its firms (the adapter fills the table from Plan.firms).
FIRMS_SELECT = f"SELECT firm_id FROM {FIRMS_TABLE}"
# Compiled plans kept per (specs, as-of date, tables, full or restricted): a restricted run
# of one firm then costs no compilation or rendering (seconds with 244 indicators).
PLAN_CACHE_SIZE = 8
_PLAN_CACHE: OrderedDict[tuple[object, ...], Plan] = OrderedDict()


class CompileError(ValueError):
    """The plan cannot be built (a required table is missing, a bad source filter …)."""


def q(name: str) -> str:
    """A quoted identifier (sqlglot default dialect)."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    """A string literal."""
    return exp.Literal.string(value).sql()


def date_lit(d: date) -> str:
    """A DATE literal that every engine reads the same way."""
    return f"CAST({lit(d.isoformat())} AS DATE)"


def col(kind: str, indicator_id: str) -> str:
    """Internal column name of an indicator's value (v), rank (r) or score (s)."""
    return f"{kind}_{indicator_id.lower()}"


def _parse(sql: str, subs: dict[str, exp.Expression] | None = None) -> exp.Query:
    """Parse a step; columns named like a key of ``subs`` are replaced by that tree.

    Spec conditions are inserted as trees instead of text: re-parsing long term
    alternations would dominate the compile time.
    """
    tree = sqlglot.parse_one(sql)
    if not isinstance(tree, exp.Query):
        raise CompileError(f"internal: not a query: {sql[:200]}")
    if subs:
        tree = tree.transform(
            lambda n: (
                subs[n.name].copy()
                if isinstance(n, exp.Column) and not n.table and n.name in subs
                else n
            ),
            copy=False,
        )
    if not isinstance(tree, exp.Query):
        raise CompileError("internal: a substitution replaced the query")
    return tree


def _in_list(values: Sequence[str]) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


class _Compiler:
    def __init__(
        self,
        specs: SpecSet,
        as_of: date,
        available: Collection[str],
        firms: Sequence[str] | None,
        max_cutpoints: int,
    ) -> None:
        self.specs = specs
        self.as_of = as_of
        self.available = set(available)
        self.firms = tuple(dict.fromkeys(firms)) if firms is not None else None
        self.max_cutpoints = max_cutpoints
        self.terms = {k: v.terms for k, v in specs.terms.items()}
        self.steps: list[Step] = []
        self.base = [s for s in specs.indicators if not s.derived]
        self.derived = [s for s in specs.indicators if s.derived]
        self.used_sources = list(dict.fromkeys(s.source for s in self.base))
        self._conditions: dict[str, exp.Expr | None] = {}
        # Per source: term test (kind, argument SQL, list) → the source column holding it.
        self._term_cols: dict[str, dict[tuple[str, str, str], str]] = {}

    # ---- helpers --------------------------------------------------------------------------

    def add(
        self,
        name: str,
        sql: str,
        *,
        materialise: bool = True,
        output: str | None = None,
        description: str = "",
        subs: dict[str, exp.Expression] | None = None,
    ) -> None:
        self.steps.append(Step(name, _parse(sql, subs), materialise, output, description))

    def rewrite(self, tree: exp.Expression, source: str | None = None) -> str:
        return self.rewrite_tree(tree, source).sql()

    def rewrite_tree(self, tree: exp.Expression, source: str | None) -> exp.Expression:
        """Special forms rewritten; term tests read the source's precomputed columns."""
        cols = self.specs.sources.columns(source) if source else None
        term = self._term_column(source) if source else None
        return expr.rewrite(tree, as_of=self.as_of, terms=self.terms, columns=cols, term=term)

    def _term_column(self, source: str) -> Callable[[str, exp.Expression, str], exp.Expression]:
        known = self._term_cols.get(source, {})

        def column(kind: str, arg: exp.Expression, list_id: str) -> exp.Expression:
            name = known.get(expr.term_key(kind, arg, list_id))
            if name is not None:
                return exp.column(name)
            # Not collected by the source step (cannot happen for spec SQL): inline it.
            return expr.rewrite(
                expr.term_call(kind, arg, list_id),
                as_of=self.as_of,
                terms=self.terms,
                columns=self.specs.sources.columns(source),
            )

        return column

    def empty(self, columns: dict[str, str]) -> str:
        cols = ", ".join(f"CAST(NULL AS {t}) AS {q(c)}" for c, t in columns.items())
        return f"SELECT {cols} WHERE 1 = 0"

    def table(self, name: str) -> str:
        """A FROM item for a lake/derived table, or an empty relation when it is absent."""
        if name in self.available:
            return q(name)
        cols = self.specs.sources.table_columns(name)
        return f"({self.empty(cols)})"

    def firm_filter(self, column: str) -> str:
        return f" AND {column} IN ({FIRMS_SELECT})" if self.firms is not None else ""

    # ---- 1. identity ------------------------------------------------------------------------

    def identity(self) -> None:
        if "resolved_entity" not in self.available or "resolved_link" not in self.available:
            raise CompileError(
                "resolved_entity/resolved_link are missing: run `fengyan resolve run` first"
            )
        self.add(
            "ind__universe",
            "SELECT canonical_id AS firm_id, kind AS firm_kind, name AS firm_name, credit_code,"
            " region_code FROM resolved_entity WHERE entity_kind = 'enterprise'"
            + self.firm_filter("canonical_id"),
            description="the firms: every enterprise resolution knows",
        )
        links = [link for s in self.used_sources for link in self._source(s).firm]
        if any(isinstance(link, CodeLink) for link in links):
            self.add(
                "ind__codes",
                "SELECT key, MIN(canonical_id) AS firm_id FROM resolved_link"
                " WHERE key_kind IN ('credit_code', 'branch_code')"
                " AND entity_kind = 'enterprise'"
                + self.firm_filter("canonical_id")
                + " GROUP BY key",
                description="credit code (a branch's: its parent) → canonical firm",
            )
        if "record" in links:
            self.add(
                "ind__records",
                "SELECT key, MIN(canonical_id) AS firm_id FROM resolved_link"
                " WHERE key_kind = 'record' AND entity_kind = 'enterprise'"
                " AND method <> 'review'" + self.firm_filter("canonical_id") + " GROUP BY key",
                description="record key <table>/<_id> → canonical firm (review queue excluded)",
            )

    def _source(self, name: str) -> SourceDef:
        return self.specs.sources.get(name)

    # ---- 2. sources -----------------------------------------------------------------------

    def used_columns(self, source: str) -> list[str]:
        cols: set[str] = set()
        for s in self.base:
            if s.source != source:
                continue
            e = self.specs.exprs[s.id]
            cols |= e.value.columns | e.order_columns
            if e.where is not None:
                cols |= e.where.columns
        return sorted(cols - set(ENGINE_COLUMNS))

    def source_where(self, src: SourceDef) -> str | None:
        if src.where is None:
            return None
        try:
            checked = expr.check(
                expr.parse(src.where),
                self.specs.sources.table_columns(src.table),
                allow_aggregate=False,
            )
        except expr.ExprError as exc:
            raise CompileError(f"sources.yaml: {src.name}: where: {exc}") from None
        return (
            expr.rewrite(
                checked.tree,
                as_of=self.as_of,
                terms=self.terms,
                columns=self.specs.sources.table_columns(src.table),
            )
            .transform(lambda n: exp.column(n.name, table="t") if isinstance(n, exp.Column) else n)
            .sql()
        )

    def views(self) -> None:
        """Tables sources.yaml defines as views (built only when a used source reads them)."""
        catalog = self.specs.sources
        for table in dict.fromkeys(self._source(s).table for s in self.used_sources):
            if table in catalog.views and table not in self.available:
                sql = catalog.view_sql(table, self.as_of, self.available, self.terms)
                # A restricted run reads a few firms' rows: a view lets the engine push the
                # source step's firm filter into it instead of building it for the lake.
                self.add(
                    table,
                    sql,
                    materialise=self.firms is None,
                    description=f"view {table} (sources.yaml)",
                )
                self.available.add(table)

    def sources(self) -> None:
        for name in self.used_sources:
            src = self._source(name)
            cols = self.used_columns(name)
            sql = (
                self.firm_source(cols) if src.table == FIRM_TABLE else self.table_source(src, cols)
            )
            tests = self.term_tests(name)
            if not tests:
                self.add(f"ind__src_{name}", sql, description=f"source {name} ({src.table})")
                continue
            # Each (column, list) test once per row, however many indicators, conditions
            # and evidence orders use it: they read the 0/1 (or count) column instead.
            subs: dict[str, exp.Expression] = {}
            known = self._term_cols.setdefault(name, {})
            for key, call in tests.items():
                column = f"ind__t{len(known)}"
                known[key] = column
                subs[f"ind__sub_{column}"] = expr.rewrite(
                    call,
                    as_of=self.as_of,
                    terms=self.terms,
                    columns=self.specs.sources.columns(name),
                )
            select = ", ".join(f"{sub} AS {q(sub.removeprefix('ind__sub_'))}" for sub in subs)
            self.add(
                f"ind__src_{name}",
                f"SELECT s.*, {select} FROM ({sql}) AS s",
                description=f"source {name} ({src.table}), {len(tests)} term tests",
                subs=subs,
            )

    def term_tests(self, source: str) -> dict[tuple[str, str, str], exp.Expression]:
        """Every distinct ``terms``/``term_count`` call in the source's specs, in spec order."""
        out: dict[tuple[str, str, str], exp.Expression] = {}
        for s in self.base:
            if s.source != source:
                continue
            e = self.specs.exprs[s.id]
            trees = [e.value.tree, *e.order]
            if e.where is not None:
                trees.append(e.where.tree)
            for tree in trees:
                for node in tree.find_all(exp.Anonymous):
                    kind = str(node.this).lower()
                    if kind in ("terms", "term_count"):
                        arg, list_id = node.expressions[0], node.expressions[1].name
                        out.setdefault(
                            expr.term_key(kind, arg, list_id), expr.term_call(kind, arg, list_id)
                        )
        return out

    def firm_source(self, cols: list[str]) -> str:
        parts = []
        for c in cols:
            if c in FIRM_COLUMNS:
                parts.append(f"u.{q(c)} AS {q(c)}")
            elif c == "name":
                parts.append("COALESCE(e.name, u.firm_name) AS name")
            elif c in ("credit_code", "region_code"):
                parts.append(f"COALESCE(e.{q(c)}, u.{q(c)}) AS {q(c)}")
            else:
                parts.append(f"e.{q(c)} AS {q(c)}")
        parts += [
            "u.firm_id AS firm_id",
            "CAST(NULL AS DATE) AS event_date",
            "CASE WHEN e._id IS NULL THEN u.firm_id ELSE 'enterprise/' || e._id END"
            " AS evidence_key",
        ]
        return (
            f"SELECT {', '.join(parts)} FROM ind__universe AS u"
            f" LEFT JOIN {self.table('enterprise')} AS e ON e.credit_code = u.credit_code"
        )

    def table_source(self, src: SourceDef, cols: list[str]) -> str:
        table_cols = self.specs.sources.table_columns(src.table)
        if src.table not in self.available:
            wanted = {c: table_cols[c] for c in cols}
            return self.empty({**wanted, **ENGINE_COLUMNS})
        record_key = f"{lit(src.table + '/')} || t._id"
        joins: list[str] = []
        firm_parts: list[str] = []
        for i, link in enumerate(src.firm):
            if link == "record":
                joins.append(f"LEFT JOIN ind__records AS l{i} ON l{i}.key = {record_key}")
                firm_parts.append(f"l{i}.firm_id")
            elif isinstance(link, CodeLink):
                joins.append(f"LEFT JOIN ind__codes AS l{i} ON l{i}.key = t.{q(link.code)}")
                firm_parts.append(f"l{i}.firm_id")
            elif isinstance(link, ColumnLink):
                firm_parts.append(f"t.{q(link.column)}")
        firm = firm_parts[0] if len(firm_parts) == 1 else f"COALESCE({', '.join(firm_parts)})"
        event = f"CAST(t.{q(src.event_date)} AS DATE)" if src.event_date else "CAST(NULL AS DATE)"
        evidence = record_key if src.evidence == "record" else f"t.{q(src.evidence)}"
        select = [f"t.{q(c)} AS {q(c)}" for c in cols]
        select += [f"{firm} AS firm_id", f"{event} AS event_date", f"{evidence} AS evidence_key"]
        where = [f"{firm} IS NOT NULL"]
        if src.event_date:
            # The as-of cut for events: a fact dated after the evaluation date is unseen.
            where.append(f"({event} IS NULL OR {event} <= {date_lit(self.as_of)})")
        extra = self.source_where(src)
        if extra:
            where.append(f"({extra})")
        if self.firms is not None and any(isinstance(k, ColumnLink) for k in src.firm):
            where.append(f"{firm} IN ({FIRMS_SELECT})")
        return (
            f"SELECT {', '.join(select)} FROM {q(src.table)} AS t {' '.join(joins)}"
            f" WHERE {' AND '.join(where)}"
        )

    # ---- 3. aggregation ---------------------------------------------------------------------

    def condition(self, spec: IndicatorSpec) -> exp.Expr | None:
        """The rows an indicator reads: its ``where`` and its window, as one tree."""
        if spec.id in self._conditions:
            return self._conditions[spec.id]
        e = self.specs.exprs[spec.id]
        conds: list[exp.Expr] = []
        if e.where is not None:
            conds.append(exp.Paren(this=self.rewrite_tree(e.where.tree, spec.source)))
        if spec.window_days is not None:
            start = self.as_of - timedelta(days=spec.window_days)
            conds.append(
                sqlglot.parse_one(
                    f"event_date > {date_lit(start)} AND event_date <= {date_lit(self.as_of)}"
                )
            )
        out = exp.and_(*conds) if conds else None
        self._conditions[spec.id] = out
        return out

    def aggregate_expr(self, spec: IndicatorSpec) -> exp.Expression:
        e = self.specs.exprs[spec.id]
        tree = self.rewrite_tree(e.value.tree, spec.source)
        if not e.value.aggregate:
            # A row expression on a one-row-per-firm source: max() keeps one row per firm.
            tree = exp.Max(this=exp.Cast(this=tree, to=exp.DataType.build("DOUBLE")))
        where = self.condition(spec)
        if where is not None:

            def add_filter(node: exp.Expression) -> exp.Expression:
                if isinstance(node, expr.AGGREGATES) and not isinstance(node.parent, exp.Filter):
                    return exp.Filter(this=node, expression=exp.Where(this=where.copy()))
                return node

            tree = tree.transform(add_filter)
        return exp.Cast(this=tree, to=exp.DataType.build("DOUBLE"))

    def aggregations(self) -> None:
        for name in self.used_sources:
            specs = [s for s in self.base if s.source == name]
            # Built as a tree: re-parsing long term alternations would dominate compile time.
            query = (
                exp.select(
                    "firm_id", *(exp.alias_(self.aggregate_expr(s), col("v", s.id)) for s in specs)
                )
                .from_(f"ind__src_{name}")
                .group_by("firm_id")
            )
            self.steps.append(
                Step(f"ind__agg_{name}", query, description=f"{len(specs)} indicators over {name}")
            )

    # ---- 4. values and scores -------------------------------------------------------------

    def value_exprs(self) -> dict[str, str]:
        out: dict[str, str] = {}
        aliases = {name: f"a{i}" for i, name in enumerate(self.used_sources)}
        for s in self.base:
            raw = f"{aliases[s.source]}.{col('v', s.id)}"
            out[s.id] = _missing(raw, s)
        for s in self.derived:
            tree = expr.rewrite(
                self.specs.exprs[s.id].value.tree,
                as_of=self.as_of,
                terms=self.terms,
                indicator=lambda ref: exp.Paren(this=sqlglot.parse_one(out[ref])),
            )
            out[s.id] = _missing(f"CAST({tree.sql()} AS DOUBLE)", s)
        return out

    def values(self) -> None:
        values = self.value_exprs()
        joins = " ".join(
            f"LEFT JOIN ind__agg_{name} AS a{i} ON a{i}.firm_id = u.firm_id"
            for i, name in enumerate(self.used_sources)
        )
        cols = ", ".join(f"{values[s.id]} AS {col('v', s.id)}" for s in self.specs.indicators)
        self.add(
            "ind__values",
            f"SELECT u.firm_id AS firm_id, {cols} FROM ind__universe AS u {joins}",
            # A full run reads it once (the scores step): a view, so that a dense table
            # of every indicator's DOUBLE value is never stored (5.9 GB at 3M firms). A
            # restricted run reads it again for the rank look-ups (a handful of rows).
            materialise=self.firms is not None,
            description="raw values with the missing policy; derived indicators",
        )

    def rank_lookup(self, ranks: list[IndicatorSpec]) -> None:
        """Ranks of a restricted run: interpolate in the last full run's cut-points."""
        if CUTPOINTS_TABLE not in self.available:
            raise CompileError(
                "no indicator_cutpoints from a full run: run `fengyan indicators` without"
                " --firm first"
            )
        long = " UNION ALL ".join(
            f"SELECT firm_id, {lit(s.id)} AS indicator_id, {col('v', s.id)} AS value"
            f" FROM ind__values WHERE {col('v', s.id)} IS NOT NULL"
            for s in ranks
        )
        self.add("ind__rank_long", long)
        self.add(
            "ind__rank_bounds",
            "SELECT l.firm_id, l.indicator_id, l.value,"
            " MAX(CASE WHEN c.value <= l.value THEN c.value END) AS lo,"
            " MIN(CASE WHEN c.value >= l.value THEN c.value END) AS hi"
            f" FROM ind__rank_long AS l JOIN {q(CUTPOINTS_TABLE)} AS c"
            " ON c.indicator_id = l.indicator_id GROUP BY l.firm_id, l.indicator_id, l.value",
        )
        self.add(
            "ind__ranks",
            "SELECT b.firm_id, b.indicator_id, CASE"
            " WHEN b.lo IS NULL THEN 0.0 WHEN b.hi IS NULL THEN 1.0"
            " WHEN b.lo = b.hi THEN clo.score"
            " ELSE clo.score + (chi.score - clo.score) * (b.value - b.lo) / (b.hi - b.lo)"
            " END AS score FROM ind__rank_bounds AS b"
            f" LEFT JOIN {q(CUTPOINTS_TABLE)} AS clo"
            " ON clo.indicator_id = b.indicator_id AND clo.value = b.lo"
            f" LEFT JOIN {q(CUTPOINTS_TABLE)} AS chi"
            " ON chi.indicator_id = b.indicator_id AND chi.value = b.hi",
            description="percentile of each value among the last full run's cut-points",
        )

    def scores(self) -> list[IndicatorSpec]:
        ranks = [s for s in self.specs.indicators if isinstance(s.normalise, Rank)]
        joins = ""
        rank_sql: dict[str, str] = {}
        if ranks and self.firms is not None:
            self.rank_lookup(ranks)
            for i, s in enumerate(ranks):
                joins += (
                    f" LEFT JOIN ind__ranks AS k{i} ON k{i}.firm_id = v.firm_id"
                    f" AND k{i}.indicator_id = {lit(s.id)}"
                )
                rank_sql[s.id] = f"k{i}.score"
        else:
            for s in ranks:
                v = f"v.{col('v', s.id)}"
                rank_sql[s.id] = (
                    f"CASE WHEN {v} IS NULL THEN NULL ELSE"
                    f" PERCENT_RANK() OVER (PARTITION BY {v} IS NULL ORDER BY {v}) END"
                )
        parts = ["v.firm_id AS firm_id"]
        for s in self.specs.indicators:
            v = f"v.{col('v', s.id)}"
            parts.append(f"{v} AS {col('v', s.id)}")
            if s.id in rank_sql:
                parts.append(f"CAST({rank_sql[s.id]} AS DOUBLE) AS {col('r', s.id)}")
                norm = col("r", s.id)
            else:
                norm = normalise_sql(v, s)
            parts.append(f"{norm} AS {col('n', s.id)}")
        # Normalise in an inner select (ranks are windows), direct and clamp outside.
        outer = ["firm_id"]
        for s in self.specs.indicators:
            outer.append(col("v", s.id))
            if s.id in rank_sql:
                outer.append(col("r", s.id))
            n = col("n", s.id)
            directed = f"1.0 - {n}" if s.direction == "lower" else n
            outer.append(
                f"CAST(CASE WHEN {n} IS NULL THEN NULL ELSE GREATEST(0.0, LEAST(1.0, {directed}))"
                f" END AS FLOAT) AS {col('s', s.id)}"
            )
        self.add(
            "ind__scores",
            f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(parts)}"
            f" FROM ind__values AS v{joins}) AS x",
            description="normalised and directed scores, raw values, ranks",
        )
        return ranks

    # ---- 5. evidence and outputs ----------------------------------------------------------

    def evidence(self) -> None:
        base_parts = []
        subs: dict[str, exp.Expression] = {}
        for name in self.used_sources:
            firm_specs = [s for s in self.base if s.source == name]
            if self._source(name).grain != "firm" or not firm_specs:
                continue
            # One row per firm: the row is the evidence; no window, no re-test of `where`.
            # One join per source (not one scan of the source per indicator).
            scored = " UNION ALL ".join(
                f"SELECT firm_id, {lit(s.id)} AS indicator_id FROM ind__scores"
                f" WHERE {col('s', s.id)} > 0"
                for s in firm_specs
            )
            base_parts.append(
                "SELECT r.firm_id, k.indicator_id, r.evidence_key, 1 AS rn"
                f" FROM ind__src_{name} AS r JOIN ({scored}) AS k ON k.firm_id = r.firm_id"
            )
        for s in self.base:
            src = self._source(s.source)
            if src.grain == "firm":
                continue
            e = self.specs.exprs[s.id]
            order = [self.rewrite(o, s.source) for o in e.order]
            if not order and src.grain == "event":
                order.append("event_date DESC")
            order.append("evidence_key")
            limit = s.evidence.limit if s.evidence else 5
            cond = self.condition(s)
            if cond is not None:
                subs[f"__cond_{len(subs)}"] = exp.Paren(this=cond)
            where = f"{list(subs)[-1]} AND " if cond is not None else ""
            base_parts.append(
                f"SELECT firm_id, {lit(s.id)} AS indicator_id, evidence_key, rn FROM ("
                f"SELECT firm_id, evidence_key, ROW_NUMBER() OVER (PARTITION BY firm_id"
                f" ORDER BY {', '.join(order)}) AS rn FROM ind__src_{s.source}"
                f" WHERE {where}firm_id IN (SELECT firm_id FROM ind__scores"
                f" WHERE {col('s', s.id)} > 0)) AS x WHERE rn <= {limit}"
            )
        self.add(
            "ind__evidence_base",
            " UNION ALL ".join(base_parts),
            description="first evidence keys of each base indicator, firms with score > 0",
            subs=subs,
        )
        parts = ["SELECT firm_id, indicator_id, evidence_key, rn FROM ind__evidence_base"]
        for s in self.derived:
            refs = _base_refs(s.id, self.specs)
            if not refs:
                continue
            position = " ".join(f"WHEN {lit(r)} THEN {i}" for i, r in enumerate(refs))
            # Each key once, at its first place: indicators in reference order, then rank.
            parts.append(
                f"SELECT firm_id, {lit(s.id)} AS indicator_id, evidence_key, rn FROM ("
                f"SELECT firm_id, evidence_key, ROW_NUMBER() OVER (PARTITION BY firm_id"
                f" ORDER BY ord, evidence_key) AS rn FROM ("
                f"SELECT firm_id, evidence_key, MIN((CASE indicator_id {position} END) * 1000"
                f" + rn) AS ord FROM ind__evidence_base WHERE indicator_id IN {_in_list(refs)}"
                f" AND firm_id IN (SELECT firm_id FROM ind__scores WHERE {col('s', s.id)} > 0)"
                f" GROUP BY firm_id, evidence_key) AS k) AS x WHERE rn <= 5"
            )
        self.add(
            "ind__evidence",
            "SELECT firm_id, indicator_id, ARRAY_AGG(evidence_key ORDER BY rn) AS evidence"
            f" FROM ({' UNION ALL '.join(parts)}) AS e GROUP BY firm_id, indicator_id",
            description="evidence lists (derived indicators cite what they are computed from)",
        )

    def outputs(self, ranks: list[IndicatorSpec]) -> None:
        cols = ", ".join(f"{col('s', s.id)} AS {q(s.id)}" for s in self.specs.indicators)
        self.add(
            "ind__out_score",
            f"SELECT firm_id, {cols} FROM ind__scores ORDER BY firm_id",
            materialise=False,
            output="indicator_score",
        )
        if self.firms is None:
            long = " UNION ALL ".join(
                f"SELECT firm_id, {lit(s.id)} AS indicator_id, {col('v', s.id)} AS value,"
                f" {col('s', s.id)} AS score FROM ind__scores WHERE {col('s', s.id)} > 0"
                for s in self.specs.indicators
            )
        else:
            # A few rows: one cross join with the indicator list picks each value and
            # score by position, instead of a union of one query per indicator, whose
            # planning alone takes seconds.
            keys = ", ".join(f"({i}, {lit(s.id)})" for i, s in enumerate(self.specs.indicators))

            def pick(kind: str) -> str:
                whens = " ".join(
                    f"WHEN {i} THEN {col(kind, s.id)}" for i, s in enumerate(self.specs.indicators)
                )
                return f"CASE k.pos {whens} END"

            long = (
                "SELECT firm_id, indicator_id, value, score FROM ("
                f"SELECT x.firm_id, k.indicator_id, {pick('v')} AS value, {pick('s')} AS score"
                f" FROM ind__scores AS x CROSS JOIN (VALUES {keys}) AS k(pos, indicator_id)"
                ") AS w WHERE score > 0"
            )
        self.add(
            "ind__out_value",
            "SELECT l.firm_id, l.indicator_id, l.value, l.score, e.evidence"
            f" FROM ({long}) AS l LEFT JOIN ind__evidence AS e"
            " ON e.firm_id = l.firm_id AND e.indicator_id = l.indicator_id"
            " ORDER BY l.firm_id, l.indicator_id",
            materialise=False,
            output="indicator_value",
        )
        if self.firms is None:
            self.cutpoints(ranks)

    def cutpoints(self, ranks: list[IndicatorSpec]) -> None:
        if not ranks:
            self.add(
                "ind__out_cutpoints",
                "SELECT CAST(NULL AS VARCHAR) AS indicator_id, CAST(NULL AS DOUBLE) AS value,"
                " CAST(NULL AS DOUBLE) AS score WHERE 1 = 0",
                materialise=False,
                output="indicator_cutpoints",
            )
            return
        distinct = " UNION ALL ".join(
            f"SELECT {lit(s.id)} AS indicator_id, {col('v', s.id)} AS value,"
            f" MIN({col('r', s.id)}) AS score FROM ind__scores"
            f" WHERE {col('v', s.id)} IS NOT NULL GROUP BY {col('v', s.id)}"
            for s in ranks
        )
        k = self.max_cutpoints
        self.add(
            "ind__out_cutpoints",
            "SELECT indicator_id, value, score FROM ("
            "SELECT indicator_id, value, score,"
            " ROW_NUMBER() OVER (PARTITION BY indicator_id ORDER BY value) AS rn,"
            " COUNT(*) OVER (PARTITION BY indicator_id) AS n"
            f" FROM ({distinct}) AS d) AS c"
            # Beyond max_cutpoints distinct values keep an even subset and both ends: a
            # restricted run interpolates between them (docs/engine.md).
            f" WHERE n <= {k} OR rn = 1 OR rn = n"
            f" OR MOD(rn - 1, CAST(CEIL(n / {k}.0) AS BIGINT)) = 0"
            " ORDER BY indicator_id, value",
            materialise=False,
            output="indicator_cutpoints",
        )

    def build(self) -> Plan:
        self.identity()
        self.views()
        self.sources()
        self.aggregations()
        self.values()
        ranks = self.scores()
        self.evidence()
        self.outputs(ranks)
        return Plan(
            self.steps,
            self.as_of,
            self.firms,
            tuple(self.specs.ids),
            tuple(s.id for s in ranks),
        )


def _missing(value_sql: str, spec: IndicatorSpec) -> str:
    fill = spec.missing_value
    return value_sql if fill is None else f"COALESCE({value_sql}, {fill!r})"


def _base_refs(indicator_id: str, specs: SpecSet) -> list[str]:
    """The base indicators a derived one reads, directly or through other derived ones."""
    out: list[str] = []
    for ref in specs.exprs[indicator_id].value.indicators:
        if specs.get(ref).derived:
            out += [r for r in _base_refs(ref, specs) if r not in out]
        elif ref not in out:
            out.append(ref)
    return out


def normalise_sql(v: str, spec: IndicatorSpec) -> str:
    """The normalisation of value ``v`` to [0, 1] (rank is handled by the caller)."""
    n = spec.normalise
    if isinstance(n, Piecewise):
        pts = n.points
        whens = [f"WHEN {v} <= {pts[0][0]!r} THEN {pts[0][1]!r}"]
        for (x0, y0), (x1, y1) in itertools.pairwise(pts):
            slope = (y1 - y0) / (x1 - x0)
            whens.append(f"WHEN {v} <= {x1!r} THEN {y0!r} + {slope!r} * ({v} - {x0!r})")
        return f"CASE WHEN {v} IS NULL THEN NULL {' '.join(whens)} ELSE {pts[-1][1]!r} END"
    if isinstance(n, Logistic):
        # The exponent is clamped: exp() of a large argument overflows on some engines.
        z = f"GREATEST(-60.0, LEAST(60.0, ({n.mid!r} - {v}) / {n.scale!r}))"
        return f"1.0 / (1.0 + EXP({z}))"
    if isinstance(n, Log):
        return f"LEAST(1.0, LN(1.0 + GREATEST({v}, 0.0)) / {math.log1p(n.cap)!r})"
    if isinstance(n, Rank):
        raise CompileError("rank is computed by the scores step")
    return f"CASE WHEN {v} IS NULL THEN NULL WHEN {v} > {n.threshold!r} THEN 1.0 ELSE 0.0 END"


def compile_plan(
    specs: SpecSet,
    *,
    as_of: date,
    available: Collection[str],
    firms: Sequence[str] | None = None,
    max_cutpoints: int = MAX_CUTPOINTS,
) -> Plan:
    """Compile ``specs`` into a plan evaluated as of ``as_of``.

    ``available``: the tables the engine can read (a missing source table reads as empty;
    resolution's tables are required). ``firms``: restrict to these canonical ids (ranks
    then come from the stored ``indicator_cutpoints``).
    """
    if firms is not None and not firms:
        raise CompileError("firms is empty")
    key = (
        specs.spec_hash,
        tuple(sorted(specs.versions.items())),
        as_of,
        frozenset(available),
        firms is None,
        max_cutpoints,
    )
    plan = _PLAN_CACHE.get(key)
    if plan is None:
        # Compiled for "some firms": the firm list itself is data (FIRMS_TABLE).
        plan = _Compiler(
            specs, as_of, available, () if firms is not None else None, max_cutpoints
        ).build()
        _PLAN_CACHE[key] = plan
        while len(_PLAN_CACHE) > PLAN_CACHE_SIZE:
            _PLAN_CACHE.popitem(last=False)
    else:
        _PLAN_CACHE.move_to_end(key)
    chosen = tuple(dict.fromkeys(firms)) if firms is not None else None
    # Steps (and their rendered SQL) are shared between runs; they are never modified.
    return dataclasses.replace(plan, firms=chosen, notes=list(plan.notes))
