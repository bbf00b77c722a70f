"""Typed indicator specs: one YAML list per dimension under ``indicators/specs/``.

The models only give a spec its shape (unknown fields are rejected, normalisation
parameters checked); :mod:`fengyan.indicators.load` checks the SQL inside it against the
sources, the term lists and the other indicators.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Dimension = Literal["business", "opinion", "judicial", "operational", "related", "scale"]
DIMENSIONS: tuple[str, ...] = ("business", "opinion", "judicial", "operational", "related", "scale")
Dolphin = Literal["compliance", "yield_deviation", "complaints", "propagation", "feature_words"]
Characteristic = Literal["illegality", "publicity", "inducement", "sociality"]
# The pseudo-source of derived indicators: their values are other indicators' values.
INDICATORS_SOURCE = "indicators"


class SpecError(ValueError):
    """A spec, term list or category file is invalid; the message names file, id and field."""


class Label(BaseModel):
    """A text in Simplified Chinese (shown first) and English."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class _Norm(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Piecewise(_Norm):
    """Linear between points (x increasing, score in [0, 1]), clamped outside them."""

    method: Literal["piecewise"]
    points: tuple[tuple[float, float], ...] = Field(min_length=2)

    @field_validator("points")
    @classmethod
    def _points(cls, points: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        xs = [p[0] for p in points]
        if any(b <= a for a, b in itertools.pairwise(xs)):
            raise ValueError(f"x values must increase strictly, got {xs}")
        if any(not 0.0 <= p[1] <= 1.0 for p in points):
            raise ValueError("scores (second of each point) must lie in [0, 1]")
        return points


class Logistic(_Norm):
    """1 / (1 + exp(-(value - mid) / scale))."""

    method: Literal["logistic"]
    mid: float
    scale: float = Field(gt=0)


class Rank(_Norm):
    """Percentile rank (percent_rank) of the value among all firms of the jurisdiction."""

    method: Literal["rank"]


class Binary(_Norm):
    """1 when value > threshold (default 0), else 0."""

    method: Literal["binary"]
    threshold: float = 0.0


class Log(_Norm):
    """ln(1 + value) / ln(1 + cap), clamped to [0, 1]: counts with diminishing returns."""

    method: Literal["log"]
    cap: float = Field(gt=0)


Normalise = Annotated[Piecewise | Logistic | Rank | Binary | Log, Field(discriminator="method")]


class Evidence(BaseModel):
    """Which rows an indicator cites: ordered by ``order`` (SQL), the first ``limit``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    order: str | None = None
    limit: int = Field(default=5, ge=1, le=100)


class IndicatorSpec(BaseModel):
    """One second-level indicator."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$", max_length=60)
    name: Label
    dimension: Dimension
    dolphin: tuple[Dolphin, ...] = ()
    characteristics: tuple[Characteristic, ...] = ()
    catalogue: str | None = None
    rationale: str = Field(min_length=1)
    source: str
    where: str | None = None
    window_days: int | None = Field(default=None, gt=0)
    value: str = Field(min_length=1)
    missing: Literal["zero", "null"] | float = "zero"
    normalise: Normalise
    direction: Literal["higher", "lower"] = "higher"
    evidence: Evidence | None = None
    explain: Label | None = None

    @field_validator("missing", mode="before")
    @classmethod
    def _yaml_null(cls, value: object) -> object:
        # `missing: null` in YAML arrives as None: it means the "null" policy.
        return "null" if value is None else value

    @property
    def derived(self) -> bool:
        """Whether the indicator is computed from other indicators' values."""
        return self.source == INDICATORS_SOURCE

    @property
    def missing_value(self) -> float | None:
        """The value a firm without rows gets (None: stays missing)."""
        if self.missing == "null":
            return None
        if self.missing == "zero":
            return 0.0
        return float(self.missing)
