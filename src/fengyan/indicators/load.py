"""Load and check the indicator specs, term lists and categories together.

Every problem is reported with the file, the indicator id and the field, all at once, so an
analyst fixing a spec file sees the whole list. Checks: the shape (unknown fields, bad
normalisation parameters), duplicate ids, unknown sources and columns, SQL that does not
parse or uses a function outside the portable whitelist, unknown term lists, derived
indicators that name unknown indicators or form a cycle, and categories naming unknown
indicators.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlglot import exp

from fengyan.indicators import expr
from fengyan.indicators.lists import Categories, TermList, file_hash, load_categories, load_terms
from fengyan.indicators.sources import SourceCatalog, load_sources
from fengyan.indicators.spec import INDICATORS_SOURCE, IndicatorSpec, SpecError
from fengyan.yamlstrict import StrictLoader

PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Exprs:
    """The checked SQL of one indicator."""

    value: expr.Checked
    where: expr.Checked | None
    order: tuple[exp.Ordered, ...]
    order_columns: frozenset[str]


@dataclass
class SpecSet:
    """Checked specs in file order (derived ones sorted after what they read)."""

    indicators: tuple[IndicatorSpec, ...]
    files: dict[str, str]
    exprs: dict[str, Exprs]
    terms: dict[str, TermList]
    categories: Categories | None
    sources: SourceCatalog
    spec_hash: str
    versions: dict[str, str] = field(default_factory=dict)

    def get(self, indicator_id: str) -> IndicatorSpec:
        """The indicator with this id."""
        for spec in self.indicators:
            if spec.id == indicator_id:
                return spec
        raise KeyError(indicator_id)

    @property
    def ids(self) -> list[str]:
        """Indicator ids in output order."""
        return [s.id for s in self.indicators]


def _pydantic_errors(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
        out.append((loc or "(spec)", err["msg"]))
    return out


def _read_specs(files: list[Path], errors: list[str]) -> list[tuple[str, IndicatorSpec]]:
    out: list[tuple[str, IndicatorSpec]] = []
    seen: dict[str, str] = {}
    for path in files:
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=StrictLoader)
        except yaml.YAMLError as exc:
            errors.append(f"{path.name}: not valid YAML: {exc}")
            continue
        if data is None:
            continue
        if not isinstance(data, list):
            errors.append(f"{path.name}: expected a list of indicators")
            continue
        for i, item in enumerate(data):
            ident = item.get("id") if isinstance(item, dict) else None
            label = ident or f"item #{i + 1}"
            try:
                spec = IndicatorSpec.model_validate(item)
            except ValidationError as exc:
                errors += [
                    f"{path.name}: {label}: {loc}: {msg}" for loc, msg in _pydantic_errors(exc)
                ]
                continue
            if spec.id in seen:
                errors.append(
                    f"{path.name}: {spec.id}: id: duplicate id (first defined in {seen[spec.id]})"
                )
                continue
            seen[spec.id] = path.name
            out.append((path.name, spec))
    return out


def _check_one(
    spec: IndicatorSpec, sources: SourceCatalog, terms: dict[str, TermList]
) -> tuple[Exprs | None, list[tuple[str, str]]]:
    problems: list[tuple[str, str]] = []
    derived = spec.source == INDICATORS_SOURCE
    if not derived and spec.source not in sources:
        known = ", ".join(sorted([*sources.sources, INDICATORS_SOURCE]))
        return None, [("source", f"unknown source {spec.source!r} (known: {known})")]
    src = None if derived else sources.get(spec.source)
    columns = None if derived else sources.columns(spec.source)
    if derived:
        for attr in ("where", "window_days", "evidence"):
            if getattr(spec, attr) is not None:
                problems.append((attr, "not allowed in a derived indicator (source: indicators)"))
    elif spec.window_days is not None and (src is None or src.grain != "event"):
        problems.append(("window_days", f"source {spec.source!r} has no event dates"))

    def run(field_name: str, text: str | None, **kw: Any) -> expr.Checked | None:
        if text is None:
            return None
        try:
            checked = expr.check(expr.parse(text), columns, **kw)
        except expr.ExprError as exc:
            problems.append((field_name, str(exc)))
            return None
        for lst in sorted(checked.term_lists - set(terms)):
            problems.append((field_name, f"unknown term list {lst!r}"))
        return checked

    where = run("where", spec.where, allow_aggregate=False)
    value = run("value", spec.value, allow_aggregate=not derived, allow_indicators=derived)
    if value is not None and src is not None and src.grain != "firm" and not value.aggregate:
        problems.append(
            ("value", f"source {spec.source!r} has many rows per firm: value must aggregate")
        )
    order: list[exp.Ordered] = []
    order_cols: set[str] = set()
    if spec.evidence is not None and spec.evidence.order is not None:
        try:
            order = expr.parse_order(spec.evidence.order)
            for o in order:
                checked = expr.check(o.this, columns, allow_aggregate=False)
                order_cols |= checked.columns
        except expr.ExprError as exc:
            problems.append(("evidence.order", str(exc)))
    if problems or value is None:
        return None, problems
    return Exprs(value, where, tuple(order), frozenset(order_cols)), []


def check_specs(
    named: list[tuple[str, IndicatorSpec]],
    sources: SourceCatalog,
    terms: dict[str, TermList],
    errors: list[str],
) -> tuple[list[IndicatorSpec], dict[str, str], dict[str, Exprs]]:
    """Check every spec's SQL; returns specs (derived ones in dependency order)."""
    files = {spec.id: name for name, spec in named}
    exprs: dict[str, Exprs] = {}
    for name, spec in named:
        checked, problems = _check_one(spec, sources, terms)
        errors += [f"{name}: {spec.id}: {fld}: {msg}" for fld, msg in problems]
        if checked is not None:
            exprs[spec.id] = checked
    by_id = {spec.id: spec for _, spec in named}
    graph: dict[str, list[str]] = {}
    for spec in by_id.values():
        if spec.derived and spec.id in exprs:
            refs = set(exprs[spec.id].value.indicators)
            for ref in sorted(refs - set(by_id)):
                errors.append(f"{files[spec.id]}: {spec.id}: value: unknown indicator {ref!r}")
            # Sorted: a set's order depends on the hash seed, and the derived indicators'
            # order is the output column order.
            graph[spec.id] = sorted(refs & set(by_id))
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        cycle = " → ".join(exc.args[1]) if len(exc.args) > 1 else "?"
        errors.append(f"derived indicators form a cycle: {cycle}")
        order = list(graph)
    base = [spec for spec in by_id.values() if not spec.derived]
    derived = [by_id[i] for i in order if i in by_id and by_id[i].derived]
    return base + derived, files, exprs


