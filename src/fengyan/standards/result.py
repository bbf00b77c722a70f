"""The outcome of checking one identifier, shared by every validator in this package.

A validator never raises on bad input: it returns a :class:`CheckResult` whose ``reason``
is one of the stable codes below. Ingestion stores the code (it is what dashboards count
and filter on); people read :meth:`CheckResult.message`, rendered from the ``std_<reason>``
entries of ``i18n/messages/standards.yaml`` in Chinese first.

``valid`` and ``reason`` together give three levels:

* ``valid=True, reason=None`` — clean;
* ``valid=True, reason=...`` — usable but worth a look (a *warning*: a bank card failing
  Luhn, which some real domestic cards do; a credit code whose embedded organisation
  code has a wrong check digit);
* ``valid=False`` — rejected, ``reason`` says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from fengyan.i18n import t

# Stable reason codes. They are stored in the lake and counted in reports, so renaming
# one is a data migration, not a refactor.
EMPTY: Final = "empty"
BAD_LENGTH: Final = "bad_length"
BAD_CHAR: Final = "bad_char"
BAD_CHECK_CHAR: Final = "bad_check_char"
BAD_DATE: Final = "bad_date"
BAD_REGION: Final = "bad_region"
BAD_NUMBER: Final = "bad_number"
MASKED: Final = "masked"
LUHN_MISMATCH: Final = "luhn_mismatch"
BAD_ORG_CODE: Final = "bad_org_code"

REASONS: Final = frozenset(
    {
        EMPTY,
        BAD_LENGTH,
        BAD_CHAR,
        BAD_CHECK_CHAR,
        BAD_DATE,
        BAD_REGION,
        BAD_NUMBER,
        MASKED,
        LUHN_MISMATCH,
        BAD_ORG_CODE,
    }
)
# Findings that do not make a value unusable.
WARNINGS: Final = frozenset({LUHN_MISMATCH, BAD_ORG_CODE})

Params = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict on one value.

    ``normalized`` is the cleaned-up text that was checked (full-width folded, separators
    removed, upper-cased) — present even when the value is invalid, so a reviewer sees what
    the machine saw; it is ``None`` only when there was nothing to clean (``None``, blank).
    ``detail`` is a short English note for logs; ``params`` fill the message template.
    """

    valid: bool
    normalized: str | None
    reason: str | None = None
    detail: str | None = None
    params: Params = ()

    @property
    def warning(self) -> bool:
        """Whether the value is usable but carries a finding worth reviewing."""
        return self.valid and self.reason is not None

    def message(self, lang: str | None = None) -> str:
        """The user-facing explanation, in ``lang`` or the current language."""
        return t(f"std_{self.reason or 'ok'}", lang, **dict(self.params))


def ok(normalized: str) -> CheckResult:
    """A clean result."""
    return CheckResult(True, normalized)


def fail(
    reason: str, normalized: str | None, detail: str | None = None, **params: object
) -> CheckResult:
    """A rejection (or, for codes in :data:`WARNINGS`, a usable value with a finding)."""
    return CheckResult(
        reason in WARNINGS,
        normalized,
        reason,
        detail,
        tuple((key, str(value)) for key, value in params.items()),
    )


def empty() -> CheckResult:
    """The result for ``None``, non-text or blank input."""
    return CheckResult(False, None, EMPTY, "no value")


def bad_char(
    text: str, allowed: str | frozenset[str], last: str | None = None
) -> CheckResult | None:
    """A ``bad_char`` result for the first character of ``text`` outside ``allowed``.

    ``last``, if given, is the set allowed in the final (check) position instead.
    Returns ``None`` when every character is allowed.
    """
    final = len(text) - 1
    for index, char in enumerate(text):
        if char not in (last if last is not None and index == final else allowed):
            return char_error(text, char, index + 1)
    return None


def char_error(text: str, char: str, position: int) -> CheckResult:
    """A ``bad_char`` result naming the character and its 1-based position."""
    return fail(
        BAD_CHAR,
        text,
        f"illegal character {char!r} at position {position}",
        char=char,
        position=position,
    )


def bad_length(text: str, expected: str) -> CheckResult:
    """A ``bad_length`` result; ``expected`` is printable ("18", "16–19")."""
    return fail(
        BAD_LENGTH,
        text,
        f"expected {expected} characters, got {len(text)}",
        expected=expected,
        actual=len(text),
    )


def bad_check_char(text: str, expected: str) -> CheckResult:
    """A ``bad_check_char`` result for ``text`` whose last character should be ``expected``."""
    actual = text[-1:]
    return fail(
        BAD_CHECK_CHAR,
        text,
        f"check character should be {expected}, is {actual}",
        expected=expected,
        actual=actual,
    )
