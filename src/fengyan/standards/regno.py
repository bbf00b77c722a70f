"""Pre-2015 工商注册号 (business registration number), GS15-2006.

Fifteen digits: the six-digit code of the registering authority, an eight-digit
sequence and one check digit computed with ISO 7064 MOD 11,10. Replaced by the 统一社会信用代码
from 2015, but court judgments, complaint files and old P2P platform records still cite it,
so we keep it as a secondary key.

MOD 11,10 catches every single-digit substitution and most adjacent swaps.
"""

from __future__ import annotations

from typing import Final

from fengyan.standards import result
from fengyan.standards.result import CheckResult
from fengyan.standards.text import DIGITS, prepare

LENGTH: Final = 15


def compute_check_digit(body14: str) -> str:
    """The ISO 7064 MOD 11,10 check digit for 14 digits; ``ValueError`` if malformed."""
    if len(body14) != 14 or any(char not in DIGITS for char in body14):
        raise ValueError(f"registration number body must be 14 digits, got {body14!r}")
    product = 10
    for char in body14:
        product = (product + int(char)) % 10 or 10
        product = product * 2 % 11
    return str((11 - product) % 10)


def check(number: str | None) -> CheckResult:
    """Check a 15-digit registration number after normalising spaces and full-width digits."""
    text = prepare(number)
    if text is None:
        return result.empty()
    if len(text) != LENGTH:
        return result.bad_length(text, str(LENGTH))
    bad = result.bad_char(text, DIGITS)
    if bad is not None:
        return bad
    expected = compute_check_digit(text[:14])
    if text[14] != expected:
        return result.bad_check_char(text, expected)
    return result.ok(text)


def is_valid(number: str | None) -> bool:
    """Whether ``number`` is a 15-digit registration number with the right check digit."""
    return check(number).valid


def normalize(number: str | None) -> str | None:
    """The 15-digit canonical form of a valid number, else ``None``."""
    outcome = check(number)
    return outcome.normalized if outcome.valid else None


def explain(number: str | None, lang: str | None = None) -> str:
    """Why ``number`` is or is not a valid registration number, for people."""
    return check(number).message(lang)


def authority_code(number: str | None) -> str | None:
    """The six-digit code of the registering authority of a valid number, else ``None``.

    Like the credit code's region field, this is where the firm was first registered,
    under the region codes of that year.
    """
    text = normalize(number)
    return None if text is None else text[:6]
