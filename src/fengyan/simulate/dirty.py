"""Deliberately dirty records, so the quarantine has something to show and tests can count.

Each dirty record is an *extra* row — a corrupted or repeated copy of a real one — so the
clean world stays complete. Its file, row and the reason ingest must give are written to
ground_truth/dirty_records.csv; a test ingests the output and checks that exactly these
rows are quarantined. Harmless noise (full-width digits in codes and phones, which ingest
normalises) is applied in place and stored as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fengyan.schema import EntityType, FieldType
from fengyan.simulate.params import DirtyParams

_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass(frozen=True)
class DirtyRow:
    """One deliberately bad row of an output file."""

    index: int  # position among the file's records (0-based)
    kind: str
    field: str
    value: str
    reason: str


def _corrupt_code(value: str, rng: np.random.Generator) -> str:
    """The same code with a different (wrong) check character."""
    alphabet = (
        "0123456789ABCDEFGHJKLMNPQRTUWXY"
        if len(value) == 18 and not value[:17].isdigit()
        else "0123456789X"
    )
    wrong = [c for c in alphabet if c != value[-1]]
    return value[:-1] + wrong[int(rng.integers(0, len(wrong)))]


@dataclass
class Plan:
    """What goes wrong in one file: full-width noise in place, and the extra dirty rows."""

    noise_rows: np.ndarray  # rows (0-based, ascending) with one identifier in full-width digits
    noise_fields: list[str]  # the field of each noisy row
    inserts: list[tuple[int, dict[str, Any]]]  # (insert before this row, the dirty row), in order
    log: list[DirtyRow]


def plan(
    rng: np.random.Generator,
    entity: EntityType,
    n: int,
    params: DirtyParams,
    fields: dict[str, str],
    fetch: Callable[[list[int]], list[dict[str, Any]]],
) -> Plan:
    """Decide the noise and the dirty copies of a file of ``n`` rows.

    ``fields`` maps each written field to how its cells are written (``date_cn`` for
    2024年5月1日 style dates), so corrupted values look like their neighbours; ``fetch``
    returns the written values of the given rows (as dicts keyed by field name), which is
    all the dirty copies need — the file itself is written a chunk at a time.
    """
    rows, names = _noise(rng, entity, n, params.fullwidth_share)
    noisy = dict(zip(rows.tolist(), names, strict=True))
    count = int(rng.binomial(n, params.share)) if n else 0
    if count == 0:
        return Plan(rows, names, [], [])
    options = _options(entity, fields)
    kinds = [k for k in params.kinds if options.get(k)]
    weights = np.array([params.kinds[k] for k in kinds], dtype=float)
    cdf = (weights / weights.sum()).cumsum()
    cdf /= cdf[-1]
    sources = rng.choice(n, size=min(count, n), replace=False).tolist()
    originals = dict(zip(sources, fetch(sources), strict=True))
    for src, row in originals.items():
        if src in noisy:
            apply_noise(row, noisy[src])
    planned: list[tuple[int, dict[str, Any], str, str, str, str]] = []
    for src in sources:
        # rng.choice(len(kinds), p=…) draws exactly this: one uniform, searched in the cdf.
        kind = kinds[int(cdf.searchsorted(rng.random(), side="right"))]
        row = dict(originals[src])
        field = (
            options[kind][int(rng.integers(0, len(options[kind])))]
            if kind != "duplicate"
            else ",".join(entity.key)
        )
        value, reason = _spoil(rng, entity, row, kind, field, fields)
        planned.append((int(rng.integers(0, n + 1)), row, kind, field, value, reason))
    # Dirty rows go before the row at their position; ties keep the order they were drawn.
    positions = sorted(range(len(planned)), key=lambda i: planned[i][0])
    inserts = [(planned[i][0], planned[i][1]) for i in positions]
    log = [DirtyRow(planned[i][0] + rank, *planned[i][2:]) for rank, i in enumerate(positions)]
    return Plan(rows, names, inserts, log)


def apply_noise(row: dict[str, Any], name: str) -> None:
    """Write the identifier ``name`` of ``row`` in full-width digits (if it has one)."""
    value = row.get(name)
    if isinstance(value, str) and value:
        row[name] = value.translate(_FULLWIDTH)


def fullwidth(value: str) -> str:
    """``value`` with full-width digits."""
    return value.translate(_FULLWIDTH)


def _options(entity: EntityType, fields: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"duplicate": ["*"]}
    for name in fields:
        spec = entity.fields.get(name)
        if spec is None or spec.multiple:
            continue
        if spec.type in (FieldType.CREDIT_CODE, FieldType.ID_NUMBER):
            out.setdefault("bad_check_char", []).append(name)
        if spec.type in (FieldType.DATE, FieldType.DATETIME):
            out.setdefault("bad_date", []).append(name)
        if spec.type is FieldType.ENUM:
            out.setdefault("bad_enum", []).append(name)
    return out


def _spoil(
    rng: np.random.Generator,
    entity: EntityType,
    row: dict[str, Any],
    kind: str,
    field: str,
    fields: dict[str, str],
) -> tuple[str, str]:
    if kind == "duplicate":
        return "", "ingest_duplicate_key"
    spec = entity.fields[field]
    if kind == "bad_check_char":
        value = row.get(field) or (
            "91440300MA5G00000X" if spec.type is FieldType.CREDIT_CODE else "440304199001011234"
        )
        row[field] = _corrupt_code(
            str(value).translate(str.maketrans("０１２３４５６７８９", "0123456789")), rng
        )
        return str(row[field]), "ingest_bad_identifier"
    if kind == "bad_date":
        year = int(rng.integers(2015, 2024))
        text = f"{year}年2月30日" if fields.get(field) == "date_cn" else f"{year}-02-30"
        if spec.type is FieldType.DATETIME:
            text += " 10:00"
            row[field] = text
            return text, "ingest_bad_datetime"
        row[field] = text
        return text, "ingest_bad_date"
    row[field] = "状态不明" if field == "status" else "未知"
    return str(row[field]), "ingest_bad_enum"


def _noise(
    rng: np.random.Generator, entity: EntityType, n: int, share: float
) -> tuple[np.ndarray, list[str]]:
    """Rows whose identifier or phone is written in full-width digits (ingest normalises)."""
    targets = [
        name
        for name, s in entity.fields.items()
        if s.type in (FieldType.CREDIT_CODE, FieldType.PHONE) and not s.multiple
    ]
    if not targets or not n or share <= 0:
        return np.zeros(0, dtype=np.int64), []
    hit = np.flatnonzero(rng.random(n) < share)
    return hit, [targets[int(rng.integers(0, len(targets)))] for _ in range(len(hit))]
