"""The character functions the splink model's SQL calls (``fy_levenshtein``,
``fy_within_one``), run through DuckDB as the model runs them."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fengyan.resolve import scoring

NAMES = [
    "深圳市前海鹰眼科技有限公司",
    "深圳市前海鹰眼科技有限公司",
    "深圳市前海应眼科技有限公司",  # one character substituted
    "深圳市前海鹰眼科技有限责任公司",  # two inserted
    "深圳前海鹰眼科技有限公司",  # one deleted
    "鹰眼科技",
    "鹰眼",
    "𠀀鹰眼",  # a 4-byte character
    "A鹰眼",
    "",
    None,
]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    scoring.register_functions(con)
    return con


def _both(
    con: duckdb.DuckDBPyConnection, left: list[str | None], right: list[str | None]
) -> list[tuple[int | None, bool | None]]:
    pairs = pa.table({"a": pa.array(left, pa.string()), "b": pa.array(right, pa.string())})
    con.register("pairs", pairs)
    try:
        return con.sql(
            "SELECT fy_levenshtein(a, b) AS distance, fy_within_one(a, b) AS near FROM pairs"
        ).fetchall()
    finally:
        con.unregister("pairs")


def test_levenshtein_counts_characters_not_bytes(con: duckdb.DuckDBPyConnection) -> None:
    left = ["深圳市前海鹰眼科技", "鹰眼", None]
    rows = _both(con, left, ["深圳市前海应眼科技", "𠀀鹰眼", "鹰眼"])
    assert rows == [(1, True), (1, True), (None, None)]


def test_within_one_is_levenshtein_at_most_one_on_names(con: duckdb.DuckDBPyConnection) -> None:
    left = [a for a in NAMES for _ in NAMES]
    right = [b for _ in NAMES for b in NAMES]
    rows = _both(con, left, right)
    assert [near for _, near in rows] == [None if d is None else d <= 1 for d, _ in rows]
    # The cut-off does not hide a distance of one or zero.
    assert {d for d, near in rows if near} == {0, 1}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.none() | st.text(alphabet="鹰眼应科技AB1𠀀 ", max_size=6),
            st.none() | st.text(alphabet="鹰眼应科技AB1𠀀 ", max_size=6),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_within_one_is_levenshtein_at_most_one(
    con: duckdb.DuckDBPyConnection, pairs: list[tuple[str | None, str | None]]
) -> None:
    rows = _both(con, [a for a, _ in pairs], [b for _, b in pairs])
    assert [near for _, near in rows] == [None if d is None else d <= 1 for d, _ in rows]
