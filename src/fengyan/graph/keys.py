"""Contact-point keys for whole columns: the vectorised twins of ``resolve.contacts``.

:func:`fengyan.resolve.contacts.address_key`, ``email_key`` and ``domain_key`` fold one
value at a time (about 50 µs for an address: half-width, OpenCC ``t2s``, the fold table,
three regular expressions). The graph needs them for every firm of a city — 3 million
addresses would take minutes — so the functions here give the same keys for a whole
column at once:

* the text steps (``fold``: half-width, traditional → simplified, fold table, whitespace;
  case) run once on a block of the column's values joined by a private-use character —
  each step a single call into C, and none can carry a change across that character (no
  OpenCC phrase, fold entry or case rule holds it);
* the address parser's three patterns run as one multi-line pattern over the joined text
  (``re.findall``: one match per line, its groups turned into Arrow columns by Arrow);
* domains and e-mail addresses are cut apart in DuckDB.

``tests/graph/test_keys.py`` checks every function against its scalar twin, on awkward
hand-written values and on generated ones (Hypothesis).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from fengyan.resolve.batch import SEPARATORS, fold_text, street_prefixes

BLOCK_ROWS: Final = 200_000  # rows folded per joined string (bounds its memory)

# resolve.contacts' _AFTER_ADMIN, _ROAD_NUMBER, _BLOCK and _BUILDING_NAME, in that order,
# as one pattern per line: no class may cross a line break, ``$`` is a line end.
_ADDRESS: Final = re.compile(
    r"^(?:(?:[^\n]*?(?:省|自治区|市|区|县|旗|镇|乡|街道|街道办事处|社区|居委会|村委会|村)"
    r"(?=[^省市区县\n]*?\d+(?:-\d+)?号))?"
    r"(?P<road>[^\n]*?\d+(?:-\d+)?号)"
    r"(?:(?P<block>[^\n]*?(?:[0-9A-Z]+|[一二三四五六七八九十]+)(?:座|栋|幢|号楼|期|单元|区|号馆))"
    r"|(?P<name>[^\d\n]*?)(?=\d|$)))?[^\n]*$",
    re.MULTILINE,
)
_MATCH: Final = pa.struct([("road", pa.string()), ("block", pa.string()), ("name", pa.string())])


def _blocks(values: pa.Array | pa.ChunkedArray) -> Iterator[pa.Array]:
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    for start in range(0, len(array), BLOCK_ROWS):
        yield array.slice(start, BLOCK_ROWS)


def _separator(values: pa.Array) -> str:
    """A private-use character that none of the string ``values`` holds."""
    for sep in SEPARATORS:
        if not pc.any(pc.match_substring(values, sep)).as_py():
            return sep
    raise ValueError("the values use every private-use separator")


def _folded_lines(block: pa.Array) -> tuple[str, str]:
    """``fold`` of every value of a block (nulls as empty strings), one value per line,
    and the private-use character none of the values holds.

    The values are joined by that character in Arrow and folded as one text
    (:func:`fengyan.resolve.batch.fold_text`: the joined folds of the values, by the very
    property ``fold_many`` rests on — no step changes the character or carries a change
    across it — with OpenCC only for the values that need it).
    Folded text has no whitespace left, so line breaks can then separate the values.
    """
    values = pc.fill_null(block.cast(pa.string()), "")
    sep = _separator(values)
    listed = pa.ListArray.from_arrays(pa.array([0, len(values)], pa.int32()), values)
    joined = pc.binary_join(listed, sep)[0].as_py()
    return fold_text(joined, sep).replace(sep, "\n"), sep


def _lines(text: str) -> pa.Array:
    """The lines of ``text`` as a string array (split by Arrow, not into Python strings)."""
    return pc.list_flatten(pc.split_pattern(pa.array([text], pa.large_string()), "\n")).cast(
        pa.string()
    )


def address_keys(
    texts: pa.Array | pa.ChunkedArray, regions: pa.Array | pa.ChunkedArray | None = None
) -> pa.Array:
    """:func:`fengyan.resolve.contacts.address_key` of every (address, region code) pair."""
    roads: list[pa.Array] = []
    buildings: list[pa.Array] = []
    for block in _blocks(texts):
        lines, _ = _folded_lines(block)
        # One match per line, by construction: (road, block name, plain name) tuples,
        # turned into Arrow columns by Arrow (no loop over them in Python).
        found = pa.array(_ADDRESS.findall(lines.upper()), _MATCH)
        if len(found) != len(block):
            raise AssertionError(f"address parser: {len(found)} matches for {len(block)} rows")
        road = found.field("road")
        roads.append(pc.if_else(pc.equal(road, ""), pa.scalar(None, pa.string()), road))
        name = found.field("block")
        buildings.append(pc.if_else(pc.equal(name, ""), found.field("name"), name))
    text_arr = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    if regions is None:
        region = pa.array([""] * len(text_arr), pa.string())
    else:
        region = street_prefixes(regions)
    keys = pc.binary_join_element_wise(region, _concat(roads), _concat(buildings), "|")
    # address_key: no text (null or empty) → None, whatever the parser says.
    empty = pc.or_kleene(pc.is_null(text_arr), pc.equal(text_arr.cast(pa.string()), ""))
    return pc.if_else(pc.fill_null(empty, True), pa.scalar(None, pa.string()), keys)


def _concat(arrays: list[pa.Array]) -> pa.Array:
    return pa.concat_arrays(arrays) if arrays else pa.array([], pa.string())


_SECOND_LEVEL_SQL: Final = (
    "['com', 'net', 'org', 'gov', 'edu', 'ac', 'co', 'mil', 'idv', 'ltd', 'plc']"
)


def _sql_keys(folded: pa.Array, sql: str) -> pa.Array:
    con = duckdb.connect()
    try:
        con.register("v", pa.table({"i": pa.array(range(len(folded)), pa.int64()), "s": folded}))
        result = con.sql(sql).to_arrow_table()
    finally:
        con.close()
    return result.column("k").combine_chunks().cast(pa.string())


def _lowered_keys(values: pa.Array | pa.ChunkedArray, sql: str) -> pa.Array:
    """The key ``sql`` makes of every value folded and lower-cased; null for a blank value."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    folded = pa.concat_arrays(
        [_lines(_folded_lines(b)[0].lower()) for b in _blocks(array)] or [pa.array([], pa.string())]
    )
    keys = _sql_keys(folded, sql)
    empty = pc.or_kleene(pc.is_null(array), pc.equal(array.cast(pa.string()), ""))
    return pc.if_else(pc.fill_null(empty, True), pa.scalar(None, pa.string()), keys)


