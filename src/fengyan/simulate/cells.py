"""Cells as agencies write them, a column at a time: numbers, dates and code words in their
written form, then whole CSV or JSON Lines chunks joined with pyarrow.

Every value is written exactly as the row-by-row writer wrote it (``str`` of the rounded
number, ``orjson`` for JSON, the ``csv`` module's minimal quoting), so a chunk written
here and the same rows written one by one give the same bytes; tests compare the two.
Values that need care (text with line breaks or control characters, numbers beyond the
range where numpy and Python print floats alike) take the row-by-row path.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from fengyan.schema import EntityType, FieldType
from fengyan.simulate.core import STR
from fengyan.simulate.records import TEXT, Column, digits_text, fill, join, objects, text

NUMERIC = (FieldType.MONEY, FieldType.NUMBER, FieldType.PERCENT, FieldType.INTEGER)
# Rounded values that numpy prints as Python would: below these bounds a value kept to
# 2 (or 6) decimals is the double nearest to a whole number of cents (millionths).
_SAFE_ABOVE = 1e-4
_SAFE_BELOW = {2: 1e13, 6: 1e8}


class Style(Protocol):
    """How a file writes its cells (the part of a file spec this module reads)."""

    scale: dict[str, float]  # field → divisor
    values: dict[str, dict[str, str]]  # field → {schema word: written word}
    date_style: str  # iso | cn


@dataclass
class Cells:
    """One written column of a chunk of rows.

    ``kind`` is ``text`` (an Arrow string array, "" = empty), ``num`` (floats after
    scaling, NaN = empty; whole numbers are written without decimals, others rounded to
    ``digits``) or ``obj`` (Python values as the row writer had them, None = empty).
    """

    kind: str
    values: Any
    digits: int = 2

    def python(self, i: int) -> Any:
        """The value of row ``i`` as the row-by-row writer had it."""
        if self.kind == "text":
            v = self.values[i].as_py()
            return None if v == "" else v
        if self.kind == "num":
            return number(float(self.values[i]), self.digits)
        return self.values[i]

    def set_text(self, rows: list[int], values: list[str]) -> None:
        """Replace the text of ``rows`` (ascending)."""
        mask = np.zeros(len(self.values), dtype=bool)
        mask[rows] = True
        self.values = pc.replace_with_mask(self.values, pa.array(mask), pa.array(values, type=TEXT))


def number(x: float, digits: int) -> int | float | None:
    """A scaled number as written: whole numbers as ints, others rounded."""
    if x != x:
        return None
    if x == int(x) and abs(x) < 1e15:
        return int(x)
    return round(x, digits)


def cell(value: Any) -> str:
    """A CSV cell: empty for None, lists joined with ；."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "；".join(str(v) for v in value)
    return str(value)


def prepare(entity: EntityType, spec: Style, name: str, raw: Column) -> Cells:
    """Column ``name`` of a chunk as written by ``spec`` (scales, date style, code words)."""
    ftype = entity.fields[name].type
    if ftype in NUMERIC:
        div = spec.scale.get(name, 1.0)
        return Cells("num", _floats(raw) / div, 6 if div != 1 else 2)
    cn = ftype is FieldType.DATE and spec.date_style == "cn"
    table: dict[str, str] | None = spec.values.get(name)
    if isinstance(raw, pa.Array) or raw.dtype == STR or raw.dtype.kind in "USM":
        values = text(raw)
        if cn:
            values = _cn_dates(values)
        if table:
            hits = [(pc.equal(values, pa.scalar(w, TEXT)), w2) for w, w2 in table.items()]
            for hit, written in hits:
                values = pc.if_else(hit, pa.scalar(written, TEXT), values)
        return Cells("text", values)
    values_ = objects(raw).tolist()
    if cn:
        values_ = [_cn_date(v) if v else None for v in values_]
    if table:
        values_ = [table.get(v, v) if isinstance(v, str) else v for v in values_]
    out_obj = np.empty(len(values_), dtype=object)
    out_obj[:] = [None if v == "" else v for v in values_]
    return Cells("obj", out_obj)


def _floats(raw: Column) -> np.ndarray:
    """Numbers as float64, NaN where empty (None, "" or NaN)."""
    if isinstance(raw, pa.Array):
        raw = np.asarray(raw.to_numpy(zero_copy_only=False).astype(str), dtype=STR)
    if raw.dtype.kind in "fiub":
        floats: np.ndarray = raw.astype(np.float64)
        return floats
    if raw.dtype == STR or raw.dtype.kind == "U":
        as_text = raw.astype(STR)
        out: np.ndarray = np.where(as_text == "", "nan", as_text).astype(np.float64)
        return out
    return np.array(
        [np.nan if v is None or v == "" or v != v else float(v) for v in raw.tolist()],
        dtype=np.float64,
    )


