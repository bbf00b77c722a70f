"""The node dictionary: codes round-trip to ids, code order is id order, and the coded
edges and groups are the rows the string queries gave."""

from __future__ import annotations

from unittest import mock

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fengyan.graph import build, nodes
from fengyan.graph.build import EDGE_SCHEMA, RELATIONS, EdgeCodes
from fengyan.graph.config import GroupSettings
from fengyan.graph.groups import group_codes, group_edge_codes, group_edges, groups
from fengyan.graph.nodes import codes_of, decode, decode_lists, node_index, prefix_range
from fengyan.threads import second_thread

IDS = st.text(alphabet="abc:企业é\u00e9\U0001f600", max_size=6)


@given(st.lists(st.lists(st.one_of(st.none(), IDS), max_size=30), min_size=1, max_size=3))
@settings(max_examples=200, deadline=None)
def test_codes_round_trip(columns: list[list[str | None]]) -> None:
    arrays = [pa.array(c, pa.string()) for c in columns]
    ids, codes = node_index(*arrays)
    values = ids.to_pylist()
    # Sorted (byte order, as DuckDB and Arrow sort strings), distinct, every value once.
    assert values == sorted(set(values), key=lambda v: v.encode())
    assert set(values) == {v for c in columns for v in c if v is not None}
    for column, code in zip(columns, codes, strict=True):
        assert code.dtype == np.int32
        assert decode(ids, code).to_pylist() == column
        assert [c == -1 for c in code.tolist()] == [v is None for v in column]
        present = pa.array([v for v in column if v is not None], pa.string())
        assert codes_of(ids, present).tolist() == [c for c in code.tolist() if c >= 0]
    # Code order is id order.
    flat = [(c, v) for column, code in zip(columns, codes, strict=True)
            for c, v in zip(code.tolist(), column, strict=True) if v is not None]  # fmt: skip
    assert sorted(flat) == sorted(flat, key=lambda cv: cv[1].encode())


# Ids of a few kinds (prefixes), so that groups of columns share values, hold disjoint
# kinds or interleave, as the case may be.
KIND_IDS = st.builds(
    lambda kind, key: kind + key,
    st.sampled_from(["", "a:", "b:", "é:"]),
    st.one_of(st.text(alphabet="ab", max_size=2), IDS),  # short keys: often in both groups
)


@st.composite
def columns(draw: st.DrawFn) -> list[pa.Array | pa.ChunkedArray]:
    """String columns: arrays, chunked arrays (some with no chunks, or empty ones), with
    nulls."""
    out: list[pa.Array | pa.ChunkedArray] = []
    for values in draw(st.lists(st.lists(st.one_of(st.none(), KIND_IDS), max_size=20), max_size=4)):
        array = pa.array(values, pa.string())
        cut = draw(st.integers(0, len(values)))
        out.append(
            draw(
                st.sampled_from(
                    [
                        array,
                        pa.chunked_array([array.slice(0, cut), array.slice(cut)], pa.string()),
                        pa.chunked_array([array] if len(array) else [], pa.string()),
                    ]
                )
            )
        )
    return out


@given(columns(), st.data())
@settings(max_examples=300, deadline=None)
def test_two_groups_are_one(cols: list[pa.Array | pa.ChunkedArray], data: st.DataObject) -> None:
    # Hashed and sorted in two groups — in two threads or one, merged by runs or, beyond
    # a few runs, hashed together again — the dictionary and codes of one group.
    beside = [i for i in range(len(cols)) if data.draw(st.booleans())]
    max_runs = data.draw(st.sampled_from([0, 1, 3, nodes._MAX_RUNS]))
    concurrent = data.draw(st.booleans())
    want_ids, want = node_index(*cols)
    with mock.patch.object(nodes, "_MAX_RUNS", max_runs), second_thread(concurrent, "t") as pool:
        got_ids, got = node_index(*cols, beside=beside, pool=pool)
    assert got_ids.equals(want_ids)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype == np.int32
        assert np.array_equal(g, w)


