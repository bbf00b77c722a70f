"""The graph's node dictionary: every node id (a string) once, and integer codes for it.

The graph of a city of 3 million firms has about 8 million nodes and 23 million edges;
aggregating, sorting and joining edges by their string ids (``ent:91…``, ``per:…``,
``phone:+86…``) cost more than the graph algorithms themselves. So the ids are replaced by
codes once, when the edges are read (:func:`fengyan.graph.build.load_edge_codes`), every
step works on the codes, and the strings come back only in the tables written to the lake.

The dictionary is *sorted* (byte order, DuckDB's and Arrow's order of strings): code order
is id order. Hence an ``ORDER BY`` or ``min`` over codes gives the rows or the node it gave
over the ids, and every id with a given prefix (``ent:``, ``per:``) is one run of codes
(:func:`prefix_range`).

It is made by hashing the columns' values (Arrow's ``dictionary_encode``) and sorting the
distinct ones. The edges' ids fall into kinds that do not mix — firms and persons at one
end, contact points at the other — so :func:`node_index` can hash and sort two groups of
columns apart, in two threads (Arrow's kernels release the GIL), and merge the two sorted
dictionaries: the kinds interleave as a few long runs (``addr:``…``email:``, ``ent:``,
``ip:``, ``per:``, ``phone:``), each found by a binary search, and a value both groups hold
gets one code. Groups that interleave in too many runs are sorted together instead, so the
result is the one-group result for any input.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fengyan.threads import InlineExecutor

Column: TypeAlias = pa.Array | pa.ChunkedArray

# Runs of the two groups' merged dictionaries beyond which they are hashed and sorted
# together (a run costs two galloping searches of Python-level comparisons, well under a
# millisecond; the edges of a city have about six runs).
_MAX_RUNS = 1024


def node_index(
    *columns: Column, beside: Collection[int] = (), pool: Executor | None = None
) -> tuple[pa.Array, list[np.ndarray]]:
    """The sorted distinct values of the string ``columns`` and each column's codes.

    Nulls are not values: a null gets code -1. Codes are ``int32`` (a dictionary of up to
    two billion nodes). One hash pass over all the rows, then one sort of the distinct
    values only.

    ``beside``: the places of columns whose values are of other kinds than the rest's (the
    contact points beside firms and persons). These are hashed and sorted as a group of
    their own — in ``pool``'s thread (:func:`fengyan.threads.second_thread`) while this
    one does the rest, or one after the other without a pool — and the two sorted
    dictionaries merged (:func:`_merge`). The output is the same as without ``beside``
    for any columns; it is faster only where the groups share few values and interleave
    in few runs (else they are hashed together again, :func:`_merge_by_hash`).
    """
    groups = [
        [i for i in range(len(columns)) if i not in beside],
        [i for i in range(len(columns)) if i in beside],
    ]
    if not groups[0] or not groups[1]:
        one = _hash(columns)
        return one.ids, one.codes(_rank(one.order, np.arange(len(one.order), dtype=np.int32)))
    pool = pool or InlineExecutor()
    # The group beside in the second thread, the rest (at the edges, the larger) here.
    later_hash = pool.submit(_hash, [columns[i] for i in groups[1]])
    hashed = (_hash([columns[i] for i in groups[0]]), later_hash.result())
    del later_hash  # a done future holds its result
    merged = _merge(hashed[0].ids, hashed[1].ids)
    if merged is None:
        merged = _merge_by_hash(hashed[0].ids, hashed[1].ids)
    ids, code = merged
    ranks = [_rank(h.order, c) for h, c in zip(hashed, code, strict=True)]
    del code
    later_codes = pool.submit(hashed[1].codes, ranks[1])
    out: list[np.ndarray] = [np.empty(0, np.int32)] * len(columns)
    both = (hashed[0].codes(ranks[0]), later_codes.result())
    for group, codes in zip(groups, both, strict=True):
        for i, column_codes in zip(group, codes, strict=True):
            out[i] = column_codes
    return ids, out


@dataclass
class _Hashed:
    """Columns hashed into one dictionary: ``encoded`` (their chunks, dictionary-encoded),
    ``order`` (the dictionary's sort order) and ``ids`` (the dictionary in that order)."""

    encoded: pa.ChunkedArray
    lengths: list[int]
    order: np.ndarray
    ids: pa.Array

    def codes(self, rank: np.ndarray) -> list[np.ndarray]:
        """Each column's codes: ``rank`` of each row's dictionary index (its last entry,
        for the nulls' index -1, is -1)."""
        # The output chunks need not match the input's (empty ones are dropped): split the
        # codes by the columns' lengths instead. Each chunk's indices are ranked straight
        # into one array (no wider copy of all the indices first).
        every = np.empty(sum(self.lengths), dtype=np.int32)
        at = 0
        for chunk in self.encoded.chunks:
            indices = chunk.indices
            if indices.null_count:
                indices = pc.fill_null(indices, -1)
            every[at : at + len(indices)] = rank[indices.to_numpy(zero_copy_only=False)]
            at += len(indices)
        bounds = np.cumsum(self.lengths)[:-1]
        return [np.ascontiguousarray(part) for part in np.split(every, bounds)]


def _hash(columns: Sequence[Column]) -> _Hashed:
    """The string ``columns`` hashed into one dictionary, and its sort order."""
    chunks = [
        chunk.cast(pa.string())
        for column in columns
        for chunk in (column.chunks if isinstance(column, pa.ChunkedArray) else [column])
    ]
    # A chunked array is hashed with one table: every chunk gets the same dictionary.
    encoded = pc.dictionary_encode(pa.chunked_array(chunks, pa.string()))
    dictionary = encoded.chunks[-1].dictionary if encoded.num_chunks else pa.array([], pa.string())
    order = pc.sort_indices(dictionary).to_numpy(zero_copy_only=False)
    ids = dictionary.take(pa.array(order, pa.int64()))
    return _Hashed(encoded, [len(column) for column in columns], order, ids)


def _rank(order: np.ndarray, code: np.ndarray) -> np.ndarray:
    """The code of each dictionary index, given the ``code`` of each place in sort
    ``order``; -1 at the end, where a null's index (-1) lands."""
    rank = np.empty(len(order) + 1, dtype=np.int32)
    rank[order] = code
    rank[-1] = -1
    return rank


class _Values:
    """The values of a string array as bytes (byte order: Arrow's order of strings), for
    :func:`bisect.bisect_left`."""

    def __init__(self, array: pa.Array) -> None:
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, at: int) -> bytes:
        value: bytes = self.array[at].as_buffer().to_pybytes()
        return value


