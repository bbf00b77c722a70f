"""Write record tables the way agencies deliver them: GB18030 CSV with Chinese headers and a
mapping file, UTF-8 CSV, JSON Lines or an Excel workbook.

Output is byte-for-byte deterministic: rows in a fixed order, no timestamps, fixed
workbook properties. Dirty rows are added here (:mod:`.dirty`) so their row numbers are
the ones ingest will report.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import yaml

from fengyan.schema import EntityType, FieldType
from fengyan.simulate.dirty import DirtyRow, inject
from fengyan.simulate.params import DirtyParams

_NUMERIC = (FieldType.MONEY, FieldType.NUMBER, FieldType.PERCENT, FieldType.INTEGER)


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


def _cn_date(text: str) -> str:
    y, m, d = text[:10].split("-")
    return f"{int(y)}年{int(m)}月{int(d)}日"


def _number(value: Any, divisor: float) -> Any:
    if value is None or value == "":
        return None
    x = float(value) / divisor
    if x == int(x) and abs(x) < 1e15:
        return int(x)
    return round(x, 6 if divisor != 1 else 2)


def prepare(
    entity: EntityType, spec: FileSpec, columns: dict[str, np.ndarray]
) -> list[dict[str, Any]]:
    """Rows of written values (field name → value) in the table's order."""
    names = [n for n in entity.fields if n in columns]
    n = len(next(iter(columns.values()))) if columns else 0
    converted: dict[str, list[Any]] = {}
    for name in names:
        ftype = entity.fields[name].type
        values = columns[name].tolist()
        if ftype in _NUMERIC:
            div = spec.scale.get(name, 1.0)
            values = [_number(v, div) if v is not None and v == v else None for v in values]
        elif ftype is FieldType.DATE and spec.date_style == "cn":
            values = [_cn_date(v) if v else None for v in values]
        if name in spec.values:
            table = spec.values[name]
            values = [table.get(v, v) if isinstance(v, str) else v for v in values]
        converted[name] = [None if v == "" else v for v in values]
    return [{name: converted[name][i] for name in names} for i in range(n)]


def write(
    root: Path,
    entity: EntityType,
    spec: FileSpec,
    rows: list[dict[str, Any]],
    rng: np.random.Generator,
    dirty: DirtyParams | None,
) -> None:
    """Write ``rows`` (after adding dirty rows) to ``root / spec.path``."""
    styles = {
        k: "date_cn"
        for k, f in entity.fields.items()
        if spec.date_style == "cn" and f.type is FieldType.DATE
    }
    if dirty is not None:
        rows, spec.dirty = inject(
            rng, entity, rows, dirty, {k: styles.get(k, "") for k in (rows[0] if rows else {})}
        )
    spec.rows = len(rows)
    path = root / spec.path
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = (
        list(rows[0])
        if rows
        else [n for n in entity.fields if spec.headers is None or n in spec.headers]
    )
    if spec.fmt == "jsonl":
        with open(path, "wb") as fh:
            for row in rows:
                fh.write(orjson.dumps({k: v for k, v in row.items() if v is not None}) + b"\n")
    elif spec.fmt == "csv":
        _csv(path, spec, fields, rows)
    else:
        _xlsx(path, spec, fields, rows)
    if spec.mapping:
        _mapping(root / spec.mapping, entity, spec, fields)


def _header(spec: FileSpec, name: str) -> str:
    return spec.headers.get(name, name) if spec.headers else name


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "；".join(str(v) for v in value)
    return str(value)


def _csv(path: Path, spec: FileSpec, fields: list[str], rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n" if spec.encoding == "gb18030" else "\n")
    header = [_header(spec, f) for f in fields]
    w.writerow(([spec.serial] if spec.serial else []) + header)
    with open(path, "wb") as fh:
        for i, row in enumerate(rows, start=1):
            cells = [_cell(row.get(f)) for f in fields]
            w.writerow(([str(i)] if spec.serial else []) + cells)
            if i % 50_000 == 0:  # stream large files in blocks
                fh.write(buf.getvalue().encode(spec.encoding))
                buf.seek(0)
                buf.truncate()
        fh.write(buf.getvalue().encode(spec.encoding))


def _xlsx(path: Path, spec: FileSpec, fields: list[str], rows: list[dict[str, Any]]) -> None:
    # Writing workbooks needs xlsxwriter at run time (see docs/simulation.md).
    import xlsxwriter  # type: ignore[import-untyped]

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    book.set_properties({"created": datetime(2020, 1, 1), "author": "fengyan simulate"})
    sheet = book.add_worksheet("许可名录")
    sheet.write_row(0, 0, [_header(spec, f) for f in fields])
    for r, row in enumerate(rows, start=1):
        sheet.write_row(r, 0, [_cell(row.get(f)) for f in fields])
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
