"""Bank card numbers: Luhn as a warning, length and characters as errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fengyan.standards import bankcard, result

from ._data import shared_file
from ._strategies import card_numbers, substitute, to_fullwidth, untrusted


def test_known_numbers() -> None:
    assert bankcard.luhn_ok("4111111111111111")
    assert bankcard.luhn_check_digit("621234567890123") == "2"
    assert bankcard.check("6212 3456 7890 1232") == result.ok("6212345678901232")


@pytest.mark.parametrize(
    ("number", "reason", "valid"),
    [
        ("6212345678901237", result.LUHN_MISMATCH, True),
        ("621234567890123", result.BAD_LENGTH, False),
        ("62123456789012345678", result.BAD_LENGTH, False),
        ("62123456789O1232", result.BAD_CHAR, False),
        ("6228XXXXXXXXXXX217", result.MASKED, False),
        ("6212********1238", result.MASKED, False),
        (None, result.EMPTY, False),
    ],
)
def test_findings(number: str | None, reason: str, valid: bool) -> None:
    outcome = bankcard.check(number)
    assert (outcome.valid, outcome.reason) == (valid, reason)
    assert outcome.warning == (reason == result.LUHN_MISMATCH)


def test_luhn_mismatch_is_a_warning_unless_strict() -> None:
    assert bankcard.is_valid("6212345678901237")
    assert not bankcard.is_valid("6212345678901237", strict=True)
    assert bankcard.normalize("6212345678901237") == "6212345678901237"
    assert "Luhn" in bankcard.explain("6212345678901237", "zh")


def test_card_numbers_quoted_in_court_texts_are_never_rejected(shared_data: Path) -> None:
    # Measured on the CAIL / LeCaRD samples: of the distinct unmasked 62-prefixed numbers,
    # a few (PSBC 621098…, CCB 621700…) fail Luhn — the reason Luhn is only a warning.
    numbers: set[str] = set()
    for name in ["cail2018_sample.jsonl", "lecardv2_queries_fulltext.jsonl"]:
        text = shared_file(shared_data, f"judicial-samples/{name}").read_text("utf-8")
        numbers |= set(re.findall(r"(?<![0-9A-Za-z])62\d{14,17}(?![0-9A-Za-z])", text))
    assert len(numbers) >= 10
    outcomes = [bankcard.check(number) for number in numbers]
    assert all(outcome.valid for outcome in outcomes)
    assert any(outcome.reason == result.LUHN_MISMATCH for outcome in outcomes)


@given(card_numbers())
def test_round_trip(number: str) -> None:
    assert bankcard.check(number) == result.ok(number)
    assert bankcard.normalize(to_fullwidth(f"{number[:4]} {number[4:8]}-{number[8:]}")) == number


@given(card_numbers(), st.data())
def test_luhn_catches_every_single_digit_substitution(number: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(number) - 1))
    digit = data.draw(st.sampled_from("0123456789").filter(lambda d: d != number[position]))
    assert bankcard.check(substitute(number, position, digit)).reason == result.LUHN_MISMATCH


@given(untrusted)
def test_never_raises(value: str | None) -> None:
    outcome = bankcard.check(value)
    assert outcome.reason is None or outcome.reason in result.REASONS
    assert isinstance(bankcard.explain(value), str)
    normalized = bankcard.normalize(value)
    assert normalized is None or bankcard.normalize(normalized) == normalized
