"""统一社会信用代码 (unified social credit code, USCC), GB 32100-2015.

Eighteen characters from a 31-symbol alphabet that leaves out ``I O Z S V`` (they read
like ``1 0 2 5 U``)::

    9 1 110000 60003734-1 L
    │ │ │      │          └ 18  check character
    │ │ │      └ 9–17 主体标识码: a GB 11714 organisation code with its own check digit
    │ │ └ 3–8 行政区划码 of the *registering authority* at issue time (not the firm's address)
    │ └ 2 机构类别 (under 9: 1 企业, 2 个体工商户, 3 农民专业合作社)
    └ 1 登记管理部门 (9 市场监管, 5 民政, 1 机构编制, N 农业, Y 其他 …)

Check: weights ``Wi = 3^(i−1) mod 31``, ``C18 = alphabet[(31 − Σ value·Wi mod 31) mod 31]``.
Because 31 is prime and no weight is 0 mod 31, *every* single-character substitution
changes the sum, so it is always caught.

We do not use ``stdnum.cn.uscc``: it rejects valid codes whose first character is a letter
(``A``, ``N``, ``Y`` departments). A wrong check digit inside the organisation code is only
a warning (``bad_org_code``): the USCC check itself decides validity.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from fengyan.standards import orgcode, result
from fengyan.standards.result import CheckResult
from fengyan.standards.text import CodeValues, code_point_chunks, lookup_table, prepare

ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES: Final = {char: index for index, char in enumerate(ALPHABET)}
WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))
LENGTH: Final = 18

# Letters outside the alphabet and what a clerk or an OCR engine most likely meant.
CONFUSABLES: Final = {"O": "0", "I": "1", "S": "5", "Z": "2", "V": "UY"}
# Above this many combinations a "suggestion" is a guess, not a fix.
_MAX_FIX_COMBINATIONS: Final = 64

_ALPHABET_SET: Final = frozenset(ALPHABET)
_TABLE: Final = lookup_table(ALPHABET)
_WEIGHT_VECTOR: Final = np.array(WEIGHTS, dtype=np.int32)


def compute_check_char(body17: str) -> str:
    """The check character for a 17-character body; ``ValueError`` if the body is malformed."""
    if len(body17) != 17 or any(char not in VALUES for char in body17):
        raise ValueError(f"USCC body must be 17 characters of {ALPHABET}, got {body17!r}")
    total = sum(VALUES[char] * weight for char, weight in zip(body17, WEIGHTS, strict=True))
    return ALPHABET[-total % 31]


def check(code: str | None) -> CheckResult:
    """Check a credit code after normalising full-width forms, case, spaces and hyphens."""
    text = prepare(code)
    if text is None:
        return result.empty()
    if len(text) != LENGTH:
        return result.bad_length(text, str(LENGTH))
    bad = result.bad_char(text, _ALPHABET_SET)
    if bad is not None:
        return bad
    expected = compute_check_char(text[:17])
    if text[17] != expected:
        return result.bad_check_char(text, expected)
    inner = orgcode.check(text[8:17])
    if not inner.valid:
        return result.fail(
            result.BAD_ORG_CODE,
            text,
            f"embedded organisation code {text[8:17]} fails GB 11714 ({inner.reason})",
            org_code=text[8:17],
        )
    return result.ok(text)


def is_valid(code: str | None) -> bool:
    """Whether ``code`` is a valid credit code (a ``bad_org_code`` warning still counts)."""
    return check(code).valid


def normalize(code: str | None) -> str | None:
    """The canonical form of a valid code, else ``None``. Never changes a letter."""
    outcome = check(code)
    return outcome.normalized if outcome.valid else None


def explain(code: str | None, lang: str | None = None) -> str:
    """Why ``code`` is or is not a valid credit code, for people."""
    return check(code).message(lang)


def suggest_fixes(code: str | None) -> list[str]:
    """Valid codes reachable by replacing illegal look-alike letters (``O``→``0``, ``I``→``1``,
    ``S``→``5``, ``Z``→``2``, ``V``→``U``/``Y``).

    Empty when the code is already valid, has the wrong length, contains characters with
    no known look-alike, or would need too many guesses. Offer the result to a person;
    never apply it silently.
    """
    text = prepare(code)
    if text is None or len(text) != LENGTH or is_valid(text):
        return []
    options: list[str] = []
    for char in text:
        if char in VALUES:
            options.append(char)
        elif char in CONFUSABLES:
            options.append(CONFUSABLES[char])
        else:
            return []
    combinations = 1
    for choice in options:
        combinations *= len(choice)
    if combinations > _MAX_FIX_COMBINATIONS:
        return []
    found = ("".join(chars) for chars in itertools.product(*options))
    return sorted(candidate for candidate in found if is_valid(candidate))


# 登记管理部门 (position 1) and 机构类别 (positions 1–2). GB 32100-2015 defined 1, 5, 9, Y;
# later amendments added the others. Informative only — validation never depends on them —
# and to be checked against the current edition before anyone reports on them.
DEPARTMENTS: Final = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "市场监管（工商）",
    "A": "中央军委改革和编制办公室",
    "G": "公安",
    "J": "住房和城乡建设",
    "N": "农业农村",
    "Q": "侨联",
    "Y": "其他",
}
CATEGORIES: Final = {
    "11": "机关",
    "12": "事业单位",
    "13": "中央编办直接管理机构编制的群众团体",
    "19": "其他",
    "21": "外国常驻新闻机构",
    "29": "其他",
    "31": "律师执业机构",
    "39": "其他",
    "41": "外国在华文化中心",
    "49": "其他",
    "51": "社会团体",
    "52": "民办非企业单位",
    "53": "基金会",
    "54": "村民委员会",
    "55": "居民委员会",
    "59": "其他",
    "61": "外国政府旅游部门常驻代表机构",
    "62": "港澳台地区旅游部门常驻代表机构",
    "69": "其他",
    "71": "宗教活动场所",
    "72": "宗教院校",
    "79": "其他",
    "81": "基层工会",
    "89": "其他",
    "91": "企业",
    "92": "个体工商户",
    "93": "农民专业合作社",
    "A9": "其他",
    "N1": "组级集体经济组织",
    "N2": "村级集体经济组织",
    "N3": "乡镇级集体经济组织",
    "N9": "其他",
    "Y1": "其他",
}


@dataclass(frozen=True, slots=True)
class UsccParts:
    """The fields of a credit code. Names are ``None`` for codes not in our tables."""

    code: str
    department: str
    department_name: str | None
    category: str
    category_name: str | None
    region_code: str
    org_code: str
    org_code_valid: bool


def parse(code: str | None) -> UsccParts | None:
    """Split a valid credit code into its fields; ``None`` if the code is invalid."""
    text = normalize(code)
    if text is None:
        return None
    return UsccParts(
        code=text,
        department=text[0],
        department_name=DEPARTMENTS.get(text[0]),
        category=text[1],
        category_name=CATEGORIES.get(text[:2]),
        region_code=text[2:8],
        org_code=text[8:17],
        org_code_valid=orgcode.is_valid(text[8:17]),
    )


def valid_mask(values: CodeValues) -> NDArray[np.bool_]:
    """``is_valid`` for many already-normalised codes at once (``None`` → ``False``).

    Values must be canonical (upper-case ASCII, no separators): normalise on the way in,
    this path does not. Runs as numpy array arithmetic on blocks of rows — a few hundred
    nanoseconds per value — so millions of rows can be checked during ingestion.
    """
    blocks = [_valid_block(points) for points in code_point_chunks(values, LENGTH)]
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.bool_)


def _valid_block(points: NDArray[np.uint32]) -> NDArray[np.bool_]:
    digits = _TABLE[np.minimum(points, 127)]
    body, given = digits[:, :17], digits[:, 17]
    well_formed = (body >= 0).all(axis=1) & (given >= 0) & (points[:, LENGTH] == 0)
    expected = -(body.astype(np.int32) @ _WEIGHT_VECTOR) % 31
    mask: NDArray[np.bool_] = well_formed & (expected == given)
    return mask
