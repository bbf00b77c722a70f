"""居民身份证号码 (GB 11643-1999). All numbers here are synthetic or the standard's examples."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fengyan.standards import idcard, result
from fengyan.standards.text import normalize_code

from ._strategies import (
    TODAY,
    id_numbers,
    legacy_id_numbers,
    nasty_text,
    substitute,
    to_fullwidth,
    untrusted,
)

# Independent of the module: weights as printed in GB 11643 and the check table 1 0 X 9 … 2.
PRINTED_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK_BY_REMAINDER = "10X98765432"


def printed_check(body: str) -> str:
    return CHECK_BY_REMAINDER[
        sum(int(d) * w for d, w in zip(body, PRINTED_WEIGHTS, strict=True)) % 11
    ]


def test_examples_from_the_standard() -> None:
    # GB 11643-1999 uses these two numbers as its worked examples.
    for number in ["11010519491231002X", "440524188001010014"]:
        assert idcard.is_valid(number, today=TODAY)
    parts = idcard.parse("11010519491231002X", today=TODAY)
    assert parts is not None
    assert (parts.region_code, parts.birth_date, parts.sequence) == (
        "110105",
        date(1949, 12, 31),
        "002",
    )
    assert parts.sex == "F"
    assert idcard.sex("440524188001010014") == "M"
    assert idcard.birth_date("440524188001010014") == date(1880, 1, 1)


def test_legacy_numbers_convert() -> None:
    assert idcard.to_18("110105491231002") == "11010519491231002X"
    assert idcard.normalize("110105491231002") == "11010519491231002X"
    with pytest.raises(ValueError):
        idcard.to_18("11010549123100")


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        (None, result.EMPTY),
        ("1101051949123100", result.BAD_LENGTH),
        ("11010519491231002A", result.BAD_CHAR),
        ("1101051949123100X2", result.MASKED),
        ("3301**********1234", result.MASKED),
        ("110105××××××××002X", result.MASKED),
        ("110105ｘｘｘｘｘｘｘｘ002X", result.MASKED),
        ("99010519491231002X", result.BAD_REGION),
        ("20010519491231002X", result.BAD_REGION),
        ("110105194902300021", result.BAD_DATE),  # 30 February
        ("110105187912310021", result.BAD_DATE),  # before 1880
        ("110105203001010021", result.BAD_DATE),  # in the future
        ("110105491331002", result.BAD_DATE),  # legacy, month 13
        ("110105194912310021", result.BAD_CHECK_CHAR),
    ],
)
def test_rejections(number: str | None, reason: str) -> None:
    outcome = idcard.check(number, today=TODAY)
    assert (outcome.valid, outcome.reason) == (False, reason)
    assert isinstance(outcome.message("zh"), str)


def test_hong_kong_macao_taiwan_residence_permits() -> None:
    for prefix in ["810000", "820000", "830000"]:
        body = prefix + "19900101001"
        assert idcard.is_valid(body + idcard.compute_check_char(body), today=TODAY)


def test_future_is_relative_to_today() -> None:
    body = "11010520250701001"
    number = body + idcard.compute_check_char(body)
    assert not idcard.is_valid(number, today=date(2025, 6, 30))
    assert idcard.is_valid(number, today=date(2025, 7, 1))
    mask = idcard.valid_mask([number], today=date(2025, 7, 1))
    assert mask.tolist() == [True]


@given(id_numbers())
def test_generated_numbers_round_trip(number: str) -> None:
    assert idcard.compute_check_char(number[:17]) == printed_check(number[:17])
    assert idcard.normalize(number, today=TODAY) == number
    assert idcard.normalize(to_fullwidth(number.lower()), today=TODAY) == number
    assert idcard.normalize(f"{number[:6]} {number[6:14]} {number[14:]}", today=TODAY) == number


@given(legacy_id_numbers())
def test_legacy_numbers_round_trip(number: str) -> None:
    full = idcard.normalize(number, today=TODAY)
    assert full is not None and len(full) == 18
    assert full[:6] + full[8:17] == number
    assert idcard.normalize(full, today=TODAY) == full


@given(id_numbers(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_any_single_substitution_is_caught(number: str, position: int, char: str) -> None:
    # 11 is prime and 2^k is never 0 mod 11: each substitution moves the checksum
    # (or breaks the date, region or character rules first).
    if char != number[position]:
        assert not idcard.is_valid(substitute(number, position, char), today=TODAY)


@given(untrusted)
def test_never_raises(value: str | None) -> None:
    outcome = idcard.check(value, today=TODAY)
    assert outcome.reason is None or outcome.reason in result.REASONS
    assert isinstance(idcard.explain(value), str)
    normalized = idcard.normalize(value, today=TODAY)
    if normalized is not None:
        assert idcard.normalize(normalized, today=TODAY) == normalized
        assert idcard.parse(value, today=TODAY) is not None


digit_strings = st.text(alphabet="0123456789X", min_size=14, max_size=19)


@given(
    st.lists(
        st.one_of(id_numbers(), legacy_id_numbers(), digit_strings, nasty_text, st.none()),
        max_size=40,
    ),
    st.data(),
)
def test_valid_mask_equals_scalar(values: list[str | None], data: st.DataObject) -> None:
    mutated = [
        substitute(
            v, data.draw(st.integers(0, len(v) - 1)), data.draw(st.sampled_from("0123456789X"))
        )
        for v in values
        if v
    ]
    canonical = [v for v in values + mutated if v is None or normalize_code(v) == v]
    expected = [idcard.is_valid(v, today=TODAY) for v in canonical]
    assert idcard.valid_mask(canonical, today=TODAY).tolist() == expected
    as_object = np.array(canonical, dtype=object)
    assert idcard.valid_mask(as_object, today=TODAY).tolist() == expected


def test_valid_mask_calendar_edges() -> None:
    def number(yyyymmdd: str) -> str:
        body = f"110105{yyyymmdd}001"
        return body + idcard.compute_check_char(body)

    cases = ["20000229", "19000229", "20240229", "20230229", "19991231", "18791231", "18800101"]
    values = [number(day) for day in cases] + [
        "110105960229001",
        "110105000229001",
    ]  # 1996 leap, 1900 not
    expected = [idcard.is_valid(v, today=TODAY) for v in values]
    assert expected == [True, False, True, False, True, False, True, True, False]
    assert idcard.valid_mask(values, today=TODAY).tolist() == expected
