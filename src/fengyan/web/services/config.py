"""The services' settings (``web/services/settings.yaml``), checked once when first read.

Page sizes, export caps, which grades the public check lists, which boundary file maps
which jurisdiction, which lake tables make the timeline: data an operator may change
without touching code. Security settings (rate limits, cookies) live in
:mod:`fengyan.web.settings` (environment variables) instead.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fengyan.yamlstrict import load_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ExportSettings(_Strict):
    """Limits of CSV/Excel exports."""

    max_rows: int = Field(ge=1)


class OverviewSettings(_Strict):
    """How much the overview shows."""

    top_regions: int = Field(ge=1)
    trend_months: int = Field(ge=1)


class GraphSettings(_Strict):
    """Caps of the neighbourhood view."""

    max_hops: int = Field(ge=1, le=3)
    max_nodes: int = Field(ge=2)
    max_fanout: int = Field(ge=1)


class ProfileSettings(_Strict):
    """How much the enterprise profile shows."""

    timeline_limit: int = Field(ge=1)
    evidence_per_indicator: int = Field(ge=1)
    group_members: int = Field(ge=1)
    cache_size: int = Field(ge=0)
    graph: GraphSettings


class SearchSettings(_Strict):
    """Search limits."""

    limit: int = Field(ge=1)
    fuzzy_min_score: float = Field(ge=0, le=100)
    min_query_chars: int = Field(ge=1)


class PublicCheckSettings(_Strict):
    """The public risk check (F21)."""

    grades: tuple[str, ...] = Field(min_length=1)
    max_results: int = Field(ge=1)
    fuzzy_min_score: float = Field(ge=0, le=100)
    min_query_chars: int = Field(ge=1)
    max_query_chars: int = Field(ge=1)


class ServiceSettings(_Strict):
    """Everything in ``settings.yaml``."""

    default_model: str
    export: ExportSettings
    dimension_threshold: float = Field(ge=0, le=1)
    overview: OverviewSettings
    geo: dict[str, str]
    profile: ProfileSettings
    timeline: dict[str, str]
    materialise: tuple[str, ...]
    lake_refresh_seconds: float = Field(ge=0)
    page_cache_mb: float = Field(ge=0)
    public_refresh_seconds: float = Field(ge=0)
    run_refresh_seconds: float = Field(default=1.0, ge=0)
    search: SearchSettings
    public_check: PublicCheckSettings


class ServiceSettingsError(ValueError):
    """``settings.yaml`` is malformed (the message names the file and the field)."""


def parse_settings(text: str, origin: str) -> ServiceSettings:
    """Parse and check a services settings document."""
    try:
        settings = ServiceSettings.model_validate(load_yaml(text) or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ServiceSettingsError(f"{origin}: {problems}") from None
    from fengyan.index.model import GRADES

    unknown = [g for g in settings.public_check.grades if g not in GRADES[1:]]
    if unknown:
        raise ServiceSettingsError(f"{origin}: public_check.grades: unknown grade(s) {unknown}")
    return settings


@cache
def service_settings(path: Path | None = None) -> ServiceSettings:
    """The shipped settings (or the file at ``path``)."""
    if path is not None:
        return parse_settings(path.read_text(encoding="utf-8"), str(path))
    text = resources.files("fengyan.web.services").joinpath("settings.yaml").read_text("utf-8")
    return parse_settings(text, "web/services/settings.yaml")
