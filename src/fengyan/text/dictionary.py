"""The name dictionary of mention linking, built column-wise for millions of names.

For every name (current, former, branch) of every firm: its normalised form, its core
(:func:`fengyan.resolve.names.split_name`, through the batch path
:func:`fengyan.resolve.batch.split_names`) and the short surfaces of the core
(:func:`short_surfaces`: 鹏润财富管理, 鹏润财富, 鹏润). Each step runs once over all names
with Arrow string kernels and NumPy — per-name Python costs about 45 µs, 2¼ minutes for 3 M
names — and the result is a CSR table: ``patterns`` (the distinct surfaces, Arrow) and, per
pattern, a range of entry arrays (firm, method, name, offset) in NumPy.

:func:`short_surfaces` is the per-core reference the vectorised build must agree with
(``tests/text/test_dictionary.py`` compares them on real company names).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from multiprocessing import get_context
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fengyan.resolve.batch import split_names
from fengyan.standards.regions import CONTEXT, region_table
from fengyan.text.normalize import normalize_text

#: Method codes of dictionary entries, in order of strength.
FULL, FORMER, SHORT, BRAND = 0, 1, 2, 3
METHODS: Final = ("full_name", "former_name", "short_name", "brand")
NAME_KINDS: Final = {"current": FULL, "branch": FULL, "former": FORMER}

_HAN: Final = re.compile(r"[\u3400-\u9fff]")
# A private-use character: normalize_text keeps it as it is (not whitespace) and no firm
# name contains it.
_SEP: Final = "\ue000"
#: Names normalised and split per task (bounds the Python strings alive at once).
CHUNK: Final = 100_000
_OFFSET_MAX: Final = 32_000


def han_count(text: str) -> int:
    """How many Han characters ``text`` holds."""
    return len(_HAN.findall(text))


def _han_counts(values: pa.Array) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Han characters (U+3400–U+9FFF) per string, from the UTF-8 bytes at once.

    Those characters are the 3-byte sequences led by E4–E9, or by E3 with a second byte
    ≥ 0x90; counting lead bytes over the whole value buffer and differencing at the
    offsets costs a few nanoseconds a byte (a regular expression, a microsecond a string).
    """
    values = pc.fill_null(values.cast(pa.string()), "")
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    _, offsets_buf, data_buf = values.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[values.offset : values.offset + n + 1]
    lo, hi = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(data_buf, dtype=np.uint8)[lo:hi] if data_buf is not None else None
    if data is None or not len(data):
        return np.zeros(n, dtype=np.int64)
    lead = (data >= 0xE4) & (data <= 0xE9)
    lead[:-1] |= (data[:-1] == 0xE3) & (data[1:] >= 0x90)
    total = np.zeros(len(data) + 1, dtype=np.int64)
    np.cumsum(lead, out=total[1:])
    at = offsets.astype(np.int64) - lo
    return total[at[1:]] - total[at[:-1]]


def _lengths(values: pa.Array) -> np.ndarray[Any, np.dtype[np.int64]]:
    return np.asarray(pc.utf8_length(values).to_numpy(zero_copy_only=False), dtype=np.int64)


def _bools(values: pa.Array | pa.ChunkedArray) -> np.ndarray[Any, np.dtype[np.bool_]]:
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def normalize_many(texts: Sequence[str]) -> list[str]:
    """:func:`normalize_text` of many short texts (names) in one call.

    One call per name costs about 7 µs, mostly fixed costs; joining the names with a
    control character the normaliser keeps costs 0.3 µs a name. Falls back to one call per
    text if a text holds the separator or whitespace that the joint call would fold.
    """
    if not texts:
        return []
    joined = normalize_text(_SEP.join(texts))
    out = joined.split(_SEP)
    if len(out) != len(texts) or any(o != o.strip() for o in out):
        return [normalize_text(t) for t in texts]
    return out


