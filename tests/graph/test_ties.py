"""Ties read with places in resolved_link (``read_ties``) are the rows the string queries
gave; the build's second threads (contact keys, contagion) change no answer."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fengyan.clock import CHINA_TZ, now
from fengyan.graph import service
from fengyan.graph.build import RELATIONS, EdgeCodes, TieRows, read_ties
from fengyan.graph.config import load_settings
from fengyan.graph.contagion import stable_order
from fengyan.threads import second_thread
from tests.resolve.conftest import ResolvedCity

IDS = st.text(alphabet="abc:企é\U0001f600", max_size=5)


@st.composite
def tie_rows(draw: st.DrawFn) -> tuple[TieRows, list[str | None]]:
    """Ties whose ends are places in ``known`` (some of them null ids, some never named)
    or ids of their own; and extra ids."""
    known = draw(st.lists(st.one_of(st.none(), IDS), max_size=8))
    n = draw(st.integers(0, 25))

    def end() -> st.SearchStrategy[tuple[int | None, str | None]]:
        own = st.tuples(st.none(), st.one_of(st.none(), IDS))
        if not known:
            return own
        place = st.tuples(st.integers(0, len(known) - 1), st.none())
        return st.one_of(place, own)

    src = draw(st.lists(end(), min_size=n, max_size=n))
    dst = draw(st.lists(end(), min_size=n, max_size=n))
    table = pa.table(
        {
            "src_at": pa.array([a for a, _ in src], pa.int64()),
            "src": pa.array([s for _, s in src], pa.string()),
            "dst_at": pa.array([a for a, _ in dst], pa.int64()),
            "dst": pa.array([s for _, s in dst], pa.string()),
            "relation": pa.array(
                draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)), pa.int8()
            ),
            "share": pa.array(
                draw(st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=n, max_size=n)),
                pa.float64(),
            ),
            "role": pa.array(
                draw(st.lists(st.sampled_from([None, "董事", "经理"]), min_size=n, max_size=n)),
                pa.string(),
            ),
        }
    )
    extra = draw(st.lists(st.one_of(st.none(), IDS), max_size=4))
    return TieRows(pa.array(known, pa.string()), table), extra


@given(tie_rows())
@settings(max_examples=150, deadline=None)
def test_coded_ties_are_the_coded_named_rows(case: tuple[TieRows, list[str | None]]) -> None:
    ties, extra = case
    named = ties.named()
    # Each end is its own id, else the known id at its place (null where that is null).
    known = ties.known.to_pylist()
    for row, at, own in zip(
        named.to_pylist(),
        ties.table["src_at"].to_pylist(),
        ties.table["src"].to_pylist(),
        strict=True,
    ):
        assert row["src"] == (own if at is None else known[at])
    # Rows with a null end are the caller's to drop (read_ties never returns them).
    keep = pc.and_(pc.is_valid(named["src"]), pc.is_valid(named["dst"]))
    ties = TieRows(ties.known, ties.table.filter(keep))
    named = named.filter(keep)
    want = EdgeCodes.from_rows(named, [pa.array(extra, pa.string())], RELATIONS)
    # In two threads (the ends' ids hashed in two groups) or one.
    for concurrent in (True, False):
        got = EdgeCodes.from_rows(ties, [pa.array(extra, pa.string())], RELATIONS, concurrent)
        # The same dictionary (no known id that no tie names), codes, order and shares.
        assert got.ids.equals(want.ids)
        for name in ("src", "dst", "relation", "role"):
            assert np.array_equal(getattr(got, name), getattr(want, name))
            assert getattr(got, name).dtype == getattr(want, name).dtype
        assert np.array_equal(got.share, want.share, equal_nan=True)
        assert np.array_equal(got.extra[0], want.extra[0])
        assert got.relations == want.relations and got.roles == want.roles
        assert got.table().equals(want.table())


# The queries of edge_rows before read_ties: canonical ids as strings, one per tie.
STRING_TIES = """
    WITH code_map AS (
        SELECT key, canonical_id, key_kind = 'credit_code' AS credit FROM resolved_link
        WHERE key_kind IN ('credit_code', 'branch_code')
    ), person_map AS (
        SELECT key, canonical_id FROM resolved_link WHERE key_kind = 'person_id'
    )
    SELECT * FROM (
        SELECT CASE WHEN s.owner_kind = 'person'
                    THEN coalesce(p.canonical_id, 'raw:person:' || s.owner_id)
                    ELSE coalesce(o.canonical_id, 'ent:' || s.owner_id) END AS src,
               coalesce(b.canonical_id, 'ent:' || s.asset_credit_code) AS dst,
               'shareholding' AS relation, s.share_percent / 100.0 AS share, NULL AS role
        FROM shareholding s
        LEFT JOIN code_map b ON b.key = s.asset_credit_code
        LEFT JOIN person_map p ON p.key = s.owner_id
        LEFT JOIN (SELECT key, canonical_id FROM code_map WHERE credit) o ON o.key = s.owner_id
        WHERE s.end_date IS NULL OR s.end_date > DATE '{today}'
        UNION ALL
        SELECT CASE WHEN f.officer_kind = 'person'
                    THEN coalesce(p.canonical_id, 'raw:person:' || f.officer_id)
                    ELSE 'ent:' || f.officer_id END,
               coalesce(b.canonical_id, 'ent:' || f.credit_code), 'officer', NULL, f.role
        FROM officer f
        LEFT JOIN code_map b ON b.key = f.credit_code
        LEFT JOIN person_map p ON p.key = f.officer_id
        WHERE f.end_date IS NULL OR f.end_date > DATE '{today}'
        UNION ALL
        SELECT coalesce(b.canonical_id, 'ent:' || c.credit_code), 'phone:' || c.phone,
               'phone', NULL, NULL
        FROM phone_contact c LEFT JOIN code_map b ON b.key = c.credit_code
    ) WHERE src IS NOT NULL AND dst IS NOT NULL
