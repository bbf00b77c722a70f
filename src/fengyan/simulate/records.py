"""Record tables being built: columns of values, added row by row or block by block, and
read back a chunk of rows at a time.

Columns whose name starts with ``_`` are ground truth (the firm a complaint is really
about, how its name was written, the yield a text really promises): writers leave them out
of the agency files and put them in ground_truth/ instead.

Values keep compact types until a writer formats a chunk of them: text as Arrow string
arrays (cheap to gather, slice and join), numbers as numpy arrays (floats with NaN, dates
with NaT). Rows added one at a time are packed into such arrays every few thousand rows,
so a large city never holds millions of Python objects. A missing value reads as ``""``
in a text column, NaN in a float column and ``None`` otherwise — all of which the writers
treat alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fengyan.simulate.core import STR, Ints

# A column: text as an Arrow string array, everything else a numpy array (pyarrow has no
# type information, so mypy sees Any either way).
Column: TypeAlias = Any
TEXT = pa.large_string()  # 64-bit offsets: a column of long texts may pass 2 GB
Part = dict[str, Column]
_PACK_EVERY = 20_000  # rows added one by one are packed into arrays this often


class Source(Protocol):
    """Rows that a writer reads a chunk at a time."""

    names: list[str]

    def __len__(self) -> int: ...

    def take(self, rows: Ints, names: Sequence[str] | None = None) -> dict[str, Column]:
        """Columns ``names`` (default: all) of ``rows``, in the order given."""
        ...


class Table:
    """Named columns of equal length, built from single rows and blocks of rows.

    Rows added with :meth:`add` come first (in the order added), then the blocks given
    to :meth:`extend` in order.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.columns: dict[str, list[Any]] = {}
        self.packed: list[Part] = []
        self.blocks: list[Part] = []
        self._rows = 0

    def __len__(self) -> int:
        return self._rows + sum(_size(p) for p in (*self.packed, *self.blocks))

    def add(self, **row: Any) -> None:
        """Append one record."""
        for key in row:
            if key not in self.columns:
                self.columns[key] = [None] * self._rows
        for key, values in self.columns.items():
            values.append(row.get(key))
        self._rows += 1
        if self._rows >= _PACK_EVERY:
            self.pack()

    def pack(self) -> None:
        """Turn the rows added one by one so far into compact arrays."""
        if self._rows:
            self.packed.append({k: _pack(v) for k, v in self.columns.items()})
        self.columns = {k: [] for k in self.columns}
        self._rows = 0

    def extend(self, block: dict[str, Any]) -> None:
        """Append many records given as equal-length arrays (or scalars to repeat).

        ``block`` is emptied: each column is dropped from it once stored, so a block of
        long texts is never held twice.
        """
        lengths = {len(v) for v in block.values() if isinstance(v, np.ndarray | list | pa.Array)}
        if not lengths:
            return
        (n,) = lengths
        if n == 0:
            return
        part: Part = {}
        for k in list(block):
            v = block.pop(k)
            part[k] = _stored(v) if isinstance(v, np.ndarray | list | pa.Array) else _repeat(v, n)
        self.blocks.append(part)

    def source(self) -> TableSource:
        """The rows for reading (packs pending single rows first)."""
        self.pack()
        return TableSource([p for p in (*self.packed, *self.blocks) if _size(p)])

    def to_columns(self) -> dict[str, Column]:
        """All records as one array per column."""
        src = self.source()
        return src.take(np.arange(len(src)))


