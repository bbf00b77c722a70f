"""The right-hand filter before splink keeps every pair the blocking rules make.

``scoring.right_filter`` drops the register names no blocking rule can pair with a pending
record (most of them at millions of firms). It must never drop a name that is in a pair:
these tests block the same records against the names with and without it.
"""

from __future__ import annotations

import random
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from fengyan.resolve import scoring
from fengyan.resolve.config import load_settings
from fengyan.resolve.enterprises import model_for
from tests.resolve.conftest import ResolvedCity


def _pairs(con: duckdb.DuckDBPyConnection, rules: list[str], right: str) -> set[tuple[Any, Any]]:
    out: set[tuple[Any, Any]] = set()
    for rule in rules:
        out |= set(
            con.execute(
                f"SELECT l.unique_id, r.unique_id FROM left_in l JOIN {right} r ON {rule}"
            ).fetchall()
        )
    return out


def _fixture(seed: int, n_left: int, n_right: int) -> tuple[pa.Table, pa.Table]:
    """Small integer keys (many collisions) and districts, some of them NULL."""
    rng = random.Random(seed)

    def key() -> int | None:
        return None if rng.random() < 0.1 else rng.randrange(12)

    def district() -> str | None:
        return None if rng.random() < 0.1 else rng.choice(["440303", "440304", "440305"])

    cols = ("core_h", "pre2", "pre6", "del0", "district", "op_district", "brand_firms")

    def table(n: int, prefix: str) -> pa.Table:
        rows: dict[str, list[Any]] = {"unique_id": [f"{prefix}{i}" for i in range(n)]}
        for c in cols:
            if "district" in c:
                rows[c] = [district() for _ in range(n)]
            elif c == "brand_firms":
                rows[c] = [rng.randrange(100) for _ in range(n)]
            else:
                rows[c] = [key() for _ in range(n)]
        return pa.table(rows)

    return table(n_left, "l"), table(n_right, "r")


RULES = [
    "l.core_h = r.core_h",
    "l.core_h = r.pre2 AND l.brand_firms <= 64 AND l.district IN (r.district, r.op_district)",
    "l.pre6 = r.pre6 AND l.district IN (r.district, r.op_district)",
    "r.del0 = l.del0 AND l.district = r.district AND r.brand_firms > 10",
]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_filter_keeps_every_blocked_pair(seed: int) -> None:
    left, right = _fixture(seed, 60, 400)
    settings = {"blocking_rules_to_generate_predictions": RULES}
    wanted = scoring.right_filter(settings, "r", "left_in")
    con = duckdb.connect()
    con.register("left_in", left)
    con.register("right_in", right)
    con.execute(f"CREATE TABLE kept AS SELECT * FROM right_in r WHERE {wanted}")
    kept = con.execute("SELECT count(*) FROM kept").fetchall()[0][0]
    before = _pairs(con, RULES, "right_in")
    assert before  # the fixture does block pairs
    assert _pairs(con, RULES, "kept") == before
    assert kept < right.num_rows  # and the filter does drop names


def test_rules_it_cannot_read_keep_every_row() -> None:
    for rules in (
        ["l.a = r.a", "l.b = r.b OR l.c = r.c"],
        ["l.a = r.a", "levenshtein(l.name, r.name) <= 1"],
        [],
    ):
        assert scoring.right_filter(
            {"blocking_rules_to_generate_predictions": rules}, "r", "left_in"
        ) == ("TRUE")


def test_splink_dict_rules_are_read() -> None:
    rules = [{"blocking_rule": "l.a = r.b", "sql_dialect": "duckdb"}]
    assert scoring.blocking_rules({"blocking_rules_to_generate_predictions": rules}) == [
        "l.a = r.b"
    ]
    assert 'r."b"' in scoring.right_filter(
        {"blocking_rules_to_generate_predictions": rules}, "r", "left_in"
    )


def test_shipped_rules_keep_every_pair_of_the_city(resolved_city: ResolvedCity) -> None:
    """The shipped blocking rules on the simulated city: the same pairs with the filter."""
    from fengyan.resolve.enterprises import (
        attach_contexts,
        exact_stages,
        prepare,
        splink_inputs,
    )

    settings = load_settings().enterprise
    con = resolved_city.ws.lake.connect()
    try:
        work, entities, _ = prepare(con, {}, settings, None)
        exact_stages(work, settings)
        attach_contexts(con, work, settings)
    finally:
        con.close()
    try:
        model = model_for(settings, entities.num_rows)
        left, right_all, _ = splink_inputs(work)
        _, right, _ = splink_inputs(work, model)
    finally:
        work.close()
    assert right.num_rows < right_all.num_rows
    rules = scoring.blocking_rules(model)
    con = duckdb.connect()
    con.register("left_in", left)
    con.register("all_in", right_all)
    con.register("kept_in", right)
    before = _pairs(con, rules, "all_in")
    assert before
    assert _pairs(con, rules, "kept_in") == before
