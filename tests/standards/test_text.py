"""Shared normalisation and the fixed-width matrices behind the vectorised validators."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from fengyan.standards import text
from fengyan.standards.text import code_point_chunks, normalize_code, prepare, to_halfwidth

from ._strategies import to_fullwidth


def test_full_width_ascii_folds_and_nothing_else_does() -> None:
    ascii_printable = "".join(chr(code) for code in range(0x21, 0x7F))
    assert to_halfwidth(to_fullwidth(ascii_printable)) == ascii_printable
    assert to_halfwidth("\u3000") == " "
    # Unlike NFKC: circled digits, parenthesised ideographs and ligatures stay as they are.
    for kept in ["①", "㈠", "™", "ﬁ", "ß", "〇"]:
        assert to_halfwidth(kept) == kept
        assert normalize_code(kept) == kept


def test_normalize_code() -> None:
    assert normalize_code(" ９１１１ ００００-６０００３７３４１ｌ ") == "91110000600037341L"
    assert normalize_code("91110000\u200b600037341l\x00\x00") == "91110000600037341L"
    assert normalize_code("ab—cd–ef") == "ABCDEF"


def test_prepare_untrusted_values() -> None:
    assert prepare(None) is None
    assert prepare("  -  ") is None
    assert prepare(float("nan")) is None
    assert prepare(True) is None
    assert prepare(6222021234567890123) == "6222021234567890123"
    assert prepare(b"123") is None


@given(st.text())
def test_normalisation_is_idempotent_and_ascii_case_only(value: str) -> None:
    once = normalize_code(value)
    assert normalize_code(once) == once
    assert not any("a" <= char <= "z" for char in once)
    assert len(once) <= len(value)


@given(st.lists(st.one_of(st.none(), st.text(max_size=25)), max_size=30))
def test_code_point_rows_mark_length(values: list[str | None]) -> None:
    (matrix,) = list(code_point_chunks(values, 18)) or [np.zeros((0, 19), dtype=np.uint32)]
    assert matrix.shape == (len(values), 19)
    for row, value in zip(matrix, values, strict=True):
        shown = "None" if value is None else value
        trimmed = shown.rstrip("\x00")[:19]
        assert "".join(chr(point) for point in row if point) == trimmed.replace("\x00", "")
        assert bool(row[18]) == (len(trimmed) > 18)


def test_lookup_table() -> None:
    table = text.lookup_table("0123456789X")
    assert table[ord("7")] == 7 and table[ord("X")] == 10
    assert table[0] == -1 and table[127] == -1 and table[ord("x")] == -1
