"""Pre-2015 工商注册号 (15 digits, ISO 7064 MOD 11,10)."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from fengyan.standards import regno, result

from ._data import shared_file
from ._strategies import reg_numbers, substitute, to_fullwidth, untrusted


def test_chinese_registration_numbers_in_ofac_list(shared_data: Path) -> None:
    text = shared_file(shared_data, "sanctions-ofac-sdn/sdn_2023-12-28.csv").read_text("utf-8")
    numbers = re.findall(r"Registration Number (\d{15}) \(China\)", text)
    assert len(numbers) >= 11
    assert [number for number in numbers if not regno.is_valid(number)] == []


def test_registration_numbers_in_p2p_records(shared_data: Path) -> None:
    # wdzj misfiles two registration numbers in its ICP 备案号 (recordId) column.
    path = shared_file(shared_data, "p2p-platforms/wdzj_problem_platform_details_2017.csv")
    numbers = re.findall(r'"(\d{15})"', path.read_text("utf-8"))
    assert numbers
    assert all(regno.is_valid(number) for number in numbers)


def test_known_cases() -> None:
    assert regno.compute_check_digit("11010801014688") == "8"
    assert regno.is_valid("110108010146888")
    assert regno.authority_code("110108010146888") == "110108"
    assert regno.check("110108010146887").reason == result.BAD_CHECK_CHAR
    assert regno.check("11010801014688").reason == result.BAD_LENGTH
    assert regno.check("11010801014688A").reason == result.BAD_CHAR


@given(reg_numbers(), st.integers(0, 14), st.sampled_from("0123456789"))
def test_every_single_digit_substitution_is_caught(number: str, position: int, digit: str) -> None:
    if digit != number[position]:
        assert not regno.is_valid(substitute(number, position, digit))


@given(reg_numbers())
def test_round_trip(number: str) -> None:
    assert regno.normalize(number) == number
    assert regno.normalize(to_fullwidth(f"{number[:6]} {number[6:]}")) == number


@given(untrusted)
def test_never_raises(value: str | None) -> None:
    outcome = regno.check(value)
    assert outcome.reason is None or outcome.reason in result.REASONS
    assert isinstance(regno.explain(value), str)
    assert regno.authority_code(value) is None or regno.is_valid(value)
