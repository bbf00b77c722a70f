"""Addresses, phones, e-mail addresses and domains folded to the keys firms share.

A shared address, phone or domain ties firms together (shell clusters, groups); it only
does so if the same place is written the same way. The keys are:

* :func:`address_key` — ``region code | road and number | building``: the room is
  dropped (a business centre's 工位 numbers differ, the building does not), the region
  code is cut to the street (9 digits). :func:`address_room_key` keeps the room.
* :func:`phone_key` — E.164 (:mod:`fengyan.standards.phone`).
* :func:`email_key` — lower-cased, whitespace removed; :func:`email_domain`.
* :func:`domain_key` — the registrable domain: scheme, ``www.``, port, path and a final
  dot removed, lower-cased, cut to the last two labels (three under ``com.cn`` and the
  other second-level domains listed in ``_SECOND_LEVEL``).

Pure functions, total on ``str | None``, idempotent on their own output.
"""

from __future__ import annotations

import re
from typing import Final

from fengyan.resolve.names import fold
from fengyan.standards import phone as phones
from fengyan.standards.regions import normalize_code

# The patterns are written for both Python's re and RE2 (pyarrow's, in the batch path
# address_keys): no lookahead, ASCII digits. _AFTER_ADMIN cuts the place names: the
# shortest prefix ending in an administrative unit (街道, 社区, 村, 镇 …) after which comes
# a road number.
_ADMIN: Final = "省|自治区|市|区|县|旗|镇|乡|街道|街道办事处|社区|居委会|村委会|村"
_AFTER_ADMIN: Final = f"^(?P<admin>.*?(?:{_ADMIN}))(?P<rest>[^省市区县]*?[0-9]+(?:-[0-9]+)?号.*)$"
_ROAD_NUMBER: Final = r"^(?P<road>.*?[0-9]+(?:-[0-9]+)?号)(?P<rest>.*)$"
_BLOCK: Final = (
    r"^(?P<building>.*?(?:[0-9A-Z]+|[一二三四五六七八九十]+)(?:座|栋|幢|号楼|期|单元|区|号馆))"
)
_BUILDING_NAME: Final = r"^(?P<building>[^0-9]*)"
_ROOM_WORDS: Final = r"(?:室|房|号房|号铺|铺|工位|号)$"
_RE: Final = {
    k: re.compile(v)
    for k, v in {
        "admin": _AFTER_ADMIN,
        "road": _ROAD_NUMBER,
        "block": _BLOCK,
        "building": _BUILDING_NAME,
        "room": _ROOM_WORDS,
    }.items()
}

_SECOND_LEVEL: Final = frozenset(
    {"com", "net", "org", "gov", "edu", "ac", "co", "mil", "idv", "ltd", "plc"}
)
_SCHEME: Final = re.compile(r"^[a-z][a-z0-9+.-]*://")


def _address_parts(text: str) -> tuple[str, str, str]:
    """(road and number, building, room) of a folded address; empty parts when unknown."""
    return split_folded_address(fold(text).upper())


def split_folded_address(s: str) -> tuple[str, str, str]:
    """:func:`_address_parts` of an address already folded and upper-cased."""
    admin = _RE["admin"].match(s)
    if admin is not None:
        s = admin.group("rest")
    m = _RE["road"].match(s)
    if m is None:
        return "", "", s
    road, rest = m.group("road"), m.group("rest")
    block = _RE["block"].match(rest) or _RE["building"].match(rest)
    building = block.group("building") if block is not None else ""
    room = _RE["room"].sub("", rest[len(building) :])
    return road, building, room


def address_key(text: str | None, region_code: str | None = None) -> str | None:
    """``region(9) | road+number | building`` — one key per building; ``None`` if unknown.

    ``region_code`` is the record's own (validated at ingest); without it the key has an
    empty region part. Addresses without a road number give ``None``: 深圳市南山区 alone
    names no place that firms could share.
    """
    if not text:
        return None
    road, building, _room = _address_parts(text)
    if not road:
        return None
    region = (normalize_code(region_code) or "")[:9] if region_code else ""
    return f"{region}|{road}|{building}"


def address_room_key(text: str | None, region_code: str | None = None) -> str | None:
    """:func:`address_key` plus the room: firms registered at the very same door."""
    base = address_key(text, region_code)
    if base is None or text is None:
        return None
    return f"{base}|{_address_parts(text)[2]}"


def phone_key(value: str | None) -> str | None:
    """E.164 of a valid number, else ``None``."""
    return phones.normalize(value) if value else None


def email_key(value: str | None) -> str | None:
    """The address lower-cased without whitespace; ``None`` unless it has one ``@``."""
    if not value:
        return None
    s = "".join(fold(value).split()).lower()
    local, at, host = s.partition("@")
    if not at or not local or not host or "@" in host:
        return None
    return f"{local}@{host.rstrip('.')}"


def email_domain(value: str | None) -> str | None:
    """The registrable domain of an e-mail address (``None`` for free-mail is not decided here)."""
    key = email_key(value)
    return domain_key(key.partition("@")[2]) if key else None


def domain_key(value: str | None) -> str | None:
    """The registrable domain of a URL or host name: ``https://www.a.com.cn/x`` → ``a.com.cn``."""
    if not value:
        return None
    s = fold(value).strip().lower()
    s = _SCHEME.sub("", s)
    s = s.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    s = s.rsplit("@", 1)[-1].split(":", 1)[0].rstrip(".")
    labels = [label for label in s.split(".") if label]
    if len(labels) < 2 or not all(re.fullmatch(r"[a-z0-9-]+|xn--[a-z0-9-]+", x) for x in labels):
        return None
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])
