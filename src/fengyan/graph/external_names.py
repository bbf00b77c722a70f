"""Names and rules for real ownership data (``external.yaml``): folding, kinds, roles.

ICIJ and OpenSanctions write one firm as ``RCD INTERNATIONAL LTD``, ``Rcd International
Limited``, ``LLC CST``, ``ООО "ЦСТ"``; one person as ``MR. ANURAG KEJRIWAL`` or ``KEJRIWAL,
Anurag``. :func:`firm_key` and :func:`person_key` fold them to comparable keys (case,
accents, punctuation, legal forms, honorifics, word order); Chinese names go through the
project's own folding (:mod:`fengyan.resolve.names`). :func:`name_kind` tells a firm from a
person where a source does not say (ICIJ officers), :func:`map_role` maps an officer title
onto the officer table's role vocabulary. Every word list is data (``external.yaml``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from fengyan.resolve.names import name_key, person_name_key, split_name
from fengyan.yamlstrict import load_yaml

# Han characters without kana: a Chinese name, folded by fengyan.resolve.names (a Japanese
# name, with kana, is folded like any other script).
_CJK: Final = re.compile(r"^(?=.*[\u3400-\u9fff])(?!.*[\u3040-\u30ff])")
_BRACKET: Final = re.compile(r"\[([^\[\]]*)\]|\(([^()]*)\)")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NameRules(_Frozen):
    """Word lists for folding Latin- and Cyrillic-script names."""

    legal_forms: dict[str, tuple[str, ...]]
    enterprise_words: tuple[str, ...]
    honorifics: tuple[str, ...]
    placeholders: tuple[str, ...]
    former_name_markers: tuple[str, ...]
    remark_markers: tuple[str, ...]
    firm_stop_words: tuple[str, ...]


class Link(_Frozen):
    """What an ICIJ link text means for the graph."""

    kind: Literal[
        "shareholding", "officer", "officer_or_shareholding", "intermediary", "address",
        "same_as", "ignore",
    ]  # fmt: skip
    also_officer: bool = False


class IcijRules(_Frozen):
    """ICIJ files: snapshot date, date formats, link texts."""

    as_of: date
    date_formats: tuple[str, ...]
    links: dict[str, Link]


class FtmRules(_Frozen):
    """FollowTheMoney schemata read as nodes and edges."""

    nodes: dict[str, Literal["enterprise", "person"]]
    ownership: str
    directorship: str
    address: str
    not_represented: tuple[str, ...]


class RoleRule(_Frozen):
    """Officer titles containing one of ``match`` map to ``role``."""

    match: tuple[str, ...]
    role: str


class ResolutionRules(_Frozen):
    """Identifier properties that forbid a merge when they differ."""

    strong_ids: dict[str, str]
    birth_years: tuple[str, ...]
    person_min_words: int
    resolved_sources: tuple[str, ...]


class ExternalRules(_Frozen):
    """The whole of ``external.yaml``."""

    model: str
    names: NameRules
    resolution: ResolutionRules
    icij: IcijRules
    ftm: FtmRules
    roles: tuple[RoleRule, ...]


@cache
def load_rules() -> ExternalRules:
    """The shipped rules (``graph/external.yaml``)."""
    text = resources.files("fengyan.graph").joinpath("external.yaml").read_text("utf-8")
    return ExternalRules.model_validate(load_yaml(text))


# --------------------------------------------------------------------------- names


def is_chinese(text: str) -> bool:
    """Han characters and no kana: a name the project's Chinese folding applies to."""
    return bool(_CJK.search(text))


