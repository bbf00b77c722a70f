"""Write record tables the way agencies deliver them: GB18030 CSV with Chinese headers and a
mapping file, UTF-8 CSV, JSON Lines or an Excel workbook.

Output is byte-for-byte deterministic: rows in a fixed order, no timestamps, fixed
workbook properties. Dirty rows are added here (:mod:`.dirty`) so their row numbers are
the ones ingest will report. Files are written a chunk of rows at a time, each chunk
formatted a column at a time (:mod:`.cells`), so memory stays flat however large the city.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson
import pyarrow as pa
import yaml

from fengyan.schema import EntityType, FieldType
from fengyan.simulate.cells import (
    Cells,
    cell,
    csv_lines,
    csv_row,
    csv_text,
    json_lines,
    json_text,
    prepare,
)
from fengyan.simulate.dirty import DirtyRow, Plan, apply_noise, fullwidth, plan
from fengyan.simulate.params import DirtyParams
from fengyan.simulate.records import Source, digits_text

CHUNK_ROWS = 100_000  # rows formatted and written at a time


@dataclass
class FileSpec:
    """How one agency writes one record type."""

    path: str
    type: str
    source: str
    fmt: str = "jsonl"  # csv | jsonl | xlsx
    encoding: str = "utf-8"
    headers: dict[str, str] | None = None  # field → column header (None: field names)
    scale: dict[str, float] = field(default_factory=dict)  # field → divisor when written
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # field → {schema: written}
    date_style: str = "iso"  # iso | cn (2024年5月1日)
    serial: str | None = None  # header of a leading row-number column (序号)
    mapping: str | None = None  # mapping file path, written next to the data
    as_of: str | None = None
    rows: int = 0
    dirty: list[DirtyRow] = field(default_factory=list)


def write(
    root: Path,
    entity: EntityType,
    spec: FileSpec,
    source: Source,
    rng: np.random.Generator,
    dirty: DirtyParams | None,
) -> None:
    """Write ``source``'s rows (with dirty rows added) to ``root / spec.path``, in chunks."""
    names = [n for n in entity.fields if n in source.names]
    n = len(source)
    styles = {
        k: "date_cn"
        for k, f in entity.fields.items()
        if spec.date_style == "cn" and f.type is FieldType.DATE
    }

    def fetch(rows: list[int]) -> list[dict[str, Any]]:
        cols = _chunk(entity, spec, source, np.asarray(rows, dtype=np.int64), names)
        return [{k: cols[k].python(i) for k in names} for i in range(len(rows))]

    if dirty is not None:
        found = plan(rng, entity, n, dirty, {k: styles.get(k, "") for k in names}, fetch)
    else:
        found = Plan(np.zeros(0, dtype=np.int64), [], [], [])
    spec.dirty = found.log
    spec.rows = n + len(found.inserts)
    path = root / spec.path
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = names if n else [k for k in entity.fields if spec.headers is None or k in spec.headers]
    if spec.fmt == "xlsx":
        rows = fetch(list(range(n)))
        for i, name in zip(found.noise_rows.tolist(), found.noise_fields, strict=True):
            apply_noise(rows[i], name)
        for k, (pos, row) in enumerate(found.inserts):
            rows.insert(pos + k, row)
        _xlsx(path, spec, fields, rows)
    else:
        with open(path, "wb") as fh:
            _stream(fh, entity, spec, source, names, fields, found)
    if spec.mapping:
        _mapping(root / spec.mapping, entity, spec, fields)


def _chunk(
    entity: EntityType, spec: FileSpec, source: Source, rows: np.ndarray, names: list[str]
) -> dict[str, Cells]:
    raw = source.take(rows, names)
    return {k: prepare(entity, spec, k, raw[k]) for k in names}


def _chunk_rows(entity: EntityType, names: list[str]) -> int:
    """Rows per chunk: fewer when records carry long texts."""
    long_text = any(entity.fields[k].type is FieldType.TEXT for k in names)
    return 20_000 if long_text else CHUNK_ROWS


