"""Load the schema YAML files shipped under ``fengyan/schema/types/``."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from fengyan.schema.model import EntityType, FieldType, Schema
from fengyan.yamlstrict import load_yaml


class SchemaError(ValueError):
    """A schema file is malformed or refers to something that does not exist."""


def _describe(exc: ValidationError) -> str:
    """One line per problem, `location: message`, without pydantic's URLs."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
    return "; ".join(parts)


def _load_file(name: str, text: str) -> list[EntityType]:
    # A safe loader: no arbitrary Python objects are constructed.
    try:
        data = load_yaml(text, name) or {}  # YAML error marks name the file
    except yaml.YAMLError as exc:
        raise SchemaError(f"{name}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SchemaError(f"{name}: expected a mapping of type name → definition")
    out = []
    for type_name, body in data.items():
        if not isinstance(body, dict):
            raise SchemaError(f"{name}: {type_name} must be a mapping")
        try:
            out.append(EntityType.model_validate({"name": type_name, **body}))
        except ValidationError as exc:
            raise SchemaError(f"{name}: {type_name}: {_describe(exc)}") from exc
    return out


def load_schema_from(paths: list[Path] | None = None) -> Schema:
    """Build a :class:`Schema` from YAML files (the packaged ones by default)."""
    texts: list[tuple[str, str]] = []
    if paths is None:
        folder = resources.files("fengyan.schema").joinpath("types")
        for entry in sorted(folder.iterdir(), key=lambda p: p.name):
            if entry.name.endswith(".yaml"):
                texts.append((entry.name, entry.read_text(encoding="utf-8")))
    else:
        texts = [(p.name, p.read_text(encoding="utf-8")) for p in paths]
    types: dict[str, EntityType] = {}
    files: dict[str, str] = {}
    tables: dict[str, str] = {}
    for name, text in texts:
        for et in _load_file(name, text):
            if et.name in types:
                raise SchemaError(
                    f"{name}: type {et.name} is defined twice (also in {files[et.name]})"
                )
            if et.table in tables:
                raise SchemaError(f"{name}: table {et.table} used by {tables[et.table]} too")
            types[et.name] = et
            files[et.name] = name
            tables[et.table] = et.name
    _check_refs(types, files)
    return Schema(types=types)


def _check_refs(types: dict[str, EntityType], files: dict[str, str]) -> None:
    for et in types.values():
        for f in et.fields.values():
            if f.type is FieldType.REF:
                for target in f.range or ():
                    if target not in types:
                        raise SchemaError(
                            f"{files[et.name]}: {et.name}: field {f.name} refers to "
                            f"unknown type {target!r}"
                        )


@cache
def load_schema() -> Schema:
    """The packaged schema, loaded once per process."""
    return load_schema_from(None)
