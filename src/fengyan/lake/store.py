"""The lake: one Parquet file per ingested batch, per table, read through DuckDB.

Layout::

    <lake>/<table>/batch-<seq:06d>-<batch id>.parquet   committed batches
    <lake>/_staging/<batch id>.<pid>.parquet             batches being written
    <lake>/_current/<table>/<generation>.parquet         version ends (derived, optional)

A batch file is written under ``_staging`` and moved into place with ``os.replace``
after an ``fsync``, so a crash leaves either the old state or the complete new file,
never a partial one. Files are never rewritten in place; history is kept by appending.

Every record carries system columns: ``_id`` (hash of type and key), ``_hash`` (hash of
its content), ``_batch``, ``_seq`` (the batch's ingest order), ``_source``, ``_row``
(position in the source file) and ``_valid_from`` (from when it is known). The validity
end ``_valid_to`` is the next version's ``_valid_from`` and is derived when reading, so
that the state "as of" any moment can be read back without rewriting old files.

Most records have one row in the lake. Only the rows of records with several need a
window (which repeat is unchanged, when a version ended); the rest are open versions as they
stand. A read is therefore the batch files joined to those few rows' *version ends*, which
:meth:`Lake.materialise` writes once per generation of a table's batch files to
``_current/<table>/<generation>.parquet`` (the generation is a hash of the files' names,
sizes and modification times) and a read without them derives from the narrow system
columns. A new batch is a new generation: the old file no longer applies and the ends are
derived again until materialised anew. The files are derived data; deleting ``_current``
loses nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

SYSTEM_COLUMNS = ("_id", "_hash", "_batch", "_seq", "_source", "_row", "_valid_from")
# Tables computed from the lake (resolution, graph): <lake>/_derived/<stage>/<run>/<table>.parquet
# with <lake>/_derived/<stage>/CURRENT naming the run in force.
DERIVED_DIR = "_derived"
# Cached versions of each lake table: <lake>/_current/<table>/<generation>.parquet.
CACHE_DIR = "_current"

# Deterministic output: the same rows give the same bytes (crash-recovery tests rely on it).
_WRITE_OPTIONS = {"compression": "zstd", "write_statistics": True, "use_dictionary": True}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BatchWriter:
    """Streams record chunks of one batch into a staging file, then commits it."""

    def __init__(self, staging: Path, final: Path, schema: pa.Schema) -> None:
        self.staging = staging
        self.final = final
        self.schema = schema
        self.rows = 0
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(staging, schema, **_WRITE_OPTIONS)

    def write(self, table: pa.Table) -> None:
        """Append a chunk (cast to the batch schema)."""
        if self._writer is None:
            raise RuntimeError("batch already committed or aborted")
        if table.num_rows:
            self._writer.write_table(table.select(self.schema.names).cast(self.schema))
            self.rows += table.num_rows

    def close(self) -> None:
        """Finish the staging file without committing it."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def commit(self) -> Path:
        """Make the batch visible atomically and durably."""
        self.close()
        with open(self.staging, "rb") as fh:
            os.fsync(fh.fileno())
        self.final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.staging, self.final)
        _fsync_dir(self.final.parent)
        return self.final

    def abort(self) -> None:
        """Throw the staging file away."""
        self.close()
        self.staging.unlink(missing_ok=True)


def _drop_orphans(folder: Path) -> None:
    """Delete the temporary files in ``folder`` of writers that no longer run (killed
    while writing: ``.<name>.<pid>.tmp``)."""
    for tmp in folder.glob(".*.tmp") if folder.is_dir() else ():
        pid = tmp.name.rsplit(".", 2)[-2]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                tmp.unlink()
        except OSError:  # another user's live process
            continue


