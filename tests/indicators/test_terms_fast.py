"""The fast forms of term tests give the same answers as the plain ones.

``term_count`` is rewritten as one regex over the whole list guarding the per-term
substring tests, and the compiler evaluates each (argument, list) once in the source step;
both must count exactly what a plain sum of ``strpos`` tests counts.
"""

from __future__ import annotations

from datetime import date

import duckdb
from sqlglot import exp

from fengyan.indicators import expr
from fengyan.indicators.compiler import compile_plan
from fengyan.indicators.load import SpecSet, load_specs

TERMS = {"fin": ("金融", "金融服务", "p2p", "理财")}
TEXTS = ["深圳金融服务有限公司", "P2P理财平台", "科技公司", None, "", "金融金融"]


def _plain_count(text: str | None) -> int:
    if text is None:
        return 0
    low = text.lower()
    return sum(1 for t in TERMS["fin"] if t in low)


def test_term_count_with_regex_guard_equals_substring_sum() -> None:
    tree = expr.rewrite(expr.parse("term_count(name, 'fin')"), as_of=date(2024, 6, 30), terms=TERMS)
    assert isinstance(tree, exp.Case)  # the guard is there
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, name VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(TEXTS)))
    got = con.execute(f"SELECT {tree.sql('duckdb')} FROM t ORDER BY i").fetchall()
    assert [r[0] for r in got] == [_plain_count(t) for t in TEXTS] == [2, 2, 0, 0, 0, 1]


def test_term_tests_are_columns_of_the_source_step() -> None:
    specs = load_specs()
    assert any("terms(" in s.value for s in specs.indicators), "no packaged spec uses terms()"
    tables = {"resolved_entity", "resolved_link", "enterprise", "advertisement"}
    plan = compile_plan(specs, as_of=date(2024, 6, 30), available=tables)
    steps = {s.name: s.sql("duckdb") for s in plan.steps}
    # Term tests run once per distinct text in term steps (the plain-SQL form of a term
    # step is regex + strpos; the DuckDB adapter uses an automaton instead); the source
    # step joins their columns, and the aggregations (and the evidence conditions) read
    # the precomputed columns.
    term_steps = {s.name for s in plan.steps if s.texts is not None}
    assert {n for n in term_steps if n.startswith("ind__terms_enterprise_")}
    assert "ind__t0" in steps["ind__src_enterprise"]
    assert "REGEXP_MATCHES" not in steps["ind__src_enterprise"]
    for name in ("ind__agg_enterprise", "ind__agg_advertisement"):
        assert "REGEXP_MATCHES" not in steps[name], name
    assert "ind__t0" in steps["ind__agg_enterprise"]
    # A term list's alternation appears only in term steps (specs may use regexp_like
    # themselves, so other regexes may remain elsewhere).
    pattern = expr.rewrite(
        expr.parse("terms(name, 'name_finance_strong')"),
        as_of=date(2024, 6, 30),
        terms={k: v.terms for k, v in specs.terms.items()},
    ).find(exp.RegexpLike)
    assert pattern is not None
    needle = pattern.expression.sql("duckdb")
    where = {n: sql.count(needle) for n, sql in steps.items() if needle in sql}
    assert where and set(where) <= term_steps, where
    # Tests over the same text share a step: one distinct pass per text, not per list.
    enterprise = [s for s in plan.steps if s.name.startswith("ind__terms_enterprise_")]
    assert sum(len(s.terms) for s in enterprise) > 2 * len(enterprise)


def test_plan_cache_shares_steps_between_restricted_runs(fixture_specs: SpecSet) -> None:
    tables = {"resolved_entity", "resolved_link", "enterprise", "complaint", "indicator_cutpoints"}
    a = compile_plan(fixture_specs, as_of=date(2024, 6, 30), available=tables, firms=["ent:1"])
    b = compile_plan(fixture_specs, as_of=date(2024, 6, 30), available=tables, firms=["ent:2"])
    assert a.firms == ("ent:1",) and b.firms == ("ent:2",)
    assert a.steps is b.steps
    assert all("ent:1" not in s.sql("duckdb") for s in a.steps)
    full = compile_plan(fixture_specs, as_of=date(2024, 6, 30), available=tables)
    assert full.firms is None and full.steps is not a.steps