def _gallop(values: _Values, value: bytes, start: int) -> int:
    """The first place from ``start`` on whose value is not below ``value`` (``values``
    sorted): steps of 1, 2, 4 … from ``start``, then a binary search in the last step, so
    a short run costs a few comparisons and a long one about twice a binary search's."""
    end, step = start, 1
    while end < len(values) and values[end] < value:
        start = end + 1
        end += step
        step *= 2
    return bisect_left(values, value, start, min(end, len(values)))


def _merge(first: pa.Array, second: pa.Array) -> tuple[pa.Array, list[np.ndarray]] | None:
    """The sorted distinct values of two sorted arrays of distinct strings, and the code
    (place among them) of each value of each; None when the two interleave in more than
    :data:`_MAX_RUNS` runs.

    Run by run: the values of ``first`` below the next value of ``second``, then those of
    ``second`` below the next of ``first``; a value both hold is one value, with one code.
    """
    values = (_Values(first), _Values(second))
    size = (len(first), len(second))
    codes = [np.empty(n, dtype=np.int32) for n in size]
    runs: list[pa.Array] = []
    at = [0, 0]  # the next place in each array
    code = 0
    while at[0] < size[0] or at[1] < size[1]:
        if len(runs) > _MAX_RUNS:
            return None
        for side in (0, 1):
            other = 1 - side
            if at[side] == size[side]:
                continue
            if at[other] == size[other]:
                end = size[side]
            else:
                end = _gallop(values[side], values[other][at[other]], at[side])
            if end > at[side]:
                codes[side][at[side] : end] = np.arange(code, code + end - at[side])
                runs.append((first, second)[side].slice(at[side], end - at[side]))
                code += end - at[side]
                at[side] = end
        if at[0] < size[0] and at[1] < size[1] and values[0][at[0]] == values[1][at[1]]:
            codes[0][at[0]] = codes[1][at[1]] = code
            runs.append(first.slice(at[0], 1))
            code += 1
            at[0] += 1
            at[1] += 1
    ids = pa.concat_arrays(runs) if runs else pa.array([], pa.string())
    return ids, codes


