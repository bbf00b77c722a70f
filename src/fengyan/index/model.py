"""Index models as data: ``models/<id>.yaml`` loaded, validated and bound to the indicators.

A model (``dolphin-v1``, ``eagle-v1``, ``four-v1``) names its dimensions, says which
indicators feed each (by tag: Eagle dimension, Dolphin dimension, legal characteristic,
catalogue id, or by id), how a dimension aggregates its indicators, the dimension weights,
an optional impact multiplier, interactions, caps, floors and grade thresholds. A released
model never changes: a new calibration is a new file with a new id (``dolphin-v2``).

:func:`load_model` reads and validates the YAML (pydantic, errors name the file and the
field); :func:`bind` resolves the selectors against the indicator list into column
positions (errors name the model, the dimension or rule, and what it selected).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fengyan.index.catalogue import IndicatorMeta
from fengyan.yamlstrict import load_yaml

GRADES = ("none", "blue", "yellow", "orange", "red")
"""Grades from lowest to highest; the position is the grade's rank (0 = none)."""


class IndexModelError(ValueError):
    """A model file that cannot be used, with the file and the reason."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Text(_Frozen):
    """A bilingual label."""

    zh: str
    en: str


class Selector(_Frozen):
    """Which indicators: every given key must match (a list means any of its values)."""

    dimension: tuple[str, ...] = ()
    dolphin: tuple[str, ...] = ()
    characteristics: tuple[str, ...] = ()
    catalogue: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _listify(cls, data: object) -> object:
        if isinstance(data, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _not_empty(self) -> Selector:
        tagged = self.dimension or self.dolphin or self.characteristics or self.catalogue
        if not tagged and not self.ids:
            raise ValueError("a selector needs at least one of dimension, dolphin, "
                                 "characteristics, catalogue or ids")  # fmt: skip
        return self

    def matches(self, m: IndicatorMeta) -> bool:
        """Whether indicator ``m`` is selected."""
        if m.id in self.exclude:
            return False
        if self.ids and m.id in self.ids:
            return True
        tagged = bool(self.dimension or self.dolphin or self.characteristics or self.catalogue)
        return tagged and (
            (not self.dimension or m.dimension in self.dimension)
            and (not self.dolphin or bool(set(m.dolphin) & set(self.dolphin)))
            and (
                not self.characteristics or bool(set(m.characteristics) & set(self.characteristics))
            )
            and (not self.catalogue or m.catalogue in self.catalogue)
        )


class Dimension(_Frozen):
    """One dimension: its indicators and how they combine into a score in [0, 1]."""

    name: Text
    weight: float = Field(ge=0, le=1)
    select: Selector
    # max_mean: max_share·max + (1 − max_share)·weighted mean over present indicators
    # (catalogue §3.3: one strong signal shows, corroboration raises the score).
    # noisy_or: 1 − Π(1 − w·x): independent pieces of evidence accumulate.
    aggregate: Literal["max_mean", "noisy_or"] = "max_mean"
    max_share: float = Field(default=0.6, ge=0, le=1)
    # Per-indicator weights (by id or catalogue id); others weigh 1. For noisy_or ≤ 1.
    weights: dict[str, float] = Field(default_factory=dict)


class Impact(_Frozen):
    """Score = likelihood × (floor + (1 − floor) · impact dimension)."""

    dimension: str
    floor: float = Field(ge=0, le=1)


class Interaction(_Frozen):
    """Extra score when dimensions are high together (added before scaling to 0–100)."""

    id: str
    name: Text
    dimensions: tuple[str, ...] = Field(min_length=2)
    method: Literal["min", "product"] = "min"
    weight: float = Field(gt=0, le=1)


class Condition(_Frozen):
    """True when at least ``count`` of the targets are ≥ ``at_least``, or all are < ``below``.

    Targets are dimensions (by name) or indicators (a selector); a missing value counts
    as 0.
    """

    dimensions: tuple[str, ...] = ()
    indicators: Selector | None = None
    at_least: float | None = Field(default=None, ge=0, le=1)
    below: float | None = Field(default=None, gt=0, le=1)
    count: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _one_each(self) -> Condition:
        if bool(self.dimensions) == (self.indicators is not None):
            raise ValueError("a condition names dimensions or indicators (one of the two)")
        if (self.at_least is None) == (self.below is None):
            raise ValueError("a condition has at_least or below (one of the two)")
        return self


class Rule(_Frozen):
    """A cap (``max_score``) or a floor (``min_score``) applied when all conditions hold."""

    id: str
    name: Text
    when: tuple[Condition, ...] = Field(min_length=1)
    max_score: float | None = Field(default=None, ge=0, le=100)
    min_score: float | None = Field(default=None, ge=0, le=100)


class Grades(_Frozen):
    """Lowest score of each grade (0–100); below ``blue`` no grade."""

    red: float
    orange: float
    yellow: float
    blue: float

    @model_validator(mode="after")
    def _ordered(self) -> Grades:
        if not 0 < self.blue < self.yellow < self.orange < self.red <= 100:
            raise ValueError("grade thresholds must rise: 0 < blue < yellow < orange < red ≤ 100")
        return self


class IndexModel(_Frozen):
    """A whole index model file."""

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*-v\d+$")
    name: Text
    description: str
    basis: str
    dimensions: dict[str, Dimension] = Field(min_length=1)
    impact: Impact | None = None
    interactions: tuple[Interaction, ...] = ()
    caps: tuple[Rule, ...] = ()
    floors: tuple[Rule, ...] = ()
    grades: Grades
    top_k: int = Field(default=5, ge=1, le=20)

    @model_validator(mode="after")
    def _consistent(self) -> IndexModel:
        dims = set(self.dimensions)
        if self.impact is not None and self.impact.dimension not in dims:
            raise ValueError(f"impact dimension {self.impact.dimension!r} is not a dimension")
        likelihood = [d for d in dims if self.impact is None or d != self.impact.dimension]
        total = sum(self.dimensions[d].weight for d in likelihood)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(
                f"dimension weights (impact dimension excluded) sum to {total:g}, not 1"
            )
        for inter in self.interactions:
            unknown = set(inter.dimensions) - dims
            if unknown:
                raise ValueError(f"interaction {inter.id}: unknown dimensions {sorted(unknown)}")
        for rule in (*self.caps, *self.floors):
            for cond in rule.when:
                unknown = set(cond.dimensions) - dims
                if unknown:
                    raise ValueError(f"rule {rule.id}: unknown dimensions {sorted(unknown)}")
        for rule in self.caps:
            if rule.max_score is None or rule.min_score is not None:
                raise ValueError(f"cap {rule.id} needs max_score (and no min_score)")
        for rule in self.floors:
            if rule.min_score is None or rule.max_score is not None:
                raise ValueError(f"floor {rule.id} needs min_score (and no max_score)")
        for name, d in self.dimensions.items():
            if d.aggregate == "noisy_or" and any(w > 1 for w in d.weights.values()):
                raise ValueError(f"dimension {name}: noisy_or weights must be ≤ 1")
        return self


# ---- loading -----------------------------------------------------------------------------


def models_dir() -> Path:
    """The folder of the shipped model files."""
    return Path(str(resources.files("fengyan.index").joinpath("models")))


def model_ids(folder: Path | None = None) -> list[str]:
    """Ids of the models in ``folder`` (default: the shipped ones)."""
    return sorted(p.stem for p in (folder or models_dir()).glob("*.yaml"))


def parse_model(text: str, origin: str) -> IndexModel:
    """Validate a model's YAML text; errors name ``origin`` and each bad field."""
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise IndexModelError(f"{origin}: not valid YAML: {exc}") from None
    try:
        return IndexModel.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(model)'}: {e['msg']}" for e in exc.errors()
        )
        raise IndexModelError(f"{origin}: {problems}") from None


