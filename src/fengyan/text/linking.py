"""Enterprise mention linking: which registered firms a Chinese text names.

The name dictionary holds, for every firm, every name it has or had (current, 曾用名,
branches) and the short names people write: the *core* without region and legal form
(深圳市鹏润财富管理有限公司 → 鹏润财富管理), the core without trailing industry words
(鹏润财富) and the *brand* (鹏润). Industry words are the settings' list plus every core
suffix that many firms share (so the list adapts to the jurisdiction's names).

Only the short surfaces go into the Aho-Corasick automaton (ahocorasick-rs,
leftmost-longest, over normalised text). A full name is recognised by checking, at a
matched core or brand, whether the text around it spells one of the candidate firms' full
names (each entry knows where its surface sits in the name). This keeps the automaton to
about one pattern per firm instead of three (half the build time and a fraction of the
memory at 3 M firms) with no loss: a name whose short surfaces are not substrings of it
(鹏润（深圳）科技 has no 鹏润科技) is added whole.

A surface shared by several firms (a brand) is disambiguated by a small log-linear model
whose weights are data (``settings.yaml``): the firm's district named in the text or being
the document's region, its industry word or a finance context in the text, a full-name
mention of the firm elsewhere in the document, a firm word (公司, 平台) right after the
surface, and the firm's status at publication. The best candidate is linked when its
softmax probability against the other candidates and a "none of them" option reaches the
threshold; otherwise nothing is recorded.
"""

from __future__ import annotations

import math
import re
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any, Final

import ahocorasick_rs as ac
import numpy as np
import pyarrow as pa

from fengyan.resolve.names import split_name
from fengyan.standards.regions import CONTEXT, aliases, region_table
from fengyan.text.keywords import Hit
from fengyan.text.lexicon import Category, Lexicons, load_lexicons
from fengyan.text.normalize import normalize_text

#: Method codes of dictionary entries, in order of strength.
FULL, FORMER, SHORT, BRAND = 0, 1, 2, 3
METHODS: Final = ("full_name", "former_name", "short_name", "brand")
NAME_KINDS: Final = {"current": FULL, "branch": FULL, "former": FORMER}

_HAN: Final = re.compile(r"[\u3400-\u9fff]")
_ASCII_WORD: Final = re.compile(r"[0-9a-z]")
# A private-use character: normalize_text keeps it as it is (not whitespace) and no firm
# name contains it.
_SEP: Final = "\ue000"


@dataclass(frozen=True)
class LinkSettings:
    """The linking part of ``settings.yaml`` (see docs/mentions.md for each key)."""

    min_han: int
    max_candidates: int
    stop_words: frozenset[str]
    industry_words: tuple[str, ...]
    suffix_min_firms: int
    suffix_lengths: tuple[int, int]
    place_prefixes: tuple[str, ...]
    firm_words: tuple[str, ...]
    finance_words: tuple[str, ...]
    closed_statuses: frozenset[str]
    closed_grace_days: int
    confidence: Mapping[str, float]
    priors: Mapping[str, float]
    weights: Mapping[str, float]
    link_threshold: float

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LinkSettings:
        """Build from the ``linking:`` mapping; a missing or unknown key is an error."""
        fields = set(cls.__dataclass_fields__)
        unknown, missing = set(data) - fields, fields - set(data)
        if unknown or missing:
            raise ValueError(
                f"settings linking: unknown keys {sorted(unknown)}, missing {sorted(missing)}"
            )
        lo, hi = data["suffix_lengths"]
        return cls(
            min_han=int(data["min_han"]),
            max_candidates=int(data["max_candidates"]),
            stop_words=frozenset(data["stop_words"]),
            industry_words=tuple(data["industry_words"]),
            suffix_min_firms=int(data["suffix_min_firms"]),
            suffix_lengths=(int(lo), int(hi)),
            place_prefixes=tuple(sorted(data["place_prefixes"], key=len, reverse=True)),
            firm_words=tuple(data["firm_words"]),
            finance_words=tuple(data["finance_words"]),
            closed_statuses=frozenset(data["closed_statuses"]),
            closed_grace_days=int(data["closed_grace_days"]),
            confidence={k: float(v) for k, v in data["confidence"].items()},
            priors={k: float(v) for k, v in data["priors"].items()},
            weights={k: float(v) for k, v in data["weights"].items()},
            link_threshold=float(data["link_threshold"]),
        )


