"""The batch path of name folding: :mod:`fengyan.resolve.names` for millions of names at once.

The single-name functions in ``names.py`` are the reference; these give the same answers
(``tests/resolve/test_batch.py`` checks real company names and Hypothesis strings) at a
small fraction of the cost, because each step runs once over all names:

* :func:`fold_many` — all names joined with a private-use separator, then one
  ``str.translate`` (width), **one** OpenCC call (traditional → simplified), one
  ``str.translate`` (brackets, decoration, whitespace deleted) and one ``str.lower`` over
  the joined text, split again (each translation a numpy gather, :func:`translate`). No
  dictionary phrase contains the separator, so OpenCC converts each name as it would alone.
* :func:`split_names` — legal form, group marker and leading region chain are taken off
  with Arrow string kernels (``ends_with``, slicing, ``is_in`` against the set of region
  chains); only the rare rows that need more — a branch ending, a second bracket — go
  through the reference functions.
"""

from __future__ import annotations

import codecs
import itertools
import re
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pypinyin.pinyin_dict import pinyin_dict

from fengyan.resolve import names as ref
from fengyan.resolve import t2s
from fengyan.standards.regions import normalize_code
from fengyan.standards.text import _HALFWIDTH

# Private-use characters: no converter, table or case rule touches them.
SEPARATORS: Final = tuple(chr(c) for c in range(0xE000, 0xE100))


def _separator(joined: str) -> str:
    for sep in SEPARATORS:
        if sep not in joined:
            return sep
    raise ValueError("names use every private-use separator; fold them one by one")


_DELETE: Final = 0xFFFFFFFF


@cache
def _lookup(table_id: str) -> np.ndarray:
    """``str.translate`` table as an array over every code point (4.4 MB)."""
    table: dict[int, int | None] = dict(_HALFWIDTH)
    if table_id != "width":
        table = ref._lexicon().fold_table
    lookup = np.arange(sys.maxunicode + 1, dtype=np.uint32)
    for code, to in table.items():
        lookup[code] = _DELETE if to is None else to
    if table_id == "fold_space":  # fold, then delete whitespace (what str.split() splits on)
        # Every whitespace character is in the Basic Multilingual Plane (the last: U+3000).
        spaces = [c for c in range(0x10000) if chr(c).isspace()]
        lookup[np.isin(lookup, spaces)] = _DELETE
    return lookup


def translate(text: str, table_id: str) -> str:
    """``text.translate(table)`` as one numpy gather over the UTF-32 code points.

    ``str.translate`` looks each character up in a dict (about 100 ns a character); this
    is the same mapping at memory speed: one gather over all code points, a second pass
    only if some character is deleted, decoded straight from the array's buffer.
    """
    return _decode(_gather(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32), table_id))


def _gather(points: np.ndarray, table_id: str) -> np.ndarray:
    out: np.ndarray = _lookup(table_id)[points]
    if (out == _DELETE).any():
        out = out[out != _DELETE]
    return out


def _decode(points: np.ndarray) -> str:
    return str(codecs.utf_32_le_decode(points.data)[0])


# Names folded per call of _fold_joined: the joined text and its UTF-32 copies of a
# chunk (≈ 20 bytes a character) stay tens of MB, not gigabytes at millions of names.
FOLD_CHUNK: Final = 1 << 18


def fold_many(texts: Sequence[str]) -> list[str]:
    """``[names.fold(t) for t in texts]``, computed over the joined text of each chunk of
    :data:`FOLD_CHUNK` texts at once."""
    out: list[str] = []
    for start in range(0, len(texts), FOLD_CHUNK):
        out += _fold_joined(texts[start : start + FOLD_CHUNK])
    return out


def _fold_joined(texts: Sequence[str]) -> list[str]:
    if not texts:
        return []
    sep = _separator("".join(texts))
    out = fold_text(sep.join(texts), sep).split(sep)
    if len(out) != len(texts):  # pragma: no cover - the separator is checked above
        raise AssertionError("a separator was lost while folding")
    return out