@dataclass
class NameDictionary:
    """Surfaces → firms, in compact arrays (a few bytes per entry, not Python objects).

    ``patterns[p]`` is a surface; its entries are ``start[p]:start[p + 1]`` of the entry
    arrays: firm index, method code, name index, offset of the surface in that name (−1
    when the name does not contain it). ``names[n]`` is a normalised name and ``cores[n]``
    its core, ``name_kind[n]`` its method code (full or former).
    """

    patterns: pa.StringArray
    start: np.ndarray[Any, np.dtype[np.int64]]
    firm: np.ndarray[Any, np.dtype[np.int32]]
    method: np.ndarray[Any, np.dtype[np.int8]]
    name: np.ndarray[Any, np.dtype[np.int32]]
    offset: np.ndarray[Any, np.dtype[np.int16]]
    names: pa.StringArray
    cores: pa.StringArray
    name_kind: np.ndarray[Any, np.dtype[np.int8]]
    industry_suffixes: frozenset[str]

    @property
    def entries(self) -> int:
        """Number of (surface, firm) entries."""
        return len(self.firm)


# ---- settings-driven word lists ----------------------------------------------------------


def frequent_suffixes(cores: Iterable[str] | pa.Array, settings: Any) -> frozenset[str]:
    """Industry words: the settings' list and every core ending shared by many firms.

    A suffix of ``suffix_lengths`` characters counts when at least ``suffix_min_firms``
    distinct cores end with it and at least ``min_han`` characters stay in front of it.
    """
    values = cores if isinstance(cores, pa.Array) else pa.array(list(cores), pa.string())
    distinct = pc.unique(values.cast(pa.string()))
    lengths = _lengths(distinct)
    lo, hi = settings.suffix_lengths
    found: set[str] = set()
    for k in range(lo, hi + 1):
        keep = lengths - settings.min_han >= k
        if not keep.any():
            continue
        tails = pc.utf8_slice_codeunits(distinct.filter(pa.array(keep)), -k)
        counts = pc.value_counts(tails)
        words = counts.field("values")
        many = np.asarray(counts.field("counts").to_numpy()) >= settings.suffix_min_firms
        all_han = _han_counts(words) == k
        found.update(words.filter(pa.array(many & all_han)).to_pylist())
    return frozenset(found | set(settings.industry_words))


def max_suffix_length(suffixes: frozenset[str]) -> int:
    """The longest industry word considered when cutting a core (at most 12 characters)."""
    return min(12, max((len(w) for w in suffixes), default=0))


def short_surfaces(
    core: str, suffixes: frozenset[str], settings: Any, longest: int | None = None
) -> list[str]:
    """The core and its shorter forms, longest first (鹏润财富管理, 鹏润财富, 鹏润).

    Place words before the brand (前海) are dropped first; then industry words are taken
    off the end while at least ``min_han`` Han characters remain. The last one is the brand.
    This is the per-core reference of the vectorised :func:`build_dictionary`.
    """
    for place in settings.place_prefixes:
        if core.startswith(place) and han_count(core) - len(place) >= settings.min_han:
            core = core[len(place) :]
            break
    reach = max_suffix_length(suffixes) if longest is None else longest
    # Cut points i where core[i:] is a run of industry words (财富管理, or 财富 + 管理).
    cuts = [len(core)]
    for i in range(len(core) - 1, 0, -1):
        if any(j - i <= reach and core[i:j] in suffixes for j in cuts):
            cuts.append(i)
    return [core] + [core[:i] for i in cuts[1:] if han_count(core[:i]) >= settings.min_han]


@cache
def region_words() -> frozenset[str]:
    """Names and short forms of provinces, prefectures and counties: not brands."""
    table = region_table()
    return frozenset(
        alias
        for alias, rows in table.name_index.items()
        if any(table.level_at(r) <= 3 and form != CONTEXT for r, form in rows)
    )


# ---- the vectorised steps --------------------------------------------------------------------


def _strip_places(cores: pa.Array, settings: Any) -> pa.Array:
    """Cores without a leading place word (前海鹏润财富管理 → 鹏润财富管理), as the reference."""
    han = _han_counts(cores)
    done = np.zeros(len(cores), dtype=bool)
    out = cores
    for place in settings.place_prefixes:
        hit = _bools(pc.starts_with(cores, place)) & ~done
        hit &= han - len(place) >= settings.min_han
        if hit.any():
            cut = pc.utf8_slice_codeunits(cores.filter(pa.array(hit)), len(place))
            out = pc.replace_with_mask(out, pa.array(hit), cut)
            done |= hit
    return out


