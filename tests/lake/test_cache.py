"""Reading the lake through version ends gives what the window over every row gives.

A read joins the batch files to the *version ends* of records that have several rows
(re-sent unchanged, or replaced). ``Lake.materialise`` writes those ends once per
generation of a table's batch files; a new batch makes them stale (derived in the query
again) until materialised anew. In every state the views equal the definition: the window
functions over all rows (``Lake._window_sql``).
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from fengyan.clock import CHINA_TZ
from fengyan.ingest.service import ingest_path, written_tables
from fengyan.lake import Lake
from fengyan.lake.store import CACHE_DIR
from fengyan.workspace import Workspace
from tests.ingest.builders import ingest, registry_row, write_registry

MOMENTS = [None, datetime(2024, 2, 15, tzinfo=CHINA_TZ), datetime(2024, 4, 1, tzinfo=CHINA_TZ)]
Snapshot = dict[str, tuple[str, list[str]]]


def _rows(table: pa.Table) -> tuple[str, list[str]]:
    return str(table.schema), sorted(repr(sorted(r.items())) for r in table.to_pylist())


def _views(lake: Lake) -> Snapshot:
    """Schema and sorted rows of the current and versions views at each moment."""
    out = {}
    for at in MOMENTS:
        con = lake.connect(at)
        try:
            for view in ("enterprise", "enterprise__versions"):
                out[f"{view}@{at}"] = _rows(con.sql(f'SELECT * FROM "{view}"').to_arrow_table())
        finally:
            con.close()
    return out


def _definition(lake: Lake) -> Snapshot:
    """The same from the window over every row of the batch files."""
    window = lake._window_sql("enterprise", lake.files("enterprise"))
    out = {}
    con = duckdb.connect()
    try:
        for at in MOMENTS:
            ts = f"TIMESTAMPTZ '{at.isoformat()}'" if at else None
            if ts is None:
                current = f"SELECT * FROM ({window}) WHERE _valid_to IS NULL"
                versions = window
            else:
                current = (
                    f"SELECT * FROM ({window}) WHERE _valid_from <= {ts} "
                    f"AND (_valid_to IS NULL OR _valid_to > {ts})"
                )
                versions = (
                    f"SELECT * REPLACE (CASE WHEN _valid_to > {ts} THEN NULL ELSE _valid_to "
                    f"END AS _valid_to) FROM ({window}) WHERE _valid_from <= {ts}"
                )
            out[f"enterprise@{at}"] = _rows(con.sql(current).to_arrow_table())
            out[f"enterprise__versions@{at}"] = _rows(con.sql(versions).to_arrow_table())
    finally:
        con.close()
    return out


def _send(ws: Workspace, folder: Path, as_of: str, rows: list[dict[str, str]]) -> None:
    path, mapping = write_registry(folder, rows)
    ingest(ws, path, mapping=mapping, as_of=as_of)


def _uses_cache(lake: Lake) -> bool:
    return f"/{CACHE_DIR}/" in lake.versions_sql("enterprise")


def test_version_ends_read_as_the_window_and_go_stale(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    ws, lake = sqlite_workspace, sqlite_workspace.lake
    # January: firms 0–3. March: 0 renamed, 1 recapitalised, 2 re-sent unchanged, 5 new.
    _send(ws, tmp_path / "jan", "2024-01-31", [registry_row(i) for i in range(4)])
    march = [registry_row(0, name="深圳市鹏润数字科技有限公司"), registry_row(1, capital="8000")]
    _send(ws, tmp_path / "mar", "2024-03-31", [*march, registry_row(2), registry_row(5)])

    assert lake.cache_file("enterprise") is None and not _uses_cache(lake)
    derived = _views(lake)
    assert derived == _definition(lake)
    assert len(derived["enterprise@None"][1]) == 5
    assert len(derived["enterprise__versions@None"][1]) == 7  # 4 + 2 changes + 1 new

    made = lake.materialise(["enterprise", "no_such_table"])
    assert set(made) == {"enterprise"} and lake.cache_file("enterprise") == made["enterprise"]
    ends = pa.parquet.read_table(made["enterprise"]).to_pylist()
    # Rows of firms 0, 1 (two versions each) and 2 (one version, one unchanged repeat).
    assert len(ends) == 6 and sum(not r["_keep"] for r in ends) == 1
    assert _uses_cache(lake)
    assert _views(lake) == derived
    assert lake.read("enterprise").num_rows == lake.count("enterprise") == 5
    assert lake.materialise(["enterprise"]) == made  # already there: left alone

    # A lake copied elsewhere still reads its version ends (they name files, not paths).
    moved = Lake(tmp_path / "moved")
    shutil.copytree(lake.root, moved.root)
    assert _uses_cache(moved) and _views(moved) == derived

    # A new batch: the ends no longer match the files and are not used …
    _send(ws, tmp_path / "may", "2024-05-31", [registry_row(3, capital="9000")])
    assert lake.cache_file("enterprise") is None and not _uses_cache(lake)
    fresh = _views(lake)
    assert fresh != derived and fresh == _definition(lake)
    # … until materialised again, which gives the same answers.
    again = lake.materialise()
    assert again["enterprise"] != made["enterprise"] and _uses_cache(lake)
    assert _views(lake) == fresh
    # The previous generation is kept for readers that still have it open; older ones go.
    _send(ws, tmp_path / "jun", "2024-06-30", [registry_row(6)])
    third = lake.materialise()["enterprise"]
    kept = sorted(p.name for p in third.parent.glob("*.parquet"))
    assert kept == sorted([again["enterprise"].name, third.name])
    assert _views(lake) == _definition(lake)


def test_an_unwritable_lake_is_read_without_version_ends(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    ws, lake = sqlite_workspace, sqlite_workspace.lake
    _send(ws, tmp_path / "jan", "2024-01-31", [registry_row(i) for i in range(3)])
    _send(ws, tmp_path / "mar", "2024-03-31", [registry_row(0, capital="9000")])
    (lake.root / CACHE_DIR).write_text("not a folder")  # nothing can be written under it
    assert lake.materialise() == {}
    assert not _uses_cache(lake) and _views(lake) == _definition(lake)


def test_ingest_writes_the_version_ends_of_the_tables_it_wrote(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    ws, lake = sqlite_workspace, sqlite_workspace.lake
    jan, jan_mapping = write_registry(tmp_path / "jan", [registry_row(i) for i in range(3)])
    reports = ingest_path(ws, jan, "Enterprise", "市场监管局", mapping=jan_mapping)
    assert written_tables(reports) == ["enterprise"]
    assert lake.cache_file("enterprise") is not None and _uses_cache(lake)

    # A caller ingesting several deliveries materialises once, after the last.
    rows = [registry_row(0, capital="9000"), registry_row(1)]
    mar, mar_mapping = write_registry(tmp_path / "mar", rows)
    later = ingest_path(
        ws, mar, "Enterprise", "市场监管局", mapping=mar_mapping, as_of="2024-03-31",
        versions=False,
    )  # fmt: skip
    assert lake.cache_file("enterprise") is None and not _uses_cache(lake)
    assert set(lake.materialise(written_tables(later))) == {"enterprise"}
    assert _uses_cache(lake) and _views(lake) == _definition(lake)


def test_a_killed_writers_temporary_file_is_removed(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    ws, lake = sqlite_workspace, sqlite_workspace.lake
    _send(ws, tmp_path / "jan", "2024-01-31", [registry_row(i) for i in range(3)])
    folder = lake.root / CACHE_DIR / "enterprise"
    folder.mkdir(parents=True)
    dead = folder / ".0123.4194305.tmp"  # above Linux's largest pid: no such process
    live = folder / f".0123.{os.getpid()}.tmp"  # a writer still at work
    dead.write_bytes(b"half")
    live.write_bytes(b"half")
    lake.materialise()
    assert not dead.exists() and live.exists()
    assert lake.cache_file("enterprise") is not None
