"""What the index models need to know about the indicators: id and tags, from the specs.

Index models select indicators by tag (Eagle dimension, Dolphin dimension, legal
characteristic, catalogue id) rather than by listing ids, so that adding an indicator spec
puts it into the right dimensions without touching the models. The tags come from the
indicator spec files (``fengyan/indicators/specs/*.yaml``, shape fixed by the indicator
contract); only the fields used here are read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from fengyan.yamlstrict import load_yaml

EAGLE_DIMENSIONS = ("business", "opinion", "judicial", "operational", "related", "scale")
DOLPHIN_DIMENSIONS = ("compliance", "yield_deviation", "complaints", "propagation", "feature_words")
CHARACTERISTICS = ("illegality", "publicity", "inducement", "sociality")


class CatalogueError(ValueError):
    """An indicator spec file the index cannot read (file, entry and field named)."""


@dataclass(frozen=True, slots=True)
class IndicatorMeta:
    """An indicator as the index models see it."""

    id: str
    dimension: str
    dolphin: tuple[str, ...] = ()
    characteristics: tuple[str, ...] = ()
    catalogue: str | None = None


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def parse_specs(entries: Iterable[Any], origin: str) -> list[IndicatorMeta]:
    """Indicator tags from the entries of one spec file (a YAML list)."""
    out: list[IndicatorMeta] = []
    for n, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or "id" not in entry or "dimension" not in entry:
            raise CatalogueError(f"{origin}: entry {n} needs an id and a dimension")
        out.append(
            IndicatorMeta(
                id=str(entry["id"]),
                dimension=str(entry["dimension"]),
                dolphin=_tuple(entry.get("dolphin")),
                characteristics=_tuple(entry.get("characteristics")),
                catalogue=str(entry["catalogue"]) if entry.get("catalogue") else None,
            )
        )
    return out


def specs_dir() -> Path | None:
    """The shipped indicator spec folder, or None while the indicator package is absent."""
    try:
        folder = resources.files("fengyan.indicators").joinpath("specs")
    except ModuleNotFoundError:
        return None
    path = Path(str(folder))
    return path if path.is_dir() else None


def load_indicator_meta(folder: Path | None = None) -> list[IndicatorMeta]:
    """Tags of every indicator in ``folder`` (default: the shipped specs), sorted by id."""
    folder = folder or specs_dir()
    if folder is None:
        raise CatalogueError("no indicator specs found (fengyan/indicators/specs is absent)")
    metas: list[IndicatorMeta] = []
    for path in sorted(folder.glob("*.yaml")):
        data = load_yaml(path.read_text(encoding="utf-8")) or []
        if not isinstance(data, list):
            raise CatalogueError(f"{path.name}: expected a list of indicator specs")
        metas.extend(parse_specs(data, path.name))
    seen: set[str] = set()
    for m in metas:
        if m.id in seen:
            raise CatalogueError(f"indicator id {m.id} is defined twice in {folder}")
        seen.add(m.id)
    return sorted(metas, key=lambda m: m.id)