class TableSource:
    """Read access to the parts of a :class:`Table` (no copy of the whole table)."""

    def __init__(self, parts: list[Part]) -> None:
        for p in parts:  # text to Arrow once (the numpy copy is dropped)
            for k, v in p.items():
                p[k] = _stored(v)
        self.parts = parts
        names: list[str] = []
        for p in parts:
            names += [k for k in p if k not in names]
        self.names = names
        self.starts = np.cumsum([0, *(_size(p) for p in parts)])

    def __len__(self) -> int:
        return int(self.starts[-1])

    def take(self, rows: Ints, names: Sequence[str] | None = None) -> dict[str, Column]:
        """Columns ``names`` (default: all) of ``rows``, in the order given."""
        rows = np.asarray(rows, dtype=np.int64)
        wanted = list(self.names if names is None else names)
        part = np.searchsorted(self.starts, rows, side="right") - 1
        if len(rows) and part.min() == part.max():  # the usual case: one part
            p = int(part[0])
            local = rows - self.starts[p]
            return {k: _concat([(self.parts[p].get(k), local)]) for k in wanted}
        order = np.argsort(part, kind="stable")
        groups = np.unique(part[order])
        bounds = [*np.searchsorted(part[order], groups, side="left").tolist(), len(rows)]
        back = np.empty(len(rows), dtype=np.int64)
        back[order] = np.arange(len(rows))
        out: dict[str, Column] = {}
        for k in wanted:
            pieces = [
                (self.parts[int(g)].get(k), rows[order[a:b]] - self.starts[int(g)])
                for g, a, b in zip(groups.tolist(), bounds[:-1], bounds[1:], strict=True)
            ]
            grouped = _concat(pieces)
            out[k] = (
                grouped.take(pa.array(back)) if isinstance(grouped, pa.Array) else grouped[back]
            )
        return out


class ColumnSource:
    """Read access to a dict of equal-length columns."""

    def __init__(self, columns: Mapping[str, Column]) -> None:
        self.columns = {k: _stored(v) for k, v in columns.items()}
        self.names = list(columns)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def take(self, rows: Ints, names: Sequence[str] | None = None) -> dict[str, Column]:
        """Columns ``names`` (default: all) of ``rows``, in the order given."""
        wanted = self.names if names is None else names
        return {k: _concat([(self.columns.get(k), rows)]) for k in wanted}


class Reordered:
    """Another source's rows in a new order, with extra columns (record ids)."""

    def __init__(self, base: Source, order: Ints, extra: Mapping[str, Column]) -> None:
        self.base, self.order, self.extra = base, order, {k: _stored(v) for k, v in extra.items()}
        self.names = base.names + [k for k in extra if k not in base.names]

    def __len__(self) -> int:
        return len(self.order)

    def take(self, rows: Ints, names: Sequence[str] | None = None) -> dict[str, Column]:
        """Columns ``names`` (default: all) of ``rows``, in the order given."""
        wanted = self.names if names is None else list(names)
        own = [k for k in wanted if k in self.extra]
        base = [k for k in wanted if k not in self.extra]
        out = self.base.take(self.order[rows], base) if base else {}
        out.update({k: _concat([(self.extra[k], np.asarray(rows))]) for k in own})
        return {k: out[k] for k in wanted}


def _size(part: Part) -> int:
    return len(next(iter(part.values()))) if part else 0


def _stored(values: Any) -> Column:
    """A column as tables keep it: text as Arrow strings, everything else numpy."""
    if isinstance(values, pa.Array):
        return values
    arr = np.asarray(values)
    if arr.dtype == STR or arr.dtype.kind in "US":
        return pa.array(arr if arr.dtype.kind != "S" else arr.astype(STR), type=TEXT)
    return arr


def _repeat(value: Any, n: int) -> Column:
    if isinstance(value, str):
        return fill(value, n)
    if isinstance(value, int) and not isinstance(value, bool):
        return np.full(n, value, dtype=np.int64)
    return np.full(n, value, dtype=object)


def _pack(values: list[Any]) -> Column:
    """Single-row values as an array: text (None → ""), int64, or objects as they are."""
    if all(type(v) is str or v is None for v in values):
        return pa.array(["" if v is None else v for v in values], type=TEXT)
    if all(type(v) is int for v in values) and values:
        try:
            return np.asarray(values, dtype=np.int64)
        except OverflowError:
            pass
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _kind(values: Column | None) -> str:
    if values is None:
        return "missing"
    if isinstance(values, pa.Array):
        return "text"
    k = values.dtype.kind
    if values.dtype == STR or k in "US":
        return "text"
    if k == "M":
        return "date"
    return {"f": "float", "i": "int", "u": "int", "b": "bool"}.get(k, "object")


def _contiguous(rows: Ints) -> bool:
    return (
        len(rows) > 0
        and int(rows[-1]) - int(rows[0]) == len(rows) - 1
        and bool((np.diff(rows) == 1).all())
    )