def test_merge_by_runs() -> None:
    # Kinds that interleave as a few runs are merged run by run; a value both groups hold
    # gets one code.
    first = pa.array(["ent:1", "ent:2", "per:1", "per:2", "phone:1"])
    second = pa.array(["addr:1", "email:1", "ip:1", "phone:1", "phone:2"])
    merged = nodes._merge(first, second)
    assert merged is not None
    ids, (one, two) = merged
    want = sorted(set(first.to_pylist()) | set(second.to_pylist()))
    assert ids.to_pylist() == want
    assert one.tolist() == [want.index(v) for v in first.to_pylist()]
    assert two.tolist() == [want.index(v) for v in second.to_pylist()]
    # Interleaved value by value: too many runs, so the two are hashed together instead.
    odd = pa.array([f"ent:{i:04d}" for i in range(1, 4000, 2)])
    even = pa.array([f"ent:{i:04d}" for i in range(0, 4000, 2)])
    assert nodes._merge(odd, even) is None
    ids, (a, b) = nodes._merge_by_hash(odd, even)
    assert ids.to_pylist() == [f"ent:{i:04d}" for i in range(4000)]
    assert a.tolist() == list(range(1, 4000, 2)) and b.tolist() == list(range(0, 4000, 2))
    # Empty groups.
    empty = pa.array([], pa.string())
    merged = nodes._merge(empty, empty)
    assert merged is not None
    assert len(merged[0]) == 0 and [len(c) for c in merged[1]] == [0, 0]
    merged = nodes._merge(empty, first)
    assert merged is not None
    ids, (none, every) = merged
    assert ids.equals(first) and none.tolist() == [] and every.tolist() == list(range(5))


def test_chunked_columns_and_absent_values() -> None:
    chunked = pa.chunked_array([pa.array(["per:b", "ent:a"]), pa.array(["ent:a", "phone:1"])])
    ids, (codes,) = node_index(chunked)
    assert ids.to_pylist() == ["ent:a", "per:b", "phone:1"]
    assert codes.tolist() == [1, 0, 0, 2]
    assert codes_of(ids, pa.array(["ent:z", "phone:1"])).tolist() == [-1, 2]
    assert prefix_range(ids, "ent:") == (0, 1)
    assert prefix_range(ids, "p") == (1, 3)
    assert prefix_range(ids, "grp:") == (0, 0)
    empty, (none,) = node_index(pa.array([], pa.string()))
    assert len(empty) == 0 and len(none) == 0


def test_decode_lists_keeps_nulls() -> None:
    ids = pa.array(["a", "b", "c"])
    lists = pa.chunked_array([pa.array([[0, 2], None]), pa.array([[1, None], []])])
    assert decode_lists(ids, lists).to_pylist() == [["a", "c"], None, ["b", None], []]
    sliced = pa.array([[0], [1, 2], [2]]).slice(1, 2)
    assert decode_lists(ids, sliced).to_pylist() == [["b", "c"], ["c"]]


def _random_edges(seed: int, m: int = 400) -> pa.Table:
    rng = np.random.default_rng(seed)
    nodes = [f"ent:{i:03d}" for i in range(40)] + [f"per:{i:02d}" for i in range(25)]
    nodes += [f"phone:{i}" for i in range(8)]
    relation = rng.choice(["shareholding", "officer", "phone", "address"], m)
    share = np.where(relation == "shareholding", rng.integers(0, 5, m) / 4, np.nan)
    share[rng.random(m) < 0.1] = np.nan  # holdings without a share
    posts = rng.choice(["法定代表人", "监事", "董事"], m)
    role = [p if r == "officer" else None for r, p in zip(relation, posts, strict=True)]
    return pa.table(
        {
            "src": rng.choice(nodes, m),
            "dst": rng.choice(nodes[:40], m),
            "relation": relation,
            "share": pa.array(share, mask=np.isnan(share)),
            "role": pa.array(role, pa.string()),
        },
        schema=EDGE_SCHEMA,
    )


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("key_bits", [63, 0])  # 0: the column-by-column sort
@pytest.mark.parametrize("concurrent", [True, False])
def test_coded_edges_are_the_grouped_rows(
    seed: int, key_bits: int, concurrent: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build, "_KEY_BITS", key_bits)
    raw = _random_edges(seed)
    con = duckdb.connect()
    con.register("raw", raw)
    # The query load_edges ran before the codes: group by the tie, largest share.
    want = con.sql(
        """SELECT src, dst, relation, max(share) AS share, role FROM raw
           GROUP BY src, dst, relation, role ORDER BY relation, src, dst, role"""
    ).to_arrow_table()
    got = EdgeCodes.from_rows(raw, [pa.array(["ent:zzz"])], concurrent=concurrent)
    table = got.table()
    assert table.schema == EDGE_SCHEMA
    # Ordered by relation, src, dst; the role breaks ties (DuckDB's order of roles then).
    key = ["relation", "src", "dst"]
    assert table.select(key).to_pylist() == want.select(key).to_pylist()
    assert sorted(table.to_pylist(), key=str) == sorted(want.to_pylist(), key=str)
    # … then by role (none first): the same order on every run.
    rows = table.to_pylist()
    order = [(r["relation"], r["src"], r["dst"], r["role"] is not None, r["role"]) for r in rows]
    assert order == sorted(order, key=lambda k: (*k[:4], k[4] or ""))
    assert "ent:zzz" in got.ids.to_pylist()


