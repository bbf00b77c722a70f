"""Risk-event classification: a character n-gram TF-IDF + linear one-vs-rest model.

Chinese needs no segmentation for this: character 1–3-grams catch 跑路, 提现困难 and
非法吸收公众存款 alike, need no dictionary download and survive the typos of forum posts.
Each type gets a LinearSVC with balanced class weights, because the labels are very uneven
(1,479 实控人股东变更 rows against 27 歇业停业). The model is compared, in the same run,
with the keyword baseline of :mod:`fengyan.text.keywords` (see :func:`evaluate`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from fengyan.text.keywords import KeywordTagger
from fengyan.text.lexicon import Lexicons, load_lexicons
from fengyan.text.metrics import Report, score
from fengyan.text.normalize import normalize_text

#: Name of the model family; a released version never changes (STYLE: models have names).
MODEL_NAME = "events-tfidf-v1"
#: Default location of the built artefact (``python -m fengyan.text build``).
DEFAULT_ARTEFACT = Path("var/models/events-tfidf-v1.joblib")


class ModelError(ValueError):
    """A model artefact is missing, corrupt or of another model family."""


@dataclass
class EventClassifier:
    """A trained multi-label event classifier and the types it knows."""

    events: tuple[str, ...]
    pipeline: Any  # sklearn Pipeline(TfidfVectorizer, OneVsRestClassifier(LinearSVC))
    name: str = MODEL_NAME
    trained_on: str = ""

    def decision(self, texts: Sequence[str | None]) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Per-type margins (texts × events); > 0 means the type is predicted."""
        norm = [normalize_text(t) for t in texts]
        out = np.asarray(self.pipeline.decision_function(norm), dtype=np.float64)
        return out.reshape(len(norm), len(self.events))

    def predict(self, texts: Sequence[str | None]) -> list[frozenset[str]]:
        """The event types of each text (an empty set for "no event")."""
        if not texts:
            return []
        margins = self.decision(texts)
        return [
            frozenset(ev for ev, m in zip(self.events, row, strict=True) if m > 0)
            for row in margins
        ]

    def save(self, path: Path) -> Path:
        """Write the model as a joblib artefact (parent folders are created)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(
            {
                "name": self.name,
                "events": self.events,
                "pipeline": self.pipeline,
                "trained_on": self.trained_on,
            },
            path,
            compress=3,
        )
        return path


def load_model(path: Path = DEFAULT_ARTEFACT) -> EventClassifier:
    """Load an artefact written by :meth:`EventClassifier.save`.

    joblib unpickles, which runs code: load only artefacts this installation built.
    """
    if not path.exists():
        raise ModelError(f"{path}: no model artefact; build it with `python -m fengyan.text build`")
    blob = joblib.load(path)
    if not isinstance(blob, dict) or blob.get("name") != MODEL_NAME:
        raise ModelError(f"{path}: not a {MODEL_NAME} artefact")
    return EventClassifier(
        events=tuple(blob["events"]),
        pipeline=blob["pipeline"],
        name=str(blob["name"]),
        trained_on=str(blob.get("trained_on", "")),
    )


def train(
    texts: Sequence[str],
    labels: Sequence[frozenset[str]],
    *,
    max_features: int = 200_000,
    c: float = 0.5,
    seed: int = 0,
) -> EventClassifier:
    """Fit the TF-IDF char (1–3)-gram + one-vs-rest LinearSVC model.

    Only types seen at least twice in ``labels`` are learnt; others cannot be predicted.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    counts: dict[str, int] = {}
    for ls in labels:
        for ev in ls:
            counts[ev] = counts.get(ev, 0) + 1
    events = tuple(sorted(ev for ev, n in counts.items() if n >= 2))
    if not events:
        raise ValueError("no event type occurs twice in the training labels")
    y = np.array([[ev in ls for ev in events] for ls in labels], dtype=np.int8)
    pipeline = Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    analyzer="char",
                    ngram_range=(1, 3),
                    sublinear_tf=True,
                    min_df=2,
                    max_features=max_features,
                    dtype=np.float32,
                ),
            ),
            (
                "ovr",
                OneVsRestClassifier(LinearSVC(C=c, class_weight="balanced", random_state=seed)),
            ),
        ]
    )
    pipeline.fit([normalize_text(t) for t in texts], y)
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()[:16]
    return EventClassifier(events, pipeline, trained_on=f"{len(texts)} texts, sha256 {digest}")


@dataclass(frozen=True, slots=True)
class Comparison:
    """Model and keyword baseline scored on the same held-out texts."""

    events: tuple[str, ...]
    model: Report
    baseline: Report
    n_test: int


def evaluate(
    model: EventClassifier,
    texts: Sequence[str],
    gold: Sequence[frozenset[str]],
    *,
    events: Sequence[str] | None = None,
    lexicons: Lexicons | None = None,
) -> Comparison:
    """Score ``model`` and the keyword baseline on the same texts.

    ``events`` defaults to the types the model knows; types absent from ``gold`` are listed
    but left out of macro-F1.
    """
    evs = tuple(events) if events is not None else model.events
    tagger = KeywordTagger(lexicons or load_lexicons())
    return Comparison(
        events=evs,
        model=score(gold, model.predict(list(texts)), evs),
        baseline=score(gold, tagger.tag_many(list(texts)), evs),
        n_test=len(texts),
    )