def domain_keys(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """:func:`fengyan.resolve.contacts.domain_key` of every URL or host name."""
    return _lowered_keys(
        values,
        f"""
        WITH host AS (
            SELECT i, rtrim(split_part(regexp_extract(regexp_extract(
                       regexp_replace(s, '^[a-z][a-z0-9+.-]*://', ''), '^[^/?#]*'),
                       '[^@]*$'), ':', 1), '.') AS h
            FROM v
        ), labels AS (
            SELECT i, h, list_filter(string_split(h, '.'), lambda x: x <> '') AS l FROM host
        )
        SELECT CASE WHEN len(l) >= 2 AND regexp_full_match(h, '[a-z0-9.-]*')
                    THEN array_to_string(
                        l[CASE WHEN len(l) >= 3 AND list_contains({_SECOND_LEVEL_SQL}, l[-2])
                                    AND length(l[-1]) = 2 THEN -3 ELSE -2 END:], '.')
               END AS k
        FROM labels ORDER BY i
        """,  # noqa: S608 - a constant list of this module
    )


def email_keys(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """:func:`fengyan.resolve.contacts.email_key` of every e-mail address."""
    return _lowered_keys(
        values,
        """
        WITH parts AS (
            SELECT i, s, strpos(s, '@') AS pos FROM v
        ), split AS (
            SELECT i, pos, left(s, pos - 1) AS local, substr(s, pos + 1) AS host FROM parts
        )
        SELECT CASE WHEN pos > 0 AND local <> '' AND host <> '' AND strpos(host, '@') = 0
                    THEN local || '@' || rtrim(host, '.') END AS k
        FROM split ORDER BY i
        """,
    )
