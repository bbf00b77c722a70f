"""Term lists (``terms.yaml``) and risk categories (``categories.yaml``): data the specs use.

A term list is a named set of words with where they come from; specs test a column against
it with ``terms(col, 'list')`` or count hits with ``term_count(col, 'list')``. Categories
weigh indicator scores into a finance-like flag and a best risk category per firm.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fengyan.indicators.spec import Label, SpecError
from fengyan.yamlstrict import load_yaml


class TermList(BaseModel):
    """A named list of terms, with its source."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    terms: tuple[str, ...] = Field(min_length=1)
    # Source keys (SOURCES.md) or a free-text citation.
    source: str | tuple[str, ...] = ""
    note: str = ""

    @field_validator("terms")
    @classmethod
    def _clean(cls, terms: tuple[str, ...]) -> tuple[str, ...]:
        if any(not t.strip() for t in terms):
            raise ValueError("empty term")
        if len(set(terms)) != len(terms):
            dups = sorted({t for t in terms if terms.count(t) > 1})
            raise ValueError(f"duplicate terms {dups}")
        return terms


class Category(BaseModel):
    """A risk category: indicator weights and the score a firm needs to be put in it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: Label
    description: str = ""
    indicators: dict[str, float] = Field(min_length=1)
    min_score: float = Field(default=0.5, ge=0)


class FinanceLike(BaseModel):
    """Discovery of finance-like firms: a weighted sum of indicator scores, or a strong rule."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    description: str = ""
    indicators: dict[str, float] = Field(min_length=1)
    min_score: float = Field(default=1.0, ge=0)
    # Any of these scoring at least ``strong_score`` makes a firm finance-like on its own.
    strong: tuple[str, ...] = ()
    strong_score: float = Field(default=1.0, gt=0, le=1)


class Categories(BaseModel):
    """The finance-like rule and the risk categories."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    finance_like: FinanceLike
    categories: tuple[Category, ...] = Field(min_length=1)

    def indicator_ids(self) -> set[str]:
        """Every indicator id the rules name."""
        ids = set(self.finance_like.indicators) | set(self.finance_like.strong)
        for c in self.categories:
            ids |= set(c.indicators)
        return ids


def _read(path: Path) -> Any:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"{path.name}: not valid YAML: {exc}") from None


def file_hash(*paths: Path) -> str:
    """A short hash of the files' bytes (recorded with every run)."""
    h = hashlib.sha256()
    for p in paths:
        if p.exists():
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def load_terms(path: Path) -> dict[str, TermList]:
    """Term lists by id from ``path`` (a YAML list, or a mapping of id → list)."""
    if not path.exists():
        return {}
    data = _read(path) or []
    if isinstance(data, dict):
        data = data.get("lists", [{"id": k, **(v or {})} for k, v in data.items()])
    if not isinstance(data, list):
        raise SpecError(f"{path.name}: expected a list of term lists")
    out: dict[str, TermList] = {}
    errors: list[str] = []
    for i, item in enumerate(data):
        where = item.get("id", f"#{i + 1}") if isinstance(item, dict) else f"#{i + 1}"
        try:
            tl = TermList.model_validate(item)
        except ValidationError as exc:
            errors += [f"{path.name}: term list {where}: {e}" for e in _messages(exc)]
            continue
        if tl.id in out:
            errors.append(f"{path.name}: term list {tl.id}: duplicate id")
        out[tl.id] = tl
    if errors:
        raise SpecError("\n".join(errors))
    return out


def load_categories(path: Path, indicator_ids: set[str]) -> Categories | None:
    """The categories file, checked against the indicators it names (None if absent)."""
    if not path.exists():
        return None
    try:
        cats = Categories.model_validate(_read(path))
    except ValidationError as exc:
        raise SpecError("\n".join(f"{path.name}: {e}" for e in _messages(exc))) from None
    errors = []
    seen: set[str] = set()
    for c in cats.categories:
        if c.id in seen:
            errors.append(f"{path.name}: category {c.id}: duplicate id")
        seen.add(c.id)
        for ind in sorted(set(c.indicators) - indicator_ids):
            errors.append(f"{path.name}: category {c.id}: indicators: unknown indicator {ind}")
    fl = cats.finance_like
    for ind in sorted((set(fl.indicators) | set(fl.strong)) - indicator_ids):
        errors.append(f"{path.name}: finance_like: unknown indicator {ind}")
    if errors:
        raise SpecError("\n".join(errors))
    return cats


def _messages(exc: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()
    ]
