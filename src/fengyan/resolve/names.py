"""Enterprise and person names folded to the keys entity resolution compares.

Sources write one firm as 深圳市鹏润科技有限公司, 深圳市鵬潤科技有限責任公司,
鹏润（深圳）科技有限公司, ``深圳市 鹏润科技 有限公司`` or 鹏润科技. :func:`split_name` takes a
name apart into

* ``region`` — the leading place names (广东省深圳市南山区, 深圳) or one in brackets
  after the brand (鹏润（深圳）科技), recognised with the division table;
* ``core`` — what identifies the firm: brand word plus industry words (鹏润科技);
* ``form`` — the legal-form ending (有限公司), canonicalised (有限责任公司 → 有限公司);
* ``branch`` — a branch ending after the parent's legal form (南山分公司).

:func:`name_key` is the whole name folded (full-width → ASCII, traditional → simplified,
brackets → ``()``, no spaces or decoration, legal form canonicalised); two names with the
same key are the same name. :func:`core_key` is ``region``, ``form`` and ``branch`` removed.

All functions are pure, total on ``str`` and idempotent: ``f(f(x)) == f(x)``.
The word lists are data (``names.yaml``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

import opencc
from pypinyin.pinyin_dict import pinyin_dict

from fengyan.standards.regions import SHORT, region_table
from fengyan.standards.text import to_halfwidth
from fengyan.yamlstrict import load_yaml

_MIN_CORE: Final = 2  # a region or form is only stripped if this much name remains
_MAX_PLACE: Final = 12  # longest place name looked for at the start of a name


@dataclass(frozen=True)
class _Lexicon:
    forms: tuple[tuple[str, str], ...]  # (suffix, canonical), longest suffix first
    groups: tuple[str, ...]
    branch_words: tuple[str, ...]
    fold_table: dict[int, int | None]
    masked_marks: tuple[str, ...]


@cache
def _lexicon() -> _Lexicon:
    text = resources.files("fengyan.resolve").joinpath("names.yaml").read_text("utf-8")
    data: dict[str, Any] = load_yaml(text)
    opens, closes = data["brackets"]["open"], data["brackets"]["close"]
    table: dict[int, int | None] = {ord(c): ord("(") for c in opens}
    table |= {ord(c): ord(")") for c in closes}
    table |= {ord(c): None for c in data["drop_chars"]}
    forms = sorted(
        ((f["suffix"], f["canonical"]) for f in data["legal_forms"]),
        key=lambda f: len(f[0]),
        reverse=True,
    )
    return _Lexicon(
        forms=tuple(forms),
        groups=tuple(sorted(data["group_markers"], key=len, reverse=True)),
        branch_words=tuple(sorted(data["branch_words"], key=len, reverse=True)),
        fold_table=table,
        masked_marks=tuple(data["masked_person_marks"]),
    )


@cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional characters and phrases to simplified (OpenCC ``t2s``)."""
    return str(_t2s().convert(text)) if text else text


def fold(text: str) -> str:
    """The comparable form of any name: half-width, simplified, ``()``, no spaces.

    ASCII letters are lower-cased (e贷 and E贷 are one product). Full-width brackets and
    【】〔〕 become ``(`` ``)``; middle dots, quotes and commas go; whitespace of every kind
    goes (``深圳市 鹏润`` is 深圳市鹏润).
    """
    lex = _lexicon()
    folded = to_simplified(to_halfwidth(text)).translate(lex.fold_table)
    return "".join(folded.split()).lower()


@dataclass(frozen=True, slots=True)
class NameParts:
    """A folded enterprise name taken apart; ``key`` and ``core`` are what is compared."""

    key: str
    region: str
    core: str
    form: str
    branch: str


def _strip_form(name: str) -> tuple[str, str]:
    """``(name without its legal form, canonical form)``; 合伙企业(有限合伙) is two endings."""
    form = ""
    for _ in range(2):
        for suffix, canonical in _lexicon().forms:
            if name.endswith(suffix) and len(name) - len(suffix) >= _MIN_CORE:
                name, form = name[: -len(suffix)], canonical + form
                break
        else:
            break
    return name, form


def _split_branch(name: str) -> tuple[str, str]:
    """``(parent name, branch part)``: the branch part follows the parent's legal form."""
    lex = _lexicon()
    if not name.endswith(lex.branch_words):
        return name, ""
    best = -1
    for suffix, _ in lex.forms:
        at = name.rfind(suffix)
        if at >= 0 and at + len(suffix) < len(name):
            best = max(best, at + len(suffix))
    if best < 0:
        return name, ""
    return name[:best], name[best:]


@dataclass(frozen=True)
class _Regions:
    chains: frozenset[str]  # every leading chain of place names a name may start with
    lengths: tuple[int, ...]  # their lengths, longest first
    words: frozenset[str]  # every name and alias of a province, prefecture or county


