"""组织机构代码 (organisation code), GB 11714-1997.

Eight body characters (digits or upper-case letters, ``A``=10 … ``Z``=35) and a check
character, printed as ``XXXXXXXX-X``. Superseded for new registrations by the 统一社会信用代码,
whose positions 9–17 carry it unchanged, but older filings, court records and bank data
still quote it on its own.

Check: ``C9 = 11 − (Σ value(Ci)·Wi mod 11)`` with weights 3 7 9 10 5 8 4 2, written
``X`` for 10 and ``0`` for 11. Every weight is prime to 11, so a single substituted body
character goes unnoticed exactly when the two values differ by a multiple of 11
(``0``↔``B``, ``1``↔``C``, ``A``↔``L`` …) — a weaker code than the USCC's mod 31.
"""

from __future__ import annotations

import string
from typing import Final

import numpy as np
from numpy.typing import NDArray

from fengyan.standards import result
from fengyan.standards.result import CheckResult
from fengyan.standards.text import CodeValues, code_point_chunks, lookup_table, prepare

BODY_ALPHABET: Final = string.digits + string.ascii_uppercase
VALUES: Final = {char: index for index, char in enumerate(BODY_ALPHABET)}
WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS: Final = "0123456789X"
_BODY_SET: Final = frozenset(BODY_ALPHABET)
LENGTH: Final = 9
_BODY_TABLE: Final = lookup_table(BODY_ALPHABET)
_CHECK_TABLE: Final = lookup_table(CHECK_CHARS)
_WEIGHT_VECTOR: Final = np.array(WEIGHTS, dtype=np.int32)


def compute_check_char(body8: str) -> str:
    """The check character for an 8-character body; ``ValueError`` if the body is malformed."""
    if len(body8) != 8 or any(char not in VALUES for char in body8):
        raise ValueError(f"organisation code body must be 8 of 0-9A-Z, got {body8!r}")
    total = sum(VALUES[char] * weight for char, weight in zip(body8, WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def check(code: str | None) -> CheckResult:
    """Check an organisation code, with or without the hyphen of the printed form."""
    text = prepare(code)
    if text is None:
        return result.empty()
    if len(text) != LENGTH:
        return result.bad_length(text, str(LENGTH))
    bad = result.bad_char(text, _BODY_SET, last=CHECK_CHARS)
    if bad is not None:
        return bad
    expected = compute_check_char(text[:8])
    if text[8] != expected:
        return result.bad_check_char(text, expected)
    return result.ok(text)


def is_valid(code: str | None) -> bool:
    """Whether ``code`` is a well-formed organisation code with the right check character."""
    return check(code).valid


def normalize(code: str | None) -> str | None:
    """The 9-character canonical form (no hyphen) of a valid code, else ``None``."""
    outcome = check(code)
    return outcome.normalized if outcome.valid else None


def printed(code: str | None) -> str | None:
    """The printed form ``XXXXXXXX-X`` of a valid code, else ``None``."""
    canonical = normalize(code)
    return None if canonical is None else f"{canonical[:8]}-{canonical[8]}"


def explain(code: str | None, lang: str | None = None) -> str:
    """Why ``code`` is or is not a valid organisation code, for people."""
    return check(code).message(lang)


def valid_mask(values: CodeValues) -> NDArray[np.bool_]:
    """``is_valid`` for many canonical 9-character codes at once (``None`` → ``False``).

    Values must already be normalised (upper case, no hyphen). Used on positions 9–17 of
    credit codes during ingestion, where a wrong embedded check digit betrays a string that
    passes the credit code's mod-31 check by chance.
    """
    blocks = [_valid_block(points) for points in code_point_chunks(values, LENGTH)]
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.bool_)


def _valid_block(points: NDArray[np.uint32]) -> NDArray[np.bool_]:
    body = _BODY_TABLE[np.minimum(points[:, :8], 127)]
    given = _CHECK_TABLE[np.minimum(points[:, 8], 127)]
    well_formed = (body >= 0).all(axis=1) & (given >= 0) & (points[:, LENGTH] == 0)
    check = 11 - (body.astype(np.int32) @ _WEIGHT_VECTOR) % 11
    # Index into CHECK_CHARS: 10 is "X" (index 10), 11 is written "0" (index 0).
    expected = np.where(check == 11, 0, check)
    mask: NDArray[np.bool_] = well_formed & (expected == given)
    return mask
