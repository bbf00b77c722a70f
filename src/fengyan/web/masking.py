"""THE one place where personal data is masked for the web, by the viewer's role.

The role's masking level comes from ``web/policy.yaml``; which fields are personal and how
each is masked comes from the schema (a field's ``personal`` class and ``mask`` kind); the
masking rules themselves are :mod:`fengyan.standards.masking` (JR/T 0171-2020).

==========  =====================================================================
level       what a personal field becomes
==========  =====================================================================
``none``    shown as stored (pseudonymised numbers were never stored in clear)
``masked``  a field with a ``mask`` kind is masked by its rule (``张*``,
            ``138****5678``); any other C2 field becomes ``***``; C1 stays
``hidden``  ``None`` — the key stays so templates need no special case
==========  =====================================================================

Pseudonymised fields are stored as ``<field>_hash`` (a keyed hash, used only to match) and
``<field>_masked``: the hash is shown to nobody but the ``none`` level, the masked form is
treated like the field itself. Columns that are not schema fields (system columns,
derived columns) pass unchanged: callers must not put personal data in them.

Masking works on one page of records at a time (a profile, a list page, an export chunk);
the rules are Python per value, which is fine at that size.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import pyarrow as pa

from fengyan.schema import EntityType, load_schema
from fengyan.schema.model import FieldSpec
from fengyan.standards.masking import mask
from fengyan.web.scope import Principal

HIDDEN_TEXT: Final = "***"
LEVELS: Final = ("none", "masked", "hidden")


def _entity(entity_type: str | EntityType) -> EntityType:
    return entity_type if isinstance(entity_type, EntityType) else load_schema().get(entity_type)


def _one(level: str, spec: FieldSpec, value: Any) -> Any:
    if value is None or level == "none" or spec.personal is None:
        return value
    if level == "hidden":
        return None
    if spec.mask is not None:
        kind = str(spec.mask)
        if isinstance(value, list | tuple):
            return [mask(kind, None if v is None else str(v)) for v in value]
        return mask(kind, str(value))
    return HIDDEN_TEXT if spec.personal == "C2" else value


def mask_field(principal: Principal, spec: FieldSpec, value: Any) -> Any:
    """One value of schema field ``spec`` as ``principal`` may see it."""
    return _one(principal.masking, spec, value)


def mask_kind(principal: Principal, kind: str, value: str | None) -> str | None:
    """A personal value outside the schema (e.g. a controller's name in a derived table),
    masked by ``kind`` (a key of :data:`fengyan.standards.masking.MASKERS`) for the role."""
    if value is None or principal.masking == "none":
        return value
    if principal.masking == "hidden":
        return None
    return mask(kind, value)


def _plan(entity: EntityType, columns: Iterable[str]) -> dict[str, tuple[FieldSpec, bool]]:
    """Per column: the field spec governing it and whether it is a pseudonym hash."""
    plan: dict[str, tuple[FieldSpec, bool]] = {}
    for column in columns:
        spec = entity.fields.get(column)
        if spec is not None:
            plan[column] = (spec, False)
            continue
        for suffix, is_hash in (("_hash", True), ("_masked", False)):
            base = entity.fields.get(column.removesuffix(suffix))
            if column.endswith(suffix) and base is not None and base.pseudonymise:
                plan[column] = (base, is_hash)
    return plan


def _value(level: str, spec: FieldSpec, is_hash: bool, value: Any) -> Any:
    if is_hash:
        return value if level == "none" else None
    if spec.pseudonymise and level == "masked":
        return value  # the stored form is already the masked one
    return _one(level, spec, value)


def mask_record(
    principal: Principal, entity_type: str | EntityType, record: Mapping[str, Any]
) -> dict[str, Any]:
    """A copy of one record of ``entity_type`` with its personal fields masked for the role."""
    entity = _entity(entity_type)
    plan = _plan(entity, record.keys())
    level = principal.masking
    return {
        key: _value(level, *plan[key], value) if key in plan else value
        for key, value in record.items()
    }


def mask_records(
    principal: Principal, entity_type: str | EntityType, records: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """:func:`mask_record` over a page of records."""
    entity = _entity(entity_type)
    return [mask_record(principal, entity, r) for r in records]


def mask_table(principal: Principal, entity_type: str | EntityType, table: pa.Table) -> pa.Table:
    """An Arrow table (a page of lake rows) with its personal columns masked for the role.

    Masked columns become strings (or lists of strings); hidden ones all-null.
    """
    entity = _entity(entity_type)
    level = principal.masking
    if level == "none":
        return table
    plan = _plan(entity, table.column_names)
    for column, (spec, is_hash) in plan.items():
        if spec.personal is None:
            continue
        index = table.column_names.index(column)
        values = [_value(level, spec, is_hash, v) for v in table.column(column).to_pylist()]
        original = table.schema.field(index).type
        if level == "hidden" or is_hash:
            array = pa.nulls(table.num_rows, original)
        elif pa.types.is_list(original) or pa.types.is_large_list(original):
            array = pa.array(values, pa.list_(pa.string()))
        else:
            array = pa.array(values, pa.string())
        table = table.set_column(index, column, array)
    return table