@cache
def _regions() -> _Regions:
    """The place-name chains of :func:`_region_prefix`, built once from the division table.

    A chain is one to three names, each of a division below the one before (province,
    prefecture, county; levels may be skipped: 广东省南山区 is not written, 广东省深圳市 is).
    Short forms (深圳 for 深圳市) count only for provinces and prefectures and only first:
    county short forms are too often brand words (东方 is 东方市 in Hainan, and a brand
    everywhere). Each name is 2–12 characters.
    """
    table = region_table()
    by_row: dict[int, list[tuple[str, int]]] = {}
    for alias, rows in table.name_index.items():
        if not 2 <= len(alias) <= _MAX_PLACE:
            continue
        for row, form in rows:
            if table.level_at(row) <= 3:
                by_row.setdefault(row, []).append((alias, form))
    chains: set[str] = set()
    for row in by_row:
        ancestors: list[int] = []
        parent = table.parent_index(row)
        while parent is not None:
            ancestors.insert(0, parent)
            parent = table.parent_index(parent)
        ancestors = [a for a in ancestors if a in by_row]
        for mask in range(1 << len(ancestors)):
            path = [a for k, a in enumerate(ancestors) if mask >> k & 1] + [row]
            texts = [""]
            for depth, member in enumerate(path):
                allowed = [
                    alias
                    for alias, form in by_row[member]
                    if form != SHORT or (depth == 0 and table.level_at(member) <= 2)
                ]
                texts = [t + alias for t in texts for alias in allowed]
            chains.update(texts)
    words = frozenset(alias for names in by_row.values() for alias, _ in names)
    return _Regions(frozenset(chains), tuple(sorted({len(c) for c in chains}, reverse=True)), words)


def _region_prefix(name: str) -> int:
    """Length of the longest leading chain of place names (广东省深圳市南山区, 深圳).

    At least two characters must remain after it. See :func:`_regions` for what a chain is.
    """
    regions = _regions()
    room = len(name) - _MIN_CORE
    for length in regions.lengths:
        if length <= room and name[:length] in regions.chains:
            return length
    return 0


def _is_region(text: str) -> bool:
    return text in _regions().words


def _strip_bracketed_region(core: str) -> tuple[str, str]:
    """鹏润(深圳)科技 → (鹏润科技, 深圳); other bracketed words are kept."""
    start = core.find("(")
    while start >= 0:
        end = core.find(")", start)
        if end < 0:
            break
        inner = core[start + 1 : end]
        if inner and _is_region(inner) and len(core) - (end - start + 1) >= _MIN_CORE:
            return core[:start] + core[end + 1 :], inner
        start = core.find("(", end)
    return core, ""


def split_name(name: str) -> NameParts:
    """Take an enterprise name apart (see the module docstring)."""
    folded = fold(name)
    parent, branch = _split_branch(folded)
    body, form = _strip_form(parent)
    key = body + form + branch
    for marker in _lexicon().groups:
        if body.endswith(marker) and len(body) - len(marker) >= _MIN_CORE:
            body = body[: -len(marker)]
            break
    cut = _region_prefix(body)
    region, core = body[:cut], body[cut:]
    core, inner = _strip_bracketed_region(core)
    return NameParts(key=key, region=region or inner, core=core, form=form, branch=branch)


def name_key(name: str) -> str:
    """The folded full name with its legal form canonicalised: equal keys, same name."""
    return split_name(name).key


def core_key(name: str) -> str:
    """The name without places, legal form, group marker and branch: 鹏润科技."""
    return split_name(name).core


def person_name_key(name: str) -> str:
    """A person's name folded: simplified, no spaces or middle dots (买买提·艾力 → 买买提艾力)."""
    return fold(name)


def is_masked_person(name: str) -> bool:
    """Whether a published name hides the person (张某, 李某某, 王**): never linked."""
    return any(mark in name for mark in _lexicon().masked_marks)


@cache
def _readings() -> dict[int, str]:
    """Character → its first reading without tone (鹏 and 朋 → peng), from pypinyin."""
    return {code: reading_of(code) for code in pinyin_dict}


@cache
def reading_of(code: int) -> str:
    """The entry of :func:`_readings` for one character (with its trailing space).

    The batch path looks up only the characters its names use, not the 40,000 of the table.
    """
    first = pinyin_dict[code].split(",", 1)[0]
    plain = "".join(c for c in unicodedata.normalize("NFD", first) if not unicodedata.combining(c))
    return plain.replace("ü", "v") + " "


def sound_key(text: str) -> str:
    """How ``text`` sounds: each character's first toneless reading (信诚 and 信成 agree).

    Pinyin input makes homophones the commonest typing error in Chinese names; two names one
    character apart that sound the same are most likely one name mistyped. Characters
    without a reading (letters, digits) stand for themselves.
    """
    return text.translate(_readings()).rstrip()
