"""Shell-cluster signals: shared contact points and re-registration, by hand and against SQL."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from fengyan.graph.build import EdgeCodes
from fengyan.graph.config import SignalSettings
from fengyan.graph.nodes import decode
from fengyan.graph.signals import CONTACTS, contact_counts, signals

COLUMNS = [
    "firms_same_building",
    "firms_same_phone",
    "firms_same_email",
    "firms_same_domain",
    "firms_same_server_ip",
]


def _edges(rows: list[tuple[str, str, str, str | None]]) -> pa.Table:
    src, dst, relation, role = zip(*rows, strict=True)
    return pa.table(
        {
            "src": pa.array(src),
            "dst": pa.array(dst),
            "relation": pa.array(relation),
            "share": pa.array([None] * len(rows), pa.float64()),
            "role": pa.array(role, pa.string()),
        }
    )


def _register(con: duckdb.DuckDBPyConnection) -> None:
    """The register's rows the re-registration test reads."""
    con.execute(
        "CREATE TABLE enterprise (credit_code VARCHAR, status VARCHAR, status_date DATE,"
        " established DATE)"
    )
    con.executemany(
        "INSERT INTO enterprise VALUES (?, ?, ?, ?)",
        [
            ("OLD", "注销", date(2024, 3, 1), date(2020, 1, 1)),
            ("NEW", "存续", None, date(2024, 6, 1)),  # 92 days after OLD closed
            ("LATE", "存续", None, date(2026, 1, 1)),  # too late
            ("A", "存续", None, date(2019, 1, 1)),
            ("B", "存续", None, date(2019, 1, 1)),
            ("C", "存续", None, date(2019, 1, 1)),
        ],
    )


def test_signals_of_a_hand_built_city() -> None:
    edges = _edges(
        [
            # A, B and C at one address; A and B on one phone; A alone on its email.
            ("ent:A", "addr:x", "address", None),
            ("ent:B", "addr:x", "address", None),
            ("ent:C", "addr:x", "address", None),
            ("ent:C", "addr:y", "address", None),
            ("ent:A", "phone:1", "phone", None),
            ("ent:B", "phone:1", "phone", None),
            ("ent:A", "email:a", "email", None),
            # One person is the legal representative of OLD, then NEW and LATE.
            ("per:p", "ent:OLD", "officer", "法定代表人"),
            ("per:p", "ent:NEW", "officer", "法定代表人"),
            ("per:p", "ent:LATE", "officer", "法定代表人"),
            ("per:q", "ent:A", "officer", "监事"),  # not a key role
        ]
    )
    con = duckdb.connect()
    _register(con)
    got = signals(con, edges, SignalSettings(reregistration_days=365)).to_pylist()
    rows = {r["firm_id"]: r for r in got}
    assert [r["firm_id"] for r in got] == ["ent:A", "ent:B", "ent:C", "ent:NEW"]
    assert rows["ent:A"] == {
        "firm_id": "ent:A",
        "firms_same_building": 2,
        "firms_same_phone": 1,
        "firms_same_email": 0,
        "firms_same_domain": None,
        "firms_same_server_ip": None,
        "reregistered_from": None,
    }
    # C's second address is its own: the largest count of its addresses is kept.
    assert rows["ent:C"]["firms_same_building"] == 2 and rows["ent:C"]["firms_same_phone"] is None
    assert rows["ent:NEW"]["reregistered_from"] == "ent:OLD"
    assert all(rows["ent:NEW"][c] is None for c in COLUMNS)


def _as_sql(edges: EdgeCodes) -> pa.Table:
    """The contact counts as a ``count(DISTINCT)`` query (the engine's reading of them)."""
    codes = [edges.relation_code(r) for r in CONTACTS]
    wanted = np.isin(edges.relation, np.asarray(codes, dtype=np.int8))
    contact = pa.table(
        {
            "firm_id": edges.src[wanted],
            "point": edges.dst[wanted],
            "relation": edges.relation[wanted],
        }
    )
    filters = ", ".join(
        f"max(others) FILTER (relation = {code}) AS {name}"
        for code, name in zip(codes, COLUMNS, strict=True)
    )
    con = duckdb.connect()
    con.register("contact", contact)
    return con.sql(
        f"""
        WITH sharing AS (
            SELECT point, count(DISTINCT firm_id) - 1 AS others FROM contact GROUP BY point
        )
        SELECT firm_id, {filters} FROM contact JOIN sharing USING (point)
        GROUP BY firm_id ORDER BY firm_id
        """
    ).to_arrow_table()


@pytest.mark.parametrize("seed", range(6))
def test_contact_counts_equal_the_sql_reading(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    kinds = ["address", "phone", "email", "domain", "server_ip", "officer"]
    # A few relations may be absent; a point may be shared across two relations.
    present = [k for k in kinds if rng.random() < 0.8] or ["address"]
    firms = rng.integers(0, max(n // 3, 1), n)
    points = rng.integers(0, max(n // 5, 1), n)
    relation = rng.choice(present, n)
    rows = [
        (
            f"ent:{f}",
            f"per:{p}" if r == "officer" else f"pt:{p}",
            str(r),
            "法定代表人" if r == "officer" else None,
        )
        for f, p, r in zip(firms, points, relation, strict=True)
    ]
    edges = EdgeCodes.from_rows(_edges(rows), concurrent=bool(seed % 2))
    got = contact_counts(edges)
    want = _as_sql(edges)
    assert got.column_names == ["firm_id", *COLUMNS]
    assert got.num_rows == want.num_rows
    assert np.array_equal(got["firm_id"].to_numpy(), want["firm_id"].to_numpy())
    for name in COLUMNS:
        assert got[name].to_pylist() == want[name].to_pylist(), name
    assert decode(edges.ids, got["firm_id"].to_numpy()).to_pylist() == sorted(
        {f"ent:{f}" for f, r in zip(firms, relation, strict=True) if r != "officer"}
    )
