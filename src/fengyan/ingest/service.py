"""Ingestion services used by the CLI (and later the HTTP push endpoint)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengyan.db.models import IngestBatch, QuarantineEntry
from fengyan.ingest.errors import IngestError
from fengyan.ingest.manifest import Manifest
from fengyan.ingest.pipeline import IngestReport, ingest_file
from fengyan.workspace import Workspace


def ingest_one(
    ws: Workspace,
    path: Path,
    entity_type: str,
    source: str,
    *,
    chunk_rows: int | None = None,
    **options: Any,
) -> IngestReport:
    """Ingest one file into the workspace's lake and ledger (see ``ingest_file``)."""
    return ingest_file(
        path,
        entity_type,
        source,
        schema=ws.schema,
        lake=ws.lake,
        engine=ws.engine,
        pseudonym_key=ws.settings.pseudonym_key(),
        chunk_rows=chunk_rows or ws.settings.chunk_rows,
        **options,
    )


def ingest_path(
    ws: Workspace,
    path: Path,
    entity_type: str | None = None,
    source: str | None = None,
    *,
    mapping: Path | None = None,
    encoding: str | None = None,
    fmt: str | None = None,
    as_of: date | datetime | str | None = None,
    on_file: Callable[[Path], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    versions: bool = True,
) -> list[IngestReport]:
    """Ingest one file, or every file a folder's manifest lists, in order.

    With ``versions`` the lake's version ends of the tables written to are materialised
    afterwards (:meth:`fengyan.lake.store.Lake.materialise`): the writer derives them once
    per new generation of batch files, instead of the first reader of each stage after it
    (resolution, the graph, the indicators). A caller ingesting several deliveries in a
    row passes ``False`` and materialises once after the last.
    """
    if not path.is_dir():
        if not entity_type or not source:
            raise IngestError("ingest_need_type_and_source", str(path))
        if on_file:
            on_file(path)
        reports = [
            ingest_one(
                ws,
                path,
                entity_type,
                source,
                mapping=mapping,
                encoding=encoding,
                fmt=fmt,
                as_of=_as_datetime(as_of),
                on_progress=on_progress,
            )
        ]
        return write_versions(ws, reports) if versions else reports
    manifest = Manifest.load(path)
    reports = []
    for item in manifest.files:
        file = path / item.path
        if on_file:
            on_file(file)
        reports.append(
            ingest_one(
                ws,
                file,
                item.type,
                item.source or manifest.source or source or "",
                mapping=path / item.mapping if item.mapping else None,
                encoding=item.encoding,
                fmt=item.format,
                as_of=_as_datetime(item.as_of or manifest.as_of or as_of),
                on_progress=on_progress,
            )
        )
    return write_versions(ws, reports) if versions else reports


def written_tables(reports: list[IngestReport]) -> list[str]:
    """The lake tables ``reports`` stored rows in (the first part of each lake file)."""
    return sorted({Path(r.lake_file).parts[0] for r in reports if r.lake_file})


def write_versions(ws: Workspace, reports: list[IngestReport]) -> list[IngestReport]:
    """Materialise the version ends of the lake tables ``reports`` wrote; ``reports``."""
    ws.lake.materialise(written_tables(reports))
    return reports


def _as_datetime(value: date | datetime | str | None) -> datetime | str | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value


@dataclass(frozen=True)
class QuarantineRow:
    """A quarantine entry as shown to a person."""

    batch_id: str
    file_name: str
    row: int | None
    field: str | None
    value: str | None
    reason: str
    severity: str
    params: dict[str, Any]


def list_batches(ws: Workspace) -> list[IngestBatch]:
    """Every ingested batch in ingest order."""
    with Session(ws.engine) as s:
        return list(s.scalars(select(IngestBatch).order_by(IngestBatch.seq)))


def list_quarantine(
    ws: Workspace,
    batch: str | None = None,
    reason: str | None = None,
    severity: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[QuarantineRow]]:
    """Quarantine entries (total count and one page), filtered by batch prefix and reason."""
    query = select(QuarantineEntry)
    if batch:
        query = query.where(QuarantineEntry.batch_id.startswith(batch))
    if reason:
        query = query.where(QuarantineEntry.reason == reason)
    if severity:
        query = query.where(QuarantineEntry.severity == severity)
    with Session(ws.engine) as s:
        total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = s.scalars(query.order_by(QuarantineEntry.id).limit(limit).offset(offset))
        return total, [
            QuarantineRow(
                r.batch_id,
                r.file_name,
                r.row,
                r.field,
                r.value,
                r.reason,
                r.severity,
                json.loads(r.params),
            )
            for r in rows
        ]


def lake_summary(ws: Workspace) -> list[tuple[str, int, int]]:
    """Per lake table: current records and all stored versions."""
    out = []
    con = ws.lake.connect()
    try:
        for table in ws.lake.tables():
            current = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # noqa: S608
            versions = con.execute(f'SELECT count(*) FROM "{table}__versions"').fetchone()  # noqa: S608
            out.append((table, current[0] if current else 0, versions[0] if versions else 0))
    finally:
        con.close()
    return out
