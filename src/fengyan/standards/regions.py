"""Administrative divisions (行政区划): GB/T 2260 codes extended to NBS 12-digit codes.

One table holds all five levels of the NBS 2023 统计用区划代码 (province, prefecture,
county, township, village/community; 665k rows) and is loaded once per process from
``data/regions.parquet`` (built by ``scripts/build_regions.py``; see ``data/PROVENANCE.md``).

Codes are accepted with 2, 4, 6, 9 or 12 digits and padded to 12. Every region also has a
*short code*, its significant prefix (``4403``, ``440305``, ``440305010``), and jurisdiction
is prefix containment on it: a user scoped to ``4403`` sees every code starting ``4403``.

Two irregularities of the real list are handled here rather than by callers:

* municipalities (北京 11, 天津 12, 上海 31, 重庆 50) and 省直辖县级行政区划 rows put a
  pseudo prefecture (``1101`` "市辖区", ``5002`` "县") between province and county. They are
  ordinary rows of the table but are left out of full names and never needed in addresses;
* 不设区的地级市 (东莞 4419, 中山 4420, 儋州 4604) have no county level: their townships
  (``441900003`` 东城街道) hang directly off the city, whose 12-digit code ``441900000000``
  is also what the GB/T 2260 code ``441900`` pads to. 嘉峪关 keeps its county row 620201.

The table is column-oriented (numpy codes, an Arrow name column) and :class:`Region`
objects are made on demand: loading takes ~0.2 s and ~80 MB of memory, the address
parser's indexes ~35 MB more (measured with pyarrow 26).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numpy.typing import NDArray

from fengyan.i18n import t
from fengyan.standards.text import to_halfwidth

# Digits of the significant prefix at each level; index = level.
CODE_LENGTHS: Final = (0, 2, 4, 6, 9, 12)
# Names of the rows that are bookkeeping levels, not places anyone writes in an address.
PSEUDO_NAMES: Final = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


class UnknownRegionError(LookupError):
    """A code is malformed or not in the division table."""

    def __init__(self, code: object) -> None:
        super().__init__(t("region_unknown_code", value=code))
        self.code = code


@dataclass(frozen=True, slots=True)
class Region:
    """One administrative unit of the division table."""

    code12: str
    level: int
    name: str
    parent_code12: str | None
    code: str  # significant prefix: 2/4/6/9/12 digits by level
    kind: str | None = None  # levels 4–5: 街道/镇/乡/其他, 居委会/村委会/其他 (NBS code ranges)


def normalize_code(code: str | int) -> str | None:
    """Pad a 2/4/6/9/12-digit code to 12 digits; ``None`` if it is not such a code."""
    text = str(code).strip()
    if len(text) not in CODE_LENGTHS[1:] or not text.isascii() or not text.isdigit():
        return None
    return text.ljust(12, "0")


def significant_prefix(code: str | int) -> str | None:
    """The code without its trailing all-zero segments (``440300000000`` → ``4403``)."""
    code12 = normalize_code(code)
    if code12 is None:
        return None
    for length in reversed(CODE_LENGTHS[1:]):
        previous = CODE_LENGTHS[CODE_LENGTHS.index(length) - 1]
        if code12[previous:length].strip("0"):
            return code12[:length]
    return None


# --- names and their everyday short forms -------------------------------------------------
_BRACKETS: Final = "()[]{}<>【】〔〕〈〉《》「」『』"
_DROP: Final = {ord(c): None for c in _BRACKETS}
_BRACKETED: Final = re.compile(r"[(\[【〔][^()\[\]【】〔〕]*[)\]】〕]")
# Ethnic names as they appear inside 自治区/州/县/旗 names, longest first so 土家族 is
# tried before 土族. Stripping them gives the short form people write (恩施, 伊犁, 孟村).
_ETHNIC: Final = sorted(
    (  # noqa: SIM905 (a few lines of names read better than 47 one-word lines)
        "壮族 回族 维吾尔 藏族 蒙古族 蒙古 朝鲜族 土家族 "
        "苗族 彝族 侗族 布依族 瑶族 白族 哈尼族 傣族 "
        "景颇族 傈僳族 哈萨克族 哈萨克 柯尔克孜 羌族 黎族 畲族 "
        "仫佬族 毛南族 仡佬族 水族 纳西族 拉祜族 佤族 布朗族 "
        "普米族 独龙族 怒族 土族 撒拉族 保安族 东乡族 裕固族 "
        "塔吉克 锡伯 达斡尔族 鄂温克族 鄂伦春 满族 各族"
    ).split(),
    key=len,
    reverse=True,
)
# County-level names whose stem ends like this are zones (经济技术开发区): dropping their
# final 区 gives no name anyone writes.
_ZONE_ENDINGS: Final = ("开发", "园", "管理", "示范", "工业", "实验", "合作", "试验")
# Village-level official names end in the committee; addresses name the place.
_COMMITTEES: Final = (
    ("社区居民委员会", "社区"),
    ("社区居委会", "社区"),
    ("居民委员会", "社区"),
    ("居委会", "社区"),
    ("村民委员会", "村"),
    ("村委会", "村"),
    ("嘎查委员会", "嘎查"),
    ("委员会", ""),
)
_UNIT_WORDS: Final = (*(s for s, _ in _COMMITTEES), "社区", "嘎查", "村")

# Names without whitespace, full-width forms or brackets need no normalisation.
PLAIN_NAME: Final = re.compile(r"[^\s\uff01-\uff5e\u3000" + re.escape(_BRACKETS) + "]*")

# How an alias relates to the official name. The parser prefers FULL over VARIANT over
# SHORT when readings otherwise tie, and accepts a SHORT form only where the next character
# does not continue a longer name (南山 in 南山大道 is a road, not 南山区).
FULL: Final = 0  # the official name, normalised
VARIANT: Final = 1  # same unit word, other wording: 科技园社区 for 科技园社区居委会
SHORT: Final = 2  # unit suffix dropped: 深圳 for 深圳市, 恩施 for 恩施土家族苗族自治州
CONTEXT: Final = 3  # only right after the parent's name: 苏州市工业园区 for 苏州工业园区
_ZONE_WORDS: Final = ("开发区", "园区", "新区", "管理区", "新城", "试验区", "示范区", "合作区")

Alias = tuple[str, int]  # (text, FULL | VARIANT | SHORT | CONTEXT)


def normalize_name(text: str) -> str:
    """Fold full-width forms, drop whitespace and bracket characters (keeping their content)."""
    return "".join(to_halfwidth(text).translate(_DROP).split())


def _strip_ethnic(base: str) -> str:
    changed = True
    while changed:
        changed = False
        for token in _ETHNIC:
            if base.endswith(token) and len(base) - len(token) >= 2:
                base, changed = base[: -len(token)], True
                break
    # 东乡族自治县 → 东乡, 鄂温克族自治旗 → 鄂温克: the place is named after the people.
    return base[:-1] if base.endswith("族") and len(base) >= 3 else base


def _short_forms(name: str, level: int) -> list[Alias]:
    out: list[Alias] = []
    if name in PSEUDO_NAMES:
        return out
    if level == 1:
        for suffix in ("特别行政区", "自治区", "省", "市"):
            if name.endswith(suffix):
                out.append((_strip_ethnic(name[: -len(suffix)]), SHORT))
                break
    elif level in (2, 3):
        for suffix in ("自治州", "自治县", "自治旗"):
            if name.endswith(suffix):
                base = _strip_ethnic(name[:-3])
                return [(base, SHORT), (base + suffix[-1], VARIANT)]
        for suffix in ("地区", "新区", "林区", "特区", "盟", "市", "区", "县", "旗"):
            base = name[: -len(suffix)]
            if name.endswith(suffix) and 2 <= len(base) <= 4 and not base.endswith(_ZONE_ENDINGS):
                out.append((base, SHORT))
                break
    elif level == 4:
        if name.endswith("街道"):
            out += [(name + "办事处", VARIANT), (name + "办", VARIANT)]
        elif name.endswith("族乡"):
            out.append((_strip_ethnic(name[:-1]) + "乡", VARIANT))
    elif level == 5:
        for suffix, unit in _COMMITTEES:
            if name.endswith(suffix) and len(name) > len(suffix):
                base = name[: -len(suffix)]
                out.append((base if not unit or base.endswith(unit) else base + unit, VARIANT))
                break
    return [(a, g) for a, g in out if len(a) >= 2]


def aliases(name: str, level: int) -> list[Alias]:
    """Normalised forms under which a region may be written; the full name comes first."""
    if PLAIN_NAME.fullmatch(name):  # most names: nothing to fold, no bracketed part
        return [(name, FULL), *_short_forms(name, level)] if len(name) >= 2 else []
    # The bracket-less variant: 陈家营村委会（大） may be written 陈家营村委会.
    full = normalize_name(name)
    bare = normalize_name(_BRACKETED.sub("", to_halfwidth(name)))
    out: list[Alias] = []
    for variant, form in ((full, FULL), (bare, VARIANT)):
        if len(variant) >= 2:
            out += [(variant, form), *_short_forms(variant, level)]
    best: dict[str, int] = {}
    for text, form in out:  # keep each text once, with its most exact form
        best[text] = min(form, best.get(text, SHORT))
    return list(best.items())


def stem(name: str) -> str:
    """``name`` without a trailing village unit word: every village alias starts with it."""
    for word in _UNIT_WORDS:
        if name.endswith(word) and len(name) > len(word):
            return name[: -len(word)]
    return name


def _data_path() -> Any:
    return resources.files("fengyan.standards").joinpath("data", "regions.parquet")


class RegionTable:
    """The division table with hierarchy and name look-ups. Use :func:`region_table`."""

    def __init__(self, table: pa.Table) -> None:
        self._codes: NDArray[np.int64] = table["code"].combine_chunks().cast(pa.int64()).to_numpy()
        self._levels: NDArray[np.int8] = table["level"].combine_chunks().to_numpy()
        parents = table["parent"].combine_chunks().cast(pa.int64()).fill_null(0)
        self._parents: NDArray[np.int64] = parents.to_numpy()
        self._names = table["name"].combine_chunks()
        self._kinds = table["kind"].combine_chunks()  # dictionary-encoded: 6 distinct values
        upper = np.flatnonzero(self._levels <= 4)
        # Levels 1–4 (45k rows) are kept as Python objects: the address parser touches them
        # on every call. Villages stay in Arrow and are indexed per township on demand.
        self.upper_names: dict[int, str] = dict(
            zip(upper.tolist(), self._names.take(pa.array(upper)).to_pylist(), strict=True)
        )
        self.pseudo: frozenset[int] = frozenset(
            i
            for i, name in self.upper_names.items()
            if name in PSEUDO_NAMES
            or (self._levels[i] == 3 and name == self.upper_names.get(self.parent_index(i) or -1))
        )

    # --- row-level primitives (row index ``i``) -------------------------------------------
    def __len__(self) -> int:
        return len(self._codes)

    def index_of(self, code: str | int) -> int | None:
        """Row index of ``code`` (any accepted length), or ``None``."""
        code12 = normalize_code(code)
        if code12 is None:
            return None
        value = int(code12)
        i = int(np.searchsorted(self._codes, value))
        return i if i < len(self._codes) and self._codes[i] == value else None

    def parent_index(self, i: int) -> int | None:
        """Row index of row ``i``'s parent, ``None`` for provinces."""
        parent = int(self._parents[i])
        # The build script guarantees every parent code is a row.
        return int(np.searchsorted(self._codes, parent)) if parent else None

    def level_at(self, i: int) -> int:
        """Level (1–5) of row ``i``."""
        return int(self._levels[i])

    def name_at(self, i: int) -> str:
        """Name of row ``i``."""
        name = self.upper_names.get(i)
        return name if name is not None else str(self._names[i].as_py())

    def code_at(self, i: int) -> str:
        """Short code (2/4/6/9/12 digits by level) of row ``i``."""
        return f"{int(self._codes[i]):012d}"[: CODE_LENGTHS[self.level_at(i)]]

    def span(self, i: int | None) -> tuple[int, int]:
        """Row index range ``[start, stop)`` of row ``i``'s descendants (all rows for None)."""
        if i is None:
            return 0, len(self._codes)
        low = int(self._codes[i])
        high = low + 10 ** (12 - CODE_LENGTHS[self.level_at(i)])
        return i + 1, int(np.searchsorted(self._codes, high))

    def region_at(self, i: int) -> Region:
        """The :class:`Region` at row ``i``."""
        level, parent = int(self._levels[i]), int(self._parents[i])
        code12 = f"{int(self._codes[i]):012d}"
        return Region(
            code12,
            level,
            self.name_at(i),
            f"{parent:012d}" if parent else None,
            code12[: CODE_LENGTHS[level]],
            self._kinds[i].as_py(),
        )

    def _materialise(self, rows: NDArray[np.intp]) -> list[Region]:
        take = pa.array(rows)
        names = self._names.take(take).to_pylist()
        kinds = self._kinds.take(take).to_pylist()
        out = []
        for i, name, kind in zip(rows.tolist(), names, kinds, strict=True):
            level, parent = int(self._levels[i]), int(self._parents[i])
            code12 = f"{self._codes[i]:012d}"
            parent12 = f"{parent:012d}" if parent else None
            out.append(Region(code12, level, name, parent12, code12[: CODE_LENGTHS[level]], kind))
        return out

    def _require(self, code: str | int) -> int:
        i = self.index_of(code)
        if i is None:
            raise UnknownRegionError(code)
        return i

    # --- public API ----------------------------------------------------------------------
    def get(self, code: str | int) -> Region | None:
        """The region with this 2/4/6/9/12-digit code, or ``None`` if unknown or malformed."""
        i = self.index_of(code)
        return None if i is None else self.region_at(i)

    def level_of(self, code: str | int) -> int | None:
        """Level 1 (province) … 5 (village/community) of ``code``, ``None`` if unknown."""
        i = self.index_of(code)
        return None if i is None else self.level_at(i)

    def parent(self, code: str | int) -> Region | None:
        """The parent region (``None`` for provinces). Raises UnknownRegionError."""
        p = self.parent_index(self._require(code))
        return None if p is None else self.region_at(p)

    def children(self, code: str | int | None = None) -> list[Region]:
        """Direct children in code order; ``None`` gives the provinces."""
        if code is None:
            return self._materialise(np.flatnonzero(self._levels == 1))
        i = self._require(code)
        start, stop = self.span(i)
        hits = np.flatnonzero(self._parents[start:stop] == self._codes[i]) + start
        return self._materialise(hits)

    def ancestors(self, code: str | int) -> list[Region]:
        """The chain province → … → the region itself (pseudo levels included)."""
        chain = [self._require(code)]
        while (p := self.parent_index(chain[-1])) is not None:
            chain.append(p)
        return self._materialise(np.array(chain[::-1]))

    def descendants(self, code: str | int, level: int | None = None) -> list[Region]:
        """All regions below ``code`` in code order, optionally only those at ``level``."""
        start, stop = self.span(self._require(code))
        rows = np.arange(start, stop)
        if level is not None:
            rows = rows[self._levels[start:stop] == level]
        return self._materialise(rows)

    def full_name(self, code: str | int) -> str:
        """Names from province down, without pseudo levels (广东省深圳市南山区粤海街道)."""
        chain = [self._require(code)]
        while (p := self.parent_index(chain[-1])) is not None:
            chain.append(p)
        return "".join(self.name_at(i) for i in reversed(chain) if i not in self.pseudo)

    def is_within(self, code: str | int, scope: str | int) -> bool:
        """Whether ``code`` lies in ``scope`` (or is it): prefix test on ``scope``'s short code.

        Works on well-formed codes that are not in the table (historical codes), because
        the jurisdiction rule is purely the code prefix. Malformed input is never within.
        """
        code12, prefix = normalize_code(code), significant_prefix(scope)
        return code12 is not None and prefix is not None and code12.startswith(prefix)

    def find_by_name(self, name: str, within: str | int | None = None) -> list[Region]:
        """Regions called ``name``, with or without its unit suffix (深圳 → 深圳市).

        Ambiguous names return every candidate, in code order. ``within`` limits the search
        to one region's descendants. Villages are searched with a vectorised filter on the
        name column, so this costs a few milliseconds, not a loop over 620k rows.
        """
        key = normalize_name(name)
        scope = None if within is None else self._require(within)
        start, stop = self.span(scope)
        hits = {i for i, f in self.name_index.get(key, ()) if start <= i < stop and f != CONTEXT}
        # Every alias of a village starts with its stem (科技园 for 科技园社区), so one
        # vectorised prefix filter leaves only a handful of names to check in Python.
        names = self._names.slice(start, stop - start)
        prefix = stem(key)
        if prefix:
            opens = pc.starts_with(names, prefix).to_numpy(zero_copy_only=False)
            for j in np.flatnonzero(opens & (self._levels[start:stop] == 5)).tolist():
                if any(a == key for a, _ in aliases(str(names[j].as_py()), 5)):
                    hits.add(start + j)
        return self._materialise(np.array(sorted(hits), dtype=np.intp))

    def villages_below(self, i: int | None) -> tuple[list[int], list[str]]:
        """Rows and names of the villages below row ``i`` (all villages for ``None``)."""
        start, stop = self.span(i)
        names = self._names.slice(start, stop - start)
        if i is not None and self._levels[i] == 4:  # a township: only villages below it
            return list(range(start, stop)), names.to_pylist()
        rows = np.flatnonzero(self._levels[start:stop] == 5) + start
        return rows.tolist(), self._names.take(pa.array(rows)).to_pylist()

    @cached_property
    def name_index(self) -> dict[str, list[tuple[int, int]]]:
        """Alias → [(row, form)] for levels 1–4 (南山 → [(南山区's row, SHORT), …])."""
        index: dict[str, list[tuple[int, int]]] = {}
        for i, name in self.upper_names.items():
            level = self.level_at(i)
            for alias, form in aliases(name, level):
                index.setdefault(alias, []).append((i, form))
            if level == 3 and (zone := self._zone_alias(i, name)):
                index.setdefault(zone, []).append((i, CONTEXT))
        return index

    def _zone_alias(self, i: int, name: str) -> str | None:
        """工业园区 for 苏州工业园区: zones named after their city, written after the city."""
        parent = self.parent_index(i)
        if parent is None or parent in self.pseudo:
            return None
        for prefix, _ in aliases(self.upper_names[parent], 2):
            rest = name[len(prefix) :]
            if name.startswith(prefix) and len(rest) >= 4 and rest.endswith(_ZONE_WORDS):
                return rest
        return None


@cache
def region_table() -> RegionTable:
    """The process-wide division table, loaded on first use (a fraction of a second)."""
    with resources.as_file(_data_path()) as path:
        table = RegionTable(pq.read_table(path))
    # Decompression scratch space would otherwise stay in Arrow's pool (~70 MB of RSS).
    pa.default_memory_pool().release_unused()
    return table
