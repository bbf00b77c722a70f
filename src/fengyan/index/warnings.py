"""Warnings: this run's grades against the previous published run's.

For every firm graded now or before, per model: ``new`` (none → graded), ``escalated``
(higher grade), ``de-escalated`` (lower, still graded), ``cleared`` (graded → none, or the
firm left the universe) or ``unchanged``. One set-based join; no loop over firms.
"""

from __future__ import annotations

from typing import Final

import duckdb
import pyarrow as pa

from fengyan.index.model import GRADES

CHANGES: Final = ("new", "escalated", "de-escalated", "cleared", "unchanged")
"""Change types; all but ``unchanged`` are written to the warning history."""

GRADE_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("firm_id", pa.string()),
        ("grade", pa.string()),
        ("score", pa.float64()),
    ]
)


def current_grades(index_score: pa.Table) -> pa.Table:
    """This run's grades from an ``index_score`` table, as :func:`compare` takes them."""
    return index_score.select(GRADE_SCHEMA.names).cast(GRADE_SCHEMA)


def _rank_sql(column: str) -> str:
    cases = " ".join(f"WHEN '{g}' THEN {i}" for i, g in enumerate(GRADES))
    return f"(CASE coalesce({column}, 'none') {cases} END)"


def compare(previous: pa.Table, current: pa.Table) -> pa.Table:
    """Change of every firm graded in ``previous`` or ``current`` (both GRADE_SCHEMA).

    ``current`` may hold ungraded firms (grade ``none``); ``previous`` normally holds the
    graded ones only (what was published). Returns model, firm_id, change, grade,
    previous_grade, score, previous_score, ordered by model and firm.
    """
    for name, table in (("previous", previous), ("current", current)):
        missing = set(GRADE_SCHEMA.names) - set(table.column_names)
        if missing:
            raise ValueError(f"{name} grades lack columns {sorted(missing)}")
        bad = set(table["grade"].unique().to_pylist()) - set(GRADES) - {None}
        if bad:
            raise ValueError(f"{name} grades hold unknown grades {sorted(bad)}")
    con = duckdb.connect()
    try:
        con.register("prev", previous.select(GRADE_SCHEMA.names))
        con.register("cur", current.select(GRADE_SCHEMA.names))
        now_rank, before_rank = _rank_sql("c.grade"), _rank_sql("p.grade")
        return con.sql(
            f"""
            SELECT coalesce(c.model, p.model) AS model,
                   coalesce(c.firm_id, p.firm_id) AS firm_id,
                   CASE WHEN {before_rank} = 0 THEN 'new'
                        WHEN {now_rank} = 0 THEN 'cleared'
                        WHEN {now_rank} > {before_rank} THEN 'escalated'
                        WHEN {now_rank} < {before_rank} THEN 'de-escalated'
                        ELSE 'unchanged' END AS change,
                   coalesce(c.grade, 'none') AS grade,
                   coalesce(p.grade, 'none') AS previous_grade,
                   coalesce(c.score, 0.0)::DOUBLE AS score,
                   p.score::DOUBLE AS previous_score
            FROM cur c FULL OUTER JOIN prev p ON c.model = p.model AND c.firm_id = p.firm_id
            WHERE {now_rank} > 0 OR {before_rank} > 0
            ORDER BY model, firm_id
            """  # noqa: S608 - grade names come from GRADES
        ).to_arrow_table()
    finally:
        con.close()
