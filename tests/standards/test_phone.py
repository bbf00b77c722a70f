"""Telephone numbers: E.164 normalisation and kinds."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fengyan.standards import phone, result

from ._strategies import to_fullwidth, untrusted

GOLDEN = [
    ("13812345678", "+8613812345678", "mobile"),
    ("138 1234 5678", "+8613812345678", "mobile"),
    ("+86-138-1234-5678", "+8613812345678", "mobile"),
    ("0086 13812345678", "+8613812345678", "mobile"),
    ("8613812345678", "+8613812345678", "mobile"),
    ("１３８１２３４５６７８", "+8613812345678", "mobile"),
    ("17012345678", "+8617012345678", "mobile"),  # virtual operator
    ("010-12345678", "+861012345678", "fixed_line"),
    ("(010)12345678", "+861012345678", "fixed_line"),
    ("（０１０）１２３４５６７８", "+861012345678", "fixed_line"),
    ("+86 10 1234 5678", "+861012345678", "fixed_line"),
    ("0086-10-12345678", "+861012345678", "fixed_line"),
    ("0571-87654321", "+8657187654321", "fixed_line"),
    ("010-12345678-8001", "+861012345678", "fixed_line"),
    ("010-12345678 转 8001", "+861012345678", "fixed_line"),
    ("010 1234 5678 ext. 8001", "+861012345678", "fixed_line"),
    ("400-810-8888", "+864008108888", "toll_free"),
    ("800-810-8888", "+868008108888", "toll_free"),
    ("+852 2123 4567", "+85221234567", "fixed_line"),
]


@pytest.mark.parametrize(("raw", "e164", "kind"), GOLDEN)
def test_golden(raw: str, e164: str, kind: str) -> None:
    assert phone.normalize(raw) == e164
    assert phone.kind(raw) == kind
    assert phone.check(raw) == result.ok(e164)


def test_parts() -> None:
    parsed = phone.parse("010-12345678 转 8001")
    assert parsed is not None
    assert (parsed.area_code, parsed.extension, parsed.national) == ("10", "8001", "1012345678")
    mobile = phone.parse("+86 138 1234 5678")
    assert mobile is not None and mobile.area_code is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("0755-1234567", result.BAD_NUMBER),  # Shenzhen local numbers have 8 digits
        ("95588", result.BAD_NUMBER),  # service short code, not a full number
        ("12345678", result.BAD_NUMBER),  # no area code
        ("1381234567", result.BAD_NUMBER),
        ("138****5678", result.MASKED),
        ("", result.EMPTY),
        (None, result.EMPTY),
    ],
)
def test_rejections(raw: str | None, reason: str) -> None:
    assert phone.check(raw).reason == reason
    assert phone.normalize(raw) is None


def test_other_scripts_digits_come_out_ascii() -> None:
    # Arabic-Indic digits: libphonenumber folds them; our regex fast path must not pass them on.
    assert phone.normalize("١٣٨١٢٣٤٥٦٧٨") in {None, "+8613812345678"}


def test_normalize_many() -> None:
    raw = [row[0] for row in GOLDEN] + [None, "95588"]
    assert phone.normalize_many(raw) == [row[1] for row in GOLDEN] + [None, None]


mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


@given(
    mobiles,
    st.sampled_from(["", "+86", "0086", "86", "+86 ", "+86-"]),
    st.sampled_from(["", " ", "-"]),
    st.booleans(),
)
def test_decorated_mobiles(digits: str, prefix: str, separator: str, wide: bool) -> None:
    raw = prefix + separator.join([digits[:3], digits[3:7], digits[7:]])
    assert phone.normalize(to_fullwidth(raw) if wide else raw) == "+86" + digits


@given(untrusted)
def test_never_raises_and_is_idempotent(value: str | None) -> None:
    outcome = phone.check(value)
    assert outcome.reason is None or outcome.reason in result.REASONS
    assert isinstance(phone.explain(value), str)
    e164 = phone.normalize(value)
    if e164 is not None:
        assert re.fullmatch(r"\+[0-9]{4,15}", e164), e164
        assert phone.normalize(e164) == e164
        assert phone.kind(e164) == phone.kind(value)
