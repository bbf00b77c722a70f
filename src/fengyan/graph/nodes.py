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
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Column: TypeAlias = pa.Array | pa.ChunkedArray


def node_index(*columns: Column) -> tuple[pa.Array, list[np.ndarray]]:
    """The sorted distinct values of the string ``columns`` and each column's codes.

    Nulls are not values: a null gets code -1. Codes are ``int32`` (a dictionary of up to
    two billion nodes). One hash pass over all the rows, then one sort of the distinct
    values only.
    """
    chunks = [
        chunk.cast(pa.string())
        for column in columns
        for chunk in (column.chunks if isinstance(column, pa.ChunkedArray) else [column])
    ]
    # A chunked array is hashed with one table: every chunk gets the same dictionary.
    encoded = pc.dictionary_encode(pa.chunked_array(chunks, pa.string()))
    dictionary = encoded.chunks[-1].dictionary if encoded.num_chunks else pa.array([], pa.string())
    order = pc.sort_indices(dictionary).to_numpy(zero_copy_only=False)
    rank = np.empty(len(order) + 1, dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    rank[-1] = -1  # where a null's index (filled with -1 below) lands
    ids = dictionary.take(pa.array(order, pa.int64()))
    # The output chunks need not match the input's (empty ones are dropped): split the
    # codes by the columns' lengths instead. Each chunk's indices are ranked straight into
    # one array (no wider copy of all the indices first).
    every = np.empty(sum(len(column) for column in columns), dtype=np.int32)
    at = 0
    for chunk in encoded.chunks:
        indices = chunk.indices
        if indices.null_count:
            indices = pc.fill_null(indices, -1)
        every[at : at + len(indices)] = rank[indices.to_numpy(zero_copy_only=False)]
        at += len(indices)
    bounds = np.cumsum([len(column) for column in columns])[:-1]
    out = [np.ascontiguousarray(part) for part in np.split(every, bounds)]
    return ids, out


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