def _cn_date(text: str) -> str:
    y, m, d = text[:10].split("-")
    return f"{int(y)}年{int(m)}月{int(d)}日"


def _cn_dates(values: pa.Array) -> pa.Array:
    """2024-05-01 → 2024年5月1日 (empty stays empty)."""
    full = pc.not_equal(values, pa.scalar("", TEXT))
    if not pc.any(full).as_py():
        return values
    iso = pc.match_substring_regex(values, "^[0-9]{4}-[0-9]{2}-[0-9]{2}")
    if not pc.all(pc.or_kleene(pc.invert(full), iso)).as_py():  # not all ISO: one by one
        texts = values.to_pylist()
        return pa.array([_cn_date(v) if v else v for v in texts], type=TEXT)
    dated = values.filter(full)
    parts = [
        digits_text(pc.cast(pc.utf8_slice_codeunits(dated, a, b), pa.int64()).to_numpy())
        for a, b in ((0, 4), (5, 7), (8, 10))
    ]
    written = join(parts[0], "年", parts[1], "月", parts[2], "日")
    return pc.replace_with_mask(values, full, written)


# --- text of cells ---------------------------------------------------------------------


def csv_text(c: Cells) -> pa.Array:
    """Cell text of a column for CSV ("" when empty)."""
    if c.kind == "text":
        return c.values
    if c.kind == "num":
        return _number_text(c.values, c.digits, json=False)
    return pa.array([cell(v) for v in c.values.tolist()], type=TEXT)


def json_text(c: Cells) -> tuple[pa.Array, np.ndarray]:
    """JSON value text of a column and where it is empty (the key is then left out)."""
    if c.kind == "text":
        missing = pc.equal(c.values, pa.scalar("", TEXT)).to_numpy(zero_copy_only=False)
        return _json_strings(c.values), missing
    if c.kind == "num":
        return _number_text(c.values, c.digits, json=True), np.isnan(c.values)
    values = c.values.tolist()
    text_ = ["" if v is None else orjson.dumps(v).decode() for v in values]
    return pa.array(text_, type=TEXT), np.asarray([v is None for v in values], dtype=bool)