def fold_text(text: str, sep: str) -> str:
    """``sep.join(names.fold(p) for p in text.split(sep))``, folded at once.

    ``sep`` must be one of :data:`SEPARATORS` that no part holds (no step changes it or
    carries a change across it). OpenCC sees only the parts holding a character it may
    change (``t2s_changing.csv``): in a register most names hold none, and OpenCC costs
    about a microsecond a character.
    """
    points = _gather(np.frombuffer(text.encode("utf-32-le"), np.uint32), "width")
    text = _decode(points)
    changing = t2s.changing_mask()[points]
    if changing.any():
        # A part's index is the number of separators before its characters.
        which = np.searchsorted(np.flatnonzero(points == ord(sep)), np.flatnonzero(changing))
        parts = np.array(text.split(sep), dtype=object)
        convert = np.zeros(len(parts), dtype=bool)
        convert[which] = True
        simplified = ref.to_simplified(sep.join(parts[convert].tolist())).split(sep)
        parts[convert] = np.array(simplified, dtype=object)
        text = sep.join(parts.tolist())
    return translate(text, "fold_space").lower()


def _strings(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.cast(pa.string())


def _set(array: pa.Array, mask: np.ndarray, values: pa.Array) -> pa.Array:
    """``array`` with the rows of ``mask`` replaced by ``values`` (in order)."""
    if not mask.any():
        return array
    return pc.replace_with_mask(array, pa.array(mask), values)


def _strip_suffixes(
    body: pa.Array, suffixes: Sequence[tuple[str, str]], rows: np.ndarray
) -> tuple[pa.Array, pa.Array, np.ndarray]:
    """One pass of ``names._strip_form``'s loop over ``rows``: the longest suffix that leaves
    at least two characters is cut. Returns the new body, the canonical form cut (or "")
    and which rows were cut.

    Per suffix length, longest first: the last ``k`` characters of the rows still uncut are
    looked up in the set of suffixes of that length.
    """
    n = len(body)
    canonical = dict(suffixes)
    keys = sorted(canonical)
    key_array = pa.array(keys, pa.string())
    forms = pa.array([canonical[k] for k in keys], pa.string())
    lengths = pc.utf8_length(body).to_numpy(zero_copy_only=False)
    cut_len = np.zeros(n, dtype=np.int64)
    which = np.full(n, -1, dtype=np.int64)
    for k in sorted({len(sfx) for sfx in keys}, reverse=True):
        todo = rows & (cut_len == 0) & (lengths - k >= ref._MIN_CORE)
        if not todo.any():
            continue
        idx = np.flatnonzero(todo)
        tail = pc.utf8_slice_codeunits(body.take(pa.array(idx)), -k)
        at = pc.fill_null(pc.index_in(tail, value_set=key_array), -1).to_numpy(zero_copy_only=False)
        hit = at >= 0
        cut_len[idx[hit]] = k
        which[idx[hit]] = at[hit]
    cut = cut_len > 0
    if not cut.any():
        return body, pa.array([""] * n, pa.string()), cut
    form = pc.fill_null(forms.take(pa.array(np.where(cut, which, 0), mask=~cut)), "")
    for k in np.unique(cut_len[cut]).tolist():
        rows_k = cut_len == k
        part = body.take(pa.array(np.flatnonzero(rows_k)))
        body = _set(body, rows_k, pc.utf8_slice_codeunits(part, 0, -k))
    return body, form, cut


# Names from which split_names uses its ``threads`` (fewer are quicker in one).
THREAD_NAMES: Final = 1 << 19


def split_names(names: Sequence[str] | pa.Array | pa.ChunkedArray, threads: int = 1) -> pa.Table:
    """``names.split_name`` of every name: columns key, region, core, form, branch.

    With ``threads`` > 1 (and at least :data:`THREAD_NAMES` names), as many equal slices of
    the names are taken apart at once, one per thread: every step is row by row, so the
    slices' tables one after the other are the table of all the names. Most of the work is
    Arrow kernels and numpy, which release the GIL: 3.5 M names of a 3 M-firm city take
    5.5 s instead of 10–11 in two threads, and no more CPU.
    """
    if threads > 1 and len(names) >= THREAD_NAMES:
        array = names if isinstance(names, pa.Array | pa.ChunkedArray) else pa.array(names)
        bounds = np.linspace(0, len(array), threads + 1).astype(int)
        with ThreadPoolExecutor(threads, thread_name_prefix="split-names") as pool:
            parts = list(
                pool.map(_split_names, [array[a:b] for a, b in itertools.pairwise(bounds)])
            )
        return pa.concat_tables(parts).combine_chunks()
    return _split_names(names)


def _split_names(names: Sequence[str] | pa.Array | pa.ChunkedArray) -> pa.Table:
    values = names.to_pylist() if isinstance(names, pa.Array | pa.ChunkedArray) else list(names)
    folded = pa.array(fold_many([v if v is not None else "" for v in values]), pa.string())
    n = len(folded)
    lex = ref._lexicon()
    # Branch endings (…有限公司南山分公司) are rare: the reference function takes them apart.
    branchy = pc.match_substring_regex(
        folded, "(?:" + "|".join(re.escape(w) for w in lex.branch_words) + ")$"
    ).to_numpy(zero_copy_only=False)
    parent, branch = folded, pa.array([""] * n, pa.string())
    if branchy.any():
        idx = np.flatnonzero(branchy)
        sub_parent, sub_branch = _split_branches(folded.take(pa.array(idx)))
        parent = _set(parent, branchy, sub_parent)
        branch = _set(branch, branchy, sub_branch)
    # Legal form: up to two endings, 合伙企业(有限合伙).
    body, second, cut = _strip_suffixes(parent, lex.forms, np.ones(n, dtype=bool))
    body, first, _ = _strip_suffixes(body, lex.forms, cut)
    form = pc.binary_join_element_wise(first, second, "")
    key = pc.binary_join_element_wise(body, form, branch, "")
    # Group marker, once.
    body, _, _ = _strip_suffixes(body, [(g, "") for g in lex.groups], np.ones(n, dtype=bool))
    region, core = _split_region(body)
    core, region = _strip_bracket(core, region)
    return pa.table({"key": key, "region": region, "core": core, "form": form, "branch": branch})


def _split_branches(names: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``names._split_branch`` of names that end in a branch word: (parent, branch part).

    As the reference: the cut is the largest end of the *last* occurrence of any legal form
    that is not at the very end of the name. A greedy ``.*`` before the form finds its last
    occurrence (RE2, one pass per form).
    """
    lengths = pc.utf8_length(names).to_numpy(zero_copy_only=False)
    best = np.full(len(names), -1, dtype=np.int64)
    for suffix, _ in ref._lexicon().forms:
        found = pc.extract_regex(names, "^(?P<p>.*" + re.escape(suffix) + ")")
        end = pc.fill_null(pc.utf8_length(pc.struct_field(found, "p")), -1)
        end_np = end.to_numpy(zero_copy_only=False).astype(np.int64)
        ok = (end_np >= 0) & (end_np < lengths)
        best = np.where(ok, np.maximum(best, end_np), best)
    cut = np.where(best < 0, lengths, best)
    parent, branch = names, pa.array([""] * len(names), pa.string())
    for at in np.unique(cut[best >= 0]).tolist():
        rows = (best >= 0) & (cut == at)
        part = names.take(pa.array(np.flatnonzero(rows)))
        parent = _set(parent, rows, pc.utf8_slice_codeunits(part, 0, at))
        branch = _set(branch, rows, pc.utf8_slice_codeunits(part, at))
    return parent, branch


def _split_region(body: pa.Array) -> tuple[pa.Array, pa.Array]:
    """The longest leading region chain that leaves two characters, as ``_region_prefix``."""
    regions = ref._regions()
    n = len(body)
    lengths = pc.utf8_length(body).to_numpy(zero_copy_only=False)
    cut = np.zeros(n, dtype=np.int64)
    chains = pa.array(sorted(regions.chains), pa.string())
    # Only rows whose first character starts some chain can have one.
    starts = pa.array(sorted({c[0] for c in regions.chains}), pa.string())
    open_rows = pc.is_in(pc.utf8_slice_codeunits(body, 0, 1), value_set=starts).to_numpy(
        zero_copy_only=False
    )
    for length in regions.lengths:
        rows = open_rows & (cut == 0) & (lengths - length >= ref._MIN_CORE)
        if not rows.any():
            continue
        idx = np.flatnonzero(rows)
        head = pc.utf8_slice_codeunits(body.take(pa.array(idx)), 0, length)
        found = pc.is_in(head, value_set=chains).to_numpy(zero_copy_only=False)
        cut[idx[found]] = length
    has = cut > 0
    region = pa.array([""] * n, pa.string())
    core = body
    for length in np.unique(cut[has]).tolist():
        rows = cut == length
        idx = pa.array(np.flatnonzero(rows))
        part = body.take(idx)
        region = _set(region, rows, pc.utf8_slice_codeunits(part, 0, length))
        core = _set(core, rows, pc.utf8_slice_codeunits(part, length))
    return region, core


_BRACKET: Final = r"^(?P<head>[^(]*)\((?P<inner>[^)]*)\)(?P<tail>.*)$"


def _strip_bracket(core: pa.Array, region: pa.Array) -> tuple[pa.Array, pa.Array]:
    """鹏润(深圳)科技 → 鹏润科技 with region 深圳, as ``_strip_bracketed_region``."""
    words = pa.array(sorted(ref._regions().words), pa.string())
    has = pc.match_substring(core, "(").to_numpy(zero_copy_only=False)
    if not has.any():
        return core, region
    idx = np.flatnonzero(has)
    sub = core.take(pa.array(idx))
    parts = pc.extract_regex(sub, _BRACKET)
    matched = pc.is_valid(parts).to_numpy(zero_copy_only=False)
    head = pc.struct_field(parts, "head")
    inner = pc.struct_field(parts, "inner")
    tail = pc.struct_field(parts, "tail")
    rest = pc.add(pc.utf8_length(head), pc.utf8_length(tail))
    first_ok = (
        matched
        & pc.fill_null(pc.is_in(inner, value_set=words), False).to_numpy(zero_copy_only=False)
        & (pc.fill_null(rest, 0).to_numpy(zero_copy_only=False) >= ref._MIN_CORE)
    )
    # The first bracket is no region but another follows: the reference function decides.
    later = (
        matched
        & ~first_ok
        & pc.fill_null(pc.match_substring(tail, "("), False).to_numpy(zero_copy_only=False)
    )
    new_core = pc.if_else(pa.array(first_ok), pc.binary_join_element_wise(head, tail, ""), sub)
    inner_region = pc.if_else(pa.array(first_ok), inner, pa.scalar("", pa.string()))
    if later.any():
        at = np.flatnonzero(later)
        redo = [ref._strip_bracketed_region(s) for s in sub.take(pa.array(at)).to_pylist()]
        new_core = _set(new_core, later, pa.array([c for c, _ in redo], pa.string()))
        inner_region = _set(inner_region, later, pa.array([r for _, r in redo], pa.string()))
    core = _set(core, has, new_core)
    region_sub = region.take(pa.array(idx))
    # As split_name: the leading region if there is one, else the bracketed one.
    region_sub = pc.if_else(pc.equal(region_sub, ""), inner_region, region_sub)
    return core, _set(region, has, region_sub)


def upper_many(texts: Sequence[str]) -> list[str]:
    """``[t.upper() for t in texts]`` with one ``str.upper`` over the joined text."""
    if not texts:
        return []
    sep = _separator("".join(texts))
    return sep.join(texts).upper().split(sep)


def address_keys(
    texts: pa.Array | pa.ChunkedArray, regions: pa.Array | pa.ChunkedArray
) -> tuple[pa.Array, pa.Array]:
    """``(contacts.address_key, contacts.address_room_key)`` of every row, vectorised.

    The same regular expressions as ``contacts.py`` (written for Python's re and RE2
    alike), run by Arrow over all rows.
    """
    text = _strings(texts)
    # The text's parts are computed once per distinct address (people share flats, firms
    # share business centres), then spread to the rows.
    distinct = pc.unique(text)
    at = pc.index_in(text, value_set=distinct, skip_nulls=False)
    road, building, room, has_road = (part.take(at) for part in _address_parts(distinct))
    key = pc.binary_join_element_wise(street_prefixes(regions), road, building, "|")
    key = pc.if_else(has_road, key, pa.scalar(None, pa.string()))
    room_key = pc.binary_join_element_wise(key, room, "|")
    return key, room_key


def street_prefixes(regions: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The first part of :func:`address_keys`' keys: the 9-digit street prefix of each
    region code, ``""`` when absent or malformed (two keys can only be equal where these
    are). ``contacts.address_key``'s own rule (``normalize_code``), applied once per
    distinct code: a city has a few hundred."""
    codes = _strings(regions)
    distinct = pc.unique(codes)
    mapped = pa.array(
        [(normalize_code(r) or "")[:9] if r else "" for r in distinct.to_pylist()], pa.string()
    )
    prefix: pa.Array = pc.fill_null(pc.take(mapped, pc.index_in(codes, value_set=distinct)), "")
    return prefix


def _address_parts(text: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """(road, building, room, has_road) of each address, as ``contacts._address_parts``."""
    from fengyan.resolve import contacts

    given = pc.fill_null(pc.not_equal(text, ""), False)
    raw = [t if t is not None else "" for t in text.to_pylist()]
    s = pa.array(upper_many(fold_many(raw)), pa.string())
    admin = pc.extract_regex(s, contacts._AFTER_ADMIN)
    s = pc.if_else(pc.is_valid(admin), pc.struct_field(admin, "rest"), s)
    road_parts = pc.extract_regex(s, contacts._ROAD_NUMBER)
    has_road = pc.and_(pc.is_valid(road_parts), given)
    road = pc.fill_null(pc.struct_field(road_parts, "road"), "")
    rest = pc.fill_null(pc.struct_field(road_parts, "rest"), "")
    block = pc.extract_regex(rest, contacts._BLOCK + "(?P<after>.*)$")
    plain = pc.extract_regex(rest, contacts._BUILDING_NAME + "(?P<after>.*)$")
    found = pc.is_valid(block)
    building = pc.if_else(
        found, pc.struct_field(block, "building"), pc.struct_field(plain, "building")
    )
    after = pc.if_else(found, pc.struct_field(block, "after"), pc.struct_field(plain, "after"))
    room = pc.replace_substring_regex(after, contacts._ROOM_WORDS, "")
    return road, building, room, has_road


def sound_keys(texts: Sequence[str]) -> list[str]:
    """``[names.sound_key(t) for t in texts]``: one ``str.translate`` over the joined text."""
    if not texts:
        return []
    sep = _separator("".join(texts))
    # A reading ends in a space that sound_key strips at the end of each text.
    joined = sep.join(texts)
    table = {ord(c): ref.reading_of(ord(c)) for c in set(joined) if ord(c) in pinyin_dict}
    joined = joined.translate(table)
    return [t.rstrip() for t in joined.split(sep)]