def _cut_points(
    cores: pa.Array, suffixes: frozenset[str], reach: int
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.int64]]]:
    """``(row, i)`` for every cut point ``i ≥ 1`` where ``cores[row][i:]`` is a run of
    industry words of at most ``reach`` characters each (the reference's ``cuts``).

    Dynamic programme over the distance ``d`` from the end: ``ok[d]`` when the last ``d``
    characters split into words; each step is one slice and one set look-up over the rows
    that can still extend a run.
    """
    words = [w for w in suffixes if 0 < len(w) <= reach]
    n = len(cores)
    lengths = _lengths(cores)
    if not words or n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    value_set = pa.array(sorted(words), pa.string())
    sizes = sorted({len(w) for w in words})
    longest = int(lengths.max())
    ok = np.zeros((longest + 1, n), dtype=bool)
    ok[0] = True
    rows_out: list[np.ndarray[Any, np.dtype[np.int64]]] = []
    cuts_out: list[np.ndarray[Any, np.dtype[np.int64]]] = []
    for d in range(1, longest):
        for k in sizes:
            if k > d:
                break
            rows = np.flatnonzero(ok[d - k] & (lengths > d) & ~ok[d])
            if not len(rows):
                continue
            part = cores.take(pa.array(rows))
            stop = -(d - k) if d > k else None
            piece = pc.utf8_slice_codeunits(part, -d, stop)
            hit = _bools(pc.is_in(piece, value_set=value_set))
            ok[d, rows[hit]] = True
        rows = np.flatnonzero(ok[d])
        if len(rows):
            rows_out.append(rows)
            cuts_out.append(lengths[rows] - d)
    if not rows_out:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(rows_out), np.concatenate(cuts_out)


def _prefixes(
    values: pa.Array,
    rows: np.ndarray[Any, np.dtype[np.int64]],
    lengths: np.ndarray[Any, np.dtype[np.int64]],
) -> pa.Array:
    """``values[rows[j]][:lengths[j]]`` for every ``j``, one slice per distinct length."""
    parts: list[pa.Array] = []
    where: list[np.ndarray[Any, np.dtype[np.int64]]] = []
    for length in np.unique(lengths).tolist():
        sel = np.flatnonzero(lengths == length)
        taken = values.take(pa.array(rows[sel]))
        parts.append(pc.utf8_slice_codeunits(taken, 0, int(length)))
        where.append(sel)
    if not parts:
        return pa.array([], pa.string())
    joined = pa.concat_arrays(parts)
    order = np.empty(len(lengths), dtype=np.int64)
    order[np.concatenate(where)] = np.arange(len(lengths))
    return joined.take(pa.array(order))


def find_each(hay: pa.Array, needle: pa.Array) -> np.ndarray[Any, np.dtype[np.int64]]:
    """``hay[j].find(needle[j])`` for every row (−1 when absent), column-wise.

    Position by position from the left, comparing the slice at that position with the
    needle for the rows not yet found; most names hold their core within a few characters
    of the start, so few passes touch many rows.
    """
    n = len(hay)
    out = np.full(n, -1, dtype=np.int64)
    hay_len, needle_len = _lengths(hay), _lengths(needle)
    todo = np.flatnonzero(needle_len <= hay_len)
    q = 0
    while len(todo):
        found = np.zeros(len(todo), dtype=bool)
        for length in np.unique(needle_len[todo]).tolist():
            sel = np.flatnonzero(needle_len[todo] == length)
            idx = pa.array(todo[sel])
            piece = pc.utf8_slice_codeunits(hay.take(idx), q, q + int(length))
            found[sel] = _bools(pc.equal(piece, needle.take(idx)))
        out[todo[found]] = q
        q += 1
        todo = todo[~found]
        todo = todo[q + needle_len[todo] <= hay_len[todo]]
    return out


# ---- names → normalised names and cores, in worker processes ------------------------------

_NAMES: pa.Array | None = None


def _prepare(bounds: tuple[int, int]) -> tuple[pa.Array, pa.Array]:
    assert _NAMES is not None
    part = _NAMES.slice(bounds[0], bounds[1] - bounds[0])
    values = [v or "" for v in part.to_pylist()]
    norm = pa.array(normalize_many(values), pa.string())
    core = split_names(values)["core"].combine_chunks()
    return norm, core


