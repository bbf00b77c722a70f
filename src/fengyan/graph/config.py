"""The graph model's settings (``settings.yaml``), loaded into typed objects."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from fengyan.yamlstrict import load_yaml


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OwnershipSettings(_Frozen):
    """Integrated ownership and control rules."""

    tolerance: float = Field(default=1e-6, gt=0)
    max_iterations: int = Field(default=200, ge=1)
    majority: float = Field(default=0.5, gt=0, lt=1)
    inclusive: bool = False
    beneficial_owner: float = Field(default=0.25, gt=0, le=1)
    relative_control: float = Field(default=0.25, gt=0, le=1)
    relative_margin: float = Field(default=0.05, ge=0, le=1)
    top: int = Field(default=5, ge=1)
    min_share: float = Field(default=0.01, ge=0, le=1)
    officer_roles: tuple[str, ...] = ()


class GroupSettings(_Frozen):
    """Which ties put firms into one group."""

    relations: tuple[str, ...]
    key_person_roles: tuple[str, ...]
    max_firms: dict[str, int]


class SignalSettings(_Frozen):
    """Shell-cluster signals."""

    reregistration_days: int = Field(default=365, ge=1)


class Seed(_Frozen):
    """Records whose firms seed the contagion."""

    table: str
    where: str
    weight: float = Field(gt=0)


class ContagionSettings(_Frozen):
    """Personalised PageRank from high-risk firms."""

    damping: float = Field(default=0.85, gt=0, lt=1)
    tolerance: float = Field(default=1e-10, gt=0)
    max_iterations: int = Field(default=1000, ge=1)
    explain_max_hops: int = Field(default=8, ge=0, le=1000)
    weights: dict[str, float]
    seeds: tuple[Seed, ...] = ()


class GraphSettings(_Frozen):
    """The whole graph model."""

    model: str
    ownership: OwnershipSettings
    groups: GroupSettings
    signals: SignalSettings
    contagion: ContagionSettings
    # DuckDB's memory limit for the graph's queries (DuckDB syntax, "3GB"); beyond it
    # joins, aggregates and sorts spill to ``<home>/tmp/duckdb``. None: DuckDB's default.
    memory_limit: str | None = Field(
        default=None, pattern=r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$"
    )
    # Two threads where steps are independent (contagion beside controllers, groups and
    # signals; the contact keys beside the edge queries; the contact points' node
    # dictionary beside the firms' and persons'); false: one after another.
    concurrent: bool = True


def load_settings(path: Path | None = None) -> GraphSettings:
    """The shipped model, or the one in ``path`` (a copy of ``settings.yaml``)."""
    if path is None:
        return _shipped()
    return GraphSettings.model_validate(load_yaml(path.read_text("utf-8")))


@cache
def _shipped() -> GraphSettings:
    text = resources.files("fengyan.graph").joinpath("settings.yaml").read_text("utf-8")
    return GraphSettings.model_validate(load_yaml(text))
