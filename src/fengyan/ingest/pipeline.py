"""Ingest one file into the lake: validate, quarantine, commit atomically, record the batch.

The order of a batch's commit is what makes a killed run safe to re-run:

1. Records are streamed into a staging Parquet file; issues into a staging issue file.
2. Duplicate keys within the file are found in the staged data (DuckDB, spilling to disk)
   and the later occurrences move to the quarantine.
3. The batch file is moved into the lake with ``os.replace`` (atomic).
4. The batch row and its quarantine rows are inserted in one database transaction.

A crash before 3 leaves only staging files, which the next run deletes. A crash between
3 and 4 leaves a lake file with no batch row: an orphan, deleted at the next start (the
ingest lock guarantees nobody else is writing) and rewritten identically by the re-run.
The batch id is a hash of the file, type, source, mapping and as-of date, so the same
batch offered twice is recognised and changes nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from fengyan import __version__, clock
from fengyan.db.models import IngestBatch, QuarantineEntry
from fengyan.ingest.errors import IngestError, Issue
from fengyan.ingest.mapping import ColumnPlan, MappingSpec, plan_columns
from fengyan.ingest.readers import (
    RawChunk,
    detect_encoding,
    detect_format,
    read_csv,
    read_jsonl,
    read_parquet,
    read_xlsx,
)
from fengyan.ingest.validate import lake_schema, validate_chunk
from fengyan.lake import Lake
from fengyan.schema import EntityType, Schema

# When at least this share of a file's first chunk has undecodable bytes, the file is
# in another encoding than the one used: refuse it whole instead of quarantining it all.
ENCODING_FAILURE_SHARE = 0.5
_ISSUE_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("field", pa.string()),
        ("value", pa.string()),
        ("reason", pa.string()),
        ("severity", pa.string()),
        ("params", pa.string()),
    ]
)


@dataclass
class IngestReport:
    """What one ingest did."""

    batch_id: str
    file: str
    entity_type: str
    source: str
    rows_read: int = 0
    rows_stored: int = 0
    rows_quarantined: int = 0
    warnings: int = 0
    already_ingested: bool = False
    encoding: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    lake_file: str = ""


def sha256_file(path: Path) -> tuple[str, int]:
    """The sha256 hex digest and size of a file, read in blocks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def to_timestamp(as_of: datetime | str | None) -> datetime | None:
    """An as-of date or datetime as an aware datetime (dates start at 00:00 China time)."""
    if as_of is None:
        return None
    if isinstance(as_of, str):
        as_of = datetime.fromisoformat(as_of)
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=clock.CHINA_TZ)
    return as_of.astimezone(UTC)


