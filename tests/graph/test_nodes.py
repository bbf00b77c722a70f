"""The node dictionary: codes round-trip to ids, code order is id order, and the coded
edges and groups are the rows the string queries gave."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fengyan.graph import build
from fengyan.graph.build import EDGE_SCHEMA, RELATIONS, EdgeCodes
from fengyan.graph.config import GroupSettings
from fengyan.graph.groups import group_codes, group_edge_codes, group_edges, groups
from fengyan.graph.nodes import codes_of, decode, decode_lists, node_index, prefix_range

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
def test_coded_edges_are_the_grouped_rows(
    seed: int, key_bits: int, monkeypatch: pytest.MonkeyPatch
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
    got = EdgeCodes.from_rows(raw, [pa.array(["ent:zzz"])])
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
