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
from fengyan.indicators.plan import FIRMS_TABLE, TEXT_COLUMN, Plan, Step, TermTest
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
# The per-firm evidence list a firm-grain source's aggregation carries.
EVIDENCE_COLUMN = "ind__evidence"
# Default bound on stored cut-points per rank indicator (see docs/engine.md).
MAX_CUTPOINTS = 100_000
# How a restricted plan names its firms (the adapter fills the table from Plan.firms).
FIRMS_SELECT = f"SELECT firm_id FROM {FIRMS_TABLE}"
# The resolved_link rows that map credit codes and records to firms.
CODE_LINKS = "key_kind IN ('credit_code', 'branch_code') AND entity_kind = 'enterprise'"
RECORD_LINKS = "key_kind = 'record' AND entity_kind = 'enterprise' AND method <> 'review'"
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
        # Per source: its evidence rows (SQL and condition trees), read by its output step.
        self._evidence_sql: dict[str, tuple[str, dict[str, exp.Expression]]] = {}
        # Per event/state indicator: its evidence rows (firm, indicator, key, rn), SQL.
        self._evidence_part: dict[str, str] = {}
        # Sources whose evidence rows are stored (rank or derived indicators cite them).
        self._cited: set[str] = set()
        # A restricted run's lake tables read by several sources: table → its step.
        self._shared: dict[str, str] = {}

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
            # A restricted run keeps the codes linked to a chosen firm, each mapped as in a
            # full run (the least of all its links, which may be another firm's: the
            # source steps then drop its rows).
            chosen = (
                f" AND key IN (SELECT key FROM resolved_link WHERE {CODE_LINKS}"
                f" AND canonical_id IN ({FIRMS_SELECT}))"
                if self.firms is not None
                else ""
            )
            self.add(
                "ind__codes",
                f"SELECT key, MIN(canonical_id) AS firm_id FROM resolved_link"
                f" WHERE {CODE_LINKS}{chosen} GROUP BY key",
                description="credit code (a branch's: its parent) → canonical firm",
            )
        if "record" in links and self.firms is None:
            self.add(
                "ind__records",
                f"SELECT key, MIN(canonical_id) AS firm_id FROM resolved_link"
                f" WHERE {RECORD_LINKS} GROUP BY key",
                description="record key <table>/<_id> → canonical firm (review queue excluded)",
            )
        elif "record" in links:
            # Only the keys: a record linked to a chosen firm is a candidate row of its
            # source, which then maps every candidate's key over all its links (a record
            # that resolution gives to another firm stays that firm's even when its credit
            # code is a chosen firm's).
            self.add(
                "ind__record_keys",
                f"SELECT DISTINCT key FROM resolved_link WHERE {RECORD_LINKS}"
                f" AND canonical_id IN ({FIRMS_SELECT})",
                description="record keys <table>/<_id> linked to the chosen firms",
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
                sql = catalog.view_sql(
                    table, self.as_of, self.available, self.terms, restricted=self.firms is not None
                )
                # A restricted run reads a few firms' rows: a view lets the engine push the
                # source step's firm filter into it instead of building it for the lake. A
                # full run stores it unless one source step reads it once (no term tests):
                # then storing every column of it would only copy what that step selects.
                readers = [s for s in self.used_sources if self._source(s).table == table]
                once = len(readers) == 1 and not self.term_tests(readers[0])
                self.add(
                    table,
                    sql,
                    materialise=self.firms is None and not once,
                    description=f"view {table} (sources.yaml)",
                )
                self.available.add(table)

    def candidates(self, src: SourceDef) -> list[str]:
        """A restricted run's tests (over alias ``t``) that a row may reach a chosen firm:
        one of its links does (``ind__codes``, ``ind__record_keys``, the firm column)."""
        if src.table == FIRM_TABLE:
            return ["t.credit_code IN (SELECT credit_code FROM ind__universe)"]
        record_key = f"{lit(src.table + '/')} || t._id"
        out = []
        for link in src.firm:
            if link == "record":
                out.append(f"{record_key} IN (SELECT key FROM ind__record_keys)")
            elif isinstance(link, CodeLink):
                out.append(f"t.{q(link.code)} IN (SELECT key FROM ind__codes)")
            elif isinstance(link, ColumnLink):
                out.append(f"t.{q(link.column)} IN ({FIRMS_SELECT})")
        return out

    def shared_tables(self) -> None:
        """A restricted run reads a lake table that several sources use once: its rows
        that may reach a chosen firm go to a small table (``ind__lake_<table>``), which
        those sources read instead (the lake's views cost a full scan per read)."""
        readers: dict[str, list[SourceDef]] = {}
        for name in self.used_sources:
            src = self._source(name)
            table = "enterprise" if src.table == FIRM_TABLE else src.table
            if table in self.available and table not in self.specs.sources.views:
                readers.setdefault(table, []).append(src)
        for table, srcs in readers.items():
            if len(srcs) < 2:
                continue
            tests = list(dict.fromkeys(c for s in srcs for c in self.candidates(s)))
            step = f"ind__lake_{table}"
            self.add(
                step,
                f"SELECT * FROM {q(table)} AS t WHERE {' OR '.join(tests)}",
                description=f"rows of {table} that may reach the chosen firms ("
                + ", ".join(s.name for s in srcs)
                + ")",
            )
            self._shared[table] = step

    def sources(self) -> None:
        if self.firms is not None:
            self.shared_tables()
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
            self.add(
                f"ind__rows_{name}",
                sql,
                # Read twice (distinct texts, then the join): a full run recomputes it
                # rather than storing every row once more; a restricted run's rows are few,
                # and its sources may be views (firm_neighbour) not worth computing twice.
                materialise=self.firms is not None,
                description=f"source {name} ({src.table}) before its term tests",
            )
            self.term_steps(name, tests)

    def term_steps(self, name: str, tests: dict[tuple[str, str, str], exp.Expression]) -> None:
        """Term tests of a source over its distinct texts, joined back to its rows.

        Each (column, list) test once per distinct text, however many indicators,
        conditions and evidence orders use it: they read the 0/1 (or count) column
        ``ind__t<k>`` of ``ind__src_<source>``. Tests over the same text share one term
        step (see ``Step.texts``).
        """
        columns = self.specs.sources.columns(name)
        known = self._term_cols.setdefault(name, {})
        groups: dict[str, tuple[exp.Expression, list[TermTest], dict[str, exp.Expression]]] = {}
        for key, call in tests.items():
            kind, list_id = key[0], key[2]
            column = f"ind__t{len(known)}"
            known[key] = column
            text = expr.term_text(call.expressions[0], self.terms[list_id], columns)
            group = groups.setdefault(text.sql(), (text, [], {}))
            group[1].append(TermTest(column, self.terms[list_id], kind == "term_count"))
            # The plain-SQL form over the text column (lower() again is a no-op).
            group[2][f"ind__fb_{column}"] = expr.rewrite(
                expr.term_call(kind, exp.column(TEXT_COLUMN), list_id),
                as_of=self.as_of,
                terms=self.terms,
            )
        joins: list[str] = []
        select: list[str] = []
        subs: dict[str, exp.Expression] = {}
        for i, (text, group_tests, fallback) in enumerate(groups.values()):
            step = f"ind__terms_{name}_{i}"
            distinct = f"SELECT DISTINCT ind__sub_text AS {TEXT_COLUMN} FROM ind__rows_{name}"
            fb = ", ".join(f"{c} AS {c.removeprefix('ind__fb_')}" for c in fallback)
            self.steps.append(
                Step(
                    step,
                    _parse(
                        f"SELECT {TEXT_COLUMN}, {fb} FROM ({distinct}) AS d",
                        {"ind__sub_text": text, **fallback},
                    ),
                    description=f"{len(group_tests)} term tests over distinct texts of {name}",
                    texts=_parse(distinct, {"ind__sub_text": text}),
                    terms=tuple(group_tests),
                )
            )
            subs[f"ind__sub_on{i}"] = text.transform(
                lambda n: exp.column(n.name, table="s") if isinstance(n, exp.Column) else n
            )
            joins.append(f"LEFT JOIN {step} AS g{i} ON g{i}.{TEXT_COLUMN} = ind__sub_on{i}")
            select += [f"COALESCE(g{i}.{t.column}, 0) AS {t.column}" for t in group_tests]
        self.add(
            f"ind__src_{name}",
            f"SELECT s.*, {', '.join(select)} FROM ind__rows_{name} AS s {' '.join(joins)}",
            description=f"source {name} with {len(tests)} term tests",
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
            f" LEFT JOIN {self._shared.get('enterprise') or self.table('enterprise')} AS e"
            " ON e.credit_code = u.credit_code"
        )

    def table_source(self, src: SourceDef, cols: list[str]) -> str:
        table_cols = self.specs.sources.table_columns(src.table)
        if src.table not in self.available:
            wanted = {c: table_cols[c] for c in cols}
            return self.empty({**wanted, **ENGINE_COLUMNS})
        record_key = f"{lit(src.table + '/')} || t._id"
        restricted = self.firms is not None
        joins: list[str] = []
        firm_parts: list[str] = []
        # A restricted run first picks the candidate rows (``candidates``) — one scan of
        # the table into a small relation that every later lookup reads.
        for i, link in enumerate(src.firm):
            if link == "record" and restricted:
                records = (
                    f"(SELECT key, MIN(canonical_id) AS firm_id FROM resolved_link"
                    f" WHERE {RECORD_LINKS} AND key IN"
                    f" (SELECT {lit(src.table + '/')} || _id FROM ind__cand) GROUP BY key)"
                )
                joins.append(f"LEFT JOIN {records} AS l{i} ON l{i}.key = {record_key}")
                firm_parts.append(f"l{i}.firm_id")
            elif link == "record":
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
        if not restricted:
            return (
                f"SELECT {', '.join(select)} FROM {q(src.table)} AS t {' '.join(joins)}"
                f" WHERE {' AND '.join(where)}"
            )
        # The firm each candidate reaches (as in a full run), kept when it is chosen.
        where.append(f"{firm} IN ({FIRMS_SELECT})")
        return (
            f"WITH ind__cand AS (SELECT * FROM {self._shared.get(src.table) or q(src.table)}"
            f" AS t WHERE {' OR '.join(self.candidates(src))})"
            f" SELECT {', '.join(select)} FROM ind__cand AS t {' '.join(joins)}"
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
        """Per source: every indicator's value (missing policy applied) and score at once.

        Only firms with rows in the source are here; the others take each indicator's
        constant (the score of its missing value) in ``ind__values`` without a join.
        """
        for name in self.used_sources:
            specs = [s for s in self.base if s.source == name]
            # Built as a tree: re-parsing long term alternations would dominate compile time.
            inner = (
                exp.select(
                    "firm_id", *(exp.alias_(self.aggregate_expr(s), col("a", s.id)) for s in specs)
                )
                .from_(f"ind__src_{name}")
                .group_by("firm_id")
            )
            values = ", ".join(f"{_missing(col('a', s.id), s)} AS {col('v', s.id)}" for s in specs)
            scored = "".join(
                f", {score_sql(col('v', s.id), s)} AS {col('s', s.id)}"
                for s in specs
                if not isinstance(s.normalise, Rank)
            )
            extra = ""
            evidence = self._firm_evidence(name)
            if evidence:
                # A firm-grain source cites the firm's row(s) for every indicator scoring
                # > 0: one list per firm, made here instead of per (firm, indicator).
                inner = inner.select(
                    f"ARRAY_AGG(evidence_key ORDER BY evidence_key) AS {EVIDENCE_COLUMN}",
                    copy=False,
                )
                extra = f", {EVIDENCE_COLUMN}"
            agg: exp.Query = inner
            if self.firms is None and self._row_values(name, specs):
                agg = self.single_rows(name, specs, inner, evidence)
            # One parse for the outer selects; the aggregation tree goes in without a copy.
            query = _parse(
                f"SELECT firm_id, {', '.join(col('v', s.id) for s in specs)}{scored}{extra}"
                f" FROM (SELECT firm_id, {values}{extra} FROM ind__aggregate) AS a"
            )
            table = query.find(exp.Table)
            assert table is not None and table.name == "ind__aggregate"
            table.replace(agg.subquery("g", copy=False))
            self.steps.append(
                Step(
                    f"ind__agg_{name}",
                    query,
                    description=f"{len(specs)} indicators over {name}: values and scores",
                )
            )

    def _row_values(self, name: str, specs: list[IndicatorSpec]) -> bool:
        """Whether every indicator of a firm-grain source is a row expression."""
        return self._source(name).grain == "firm" and not any(
            self.specs.exprs[s.id].value.aggregate for s in specs
        )

    def single_rows(
        self, name: str, specs: list[IndicatorSpec], grouped: exp.Select, evidence: bool
    ) -> exp.Query:
        """A firm-grain source's aggregation without grouping the firms with one row.

        Nearly every firm has one row (several only when a branch's code reaches its
        parent): its values are the row expressions themselves, which is what the
        ``max()`` over one row gives, and its evidence list is its one key. Only the
        firms with several rows (``ind__many_<source>``) are grouped.
        """
        many = f"ind__many_{name}"
        self.add(
            many,
            f"SELECT firm_id FROM ind__src_{name} GROUP BY firm_id HAVING COUNT(*) > 1",
            description=f"firms with several rows in {name}",
        )
        single = exp.select(
            "firm_id", *(exp.alias_(self.row_expr(s), col("a", s.id)) for s in specs)
        ).from_(f"ind__src_{name}")
        if evidence:
            single = single.select(
                exp.alias_(exp.Array(expressions=[exp.column("evidence_key")]), EVIDENCE_COLUMN),
                copy=False,
            )
        single = single.where(f"firm_id NOT IN (SELECT firm_id FROM {many})", copy=False)
        grouped = grouped.where(f"firm_id IN (SELECT firm_id FROM {many})", copy=False)
        return exp.union(single, grouped, distinct=False)

    def row_expr(self, spec: IndicatorSpec) -> exp.Expression:
        """``aggregate_expr`` of a row expression over a firm's only row."""
        tree: exp.Expression = exp.Cast(
            this=self.rewrite_tree(self.specs.exprs[spec.id].value.tree, spec.source),
            to=exp.DataType.build("DOUBLE"),
        )
        where = self.condition(spec)
        if where is not None:
            tree = exp.Case(ifs=[exp.If(this=where.copy(), true=tree)])
        return exp.Cast(this=tree, to=exp.DataType.build("DOUBLE"))

    def _firm_evidence(self, name: str) -> bool:
        """Whether the source's aggregation carries the per-firm evidence list."""
        return self._source(name).grain == "firm" and any(
            s.source == name and not _valued(s) for s in self.base
        )

    # ---- 4. values and scores -------------------------------------------------------------

    def value_exprs(self) -> dict[str, str]:
        """Value SQL over the universe joined with the aggregations (aliases a0, a1, …)."""
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

    def score_joins(self, sources: Collection[str]) -> str:
        """The universe's outer joins with these sources' aggregations (aliases a0, a1, …)."""
        return " ".join(
            f"LEFT JOIN ind__agg_{name} AS a{i} ON a{i}.firm_id = u.firm_id"
            for i, name in enumerate(self.used_sources)
            if name in sources
        )

    def values(self) -> None:
        """Values of rank and derived indicators (the others' stay in their aggregation)."""
        valued = [s for s in self.specs.indicators if _valued(s)]
        if not valued:
            return
        values = self.value_exprs()
        refs = {r for s in self.derived for r in _base_refs(s.id, self.specs)}
        needed = {self.specs.get(r).source for r in refs}
        needed |= {s.source for s in self.base if isinstance(s.normalise, Rank)}
        cols = ", ".join(f"{values[s.id]} AS {col('v', s.id)}" for s in valued)
        self.add(
            "ind__values",
            f"SELECT u.firm_id AS firm_id, {cols} FROM ind__universe AS u"
            f" {self.score_joins(needed)}",
            # A full run reads it once (the scores step): a view. A restricted run reads it
            # again for the rank look-ups (a handful of rows).
            materialise=self.firms is not None,
            description="values of derived and rank indicators",
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
        """Values, ranks and scores of rank and derived indicators (``ind__scores``).

        The other indicators' scores come straight from their aggregations into the
        ``indicator_score`` output: no wide table of every score is stored.
        """
        ranks = [s for s in self.specs.indicators if isinstance(s.normalise, Rank)]
        if not any(_valued(s) for s in self.specs.indicators):
            return ranks
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
            if not _valued(s):
                continue
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
            if not _valued(s):
                continue
            outer.append(col("v", s.id))
            if s.id in rank_sql:
                outer.append(col("r", s.id))
            outer.append(f"{_direct(col('n', s.id), s)} AS {col('s', s.id)}")
        self.add(
            "ind__scores",
            f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(parts)}"
            f" FROM ind__values AS v{joins}) AS x",
            description="values, ranks and scores (FLOAT) of rank and derived indicators",
        )
        return ranks

    # ---- 5. evidence and outputs ----------------------------------------------------------

    def scored_firms(self, spec: IndicatorSpec) -> str:
        """The firms scoring > 0 on a base indicator (its source's aggregation when it can)."""
        table = "ind__scores" if _valued(spec) else f"ind__agg_{spec.source}"
        return f"SELECT firm_id FROM {table} WHERE {col('s', spec.id)} > 0"

    def source_evidence(
        self,
        name: str,
        subs: dict[str, exp.Expression],
        specs: list[IndicatorSpec] | None = None,
    ) -> str:
        """Evidence rows (firm, indicator, key, rn) of one source's indicators (or ``specs``)."""
        src = self._source(name)
        if specs is None:
            specs = [s for s in self.base if s.source == name]
        if src.grain == "firm":
            # One row per firm: the row is the evidence; no window, no re-test of `where`.
            # One join per source (not one scan of the source per indicator).
            scored = " UNION ALL ".join(
                f"SELECT firm_id, {lit(s.id)} AS indicator_id FROM ({self.scored_firms(s)}) AS f"
                for s in specs
            )
            return (
                "SELECT r.firm_id, k.indicator_id, r.evidence_key, 1 AS rn"
                f" FROM ind__src_{name} AS r JOIN ({scored}) AS k ON k.firm_id = r.firm_id"
            )
        parts = []
        for s in specs:
            e = self.specs.exprs[s.id]
            order = [self.rewrite(o, s.source) for o in e.order]
            if not order and src.grain == "event":
                order.append("event_date DESC")
            order.append("evidence_key")
            limit = s.evidence.limit if s.evidence else 5
            cond = self.condition(s)
            key = f"__cond_{len(subs)}"
            if cond is not None:
                subs[key] = exp.Paren(this=cond)
            where = f"{key} AND " if cond is not None else ""
            part = (
                f"SELECT firm_id, {lit(s.id)} AS indicator_id, evidence_key, rn FROM ("
                f"SELECT firm_id, evidence_key, ROW_NUMBER() OVER (PARTITION BY firm_id"
                f" ORDER BY {', '.join(order)}) AS rn FROM ind__src_{s.source}"
                f" WHERE {where}firm_id IN ({self.scored_firms(s)})) AS x WHERE rn <= {limit}"
            )
            self._evidence_part[s.id] = part
            parts.append(part)
        return " UNION ALL ".join(parts)

    def evidence(self) -> None:
        """Evidence steps of the sources whose evidence rank or derived indicators cite.

        Other sources' evidence is computed inside their output step (``outputs``).
        """
        ranked = [s for s in self.base if isinstance(s.normalise, Rank)]
        refs = {r for s in self.derived for r in _base_refs(s.id, self.specs)}
        refs |= {s.id for s in ranked}
        shared: list[str] = []
        for name in self.used_sources:
            subs: dict[str, exp.Expression] = {}
            cited = [s for s in self.base if s.source == name and s.id in refs]
            if self._firm_evidence(name):
                # Its output step reads the aggregation's evidence lists: only what rank
                # and derived indicators cite is needed here.
                if cited:
                    self.add(
                        f"ind__evidence_{name}",
                        self.source_evidence(name, subs, cited),
                        description=f"evidence keys of {name}'s cited indicators, score > 0",
                    )
                    shared.append(name)
                continue
            sql = self.source_evidence(name, subs)
            if cited:
                self.add(
                    f"ind__evidence_{name}",
                    sql,
                    description=f"first evidence keys of {name}'s indicators, score > 0",
                    subs=subs,
                )
                shared.append(name)
                self._cited.add(name)
                sql, subs = f"SELECT * FROM ind__evidence_{name}", {}
            self._evidence_sql[name] = (sql, subs)
        if not refs:
            return
        base = " UNION ALL ".join(
            f"SELECT firm_id, indicator_id, evidence_key, rn FROM ind__evidence_{n}" for n in shared
        )
        parts = []
        if ranked:
            ids = _in_list([s.id for s in ranked])
            parts.append(
                f"SELECT firm_id, indicator_id, evidence_key, rn FROM ({base}) AS b"
                f" WHERE indicator_id IN {ids}"
            )
        for s in self.derived:
            drefs = _base_refs(s.id, self.specs)
            if not drefs:
                continue
            position = " ".join(f"WHEN {lit(r)} THEN {i}" for i, r in enumerate(drefs))
            # Each key once, at its first place: indicators in reference order, then rank.
            parts.append(
                f"SELECT firm_id, {lit(s.id)} AS indicator_id, evidence_key, rn FROM ("
                f"SELECT firm_id, evidence_key, ROW_NUMBER() OVER (PARTITION BY firm_id"
                f" ORDER BY ord, evidence_key) AS rn FROM ("
                f"SELECT firm_id, evidence_key, MIN((CASE indicator_id {position} END) * 1000"
                f" + rn) AS ord FROM ({base}) AS b WHERE indicator_id IN {_in_list(drefs)}"
                f" AND firm_id IN (SELECT firm_id FROM ind__scores WHERE {col('s', s.id)} > 0)"
                f" GROUP BY firm_id, evidence_key) AS k) AS x WHERE rn <= 5"
            )
        self.add(
            "ind__evidence",
            "SELECT firm_id, indicator_id, ARRAY_AGG(evidence_key ORDER BY rn) AS evidence"
            f" FROM ({' UNION ALL '.join(parts)}) AS e GROUP BY firm_id, indicator_id",
            description="evidence lists of rank and derived indicators (derived ones cite"
            " what they are computed from)",
        )

    def long_rows(self, table: str, specs: list[IndicatorSpec], evidence: bool = False) -> str:
        """(firm_id, indicator_id, value, score) of ``specs`` from a wide table, score > 0.

        ``evidence``: also the table's per-firm evidence list (firm-grain sources).
        """
        ev = f", {EVIDENCE_COLUMN} AS evidence" if evidence else ""
        if self.firms is None:
            return " UNION ALL ".join(
                f"SELECT firm_id, {lit(s.id)} AS indicator_id, {col('v', s.id)} AS value,"
                f" {col('s', s.id)} AS score{ev} FROM {table} WHERE {col('s', s.id)} > 0"
                for s in specs
            )
        # A few rows: one cross join with the indicator list picks each value and score
        # by position, instead of a union of one query per indicator (planning it alone
        # takes a good part of a second).
        keys = ", ".join(f"({i}, {lit(s.id)})" for i, s in enumerate(specs))

        def pick(kind: str) -> str:
            whens = " ".join(f"WHEN {i} THEN {col(kind, s.id)}" for i, s in enumerate(specs))
            return f"CASE k.pos {whens} END"

        return (
            f"SELECT firm_id, indicator_id, value, score{', evidence' if evidence else ''} FROM ("
            f"SELECT x.firm_id, k.indicator_id, {pick('v')} AS value, {pick('s')} AS score"
            f"{ev.replace(EVIDENCE_COLUMN, 'x.' + EVIDENCE_COLUMN)}"
            f" FROM {table} AS x CROSS JOIN (VALUES {keys}) AS k(pos, indicator_id)"
            ") AS w WHERE score > 0"
        )

    def long_with_evidence(self, name: str, specs: list[IndicatorSpec], consts: list[str]) -> str:
        """A full run's ``indicator_value`` rows of an event or state source.

        Per indicator: its firms scoring > 0 joined on the firm with their evidence list
        (grouped per firm), instead of one union of every indicator's rows joined with
        evidence grouped per (firm, indicator): one string key per join and group, and
        smaller ones (at 1M firms the evidence was two thirds of the output's work
        before the sort). ``consts``: the rows of firms without rows in the source, which
        have no evidence.
        """
        parts = []
        for s in specs:
            rows = (
                f"SELECT firm_id, evidence_key, rn FROM ind__evidence_{name}"
                f" WHERE indicator_id = {lit(s.id)}"
                if name in self._cited
                else self._evidence_part[s.id]
            )
            parts.append(
                f"SELECT a.firm_id, {lit(s.id)} AS indicator_id, a.{col('v', s.id)} AS value,"
                f" a.{col('s', s.id)} AS score, e.evidence FROM ind__agg_{name} AS a LEFT JOIN ("
                "SELECT firm_id, ARRAY_AGG(evidence_key ORDER BY rn) AS evidence"
                f" FROM ({rows}) AS b GROUP BY firm_id) AS e ON e.firm_id = a.firm_id"
                f" WHERE a.{col('s', s.id)} > 0"
            )
        parts += [
            "SELECT firm_id, indicator_id, value, score, CAST(NULL AS VARCHAR[]) AS evidence"
            f" FROM ({rows}) AS c"
            for rows in consts
        ]
        return " UNION ALL ".join(parts)

    def outputs(self, ranks: list[IndicatorSpec]) -> None:
        aliases = {name: f"a{i}" for i, name in enumerate(self.used_sources)}
        cols = []
        for s in self.specs.indicators:
            if _valued(s):
                cols.append(f"x.{col('s', s.id)} AS {q(s.id)}")
                continue
            # A firm without rows in the source scores the missing value: a constant (NULL
            # for `missing: null`, which the outer join gives anyway). A firm with rows has
            # a score unless its value is missing, and then so is the constant: COALESCE
            # is exact.
            score = f"{aliases[s.source]}.{col('s', s.id)}"
            if constant_score(s) is not None:
                score = f"COALESCE({score}, {constant_sql(s)})"
            cols.append(f"{score} AS {q(s.id)}")
        has_valued = any(_valued(s) for s in self.specs.indicators)
        join = " LEFT JOIN ind__scores AS x ON x.firm_id = u.firm_id" if has_valued else ""
        self.add(
            "ind__out_score",
            f"SELECT u.firm_id AS firm_id, {', '.join(cols)} FROM ind__universe AS u"
            f" {self.score_joins(self.used_sources)}{join} ORDER BY u.firm_id",
            materialise=False,
            output="indicator_score",
        )
        pieces: list[str] = []
        for name in self.used_sources:
            specs = [s for s in self.base if s.source == name and not _valued(s)]
            if not specs:
                continue
            firm_grain = self._firm_evidence(name)
            rows = [self.long_rows(f"ind__agg_{name}", specs, evidence=firm_grain)]
            # Firms without rows in the source: the constant of each indicator whose
            # missing value scores > 0 (a lower-is-riskier count of zero …), no evidence.
            everyone = self._source(name).table == FIRM_TABLE  # the universe has a row each
            consts = [] if everyone else [s for s in specs if (constant_score(s) or 0.0) > 0]
            if consts:
                k = " UNION ALL ".join(
                    f"SELECT {lit(s.id)} AS indicator_id, {_missing_lit(s)} AS value,"
                    f" {constant_sql(s)} AS score"
                    for s in consts
                )
                no_evidence = ", CAST(NULL AS VARCHAR[]) AS evidence" if firm_grain else ""
                rows.append(
                    f"SELECT u.firm_id, k.indicator_id, k.value, k.score{no_evidence}"
                    f" FROM ind__universe AS u LEFT JOIN ind__agg_{name} AS a"
                    f" ON a.firm_id = u.firm_id CROSS JOIN ({k}) AS k"
                    " WHERE a.firm_id IS NULL AND k.score > 0"
                )
            if firm_grain:
                self.add(
                    f"ind__long_{name}",
                    " UNION ALL ".join(rows),
                    materialise=self.firms is not None,
                    description=f"indicator_value rows of {name}'s indicators, evidence",
                )
                pieces.append(f"SELECT * FROM ind__long_{name}")
                continue
            evidence, subs = self._evidence_sql[name]
            if self.firms is None:
                self.add(
                    f"ind__long_{name}",
                    self.long_with_evidence(name, specs, rows[1:]),
                    materialise=False,
                    description=f"indicator_value rows of {name}'s indicators with their evidence",
                    subs=subs,
                )
                pieces.append(f"SELECT * FROM ind__long_{name}")
                continue
            self.add(
                f"ind__long_{name}",
                "SELECT l.firm_id, l.indicator_id, l.value, l.score, e.evidence"
                f" FROM ({' UNION ALL '.join(rows)}) AS l LEFT JOIN ("
                "SELECT firm_id, indicator_id, ARRAY_AGG(evidence_key ORDER BY rn) AS evidence"
                f" FROM ({evidence}) AS b GROUP BY firm_id, indicator_id) AS e"
                " ON e.firm_id = l.firm_id AND e.indicator_id = l.indicator_id",
                # Read once, by the output: in a full run a view, so its rows go straight
                # into the output's sort instead of being stored first (20M rows at 3M
                # firms); a restricted run's few rows are stored (one smaller output plan).
                materialise=self.firms is not None,
                description=f"indicator_value rows of {name}'s indicators with their evidence",
                subs=subs,
            )
            pieces.append(f"SELECT * FROM ind__long_{name}")
        valued = [s for s in self.specs.indicators if _valued(s)]
        if valued:
            # Every rank or derived indicator cites base evidence: ind__evidence exists.
            pieces.append(
                "SELECT l.firm_id, l.indicator_id, l.value, l.score, e.evidence"
                f" FROM ({self.long_rows('ind__scores', valued)}) AS l"
                " LEFT JOIN ind__evidence AS e"
                " ON e.firm_id = l.firm_id AND e.indicator_id = l.indicator_id"
            )
        self.add(
            "ind__out_value",
            "SELECT firm_id, indicator_id, value, score, evidence"
            f" FROM ({' UNION ALL '.join(pieces)}) AS v ORDER BY firm_id, indicator_id",
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


def _valued(spec: IndicatorSpec) -> bool:
    """Whether ``ind__scores`` keeps the indicator's value: derived and rank indicators.

    The others' values stay in their source's sparse aggregation (``ind__agg_<source>``),
    and ``indicator_value`` takes them from there.
    """
    return spec.derived or isinstance(spec.normalise, Rank)


def _missing_lit(spec: IndicatorSpec) -> str:
    """The value of a firm without rows in the source, as a DOUBLE literal."""
    fill = spec.missing_value
    return "CAST(NULL AS DOUBLE)" if fill is None else f"CAST({fill!r} AS DOUBLE)"


def _direct(n: str, spec: IndicatorSpec) -> str:
    """A normalised value directed, clamped to [0, 1] and cast to FLOAT."""
    directed = f"1.0 - {n}" if spec.direction == "lower" else n
    return (
        f"CAST(CASE WHEN {n} IS NULL THEN NULL ELSE GREATEST(0.0, LEAST(1.0, {directed}))"
        " END AS FLOAT)"
    )


def score_sql(v: str, spec: IndicatorSpec) -> str:
    """The score of value ``v`` (not for rank indicators).

    The normalisation is NULL exactly when ``v`` is, so the NULL test reads ``v`` (the
    normalisation's text appears once, which halves what the engine parses).
    """
    n = f"({normalise_sql(v, spec)})"
    directed = f"1.0 - {n}" if spec.direction == "lower" else n
    return (
        f"CAST(CASE WHEN {v} IS NULL THEN NULL ELSE GREATEST(0.0, LEAST(1.0, {directed}))"
        " END AS FLOAT)"
    )


def constant_score(spec: IndicatorSpec) -> float | None:
    """The score of the missing value: what a firm without rows in the source scores.

    Python's double arithmetic mirrors ``score_sql`` step by step (before the FLOAT cast);
    ``tests/indicators/test_fused.py`` checks it against the engine for every packaged
    spec. None: the missing value is NULL (or the indicator is a rank).
    """
    v = spec.missing_value
    n = spec.normalise
    if v is None or isinstance(n, Rank):
        return None
    if isinstance(n, Piecewise):
        pts = n.points
        s = pts[-1][1]
        if v <= pts[0][0]:
            s = pts[0][1]
        else:
            for (x0, y0), (x1, y1) in itertools.pairwise(pts):
                if v <= x1:
                    s = y0 + (y1 - y0) / (x1 - x0) * (v - x0)
                    break
    elif isinstance(n, Logistic):
        z = max(-60.0, min(60.0, (n.mid - v) / n.scale))
        s = 1.0 / (1.0 + math.exp(z))
    elif isinstance(n, Log):
        s = min(1.0, math.log(1.0 + max(v, 0.0)) / math.log1p(n.cap))
    else:
        s = 1.0 if v > n.threshold else 0.0
    if spec.direction == "lower":
        s = 1.0 - s
    return max(0.0, min(1.0, s))


def constant_sql(spec: IndicatorSpec) -> str:
    """``constant_score`` as a FLOAT literal (NULL when missing)."""
    c = constant_score(spec)
    return "CAST(NULL AS FLOAT)" if c is None else f"CAST({c!r} AS FLOAT)"


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
