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
import threading
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any, Final

import ahocorasick_rs as ac
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fengyan.standards.regions import CONTEXT, aliases, region_table
from fengyan.text.dictionary import (
    BRAND,
    FORMER,
    FULL,
    METHODS,
    NAME_KINDS,
    SHORT,
    NameDictionary,
    build_dictionary,
    frequent_suffixes,
    han_count,
    max_suffix_length,
    normalize_many,
    short_surfaces,
)
from fengyan.text.keywords import Hit
from fengyan.text.lexicon import Category, Lexicons, load_lexicons

__all__ = [
    "BRAND",
    "FORMER",
    "FULL",
    "METHODS",
    "NAME_KINDS",
    "SHORT",
    "FirmFacts",
    "LexiconScanner",
    "LinkSettings",
    "Linker",
    "Mention",
    "NameDictionary",
    "RegionFinder",
    "build_dictionary",
    "frequent_suffixes",
    "han_count",
    "max_suffix_length",
    "normalize_many",
    "short_surfaces",
]

_ASCII_WORD: Final = re.compile(r"[0-9a-z]")


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
    build_workers: int
    automaton_shards: int

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
            build_workers=max(1, int(data["build_workers"])),
            automaton_shards=max(1, int(data["automaton_shards"])),
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


class StringColumn:
    """Item access to an Arrow string array without Arrow scalars (``col(i) -> str``)."""

    def __init__(self, values: pa.Array) -> None:
        """Keep the offsets and the UTF-8 bytes of ``values`` (null → "")."""
        values = pc.fill_null(values.cast(pa.string()), "")
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        n = len(values)
        _, offsets, data = values.buffers()
        off = np.frombuffer(offsets, dtype=np.int32)[values.offset : values.offset + n + 1]
        self._off = array("q", off.astype(np.int64).tobytes())
        self._data = memoryview(data) if data is not None else memoryview(b"")

    def __call__(self, i: int) -> str:
        """The ``i``-th string."""
        return str(self._data[self._off[i] : self._off[i + 1]], "utf-8")

    def __len__(self) -> int:
        """Number of strings."""
        return len(self._off) - 1


Shard = tuple[Any, "np.ndarray[Any, np.dtype[np.int64]] | None"]


def build_automata(patterns: pa.Array, shards: int, *, min_size: int = 200_000) -> list[Shard]:
    """Leftmost-longest automata over ``patterns``, ``shards`` of them built in threads.

    ahocorasick-rs builds without the GIL, so shards build side by side (the build is the
    largest fixed cost of a run: about 9 µs per pattern). Patterns are split by their
    first character, balanced by count, so that a match start belongs to one shard. Each
    shard is ``(automaton, global pattern ids)``; one shard keeps the ids as they are.
    Fewer than ``min_size`` patterns build in well under a second: one shard then.
    """
    kind = ac.MatchKind.LeftmostLongest
    if shards <= 1 or len(patterns) < max(min_size, shards):
        return [(ac.AhoCorasick(_iter(patterns), matchkind=kind, store_patterns=False), None)]
    first = pc.dictionary_encode(pc.utf8_slice_codeunits(patterns, 0, 1))
    char = np.asarray(first.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    counts = np.bincount(char, minlength=len(first.dictionary))
    load = np.zeros(shards, dtype=np.int64)
    shard_of = np.zeros(len(counts), dtype=np.int64)
    for c in np.argsort(-counts, kind="stable").tolist():
        shard_of[c] = k = int(np.argmin(load))
        load[k] += counts[c]
    owner = shard_of[char]
    ids = [np.flatnonzero(owner == k) for k in range(shards)]
    built: list[Any] = [None] * shards
    errors: list[BaseException] = []

    def build(k: int) -> None:
        try:
            part = patterns.take(pa.array(ids[k]))
            built[k] = ac.AhoCorasick(_iter(part), matchkind=kind, store_patterns=False)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=build, args=(k,)) for k in range(shards)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return [(built[k], ids[k]) for k in range(shards)]


_CHUNK: Final = 100_000


