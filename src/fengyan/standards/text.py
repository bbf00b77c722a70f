"""Text clean-up shared by the identifier validators.

Codes reach us typed by clerks, scanned by OCR, copied out of PDFs and Excel sheets, so
the same code arrives as ``９１１１ ００００-６０００３７３４１ｌ``. We fold it to the canonical
ASCII form before checking it.

We deliberately do not use Unicode NFKC: it also turns ``①`` into ``1``, ``㈠`` into
``(一)`` and ``™`` into ``TM``, which would make numbers appear in text that never held
them. We only fold the full-width ASCII block (U+FF01–FF5E) and the ideographic space,
drop spaces/hyphens/zero-width characters, and upper-case ASCII letters only (``str.upper``
would turn ``ß`` into ``SS`` and change the length).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

# U+FF01..U+FF5E are exactly U+0021..U+007E shifted by 0xFEE0.
_HALFWIDTH: Final = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

# Characters that separate groups of digits in the wild and never belong to a code.
SEPARATORS: Final = frozenset(
    "-‐‑‒–—―−﹣_"  # hyphens and dashes, incl. minus and small/low lines
    "\u200b\u200c\u200d\u2060\ufeff"  # zero-width characters left by copy-paste
    "\x00"  # NUL padding from fixed-width database exports
)

_UPPER_ASCII: Final = {code: code - 32 for code in range(ord("a"), ord("z") + 1)}

# Characters that courts, banks and our own masking put in place of hidden digits.
MASK_CHARS: Final = frozenset("*×●•")

DIGITS: Final = frozenset("0123456789")


def to_halfwidth(text: str) -> str:
    """Fold full-width ASCII forms (``１２３ＡＢＣ－``) and the ideographic space to ASCII."""
    return text.translate(_HALFWIDTH)


def strip_separators(text: str) -> str:
    """Remove whitespace, hyphens/dashes and zero-width characters."""
    return "".join(char for char in text if not (char.isspace() or char in SEPARATORS))


def upper_ascii(text: str) -> str:
    """Upper-case ASCII letters only, leaving every other character (and the length) alone."""
    return text.translate(_UPPER_ASCII)


def normalize_code(text: str) -> str:
    """The canonical form of a code as typed: half-width, no separators, upper-case.

    Idempotent; never raises on a ``str``. It does not *repair* anything (``O`` stays ``O``):
    guessing fixes is :func:`fengyan.standards.uscc.suggest_fixes`'s job, with a human in
    the loop.
    """
    return upper_ascii(strip_separators(to_halfwidth(text)))


def prepare(value: object) -> str | None:
    """:func:`normalize_code` for untrusted input: ``None`` for non-text or blank values.

    Ingestion hands validators whatever a spreadsheet cell held (``None``, ``float('nan')``,
    an ``int``), so the validators accept ``object`` at run time. Integers are taken as
    their digits (a card number read as a number is still that number); other non-text,
    floats included (they have already lost digits), counts as empty.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = normalize_code(value)
    return text or None


def is_masked(text: str) -> bool:
    """Whether ``text`` contains a masking character (``*``, ``×``, ``●``, ``•``)."""
    return any(char in MASK_CHARS for char in text)


# Rows per block in the vectorised validators: bounds the temporary matrices to a few
# tens of MB however many millions of values come in.
CHUNK_ROWS: Final = 1 << 18

CodeValues = Sequence[str | None] | NDArray[np.str_] | NDArray[np.bytes_] | NDArray[np.object_]


def code_point_chunks(values: CodeValues, width: int) -> Iterator[NDArray[np.uint32]]:
    """Yield ``(rows, width + 1)`` matrices of code points, one block of rows at a time.

    Each value is cut to ``width + 1`` characters and right-padded with 0, so column
    ``width`` is non-zero exactly when a value is longer than ``width`` and a row with a 0
    before column ``width`` is shorter. ``None`` becomes ``"None"``, which no code matches.
    The conversion runs inside numpy (``astype`` to a fixed-width string type), not in a
    Python loop over rows.
    """
    if isinstance(values, np.ndarray):
        array = values.reshape(-1)
    else:
        array = np.asarray(values, dtype=object).reshape(-1)
    for start in range(0, len(array), CHUNK_ROWS):
        block = array[start : start + CHUNK_ROWS]
        if block.dtype.kind == "S":
            raw = block.astype(f"S{width + 1}").view(np.uint8)
            yield raw.reshape(len(block), width + 1).astype(np.uint32)
        else:
            text = block.astype(f"U{width + 1}")
            yield text.view(np.uint32).reshape(len(block), width + 1)


def lookup_table(alphabet: str) -> NDArray[np.int16]:
    """A 128-entry table mapping ASCII code points to their index in ``alphabet``, else -1.

    Index code points through ``np.minimum(points, 127)``: 127 (DEL) and 0 map to -1, so
    non-ASCII characters and padding are rejected without a separate test.
    """
    table = np.full(128, -1, dtype=np.int16)
    for index, char in enumerate(alphabet):
        table[ord(char)] = index
    return table