def _pick(values: Column, rows: Ints) -> Column:
    """``values[rows]``, as a view when the rows are a contiguous run."""
    if _contiguous(rows):
        a = int(rows[0])
        return values[a : a + len(rows)]
    if isinstance(values, pa.Array):
        return values.take(pa.array(rows))
    return values[rows]


def _concat(pieces: list[tuple[Column | None, Ints]]) -> Column:
    """Gather ``rows`` of each piece (None: a column the part lacks) into one column.

    Text and dates become Arrow text ("" when missing), floats stay floats (NaN when
    missing), ints and bools stay as they are when no piece lacks them; anything else
    becomes Python objects (None when missing), as the writers expect.
    """
    kinds = {_kind(v) for v, _ in pieces}
    real = kinds - {"missing"}
    if real <= {"text", "date"} and real:
        texts = [fill("", len(rows)) if v is None else text(_pick(v, rows)) for v, rows in pieces]
        return texts[0] if len(texts) == 1 else pa.concat_arrays(texts)
    if real == {"float"}:
        out = [
            np.full(len(rows), np.nan) if v is None else np.asarray(_pick(v, rows), np.float64)
            for v, rows in pieces
        ]
    elif len(kinds) == 1 and real and real <= {"int", "bool"}:
        out = [np.asarray(_pick(v, rows)) for v, rows in pieces if v is not None]
    else:
        out = [
            np.full(len(rows), None, dtype=object) if v is None else objects(_pick(v, rows))
            for v, rows in pieces
        ]
    column: np.ndarray = out[0] if len(out) == 1 else np.concatenate(out)
    return column


def text(values: Column) -> pa.Array:
    """Text (or dates, as YYYY-MM-DD; "" for NaT) as an Arrow string array."""
    if isinstance(values, pa.Array):
        return values if values.type == TEXT else values.cast(TEXT)
    if values.dtype.kind == "M":
        days = pa.array(values.astype("datetime64[D]"), from_pandas=True)
        return days.cast(TEXT).fill_null("")
    if values.dtype.kind == "S":
        values = values.astype(STR)
    return pa.array(values, type=TEXT)


class ArrowCopies:
    """Arrow copies of some text columns of a finished table, made on first use: writers
    gather millions of codes and names, which Arrow does without a string per value."""

    def __init__(self) -> None:
        self._copies: dict[str, pa.Array] = {}

    def get(self, owner: Any, name: str) -> pa.Array:
        """Column ``name`` of ``owner`` as Arrow text (the column must not change later)."""
        got = self._copies.get(name)
        if got is None:
            got = self._copies[name] = text(np.asarray(getattr(owner, name)))
        return got


def take(values: pa.Array, rows: Ints) -> pa.Array:
    """``values[rows]`` of an Arrow array."""
    return values.take(pa.array(np.asarray(rows, dtype=np.int64)))


def fill(value: str, n: int) -> pa.Array:
    """``n`` times the same text."""
    return pa.repeat(pa.scalar(value, TEXT), n)


def join(*parts: Any, sep: str = "") -> pa.Array:
    """Element-wise concatenation of text arrays and constants."""
    args = [pa.scalar(p, TEXT) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*args, pa.scalar(sep, TEXT))


def digits_text(values: np.ndarray) -> pa.Array:
    """Integers as decimal text."""
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), TEXT)


def objects(values: Column) -> np.ndarray:
    """Values as an object array; strings become Python strings, NaT/NaN None."""
    if isinstance(values, pa.Array):
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)
    arr = np.asarray(values)
    if arr.dtype == STR or arr.dtype.kind == "U":
        return np.asarray(arr.tolist(), dtype=object)
    if arr.dtype.kind == "M":
        text = np.datetime_as_string(arr.astype("datetime64[D]")).astype(object)
        text[np.isnat(arr)] = None
        dates: np.ndarray = text
        return dates
    if arr.dtype.kind == "f":
        out = arr.astype(object)
        out[np.isnan(arr)] = None
        return out
    if arr.dtype.kind == "O":
        return arr
    out = np.empty(len(arr), dtype=object)
    out[:] = arr.tolist()
    return out
