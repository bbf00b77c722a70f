"""Record tables being built: columns of values, added row by row or block by block.

Columns whose name starts with ``_`` are ground truth (the firm a complaint is really
about, how its name was written, the yield a text really promises): writers leave them out
of the agency files and put them in ground_truth/ instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from fengyan.simulate.core import STR


class Table:
    """Named columns of equal length; missing values are ``None``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.columns: dict[str, list[Any]] = {}
        self.blocks: list[dict[str, np.ndarray]] = []
        self._rows = 0

    def __len__(self) -> int:
        return self._rows + sum(len(next(iter(b.values()))) for b in self.blocks if b)

    def add(self, **row: Any) -> None:
        """Append one record."""
        for key in row:
            if key not in self.columns:
                self.columns[key] = [None] * self._rows
        for key, values in self.columns.items():
            values.append(row.get(key))
        self._rows += 1

    def extend(self, block: Mapping[str, Any]) -> None:
        """Append many records given as equal-length arrays (or scalars to repeat)."""
        lengths = {len(v) for v in block.values() if isinstance(v, np.ndarray | list)}
        if not lengths:
            return
        (n,) = lengths
        if n == 0:
            return
        self.blocks.append(
            {
                k: (
                    np.asarray(v)
                    if isinstance(v, np.ndarray | list)
                    else np.full(n, v, dtype=object)
                )
                for k, v in block.items()
            }
        )

    def to_columns(self) -> dict[str, np.ndarray]:
        """All records as one array per column (object arrays, ``None`` for missing)."""
        names: list[str] = list(self.columns)
        for b in self.blocks:
            names += [k for k in b if k not in names]
        parts: dict[str, list[np.ndarray]] = {k: [] for k in names}
        sizes = [self._rows] + [len(next(iter(b.values()))) for b in self.blocks]
        sources: Iterable[Mapping[str, Any]] = [self.columns, *self.blocks]
        for size, source in zip(sizes, sources, strict=True):
            for k in names:
                if k in source:
                    parts[k].append(_objects(source[k]))
                else:
                    parts[k].append(np.full(size, None, dtype=object))
        return {k: np.concatenate(v) if v else np.zeros(0, dtype=object) for k, v in parts.items()}


def _objects(values: Any) -> np.ndarray:
    """Values as an object array; numpy strings become Python strings, NaT/NaN None."""
    if isinstance(values, list):  # row-added columns may hold lists (multi-valued fields)
        out_list = np.empty(len(values), dtype=object)
        out_list[:] = values
        return out_list
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
    out = np.empty(len(arr), dtype=object)
    out[:] = arr.tolist()
    return out