def prepare_names(names: pa.Array, workers: int = 1) -> tuple[pa.Array, pa.Array]:
    """Normalised names and ``split_name`` cores of ``names``, ``CHUNK`` names per task.

    With ``workers > 1`` and more than two chunks, tasks run in forked processes (the
    parent loads the region and word tables first, so children inherit them).
    """
    global _NAMES
    bounds = [(a, min(a + CHUNK, len(names))) for a in range(0, len(names), CHUNK)]
    _NAMES = names
    try:
        if workers > 1 and len(bounds) > 2:
            _prepare_warm()
            with get_context("fork").Pool(workers) as pool:
                parts = pool.map(_prepare, bounds, chunksize=1)
        else:
            parts = [_prepare(b) for b in bounds]
    finally:
        _NAMES = None
    if not parts:
        return pa.array([], pa.string()), pa.array([], pa.string())
    return (
        pa.concat_arrays([p[0] for p in parts]),
        pa.concat_arrays([p[1].cast(pa.string()) for p in parts]),
    )


def _prepare_warm() -> None:
    split_names(["深圳市前海鹏润财富管理有限公司"])
    normalize_text("鵬潤")
    region_words()


# ---- the dictionary ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """What the entry step needs; set as a module global before forking workers."""

    norm: pa.Array
    cores: pa.Array
    name_kind: np.ndarray[Any, np.dtype[np.int8]]
    settings: Any
    suffixes: frozenset[str]
    stop: pa.Array


_JOB: _Job | None = None
_Entries = tuple[
    np.ndarray[Any, np.dtype[np.int64]],
    np.ndarray[Any, np.dtype[np.int8]],
    np.ndarray[Any, np.dtype[np.int16]],
    pa.Array,
]


def _entries(bounds: tuple[int, int]) -> _Entries:
    """Entries of names ``bounds[0]:bounds[1]``: (name row, method, offset, text)."""
    job = _JOB
    assert job is not None
    lo, hi = bounds
    n = hi - lo
    settings = job.settings
    norm = job.norm.slice(lo, n)
    # Surfaces: the place-stripped core (rank 0) and its cuts, longest first.
    stripped = _strip_places(job.cores.slice(lo, n), settings)
    cut_row, cut_len = _cut_points(stripped, job.suffixes, max_suffix_length(job.suffixes))
    if len(cut_row):
        keep = _han_counts(_prefixes(stripped, cut_row, cut_len)) >= settings.min_han
        cut_row, cut_len = cut_row[keep], cut_len[keep]
    s_row = np.concatenate([np.arange(n, dtype=np.int64), cut_row])
    s_len = np.concatenate([_lengths(stripped), cut_len])
    order = np.lexsort((-s_len, s_row))
    s_row, s_len = s_row[order], s_len[order]
    per_row = np.bincount(s_row, minlength=n)
    first = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(per_row, out=first[1:])
    rank = np.arange(len(s_row)) - first[s_row]
    is_brand = (rank == per_row[s_row] - 1) & (rank > 0)
    surface = _prefixes(stripped, s_row, s_len)
    eligible = _han_counts(surface) >= settings.min_han
    eligible &= ~_bools(pc.is_in(surface, value_set=job.stop))
    sel = np.flatnonzero(eligible)
    s_row, rank, is_brand = s_row[sel], rank[sel], is_brand[sel]
    surface = surface.take(pa.array(sel))
    offset = find_each(norm.take(pa.array(s_row)), surface)
    contained = np.bincount(s_row[offset >= 0], minlength=n) > 0
    whole = np.flatnonzero(~contained & (_han_counts(norm) >= settings.min_han))
    # Every eligible surface, then whole names none of whose surfaces is inside; in name
    # order (surfaces by rank, then the whole name), so that chunks concatenate in order.
    e_row = np.concatenate([s_row, whole])
    order = np.argsort(e_row, kind="stable")
    e_off = np.concatenate([offset, np.zeros(len(whole), dtype=np.int64)])[order]
    method = np.concatenate(
        [np.where(is_brand, BRAND, SHORT).astype(np.int8), job.name_kind[lo:hi][whole]]
    )
    return (
        e_row[order] + lo,
        method[order],
        np.where((e_off >= 0) & (e_off < _OFFSET_MAX), e_off, -1).astype(np.int16),
        pa.concat_arrays([surface, norm.take(pa.array(whole))]).take(pa.array(order)),
    )


