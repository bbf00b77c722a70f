"""Valid identifiers for many records at once: credit codes, ID numbers, phone numbers.

Check characters are computed with array arithmetic using the same alphabets and weights
as :mod:`fengyan.standards.uscc`, :mod:`~fengyan.standards.orgcode` and
:mod:`~fengyan.standards.idcard` (the tests check every generated value with those
modules), so a million codes cost a fraction of a second.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from fengyan.simulate.core import STR, Bools, Days, Ints, Strs, weighted
from fengyan.standards import idcard, orgcode, uscc

_USCC_ALPHABET = np.frombuffer(uscc.ALPHABET.encode("ascii"), dtype=np.uint8)
_ORG_ALPHABET = np.frombuffer(orgcode.BODY_ALPHABET.encode("ascii"), dtype=np.uint8)
_ORG_CHECK = np.frombuffer(b"0123456789X0", dtype=np.uint8)  # index 11 - (sum mod 11)
_ID_CHECK = np.frombuffer(idcard.CHECK_CHARS.encode("ascii"), dtype=np.uint8)
# Characters new (post-2015) organisation codes draw from: the USCC alphabet, so the
# embedded code stays inside both alphabets.
_NEW_BODY = _USCC_ALPHABET
_NEW_BODY_SPACE = len(_NEW_BODY) ** 5
MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "173",
    "175",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "184",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
]


def _as_strings(matrix: NDArray[np.uint8]) -> Strs:
    """Rows of ASCII codes as strings."""
    width = matrix.shape[1]
    raw = np.ascontiguousarray(matrix).view(f"S{width}").ravel()
    return np.asarray(raw.astype(f"U{width}"), dtype=STR)


def _values(chars: NDArray[np.uint8], alphabet: str) -> Ints:
    table = np.full(128, -1, dtype=np.int64)
    for i, c in enumerate(alphabet):
        table[ord(c)] = i
    return table[chars]


def org_codes(rng: np.random.Generator, n: int, new: Bools) -> NDArray[np.uint8]:
    """``n`` distinct 9-character organisation codes (body + GB 11714 check) as ASCII rows.

    ``new`` rows get the post-2015 form ``MA`` + 6 characters; the others 8 digits.
    """
    body = np.zeros((n, 8), dtype=np.uint8)
    k_new = int(new.sum())
    picks = rng.choice(_NEW_BODY_SPACE * 18, size=k_new, replace=False)
    third, rest = picks // _NEW_BODY_SPACE, picks % _NEW_BODY_SPACE
    new_rows = np.zeros((k_new, 8), dtype=np.uint8)
    new_rows[:, 0], new_rows[:, 1] = ord("M"), ord("A")
    new_rows[:, 2] = _ORG_ALPHABET[third]  # 0-9 A-H
    for j in range(7, 2, -1):
        new_rows[:, j] = _NEW_BODY[rest % len(_NEW_BODY)]
        rest //= len(_NEW_BODY)
    body[new] = new_rows
    old = rng.choice(90_000_000, size=n - k_new, replace=False) + 10_000_000
    old_rows = np.zeros((n - k_new, 8), dtype=np.uint8)
    for j in range(7, -1, -1):
        old_rows[:, j] = ord("0") + old % 10
        old //= 10
    body[~new] = old_rows
    vals = _values(body, orgcode.BODY_ALPHABET)
    check = 11 - (vals @ np.array(orgcode.WEIGHTS, dtype=np.int64)) % 11
    return np.concatenate([body, _ORG_CHECK[check][:, None]], axis=1)


def credit_codes(prefix2: Strs, region6: Strs, org: NDArray[np.uint8]) -> Strs:
    """统一社会信用代码 from department+class (``91``), authority region and org code."""
    n = len(prefix2)
    text = "".join(np.strings.add(prefix2, region6).tolist())
    head = np.frombuffer(text.encode("ascii"), dtype=np.uint8).reshape(n, 8)
    body = np.concatenate([head, org], axis=1)
    vals = _values(body, uscc.ALPHABET)
    check = (-(vals @ np.array(uscc.WEIGHTS, dtype=np.int64))) % 31
    return _as_strings(np.concatenate([body, _USCC_ALPHABET[check][:, None]], axis=1))


def id_numbers(rng: np.random.Generator, region6: Ints, birth: Days, male: Bools) -> Strs:
    """Distinct 18-digit 居民身份证号码 with valid birth dates and check characters."""
    n = len(region6)
    day = birth.astype("datetime64[D]")
    ymd = _ymd(day)
    seq = rng.integers(0, 500, size=n) * 2 + male.astype(np.int64)  # odd = male
    # Collisions (same place, day and sequence) are rare; redraw them until none is left.
    for _ in range(50):
        key = (region6 * 100_000_000 + ymd) * 1000 + seq
        _, first = np.unique(key, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        seq[dup] = rng.integers(0, 500, size=int(dup.sum())) * 2 + male[dup].astype(np.int64)
    body = np.concatenate(
        [_digit_matrix(region6, 6), _digit_matrix(ymd, 8), _digit_matrix(seq, 3)], 1
    )
    total = body.astype(np.int64) @ np.array(idcard.WEIGHTS, dtype=np.int64)
    check = _ID_CHECK[(12 - total % 11) % 11]
    return _as_strings(np.concatenate([body + ord("0"), check[:, None]], axis=1).astype(np.uint8))


def _ymd(day: Days) -> Ints:
    """Dates as integers YYYYMMDD."""
    y = day.astype("datetime64[Y]").astype(np.int64) + 1970
    m = day.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (day - day.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    return np.asarray(y * 10000 + m * 100 + d, dtype=np.int64)


def _digit_matrix(values: Ints, width: int) -> NDArray[np.uint8]:
    out = np.zeros((len(values), width), dtype=np.uint8)
    v = values.astype(np.int64).copy()
    for j in range(width - 1, -1, -1):
        out[:, j] = v % 10
        v //= 10
    return out


def legacy_id(number18: str) -> str:
    """The 15-digit pre-1999 form of an 18-digit number born in the 1900s."""
    return number18[:6] + number18[8:17]


def mobiles(rng: np.random.Generator, n: int) -> Strs:
    """Mainland mobile numbers (11 digits) with real network prefixes."""
    prefix = np.array(MOBILE_PREFIXES, dtype=STR)[weighted(rng, [1.0] * len(MOBILE_PREFIXES), n)]
    rest = np.strings.zfill(rng.integers(0, 100_000_000, size=n).astype(STR), 8)
    return np.asarray(np.strings.add(prefix, rest), dtype=STR)


def landlines(rng: np.random.Generator, area_code: str, n: int) -> Strs:
    """Fixed lines written ``0755-2xxxxxxx`` (8-digit local numbers starting 2–8)."""
    local = rng.integers(20_000_000, 90_000_000, size=n).astype(STR)
    return np.asarray(np.strings.add(f"{area_code}-", local), dtype=STR)


def ints_to_ids(prefix: str, values: Ints, width: int) -> Strs:
    """Record ids such as ``P00000123``."""
    return np.asarray(
        np.strings.add(prefix, np.strings.zfill(values.astype(STR), width)), dtype=STR
    )
