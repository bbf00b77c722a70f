"""Verification checklists per risk category (``checklists.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

from fengyan.workflow.errors import WorkflowConfigError
from fengyan.workflow.machine import load_machine
from fengyan.yamlstrict import load_yaml

CHECKLISTS_FILE: Final = "checklists.yaml"
CATEGORIES_FILE: Final = "categories.yaml"


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One thing to check during verification."""

    id: str
    zh: str
    en: str
    required: bool
    modes: frozenset[str]

    def label(self, lang: str | None) -> str:
        """The item's text in ``lang``."""
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class Checklists:
    """Common items, groups of items, and the groups of each risk category."""

    common: tuple[ChecklistItem, ...]
    groups: dict[str, tuple[ChecklistItem, ...]]
    categories: dict[str, tuple[str, ...]]

    def items(self, category: str | None, mode: str | None) -> list[ChecklistItem]:
        """The checklist of a case of ``category`` verified in ``mode`` (None: every mode)."""
        chosen = list(self.common)
        for group in self.categories.get(category or "", ()):
            chosen.extend(self.groups[group])
        return [i for i in chosen if mode is None or mode in i.modes]


def category_ids() -> set[str]:
    """The risk category ids of ``fengyan/indicators/categories.yaml``."""
    text = resources.files("fengyan.indicators").joinpath(CATEGORIES_FILE).read_text("utf-8")
    data = load_yaml(text) or {}
    return {str(c["id"]) for c in data.get("categories", [])}


def _items(
    raw: Any, modes: set[str], file: str, entry: str, seen: set[str]
) -> tuple[ChecklistItem, ...]:
    if not isinstance(raw, list) or not raw:
        raise WorkflowConfigError(file, entry, "needs a non-empty list of items")
    items = []
    for i, spec in enumerate(raw):
        where = f"{entry}[{i}]"
        if not isinstance(spec, dict) or not all(
            isinstance(spec.get(k), str) and spec[k].strip() for k in ("id", "zh", "en")
        ):
            raise WorkflowConfigError(file, where, "an item needs id, zh and en")
        if spec["id"] in seen:
            raise WorkflowConfigError(file, where, f"duplicate item id {spec['id']!r}")
        seen.add(spec["id"])
        item_modes = spec.get("modes", sorted(modes))
        if not isinstance(item_modes, list) or not item_modes or set(item_modes) - modes:
            raise WorkflowConfigError(file, where, f"modes must be a list from {sorted(modes)}")
        required = spec.get("required", True)
        if not isinstance(required, bool):
            raise WorkflowConfigError(file, where, "required must be true or false")
        items.append(
            ChecklistItem(spec["id"], spec["zh"], spec["en"], required, frozenset(item_modes))
        )
    return tuple(items)


def parse_checklists(text: str, file: str, categories: set[str], modes: set[str]) -> Checklists:
    """Parse and check a checklist file against the known categories and modes."""
    data = load_yaml(text)
    if not isinstance(data, dict):
        raise WorkflowConfigError(file, "-", "not a mapping")
    seen: set[str] = set()
    common = _items(data.get("common"), modes, file, "common", seen)
    raw_groups = data.get("groups") or {}
    if not isinstance(raw_groups, dict):
        raise WorkflowConfigError(file, "groups", "needs a mapping")
    groups = {str(k): _items(v, modes, file, f"groups.{k}", seen) for k, v in raw_groups.items()}
    raw_cats = data.get("categories") or {}
    if not isinstance(raw_cats, dict):
        raise WorkflowConfigError(file, "categories", "needs a mapping")
    cats: dict[str, tuple[str, ...]] = {}
    for key, value in raw_cats.items():
        entry = f"categories.{key}"
        if key not in categories:
            raise WorkflowConfigError(file, entry, "not a risk category of categories.yaml")
        if not isinstance(value, list) or any(g not in groups for g in value):
            raise WorkflowConfigError(file, entry, f"must list groups from {sorted(groups)}")
        cats[str(key)] = tuple(value)
    return Checklists(common, groups, cats)


@cache
def load_checklists(path: Path | None = None) -> Checklists:
    """The checklists shipped with the package (or the file at ``path``)."""
    modes = set(load_machine().sections["modes"])
    if path is not None:
        return parse_checklists(path.read_text("utf-8"), str(path), category_ids(), modes)
    text = resources.files("fengyan.workflow").joinpath(CHECKLISTS_FILE).read_text("utf-8")
    return parse_checklists(text, CHECKLISTS_FILE, category_ids(), modes)
