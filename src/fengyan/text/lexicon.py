"""Load the lexicons shipped under ``fengyan/text/lexicons/``.

The lexicons are data: an analyst adds a feature word or an event trigger by adding one YAML
line, and this module checks it. A malformed entry is an error naming its file and term,
never silently dropped — a misspelt category would otherwise switch a rule off unnoticed.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fengyan.text.normalize import normalize_text
from fengyan.yamlstrict import load_yaml


class LexiconError(ValueError):
    """A lexicon file is malformed or refers to something that does not exist."""


class Category(StrEnum):
    """What a feature word is evidence of: a legal characteristic or a favoured sector."""

    ILLEGALITY = "illegality"  # 非法性
    PUBLICITY = "publicity"  # 公开性
    INDUCEMENT = "inducement"  # 利诱性
    SOCIALITY = "sociality"  # 社会性
    SECTOR = "sector"  # 养老, 虚拟币, 原始股 …


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    term: str = Field(min_length=1, max_length=40)
    weight: float = Field(gt=0.0, le=1.0)
    source: str = Field(min_length=1)
    note: str = ""

    @field_validator("term")
    @classmethod
    def _normalised(cls, value: str) -> str:
        # Terms are matched against normalised text, so they must be normalised themselves
        # (a traditional or full-width term would never match).
        norm = normalize_text(value)
        if norm != value:
            raise ValueError(f"term must be written in normalised form {norm!r}")
        return value


_E = TypeVar("_E", bound="_Entry")


class FeatureWord(_Entry):
    """A feature word (特征词) with the characteristic or sector it signals."""

    category: Category
    sector: str | None = None


class EventWord(_Entry):
    """A trigger word of one risk-event type."""

    event: str


class EventType(BaseModel):
    """A Fengyan risk-event type and the CCKS 2019 labels that map onto it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[a-z][a-z_]*$")
    name: str = Field(min_length=1)
    description: str = ""
    ccks: tuple[str, ...] = ()


class Blockers(BaseModel):
    """Words that make a following event trigger advice, not an event (请勿逾期)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: int = Field(default=2, ge=0, le=10)  # characters allowed between the two
    words: tuple[str, ...] = ()

    @field_validator("words")
    @classmethod
    def _normalised_and_distinct(cls, words: tuple[str, ...]) -> tuple[str, ...]:
        for w in words:
            if not w or normalize_text(w) != w:
                raise ValueError(f"blocker {w!r} must be non-empty and in normalised form")
        if len(set(words)) != len(words):
            raise ValueError("a blocker is listed twice")
        return words

    def blocks(self, text: str, start: int) -> bool:
        """Whether a blocker ends at most ``window`` characters before ``start``."""
        for w in self.words:
            if text.rfind(w, max(0, start - self.window - len(w)), start) >= 0:
                return True
        return False


class Lexicons(BaseModel):
    """All packaged lexicons, validated against each other."""

    model_config = ConfigDict(frozen=True)

    event_types: dict[str, EventType]
    event_words: tuple[EventWord, ...]
    feature_words: tuple[FeatureWord, ...]
    blockers: Blockers = Field(default_factory=lambda: Blockers())

    def ccks_map(self) -> dict[str, str]:
        """CCKS label → Fengyan event-type code (CCKS labels without a type are absent)."""
        return {label: et.code for et in self.event_types.values() for label in et.ccks}


def _parse(name: str, text: str) -> Any:
    try:
        return load_yaml(text, name) or {}
    except yaml.YAMLError as exc:
        raise LexiconError(f"{name}: not valid YAML: {exc}") from exc


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" if e["loc"] else e["msg"]
        for e in exc.errors()
    )


def _terms(name: str, data: Any, model: type[_E]) -> list[_E]:
    if not isinstance(data, dict) or not isinstance(data.get("terms"), list):
        raise LexiconError(f"{name}: expected a mapping with `sources` and a `terms` list")
    sources = data.get("sources") or {}
    if not isinstance(sources, dict):
        raise LexiconError(f"{name}: `sources` must map source ids to descriptions")
    out: list[_E] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["terms"]):
        label = raw.get("term", f"entry #{i + 1}") if isinstance(raw, dict) else f"entry #{i + 1}"
        if not isinstance(raw, dict):
            raise LexiconError(f"{name}: {label}: must be a mapping")
        try:
            entry = model.model_validate(raw)
        except ValidationError as exc:
            raise LexiconError(f"{name}: term {label!r}: {_describe(exc)}") from exc
        if entry.source not in sources:
            raise LexiconError(f"{name}: term {label!r}: unknown source {entry.source!r}")
        key = f"{entry.term}\x00{getattr(entry, 'event', '')}"
        if key in seen:
            raise LexiconError(f"{name}: term {label!r} is listed twice")
        seen.add(key)
        out.append(entry)
    return out


def load_lexicons_from(folder: Path | None = None) -> Lexicons:
    """Load and cross-check the lexicons in ``folder`` (the packaged ones by default)."""

    def read(fname: str) -> Any:
        if folder is None:
            text = resources.files("fengyan.text").joinpath("lexicons", fname).read_text("utf-8")
        else:
            text = (folder / fname).read_text(encoding="utf-8")
        return _parse(fname, text)

    raw_types = read("event_types.yaml")
    if not isinstance(raw_types, dict):
        raise LexiconError("event_types.yaml: expected a mapping of code → definition")
    types: dict[str, EventType] = {}
    owner: dict[str, str] = {}
    for code, body in raw_types.items():
        if not isinstance(body, dict):
            raise LexiconError(f"event_types.yaml: {code}: must be a mapping")
        try:
            et = EventType.model_validate({"code": code, **body})
        except ValidationError as exc:
            raise LexiconError(f"event_types.yaml: {code}: {_describe(exc)}") from exc
        for label in et.ccks:
            if label in owner:
                raise LexiconError(
                    f"event_types.yaml: {code}: CCKS label {label!r} already maps to {owner[label]}"
                )
            owner[label] = code
        types[code] = et
    raw_events = read("event_words.yaml")
    events = _terms("event_words.yaml", raw_events, EventWord)
    try:
        blockers = Blockers.model_validate(raw_events.get("blockers") or {})
    except ValidationError as exc:
        raise LexiconError(f"event_words.yaml: blockers: {_describe(exc)}") from exc
    for w in events:
        if w.event not in types:
            raise LexiconError(f"event_words.yaml: term {w.term!r}: unknown event {w.event!r}")
    features = _terms("feature_words.yaml", read("feature_words.yaml"), FeatureWord)
    for f in features:
        if (f.category is Category.SECTOR) != (f.sector is not None):
            raise LexiconError(
                f"feature_words.yaml: term {f.term!r}: `sector` is required for category "
                "sector and only there"
            )
    return Lexicons(
        event_types=types,
        event_words=tuple(events),
        feature_words=tuple(features),
        blockers=blockers,
    )


@cache
def load_lexicons() -> Lexicons:
    """The packaged lexicons, loaded once per process."""
    return load_lexicons_from(None)
