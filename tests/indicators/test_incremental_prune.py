"""prune() drops reads of empty tables only where DuckDB then returns the same rows and types."""

from __future__ import annotations

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from fengyan.indicators.incremental_prune import prune

SETUP = [
    "CREATE TABLE u AS SELECT * FROM (VALUES ('f1', 1.5), ('f2', NULL)) AS t(firm_id, x)",
    "CREATE TABLE full1 AS SELECT * FROM (VALUES ('f1', 2.0::FLOAT, 7)) AS t(firm_id, v, n)",
    "CREATE TABLE e1 AS SELECT 'x' AS firm_id, 1.0::DOUBLE AS v, 1::BIGINT AS n,"
    " ['k']::VARCHAR[] AS ev LIMIT 0",
    "CREATE TABLE e2 AS SELECT 'x' AS firm_id, 1.0::FLOAT AS w LIMIT 0",
    "CREATE TABLE l1 AS SELECT * FROM (VALUES ('f1', 'A', 1.0::DOUBLE))"
    " AS t(firm_id, indicator_id, v)",
    "CREATE TABLE l2 AS SELECT 'x' AS firm_id, 'B' AS indicator_id, 1.0::DOUBLE AS v LIMIT 0",
]
EMPTY = {
    "e1": {"firm_id": "VARCHAR", "v": "DOUBLE", "n": "BIGINT", "ev": "VARCHAR[]"},
    "e2": {"firm_id": "VARCHAR", "w": "FLOAT"},
    "l2": {"firm_id": "VARCHAR", "indicator_id": "VARCHAR", "v": "DOUBLE"},
}


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    for sql in SETUP:
        c.execute(sql)
    return c


def _same(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """The pruned SQL, after checking it returns what ``sql`` returns (rows and types)."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    assert isinstance(tree, exp.Query)
    pruned = prune(tree, EMPTY).sql("duckdb")
    want, got = con.sql(sql), con.sql(pruned)
    assert got.types == want.types and got.columns == want.columns
    assert got.fetchall() == want.fetchall()
    return pruned


def test_outer_joins_with_empty_tables_go(con: duckdb.DuckDBPyConnection) -> None:
    pruned = _same(
        con,
        "SELECT u.firm_id, COALESCE(a.v, 0.0) + u.x AS s, a.n, a.ev, b.w, f.v AS fv"
        " FROM u AS u LEFT JOIN e1 AS a ON a.firm_id = u.firm_id"
        " LEFT JOIN full1 AS f ON f.firm_id = u.firm_id"
        " LEFT OUTER JOIN e2 AS b ON b.firm_id = u.firm_id ORDER BY u.firm_id",
    )
    assert "e1" not in pruned and "e2" not in pruned and "full1" in pruned
    assert "CAST(NULL AS DOUBLE)" in pruned and "CAST(NULL AS BIGINT)" in pruned


def test_reads_the_rule_cannot_place_stay(con: duckdb.DuckDBPyConnection) -> None:
    kept = [
        # An inner join with an empty table empties the result.
        "SELECT u.firm_id FROM u AS u JOIN e1 AS a ON a.firm_id = u.firm_id",
        # A bare column that could be the empty table's.
        "SELECT u.firm_id, n FROM u AS u LEFT JOIN e1 AS a ON a.firm_id = u.firm_id",
        # The alias used inside a subquery (correlated).
        "SELECT u.firm_id, (SELECT max(x) FROM u AS z WHERE z.firm_id = a.firm_id) AS m"
        " FROM u AS u LEFT JOIN e1 AS a ON a.firm_id = u.firm_id",
        # A column the types do not list.
        "SELECT u.firm_id, a.rowid FROM u AS u LEFT JOIN e1 AS a ON a.firm_id = u.firm_id",
        # The first member of a union names the columns.
        "SELECT * FROM l2 UNION ALL SELECT * FROM l1",
        # A member computing a value, or naming a column the table lacks.
        "SELECT firm_id, v FROM l1 UNION ALL SELECT firm_id, v + 1 FROM l2",
        "SELECT firm_id, v FROM l1 UNION ALL SELECT firm_id, w FROM l2",
        # A filtered member, and UNION (distinct).
        "SELECT * FROM l1 UNION ALL SELECT * FROM l2 WHERE v > 0",
        "SELECT * FROM l1 UNION SELECT * FROM l2",
    ]
    for sql in kept:
        tree = sqlglot.parse_one(sql, read="duckdb")
        assert isinstance(tree, exp.Query)
        assert prune(tree, EMPTY).sql("duckdb") == tree.sql("duckdb"), sql


def test_empty_union_members_go(con: duckdb.DuckDBPyConnection) -> None:
    pruned = _same(
        con,
        "SELECT firm_id, indicator_id, v FROM (SELECT * FROM l1 UNION ALL SELECT * FROM l2"
        " UNION ALL SELECT * FROM l1 UNION ALL SELECT firm_id, indicator_id, x.v FROM l2 AS x)"
        " AS x ORDER BY firm_id, indicator_id",
    )
    assert "l2" not in pruned and pruned.count("l1") == 2


def test_nothing_empty_is_the_query_itself() -> None:
    tree = sqlglot.parse_one("SELECT 1 AS x", read="duckdb")
    assert isinstance(tree, exp.Query)
    assert prune(tree, {}) is tree
