"""Streaming readers: each yields chunks of raw string values with their row numbers.

Every reader turns its format into the same shape, :class:`RawChunk`: the source row
number of each record and, per source column, the values as strings (``None`` for
missing). Typing and validation happen afterwards, vectorised, in one place.

Row numbers follow what a person sees when opening the file: for CSV and Excel the
header is row 1 and the first record row 2 (as in a spreadsheet); for JSON Lines the
row is the line number.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
from charset_normalizer import from_bytes

from fengyan.ingest.errors import IngestError, Issue

FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
}

# A record's field may be large (judgment full texts); anything beyond the schema's
# max_length is quarantined by the validator, not by the CSV parser.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

_SAMPLE_BYTES = 4 * 1024 * 1024


@dataclass
class RawChunk:
    """Raw values of up to ``chunk_rows`` records."""

    rows: list[int]
    columns: dict[str, list[Any]]
    issues: list[Issue] = field(default_factory=list)  # records the reader could not parse
    bad_rows: int = 0  # how many records are only in ``issues``


def detect_format(path: Path, declared: str | None = None) -> str:
    """The file format from ``declared`` or the file extension."""
    if declared:
        return declared
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise IngestError("ingest_unknown_format", str(path), suffix=path.suffix or "(none)")
    return fmt


def detect_encoding(path: Path, declared: str | None = None) -> str:
    """The text encoding: declared, BOM, UTF-8 (a few corrupt bytes allowed), strict GB18030,
    else a detector's guess."""
    if declared:
        try:
            return codecs.lookup(declared).name
        except LookupError as exc:
            raise IngestError("ingest_unknown_encoding", str(path), encoding=declared) from exc
    with open(path, "rb") as fh:
        sample = fh.read(_SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for enc in ("utf-8", "gb18030"):
        try:
            # A multi-byte character may be cut at the end of the sample.
            codecs.getincrementaldecoder(enc)().decode(sample, final=False)
            return enc
        except UnicodeDecodeError:
            if enc == "utf-8" and _mostly_utf8(sample):
                # UTF-8 but for a few corrupt bytes: the validator quarantines the records
                # holding them. Checked before GB18030, which may decode such bytes as junk.
                return enc
    best = from_bytes(sample).best()
    if best is None:
        raise IngestError("ingest_encoding_undetected", str(path))
    return str(best.encoding)


def _mostly_utf8(sample: bytes) -> bool:
    """Whether at most 1% of the sample's non-ASCII bytes fail to decode as UTF-8.

    Text in another encoding (GB18030, Latin-1) fails on most of its non-ASCII bytes.
    """
    non_ascii = len(sample.translate(None, bytes(range(128))))
    bad = sample.decode("utf-8", errors="replace").count("\ufffd")
    return non_ascii > 0 and bad * 100 <= non_ascii


def _text_stream(path: Path, encoding: str) -> io.TextIOWrapper:
    # Undecodable bytes become U+FFFD so the record is quarantined instead of the whole
    # file failing; the validator flags every value containing U+FFFD.
    return open(path, encoding=encoding, errors="replace", newline="")


def read_csv(
    path: Path, encoding: str, chunk_rows: int, delimiter: str | None = None
) -> Iterator[RawChunk]:
    """Yield chunks of a delimited text file whose first row is the header."""
    with _text_stream(path, encoding) as fh:
        if delimiter is None:
            delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        reader = csv.reader(fh, delimiter=delimiter, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise IngestError("ingest_empty_file", str(path)) from None
        if any("\ufffd" in h for h in header):
            # A garbled header cannot be mapped; saying "maps to nothing" would mislead.
            raise IngestError("ingest_wrong_encoding", str(path), encoding=encoding)
        header = _check_header(path, [h.strip().lstrip("\ufeff") for h in header])
        width = len(header)
        rows: list[int] = []
        records: list[tuple[str, ...]] = []
        issues: list[Issue] = []
        row_no = 1
        yielded = False
        while True:
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                # Strict quoting: a stray quote, or a file cut inside a quoted field, is a
                # bad record (quarantined), not a silently shortened value.
                row_no += 1
                issues.append(
                    Issue(row_no, None, None, "ingest_bad_quoting", params={"detail": str(exc)})
                )
                continue
            row_no += 1
            if len(record) == width:
                rows.append(row_no)
                # A tuple of strings drops out of the cyclic GC's tracking at its first pass,
                # a list never does: 50,000 live lists per chunk made GC about a third of
                # the reader's time.
                records.append(tuple(record))
            elif not record or (len(record) == 1 and not record[0].strip()):
                continue  # blank line: not a record
            else:
                issues.append(
                    Issue(
                        row_no,
                        None,
                        _preview(record),
                        "ingest_ragged_row",
                        params={"expected": width, "actual": len(record)},
                    )
                )
            if len(rows) + len(issues) >= chunk_rows:
                yield _transpose(header, rows, records, issues)
                rows, records, issues = [], [], []
                yielded = True
        if rows or issues or not yielded:  # a header alone still gets its columns checked
            yield _transpose(header, rows, records, issues)


def _transpose(
    header: list[str], rows: list[int], records: list[tuple[str, ...]], issues: list[Issue]
) -> RawChunk:
    # zip(*records) transposes in C; a per-value Python loop would dominate ingest time.
    columns = [list(col) for col in zip(*records, strict=True)] if records else [[] for _ in header]
    return RawChunk(
        rows=rows,
        columns=dict(zip(header, columns, strict=True)),
        issues=issues,
        bad_rows=len(issues),
    )


def read_jsonl(path: Path, encoding: str, chunk_rows: int) -> Iterator[RawChunk]:
    """Yield chunks of a JSON Lines file (one object per line)."""
    with _text_stream(path, encoding) as fh:
        chunk: RawChunk = _new_chunk([])
        seen_any = False
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            seen_any = True
            try:
                obj = orjson.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError("not an object")
            except (orjson.JSONDecodeError, ValueError) as exc:
                chunk.issues.append(
                    Issue(
                        line_no,
                        None,
                        scrub(line),
                        "ingest_bad_json",
                        params={"detail": str(exc)[:200]},
                    )
                )
                chunk.bad_rows += 1
            else:
                n = len(chunk.rows)
                for key in obj:
                    if key not in chunk.columns:
                        chunk.columns[key] = [None] * n
                for key, values in chunk.columns.items():
                    values.append(_to_raw(obj.get(key)))
                chunk.rows.append(line_no)
            if len(chunk.rows) + chunk.bad_rows >= chunk_rows:
                yield chunk
                chunk = _new_chunk([])
        if not seen_any:
            raise IngestError("ingest_empty_file", str(path))
        if chunk.rows or chunk.bad_rows:
            yield chunk


def read_xlsx(path: Path, chunk_rows: int, sheet: str | None = None) -> Iterator[RawChunk]:
    """Yield chunks of the first (or named) sheet of an Excel workbook."""
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        name = sheet or book.sheet_names[0]
        rows = iter(book.get_sheet_by_name(name).iter_rows())
    except Exception as exc:  # calamine raises its own error types for corrupt files
        raise IngestError("ingest_unreadable", str(path), detail=str(exc)[:300]) from exc
    try:
        header = [str(_to_raw(h) or "").strip() for h in next(rows)]
    except StopIteration:
        raise IngestError("ingest_empty_file", str(path)) from None
    header = _check_header(path, header)
    chunk = _new_chunk(header)
    yielded = False
    for row_no, record in enumerate(rows, start=2):
        values = [_to_raw(v) for v in record]
        if not any(v not in (None, "") for v in values):
            continue
        values = (values + [None] * len(header))[: len(header)]
        chunk.rows.append(row_no)
        for name, value in zip(header, values, strict=True):
            chunk.columns[name].append(value)
        if len(chunk.rows) >= chunk_rows:
            yield chunk
            chunk = _new_chunk(header)
            yielded = True
    if chunk.rows or not yielded:
        yield chunk


def read_parquet(path: Path, chunk_rows: int) -> Iterator[RawChunk]:
    """Yield chunks of a Parquet file; row numbers count records from 1."""
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for truncated files
        raise IngestError("ingest_unreadable", str(path), detail=str(exc)[:300]) from exc
    start = 1
    for batch in pf.iter_batches(batch_size=chunk_rows):
        cols = {
            name: [_to_raw(v) for v in batch.column(i).to_pylist()]
            for i, name in enumerate(batch.schema.names)
        }
        yield RawChunk(rows=list(range(start, start + batch.num_rows)), columns=cols)
        start += batch.num_rows


def _check_header(path: Path, header: list[str]) -> list[str]:
    if not any(header):
        raise IngestError("ingest_empty_header", str(path))
    seen: set[str] = set()
    for name in header:
        if name in seen and name:
            raise IngestError("ingest_duplicate_header", str(path), column=name)
        seen.add(name)
    return header


def _new_chunk(header: list[str]) -> RawChunk:
    return RawChunk(rows=[], columns={h: [] for h in header})


def _preview(record: list[str]) -> str:
    return scrub(",".join(record))


# Runs of 15+ digits in a raw line may be ID or bank card numbers: a preview of a line we
# could not parse must not put them in the quarantine unmasked.
_LONG_NUMBER = re.compile(r"(?<![0-9])([0-9])[0-9]{13,17}([0-9Xx])(?![0-9])")


def scrub(text: str, limit: int = 200) -> str:
    """A short preview of raw text with long digit runs masked (first and last kept)."""
    text = text if len(text) <= limit else text[:limit] + "…"
    return _LONG_NUMBER.sub(lambda m: m.group(1) + "*" * (len(m.group(0)) - 2) + m.group(2), text)


def _to_raw(value: Any) -> Any:
    """Values as strings, except lists (multi-valued fields) which stay lists of strings."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        # Excel stores every number as a float: 13800138000.0 is a phone number.
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_to_raw(v) for v in value]
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    return str(value)
