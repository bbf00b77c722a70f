"""Lexicon sentiment of a text, and of a text toward each mentioned firm.

A lexicon of signed, weighted terms (跌停 −1.0, 扭亏为盈 +1.0) with negators (不, 未, 否认 …)
and degree words (大幅 ×1.5, 小幅 ×0.6). The sentiment toward a mention is judged on the
clause that holds it (a headline such as "A涨停，B跌停" says opposite things about A and B),
widened to the sentence, then to a window of characters, when the clause carries no term.

The core lexicon (``lexicons/sentiment.yaml``) is the project's own. The academic financial
dictionaries in ``shared/data/fin-sentiment-lexicons`` state no licence for their word lists,
so they are not shipped; ``python -m fengyan.text build-sentiment`` merges them at setup into
``var/models/sentiment-lexicon-v1.json`` (pass it to :func:`load_sentiment_lexicon`). On the
CFSC aspect test set the core alone scores better (benchmarks/bench_text_extract.py), so
:func:`default_lexicon` is the core.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import ahocorasick_rs
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fengyan.text.lexicon import LexiconError, _describe, _parse
from fengyan.text.normalize import fold_aligned, normalize_text
from fengyan.yamlstrict import load_yaml

_FILE = "sentiment.yaml"
#: Where ``python -m fengyan.text build-sentiment`` writes the extended lexicon.
DEFAULT_EXTENSION = Path("var/models/sentiment-lexicon-v1.json")
EXTENSION_NAME = "sentiment-lexicon-v1"
_CLAUSE_END = "，,;；。！？!?\n：:"
_SENTENCE_END = "。！？!?\n"

#: cntext dictionary files, the weight their terms get and the categories that are
#: positive/negative. Order matters only for the record of sources.
CNTEXT_SOURCES: dict[str, tuple[float, tuple[str, ...], tuple[str, ...]]] = {
    "zh_common_FinacialFormalUnformal.yaml": (
        0.7,
        ("正式-肯定情绪", "非正式-肯定情绪"),
        ("正式-否定情绪", "非正式-否定情绪"),
    ),
    "zh_common_FinanceSenti.yaml": (0.6, ("pos",), ("neg",)),
    "zh_common_LoughranMcDonald.yaml": (0.4, ("positive",), ("negative",)),
}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    negation_window: int = Field(ge=1, le=10)
    neutral_band: float = Field(ge=0.0, lt=1.0)
    scale: float = Field(gt=0.0)
    window: int = Field(ge=1, le=1000)
    negators: tuple[str, ...]
    degree: dict[str, float]
    positive: dict[str, float]
    negative: dict[str, float]


@dataclass
class SentimentLexicon:
    """Signed term weights plus negation and degree rules."""

    name: str
    weights: dict[str, float]  # term → signed weight in [−1, 1]
    negators: tuple[str, ...]
    degree: dict[str, float]
    negation_window: int = 3
    neutral_band: float = 0.2
    scale: float = 1.5
    window: int = 80
    _automaton: Any = field(default=None, repr=False)

    def automaton(self) -> Any:
        """The Aho–Corasick automaton over the terms (leftmost-longest), built once."""
        if self._automaton is None:
            self._automaton = ahocorasick_rs.AhoCorasick(
                list(self.weights), matchkind=ahocorasick_rs.MatchKind.LeftmostLongest
            )
        return self._automaton


def _core_spec(path: Path | None) -> _Spec:
    if path is None:
        text = resources.files("fengyan.text").joinpath("lexicons", _FILE).read_text("utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    raw = _parse(_FILE, text)
    try:
        spec = _Spec.model_validate(raw)
    except ValidationError as exc:
        raise LexiconError(f"{_FILE}: {_describe(exc)}") from exc
    for side in ("positive", "negative"):
        for term, w in getattr(spec, side).items():
            if not 0 < w <= 1:
                raise LexiconError(f"{_FILE}: {side} term {term!r}: weight {w} not in (0, 1]")
            if normalize_text(term) != term:
                raise LexiconError(f"{_FILE}: {side} term {term!r} is not in normalised form")
    both = set(spec.positive) & set(spec.negative)
    if both:
        raise LexiconError(f"{_FILE}: terms listed as positive and negative: {sorted(both)}")
    return spec


def load_sentiment_lexicon(
    core: Path | None = None, extension: Path | None = None
) -> SentimentLexicon:
    """The core lexicon (packaged by default), plus an extension JSON built at setup.

    Core terms win over extension terms. An extension that is not a
    ``sentiment-lexicon-v1`` file is refused with its path.
    """
    spec = _core_spec(core)
    weights: dict[str, float] = {}
    name = "sentiment-core-v1"
    if extension is not None:
        try:
            blob = json.loads(extension.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LexiconError(f"{extension}: cannot read sentiment extension: {exc}") from exc
        if not isinstance(blob, dict) or blob.get("name") != EXTENSION_NAME:
            raise LexiconError(f"{extension}: not a {EXTENSION_NAME} file")
        weights.update({str(k): float(v) for k, v in blob["weights"].items()})
        name = f"sentiment-core-v1+{EXTENSION_NAME}"
    weights.update(spec.positive)
    weights.update({t: -w for t, w in spec.negative.items()})
    return SentimentLexicon(
        name=name,
        weights=weights,
        negators=spec.negators,
        degree=spec.degree,
        negation_window=spec.negation_window,
        neutral_band=spec.neutral_band,
        scale=spec.scale,
        window=spec.window,
    )


@cache
def default_lexicon() -> SentimentLexicon:
    """The core lexicon (the extension measured worse on CFSC; see docs/text.md)."""
    return load_sentiment_lexicon()


def build_extension(source_dir: Path, out: Path = DEFAULT_EXTENSION) -> Path:
    """Merge the cntext financial dictionaries in ``source_dir`` into an extension JSON.

    Each term's signed weight is the sum over dictionaries (see :data:`CNTEXT_SOURCES`),
    clipped to [−1, 1]; terms the dictionaries disagree on (sum near 0), single characters
    and terms that are not in normalised form are dropped.
    """
    total: dict[str, float] = {}
    used = []
    for fname, (weight, pos, neg) in CNTEXT_SOURCES.items():
        path = source_dir / fname
        if not path.exists():
            continue
        data = load_yaml(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("Dictionary"), dict):
            raise LexiconError(f"{path}: expected a cntext dictionary with `Dictionary`")
        for cats, sign in ((pos, 1.0), (neg, -1.0)):
            for cat in cats:
                for term in data["Dictionary"].get(cat) or []:
                    t = str(term).strip()
                    if len(t) >= 2 and normalize_text(t) == t:
                        total[t] = total.get(t, 0.0) + sign * weight
        used.append({"file": fname, "name": data.get("Name", ""), "refer": data.get("Refer", "")})
    if not used:
        raise LexiconError(f"{source_dir}: none of {sorted(CNTEXT_SOURCES)} found")
    weights = {t: max(-1.0, min(1.0, w)) for t, w in sorted(total.items()) if abs(w) >= 0.2}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"name": EXTENSION_NAME, "sources": used, "weights": weights},
            ensure_ascii=False,
            indent=0,
        ),
        encoding="utf-8",
    )
    return out


@dataclass(frozen=True, slots=True)
class _Hits:
    starts: list[int]
    ends: list[int]
    values: list[float]


def _hits(lex: SentimentLexicon, folded: str) -> _Hits:
    """Every term in ``folded`` with its signed, degree- and negation-adjusted value."""
    starts: list[int] = []
    ends: list[int] = []
    values: list[float] = []
    for _, s, e in lex.automaton().find_matches_as_indexes(folded):
        value = lex.weights[folded[s:e]]
        # Look back within the clause for degree words and negators (不大幅上涨, 未能扭亏).
        a = s
        lo = max(0, s - lex.negation_window - 2)
        while a > lo and folded[a - 1] not in _CLAUSE_END:
            a -= 1
        before = folded[a:s]
        for word, mult in lex.degree.items():
            if before.endswith(word):
                value *= mult
                before = before[: -len(word)]
                break
        tail = before[-lex.negation_window :]
        if any(n in tail for n in lex.negators):
            value = -value
        starts.append(s)
        ends.append(e)
        values.append(value)
    return _Hits(starts, ends, values)


def _label(lex: SentimentLexicon, total: float) -> tuple[str, float]:
    score = math.tanh(total / lex.scale)
    if abs(score) < lex.neutral_band:
        return "neutral", round(score, 4)
    return ("positive" if score > 0 else "negative"), round(score, 4)


def sentiment(text: str | None, lexicon: SentimentLexicon | None = None) -> tuple[str, float]:
    """(label, score) of the whole text: negative/neutral/positive and a score in −1…1."""
    if not text:
        return "neutral", 0.0
    lex = lexicon or default_lexicon()
    return _label(lex, sum(_hits(lex, fold_aligned(text)).values))


def _bounds(text: str, start: int, end: int, stops: str, limit: int) -> tuple[int, int]:
    lo = max(0, start - limit)
    a = start
    while a > lo and text[a - 1] not in stops:
        a -= 1
    hi = min(len(text), end + limit)
    b = end
    while b < hi and text[b] not in stops:
        b += 1
    return a, b


def sentiment_toward(
    text: str | None,
    spans: Sequence[tuple[int, int]],
    lexicon: SentimentLexicon | None = None,
) -> list[tuple[str, float]]:
    """(label, score) toward each mention ``(start, end)`` of ``text``, one per span.

    Judged on the clause holding the mention, else its sentence, else ``window`` characters
    each side; terms inside the mention itself (a firm called 盈利宝) do not count.
    Spans outside the text are clipped.
    """
    if not spans:
        return []
    if not text:
        return [("neutral", 0.0) for _ in spans]
    lex = lexicon or default_lexicon()
    folded = fold_aligned(text)
    hits = _hits(lex, folded)
    n = len(folded)
    out = []
    for s0, e0 in spans:
        s, e = max(0, min(s0, n)), max(0, min(e0, n))
        total = 0.0
        found = False
        for stops, limit in ((_CLAUSE_END, 200), (_SENTENCE_END, 400), ("", lex.window)):
            a, b = _bounds(folded, s, e, stops, limit)
            i = bisect.bisect_left(hits.starts, a)
            total = 0.0
            while i < len(hits.starts) and hits.starts[i] < b:
                if hits.ends[i] <= b and (hits.ends[i] <= s or hits.starts[i] >= e):
                    total += hits.values[i]
                    found = True
                i += 1
            if found:
                break
        out.append(_label(lex, total))
    return out
