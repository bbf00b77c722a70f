"""Publishing a run to the operational database: one action, one transaction.

:func:`do_publish_run` writes the run row, replaces the published models' current scores,
appends the warning history and the regional summary, and stamps the run finished — all or
nothing. Rows go in as bulk inserts: ``COPY … FROM STDIN`` (CSV written by pyarrow) on
PostgreSQL, the driver's ``executemany`` over column-converted tuples on SQLite; never one
ORM object per firm.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection, Engine, delete, insert, select, update

from fengyan import __version__
from fengyan.clock import now
from fengyan.db.published import FirmScore, GradeWarning, RegionSummary, ScoreRun

FIRM_SCORE_COLUMNS = (
    "model", "firm_id", "run_id", "score", "raw_score", "grade", "previous_grade", "change",
    "coverage", "dimensions", "top", "rules", "name", "credit_code", "region_code",
    "category", "finance_like",
)  # fmt: skip
WARNING_COLUMNS = (
    "run_id", "model", "firm_id", "change", "grade", "previous_grade", "score",
    "previous_score", "region_code", "created_at",
)  # fmt: skip
REGION_COLUMNS = (
    "run_id", "model", "region_code", "level", "firms", "red", "orange", "yellow", "blue",
    "new", "escalated",
)  # fmt: skip


# Rows per executemany call on drivers without COPY (SQLite).
BATCH_ROWS = 100_000


@dataclass(frozen=True)
class PublishedRun:
    """What was written."""

    run_id: int
    firm_scores: int
    warnings: int
    regions: int


def _with_constant(table: pa.Table, name: str, value: Any, type_: pa.DataType) -> pa.Table:
    column = pa.array([value] * table.num_rows, type=type_)
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, column)
    return table.append_column(name, column)


def bulk_insert(conn: Connection, table_name: str, rows: pa.Table, columns: Sequence[str]) -> int:
    """Insert ``rows`` (an Arrow table holding ``columns``) into ``table_name`` in bulk."""
    if rows.num_rows == 0:
        return 0
    rows = rows.select(list(columns))
    if conn.dialect.name == "postgresql":
        buffer = io.BytesIO()
        pacsv.write_csv(rows, buffer, pacsv.WriteOptions(include_header=False))
        cols = ", ".join(f'"{c}"' for c in columns)
        raw = conn.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cur,
            cur.copy(f'COPY "{table_name}" ({cols}) FROM STDIN WITH (FORMAT csv)') as copy,
        ):
            copy.write(buffer.getvalue())
        return int(rows.num_rows)
    from fengyan.db.models import Base

    table = Base.metadata.tables[table_name]
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), rows.to_pylist())
        return int(rows.num_rows)
    # Column-wise: each column converted once by SQLAlchemy's own bind processor (the
    # stored form stays what an ORM insert writes), then the driver's executemany over
    # tuples in large batches; SQLAlchemy's per-row dict handling cost ~150 µs a row.
    values = []
    for name in columns:
        column = rows.column(name).to_pylist()
        processor = table.c[name].type.bind_processor(conn.dialect)
        values.append([processor(v) for v in column] if processor is not None else column)
    placeholders = ", ".join("?" for _ in columns)
    cols = ", ".join(f'"{c}"' for c in columns)
    raw = conn.connection.driver_connection
    assert raw is not None
    statement = f'INSERT INTO "{table_name}" ({cols}) VALUES ({placeholders})'  # noqa: S608
    cursor = raw.cursor()
    try:
        for start in range(0, rows.num_rows, BATCH_ROWS):
            cursor.executemany(
                statement, zip(*(v[start : start + BATCH_ROWS] for v in values), strict=True)
            )
    finally:
        cursor.close()
    return int(rows.num_rows)


def previous_grades(engine: Engine, models: Sequence[str]) -> pa.Table:
    """The published current grades of ``models`` (model, firm_id, grade, score)."""
    with engine.connect() as conn:
        result = conn.execute(
            select(FirmScore.model, FirmScore.firm_id, FirmScore.grade, FirmScore.score).where(
                FirmScore.model.in_(list(models))
            )
        ).all()
    columns: list[tuple[Any, ...]] = list(zip(*result, strict=True)) if result else [(), (), (), ()]
    return pa.table(
        {
            "model": pa.array(columns[0], pa.string()),
            "firm_id": pa.array(columns[1], pa.string()),
            "grade": pa.array(columns[2], pa.string()),
            "score": pa.array(columns[3], pa.float64()),
        }
    )


def do_publish_run(
    engine: Engine,
    as_of: datetime,
    models: Sequence[str],
    firm_scores: pa.Table,
    changes: pa.Table,
    regions: pa.Table,
    firms: int,
    counts: Mapping[str, Any],
    started_at: datetime | None = None,
) -> PublishedRun:
    """Publish one run: scores of graded firms, grade changes, regional counts.

    ``firm_scores`` holds FIRM_SCORE_COLUMNS but ``run_id``; ``changes`` the output of
    :func:`fengyan.index.warnings.compare` with ``region_code``; ``regions`` the
    REGION_COLUMNS but ``run_id``. The published models' previous current scores are
    replaced; the warning history only grows.
    """
    moment = now()
    with engine.begin() as conn:
        run_id = conn.execute(
            insert(ScoreRun)
            .values(
                as_of=as_of,
                models=json.dumps(list(models)),
                started_at=started_at or moment,
                finished_at=None,
                firms=firms,
                counts=json.dumps(counts, ensure_ascii=False, sort_keys=True),
                fengyan_version=__version__,
            )
            .returning(ScoreRun.id)
        ).scalar_one()
        conn.execute(delete(FirmScore).where(FirmScore.model.in_(list(models))))
        n_scores = bulk_insert(
            conn,
            "firm_score",
            _with_constant(firm_scores, "run_id", run_id, pa.int64()),
            FIRM_SCORE_COLUMNS,
        )
        warned = changes.filter(pa.compute.not_equal(changes["change"], "unchanged"))
        warned = _with_constant(warned, "run_id", run_id, pa.int64())
        warned = _with_constant(warned, "created_at", moment, pa.timestamp("us", tz="UTC"))
        n_warnings = bulk_insert(conn, "warning", warned, WARNING_COLUMNS)
        n_regions = bulk_insert(
            conn, "region_summary", _with_constant(regions, "run_id", run_id, pa.int64()),
            REGION_COLUMNS,
        )  # fmt: skip
        conn.execute(update(ScoreRun).where(ScoreRun.id == run_id).values(finished_at=now()))
    return PublishedRun(int(run_id), n_scores, n_warnings, n_regions)


def warning_history(engine: Engine, firm_id: str, model: str | None = None) -> list[GradeWarning]:
    """Every grade change of one firm, oldest first."""
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        query = select(GradeWarning).where(GradeWarning.firm_id == firm_id)
        if model is not None:
            query = query.where(GradeWarning.model == model)
        return list(session.scalars(query.order_by(GradeWarning.id)).all())


def region_counts(engine: Engine, run_id: int, model: str, level: str) -> list[RegionSummary]:
    """The map layer of one run and model at one level (district or street)."""
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        return list(
            session.scalars(
                select(RegionSummary)
                .where(
                    RegionSummary.run_id == run_id,
                    RegionSummary.model == model,
                    RegionSummary.level == level,
                )
                .order_by(RegionSummary.region_code)
            ).all()
        )
