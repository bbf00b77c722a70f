"""Free-text Chinese addresses → the deepest region code the text justifies.

``parse_address("广东省深圳市南山区粤海街道科技园社区科苑路15号")`` gives ``440305007003``
with the remainder ``科苑路15号``. The parser

1. normalises the text: full-width forms folded, whitespace and brackets dropped (their
   content kept), postcodes, phone numbers and leading labels (地址：, 中国) removed;
2. walks down the hierarchy from the start of the text: at each position it looks up the
   following characters in an alias index (full names and everyday short forms such as
   深圳 for 深圳市 or 科技园社区 for 科技园社区居委会), keeping only regions below the
   current one, so levels may be skipped (南山区… without a city) but never contradicted;
3. scores every complete reading by characters explained, then preference for
   ``default_city``, then fewest skipped levels, then fewest short forms. Readings that tie
   on a different region make the match ``ambiguous`` (朝阳区 is in 北京 and in 长春).

Short forms are only accepted when the next character does not continue a place or road
name (南山 in 南山大道 is a road, not 南山区). Villages are looked up among the descendants
of the region reached so far, never across the country: there are 620k of them and their
names repeat.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Final, NamedTuple

from fengyan.i18n import t
from fengyan.standards.regions import (
    CONTEXT,
    FULL,
    PLAIN_NAME,
    SHORT,
    RegionTable,
    UnknownRegionError,
    aliases,
    normalize_name,
    region_table,
)
from fengyan.standards.text import to_halfwidth

_NOISE: Final = re.compile(
    r"(?:邮政编码|邮编)[:：]?\d{6}"
    r"|(?:联系电话|电话|手机|座机|传真|tel|phone)[:：]?[\d\-+()转]{5,}"
    r"|(?<!\d)(?:\+?86-?)?1[3-9]\d{9}(?!\d)"  # mobile numbers
    r"|(?<!\d)0\d{2,3}-\d{7,8}(?!\d)",  # fixed lines written with the area-code hyphen
    re.IGNORECASE,
)
_LEADING: Final = re.compile(
    r"^(?:(?:注册|经营|办公|通讯|通信|联系|收货|居住|户籍|详细)?地址|住所|住址)[:：]?"
    r"|^(?:中华人民共和国|中国)"
    r"|^\d{6}(?!\d)"  # a postcode written before the address
)
_TRAILING_POSTCODE: Final = re.compile(r"(?<![\d-])\d{6}$")
# Punctuation people put between levels; skipped at match boundaries, kept in the remainder.
_SEPARATORS: Final = frozenset(",，、;；:：.。·-—_/|\\~～")
# A short form (南山) followed by one of these is part of a longer name (南山路, 南山村,
# 南山大道), not a region written without its suffix.
_CONTINUES: Final = frozenset("省市区县州旗盟路街道巷弄里号门桥村镇乡社")
_CONTINUES_2: Final = ("大道", "大街", "大厦", "大桥", "大学", *(d + "路" for d in "中东西南北"))
_VILLAGE_CACHE_SIZE: Final = 8192  # regions whose village aliases are kept
_MAX_READINGS: Final = 2000  # bounds the search on pathological input (城关镇城关镇…)
_MAX_PREFIX: Final = 200  # text before the address (名称、标签) that we look past


class _Step(NamedTuple):
    row: int
    start: int
    end: int
    form: int  # FULL, VARIANT, SHORT or CONTEXT (regions.py)
    skipped: int


@dataclass(frozen=True, slots=True)
class AddressMatch:
    """The region an address was resolved to, with the evidence for it.

    * ``code``, ``level`` — the region's short code (2/4/6/9/12 digits) and level 1–5;
    * ``names`` — its names from province down, pseudo levels (市辖区) left out;
    * ``spans`` — ``(start, end)`` in ``normalized`` (the cleaned text) of each matched name;
    * ``remainder`` — the cleaned text after the last match: road, number, building;
    * ``confidence`` — 0–1 heuristic, lowered by omitted levels, short forms and ties;
    * ``candidates`` — every equally good reading. When there are several, ``ambiguous`` is
      true and ``code`` is just the first of them: do not assign jurisdiction from it.
    """

    code: str
    level: int
    names: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    normalized: str
    remainder: str
    confidence: float
    ambiguous: bool
    candidates: tuple[str, ...]


def address_message(text: str, match: AddressMatch | None, lang: str | None = None) -> str | None:
    """What to tell a user about a parse result, or ``None`` when there is nothing to say.

    Unparsed, ambiguous (listing each candidate's full name) or located only to a
    province or city; rendered from ``i18n/messages/regions.yaml``, Chinese by default.
    """
    if match is None:
        return t("region_address_unparsed", lang, text=text)
    table = region_table()
    if match.ambiguous:
        listed = "、".join(f"{code} {table.full_name(code)}" for code in match.candidates)
        return t("region_address_ambiguous", lang, text=text, candidates=listed)
    if match.level <= 2:
        level_name = t(f"region_level_{match.level}", lang)
        return t("region_address_partial", lang, level_name=level_name, name="".join(match.names))
    return None


def normalize_address(text: str) -> str:
    """The cleaned form of ``text`` that the parser reads and spans refer to."""
    s = "".join(to_halfwidth(text).split())
    s = _NOISE.sub("", s)
    s = normalize_name(s).strip("".join(_SEPARATORS))
    previous = None
    while previous != s:  # labels, country and postcode can come in any order
        previous, s = s, _LEADING.sub("", s).lstrip("".join(_SEPARATORS))
    return _TRAILING_POSTCODE.sub("", s).rstrip("".join(_SEPARATORS))


class AddressParser:
    """Address parsing over one :class:`RegionTable`; use :func:`parse_address`."""

    def __init__(self, table: RegionTable) -> None:
        self.table = table
        self.index = table.name_index
        # For each two-character opening, the alias lengths that start with it, so a
        # position costs a handful of dict look-ups instead of one per possible length.
        lengths: dict[str, set[int]] = {}
        for alias in self.index:
            lengths.setdefault(alias[:2], set()).add(len(alias))
        self.lengths = {k: sorted(v, reverse=True) for k, v in lengths.items()}
        # Python-side copies for levels 1–4: numpy scalar access costs more than the look-up.
        self.parent = {i: table.parent_index(i) for i in table.upper_names}
        self.level = {i: table.level_at(i) for i in table.upper_names}
        self.spans: dict[int | None, tuple[int, int]] = {}
        self.lock = threading.Lock()
        self.village_cache: OrderedDict[int, dict[str, list[tuple[int, str]]]] = OrderedDict()

    def _skipped(self, row: int, node: int | None) -> int:
        """Levels omitted between ``node`` and its descendant ``row``.

        A pseudo level (北京's 市辖区) counts only when the level above it is omitted too:
        北京市朝阳区 omits nothing, 朝阳区 alone omits as much as 长春's 朝阳区 does, so
        the two stay tied (ambiguous) instead of the municipality winning by accident.
        """
        if row == node:
            return 0
        p, count = self._parent_of(row), 0
        while p is not None and p != node:
            above = self._parent_of(p)
            count += p not in self.table.pseudo or above != node
            p = above
        return count

    def _villages(self, scope: int) -> dict[str, list[tuple[int, str]]]:
        """Villages below ``scope`` keyed by the first character of their aliases.

        Every alias of a village starts with the first character of its name, once folded,
        so a position only computes aliases for the few villages that open like the text.
        LRU-bounded: a township's entry (~15 names) is rebuilt in a few microseconds.
        """
        cache = self.village_cache
        with self.lock:  # web workers share the parser; OrderedDict moves are not atomic
            found = cache.get(scope)
            if found is not None:
                cache.move_to_end(scope)
                return found
        found = {}
        rows, names = self.table.villages_below(scope)
        all_plain = PLAIN_NAME.fullmatch("".join(names)) is not None  # one test, usually true
        for row, name in zip(rows, names, strict=True):
            if all_plain or PLAIN_NAME.fullmatch(name):
                found.setdefault(name[0], []).append((row, name))
            else:
                for head in {a[0] for a, _ in aliases(name, 5)}:
                    found.setdefault(head, []).append((row, name))
        with self.lock:
            cache[scope] = found
            if len(cache) > _VILLAGE_CACHE_SIZE:
                cache.popitem(last=False)
        return found

    def _steps(self, s: str, pos: int, node: int | None, default: int | None) -> list[_Step]:
        """Every region below ``node`` whose name or short form starts at ``pos``."""
        while pos < len(s) and s[pos] in _SEPARATORS:
            pos += 1
        found: dict[int, _Step] = {}
        span = self.spans.get(node)
        if span is None:
            span = self.spans[node] = self.table.span(node)
        low, high = span
        node_level = 0 if node is None else self.level.get(node, 5)
        if node_level == 5:
            return []
        # Below a township only villages remain, so the index of levels 1–4 is skipped.
        rest = len(s) - pos
        for k in self.lengths.get(s[pos : pos + 2], ()) if node_level < 4 else ():
            if k > rest:  # a slice past the end would look up a shorter key
                continue
            end = pos + k
            for row, form in self.index.get(s[pos:end], ()):
                # The current region's own name again (北京市北京市朝阳区) is a no-op step.
                if row != node and (not low <= row < high or self.level[row] <= node_level):
                    continue
                if form == SHORT and (
                    (end < len(s) and s[end] in _CONTINUES) or s.startswith(_CONTINUES_2, end)
                ):
                    continue
                if form == CONTEXT and self.parent[row] != node:
                    continue
                if row not in found or found[row].end < end:
                    found[row] = _Step(row, pos, end, form, self._skipped(row, node))
        # Villages are searched below a township, else below a county, a city (thousands of
        # villages) or the default city, only when nothing else fits at this position.
        village_scope = node if node_level == 4 or (node_level == 3 and not found) else None
        if not found and node_level <= 2:
            village_scope = node if node_level == 2 else default if node is None else None
        if village_scope is not None:
            for row, name in self._villages(village_scope).get(s[pos : pos + 1], ()):
                for alias, form in aliases(name, 5):
                    end = pos + len(alias)
                    if s.startswith(alias, pos) and (row not in found or found[row].end < end):
                        skipped = 0 if node_level == 4 else self._skipped(row, node)
                        found[row] = _Step(row, pos, end, form, skipped)
        return list(found.values())

    def _readings(self, s: str, start: int, default: int | None) -> list[tuple[_Step, ...]]:
        """All maximal chains of matches from ``start`` (depth-first, bounded)."""
        done: list[tuple[_Step, ...]] = []
        stack: list[tuple[int | None, int, tuple[_Step, ...]]] = [(None, start, ())]
        budget = _MAX_READINGS
        while stack and budget > 0:
            budget -= 1
            node, pos, steps = stack.pop()
            following = self._steps(s, pos, node, default)
            if len(steps) >= 2 and steps[-2].row == node:
                # One repeat of a name is sloppy typing (北京市北京市); more is not an address.
                following = [step for step in following if step.row != node]
            if not following:
                done.append(steps)
            stack.extend((step.row, step.end, (*steps, step)) for step in following)
        return [r for r in done if r]

    def parse(self, text: str, default_city: str | None = None) -> AddressMatch | None:
        """See :func:`parse_address`."""
        table = self.table
        default = None
        if default_city is not None:
            default = table.index_of(default_city)
            if default is None:
                raise UnknownRegionError(default_city)
        s = normalize_address(text)
        readings, start = self._readings(s, 0, default), 0
        while not readings and start < min(len(s) - 1, _MAX_PREFIX):
            # Text before the address (a company name, a label we do not know): resume at
            # the next place where a full name of a province, city or county begins.
            start += 1
            if self._opens_address(s, start):
                readings = self._readings(s, start, default)
        if not readings:
            return None

        low, high = table.span(default)

        def score(reading: tuple[_Step, ...]) -> tuple[int, int, int, int]:
            last = reading[-1].row
            in_default = default is not None and (last == default or low <= last < high)
            chars = sum(step.end - step.start for step in reading)
            inexact = sum(step.form for step in reading)
            return chars, int(in_default), -sum(step.skipped for step in reading), -inexact

        best: dict[int, tuple[tuple[int, int, int, int], tuple[_Step, ...]]] = {}
        for reading in readings:
            key = score(reading)
            row = reading[-1].row
            if row not in best or best[row][0] < key:
                best[row] = (key, reading)
        top = max(key for key, _ in best.values())
        winners = sorted(row for row, (key, _) in best.items() if key == top)
        reading = best[winners[0]][1]
        by_default = any(k[0] == top[0] and k[1] < top[1] for k, _ in best.values())
        # A heuristic, not a probability: each omitted level and each suffix-less short form
        # costs a little, text skipped before the address and a default-city tie-break
        # cost more, and a tie between k regions divides by k.
        shorts = sum(step.form == SHORT for step in reading)
        confidence = 0.9 ** -top[2] * 0.95**shorts * (0.8 if start else 1.0)
        confidence *= (0.9 if by_default else 1.0) / len(winners)
        end = reading[-1].end
        return AddressMatch(
            code=table.code_at(winners[0]),
            level=table.level_at(winners[0]),
            names=self._names(winners[0]),
            spans=tuple((step.start, step.end) for step in reading),
            normalized=s,
            remainder=s[end:].lstrip("".join(_SEPARATORS)),
            confidence=round(confidence, 3),
            ambiguous=len(winners) > 1,
            candidates=tuple(table.code_at(row) for row in winners),
        )

    def _parent_of(self, row: int) -> int | None:
        # Levels 1–4 are precomputed; a village's parent needs one binary search.
        return self.parent[row] if row in self.parent else self.table.parent_index(row)

    def _names(self, row: int) -> tuple[str, ...]:
        """Names from province down to ``row``, leaving out pseudo levels (市辖区)."""
        chain: list[int] = [row]
        while (p := self._parent_of(chain[-1])) is not None:
            chain.append(p)
        pseudo = self.table.pseudo
        return tuple(self.table.name_at(i) for i in reversed(chain) if i not in pseudo)

    def _opens_address(self, s: str, pos: int) -> bool:
        """Whether the full name of a province, city or county begins at ``pos``."""
        for k in self.lengths.get(s[pos : pos + 2], ()):
            for row, form in self.index.get(s[pos : pos + k], ()) if pos + k <= len(s) else ():
                if form == FULL and self.table.level_at(row) <= 3:
                    return True
        return False


@cache
def _parser() -> AddressParser:
    return AddressParser(region_table())


def parse_address(text: str, default_city: str | None = None) -> AddressMatch | None:
    """Resolve a free-text address to the deepest region code it justifies.

    ``default_city`` (any region code, usually a city such as ``"4403"``) breaks ties for
    addresses that omit the city: 南山区… then means 深圳's 南山区 rather than 鹤岗's.
    An address that names another city explicitly still resolves there. Returns ``None``
    when no region name is found; never raises on text (raises UnknownRegionError only for
    a malformed ``default_city``).
    """
    return _parser().parse(text, default_city)


def parse_addresses(
    texts: Iterable[str], default_city: str | None = None
) -> list[AddressMatch | None]:
    """:func:`parse_address` over many texts, sharing the index and village caches."""
    parser = _parser()
    return [parser.parse(text, default_city) for text in texts]