def _run(job: _Job, func: Any, n: int, workers: int) -> list[_Entries]:
    """``func`` over chunks of ``n`` rows, in forked workers when worth it."""
    global _JOB
    bounds = [(a, min(a + CHUNK, n)) for a in range(0, n, CHUNK)] or [(0, 0)]
    _JOB = job
    try:
        if workers > 1 and len(bounds) > 2:
            with get_context("fork").Pool(workers) as pool:
                return list(pool.map(func, bounds, chunksize=1))
        return [func(b) for b in bounds]
    finally:
        _JOB = None


def _as_strings(values: Sequence[str] | pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.cast(pa.string())
    return pa.array(list(values), pa.string())


def build_dictionary(
    firm: Sequence[int] | pa.Array | np.ndarray[Any, Any],
    names: Sequence[str] | pa.Array | pa.ChunkedArray,
    kinds: Sequence[str] | pa.Array | pa.ChunkedArray,
    settings: Any,
    *,
    cores: Sequence[str] | pa.Array | None = None,
    workers: int = 1,
) -> NameDictionary:
    """Build the name dictionary from parallel columns: firm index, name, name kind.

    ``kinds`` are ``current``, ``former`` or ``branch``. ``cores`` (the cores of
    :func:`fengyan.resolve.names.split_name`) may be given when computed elsewhere;
    otherwise they are computed here (``workers`` processes for large inputs).
    """
    name_arr = _as_strings(names)
    kind_arr = _as_strings(kinds)
    firm_np = np.asarray(
        firm.to_numpy(zero_copy_only=False) if isinstance(firm, pa.Array) else firm,
        dtype=np.int32,
    )
    n = len(name_arr)
    if not (len(firm_np) == n == len(kind_arr)):
        raise ValueError("firm, names and kinds must have the same length")
    known = pa.array(list(NAME_KINDS), pa.string())
    kind_idx = pc.index_in(kind_arr, value_set=known)
    if kind_idx.null_count:
        bad = sorted(set(kind_arr.filter(pc.is_null(kind_idx)).to_pylist()), key=str)
        raise ValueError(f"unknown name kinds {bad}; expected {sorted(NAME_KINDS)}")
    codes = np.array(list(NAME_KINDS.values()), dtype=np.int8)
    name_kind = codes[np.asarray(kind_idx.to_numpy(zero_copy_only=False))]
    name_arr = pc.fill_null(name_arr, "")
    if cores is None:
        norm, core_arr = prepare_names(name_arr, workers)
    else:
        norm = pa.array(normalize_many(name_arr.to_pylist()), pa.string()) if n else name_arr
        core_arr = _as_strings(cores)
    suffixes = frequent_suffixes(core_arr, settings)
    stop = pa.array(sorted(settings.stop_words | region_words() | suffixes), pa.string())
    job = _Job(norm, core_arr, name_kind, settings, suffixes, stop)
    parts = _run(job, _entries, len(norm), workers)
    # Entries arrive in name order; each column is joined and its parts let go at once,
    # so that the peak holds one copy of the entries, not three.
    e_row = np.concatenate([p[0] for p in parts]).astype(np.int32)
    e_method = np.concatenate([p[1] for p in parts])
    e_off = np.concatenate([p[2] for p in parts])
    texts = [p[3] for p in parts]
    del parts
    encoded = pc.dictionary_encode(pa.chunked_array(texts, pa.string())).combine_chunks()
    del texts
    patterns = encoded.dictionary
    pat = np.asarray(encoded.indices.to_numpy(zero_copy_only=False))
    del encoded
    # CSR: entries grouped by pattern, in name order within a pattern (stable sort).
    entry = np.argsort(pat, kind="stable")
    start = np.zeros(len(patterns) + 1, dtype=np.int64)
    np.cumsum(np.bincount(pat, minlength=len(patterns)), out=start[1:])
    del pat
    rows = e_row[entry]
    method, offset = e_method[entry], e_off[entry]
    del entry, e_row, e_method, e_off
    pa.default_memory_pool().release_unused()
    return NameDictionary(
        patterns=patterns,
        start=start,
        firm=firm_np[rows],
        method=method,
        name=rows,
        offset=offset,
        names=norm,
        cores=core_arr,
        name_kind=name_kind,
        industry_suffixes=suffixes,
    )
