"""Validate one chunk of raw values against an entity type, column by column.

The result is the typed Arrow table of the records that passed and the list of
issues (file row, field, value, reason) for those that did not. Records with an
``error`` issue are left out of the table; ``warning`` issues leave the record in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fengyan.ingest.errors import Issue
from fengyan.ingest.fieldtypes import PARSERS, Check, Context, arrow_type, pseudonymise
from fengyan.ingest.mapping import ColumnPlan
from fengyan.ingest.readers import RawChunk
from fengyan.schema import EntityType, FieldSpec
from fengyan.standards.masking import mask as mask_value

_PREVIEW = 200


@dataclass
class ChunkResult:
    """Valid records of a chunk (with their source ``_row``) and every finding."""

    table: pa.Table
    issues: list[Issue]
    rows_read: int
    rows_rejected: int
    encoding_errors: int


def lake_schema(entity: EntityType) -> pa.Schema:
    """The Arrow schema of ``entity``'s records in the lake (without system columns)."""
    fields: list[pa.Field] = []
    for name, spec in entity.fields.items():
        if spec.pseudonymise:
            fields.append(pa.field(f"{name}_hash", pa.string()))
            fields.append(pa.field(f"{name}_masked", pa.string()))
        else:
            fields.append(pa.field(name, arrow_type(spec)))
    return pa.schema(fields)


def _clean(values: list[object]) -> tuple[pa.Array, np.ndarray]:
    """Trimmed strings with empties as null; also which cells held a list instead."""
    try:
        # Fast path: Arrow refuses a list cell, so success means there is none, and the
        # per-value isinstance scan (a large share of validation time) is skipped.
        strings = pa.array(values, type=pa.string())
        is_list = np.zeros(len(values), dtype=bool)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        is_list = np.fromiter((isinstance(v, list) for v in values), dtype=bool, count=len(values))
        cells = [None if isinstance(v, list) else v for v in values] if is_list.any() else values
        strings = pa.array(cells, type=pa.string())
    arr = pc.utf8_trim_whitespace(strings)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr), is_list


def _split(values: list[object], separator: str) -> pa.ListArray:
    """Multi-valued cells: JSON lists stay lists; text cells are split by ``separator``."""
    if any(isinstance(v, list) for v in values):
        lists = [
            v if isinstance(v, list) else ([v] if v not in (None, "") else None) for v in values
        ]
        return pa.array(lists, type=pa.list_(pa.string()))
    return pc.split_pattern_regex(pa.array(values, type=pa.string()), separator)


def validate_chunk(
    chunk: RawChunk,
    entity: EntityType,
    plan: ColumnPlan,
    today: date,
    pseudonym_key: bytes,
) -> ChunkResult:
    """Type and check every mapped column of ``chunk``; see the module docstring."""
    n = len(chunk.rows)
    rows = np.asarray(chunk.rows, dtype=np.int64)
    issues: list[Issue] = list(chunk.issues)
    error = np.zeros(n, dtype=bool)
    encoding_bad = np.zeros(n, dtype=bool)
    columns: dict[str, pa.Array] = {}
    raw_by_field: dict[str, pa.Array] = {}

    for column, rule in plan.rules.items():
        spec = entity.fields[rule.field]
        ctx = Context(spec, today, rule.scale, plan.values.get(rule.field), pseudonym_key)
        raw = chunk.columns.get(column, [None] * n)
        if spec.multiple:
            lists = _split(raw, plan.separator(column))
            flat, _ = _clean(pc.list_flatten(lists).to_pylist())
            parents = pc.list_parent_indices(lists).to_numpy()
            keep = _np(pc.is_valid(flat))
            values, checks = PARSERS[spec.type](flat.filter(pa.array(keep)), ctx)
            parents = parents[keep]
            offsets = np.concatenate([[0], np.cumsum(np.bincount(parents, minlength=n))])
            typed = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)
            typed = pc.if_else(
                pc.equal(pc.list_value_length(typed), 0), pa.scalar(None, typed.type), typed
            )
            checks = [_lift(c, parents, n) for c in checks]
            source = pa.array([None if v is None else str(v) for v in raw], type=pa.string())
            columns[rule.field] = typed
        else:
            source, listed = _clean(raw)
            values, checks = PARSERS[spec.type](source, ctx)
            checks.append(Check(listed, "ingest_not_single_value"))
            columns[rule.field] = values
        bad_bytes = _np(pc.match_substring(source, "\ufffd"))
        encoding_bad |= bad_bytes
        checks.append(Check(bad_bytes, "ingest_bad_encoding_bytes"))
        raw_by_field[rule.field] = source
        for check in checks:
            if not check.mask.any():
                continue
            if check.severity == "error":
                error |= check.mask
            issues.extend(_issues(check, rows, source, rule.field, spec))

    for name in entity.required_fields:
        present = columns.get(name)
        missing = np.ones(n, dtype=bool) if present is None else _np(pc.is_null(present))
        src = raw_by_field.get(name)
        blank = missing if src is None else missing & _np(pc.is_null(src))
        if blank.any():
            error |= blank
            issues.extend(_issues(Check(blank, "required_missing"), rows, src, name))

    keep = pa.array(~error)
    out: dict[str, pa.Array] = {}
    for name, spec in entity.fields.items():
        arr = columns.get(name)
        if arr is None:
            arr = pa.nulls(n, type=arrow_type(spec))
        arr = arr.filter(keep)
        if spec.pseudonymise:
            out[f"{name}_hash"], out[f"{name}_masked"] = pseudonymise(arr, spec, pseudonym_key)
        else:
            out[name] = arr.cast(arrow_type(spec))
    out["_row"] = pa.array(rows[~error], type=pa.int64())
    table = pa.table(out)
    issues.sort(key=lambda i: (i.row if i.row is not None else -1, i.field or ""))
    return ChunkResult(
        table,
        issues,
        n + chunk.bad_rows,
        int(error.sum()) + chunk.bad_rows,
        int(encoding_bad.sum()),
    )


def _np(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _lift(check: Check, parents: np.ndarray, n: int) -> Check:
    """A check on list elements becomes a check on the records holding them."""
    mask = np.zeros(n, dtype=bool)
    mask[parents[check.mask]] = True
    return Check(mask, check.reason, check.severity, check.params, None)


def _issues(
    check: Check,
    rows: np.ndarray,
    source: pa.Array | None,
    field: str,
    spec: FieldSpec | None = None,
) -> list[Issue]:
    idx = np.flatnonzero(check.mask)
    # A pseudonymised field's raw value never reaches storage, the quarantine included.
    hide = spec is not None and spec.pseudonymise and spec.mask is not None
    raw = source.take(pa.array(idx)).to_pylist() if source is not None else [None] * len(idx)
    out = []
    for i, value in zip(idx, raw, strict=True):
        params = dict(check.params)
        if check.explain is not None and value is not None:
            params.update(check.explain(value))
        if hide and value is not None and spec is not None and spec.mask is not None:
            value = mask_value(spec.mask, value)
        shown = value if value is None or len(value) <= _PREVIEW else value[:_PREVIEW] + "…"
        out.append(Issue(int(rows[i]), field, shown, check.reason, check.severity, params))
    return out