def normalize_many(texts: Sequence[str]) -> list[str]:
    """:func:`normalize_text` of many short texts (names) in one OpenCC call.

    One call per name costs about 7 µs, mostly OpenCC set-up; joining the names with a
    control character the normaliser keeps costs 0.3 µs a name. Falls back to one call per
    text if a text holds the separator or whitespace that the joint call would fold.
    """
    if not texts:
        return []
    joined = normalize_text(_SEP.join(texts))
    out = joined.split(_SEP)
    if len(out) != len(texts) or any(o != o.strip() for o in out):
        return [normalize_text(t) for t in texts]
    return out


def han_count(text: str) -> int:
    """How many Han characters ``text`` holds."""
    return len(_HAN.findall(text))


@dataclass
class NameDictionary:
    """Surfaces → firms, in compact arrays (a few bytes per entry, not Python objects).

    ``patterns[p]`` is a surface; its entries are ``start[p]:start[p + 1]`` of the entry
    arrays: firm index, method code, name index, offset of the surface in that name (−1
    when the name does not contain it). ``names[n]`` is a normalised name and ``cores[n]``
    its core, ``name_kind[n]`` its method code (full or former).
    """

    patterns: list[str]
    start: np.ndarray[Any, np.dtype[np.int64]]
    firm: np.ndarray[Any, np.dtype[np.int32]]
    method: np.ndarray[Any, np.dtype[np.int8]]
    name: np.ndarray[Any, np.dtype[np.int32]]
    offset: np.ndarray[Any, np.dtype[np.int16]]
    names: pa.StringArray
    cores: pa.StringArray
    name_kind: np.ndarray[Any, np.dtype[np.int8]]
    industry_suffixes: frozenset[str]

    @property
    def entries(self) -> int:
        """Number of (surface, firm) entries."""
        return len(self.firm)


def frequent_suffixes(cores: Iterable[str], settings: LinkSettings) -> frozenset[str]:
    """Industry words: the settings' list and every core ending shared by many firms.

    A suffix of ``suffix_lengths`` characters counts when at least ``suffix_min_firms``
    distinct cores end with it and at least ``min_han`` characters stay in front of it.
    """
    lo, hi = settings.suffix_lengths
    counts: Counter[str] = Counter()
    for core in set(cores):
        for k in range(lo, min(hi, len(core) - settings.min_han) + 1):
            counts[core[-k:]] += 1
    found = {
        s for s, n in counts.items() if n >= settings.suffix_min_firms and han_count(s) == len(s)
    }
    return frozenset(found | set(settings.industry_words))


def short_surfaces(
    core: str, suffixes: frozenset[str], settings: LinkSettings, longest: int | None = None
) -> list[str]:
    """The core and its shorter forms, longest first (鹏润财富管理, 鹏润财富, 鹏润).

    Place words before the brand (前海) are dropped first; then industry words are taken
    off the end while at least ``min_han`` Han characters remain. The last one is the brand.
    """
    for place in settings.place_prefixes:
        if core.startswith(place) and han_count(core) - len(place) >= settings.min_han:
            core = core[len(place) :]
            break
    reach = max_suffix_length(suffixes) if longest is None else longest
    # Cut points i where core[i:] is a run of industry words (财富管理, or 财富 + 管理).
    cuts = [len(core)]
    for i in range(len(core) - 1, 0, -1):
        if any(j - i <= reach and core[i:j] in suffixes for j in cuts):
            cuts.append(i)
    return [core] + [core[:i] for i in cuts[1:] if han_count(core[:i]) >= settings.min_han]


def max_suffix_length(suffixes: frozenset[str]) -> int:
    """The longest industry word considered when cutting a core (at most 12 characters)."""
    return min(12, max((len(w) for w in suffixes), default=0))


