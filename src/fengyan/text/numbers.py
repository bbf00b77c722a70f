"""Numbers as promoters write them: 18, 1,200,000, 1.5万, 一万, 两千五, 十五, 三百余万, 百分之十八.

Only the arithmetic lives here; which words mean "per month" or "1 分" is data
(``lexicons/promises.yaml``).
"""

from __future__ import annotations

import re
from typing import Final

_DIGIT: Final = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "幺": 1, "二": 2, "两": 2, "贰": 2, "三": 3, "叁": 3,
    "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8,
    "九": 9, "玖": 9,
}  # fmt: skip
_UNIT: Final = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG: Final = (("亿", 1e8), ("万", 1e4))
_ARABIC: Final = re.compile(r"\d+(?:\.\d+)?")
_TOKEN: Final = re.compile(r"\d+(?:\.\d+)?|点\d+|点[零〇一二两三四五六七八九]+|.", re.S)
# Words that make an amount approximate ("三百余万", "2万多") without changing its value.
_APPROX: Final = str.maketrans("", "", "余多几来约,，")

#: Characters a number may be written with (for building patterns).
NUMBER_CHARS: Final = "0-9.,零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟"


def parse_number(text: str) -> float | None:
    """The value of ``text`` (Arabic, Chinese or mixed numerals), or ``None`` if it is none.

    >>> parse_number("1.5万"), parse_number("两千五"), parse_number("三百余万")
    (15000.0, 2500.0, 3000000.0)
    """
    s = text.strip().translate(_APPROX)
    if not s:
        return None
    if _ARABIC.fullmatch(s):
        return float(s)
    for char, mult in _BIG:
        if char in s:
            head, tail = s.split(char, 1)
            lead = parse_number(head) if head else 1.0
            if lead is None:
                return None
            rest = 0.0
            if tail:
                # 一万五 = 15,000: a lone digit after the unit is a tenth of it.
                if len(tail) == 1 and tail in _DIGIT:
                    rest = _DIGIT[tail] * mult / 10
                else:
                    got = parse_number(tail)
                    if got is None:
                        return None
                    rest = got
            return lead * mult + rest
    return _small(s)


def _small(s: str) -> float | None:
    """A number below 万: 十五, 两千五, 3千, 一百零八, 二点五."""
    total = 0.0
    pending: float | None = None
    last_unit = 0
    for tok in _TOKEN.findall(s):
        if tok.startswith("点"):
            digits = tok[1:]
            if not digits.isascii():
                digits = "".join(str(_DIGIT[c]) for c in digits)
            pending = (pending or 0.0) + float("0." + digits)
        elif tok in _DIGIT:
            pending = float(_DIGIT[tok])
        elif tok in _UNIT:
            last_unit = _UNIT[tok]
            total += (pending if pending is not None else 1.0) * last_unit
            pending = None
        elif _ARABIC.fullmatch(tok):
            pending = float(tok)
        else:
            return None
    if pending is not None:
        # 两千五 = 2,500: a trailing digit after a unit counts in the next lower unit.
        if last_unit >= 100 and pending < 10 and s[-1] in _DIGIT and s[-2:-1] in _UNIT:
            total += pending * last_unit / 10
        else:
            total += pending
    return total