def _number_text(x: np.ndarray, digits: int, json: bool) -> pa.Array:
    """Numbers as the row writer printed them: ints for whole numbers, else rounded."""
    finite = ~np.isnan(x)
    whole = finite & (np.abs(x) < 1e15)
    whole[whole] = x[whole] == np.trunc(x[whole])
    if whole.all():
        return digits_text(x.astype(np.int64))
    out = digits_text(np.where(whole, x, 0).astype(np.int64))
    rest = np.flatnonzero(finite & ~whole)
    if len(rest):
        scale = 10.0**digits
        v = x[rest]
        k = np.rint(v * scale)
        size = np.abs(v)
        safe = (k / scale == v) & (size >= _SAFE_ABOVE) & (size < _SAFE_BELOW.get(digits, 0.0))
        # Kept to `digits` decimals and printed as Python does: 12.5, -0.05, 3.141593.
        ks = np.abs(np.where(safe, k, 0)).astype(np.int64)
        unit = 10**digits
        frac = pc.utf8_rtrim(pc.utf8_lpad(digits_text(ks % unit), width=digits, padding="0"), "0")
        sign = pa.array(np.where(k < 0, "-", ""), type=TEXT)
        fixed = join(sign, digits_text(ks // unit), ".", frac)
        if not safe.all():  # the few others as Python prints them
            values = [round(float(value), digits) for value in v[~safe].tolist()]
            shown = [orjson.dumps(value).decode() if json else str(value) for value in values]
            fixed = pc.replace_with_mask(fixed, pa.array(~safe), pa.array(shown, type=TEXT))
        out = pc.replace_with_mask(out, _mask(len(x), rest), fixed)
    if not finite.all():
        out = pc.if_else(pa.array(finite), out, pa.scalar("", TEXT))
    return out


def _mask(n: int, rows: Any) -> pa.Array:
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return pa.array(mask)


def _data(arr: pa.Array) -> bytes:
    """The UTF-8 bytes of a string array's values, one after another."""
    if len(arr) == 0:
        return b""
    _, offsets_buf, data_buf = arr.buffers()
    width = np.int64 if arr.type == pa.large_string() else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=width)
    a, b = int(offsets[arr.offset]), int(offsets[arr.offset + len(arr)])
    return b"" if data_buf is None or b == a else data_buf.to_pybytes()[a:b]


def _has(data: bytes, chars: bytes) -> bool:
    """Whether any of ``chars`` occurs (UTF-8 never uses ASCII bytes inside a character)."""
    return bool(data.translate(None, _others(chars)))


@cache
def _others(chars: bytes) -> bytes:
    return bytes(c for c in range(256) if c not in chars)


_CONTROL = bytes(range(32))


def _json_strings(values: pa.Array) -> pa.Array:
    """Strings as orjson writes them: quoted, with \\ and " escaped."""
    data = _data(values)
    if _has(data, _CONTROL):
        control = pc.match_substring_regex(values, "[\\x00-\\x1f]").to_numpy(zero_copy_only=False)
        texts = values.to_pylist()
        return pa.array(
            [
                orjson.dumps(t).decode() if f else _quote_json(t)
                for t, f in zip(texts, control, strict=True)
            ],
            type=TEXT,
        )
    if _has(data, b'"\\'):
        values = pc.replace_substring(values, "\\", "\\\\")
        values = pc.replace_substring(values, '"', '\\"')
    return join('"', values, '"')


def _quote_json(text_: str) -> str:
    return '"' + text_.replace("\\", "\\\\").replace('"', '\\"') + '"'


def plain_text(values: Column) -> pa.Array:
    """Values as the ``csv`` module writes them: ``str`` of each, "" for None and NaN."""
    if isinstance(values, pa.Array):
        return text(values)
    kind = values.dtype.kind
    if values.dtype == STR or kind in "USM":
        return text(values)
    if kind in "iu":
        return digits_text(values)
    if kind == "b":
        return pa.array(np.where(values, "True", "False"), type=TEXT)
    if kind == "f":
        out = np.full(len(values), "", dtype=STR)
        size = np.abs(values)
        easy = (size == 0) | ((size >= _SAFE_ABOVE) & (size < 1e15))
        out[easy] = values[easy].astype(STR)  # numpy prints these as repr() does
        for i in np.flatnonzero(~easy & ~np.isnan(values)).tolist():
            out[i] = repr(float(values[i]))
        return pa.array(out, type=TEXT)
    return pa.array(["" if v is None else str(v) for v in values.tolist()], type=TEXT)


# --- chunks of lines -------------------------------------------------------------------


@dataclass
class Lines:
    """A chunk of written lines: their UTF-8 bytes and where each line starts."""

    data: memoryview
    offsets: np.ndarray  # len(lines) + 1 byte offsets into data

    def piece(self, a: int, b: int) -> memoryview:
        """Lines ``a..b-1`` as bytes."""
        return self.data[int(self.offsets[a]) : int(self.offsets[b])]


def csv_lines(columns: list[pa.Array], terminator: str) -> Lines:
    """CSV lines of text columns with the ``csv`` module's minimal quoting."""
    arrays = list(columns)
    awkward: np.ndarray | None = None  # rows with a line break in a cell: csv module
    for j, arr in enumerate(arrays):
        if not _has(_data(arr), b',"\r\n'):
            continue
        breaks = pc.match_substring_regex(arr, "[\\r\\n]").to_numpy(zero_copy_only=False)
        if breaks.any():
            awkward = breaks if awkward is None else awkward | breaks
        quote = pc.match_substring_regex(arr, '[,"]')
        quoted = join('"', pc.replace_substring(arr, '"', '""'), '"')
        arrays[j] = pc.if_else(quote, quoted, arr)
    lines = join(join(*arrays, sep=","), terminator)
    if awkward is not None:
        texts = lines.to_pylist()
        for i in np.flatnonzero(awkward).tolist():
            texts[i] = csv_row([c[i].as_py() for c in columns], terminator)
        lines = pa.array(texts, type=TEXT)
    return _lines(lines)


def csv_row(cells: list[str], terminator: str) -> str:
    """One CSV line written by the ``csv`` module."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator=terminator).writerow(cells)
    return buf.getvalue()


def json_lines(fields: list[tuple[str, pa.Array, np.ndarray]], n: int) -> Lines:
    """JSON Lines of ``(key, value text, empty)`` columns; empty keys are left out."""
    parts = []
    for key, values, missing in fields:
        frag = join(orjson.dumps(key).decode() + ":", values)
        if missing.any():
            frag = pc.if_else(pa.array(missing), pa.scalar(None, TEXT), frag)
        parts.append(frag)
    if parts:
        args = [*parts, pa.scalar(",", TEXT)]
        body = pc.binary_join_element_wise(*args, null_handling="skip")
    else:
        body = fill("", n)
    return _lines(join("{", body, "}\n"))


def _lines(arr: pa.Array) -> Lines:
    arr = arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    start, end = int(offsets[0]), int(offsets[-1])
    data = memoryview(data_buf)[start:end] if data_buf is not None else memoryview(b"")
    return Lines(data, offsets - start)
