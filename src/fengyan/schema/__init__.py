"""The declarative schema: entity, relation and event types loaded from YAML."""

from fengyan.schema.loader import SchemaError, load_schema, load_schema_from
from fengyan.schema.model import EntityKind, EntityType, FieldSpec, FieldType, Label, Schema

__all__ = [
    "EntityKind",
    "EntityType",
    "FieldSpec",
    "FieldType",
    "Label",
    "Schema",
    "SchemaError",
    "load_schema",
    "load_schema_from",
]