def fold_text(text: str, dots: str = "") -> str:
    """Lower case, accents removed, ``.`` → ``dots``, other punctuation a space (``&`` kept)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    plain = re.sub(r"[^\w&]+", " ", plain.replace(".", dots).replace("_", " "))
    return " ".join(plain.split())


@dataclass(frozen=True)
class _Lexicon:
    forms: tuple[tuple[tuple[str, ...], str], ...]  # (folded words, canonical), longest first
    form_words: frozenset[str]
    enterprise: frozenset[str]
    honorifics: tuple[tuple[str, ...], ...]
    placeholders: frozenset[str]
    former: tuple[str, ...]
    remarks: tuple[str, ...]
    stop: frozenset[str]


@cache
def _lexicon() -> _Lexicon:
    r = load_rules().names
    forms = {(tuple(fold_text(v).split()), c) for c, vs in r.legal_forms.items() for v in vs}
    return _Lexicon(
        forms=tuple(sorted(forms, key=lambda f: (-len(f[0]), f))),
        form_words=frozenset(w[0] for w, _ in forms if len(w) == 1 and len(w[0]) >= 3),
        enterprise=frozenset(fold_text(w) or w for w in r.enterprise_words),
        honorifics=tuple(
            sorted({tuple(fold_text(h, " ").split()) for h in r.honorifics}, key=len, reverse=True)
        ),
        placeholders=frozenset(fold_text(p, " ") for p in r.placeholders),
        former=tuple(fold_text(m, " ") for m in r.former_name_markers),
        remarks=tuple(fold_text(m, " ") for m in r.remark_markers),
        stop=frozenset(fold_text(w) for w in r.firm_stop_words),
    )


def split_former(name: str) -> tuple[str, list[str]]:
    """``(name without bracketed former names and remarks, [former names])``.

    ``X [Y]`` and ``X (EX-Y)`` give ``(X, [Y])``; ``X (SINCE 2006)`` gives ``(X, [])``;
    other brackets (``ORION TRUST (NEW ZEALAND) LIMITED``) are part of the name.
    """
    lex, former = _lexicon(), []

    def cut(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            former.append(m.group(1).strip())
            return " "
        inner = fold_text(m.group(2), " ")
        for marker in lex.former:
            if inner == marker or inner.startswith(marker + " "):
                former.append(inner[len(marker) :].strip())
                return " "
        if any(inner == mk or inner.startswith(mk + " ") for mk in lex.remarks):
            return " "
        return m.group(0)

    main = " ".join(_BRACKET.sub(cut, name).split())
    return (main or name), [f for f in former if f]


def _strip_forms(words: list[str]) -> tuple[list[str], list[str]]:
    found: list[str] = []
    for _ in range(2):
        for form, canonical in _lexicon().forms:
            n = len(form)
            if len(words) > n and tuple(words[-n:]) == form:
                words, hit = words[:-n], canonical
            elif len(words) > n and tuple(words[:n]) == form:
                words, hit = words[n:], canonical
            else:
                continue
            found.append(hit)
            break
        else:
            break
    return words, found


def firm_key(name: str) -> str:
    """Key of a firm name: core words, then ``|`` and its canonical legal forms.

    ``RCD INTERNATIONAL LTD`` and ``Rcd International Limited`` → ``rcd international|ltd``;
    ``ООО "ЦСТ"`` and ``Общество с ограниченной ответственностью «ЦСТ»`` → ``цст|llc``.
    Chinese names use the project's folding (:func:`fengyan.resolve.names.name_key`).
    """
    if _CJK.search(name):
        return name_key(name)
    words, forms = _strip_forms(fold_text(name).split())
    while len(words) > 1 and words[0] in _lexicon().stop:
        words = words[1:]
    return " ".join(words) + "|" + ",".join(sorted(set(forms)))


def person_key(name: str) -> str:
    """Key of a person's name: honorifics dropped, ``SURNAME, Given`` turned round.

    Word order is kept (Abdullah bin Faisal is not Faisal bin Abdullah), except that a
    two-word name is sorted: POUYE MAMADOU and Mamadou Pouye are one name written in two
    orders.
    """
    if _CJK.search(name):
        return person_name_key(name)
    surname, comma, given = name.partition(",")
    words = fold_text(f"{given} {surname}" if comma else name, " ").split()
    stripped = True
    while stripped:
        stripped = False
        for h in _lexicon().honorifics:
            if len(words) > len(h) and tuple(words[: len(h)]) == h:
                words, stripped = words[len(h) :], True
                break
    return " ".join(sorted(words) if len(words) == 2 else words)


def name_kind(name: str) -> str:
    """``enterprise``, ``person`` or ``unknown`` (a placeholder such as THE BEARER)."""
    lex = _lexicon()
    if fold_text(name, " ") in lex.placeholders:
        return "unknown"
    if _CJK.search(name):
        return "enterprise" if split_name(name).form else "person"
    words = fold_text(name).split()
    _, forms = _strip_forms(words)
    hit = forms or set(words) & (lex.enterprise | lex.form_words) or "&" in name
    return "enterprise" if hit else "person"


def map_role(text: str | None) -> str:
    """The officer-table role of a title (``external.yaml`` roles), 其他 if none matches."""
    folded = fold_text(text or "", " ")
    for rule in load_rules().roles:
        if any(fold_text(m, " ") in folded for m in rule.match):
            return rule.role
    return "其他"
