"""Normalise text before lexicon matching and classification.

News, posts and complaints arrive as scraped HTML, in traditional characters from Hong Kong
and Taiwan sites, with full-width Latin letters and digits typed on Chinese keyboards. The
lexicon is written once in simplified, half-width, lower-case form, so every text is folded
to that form first. Emoji and other symbols are kept: they are harmless to character n-grams
and sometimes carry meaning (🔥 in a promotion).
"""

from __future__ import annotations

import html
import re
from functools import cache, lru_cache
from typing import Any, Final

import numpy as np
import opencc

from fengyan.standards.text import _HALFWIDTH

_TAG: Final = re.compile(r"<[^>]{0,500}>")
_SPACE: Final = re.compile(r"\s+")
_LOWER_ASCII: Final = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}
# Zero-width characters and variation selectors: invisible, but they split words.
_INVISIBLE: Final = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, *range(0xFE00, 0xFE10)], None
)


def _compose(invisible: int | None) -> dict[int, int | None]:
    """Full-width → ASCII, invisible → ``invisible``, ASCII upper → lower, as one table."""
    table: dict[int, int | None] = {}
    for code, to in _HALFWIDTH.items():
        table[code] = _LOWER_ASCII.get(to, to)
    table.update(dict.fromkeys(_INVISIBLE, invisible))
    table.update(_LOWER_ASCII)
    return table


_FOLD: Final = _compose(None)
_FOLD_ALIGNED: Final = _compose(ord(" "))
# Most text holds none of the characters the fold changes: one search instead of a
# dictionary look-up per character.
_NEEDS_FOLD: Final = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_FOLD)) + "]")
_FOLD_STR: Final = {chr(k): "" if v is None else chr(v) for k, v in _FOLD.items()}
_FOLD_ALIGNED_STR: Final = {chr(k): " " if v is None else chr(v) for k, v in _FOLD_ALIGNED.items()}
_DELETE: Final = 0xFFFFFFFF
_LONG: Final = 20_000  # characters: above this, fold with one NumPy gather


@cache
def _lookup(aligned: bool) -> np.ndarray[Any, np.dtype[np.uint32]]:
    lookup = np.arange(0x10000, dtype=np.uint32)
    for code, to in (_FOLD_ALIGNED if aligned else _FOLD).items():
        lookup[code] = _DELETE if to is None else to
    return lookup


def _fold_chars(text: str, aligned: bool) -> str:
    """``text.translate(_FOLD or _FOLD_ALIGNED)``, skipped when nothing would change."""
    if _NEEDS_FOLD.search(text) is None:
        return text
    if len(text) < _LONG:
        # Only the matched characters pass through Python (full-width punctuation, a few
        # capitals): about twice as fast as str.translate's per-character dict look-up.
        table = _FOLD_ALIGNED_STR if aligned else _FOLD_STR
        return _NEEDS_FOLD.sub(lambda m: table[m.group()], text)
    # str.translate costs ~50 ns a character through its dict; joined names (millions of
    # characters) go through a lookup array instead.
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    low = points < 0x10000
    out = points.copy()
    out[low] = _lookup(aligned)[points[low]]
    return str(out[out != _DELETE].tobytes().decode("utf-32-le"))


@cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalize_text(text: str | None) -> str:
    """Fold ``text`` to the form lexicons are written in; ``None`` and ``""`` give ``""``.

    Steps: drop HTML tags and decode entities (twice: scraped pages often double-escape
    ``&amp;nbsp;``), full-width ASCII → ASCII, traditional → simplified, ASCII lower-case,
    remove zero-width characters, collapse whitespace. Idempotent. Steps with nothing to
    do (no ``<``, no ``&``, no full-width or upper-case character) are skipped.
    """
    if not text:
        return ""
    out = _TAG.sub(" ", text) if "<" in text else text
    if "&" in out:
        out = html.unescape(html.unescape(out))
        if "<" in out:
            out = _TAG.sub(" ", out)  # tags that were entity-escaped (&lt;p&gt;) are now real
    out = _fold_chars(out, aligned=False)
    out = _t2s().convert(out)
    return _SPACE.sub(" ", out).strip()


def fold_aligned(text: str | None) -> str:
    """Fold ``text`` like :func:`normalize_text` but keep every character at its offset.

    The extractors (promises, ads, sentiment) report spans as offsets into the text they
    were given, which is usually already normalised but may be raw. They match against this
    fold: HTML tags become spaces of the same length, full-width ASCII becomes ASCII,
    traditional characters become simplified, ASCII is lower-cased and zero-width characters
    become spaces. Entities are left as they are (decoding them would change the length).
    The result always has ``len(text)`` characters.
    """
    if not text:
        return ""
    return _fold_aligned(text)


@lru_cache(maxsize=64)
def _fold_aligned(text: str) -> str:
    # Cached: promises, ad rules and sentiment each fold the same article in turn.
    out = _TAG.sub(lambda m: " " * len(m.group()), text) if "<" in text else text
    out = _fold_chars(out, aligned=True)
    conv: str = _t2s().convert(out)
    if len(conv) != len(out):
        # OpenCC's phrase table may change the length of a few idioms; convert one
        # character at a time then (slower, and rare).
        conv = "".join(c if len(s := _t2s().convert(c)) != 1 else s for c in out)
    return conv
