"""The chunked column writer writes every cell exactly as writing row by row would.

The reference below is the simulator's original writer (one dict per record, the ``csv``
module and ``orjson`` per row); the column writer must give the same bytes for awkward
values: quotes, commas, line breaks, control characters, empty cells, NaN, floats at
every magnitude, numbers given as text, lists, dates in both styles.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from fengyan.schema import EntityType, FieldType, load_schema
from fengyan.simulate import agencies, writers
from fengyan.simulate.core import STR
from fengyan.simulate.params import load_params
from fengyan.simulate.records import ColumnSource, objects
from fengyan.simulate.writers import FileSpec, write

TEXTS = [
    "",
    "plain",
    "a,b",
    'say "hi"',
    "line\nbreak",
    "cr\rhere",
    "tab\tin",
    "back\\slash",
    "中文，全角；分号",
    "x\x01y",
    " spaced ",
    '"',
    "存续",
    "person",
    "91440300MA5G00001X",
    "13800138000",
]
FLOATS = [
    0.0,
    -0.0,
    1.0,
    12.5,
    1234.56,
    -3.14159,
    2.675,
    0.1 + 0.2,
    1e-5,
    1e-7,
    123456789.123456,
    99999999999.99,
    1e15,
    1e16,
    123.4,
    7e-3,
    np.nan,
]
DATES = ["2024-05-01", "1999-12-31", "", "2023-02-03 10:00"]


def _column(rng: np.random.Generator, ftype: FieldType, multiple: bool, n: int) -> np.ndarray:
    """A column of awkward values in one of the representations tables produce."""
    how = int(rng.integers(0, 3))
    if multiple:
        values = [
            None if k % 3 == 0 else [TEXTS[int(rng.integers(1, len(TEXTS)))], "二"]
            for k in range(n)
        ]
        out = np.empty(n, dtype=object)
        out[:] = values
        return out
    if ftype in (FieldType.MONEY, FieldType.NUMBER, FieldType.PERCENT, FieldType.INTEGER):
        x = np.array(FLOATS)[rng.integers(0, len(FLOATS), n)] * np.where(
            rng.random(n) < 0.5, 1.0, rng.lognormal(3, 4, n)
        )
        if how == 0:
            return x
        if how == 1:
            whole = np.round(np.clip(np.nan_to_num(x), -1e18, 1e18)).astype(np.int64).astype(STR)
            return np.where(np.isnan(x), "", whole).astype(STR)
        out = np.empty(n, dtype=object)
        out[:] = [
            None if v != v else (int(v) if k % 2 and abs(v) < 1e9 else v)
            for k, v in enumerate(x.tolist())
        ]
        return out
    if ftype in (FieldType.DATE, FieldType.DATETIME):
        if how == 0:
            days = np.datetime64("2020-01-01") + rng.integers(0, 2000, n).astype("timedelta64[D]")
            return np.where(rng.random(n) < 0.2, np.datetime64("NaT"), days)
        return np.asarray(np.array(DATES)[rng.integers(0, 3, n)], dtype=STR)
    picked = [TEXTS[int(k)] for k in rng.integers(0, len(TEXTS), n)]
    if how == 0:
        return np.asarray(picked, dtype=STR)
    out = np.empty(n, dtype=object)
    out[:] = [None if v == "" and k % 2 else v for k, v in enumerate(picked)]
    return out


def _row_writer(entity: EntityType, spec: FileSpec, columns: dict[str, np.ndarray]) -> bytes:
    """The original writer: Python values per record, then csv / orjson row by row."""
    names = [k for k in entity.fields if k in columns]
    n = len(next(iter(columns.values())))
    converted: dict[str, list[Any]] = {}
    for name in names:
        ftype = entity.fields[name].type
        values = objects(columns[name]).tolist()
        if ftype in (FieldType.MONEY, FieldType.NUMBER, FieldType.PERCENT, FieldType.INTEGER):
            div = spec.scale.get(name, 1.0)
            values = [_number(v, div) if v is not None and v == v else None for v in values]
        elif ftype is FieldType.DATE and spec.date_style == "cn":
            values = [_cn_date(v) if v else None for v in values]
        if name in spec.values:
            table = spec.values[name]
            values = [table.get(v, v) if isinstance(v, str) else v for v in values]
        converted[name] = [None if v == "" else v for v in values]
    rows = [{k: converted[k][i] for k in names} for i in range(n)]
    if spec.fmt == "jsonl":
        return b"".join(
            orjson.dumps({k: v for k, v in r.items() if v is not None}) + b"\n" for r in rows
        )
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n" if spec.encoding == "gb18030" else "\n")
    header = [spec.headers.get(k, k) if spec.headers else k for k in names]
    w.writerow(([spec.serial] if spec.serial else []) + header)
    for i, r in enumerate(rows, start=1):
        cells = ["" if r[k] is None else _cell(r[k]) for k in names]
        w.writerow(([str(i)] if spec.serial else []) + cells)
    return buf.getvalue().encode(spec.encoding)


def _number(value: Any, divisor: float) -> Any:
    if value is None or value == "":
        return None
    x = float(value) / divisor
    if x == int(x) and abs(x) < 1e15:
        return int(x)
    return round(x, 6 if divisor != 1 else 2)


def _cn_date(text: str) -> str:
    y, m, d = text[:10].split("-")
    return f"{int(y)}年{int(m)}月{int(d)}日"


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return "；".join(str(v) for v in value)
    return str(value)


def _specs() -> list[FileSpec]:
    schema = load_schema()
    return [
        agencies.registry_spec("Enterprise", "2024-03", "2024-03-31", schema),
        agencies.registry_spec("Officer", "2024-03", "2024-03-31", schema),
        agencies.periodic_spec("FundFlowSummary", "2024-03", "2024-03-31", schema),
        agencies.periodic_spec("TaxRecord", "2024-03", "2024-03-31", schema),
        agencies.event_spec("Judgment", "2025-12-31"),
        agencies.event_spec("Complaint", "2025-12-31"),
        agencies.registry_spec("WebPresence", "2024-03", "2024-03-31", schema),
    ]


@pytest.mark.parametrize("spec", _specs(), ids=lambda s: s.path)
def test_columns_are_written_as_the_row_writer_wrote_them(spec: FileSpec, tmp_path: Path) -> None:
    entity = load_schema().get(spec.type)
    rng = np.random.default_rng(len(spec.path))
    n = 400
    columns = {k: _column(rng, f.type, f.multiple, n) for k, f in entity.fields.items()}
    if "status" in columns:  # code words the spec rewrites (存续 → 存续（在营、开业、在册）)
        columns["status"][::3] = "存续"
    write(tmp_path, entity, spec, ColumnSource(columns), np.random.default_rng(0), None)
    assert (tmp_path / spec.path).read_bytes() == _row_writer(entity, spec, columns)


@pytest.mark.parametrize("spec", _specs()[:5], ids=lambda s: s.path)
def test_chunks_and_dirty_rows_do_not_depend_on_the_chunk_size(
    spec: FileSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entity = load_schema().get(spec.type)
    rng = np.random.default_rng(3)
    n = 500
    columns = {k: _column(rng, f.type, f.multiple, n) for k, f in entity.fields.items()}
    dirty = load_params().dirty.model_copy(update={"share": 0.05, "fullwidth_share": 0.05})
    written = []
    for step in (7, 100_000):
        monkeypatch.setattr(writers, "CHUNK_ROWS", step)
        monkeypatch.setattr(writers, "_chunk_rows", lambda entity, names, step=step: step)
        out = tmp_path / str(step)
        s = FileSpec(**{**spec.__dict__, "dirty": []})
        write(out, entity, s, ColumnSource(columns), np.random.default_rng(5), dirty)
        written.append(((out / s.path).read_bytes(), s.dirty, s.rows))
    assert written[0] == written[1]
    _, log, rows = written[0]
    assert log and rows == n + len(log)