def spec_files(root: Path) -> list[Path]:
    """The spec files under ``root/specs`` in name order."""
    return sorted((root / "specs").glob("*.yaml"))


def load_specs(root: Path | None = None, *, sources: SourceCatalog | None = None) -> SpecSet:
    """Load ``root/specs/*.yaml``, ``root/terms.yaml`` and ``root/categories.yaml``.

    ``root`` defaults to the package's own folder (``fengyan/indicators``). Raises
    :class:`SpecError` listing every problem found.
    """
    root = root or PACKAGE_DIR
    sources = sources or load_sources()
    errors: list[str] = []
    files = spec_files(root)
    try:
        terms = load_terms(root / "terms.yaml")
    except SpecError as exc:
        errors.append(str(exc))
        terms = {}
    named = _read_specs(files, errors)
    specs, by_file, exprs = check_specs(named, sources, terms, errors)
    categories = None
    try:
        categories = load_categories(root / "categories.yaml", {s.id for s in specs})
    except SpecError as exc:
        errors.append(str(exc))
    if errors:
        raise SpecError("\n".join(errors))
    h = hashlib.sha256()
    for path in files:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    versions = {
        "terms": file_hash(root / "terms.yaml"),
        "categories": file_hash(root / "categories.yaml"),
        "sources": file_hash(PACKAGE_DIR / "sources.yaml"),
    }
    return SpecSet(
        tuple(specs), by_file, exprs, terms, categories, sources, h.hexdigest()[:16], versions
    )
