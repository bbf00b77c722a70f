"""Hub contact points tie nobody into a group; groups of an empty graph."""

from __future__ import annotations

import pyarrow as pa

from fengyan.graph.config import GroupSettings
from fengyan.graph.groups import group_edges, groups

SETTINGS = GroupSettings(
    relations=("phone", "address", "control", "key_person"),
    key_person_roles=("法定代表人",),
    max_firms={"phone": 10, "address": 10},
)
EDGE_SCHEMA = pa.schema(
    [
        ("src", pa.string()),
        ("dst", pa.string()),
        ("relation", pa.string()),
        ("share", pa.float64()),
        ("role", pa.string()),
    ]
)
CONTROL = pa.table(
    {"firm_id": pa.array([], pa.string()), "controller_id": pa.array([], pa.string())}
)


def _phone_edges(n_firms: int, phone: str) -> pa.Table:
    # Contact ties run firm → contact point, as graph.build writes them.
    firms = [f"ent:{phone}-{i:02d}" for i in range(n_firms)]
    return pa.table(
        {
            "src": firms,
            "dst": [f"phone:{phone}"] * n_firms,
            "relation": ["phone"] * n_firms,
            "share": [None] * n_firms,
            "role": [None] * n_firms,
        },
        schema=EDGE_SCHEMA,
    )


def _group_sizes(edges: pa.Table) -> dict[str, int]:
    ties = group_edges(edges, CONTROL, SETTINGS)
    firms = sorted(set(edges["src"].to_pylist()))
    out = groups(ties, firms)
    return dict(zip(out["firm_id"].to_pylist(), out["group_size"].to_pylist(), strict=True))


def test_phone_shared_by_few_firms_makes_a_group() -> None:
    sizes = _group_sizes(_phone_edges(4, "small"))
    assert set(sizes.values()) == {4}


def test_phone_above_the_cap_ties_nobody() -> None:
    edges = pa.concat_tables([_phone_edges(12, "agent"), _phone_edges(3, "real")])
    sizes = _group_sizes(edges)
    assert [sizes[f"ent:agent-{i:02d}"] for i in range(12)] == [1] * 12
    assert [sizes[f"ent:real-{i:02d}"] for i in range(3)] == [3] * 3


def test_no_firms_no_ties() -> None:
    empty = group_edges(EDGE_SCHEMA.empty_table(), CONTROL, SETTINGS)
    assert groups(empty, []).num_rows == 0