def _iter(patterns: pa.Array) -> Iterator[str]:
    """The patterns as Python strings, ``_CHUNK`` at a time (not millions at once)."""
    for a in range(0, len(patterns), _CHUNK):
        yield from patterns.slice(a, _CHUNK).to_pylist()


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
        self._shards = build_automata(dictionary.patterns, settings.automaton_shards)
        self._longest = int(pc.max(pc.utf8_length(dictionary.patterns)).as_py() or 0)
        self._firm_words = settings.firm_words
        unknown = set(settings.weights) - set(_FEATURES)
        if unknown:
            raise ValueError(f"settings linking.weights: unknown features {sorted(unknown)}")
        self._weights = tuple(float(settings.weights.get(k, 0.0)) for k in _FEATURES)
        self._priors = tuple(float(settings.priors[m]) for m in METHODS)
        # Plain-Python views for the per-candidate loop: an Arrow scalar or NumPy item costs
        # about a microsecond, an array.array item or a bytes slice a tenth of that.
        self._names = StringColumn(dictionary.names)
        self._cores = StringColumn(dictionary.cores)
        self._established = array("q", np.asarray(firms.established, dtype=np.int64).tobytes())
        self._closed = array("q", np.asarray(firms.closed, dtype=np.int64).tobytes())
        self._finance = array("b", np.asarray(firms.finance, dtype=np.int8).tobytes())

    # ---- matching -------------------------------------------------------------------------

    def matches(self, text: str) -> list[tuple[int, int, int]]:
        """Leftmost-longest matches ``(pattern, start, end)`` of all shards, in text order.

        Exactly what one automaton over all patterns gives. Shards split the patterns by
        first character, so two shards never match at the same start; a shard's match that
        overlaps one chosen from another shard is dropped, and that shard is scanned again
        from the chosen match's end (only a short window when that changes nothing).
        """
        shards = self._shards
        if len(shards) == 1:
            auto, ids = shards[0]
            if ids is None:
                found: list[tuple[int, int, int]] = auto.find_matches_as_indexes(text)
                return found
            return [(int(ids[p]), s, e) for p, s, e in auto.find_matches_as_indexes(text)]
        lists = [self._scan(k, text, 0, len(text)) for k in range(len(shards))]
        heads = [0] * len(shards)
        out: list[tuple[int, int, int]] = []
        pos = 0
        while True:
            best = -1
            for k, found in enumerate(lists):
                i = heads[k]
                if i < len(found) and found[i][1] < pos:
                    lists[k] = found = self._rescan(k, text, pos, found[i:])
                    heads[k] = i = 0
                if i < len(found) and (best < 0 or found[i][1] < lists[best][heads[best]][1]):
                    best = k
            if best < 0:
                return out
            m = lists[best][heads[best]]
            out.append(m)
            heads[best] += 1
            pos = m[2]

    def _scan(self, k: int, text: str, at: int, stop: int) -> list[tuple[int, int, int]]:
        auto, ids = self._shards[k]
        part = text[at:stop] if at or stop < len(text) else text
        assert ids is not None
        return [(int(ids[p]), s + at, e + at) for p, s, e in auto.find_matches_as_indexes(part)]

    def _rescan(
        self, k: int, text: str, pos: int, found: list[tuple[int, int, int]]
    ) -> list[tuple[int, int, int]]:
        # Matches starting before pos overlap the chosen one and go. They hid what starts
        # in [pos, end): if the shard has nothing starting there, its later matches stand;
        # else it is scanned again from pos to the end of the text.
        drop = 0
        while drop < len(found) and found[drop][1] < pos:
            drop += 1
        end = found[drop - 1][2]
        rest = found[drop:]
        if end <= pos:
            return rest
        window = self._scan(k, text, pos, min(len(text), end + self._longest))
        if not window or window[0][1] >= end:
            return rest
        return self._scan(k, text, pos, len(text))

    def _full_at(self, text: str, start: int, n: int, off: int) -> int:
        """End of the full name ``n`` if the text spells it around ``start``, else −1."""
        if off < 0 or start - off < 0:
            return -1
        name = self._names(n)
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
        for p, start, end in self.matches(text):
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
        found = self.regions.find(text)
        doc = _Doc(
            text=text,
            strong=strong,
            regions=found,
            finance=any(w in text for w in self.s.finance_words),
            day=(published - _EPOCH).days if published is not None else None,
            district=(region_code or "")[:6] if region_code and len(region_code) >= 6 else "",
            region_prefixes=tuple(found),
            bigrams=frozenset(pairwise(text)),
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
        core = self._cores(name)
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
        # The scores of _values, computed with what is the same for every candidate taken
        # out of the loop and the cores read in one Arrow take (this is the hot loop of a
        # run: shared brands have up to max_candidates candidates).
        fx, text, day = self.firms, doc.text, doc.day
        w_full, w_region, w_district, w_industry, w_fin, w_after, w_new, w_closed = self._weights
        after = text.startswith(self._firm_words, end)
        grace = self.s.closed_grace_days
        priors = self._priors
        established, closed, finance = self._established, self._closed, self._finance
        region_named: dict[str, bool] = {}
        items = list(cands.items())
        core_of = self._cores
        cores = [core_of(n) for _, (_, n) in items]
        scores: list[tuple[float, int]] = []
        for (f, (m, _)), core in zip(items, cores, strict=True):
            acc = 0.0
            if f in doc.strong:
                acc += w_full
            if doc.regions or doc.district:
                regs = (fx.region[f], fx.operating_region[f])
                for r in regs:
                    named = region_named.get(r)
                    if named is None:
                        named = region_named[r] = bool(r) and r.startswith(doc.region_prefixes)
                    if named:
                        acc += w_region
                        break
                if doc.district and any(r[:6] == doc.district for r in regs):
                    acc += w_district
            if core.startswith(surface) and len(core) - len(surface) >= 2:
                word = core[len(surface) : len(surface) + 2]
                # Most firms' industry words are not in the text at all: a set look-up
                # first, the exact search (outside the surface) only when it is.
                if (word[0], word[1]) in doc.bigrams and (
                    text.find(word, 0, start) >= 0 or text.find(word, end) >= 0
                ):
                    acc += w_industry
            if doc.finance and finance[f]:
                acc += w_fin
            if after:
                acc += w_after
            if day is not None:
                est, shut = established[f], closed[f]
                if est != UNKNOWN_DAY and est > day:
                    acc += w_new
                if shut != OPEN_DAY and shut + grace < day:
                    acc += w_closed
            scores.append((priors[m] + acc, f))
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
    region_prefixes: tuple[str, ...] = ()
    bigrams: frozenset[tuple[str, str]] = frozenset()


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
        self._event = [any(not f for f, _, _ in terms[t]) for t in self.terms]
        self._blockers = lex.blockers
        self._auto = ac.AhoCorasick(self.terms, matchkind=ac.MatchKind.Standard)

    def scan(self, text: str) -> tuple[list[Hit], list[Hit]]:
        """``(event hits, feature hits)`` of normalised ``text``, each in reading order.

        Event words count from their first occurrence that no blocker precedes (请勿逾期 is
        advice); feature words from their first occurrence.
        """
        first: dict[int, int] = {}
        first_event: dict[int, int] = {}
        blocks = self._blockers.blocks
        # Most texts hold no blocker at all: then no occurrence needs checking.
        check = any(w in text for w in self._blockers.words)
        for p, start, _ in self._auto.find_matches_as_indexes(text, overlapping=True):
            if p not in first or start < first[p]:
                first[p] = start
            if (
                self._event[p]
                and (p not in first_event or start < first_event[p])
                and not (check and blocks(text, start))
            ):
                first_event[p] = start
        events: list[Hit] = []
        features: list[Hit] = []
        for p, start in first.items():
            term = self.terms[p]
            for is_feature, label, weight in self._info[p]:
                if is_feature:
                    features.append(Hit(term, label, weight, start))
                elif p in first_event:
                    events.append(Hit(term, label, weight, first_event[p]))
        key = _hit_order
        return sorted(events, key=key), sorted(features, key=key)


def _hit_order(h: Hit) -> tuple[int, int]:
    return (h.start, -len(h.term))