def load_model(ref: str | Path) -> IndexModel:
    """A shipped model by id (``dolphin-v1``) or a model file by path."""
    path = Path(ref) if str(ref).endswith((".yaml", ".yml")) else models_dir() / f"{ref}.yaml"
    if not path.is_file():
        known = ", ".join(model_ids())
        raise IndexModelError(f"no index model {ref!s} (shipped models: {known})")
    model = parse_model(path.read_text(encoding="utf-8"), path.name)
    if path.parent == models_dir() and model.id != path.stem:
        raise IndexModelError(f"{path.name}: id {model.id!r} differs from the file name")
    return model


@cache
def shipped_model(model_id: str) -> IndexModel:
    """A shipped model, read once."""
    return load_model(model_id)


# ---- binding to the indicator columns ----------------------------------------------------

FloatArray = NDArray[np.float32]


@dataclass(frozen=True)
class BoundDimension:
    """A dimension with its column positions and per-column weights."""

    name: str
    weight: float
    aggregate: str
    max_share: float
    columns: NDArray[np.intp]
    weights: FloatArray


@dataclass(frozen=True)
class BoundCondition:
    """A condition over dimension positions or indicator columns."""

    dimensions: NDArray[np.intp]
    columns: NDArray[np.intp]
    at_least: float | None
    below: float | None
    count: int


