"""Bank card numbers (ISO/IEC 7812 PAN) as used in China: 16–19 digits.

UnionPay cards start with ``62``; the last digit is normally a Luhn check digit. Some
older domestic debit cards are reported not to satisfy Luhn, so a Luhn failure is a
*warning* (``luhn_mismatch``, still ``valid``) rather than a rejection: we would rather
keep a real account number in a fraud case file than drop it. Ask for ``strict=True``
where only Luhn-clean numbers make sense (e.g. test-data generation).

Court judgments often print card numbers half masked (``6228XXXXXXXXXXX217``); those are
reported as ``masked``.
"""

from __future__ import annotations

from typing import Final

from fengyan.standards import result
from fengyan.standards.result import CheckResult
from fengyan.standards.text import DIGITS, MASK_CHARS, prepare

MIN_LENGTH: Final = 16
MAX_LENGTH: Final = 19


def luhn_check_digit(payload: str) -> str:
    """The Luhn digit that completes ``payload`` (digits only; ``ValueError`` otherwise)."""
    if not payload or any(char not in DIGITS for char in payload):
        raise ValueError(f"Luhn payload must be digits, got {payload!r}")
    return str(-_luhn_sum(payload + "0") % 10)


def luhn_ok(digits: str) -> bool:
    """Whether a digit string passes the Luhn check (``False`` for non-digits or empty)."""
    if not digits or any(char not in DIGITS for char in digits):
        return False
    return _luhn_sum(digits) % 10 == 0


def check(number: str | None) -> CheckResult:
    """Check a card number; a Luhn failure is a warning, bad length or characters are not."""
    text = prepare(number)
    if text is None:
        return result.empty()
    if _looks_masked(text):
        return result.fail(result.MASKED, text, "digits hidden by masking")
    if not MIN_LENGTH <= len(text) <= MAX_LENGTH:
        return result.bad_length(text, f"{MIN_LENGTH}–{MAX_LENGTH}")
    bad = result.bad_char(text, DIGITS)
    if bad is not None:
        return bad
    if not luhn_ok(text):
        return result.fail(
            result.LUHN_MISMATCH,
            text,
            f"Luhn check digit should be {luhn_check_digit(text[:-1])}",
            expected=luhn_check_digit(text[:-1]),
            actual=text[-1],
        )
    return result.ok(text)


def is_valid(number: str | None, *, strict: bool = False) -> bool:
    """Whether ``number`` is a plausible card number; ``strict`` also requires Luhn."""
    outcome = check(number)
    return outcome.valid and not (strict and outcome.reason == result.LUHN_MISMATCH)


def normalize(number: str | None) -> str | None:
    """The digits of a plausible card number (Luhn failures included), else ``None``."""
    outcome = check(number)
    return outcome.normalized if outcome.valid else None


def explain(number: str | None, lang: str | None = None) -> str:
    """Why ``number`` is or is not a plausible card number, for people."""
    return check(number).message(lang)


def _luhn_sum(digits: str) -> int:
    total = 0
    # Double every second digit counting from the right (the check digit is not doubled).
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total


def _looks_masked(text: str) -> bool:
    # Courts mask with * or x/X; a card number never legitimately contains X.
    allowed = DIGITS | MASK_CHARS | {"X"}
    return all(char in allowed for char in text) and any(
        char in MASK_CHARS or char == "X" for char in text
    )
