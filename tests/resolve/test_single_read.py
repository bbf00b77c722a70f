"""The faster paths give what the plain ones give: one read of the register, fewer
person records through the model."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from fengyan.resolve import scoring
from fengyan.resolve.batch import address_keys, fold_many
from fengyan.resolve.config import load_settings
from fengyan.resolve.persons import _comparable, load_persons
from fengyan.resolve.registry import _READ, materialise_register

from .conftest import ResolvedCity


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    return sorted(con.sql(sql).fetchall(), key=repr)


def test_materialised_register_reads_as_the_lake_views(resolved_city: ResolvedCity) -> None:
    con = resolved_city.ws.lake.connect()
    try:
        queries = {
            table: f"SELECT {', '.join(cols)} FROM {table}"
            for base, cols in _READ.items()
            for table in (base, f"{base}__versions")
        }
        before = {t: _rows(con, q) for t, q in queries.items()}
        assert len(before["enterprise"]) > 1000
        assert len(before["enterprise__versions"]) > len(before["enterprise"])
        materialise_register(con)
        materialise_register(con)  # idempotent
        kinds = dict(
            con.execute(
                "SELECT table_name, table_type FROM information_schema.tables "
                "WHERE table_catalog = 'temp'"
            ).fetchall()
        )
        assert kinds["enterprise__versions"] == "LOCAL TEMPORARY"
        assert {t: _rows(con, q) for t, q in queries.items()} == before
    finally:
        con.close()


def test_person_model_sees_only_comparable_records() -> None:
    # r1/r2: hashed namesakes (never compared with each other); r3 has no hash and shares
    # r1's phone; r4 is hashed and shares nothing with a record lacking one.
    left = pa.table(
        {
            "unique_id": ["r1", "r2", "r3", "r4", "r5"],
            "id_hash": ["h1", "h2", None, "h4", None],
            "phones": [["+861"], ["+862"], ["+861"], ["+864"], None],
            "phone1": ["+861", "+862", "+861", "+864", None],
            "region": ["440305"] * 5,
            "name_key": ["张三", "张三", "张叁", "李四", "王五"],
            "room_key": [None, None, None, "x|1号|a|1", "x|1号|a|2"],
            "building_key": [None, None, None, "x|1号|a", "x|1号|a"],
        },
        schema=pa.schema(
            [
                ("unique_id", pa.string()),
                ("id_hash", pa.string()),
                ("phones", pa.list_(pa.string())),
                ("phone1", pa.string()),
                ("region", pa.string()),
                ("name_key", pa.string()),
                ("room_key", pa.string()),
                ("building_key", pa.string()),
            ]
        ),
    )
    kept = _comparable(left)
    assert kept["unique_id"].to_pylist() == ["r1", "r3", "r5"]
    model = load_settings().person.splink

    def pairs(table: pa.Table) -> list[tuple[str, str, float]]:
        out = scoring.score_pairs(model, table, None, 0.2, 0.0)
        cols = ("unique_id_l", "unique_id_r", "match_weight")
        return sorted(zip(*(out[c].to_pylist() for c in cols), strict=True))

    assert pairs(kept) == pairs(left)
    assert [p[:2] for p in pairs(kept)] == [("r1", "r3")]


def _person_lake(
    rows: list[tuple[str, str, str | None, list[str] | None, str, str]],
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        """CREATE TABLE person (person_id VARCHAR, name VARCHAR, id_number_hash VARCHAR,
                                phone VARCHAR[], address VARCHAR, region_code VARCHAR)"""
    )
    con.executemany("INSERT INTO person VALUES (?, ?, ?, ?, ?, ?)", rows)
    return con


# Streets of two districts; full-width digits and spaces fold to the same keys.
PERSONS = [
    ("p1", "张三", "h1", ["+861"], "深圳市南山区科技路8号A座101", "440305001"),
    ("p2", "张叁", None, ["+862"], "深圳市南山区科技路８号A座 101", "440305001"),
    ("p3", "李四", "h3", ["+863"], "深圳市南山区科技路8号A座102", "440305001"),
    ("p4", "王五", "h4", ["+864"], "深圳市福田区福华路1号B座9", "440304002"),
    ("p5", "张叁", "h5", ["+865"], "深圳市福田区福华路2号C座1", "440304002"),
    ("p6", "赵六", "h6", ["+862"], "深圳市福田区福华路3号", "440304002"),
    ("p7", "钱七", None, None, "北京市朝阳区建国路9号", "110105"),
]


def test_person_keys_only_for_records_that_can_be_paired() -> None:
    con = _person_lake(PERSONS)
    try:
        records = load_persons(con)
    finally:
        con.close()
    # The reference: every row's keys, then the model's filter.
    building, room = address_keys(records["address"], records["region"])
    full = records.set_column(
        records.schema.get_field_index("room_key"), "room_key", room
    ).set_column(records.schema.get_field_index("building_key"), "building_key", building)
    full = full.set_column(
        full.schema.get_field_index("name_key"),
        "name_key",
        pa.array(fold_many(full["name"].to_pylist()), pa.string()),
    )
    kept, expected = _comparable(records), _comparable(full)
    # p2 (no hash) shares p1's room, p5's name and p6's phone; p3 only its street; p7 has
    # no hash; p4 shares nothing.
    assert kept["person_id"].to_pylist() == ["p1", "p2", "p5", "p6", "p7"]
    assert kept.equals(expected)
    # p4 is in no pair and in no street of a record without a hash: no address keys.
    at = records["person_id"].to_pylist().index("p4")
    assert records["room_key"][at].as_py() is None


def test_no_person_keys_when_every_record_has_a_hash() -> None:
    con = _person_lake([(*r[:2], r[2] or "h", *r[3:]) for r in PERSONS])
    try:
        records = load_persons(con)
    finally:
        con.close()
    assert records.num_rows == len(PERSONS)
    for column in ("name_key", "room_key", "building_key"):
        assert records[column].null_count == len(PERSONS)
    assert _comparable(records).num_rows == 0
