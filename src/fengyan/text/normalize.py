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
from typing import Final

import opencc

from fengyan.standards.text import to_halfwidth

_TAG: Final = re.compile(r"<[^>]{0,500}>")
_SPACE: Final = re.compile(r"\s+")
_LOWER_ASCII: Final = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}
# Zero-width characters and variation selectors: invisible, but they split words.
_INVISIBLE: Final = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, *range(0xFE00, 0xFE10)], None
)


@cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalize_text(text: str | None) -> str:
    """Fold ``text`` to the form lexicons are written in; ``None`` and ``""`` give ``""``.

    Steps: drop HTML tags and decode entities (twice: scraped pages often double-escape
    ``&amp;nbsp;``), full-width ASCII → ASCII, traditional → simplified, ASCII lower-case,
    remove zero-width characters, collapse whitespace. Idempotent.
    """
    if not text:
        return ""
    out = html.unescape(html.unescape(_TAG.sub(" ", text)))
    out = _TAG.sub(" ", out)  # tags that were entity-escaped (&lt;p&gt;) are now real
    out = to_halfwidth(out).translate(_INVISIBLE).translate(_LOWER_ASCII)
    out = _t2s().convert(out)
    return _SPACE.sub(" ", out).strip()


# Invisible characters become spaces in the aligned fold, so that offsets do not move.
_INVISIBLE_TO_SPACE: Final = dict.fromkeys(_INVISIBLE, " ")


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
    out = _TAG.sub(lambda m: " " * len(m.group()), text)
    out = to_halfwidth(out).translate(_INVISIBLE_TO_SPACE).translate(_LOWER_ASCII)
    conv: str = _t2s().convert(out)
    if len(conv) != len(out):
        # OpenCC's phrase table may change the length of a few idioms; convert one
        # character at a time then (slower, and rare).
        conv = "".join(c if len(s := _t2s().convert(c)) != 1 else s for c in out)
    return conv