@cache
def _region_words() -> frozenset[str]:
    """Names and short forms of provinces, prefectures and counties: not brands."""
    table = region_table()
    return frozenset(
        alias
        for alias, rows in table.name_index.items()
        if any(table.level_at(r) <= 3 and form != CONTEXT for r, form in rows)
    )


def build_dictionary(
    firm: Sequence[int],
    names: Sequence[str],
    kinds: Sequence[str],
    settings: LinkSettings,
    *,
    cores: Sequence[str] | None = None,
) -> NameDictionary:
    """Build the name dictionary from parallel lists: firm index, name, name kind.

    ``kinds`` are ``current``, ``former`` or ``branch``. ``cores`` (the cores of
    :func:`fengyan.resolve.names.split_name`) may be given when computed elsewhere, e.g.
    in worker processes; otherwise they are computed here, once per distinct name.
    """
    if not (len(firm) == len(names) == len(kinds)):
        raise ValueError("firm, names and kinds must have the same length")
    unknown = set(kinds) - set(NAME_KINDS)
    if unknown:
        raise ValueError(f"unknown name kinds {sorted(unknown)}; expected {sorted(NAME_KINDS)}")
    norm = normalize_many(list(names))
    if cores is None:
        cache: dict[str, str] = {}
        cores = [cache.get(n) or cache.setdefault(n, split_name(n).core) for n in names]
    suffixes = frequent_suffixes(cores, settings)
    longest = max_suffix_length(suffixes)
    regions = _region_words()
    stop = settings.stop_words | regions

    def eligible(surface: str) -> bool:
        return (
            han_count(surface) >= settings.min_han
            and surface not in stop
            and surface not in suffixes
        )

    pattern_id: dict[str, int] = {}
    e_pat, e_firm, e_name = array("i"), array("i"), array("i")
    e_method, e_off = array("b"), array("h")
    # Names of one firm (versions, branches) often share a core: reuse its surfaces.
    last_core, shorts = "", list[str]()
    for n, (f, full, core, kind) in enumerate(zip(firm, norm, cores, kinds, strict=True)):
        if core != last_core or not shorts:
            last_core, shorts = core, short_surfaces(core, suffixes, settings, longest)
        base = NAME_KINDS[kind]
        contained = False
        for i, surface in enumerate(shorts):
            if not eligible(surface):
                continue
            off = full.find(surface)
            contained |= off >= 0
            method = BRAND if i == len(shorts) - 1 and i > 0 else SHORT
            e_pat.append(pattern_id.setdefault(surface, len(pattern_id)))
            e_firm.append(f)
            e_name.append(n)
            e_method.append(method)
            e_off.append(off if 0 <= off < 32_000 else -1)
        if not contained and full and han_count(full) >= settings.min_han:
            # No short surface is inside the name: the automaton must know it whole.
            e_pat.append(pattern_id.setdefault(full, len(pattern_id)))
            e_firm.append(f)
            e_name.append(n)
            e_method.append(base)
            e_off.append(0)
    pat = np.frombuffer(e_pat, dtype=np.int32)
    order = np.argsort(pat, kind="stable")
    counts = np.bincount(pat, minlength=len(pattern_id))
    start = np.zeros(len(pattern_id) + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    return NameDictionary(
        patterns=list(pattern_id),
        start=start,
        firm=np.frombuffer(e_firm, dtype=np.int32)[order].copy(),
        method=np.frombuffer(e_method, dtype=np.int8)[order].copy(),
        name=np.frombuffer(e_name, dtype=np.int32)[order].copy(),
        offset=np.frombuffer(e_off, dtype=np.int16)[order].copy(),
        names=pa.array(norm, type=pa.string()),
        cores=pa.array(list(cores), type=pa.string()),
        name_kind=np.array([NAME_KINDS[k] for k in kinds], dtype=np.int8),
        industry_suffixes=suffixes,
    )


@dataclass(frozen=True)
class FirmFacts:
    """Per-firm facts the disambiguation uses, as arrays indexed like the firm ids."""

    ids: Sequence[str]
    region: Sequence[str]  # registered region code ("" when unknown)
    operating_region: Sequence[str]
    established: np.ndarray[Any, np.dtype[np.int64]]  # days since 1970; INT64_MIN unknown
    closed: np.ndarray[Any, np.dtype[np.int64]]  # day it was closed; INT64_MAX if open
    finance: np.ndarray[Any, np.dtype[np.bool_]]


UNKNOWN_DAY: Final = np.iinfo(np.int64).min
OPEN_DAY: Final = np.iinfo(np.int64).max


@dataclass(frozen=True, slots=True)
class Mention:
    """One linked mention: firm index, span in the normalised text, how, how sure."""

    firm: int
    start: int
    end: int
    surface: str
    method: str
    confidence: float


class RegionFinder:
    """District and street names of the jurisdiction's cities → their region codes."""

    def __init__(self, prefixes: Iterable[str]) -> None:
        """Index the counties (with short forms) and streets below each 4-digit prefix."""
        table = region_table()
        words: dict[str, set[str]] = {}
        for prefix in sorted(set(prefixes)):
            if len(prefix) < 4 or table.get(prefix[:4]) is None:
                continue
            for region in table.descendants(prefix[:4]):
                if region.level not in (3, 4):
                    continue
                for alias in _aliases(region.name, region.level):
                    words.setdefault(alias, set()).add(region.code)
        self.words = sorted(words)
        self.codes = [tuple(sorted(words[w])) for w in self.words]
        self._auto = (
            ac.AhoCorasick(self.words, matchkind=ac.MatchKind.LeftmostLongest)
            if self.words
            else None
        )

    def find(self, text: str) -> set[str]:
        """Region codes (6-digit counties, 9-digit streets) named in ``text``."""
        if self._auto is None:
            return set()
        out: set[str] = set()
        for p, _, _ in self._auto.find_matches_as_indexes(text):
            out.update(self.codes[p])
        return out


def _aliases(name: str, level: int) -> list[str]:
    return [a for a, form in aliases(name, level) if form != CONTEXT and han_count(a) >= 2]


class Linker:
    """Finds and disambiguates firm mentions in normalised text (build once per run)."""

    def __init__(
        self,
        dictionary: NameDictionary,
        firms: FirmFacts,
        settings: LinkSettings,
        regions: RegionFinder | None = None,
    ) -> None:
        """Build the automaton over the dictionary's surfaces."""
        self.d = dictionary
        self.firms = firms
        self.s = settings
        self.regions = regions or RegionFinder(r for r in firms.region if r)
        self.automaton = ac.AhoCorasick(
            dictionary.patterns, matchkind=ac.MatchKind.LeftmostLongest, store_patterns=False
        )
        self._firm_words = settings.firm_words
        unknown = set(settings.weights) - set(_FEATURES)
        if unknown:
            raise ValueError(f"settings linking.weights: unknown features {sorted(unknown)}")
        self._weights = tuple(float(settings.weights.get(k, 0.0)) for k in _FEATURES)

    # ---- matching -------------------------------------------------------------------------

    def _full_at(self, text: str, start: int, n: int, off: int) -> int:
        """End of the full name ``n`` if the text spells it around ``start``, else −1."""
        if off < 0 or start - off < 0:
            return -1
        name = self.d.names[n].as_py()
        at = start - off
        return at + len(name) if text.startswith(name, at) else -1

    def link(
        self,
        text: str,
        *,
        region_code: str | None = None,
        published: date | None = None,
        known: Iterable[int] = (),
    ) -> list[Mention]:
        """Mentions in ``text`` (already normalised), in reading order.

        ``region_code`` is the document's own region (ads, complaints), ``published`` its
        date (for the firm's status then), ``known`` firms the document is linked to by
        its own keys (credit code, resolution): they count as named in full.
        """
        if not text:
            return []
        d = self.d
        strong: dict[int, str] = {}
        out: list[Mention] = []
        pending: list[tuple[int, int, str, dict[int, tuple[int, int]]]] = []
        for p, start, end in self.automaton.find_matches_as_indexes(text):
            if not _word_bounded(text, start, end):
                continue
            a, b = int(d.start[p]), int(d.start[p + 1])
            if b - a > self.s.max_candidates:
                continue
            full: dict[int, tuple[int, int, int, int]] = {}  # firm → (method, start, end, name)
            short: dict[int, tuple[int, int]] = {}  # firm → (method, name)
            for e in range(a, b):
                f, m, n, off = int(d.firm[e]), int(d.method[e]), int(d.name[e]), int(d.offset[e])
                got: tuple[int, int, int, int] | None
                if m in (FULL, FORMER):  # a whole name in the automaton
                    got = (int(d.name_kind[n]), start, end, n)
                else:
                    stop = self._full_at(text, start, n, off)
                    got = (int(d.name_kind[n]), start - off, stop, n) if stop >= 0 else None
                if got is not None:
                    # The longest name spelt there wins (a branch over its parent's name).
                    if f not in full or (got[1] - got[2], got[0]) < (
                        full[f][1] - full[f][2],
                        full[f][0],
                    ):
                        full[f] = got
                elif f not in short or m < short[f][0]:
                    short[f] = (m, n)
            if len(full) == 1:
                ((f, (m, s0, s1, _)),) = full.items()
                method = METHODS[m]
                out.append(Mention(f, s0, s1, text[s0:s1], method, self.s.confidence[method]))
                strong.setdefault(f, method)
            elif full:
                # One name held by several firms at once: decided like a shared short name.
                s0 = min(v[1] for v in full.values())
                s1 = max(v[2] for v in full.values())
                cands = {f: (v[0], v[3]) for f, v in full.items()}
                pending.append((s0, s1, text[s0:s1], cands))
            elif short:
                pending.append((start, end, text[start:end], short))
        for f in known:
            strong.setdefault(f, "known")
        if pending:
            out.extend(self._disambiguate(text, pending, strong, region_code, published))
        out.sort(key=lambda m: (m.start, m.end, m.firm))
        return out

    # ---- disambiguation -------------------------------------------------------------------

    def _disambiguate(
        self,
        text: str,
        pending: list[tuple[int, int, str, dict[int, tuple[int, int]]]],
        strong: Mapping[int, str],
        region_code: str | None,
        published: date | None,
    ) -> list[Mention]:
        doc = _Doc(
            text=text,
            strong=strong,
            regions=self.regions.find(text),
            finance=any(w in text for w in self.s.finance_words),
            day=(published - _EPOCH).days if published is not None else None,
            district=(region_code or "")[:6] if region_code and len(region_code) >= 6 else "",
        )
        decided: dict[str, tuple[int, float] | None] = {}
        out: list[Mention] = []
        for start, end, surface, cands in pending:
            if surface not in decided:
                decided[surface] = self._choose(doc, start, end, surface, cands)
            choice = decided[surface]
            if choice is None:
                continue
            f, p = choice
            out.append(Mention(f, start, end, surface, METHODS[cands[f][0]], p))
        return out

    def features(
        self, doc: _Doc, start: int, end: int, surface: str, firm: int, name: int
    ) -> dict[str, float]:
        """The feature values (0/1) of one candidate, by name (for explanations and tests)."""
        return dict(zip(_FEATURES, self._values(doc, start, end, surface, firm, name), strict=True))

    def _values(
        self, doc: _Doc, start: int, end: int, surface: str, firm: int, name: int
    ) -> tuple[float, ...]:
        fx = self.firms
        text = doc.text
        regs = (fx.region[firm], fx.operating_region[firm])
        core = self.d.cores[name].as_py() or ""
        rest = core[len(surface) :] if core.startswith(surface) else ""
        industry = len(rest) >= 2 and (
            text.find(rest[:2], 0, start) >= 0 or text.find(rest[:2], end) >= 0
        )
        day = doc.day
        return (
            float(firm in doc.strong),
            float(any(r and any(r.startswith(c) for c in doc.regions) for r in regs)),
            float(bool(doc.district) and any(r[:6] == doc.district for r in regs)),
            float(industry),
            float(doc.finance and bool(fx.finance[firm])),
            float(text.startswith(self._firm_words, end)),
            float(
                day is not None
                and fx.established[firm] != UNKNOWN_DAY
                and fx.established[firm] > day
            ),
            float(
                day is not None
                and fx.closed[firm] != OPEN_DAY
                and fx.closed[firm] + self.s.closed_grace_days < day
            ),
        )

    def _choose(
        self, doc: _Doc, start: int, end: int, surface: str, cands: dict[int, tuple[int, int]]
    ) -> tuple[int, float] | None:
        scores: list[tuple[float, int]] = []
        weights = self._weights
        for f, (m, n) in cands.items():
            values = self._values(doc, start, end, surface, f, n)
            s = self.s.priors[METHODS[m]] + sum(w * v for w, v in zip(weights, values, strict=True))
            scores.append((s, f))
        scores.sort(reverse=True)
        top = scores[0][0]
        # Softmax over the candidates and "none of them" (score 0): the probability the
        # surface names the best candidate rather than another candidate or no firm.
        z = math.exp(-top) + sum(math.exp(s - top) for s, _ in scores)
        p = 1.0 / z
        if p < self.s.link_threshold:
            return None
        return scores[0][1], round(p, 4)


@dataclass(frozen=True, slots=True)
class _Doc:
    """What disambiguation needs to know about the document once."""

    text: str
    strong: Mapping[int, str]
    regions: set[str]
    finance: bool
    day: int | None
    district: str


_FEATURES: Final = (
    "named_in_full",
    "region_in_text",
    "document_region",
    "industry_word",
    "finance_context",
    "firm_word_after",
    "not_yet_founded",
    "closed_before",
)
_EPOCH: Final = date(1970, 1, 1)


def _word_bounded(text: str, start: int, end: int) -> bool:
    """A surface that begins or ends with a Latin letter or digit must not continue a word."""
    if _ASCII_WORD.match(text[start]) and start > 0 and _ASCII_WORD.match(text[start - 1]):
        return False
    return not (
        _ASCII_WORD.match(text[end - 1]) and end < len(text) and _ASCII_WORD.match(text[end])
    )


class LexiconScanner:
    """Feature-word and event-word hits in one automaton pass.

    Gives the same hits as :class:`fengyan.text.keywords.KeywordTagger` (the first
    occurrence of every term, overlapping terms included) without re-normalising the text
    and without one ``str.find`` per term: the service calls it on every document.
    """

    def __init__(self, lexicons: Lexicons | None = None) -> None:
        """Index the event and feature words of ``lexicons`` (the packaged ones)."""
        lex = lexicons or load_lexicons()
        terms: dict[str, list[tuple[bool, str, float]]] = {}
        for w in lex.event_words:
            terms.setdefault(w.term, []).append((False, w.event, w.weight))
        for fw in lex.feature_words:
            label = f"sector:{fw.sector}" if fw.category is Category.SECTOR else str(fw.category)
            terms.setdefault(fw.term, []).append((True, label, fw.weight))
        self.terms = list(terms)
        self._info = [terms[t] for t in self.terms]
        self._auto = ac.AhoCorasick(self.terms, matchkind=ac.MatchKind.Standard)

    def scan(self, text: str) -> tuple[list[Hit], list[Hit]]:
        """``(event hits, feature hits)`` of normalised ``text``, each in reading order."""
        first: dict[int, int] = {}
        for p, start, _ in self._auto.find_matches_as_indexes(text, overlapping=True):
            if p not in first or start < first[p]:
                first[p] = start
        events: list[Hit] = []
        features: list[Hit] = []
        for p, start in first.items():
            term = self.terms[p]
            for is_feature, label, weight in self._info[p]:
                (features if is_feature else events).append(Hit(term, label, weight, start))
        key = _hit_order
        return sorted(events, key=key), sorted(features, key=key)


def _hit_order(h: Hit) -> tuple[int, int]:
    return (h.start, -len(h.term))
