"""The resolution model's settings (``settings.yaml``), loaded into typed objects."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fengyan.yamlstrict import load_yaml


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MentionSource(_Frozen):
    """A lake table whose records name an enterprise."""

    table: str
    code: str
    name: str
    alt_name: str | None = None
    region: str | None = None
    kind_field: str | None = None
    kinds: tuple[str, ...] = ()
    # When the record was made (a firm founded later is unlikely to be the one named) and
    # the columns whose text may name the firm's trade (compared with the firm's core name).
    date: str | None = None
    context: tuple[str, ...] = ()


class Thresholds(_Frozen):
    """Match probabilities that decide link, review or nothing."""

    accept: float = Field(gt=0, le=1)
    review: float = Field(gt=0, le=1)
    margin_bits: float = Field(default=0.0, ge=0)


class Stages(_Frozen):
    """Optional deterministic stages."""

    core_name: bool = True
    brand: bool = True


class EnterpriseSettings(_Frozen):
    """How event records are linked to registered enterprises."""

    mentions: tuple[MentionSource, ...]
    stages: Stages = Stages()
    thresholds: Thresholds
    splink: dict[str, Any]
    # u of these comparisons was estimated on a register of reference_entities firms.
    reference_entities: int | None = Field(default=None, gt=0)
    scaled_comparisons: tuple[str, ...] = ()


class PersonSettings(_Frozen):
    """How person records are deduplicated."""

    thresholds: Thresholds
    splink: dict[str, Any]


class ResolveSettings(_Frozen):
    """The whole model: its name and one block per entity kind."""

    model: str
    enterprise: EnterpriseSettings
    person: PersonSettings
    # Persons in a second thread beside enterprises; false: one after the other.
    concurrent: bool = True


def load_settings(path: Path | None = None) -> ResolveSettings:
    """The shipped model, or the one in ``path`` (a copy of ``settings.yaml``)."""
    if path is None:
        return _shipped()
    return ResolveSettings.model_validate(load_yaml(path.read_text("utf-8")))


@cache
def _shipped() -> ResolveSettings:
    text = resources.files("fengyan.resolve").joinpath("settings.yaml").read_text("utf-8")
    return ResolveSettings.model_validate(load_yaml(text))