def _stream(
    fh: BinaryIO,
    entity: EntityType,
    spec: FileSpec,
    source: Source,
    names: list[str],
    fields: list[str],
    found: Plan,
) -> None:
    """Write the file chunk by chunk, dirty rows slotted in where they belong."""
    n = len(source)
    csv_file = spec.fmt == "csv"
    term = "\r\n" if spec.encoding == "gb18030" else "\n"
    utf8 = spec.encoding == "utf-8"

    def out(text: bytes | memoryview) -> None:
        fh.write(text if utf8 or not text else str(text, "utf-8").encode(spec.encoding))

    if csv_file:
        header = ([spec.serial] if spec.serial else []) + [_header(spec, f) for f in fields]
        out(csv_row(header, term).encode("utf-8"))
    inserted = np.asarray([pos for pos, _ in found.inserts], dtype=np.int64)
    k = 0  # next dirty row

    def dirty_line(rank: int) -> bytes:
        pos, row = found.inserts[rank]
        if csv_file:
            serial = [str(pos + rank + 1)] if spec.serial else []
            return csv_row(serial + [cell(row.get(f)) for f in fields], term).encode("utf-8")
        return orjson.dumps({key: v for key, v in row.items() if v is not None}) + b"\n"

    step = _chunk_rows(entity, names)
    for a in range(0, n, step):
        b = min(n, a + step)
        cols = _chunk(entity, spec, source, np.arange(a, b), names)
        lo, hi = np.searchsorted(found.noise_rows, [a, b])
        _noise(cols, found.noise_rows[lo:hi] - a, found.noise_fields[lo:hi])
        if csv_file:
            texts = [csv_text(cols[f]) for f in fields]
            if spec.serial:
                rows = np.arange(a, b)
                serial = rows + np.searchsorted(inserted, rows, side="right") + 1
                texts.insert(0, digits_text(serial))
            lines = csv_lines(texts, term)
        else:
            lines = json_lines([(f, *json_text(cols[f])) for f in fields], b - a)
        done = 0
        while k < len(found.inserts) and found.inserts[k][0] < b:
            at = found.inserts[k][0] - a
            out(lines.piece(done, at))
            out(dirty_line(k))
            done, k = at, k + 1
        out(lines.piece(done, b - a))
    while k < len(found.inserts):
        out(dirty_line(k))
        k += 1


def _noise(cols: dict[str, Cells], rows: np.ndarray, names: list[str]) -> None:
    """Full-width digits in the given cells (non-empty text only, as the row writer did)."""
    by_field: dict[str, list[int]] = {}
    for i, name in zip(rows.tolist(), names, strict=True):
        by_field.setdefault(name, []).append(i)
    for name, where in by_field.items():
        c = cols[name]
        if c.kind == "text":
            old = c.values.take(pa.array(where)).to_pylist()
            c.set_text(where, [fullwidth(v) if v else v for v in old])
        elif c.kind == "obj":
            for i in where:
                value = c.values[i]
                if isinstance(value, str) and value:
                    c.values[i] = fullwidth(value)


def _header(spec: FileSpec, name: str) -> str:
    return spec.headers.get(name, name) if spec.headers else name


def _xlsx(path: Path, spec: FileSpec, fields: list[str], rows: list[dict[str, Any]]) -> None:
    # Writing workbooks needs xlsxwriter at run time (see docs/simulation.md).
    import xlsxwriter  # type: ignore[import-untyped]

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    book.set_properties({"created": datetime(2020, 1, 1), "author": "fengyan simulate"})
    sheet = book.add_worksheet("许可名录")
    sheet.write_row(0, 0, [_header(spec, f) for f in fields])
    for r, row in enumerate(rows, start=1):
        sheet.write_row(r, 0, [cell(row.get(f)) for f in fields])
    book.close()


def _mapping(path: Path, entity: EntityType, spec: FileSpec, fields: list[str]) -> None:
    columns: dict[str, Any] = {}
    for name in fields:
        header = _header(spec, name)
        rule: dict[str, Any] = {"field": name}
        if name in spec.scale:
            rule["scale"] = spec.scale[name]
        if entity.fields[name].multiple:
            rule["separator"] = "[;；]"
        columns[header] = rule if len(rule) > 1 else name
    doc: dict[str, Any] = {"type": entity.name, "columns": columns}
    if spec.values:
        doc["values"] = {k: {w: s for s, w in v.items()} for k, v in spec.values.items()}
    if spec.serial:
        doc["ignore"] = [spec.serial]
    pattern = (
        Path(spec.path).name.rsplit("_", 1)[0] + "_*" + Path(spec.path).suffix
        if spec.as_of
        else Path(spec.path).name
    )
    text = f"# {spec.source}: column headers of {pattern} → schema fields\n"
    path.write_text(
        text + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
