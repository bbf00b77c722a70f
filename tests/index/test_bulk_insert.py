"""The SQLite fast path of ``bulk_insert`` stores exactly what an ORM insert stores."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import insert, text

from fengyan.db.models import Base
from fengyan.index import publish
from fengyan.index.publish import WARNING_COLUMNS, bulk_insert
from fengyan.settings import Settings
from fengyan.workspace import Workspace


def _ws(home: Path) -> Workspace:
    ws = Workspace(
        Settings(
            home=home,
            lake_dir=home / "lake",
            database_url=f"sqlite:///{home / 'db'}",
            chunk_rows=1000,
            pseudonym_key_env="test-key",
        )
    )
    ws.init()
    return ws


def _rows(n: int) -> pa.Table:
    at = datetime(2024, 6, 30, 15, 4, 5, 123456, tzinfo=UTC)
    return pa.table(
        {
            "run_id": pa.array([1] * n, pa.int64()),
            "model": ["dolphin-v1"] * n,
            "firm_id": [f"ent:{i:03d}" for i in range(n)],
            "change": ["new", "escalated", "cleared"] * (n // 3) + ["new"] * (n % 3),
            "grade": ["red"] * n,
            "previous_grade": ["none"] * n,
            "score": pa.array([80.25 + i / 7 for i in range(n)], pa.float64()),
            "previous_score": pa.array([None if i % 2 else i / 3 for i in range(n)], pa.float64()),
            "region_code": [None if i % 5 == 0 else "440305" for i in range(n)],
            "created_at": pa.array([at] * n, pa.timestamp("us", tz="UTC")),
        }
    )


def _stored(ws: Workspace) -> list[tuple[object, ...]]:
    with ws.engine.connect() as conn:
        sql = 'SELECT * FROM "warning" ORDER BY firm_id'
        return [tuple(r) for r in conn.execute(text(sql)).all()]


def test_sqlite_fast_path_equals_orm_insert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _rows(25)
    fast, orm = _ws(tmp_path / "fast"), _ws(tmp_path / "orm")
    with fast.engine.connect() as conn, conn.begin():
        conn.execute(text("INSERT INTO score_run (id, as_of, models, started_at, firms, counts,"
                          " fengyan_version) VALUES (1, '2024-06-30 00:00:00.000000', '[]',"
                          " '2024-06-30 00:00:00.000000', 0, '{}', 'x')"))  # fmt: skip
        # Several executemany batches, the last one short.
        monkeypatch.setattr(publish, "BATCH_ROWS", 10)
        assert bulk_insert(conn, "warning", rows, WARNING_COLUMNS) == 25
    with orm.engine.connect() as conn, conn.begin():
        conn.execute(text("INSERT INTO score_run (id, as_of, models, started_at, firms, counts,"
                          " fengyan_version) VALUES (1, '2024-06-30 00:00:00.000000', '[]',"
                          " '2024-06-30 00:00:00.000000', 0, '{}', 'x')"))  # fmt: skip
        conn.execute(
            insert(Base.metadata.tables["warning"]), rows.select(WARNING_COLUMNS).to_pylist()
        )
    stored = _stored(fast)
    assert stored == _stored(orm)
    assert len(stored) == 25
    assert stored[1][3] == "ent:001" and stored[1][-1] is not None
