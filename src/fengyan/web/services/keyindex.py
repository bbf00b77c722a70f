"""Rows of an Arrow table found by a string key in microseconds: sorted keys, binary search.

A page that opens one firm needs a handful of rows from each of a dozen tables. Asking
DuckDB for them costs 0.3–1.2 ms per query however small the answer (parsing, binding,
planning, the result's conversion), and an uncached profile asked about 25 times. A
:class:`KeyIndex` holds the rows of one table ordered by a key (and, within a key, in the
order the page shows them) with the keys as a sorted fixed-width byte array: a lookup is
two :func:`numpy.searchsorted` calls and a zero-copy slice (about 10 µs with the
conversion to Python). A second index over the same rows in another key order holds only
its sorted keys and a permutation (:meth:`KeyIndex.reindex`).

Building is vectorised (Arrow and numpy, no Python loop over rows); memory is the rows
themselves plus, per index, one fixed-width key (the longest key's UTF-8 length) per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _key_bytes(column: pa.ChunkedArray | pa.Array) -> np.ndarray[Any, np.dtype[np.bytes_]]:
    """A string column as a fixed-width UTF-8 byte array (numpy ``S<n>``)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    raw = pc.cast(column, pa.binary()).to_numpy(zero_copy_only=False)
    if len(raw) == 0:
        return np.zeros(0, dtype="S1")
    return np.asarray(raw, dtype=np.bytes_)


def _needle(key: str, keys: np.ndarray[Any, np.dtype[np.bytes_]]) -> bytes | None:
    """``key`` as the array compares it, or None when no stored key can equal it.

    A longer key would be cut to the array's width and a key with trailing NULs would
    equal one without them (numpy pads with NULs): neither may match.
    """
    raw = key.encode()
    if len(raw) > keys.dtype.itemsize or raw.endswith(b"\0"):
        return None
    return raw


@dataclass(frozen=True, slots=True)
class KeyIndex:
    """Rows of ``table`` by key: ``keys`` sorted, ``order[i]`` the row of ``keys[i]``.

    ``order`` is None when the table itself is in key order (the primary index of a table).
    """

    table: pa.Table
    keys: np.ndarray[Any, np.dtype[np.bytes_]]
    order: np.ndarray[Any, np.dtype[np.int64]] | None = None

    @classmethod
    def build(cls, table: pa.Table, key: str) -> KeyIndex:
        """An index of ``table`` by column ``key``; rows with a null key are left out.

        Rows keep their order within a key (sort the table by key, then by how a page
        lists them, before building: the index then holds them as they are).
        """
        column = table.column(key)
        if column.null_count:
            table = table.filter(pc.is_valid(column))
        keys = _key_bytes(table.column(key))
        if len(keys) > 1 and not bool(np.all(keys[:-1] <= keys[1:])):
            # Not in byte order (another collation, or unsorted): a stable sort keeps
            # each key's rows in the order they came in.
            perm = np.argsort(keys, kind="stable")
            table, keys = table.take(pa.array(perm)), keys[perm]
        return cls(table, keys)

    @classmethod
    def over(cls, table: pa.Table, keys: pa.ChunkedArray | pa.Array) -> KeyIndex:
        """An index of ``table`` as it is (not reordered) by ``keys``, one per row.

        Rows with a null key are left out; rows sharing a key keep their table order.
        """
        valid = np.asarray(pc.is_valid(keys))
        raw = _key_bytes(pc.fill_null(keys, ""))
        rows = np.arange(len(raw), dtype=np.int64)
        if not bool(valid.all()):
            raw, rows = raw[valid], rows[valid]
        perm = np.argsort(raw, kind="stable")
        return cls(table, raw[perm], rows[perm])

    def reindex(self, keys: pa.ChunkedArray | pa.Array) -> KeyIndex:
        """A second index over the same rows by ``keys`` (one per row of the table)."""
        return KeyIndex.over(self.table, keys)

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def nbytes(self) -> int:
        """Memory held: the rows (shared between an index and its reindexes) and the keys."""
        extra = 0 if self.order is None else self.order.nbytes
        return int(self.table.nbytes + self.keys.nbytes + extra)

    def _span(self, key: str) -> tuple[int, int]:
        needle = _needle(key, self.keys)
        if needle is None:
            return 0, 0
        lo = int(np.searchsorted(self.keys, needle, side="left"))
        hi = int(np.searchsorted(self.keys, needle, side="right"))
        return lo, hi

    def _take(self, lo: int, hi: int) -> pa.Table:
        if self.order is None:
            return self.table.slice(lo, hi - lo)
        return self.table.take(pa.array(self.order[lo:hi]))

    def slice(self, key: str, limit: int | None = None) -> pa.Table:
        """The rows of ``key`` (at most ``limit``), as an Arrow table."""
        lo, hi = self._span(key)
        if limit is not None:
            hi = min(hi, lo + max(0, limit))
        return self._take(lo, hi)

    def rows(self, key: str, limit: int | None = None) -> list[dict[str, Any]]:
        """The rows of ``key`` (at most ``limit``), as dicts."""
        lo, hi = self._span(key)
        if limit is not None:
            hi = min(hi, lo + max(0, limit))
        if hi <= lo:
            return []
        found: list[dict[str, Any]] = self._take(lo, hi).to_pylist()
        return found

    def first(self, key: str) -> dict[str, Any] | None:
        """The first row of ``key``, or None."""
        found = self.rows(key, 1)
        return found[0] if found else None

    def positions(self, keys: Iterable[str]) -> np.ndarray[Any, np.dtype[np.int64]]:
        """Row numbers in ``table`` of every key of ``keys`` (each key once, key order)."""
        needles = [n for k in sorted(set(keys)) if (n := _needle(k, self.keys)) is not None]
        if not needles:
            return np.zeros(0, dtype=np.int64)
        # Every key's span with two searchsorted calls over all needles (not two per key),
        # then the spans' row numbers laid end to end.
        wanted = np.array(needles, dtype=self.keys.dtype)
        lo = np.searchsorted(self.keys, wanted, side="left").astype(np.int64)
        hi = np.searchsorted(self.keys, wanted, side="right").astype(np.int64)
        size = hi - lo
        total = int(size.sum())
        if total == 0:
            return np.zeros(0, dtype=np.int64)
        ends = np.cumsum(size)
        at: np.ndarray[Any, np.dtype[np.int64]] = np.arange(total, dtype=np.int64) + np.repeat(
            lo - (ends - size), size
        )
        return at if self.order is None else self.order[at]

    def many(self, keys: Iterable[str]) -> list[dict[str, Any]]:
        """The rows of every key of ``keys`` (each key once, in sorted key order)."""
        rows = self.positions(keys)
        if len(rows) == 0:
            return []
        found: list[dict[str, Any]] = self.table.take(pa.array(rows)).to_pylist()
        return found
