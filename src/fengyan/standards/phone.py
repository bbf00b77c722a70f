"""Telephone numbers, normalised to E.164 (``+8613812345678``, ``+861012345678``).

Mainland mobiles (``1[3-9]`` + 9 digits) are most of what we see in complaints and
P2P records, so they go through a regular expression first; everything else — landlines
with their 3- or 4-digit area codes and 7- or 8-digit local numbers, 400/800 numbers,
Hong Kong or foreign numbers — is decided by ``phonenumbers`` (Google's libphonenumber
metadata), which knows that ``0755-1234567`` is one digit short and that ``95588`` is a
service short code rather than a full number.

Accepted decorations: ``+86``/``0086``/``86`` prefixes, spaces, hyphens, dots, (full-width)
parentheses, full-width digits, and an extension after ``转``, ``分机``, ``ext``, ``x``, ``#``
or a final hyphen (``010-12345678-8001``). The extension is kept in :class:`PhoneNumber`
but is not part of the E.164 string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

import phonenumbers

from fengyan.standards import result
from fengyan.standards.result import CheckResult
from fengyan.standards.text import is_masked, strip_separators, to_halfwidth

Kind = Literal["mobile", "fixed_line", "toll_free", "other"]

# re.ASCII throughout: in a str pattern \d also matches Arabic-Indic and other digits, and
# the fast path would then emit them inside an "E.164" string.
_MOBILE: Final = re.compile(r"(?:\+86|0086|86)?(1[3-9]\d{9})", re.ASCII)
_DECORATION: Final = re.compile(r"[()（）.]")
_EXTENSION: Final = re.compile(
    r"^(.*?\d)\s*(?:转|分机|ext\.?|x|#)\s*(\d{1,6})\s*$", re.IGNORECASE | re.ASCII
)
_HYPHEN_EXTENSION: Final = re.compile(r"^(.*\d)\s*-\s*(\d{1,6})\s*$", re.ASCII)
# phonenumbers refuses longer input anyway; stopping early keeps huge strings cheap.
_MAX_INPUT: Final = 64

_T = phonenumbers.PhoneNumberType
_KINDS: Final[dict[int, Kind]] = {
    _T.MOBILE: "mobile",
    _T.FIXED_LINE: "fixed_line",
    _T.TOLL_FREE: "toll_free",  # 800
    _T.SHARED_COST: "toll_free",  # 400: caller pays part, but people call both "400/800"
}


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A parsed, valid telephone number."""

    e164: str
    kind: Kind
    region: str
    national: str
    area_code: str | None = None
    extension: str | None = None


def parse(value: str | None) -> PhoneNumber | None:
    """Parse a number as people write it; ``None`` unless it is a complete, valid number.

    ``national`` is the number as dialled inside its country without the trunk prefix
    (``13812345678``, ``1012345678``); ``area_code`` is set for geographic fixed lines
    (``10``, ``755``).
    """
    if not isinstance(value, str) or len(value) > _MAX_INPUT:
        return None
    text = to_halfwidth(value).strip()
    mobile = _MOBILE.fullmatch(_DECORATION.sub("", strip_separators(text)))
    if mobile is not None:
        digits = mobile.group(1)
        return PhoneNumber("+86" + digits, "mobile", "CN", digits)
    return _parse_other(text)


@lru_cache(maxsize=1 << 16)
def _parse_other(text: str) -> PhoneNumber | None:
    # Cached: switchboards and 400 numbers repeat across thousands of records.
    found = _parse_with_library(text, None)
    if found is not None:
        return found
    for pattern in (_EXTENSION, _HYPHEN_EXTENSION):
        match = pattern.match(text)
        if match is not None:
            found = _parse_with_library(match.group(1), match.group(2))
            if found is not None:
                return found
    return None


def _parse_with_library(text: str, extension: str | None) -> PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    national = str(number.national_number)
    area_length = phonenumbers.length_of_geographical_area_code(number)
    return PhoneNumber(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        kind=_KINDS.get(phonenumbers.number_type(number), "other"),
        region=phonenumbers.region_code_for_number(number) or "ZZ",
        national=national,
        area_code=national[:area_length] if area_length else None,
        extension=extension or number.extension or None,
    )


def normalize(value: str | None) -> str | None:
    """The E.164 form of a valid number (extension dropped), else ``None``."""
    parsed = parse(value)
    return None if parsed is None else parsed.e164


def normalize_many(values: Iterable[str | None]) -> list[str | None]:
    """:func:`normalize` over many values; mobiles take the regular-expression path."""
    return [normalize(value) for value in values]


def kind(value: str | None) -> Kind | None:
    """``mobile``, ``fixed_line``, ``toll_free`` (400/800) or ``other``; ``None`` if invalid."""
    parsed = parse(value)
    return None if parsed is None else parsed.kind


def check(value: str | None) -> CheckResult:
    """Check a telephone number; ``normalized`` is the E.164 form when valid."""
    if not isinstance(value, str) or not strip_separators(to_halfwidth(value)):
        return result.empty()
    parsed = parse(value)
    if parsed is not None:
        return result.ok(parsed.e164)
    text = strip_separators(to_halfwidth(value))
    if is_masked(text) or re.fullmatch(r"\+?[0-9]+[*xX]{3,}[0-9]*", text):
        return result.fail(result.MASKED, text, "digits hidden by masking")
    return result.fail(result.BAD_NUMBER, text, "not a complete, valid telephone number")


def is_valid(value: str | None) -> bool:
    """Whether ``value`` is a complete, valid telephone number."""
    return parse(value) is not None


def explain(value: str | None, lang: str | None = None) -> str:
    """Why ``value`` is or is not a valid telephone number, for people."""
    return check(value).message(lang)
