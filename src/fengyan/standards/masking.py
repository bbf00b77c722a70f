"""Display masking (屏蔽) of personal information, after JR/T 0171-2020 §6 and Annex A.

One function per kind of value; :func:`mask` dispatches on the kind names used in the
schema YAML. Default profile (each configurable per call):

=========== =========================================== =====================
kind        rule                                        example
=========== =========================================== =====================
name        keep the surname (two-character compound    ``张*``, ``欧阳**``
            surnames recognised), Latin names keep the
            first letter
id_number   first 1 + last 1 (``keep_head=3,            ``1****************X``
            keep_tail=4`` for the common 3+4 profile)
phone       mobile 3+4; landline area code + last 4     ``138****5678``,
                                                        ``010-****5678``
bank_card   at most first 6 + last 4 (the PCI DSS cap,  ``622202******1234``
            enforced even if a caller asks for more)
address     up to the last 省/市/区/县/旗/镇/乡/街道 before  ``广东省深圳市南山区粤海街道***``
            the street part, within ``max_prefix`` chars
email       first character of the mailbox + domain     ``a***@example.com``
=========== =========================================== =====================

Two promises, both property-tested: masking never raises (``None`` stays ``None``, odd
objects are shown as their text, masked), and never reveals more than its rule — when a
value is too short for the rule, more is hidden, not less (at least :data:`MIN_HIDDEN`
characters are always hidden).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from fengyan.standards import phone
from fengyan.standards.text import normalize_code, to_halfwidth

MASK: Final = "*"
# However short a value, this many characters (or all of it) are hidden.
MIN_HIDDEN: Final = 4
BANK_CARD_MAX_HEAD: Final = 6
BANK_CARD_MAX_TAIL: Final = 4

# 复姓 common enough to appear in case files; a three-character name starting with one of
# these is read as compound surname + given name.
COMPOUND_SURNAMES: Final = frozenset(
    str.split(
        "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 闻人 "
        "澹台 公冶 宗政 濮阳 淳于 单于 太叔 申屠 赫连 端木 百里 呼延 东郭 南宫 拓跋 独孤 万俟 "
        "西门 第五 左丘 乐正 司空 仲孙 鲜于 闾丘 子车 巫马 公西 漆雕 公良 谷梁 段干 梁丘 东门 "
        "羊舌 微生 公羊 完颜"
    )
)
_NAME_SEPARATORS: Final = frozenset(" ·•・.-")

# An address is cut before the first street-level token (road, lane, number, building…)
# and after the last administrative marker before that point.
_STREET_WORDS: Final = (
    "路|街(?!道)|巷|弄|胡同|大道|号|村|栋|幢|单元|小区|社区|大厦|花园|广场|公寓|中心"
)
_STREET_LEVEL: Final = re.compile(rf"{_STREET_WORDS}|[0-9]")
# A marker directly followed by a street word is part of a name (城市路, 新区大道, 城市花园),
# and 市场 is a market.
_ADMIN_MARKER: Final = re.compile(rf"(?:省|市|区|县|旗|镇|乡|街道)(?!{_STREET_WORDS}|场)")


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    try:
        return value if isinstance(value, str) else str(value)
    except Exception:  # a broken __str__ must not break a page that shows the value
        return ""


def _mask_middle(text: str, keep_head: int, keep_tail: int) -> str:
    """Hide the middle of ``text``, shrinking head then tail so enough stays hidden."""
    length = len(text)
    head, tail = max(keep_head, 0), max(keep_tail, 0)
    hidden = max(length - head - tail, min(MIN_HIDDEN, length))
    surplus = head + tail + hidden - length
    cut_head = min(head, surplus)
    head, tail = head - cut_head, tail - (surplus - cut_head)
    return text[:head] + MASK * hidden + text[length - tail :]


def mask_id_number(value: str | None, keep_head: int = 1, keep_tail: int = 1) -> str | None:
    """Mask an identity (or other document) number: ``1****************X`` by default."""
    text = _as_text(value)
    return None if text is None else _mask_middle(normalize_code(text), keep_head, keep_tail)


def mask_bank_card(value: str | None, keep_head: int = 6, keep_tail: int = 4) -> str | None:
    """Mask a card or account number, never showing more than the first 6 and last 4."""
    text = _as_text(value)
    if text is None:
        return None
    head = min(keep_head, BANK_CARD_MAX_HEAD)
    return _mask_middle(normalize_code(text), head, min(keep_tail, BANK_CARD_MAX_TAIL))


def mask_phone(value: str | None, keep_head: int = 3, keep_tail: int = 4) -> str | None:
    """Mask a telephone number: mobiles ``138****5678``, landlines ``010-****5678``.

    Numbers we cannot parse keep at most their last ``keep_tail`` digits.
    """
    text = _as_text(value)
    if text is None:
        return None
    parsed = phone.parse(text)
    if parsed is None:
        return _mask_middle(normalize_code(text), 0, keep_tail)
    if parsed.area_code is not None and parsed.region == "CN":
        local = parsed.national[len(parsed.area_code) :]
        return f"0{parsed.area_code}-{_mask_middle(local, 0, keep_tail)}"
    return _mask_middle(parsed.national, keep_head, keep_tail)


def mask_name(value: str | None) -> str | None:
    """Keep the surname of a Chinese name (``张*``, ``欧阳**``) or the first letter of
    another name (``J*** *****``); separators such as ``·`` and spaces stay visible."""
    text = _as_text(value)
    if text is None:
        return None
    text = text.strip()
    if len(text) <= 1:
        return MASK * len(text)
    keep = 2 if len(text) >= 3 and text[:2] in COMPOUND_SURNAMES else 1
    hidden = "".join(char if char in _NAME_SEPARATORS else MASK for char in text[keep:])
    return text[:keep] + hidden


def mask_address(value: str | None, max_prefix: int = 24) -> str | None:
    """Keep an address down to district/township/street-office level, hide the rest.

    The kept part ends at the last administrative marker (省 市 区 县 旗 镇 乡 街道) that comes
    before the first street-level token (路, 号, 村, a digit …) and within ``max_prefix``
    characters; the rest becomes ``***``. With no such marker everything is hidden.
    """
    text = _as_text(value)
    if text is None:
        return None
    text = to_halfwidth(text).strip()
    street = _STREET_LEVEL.search(text)
    limit = min(max_prefix, street.start() if street else len(text))
    end = 0
    # Search the whole text, not text[:limit]: the look-ahead must see past the limit.
    for marker in _ADMIN_MARKER.finditer(text):
        if marker.end() <= limit:
            end = marker.end()
    if end == len(text):
        return text
    return text[:end] + "***"


def mask_email(value: str | None) -> str | None:
    """Keep the first character of the mailbox and the domain: ``a***@example.com``."""
    text = _as_text(value)
    if text is None:
        return None
    local, at, domain = text.strip().rpartition("@")
    if not at or not local:
        return "***"
    return f"{local[0]}***@{domain}"


MASKERS: Final[dict[str, Callable[[str | None], str | None]]] = {
    "name": mask_name,
    "id_number": mask_id_number,
    "phone": mask_phone,
    "bank_card": mask_bank_card,
    "address": mask_address,
    "email": mask_email,
}


def mask(kind: str, value: str | None) -> str | None:
    """Mask ``value`` with the default rule for ``kind`` (a key of :data:`MASKERS`).

    An unknown kind is a schema error and raises ``ValueError``; values never do.
    """
    masker = MASKERS.get(kind)
    if masker is None:
        raise ValueError(f"unknown masking kind {kind!r}; known: {', '.join(sorted(MASKERS))}")
    return masker(value)