@pytest.mark.parametrize("seed", range(4))
def test_coded_groups_are_the_groups(seed: int) -> None:
    raw = _random_edges(seed, 120)
    rng = np.random.default_rng(seed)
    # Firms tied to nobody too; as build_graph does, they join the node dictionary.
    firms = sorted({f"ent:{i:03d}" for i in rng.integers(0, 45, 30)} | {"ent:lonely"})
    edges = EdgeCodes.from_rows(raw, [pa.array(firms)])
    table = edges.table()
    # Controllers are nodes of the graph (they come from its edges).
    control = pa.table(
        {"firm_id": [firms[0], firms[1]], "controller_id": [table["src"][0].as_py(), None]}
    )
    rules = GroupSettings(
        relations=("control", "key_person", "phone", "address"),
        key_person_roles=("法定代表人",),
        max_firms={"phone": 3, "address": 4, "key_person": 5},
    )
    want = groups(group_edges(table, control, rules), firms)
    controller = codes_of(edges.ids, control["controller_id"])
    coded_control = pa.table(
        {
            "firm_id": codes_of(edges.ids, control["firm_id"]),
            "controller_id": pa.array(controller, mask=controller < 0),
        }
    )
    got = group_codes(
        edges.ids,
        group_edge_codes(edges, coded_control, rules),
        codes_of(edges.ids, pa.array(firms)),
    )
    assert got.to_pylist() == want.to_pylist()


def test_few_values_are_found_among_many_ids() -> None:
    ids, _ = node_index(pa.array([f"ent:{i:03d}" for i in range(100)]))
    values = pa.chunked_array([pa.array(["ent:007", None, "ent:zzz"]), pa.array(["ent:007"])])
    assert codes_of(ids, values).tolist() == [7, -1, -1, 7]
    assert codes_of(ids, pa.array([], pa.string())).tolist() == []


def test_no_edges() -> None:
    empty = pa.table(
        {
            "src": pa.array([], pa.string()),
            "dst": pa.array([], pa.string()),
            "relation": pa.array([], pa.int8()),
            "share": pa.array([], pa.float64()),
            "role": pa.array([], pa.string()),
        }
    )
    edges = EdgeCodes.from_rows(empty, [pa.array(["ent:a"])], RELATIONS)
    assert edges.num_rows == 0 and edges.ids.to_pylist() == ["ent:a"]
    assert edges.extra[0].tolist() == [0]
    assert edges.table().num_rows == 0 and edges.table().schema == EDGE_SCHEMA


def test_null_ends_keep_their_relation() -> None:
    # A null end cannot go into a one-integer key (its code, -1, would overwrite the other
    # fields): such rows are sorted column by column, and ties of two relations stay two.
    raw = pa.table(
        {
            "src": pa.array([None, None, "ent:a"], pa.string()),
            "dst": ["ent:b", "ent:b", "ent:b"],
            "relation": ["officer", "shareholding", "officer"],
            "share": pa.array([None, 0.5, None], pa.float64()),
            "role": pa.array([None, None, None], pa.string()),
        }
    )
    edges = EdgeCodes.from_rows(raw)
    assert edges.table().to_pylist() == [
        {"src": None, "dst": "ent:b", "relation": "officer", "share": None, "role": None},
        {"src": "ent:a", "dst": "ent:b", "relation": "officer", "share": None, "role": None},
        {"src": None, "dst": "ent:b", "relation": "shareholding", "share": 0.5, "role": None},
    ]
