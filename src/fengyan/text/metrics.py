"""Per-type precision/recall/F1 and macro-F1 for multi-label event tagging."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TypeScore:
    """Scores of one event type on one test set."""

    event: str
    support: int  # texts that truly carry the type
    predicted: int
    true_positive: int

    @property
    def precision(self) -> float:
        """TP / predicted (0 when nothing was predicted)."""
        return self.true_positive / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        """TP / support (0 when the type is absent)."""
        return self.true_positive / self.support if self.support else 0.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True, slots=True)
class Report:
    """Per-type scores; macro-F1 averages the types with support in the test set."""

    scores: tuple[TypeScore, ...]

    @property
    def macro_f1(self) -> float:
        """Unweighted mean F1 over types present in the gold labels."""
        present = [s.f1 for s in self.scores if s.support]
        return sum(present) / len(present) if present else 0.0

    def by_event(self) -> dict[str, TypeScore]:
        """Scores keyed by event-type code."""
        return {s.event: s for s in self.scores}


def score(
    gold: Sequence[frozenset[str]], pred: Sequence[frozenset[str]], events: Sequence[str]
) -> Report:
    """Score predictions against gold labels, restricted to ``events``."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold label sets but {len(pred)} predictions")
    out = []
    for ev in events:
        support = sum(ev in g for g in gold)
        predicted = sum(ev in p for p in pred)
        tp = sum(ev in g and ev in p for g, p in zip(gold, pred, strict=True))
        out.append(TypeScore(ev, support, predicted, tp))
    return Report(tuple(out))