class Lake:
    """The Parquet lake rooted at ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def staging_dir(self) -> Path:
        """Where batches are written before they are committed."""
        return self.root / "_staging"

    def table_dir(self, table: str) -> Path:
        """The folder of one table's batch files."""
        return self.root / table

    def batch_file(self, table: str, seq: int, batch_id: str) -> Path:
        """The committed path of a batch (sorted by ingest order)."""
        return self.table_dir(table) / f"batch-{seq:06d}-{batch_id}.parquet"

    def find_batch_files(self, table: str, batch_id: str) -> list[Path]:
        """Committed files of ``batch_id`` (normally none or one)."""
        return sorted(self.table_dir(table).glob(f"batch-*-{batch_id}.parquet"))

    def tables(self) -> list[str]:
        """Tables that have at least one committed batch."""
        if not self.root.exists():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and not p.name.startswith("_") and any(p.glob("batch-*.parquet"))
        )

    def files(self, table: str) -> list[Path]:
        """Committed batch files of ``table`` in ingest order."""
        return sorted(self.table_dir(table).glob("batch-*.parquet"))

    @contextmanager
    def open_batch(
        self, table: str, seq: int, batch_id: str, schema: pa.Schema
    ) -> Iterator[BatchWriter]:
        """Write a batch; it is committed only if the caller calls ``commit()``."""
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        # Leftovers of an earlier, killed attempt at the same batch are garbage.
        for stale in self.staging_dir.glob(f"{batch_id}.*.parquet"):
            stale.unlink(missing_ok=True)
        staging = self.staging_dir / f"{batch_id}.{os.getpid()}.parquet"
        writer = BatchWriter(staging, self.batch_file(table, seq, batch_id), schema)
        try:
            yield writer
        finally:
            writer.abort() if writer.staging.exists() else writer.close()

    # ---- reading -------------------------------------------------------------------------

    @staticmethod
    def _scan_sql(files: list[Path], columns: str = "*") -> str:
        """``columns`` of every row of ``files`` with the file (``_file``, its path as
        listed) and the row's position in it (``file_row_number``)."""
        file_list = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
        return (
            f"SELECT {columns} FROM read_parquet([{file_list}], union_by_name = true, "  # noqa: S608
            "filename = '_file', file_row_number = true)"
        )

    def _window_sql(self, table: str, files: list[Path]) -> str:
        """Every version of ``table`` with ``_valid_to``, derived from its batch ``files``
        by window functions over all rows (the definition :meth:`versions_sql` keeps)."""
        file_list = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
        order = "ORDER BY _valid_from, _seq, _row"
        return f"""
            WITH src AS (
                SELECT * FROM read_parquet([{file_list}], union_by_name = true)
            ), changes AS (
                SELECT *, lag(_hash) OVER (PARTITION BY _id {order}) AS _prev_hash FROM src
            ), versions AS (
                SELECT * EXCLUDE (_prev_hash) FROM changes
                WHERE _prev_hash IS NULL OR _prev_hash <> _hash
            )
            SELECT *, lead(_valid_from) OVER (PARTITION BY _id {order}) AS _valid_to
            FROM versions
        """  # noqa: S608 - file paths are quoted; no user text reaches this SQL

    def _overlay_sql(self, files: list[Path]) -> str:
        """What sets rows of records with several rows apart: ``_file`` (file name),
        ``file_row_number``, ``_keep`` (false: re-sent unchanged, not a version) and
        ``_valid_to`` (of a version a later one replaced). Every other row is a version
        still open. Reads only the narrow system columns; a window over the few records
        that have more than one row."""
        order = "ORDER BY _valid_from, _seq, _row"
        narrow = self._scan_sql(
            files,
            "_id, _hash, _valid_from, _seq, _row, _file, file_row_number",
        )
        return f"""
            WITH n AS ({narrow}),
            multi AS (SELECT _id FROM n GROUP BY _id HAVING count(*) > 1),
            changes AS (
                SELECT n.*, lag(_hash) OVER (PARTITION BY _id {order}) AS _prev_hash
                FROM n SEMI JOIN multi USING (_id)
            ), kept AS (
                SELECT * FROM changes WHERE _prev_hash IS NULL OR _prev_hash <> _hash
            )
            SELECT _file, file_row_number, true AS _keep,
                   lead(_valid_from) OVER (PARTITION BY _id {order}) AS _valid_to
            FROM kept
            UNION ALL
            SELECT _file, file_row_number, false, NULL FROM changes
            WHERE NOT (_prev_hash IS NULL OR _prev_hash <> _hash)
        """  # noqa: S608 - built from this module's fragments

    @staticmethod
    def generation(files: list[Path]) -> str:
        """A name for the content of ``files``: any batch added, removed or rewritten
        changes it (batch files are only ever added, so a new batch is a new name)."""
        digest = hashlib.sha256()
        for f in files:
            st = f.stat()
            digest.update(f"{f.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return digest.hexdigest()[:24]

    def _cache_path(self, table: str, files: list[Path]) -> Path:
        return self.root / CACHE_DIR / table / f"{self.generation(files)}.parquet"

    def cache_file(self, table: str) -> Path | None:
        """The materialised version ends of ``table``'s current batch files, if written."""
        files = self.files(table)
        if not files:
            return None
        path = self._cache_path(table, files)
        return path if path.is_file() else None

    def materialise(self, tables: Iterable[str] | None = None) -> dict[str, Path]:
        """Write the version ends of ``tables`` (default: all) for their current batches.

        What :meth:`versions_sql` otherwise derives on every read — which rows are re-sent
        unchanged and when each replaced version ended — is written once per generation of
        the table's batch files (a few rows: only records with more than one row appear).
        Tables already done are left alone; a table with no data is skipped. The file is
        written under a temporary name and renamed into place; the previous generation's
        file is kept (a reader may have it open), older ones are deleted. A lake that
        cannot be written to is read without (the same rows, derived each time).
        """
        wanted = self.tables() if tables is None else list(dict.fromkeys(tables))
        out: dict[str, Path] = {}
        for table in wanted:
            files = self.files(table)
            if not files:
                continue
            path = self._cache_path(table, files)
            _drop_orphans(path.parent)
            if path.is_file():
                out[table] = path
                continue
            tmp = path.parent / f".{path.stem}.{os.getpid()}.tmp"
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                con = duckdb.connect()
                try:
                    quoted = str(tmp).replace("'", "''")
                    # File names only: the lake may be read from another path.
                    con.execute(
                        "COPY (SELECT parse_filename(_file) AS _file, file_row_number, _keep, "  # noqa: S608
                        f"_valid_to FROM ({self._overlay_sql(files)})) TO '{quoted}' "
                        "(FORMAT parquet)"
                    )
                finally:
                    con.close()
                os.replace(tmp, path)
            except (OSError, duckdb.IOException):
                with contextlib.suppress(OSError):
                    tmp.unlink(missing_ok=True)
                continue
            out[table] = path
            # OSError: another process is tidying up the same folder.
            with contextlib.suppress(OSError):
                kept = sorted(path.parent.glob("*.parquet"), key=lambda p: p.stat().st_mtime_ns)
                for old in kept[:-2]:
                    if old != path:
                        old.unlink(missing_ok=True)
        return out

    def versions_sql(self, table: str, as_of: datetime | None = None) -> str:
        """SQL over every version of ``table`` with ``_valid_to``; optionally as of a time.

        A version is a change of content: a record re-sent unchanged in a later batch does
        not start a new version. Ties on ``_valid_from`` go to the later batch. The rows
        are the batch files' rows joined to their version ends (:meth:`materialise`'s file
        when written for these batches, else derived in the query).
        """
        files = self.files(table)
        if not files:
            raise LookupError(f"table {table!r} has no data in the lake at {self.root}")
        cached = self._cache_path(table, files)
        if cached.is_file():
            quoted = str(cached).replace("'", "''")
            folder = (str(self.table_dir(table)) + "/").replace("'", "''")
            overlay = (
                f"SELECT '{folder}' || _file AS _file, file_row_number, _keep, _valid_to "  # noqa: S608
                f"FROM read_parquet('{quoted}')"
            )
        else:
            overlay = self._overlay_sql(files)
        sql = f"""
            SELECT s.* EXCLUDE (_file, file_row_number), o._valid_to
            FROM ({self._scan_sql(files)}) s
            LEFT JOIN ({overlay}) o
              ON o.file_row_number = s.file_row_number AND o._file = s._file
            WHERE o._keep IS NULL OR o._keep
        """  # noqa: S608 - built from this module's fragments
        if as_of is None:
            return sql
        ts = as_of.isoformat()
        return f"""
            SELECT * FROM ({sql})
            WHERE _valid_from <= TIMESTAMPTZ '{ts}'
              AND (_valid_to IS NULL OR _valid_to > TIMESTAMPTZ '{ts}')
        """  # noqa: S608 - ts is produced by datetime.isoformat()

    def current_sql(self, table: str, as_of: datetime | None = None) -> str:
        """SQL for the state of ``table`` at ``as_of`` (default: the latest state)."""
        if as_of is not None:
            return self.versions_sql(table, as_of)
        versions = self.versions_sql(table)
        return f"SELECT * FROM ({versions}) WHERE _valid_to IS NULL"  # noqa: S608 - built above

    def connect(self, as_of: datetime | None = None) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with a view per table (state at ``as_of``).

        ``<table>__versions`` holds the versions known at ``as_of`` (all without it).
        Derived tables (:meth:`write_derived`) get a view each too, under their own name.
        """
        con = duckdb.connect()
        tables = self.tables()
        for table in tables:
            con.execute(f'CREATE VIEW "{table}" AS {self.current_sql(table, as_of)}')
            versions = self.versions_sql(table)
            if as_of is not None:
                ts = as_of.isoformat()
                # A version closed after as_of was still open then: the future stays unseen.
                versions = (
                    "SELECT * REPLACE (CASE WHEN _valid_to > TIMESTAMPTZ "  # noqa: S608 - isoformat
                    f"'{ts}' THEN NULL ELSE _valid_to END AS _valid_to) FROM ({versions}) "
                    f"WHERE _valid_from <= TIMESTAMPTZ '{ts}'"
                )
            con.execute(f'CREATE VIEW "{table}__versions" AS {versions}')
        for name, path in self.derived_files().items():
            if name in tables:
                raise ValueError(f"derived table {name!r} shadows a lake table")
            quoted = str(path).replace("'", "''")
            sql = f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{quoted}')"  # noqa: S608
            con.execute(sql)
        return con

    # ---- derived tables -------------------------------------------------------------------

    def derived_files(self) -> dict[str, Path]:
        """Derived table name → its file in the run each stage has in force."""
        out: dict[str, Path] = {}
        base = self.root / DERIVED_DIR
        for pointer in sorted(base.glob("*/CURRENT")) if base.exists() else []:
            run = pointer.parent / pointer.read_text().strip()
            for path in sorted(run.glob("*.parquet")):
                out[path.stem] = path
        return out

    def write_derived(self, stage: str, tables: Mapping[str, pa.Table]) -> Path:
        """Replace ``stage``'s derived tables all at once.

        The tables are written into a new run folder and fsynced; then the stage's
        ``CURRENT`` file is replaced atomically to name it. Readers see the old run or the
        new one, never a mix; a crash leaves an unreferenced folder, removed next time.
        The run before is kept (a reader may still have it open); older ones are deleted.
        """
        stage_dir = self.root / DERIVED_DIR / stage
        run = stage_dir / f"run-{time.time_ns():020d}-{os.getpid()}"
        run.mkdir(parents=True)

        def write(name: str, table: pa.Table) -> None:
            path = run / f"{name}.parquet"
            pq.write_table(table, path, **_WRITE_OPTIONS)
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())

        # Two files at a time: Parquet encoding and zstd release the GIL.
        with ThreadPoolExecutor(2, thread_name_prefix="write-derived") as pool:
            for done in [pool.submit(write, name, table) for name, table in tables.items()]:
                done.result()
        _fsync_dir(run)
        pointer = stage_dir / "CURRENT"
        previous = pointer.read_text().strip() if pointer.exists() else None
        tmp = stage_dir / f"CURRENT.{os.getpid()}.tmp"
        tmp.write_text(run.name)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, pointer)
        _fsync_dir(stage_dir)
        for old in stage_dir.glob("run-*"):
            if old.name not in (run.name, previous):
                shutil.rmtree(old, ignore_errors=True)
        return run

    def read(self, table: str, as_of: datetime | None = None) -> pa.Table:
        """The state of ``table`` at ``as_of`` as an Arrow table, ordered by ``_id``."""
        con = duckdb.connect()
        try:
            return con.sql(f"{self.current_sql(table, as_of)} ORDER BY _id").to_arrow_table()
        finally:
            con.close()

    def count(self, table: str, as_of: datetime | None = None) -> int:
        """How many records ``table`` holds at ``as_of``."""
        con = duckdb.connect()
        try:
            sql = self.current_sql(table, as_of)
            row = con.execute(f"SELECT count(*) FROM ({sql})").fetchone()  # noqa: S608
            return int(row[0]) if row else 0
        finally:
            con.close()
