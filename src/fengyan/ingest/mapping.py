"""Column mappings: how a source's columns become schema fields.

A mapping is a YAML file, so a new agency export needs no Python::

    type: Enterprise
    columns:
      统一社会信用代码: credit_code
      企业名称: name
      注册资本（万元）: {field: registered_capital, scale: 10000}
      曾用名: {field: former_names, separator: "；"}
    values:                # optional: source vocabularies → schema values
      status: {在营: 存续, 开业: 存续}
    ignore: [序号]           # optional: columns known to carry nothing we keep

Without a mapping, a column maps to the field of the same name, or to the field whose
Chinese or English label it equals.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fengyan.ingest.errors import IngestError
from fengyan.schema import EntityType
from fengyan.yamlstrict import load_yaml

DEFAULT_SEPARATOR = r"[;；|]"


class ColumnRule(BaseModel):
    """How one source column fills one field."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    field: str
    scale: float | None = None  # multiply numbers (e.g. 10000 for 万元)
    separator: str | None = None  # regex splitting multi-valued text cells


class MappingSpec(BaseModel):
    """The content of a mapping file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str | None = None
    columns: dict[str, str | ColumnRule] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> tuple[MappingSpec, str]:
        """Parse a mapping file; returns it and the sha256 of its bytes."""
        raw = path.read_bytes()
        try:
            data = load_yaml(raw.decode("utf-8")) or {}
            return cls.model_validate(data), hashlib.sha256(raw).hexdigest()
        except (yaml.YAMLError, ValidationError, UnicodeDecodeError) as exc:
            raise IngestError("ingest_bad_mapping", str(path), detail=str(exc)[:500]) from exc


@dataclass(frozen=True)
class ColumnPlan:
    """The resolved plan for one file: source column → rule, and what was left out."""

    rules: dict[str, ColumnRule]
    ignored: list[str]
    values: dict[str, dict[str, str]]

    def separator(self, column: str) -> str:
        """The regex that splits a multi-valued cell of ``column``."""
        return self.rules[column].separator or DEFAULT_SEPARATOR


def _norm(label: str) -> str:
    return re.sub(r"[\s（）()：:_\-]", "", label).lower()


def plan_columns(
    header: list[str],
    entity: EntityType,
    spec: MappingSpec | None,
    file: str,
    strict_required: bool = True,
) -> ColumnPlan:
    """Match a file's header to ``entity``'s fields, or fail naming what is wrong."""
    spec = spec or MappingSpec()
    by_label: dict[str, str] = {}
    for name, f in entity.fields.items():
        for label in (name, f.label.zh, f.label.en):
            by_label.setdefault(_norm(label), name)
    rules: dict[str, ColumnRule] = {}
    ignored: list[str] = []
    for column in header:
        explicit = spec.columns.get(column)
        if isinstance(explicit, str):
            rule: ColumnRule | None = ColumnRule(field=explicit)
        elif explicit is not None:
            rule = explicit
        elif column in spec.ignore:
            rule = None
        else:
            target = by_label.get(_norm(column))
            rule = ColumnRule(field=target) if target else None
        if rule is None:
            if column not in spec.ignore:
                ignored.append(column)
            continue
        if rule.field not in entity.fields:
            raise IngestError(
                "ingest_mapping_unknown_field",
                file,
                column=column,
                field=rule.field,
                type=entity.name,
            )
        rules[column] = rule
    if not rules:
        raise IngestError(
            "ingest_header_maps_nothing", file, type=entity.name, header=", ".join(header[:20])
        )
    targets = [r.field for r in rules.values()]
    doubled = sorted({f for f in targets if targets.count(f) > 1})
    if doubled:
        raise IngestError("ingest_mapping_field_twice", file, fields=", ".join(doubled))
    missing = [f for f in entity.required_fields if f not in targets]
    if missing and strict_required:
        raise IngestError(
            "ingest_required_columns_missing", file, type=entity.name, fields=", ".join(missing)
        )
    return ColumnPlan(rules=rules, ignored=ignored, values=spec.values)