def _merge_by_hash(first: pa.Array, second: pa.Array) -> tuple[pa.Array, list[np.ndarray]]:
    """:func:`_merge` for any two arrays of distinct strings: both hashed into one
    dictionary again and that sorted."""
    encoded = pc.dictionary_encode(pa.concat_arrays([first, second]))
    order = pc.sort_indices(encoded.dictionary).to_numpy(zero_copy_only=False)
    rank = _rank(order, np.arange(len(order), dtype=np.int32))
    code = rank[encoded.indices.to_numpy(zero_copy_only=False)]
    ids = encoded.dictionary.take(pa.array(order, pa.int64()))
    return ids, [code[: len(first)], code[len(first) :]]


def codes_of(ids: pa.Array, values: Column) -> np.ndarray:
    """The code of each of ``values`` in the dictionary ``ids``; -1 where it is absent.

    A few values (seeds, say) are looked up by hashing them and probing every id, not by
    hashing the millions of ids.
    """
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    array = array.cast(pa.string())
    if len(array) * 4 >= len(ids):
        at = pc.index_in(array, value_set=ids)
        return np.asarray(pc.fill_null(at, -1).to_numpy(zero_copy_only=False), dtype=np.int32)
    distinct = pc.drop_null(pc.unique(array))
    where = pc.index_in(ids, value_set=distinct)  # per id: its place among the values
    hit = np.flatnonzero(pc.is_valid(where).to_numpy(zero_copy_only=False))
    code = np.full(len(distinct) + 1, -1, dtype=np.int32)  # the last entry: not found
    code[pc.take(where, pa.array(hit)).to_numpy(zero_copy_only=False)] = hit
    place = pc.fill_null(pc.index_in(array, value_set=distinct), len(distinct))
    out: np.ndarray = code[place.to_numpy(zero_copy_only=False)]
    return out


def decode(ids: pa.Array, codes: np.ndarray | pa.Array | pa.ChunkedArray) -> pa.Array:
    """The ids of ``codes`` (null for a null or negative code)."""
    if isinstance(codes, np.ndarray):
        negative = codes < 0
        # No validity bitmap when nothing is null: the take of tens of millions of codes
        # then checks no bits.
        out: pa.Array = ids.take(pa.array(codes, mask=negative if negative.any() else None))
        return out
    if isinstance(codes, pa.ChunkedArray):
        codes = codes.combine_chunks()
    low = pc.min(codes).as_py() if len(codes) else None
    if low is not None and low < 0:
        codes = pc.if_else(pc.less(codes, 0), pa.scalar(None, codes.type), codes)
    taken: pa.Array = ids.take(codes)
    return taken


def decode_lists(ids: pa.Array, lists: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A list column of codes as the same lists of ids (null lists and items stay null)."""
    array = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
    if isinstance(array, pa.LargeListArray):
        array = array.cast(pa.list_(array.type.value_type))
    values = array.values.slice(0, int(array.offsets[-1].as_py()) if len(array) else 0)
    offsets = array.offsets
    return pa.ListArray.from_arrays(
        offsets, decode(ids, values), mask=array.is_null() if array.null_count else None
    )


def prefix_range(ids: pa.Array, prefix: str) -> tuple[int, int]:
    """``(first, end)``: the codes of the ids starting with ``prefix`` (one run, as the
    dictionary is sorted); ``(0, 0)`` when there are none."""
    hits = np.flatnonzero(pc.starts_with(ids, prefix).to_numpy(zero_copy_only=False))
    if not len(hits):
        return 0, 0
    return int(hits[0]), int(hits[-1]) + 1