@dataclass(frozen=True)
class BoundRule:
    """A cap or floor ready to evaluate."""

    id: str
    when: tuple[BoundCondition, ...]
    limit: float


@dataclass(frozen=True)
class BoundModel:
    """A model bound to the columns of one indicator table."""

    model: IndexModel
    indicators: tuple[str, ...]
    dimensions: tuple[BoundDimension, ...]
    likelihood: NDArray[np.intp]
    impact: int | None
    impact_floor: float
    interactions: tuple[tuple[str, NDArray[np.intp], str, float], ...]
    caps: tuple[BoundRule, ...]
    floors: tuple[BoundRule, ...]
    thresholds: FloatArray
    # Indicator × dimension weights (0 where the indicator is not in the dimension), so
    # that every dimension's weighted sum over a block is one matrix product.
    weight_matrix: FloatArray

    @property
    def id(self) -> str:
        """The model id."""
        return self.model.id

    @property
    def dimension_names(self) -> tuple[str, ...]:
        """Dimension names in column order."""
        return tuple(d.name for d in self.dimensions)


def _weight_matrix(columns: int, dims: Sequence[BoundDimension]) -> FloatArray:
    out = np.zeros((columns, len(dims)), dtype=np.float32, order="F")
    for k, d in enumerate(dims):
        out[d.columns, k] = d.weights
    return out


def _weight(d: Dimension, m: IndicatorMeta) -> float:
    if m.id in d.weights:
        return d.weights[m.id]
    if m.catalogue and m.catalogue in d.weights:
        return d.weights[m.catalogue]
    return 1.0


def bind(model: IndexModel, metas: Sequence[IndicatorMeta], columns: Sequence[str]) -> BoundModel:
    """Resolve ``model``'s selectors against the indicators present in ``columns``.

    Indicators in ``metas`` but not in ``columns`` are ignored (an indicator table may
    hold a subset); a dimension or rule that selects nothing is an error.
    """
    position = {c: i for i, c in enumerate(columns)}
    present = [m for m in metas if m.id in position]
    known = {m.id for m in metas} | {m.catalogue for m in metas if m.catalogue}

    def select(sel: Selector, where: str) -> list[IndicatorMeta]:
        missing = [i for i in (*sel.ids, *sel.catalogue) if i not in known]
        if missing:
            raise IndexModelError(f"{model.id}: {where} names unknown indicators {missing}")
        chosen = [m for m in present if sel.matches(m)]
        if not chosen:
            raise IndexModelError(f"{model.id}: {where} selects no indicator of the table")
        return chosen

    names = list(model.dimensions)
    dims: list[BoundDimension] = []
    for name in names:
        d = model.dimensions[name]
        unknown = [k for k in d.weights if k not in known]
        if unknown:
            raise IndexModelError(f"{model.id}: dimension {name} weights unknown {unknown}")
        chosen = select(d.select, f"dimension {name}")
        dims.append(
            BoundDimension(
                name,
                d.weight,
                d.aggregate,
                d.max_share,
                np.array([position[m.id] for m in chosen], dtype=np.intp),
                np.array([_weight(d, m) for m in chosen], dtype=np.float32),
            )
        )
    dim_pos = {n: i for i, n in enumerate(names)}

    def conditions(rule: Rule) -> tuple[BoundCondition, ...]:
        out = []
        for c in rule.when:
            cols = (
                [position[m.id] for m in select(c.indicators, f"rule {rule.id}")]
                if c.indicators is not None
                else []
            )
            out.append(
                BoundCondition(
                    np.array([dim_pos[n] for n in c.dimensions], dtype=np.intp),
                    np.array(cols, dtype=np.intp),
                    c.at_least,
                    c.below,
                    c.count,
                )
            )
        return tuple(out)

    impact = dim_pos[model.impact.dimension] if model.impact else None
    g = model.grades
    return BoundModel(
        model=model,
        indicators=tuple(columns),
        dimensions=tuple(dims),
        likelihood=np.array([i for i in range(len(names)) if i != impact], dtype=np.intp),
        impact=impact,
        impact_floor=model.impact.floor if model.impact else 1.0,
        interactions=tuple(
            (
                i.id,
                np.array([dim_pos[n] for n in i.dimensions], dtype=np.intp),
                i.method,
                i.weight,
            )
            for i in model.interactions
        ),
        caps=tuple(BoundRule(r.id, conditions(r), float(r.max_score or 0)) for r in model.caps),
        floors=tuple(BoundRule(r.id, conditions(r), float(r.min_score or 0)) for r in model.floors),
        thresholds=np.array([g.blue, g.yellow, g.orange, g.red], dtype=np.float32),
        weight_matrix=_weight_matrix(len(columns), dims),
    )