@contextmanager
def ingest_lock(lake: Lake) -> Iterator[None]:
    """One ingest at a time per lake; the OS releases the lock if the process dies."""
    lake.root.mkdir(parents=True, exist_ok=True)
    with open(lake.root / ".ingest.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def recover(lake: Lake, engine: Engine) -> list[Path]:
    """Delete staging leftovers and lake files of batches the ledger does not know."""
    removed: list[Path] = []
    if lake.staging_dir.exists():
        for stale in lake.staging_dir.iterdir():
            stale.unlink()
            removed.append(stale)
    with Session(engine) as s:
        known = set(s.scalars(select(IngestBatch.lake_file)))
    for table in lake.tables() + [p.name for p in lake.root.iterdir() if p.is_dir()]:
        for f in lake.table_dir(table).glob("batch-*.parquet"):
            if str(f.relative_to(lake.root)) not in known:
                f.unlink()
                removed.append(f)
    return removed


def _chunks(path: Path, fmt: str, encoding: str | None, chunk_rows: int) -> Iterator[RawChunk]:
    if fmt == "csv":
        return read_csv(path, encoding or "utf-8", chunk_rows)
    if fmt == "jsonl":
        return read_jsonl(path, encoding or "utf-8", chunk_rows)
    if fmt == "xlsx":
        return read_xlsx(path, chunk_rows)
    if fmt == "parquet":
        return read_parquet(path, chunk_rows)
    raise IngestError("ingest_unknown_format", str(path), suffix=fmt)


def ingest_file(
    path: Path,
    entity_type: str,
    source: str,
    *,
    schema: Schema,
    lake: Lake,
    engine: Engine,
    pseudonym_key: bytes,
    mapping: Path | None = None,
    encoding: str | None = None,
    fmt: str | None = None,
    as_of: datetime | str | None = None,
    chunk_rows: int = 25_000,
    on_progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest ``path`` as records of ``entity_type`` sent by ``source``."""
    name = str(path)
    if not path.is_file():
        raise IngestError("ingest_no_such_file", name)
    try:
        entity = schema.get(entity_type)
    except KeyError:
        raise IngestError("ingest_unknown_type", name, type=entity_type) from None
    fmt = detect_format(path, fmt)
    file_sha, size = sha256_file(path)
    if size == 0:
        raise IngestError("ingest_empty_file", name)
    spec, mapping_sha = MappingSpec.load(mapping) if mapping else (None, None)
    explicit_as_of = to_timestamp(as_of)
    batch_id = hashlib.sha256(
        "\x1f".join(
            [
                file_sha,
                entity.name,
                source,
                mapping_sha or "",
                explicit_as_of.isoformat() if explicit_as_of else "",
            ]
        ).encode()
    ).hexdigest()[:32]
    report = IngestReport(batch_id, name, entity.name, source)

    with ingest_lock(lake):
        recover(lake, engine)
        with Session(engine) as s:
            done = s.get(IngestBatch, batch_id)
            if done is not None:
                report.already_ingested = True
                report.rows_read, report.rows_stored = done.rows_read, done.rows_stored
                report.rows_quarantined, report.lake_file = done.rows_quarantined, done.lake_file
                return report
            seq = (s.scalar(select(func.max(IngestBatch.seq))) or 0) + 1
        started = clock.now()
        batch_as_of = explicit_as_of or started
        enc = detect_encoding(path, encoding) if fmt in ("csv", "jsonl") else None
        report.encoding = enc
        issues_path = _stream(
            path,
            fmt,
            enc,
            entity,
            spec,
            report,
            lake,
            seq,
            batch_as_of,
            pseudonym_key,
            chunk_rows,
            on_progress,
        )
        _record(
            engine, report, fmt, file_sha, size, mapping_sha, seq, batch_as_of, started, issues_path
        )
    return report


def _stream(
    path: Path,
    fmt: str,
    enc: str | None,
    entity: EntityType,
    spec: MappingSpec | None,
    report: IngestReport,
    lake: Lake,
    seq: int,
    as_of: datetime,
    key: bytes,
    chunk_rows: int,
    on_progress: Callable[[int], None] | None,
) -> Path:
    """Validate and stage every chunk, quarantine in-file duplicates, commit the lake file."""
    name = str(path)
    today = clock.today_china()
    schema = _with_system_columns(lake_schema(entity))
    plan = None
    issues_path = lake.staging_dir / f"{report.batch_id}.issues.parquet"
    with lake.open_batch(entity.table, seq, report.batch_id, schema) as writer:
        issue_writer = pq.ParquetWriter(issues_path, _ISSUE_SCHEMA)
        try:
            for i, chunk in enumerate(_chunks(path, fmt, enc, chunk_rows)):
                header = list(chunk.columns)
                if fmt == "jsonl" and not header:
                    # Only unparseable lines (or empty objects): nothing to map, and no
                    # reason to refuse the file; the validator quarantines the records.
                    chunk_plan = plan or ColumnPlan(rules={}, ignored=[], values={})
                else:
                    chunk_plan = plan_columns(
                        header, entity, spec, name, strict_required=fmt != "jsonl"
                    )
                if plan is None or fmt == "jsonl":
                    plan = chunk_plan
                    report.ignored_columns = sorted(set(report.ignored_columns) | set(plan.ignored))
                result = validate_chunk(chunk, entity, plan, today, key)
                if (
                    i == 0
                    and result.rows_read
                    and (result.encoding_errors / result.rows_read >= ENCODING_FAILURE_SHARE)
                ):
                    raise IngestError("ingest_wrong_encoding", name, encoding=enc or "?")
                table = _add_system_columns(
                    result.table, entity, report.batch_id, seq, report.source, as_of
                )
                writer.write(table)
                issue_writer.write_table(_issue_table(result.issues))
                report.rows_read += result.rows_read
                report.rows_quarantined += result.rows_rejected
                if on_progress:
                    on_progress(report.rows_read)
        except BaseException:
            # A refused file leaves nothing behind, not even its findings.
            issue_writer.close()
            issues_path.unlink(missing_ok=True)
            raise
        finally:
            issue_writer.close()
        writer.close()
        dups = _duplicates(writer.staging, entity.key, writer.rows)
        if dups:
            _rewrite_without(writer.staging, set(dups), schema)
            _append_issues(
                issues_path,
                [
                    Issue(
                        r,
                        ",".join(entity.key),
                        key,
                        "ingest_duplicate_key",
                        params={"first_row": first},
                    )
                    for r, (first, key) in dups.items()
                ],
            )
            report.rows_quarantined += len(dups)
        report.rows_stored = pq.ParquetFile(writer.staging).metadata.num_rows
        final = writer.commit()
    report.lake_file = str(final.relative_to(lake.root))
    return issues_path


def _with_system_columns(schema: pa.Schema) -> pa.Schema:
    system = [
        pa.field("_id", pa.string()),
        pa.field("_hash", pa.string()),
        pa.field("_batch", pa.string()),
        pa.field("_seq", pa.int64()),
        pa.field("_source", pa.string()),
        pa.field("_row", pa.int64()),
        pa.field("_valid_from", pa.timestamp("us", tz="UTC")),
    ]
    return pa.schema(system + [f for f in schema])


def _add_system_columns(
    table: pa.Table, entity: EntityType, batch_id: str, seq: int, source: str, as_of: datetime
) -> pa.Table:
    """Record id (hash of type and key), content hash and provenance columns."""
    n = table.num_rows
    data = [c for c in table.column_names if c != "_row"]
    con = duckdb.connect()
    try:
        con.register("chunk", table)
        key = ", ".join(f"coalesce(CAST(\"{k}\" AS VARCHAR), '')" for k in entity.key)
        body = ", ".join(f"coalesce(CAST(\"{c}\" AS VARCHAR), '\\N')" for c in data)
        ids = con.sql(
            f"SELECT md5(concat_ws(chr(31), '{entity.name}', {key})) AS _id, "  # noqa: S608
            f"md5(concat_ws(chr(31), {body})) AS _hash FROM chunk"
        ).to_arrow_table()
    finally:
        con.close()
    known = pa.array([as_of] * n, type=pa.timestamp("us", tz="UTC"))
    if entity.known_from:
        col = table.column(entity.known_from)
        if pa.types.is_date(col.type):
            # A date is known from 00:00 China time that day.
            col = pc.subtract(
                pc.cast(pc.cast(col, pa.timestamp("s")), pa.timestamp("us", tz="UTC")),
                pa.scalar(8 * 3600 * 1_000_000, pa.duration("us")),
            )
        known = pc.coalesce(pc.cast(col, pa.timestamp("us", tz="UTC")), known)
    cols = {
        "_id": ids.column("_id"),
        "_hash": ids.column("_hash"),
        "_batch": pa.array([batch_id] * n, pa.string()),
        "_seq": pa.array([seq] * n, pa.int64()),
        "_source": pa.array([source] * n, pa.string()),
        "_row": table.column("_row"),
        "_valid_from": known,
    }
    for c in data:
        cols[c] = table.column(c)
    return pa.table(cols)


# Keys searched for duplicates per pass: each pass groups only its share of the file's keys,
# so the search's memory is bounded by this, not by the file (DuckDB also spills to disk).
DUPLICATE_PASS_ROWS = 1_000_000


def _duplicates(staged: Path, key: tuple[str, ...], rows: int) -> dict[int, tuple[int, str]]:
    """Rows whose key (and known-from time) already occurred earlier in the same file.

    Runs in passes over buckets of the record id (equal keys share a bucket, so the answer
    does not depend on the number of passes). Each pass groups its keys, keeps those seen
    more than once, and only for those rows computes the first occurrence.
    """
    passes = max(1, -(-rows // DUPLICATE_PASS_ROWS))
    con = duckdb.connect(
        config={"memory_limit": "256MB", "threads": 2, "temp_directory": str(staged.parent)}
    )
    shown = ", ".join(f'CAST("{k}" AS VARCHAR)' for k in key)
    bucket = "CAST(('0x' || substr(_id, 1, 4)) AS INTEGER)"
    out: dict[int, tuple[int, str]] = {}
    try:
        for p in range(passes):
            found = con.execute(
                f"""
                WITH part AS (
                    SELECT _id, _valid_from, _row FROM read_parquet(?)
                    WHERE {bucket} % {passes} = {p}
                ), dup AS (
                    SELECT _id, _valid_from FROM part GROUP BY ALL HAVING count(*) > 1
                ), rows AS (
                    SELECT s.*, min(s._row) OVER (PARTITION BY s._id, s._valid_from) AS first_row
                    FROM read_parquet(?) s SEMI JOIN dup USING (_id, _valid_from)
                    WHERE {bucket} % {passes} = {p}
                )
                SELECT _row, first_row, concat_ws(',', {shown}) FROM rows WHERE _row <> first_row
                """,  # noqa: S608 - only field names from the schema and integers
                [str(staged), str(staged)],
            ).fetchall()
            out.update({int(r): (int(f), str(k)) for r, f, k in found})
    finally:
        con.close()
    return dict(sorted(out.items()))


def _rewrite_without(staged: Path, drop: set[int], schema: pa.Schema) -> None:
    tmp = staged.with_suffix(".dedup.parquet")
    drop_arr = pa.array(sorted(drop), pa.int64())
    # pre_buffer (pyarrow's default) holds whole row groups' raw bytes besides the decoded
    # batch: about 100 MiB more at the ingest's peak for 50,000-row row groups, no faster.
    with pq.ParquetWriter(tmp, schema, compression="zstd") as out:
        for batch in pq.ParquetFile(staged, pre_buffer=False).iter_batches(batch_size=25_000):
            keep = pc.invert(pc.is_in(batch.column("_row"), value_set=drop_arr))
            out.write_table(pa.Table.from_batches([batch]).filter(keep))
    os.replace(tmp, staged)


def _issue_table(issues: list[Issue]) -> pa.Table:
    return pa.table(
        {
            "row": pa.array([i.row for i in issues], pa.int64()),
            "field": pa.array([i.field for i in issues], pa.string()),
            "value": pa.array([i.value for i in issues], pa.string()),
            "reason": pa.array([i.reason for i in issues], pa.string()),
            "severity": pa.array([i.severity for i in issues], pa.string()),
            "params": pa.array(
                [
                    json.dumps(i.params, ensure_ascii=False, sort_keys=True, default=str)
                    for i in issues
                ],
                pa.string(),
            ),
        },
        schema=_ISSUE_SCHEMA,
    )


def _append_issues(path: Path, extra: list[Issue]) -> None:
    merged = pa.concat_tables([pq.read_table(path), _issue_table(extra)])
    merged = merged.sort_by([("row", "ascending"), ("field", "ascending")])
    pq.write_table(merged, path)


def _record(
    engine: Engine,
    report: IngestReport,
    fmt: str,
    file_sha: str,
    size: int,
    mapping_sha: str | None,
    seq: int,
    as_of: datetime,
    started: datetime,
    issues_path: Path,
) -> None:
    """Write the batch row and its quarantine in one transaction, then drop the issue file."""
    issues = pq.ParquetFile(issues_path)
    counts = pq.read_table(issues_path, columns=["reason", "severity"])
    for row in counts.group_by(["reason", "severity"]).aggregate([([], "count_all")]).to_pylist():
        report.reasons[row["reason"]] = report.reasons.get(row["reason"], 0) + row["count_all"]
        if row["severity"] == "warning":
            report.warnings += row["count_all"]
    notes = {
        "ignored_columns": report.ignored_columns,
        "reasons": dict(sorted(report.reasons.items())),
    }
    with Session(engine) as s, s.begin():
        s.add(
            IngestBatch(
                id=report.batch_id,
                seq=seq,
                entity_type=report.entity_type,
                source=report.source,
                file_name=Path(report.file).name,
                file_format=fmt,
                file_sha256=file_sha,
                file_size=size,
                encoding=report.encoding,
                mapping_sha256=mapping_sha,
                as_of=as_of,
                rows_read=report.rows_read,
                rows_stored=report.rows_stored,
                rows_quarantined=report.rows_quarantined,
                warnings=report.warnings,
                lake_file=report.lake_file,
                started_at=started,
                finished_at=clock.now(),
                fengyan_version=__version__,
                notes=json.dumps(notes, ensure_ascii=False),
            )
        )
        s.flush()
        file_name = Path(report.file).name
        for batch in issues.iter_batches(batch_size=20_000):
            rows = [
                {"batch_id": report.batch_id, "file_name": file_name, **r}
                for r in batch.to_pylist()
            ]
            if rows:
                s.execute(insert(QuarantineEntry), rows)
    issues_path.unlink(missing_ok=True)