"""


def test_read_ties_gives_the_string_rows(resolved_city: ResolvedCity) -> None:
    con = resolved_city.ws.lake.connect()
    today = now().astimezone(CHINA_TZ).date()
    try:
        want = con.sql(STRING_TIES.format(today=today.isoformat())).to_arrow_table()
        ties = read_ties(con, today)
    finally:
        con.close()
    assert ties.table["src_at"].null_count < ties.table.num_rows  # canonical ids by place
    named = ties.named().to_pylist()
    got = sorted(
        (r["src"], r["dst"], RELATIONS[r["relation"]], r["share"], r["role"])
        for r in named
        if RELATIONS[r["relation"]] in ("shareholding", "officer", "phone")
    )
    assert got == sorted(tuple(r.values()) for r in want.to_pylist())
    assert {RELATIONS[r["relation"]] for r in named} >= {"address", "server_ip"}


def test_graph_in_two_threads_is_the_graph_in_one(resolved_city: ResolvedCity) -> None:
    ws = resolved_city.ws
    first = resolved_city.graph
    assert {"contagion_task", "contagion", "total"} <= set(first.seconds)
    assert first.cpu_seconds["contagion_task"] >= 0
    con = ws.lake.connect()
    try:
        before = {t: con.sql(f"SELECT * FROM {t}").to_arrow_table() for t in TABLES}
    finally:
        con.close()

    # One thread: the contact keys, then the edge queries; contagion after signals.
    sequential = load_settings().model_copy(update={"concurrent": False})
    report = service.build_graph(ws, settings=sequential)
    assert report.counts == first.counts
    con = ws.lake.connect()
    try:
        for table, rows in before.items():
            assert con.sql(f"SELECT * FROM {table}").to_arrow_table().equals(rows), table
    finally:
        con.close()


TABLES = (
    "graph_edge",
    "graph_holding",
    "graph_controller",
    "graph_group",
    "graph_signal",
    "graph_contagion",
)


def test_inline_executor_runs_at_once() -> None:
    assert load_settings().concurrent
    ran: list[int] = []
    with second_thread(False, "test") as pool:
        done = pool.submit(ran.append, 1)
        assert ran == [1] and done.done()
        failed = pool.submit(lambda: 1 // 0)
    with pytest.raises(ZeroDivisionError):
        failed.result()


@given(st.integers(1, 50).flatmap(lambda n: st.tuples(st.just(n), st.lists(st.integers(0, n - 1)))))
@settings(max_examples=100, deadline=None)
def test_stable_order_is_the_stable_argsort(case: tuple[int, list[int]]) -> None:
    n, values = case
    array = np.asarray(values, dtype=np.int64)
    assert np.array_equal(stable_order(array, n), np.argsort(array, kind="stable"))
    # Too wide to pack: numpy's stable argsort itself.
    assert np.array_equal(stable_order(array, 1 << 62), np.argsort(array, kind="stable"))
