"""The CCKS 2019 financial-event data as multi-label texts in Fengyan's event types.

``train.csv`` has one row per (text, event type, subject); a text with several events occurs
in several rows. We group rows by text, map each CCKS label to a Fengyan type through
``event_types.yaml`` and keep the label *set* (empty for 其他, "no event").
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from fengyan.text.lexicon import Lexicons, load_lexicons


@dataclass(frozen=True, slots=True)
class Labelled:
    """One distinct text and its Fengyan event types."""

    text: str
    events: frozenset[str]


def load_ccks(path: Path, lexicons: Lexicons | None = None) -> list[Labelled]:
    """Read a CCKS ``id,text,event_type,subject`` file, grouped by text (file order)."""
    mapping = (lexicons or load_lexicons()).ccks_map()
    grouped: dict[str, set[str]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            text = (row.get("text") or "").strip()
            if not text:
                continue
            labels = grouped.setdefault(text, set())
            event = mapping.get(row.get("event_type") or "")
            if event:
                labels.add(event)
    return [Labelled(t, frozenset(ev)) for t, ev in grouped.items()]


def stratified_split(
    data: list[Labelled], test_share: float = 0.2, seed: int = 20190
) -> tuple[list[Labelled], list[Labelled]]:
    """Split keeping every type's share, stratifying each text by its rarest type.

    Multi-label data has no single class to stratify on; the rarest label of a text is the
    one a plain random split would most likely starve (歇业停业 has 27 rows).
    """
    from sklearn.model_selection import train_test_split

    freq = Counter(ev for d in data for ev in d.events)
    keys = [min(d.events, key=lambda e: (freq[e], e)) if d.events else "" for d in data]
    # train_test_split needs ≥ 2 members per stratum; fold singletons into "no event".
    counts = Counter(keys)
    keys = [k if counts[k] >= 2 else "" for k in keys]
    train, test = train_test_split(data, test_size=test_share, random_state=seed, stratify=keys)
    return list(train), list(test)
