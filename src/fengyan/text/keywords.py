"""The keyword baseline: lexicon hits → event types, each hit kept as evidence.

A plain substring scan over a few hundred terms is fast enough here (microseconds per
snippet); the 3 M-name linker is the one that needs an Aho-Corasick automaton.
"""

from __future__ import annotations

from dataclasses import dataclass

from fengyan.text.lexicon import Category, Lexicons, load_lexicons
from fengyan.text.normalize import normalize_text

#: A term fires an event on its own at this weight; weaker terms are evidence only.
FIRE_WEIGHT = 0.5


@dataclass(frozen=True, slots=True)
class Hit:
    """One lexicon term found in a text (offsets are into the normalised text)."""

    term: str
    label: str  # event-type code, or the feature category (sector:<name> for sectors)
    weight: float
    start: int


class KeywordTagger:
    """Tags texts with event types and feature-word categories from the lexicons."""

    def __init__(self, lexicons: Lexicons | None = None) -> None:
        """Build the tagger from ``lexicons`` (the packaged ones by default)."""
        lex = lexicons or load_lexicons()
        self.event_types = tuple(lex.event_types)
        self.blockers = lex.blockers
        # Longest terms first so that the evidence lists the most specific wording.
        self._events = sorted(
            ((w.term, w.event, w.weight) for w in lex.event_words), key=lambda t: -len(t[0])
        )
        self._features = sorted(
            (
                (
                    f.term,
                    f"sector:{f.sector}" if f.category is Category.SECTOR else str(f.category),
                    f.weight,
                )
                for f in lex.feature_words
            ),
            key=lambda t: -len(t[0]),
        )

    def _scan(
        self, text: str, terms: list[tuple[str, str, float]], *, blocked: bool = False
    ) -> list[Hit]:
        norm = normalize_text(text)
        hits = []
        for term, label, weight in terms:
            start = norm.find(term)
            # An occurrence right after a blocker (请勿逾期) is advice: look further on.
            while blocked and start >= 0 and self.blockers.blocks(norm, start):
                start = norm.find(term, start + 1)
            if start >= 0:
                hits.append(Hit(term, label, weight, start))
        return sorted(hits, key=lambda h: (h.start, -len(h.term)))

    def event_hits(self, text: str | None) -> list[Hit]:
        """Every event trigger word in ``text`` (its first occurrence that no blocker of
        ``event_words.yaml`` precedes), in reading order."""
        return self._scan(text or "", self._events, blocked=True)

    def feature_hits(self, text: str | None) -> list[Hit]:
        """Every feature word (特征词) in ``text``, in reading order."""
        return self._scan(text or "", self._features)

    def tag(self, text: str | None) -> frozenset[str]:
        """The event types whose strongest hit in ``text`` reaches :data:`FIRE_WEIGHT`."""
        return frozenset(h.label for h in self.event_hits(text) if h.weight >= FIRE_WEIGHT)

    def tag_many(self, texts: list[str]) -> list[frozenset[str]]:
        """:meth:`tag` over a list."""
        return [self.tag(t) for t in texts]
