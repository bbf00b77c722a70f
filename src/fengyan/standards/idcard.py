"""居民身份证号码 (resident identity number), GB 11643-1999.

Eighteen characters: six-digit address code (GB/T 2260, as it was when the number was
issued), birth date ``YYYYMMDD``, three-digit sequence (odd = male) and a check character
per ISO 7064 MOD 11-2 — weights ``2^(17−i) mod 11`` = 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2,
``check = (12 − Σ mod 11) mod 11``, ``X`` for 10. 11 is prime and no weight is 0 mod 11,
so every single substituted character is caught.

Legacy 15-digit numbers (``YYMMDD``, no check character) are still found in old bank and
court records; they are valid here and normalise to 18 digits by inserting ``19``.
港澳台居民居住证 numbers (address codes 81/82/83…) follow the same rules.

We check the province (first two digits) but not the county: county codes are retired and
re-issued, so a county check needs the historical table in ``regions``. Numbers masked
by courts (``3301**********1234``, ``×``, full-width ``ｘ``) are reported as ``masked``, not
as errors in the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from fengyan.standards import result
from fengyan.standards.result import CheckResult
from fengyan.standards.text import DIGITS, MASK_CHARS, CodeValues, code_point_chunks, lookup_table
from fengyan.standards.text import prepare as _prepare

LENGTH: Final = 18
LEGACY_LENGTH: Final = 15
WEIGHTS: Final = tuple(pow(2, 17 - i, 11) for i in range(17))
CHECK_CHARS: Final = "0123456789X"
MIN_YEAR: Final = 1880
# Province-level codes of GB/T 2260, plus 83 used by 台湾居民居住证.
PROVINCES: Final = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
)

_TABLE: Final = lookup_table(CHECK_CHARS)
_WEIGHT_VECTOR: Final = np.array(WEIGHTS, dtype=np.int32)
_PROVINCE_TABLE: Final = np.isin(np.arange(100), sorted(PROVINCES))
_DAYS_IN_MONTH: Final = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def compute_check_char(body17: str) -> str:
    """The check character for 17 digits; ``ValueError`` if the body is malformed."""
    if len(body17) != 17 or any(char not in DIGITS for char in body17):
        raise ValueError(f"identity number body must be 17 digits, got {body17!r}")
    total = sum(int(char) * weight for char, weight in zip(body17, WEIGHTS, strict=True))
    return CHECK_CHARS[(12 - total % 11) % 11]


def to_18(number15: str) -> str:
    """Convert a 15-digit legacy number to 18 digits; ``ValueError`` if not 15 digits."""
    if len(number15) != LEGACY_LENGTH or any(char not in DIGITS for char in number15):
        raise ValueError(f"legacy identity number must be 15 digits, got {number15!r}")
    body = number15[:6] + "19" + number15[6:]
    return body + compute_check_char(body)


def check(number: str | None, *, today: date | None = None) -> CheckResult:
    """Check an 18-digit (or legacy 15-digit) number: characters, province, birth date
    (a real date, from 1880, not after ``today``) and check character.

    For a valid legacy number ``normalized`` is its 18-digit form.
    """
    text = _prepare(number)
    if text is None:
        return result.empty()
    if _looks_masked(text):
        return result.fail(result.MASKED, text, "digits hidden by masking")
    if len(text) not in (LENGTH, LEGACY_LENGTH):
        return result.bad_length(text, "18")
    legacy = len(text) == LEGACY_LENGTH
    bad = result.bad_char(text, DIGITS, last=None if legacy else CHECK_CHARS)
    if bad is not None:
        return bad
    if int(text[:2]) not in PROVINCES:
        return result.fail(result.BAD_REGION, text, f"no province {text[:2]}", province=text[:2])
    digits = "19" + text[6:12] if legacy else text[6:14]
    if _birth_date(digits, today or date.today()) is None:
        return result.fail(result.BAD_DATE, text, f"no birth date {digits}", date=digits)
    if legacy:
        return result.ok(to_18(text))
    expected = compute_check_char(text[:17])
    if text[17] != expected:
        return result.bad_check_char(text, expected)
    return result.ok(text)


def is_valid(number: str | None, *, today: date | None = None) -> bool:
    """Whether ``number`` is a valid 18-digit or legacy 15-digit identity number."""
    return check(number, today=today).valid


def normalize(number: str | None, *, today: date | None = None) -> str | None:
    """The 18-character form of a valid number (legacy numbers converted), else ``None``."""
    outcome = check(number, today=today)
    return outcome.normalized if outcome.valid else None


def explain(number: str | None, lang: str | None = None) -> str:
    """Why ``number`` is or is not a valid identity number, for people."""
    return check(number).message(lang)


@dataclass(frozen=True, slots=True)
class IdParts:
    """The fields of a valid identity number (always in 18-digit form)."""

    number: str
    region_code: str
    birth_date: date
    sequence: str
    sex: Literal["M", "F"]


def parse(number: str | None, *, today: date | None = None) -> IdParts | None:
    """Split a valid number into address code, birth date, sequence and sex, else ``None``."""
    text = normalize(number, today=today)
    if text is None:
        return None
    born = _birth_date(text[6:14], date.max)
    assert born is not None  # normalize() has already checked the date
    return IdParts(text, text[:6], born, text[14:17], "M" if int(text[16]) % 2 else "F")


def birth_date(number: str | None) -> date | None:
    """The birth date of a valid number, else ``None``."""
    parts = parse(number)
    return None if parts is None else parts.birth_date


def sex(number: str | None) -> Literal["M", "F"] | None:
    """``"M"`` or ``"F"`` from the parity of the 17th digit of a valid number, else ``None``."""
    parts = parse(number)
    return None if parts is None else parts.sex


def _looks_masked(text: str) -> bool:
    # Only a value made of digits, X and mask characters counts: "X" before the last
    # position is a court's ｘ (folded to X), not a check character.
    allowed = DIGITS | MASK_CHARS | {"X"}
    if any(char not in allowed for char in text):
        return False
    return any(char in MASK_CHARS for char in text) or "X" in text[:-1]


def _birth_date(yyyymmdd: str, today: date) -> date | None:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return None
    return born if born.year >= MIN_YEAR and born <= today else None


def valid_mask(values: CodeValues, *, today: date | None = None) -> NDArray[np.bool_]:
    """``is_valid`` for many already-normalised numbers at once (``None`` → ``False``).

    Values must be canonical (ASCII digits and upper-case ``X``, no separators); 15- and
    18-digit numbers may be mixed. Array arithmetic on blocks of rows, no per-row Python.
    """
    limit = today or date.today()
    today_key = limit.year * 10000 + limit.month * 100 + limit.day
    blocks = [_valid_block(points, today_key) for points in code_point_chunks(values, LENGTH)]
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.bool_)


def _valid_block(points: NDArray[np.uint32], today_key: int) -> NDArray[np.bool_]:
    raw = _TABLE[np.minimum(points, 127)].astype(np.int32)
    is_digit = (raw >= 0) & (raw <= 9)
    digits = np.where(is_digit, raw, 0)
    full = (points[:, 17] != 0) & (points[:, 18] == 0) & is_digit[:, :17].all(axis=1)
    legacy = (points[:, 14] != 0) & (points[:, 15] == 0) & is_digit[:, :15].all(axis=1)

    province = _PROVINCE_TABLE[digits[:, 0] * 10 + digits[:, 1]]
    d = digits  # short alias for the date arithmetic below
    year = np.where(legacy, 1900 + d[:, 6] * 10 + d[:, 7], d[:, 6:10] @ [1000, 100, 10, 1])
    month = np.where(legacy, d[:, 8] * 10 + d[:, 9], d[:, 10] * 10 + d[:, 11])
    day = np.where(legacy, d[:, 10] * 10 + d[:, 11], d[:, 12] * 10 + d[:, 13])
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    days = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + (leap & (month == 2))
    date_ok = (
        month_ok
        & (day >= 1)
        & (day <= days)
        & (year >= MIN_YEAR)
        & (year * 10000 + month * 100 + day <= today_key)
    )

    expected = (12 - (digits[:, :17] @ _WEIGHT_VECTOR) % 11) % 11
    check_ok = (raw[:, 17] >= 0) & (expected == raw[:, 17])
    mask: NDArray[np.bool_] = ((full & check_ok) | legacy) & province & date_ok
    return mask
