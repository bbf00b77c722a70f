"""``index`` stage: score every firm under each model, explain, compare, publish.

Reads the ``indicators`` stage (``indicator_score`` wide, ``indicator_value`` sparse with
evidence, ``firm_category``) and the resolved firm universe; writes the ``index`` stage
(``index_score``: firm_id, model, score, raw_score, grade, coverage, dimensions
LIST<STRUCT<dimension, score>>, rules LIST<VARCHAR>, top LIST<STRUCT<indicator_id,
contribution, value, evidence LIST<VARCHAR>>>; ``index_run``) and publishes graded firms,
grade changes and regional counts to the operational database.

The top contributors (with evidence) are computed for graded firms only: explaining a
firm nobody is asked to look at would cost most of the time at 3 million firms.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fengyan.clock import now
from fengyan.index.catalogue import IndicatorMeta, load_indicator_meta
from fengyan.index.model import GRADES, BoundModel, IndexModel, bind, shipped_model
from fengyan.index.publish import PublishedRun, do_publish_run, previous_grades
from fengyan.index.scoring import (
    BLOCK_ROWS,
    contributions,
    products,
    score_block,
    to_matrix,
    to_prepared,
    top_k,
)
from fengyan.index.warnings import CHANGES, compare, current_grades
from fengyan.workspace import Workspace

STAGE = "index"
DEFAULT_MODELS = ("dolphin-v1", "eagle-v1", "four-v1")
# Region levels of the map: GB/T 2260 district (6 digits) and street/town (9 digits).
REGION_LEVELS = (("district", 6), ("street", 9))


TOP_ITEM = pa.struct(
    [
        ("indicator_id", pa.string()),
        ("contribution", pa.float64()),
        ("value", pa.float64()),
        ("evidence", pa.list_(pa.string())),
    ]
)


class IndexInputError(LookupError):
    """The stages the index reads have not run (names the missing table)."""


@dataclass
class Scored:
    """Scores of all firms under each model, and the top contributors of graded firms."""

    scores: pa.Table
    top: pa.Table


@dataclass
class IndexReport:
    """What an index run did."""

    models: tuple[str, ...]
    firms: int
    grades: dict[str, dict[str, int]]
    changes: dict[str, dict[str, int]]
    seconds: dict[str, float] = field(default_factory=dict)
    run: Path | None = None
    published: PublishedRun | None = None


def _strings(codes: np.ndarray[Any, Any], names: Sequence[str]) -> pa.Array:
    return pc.cast(
        pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(names)), pa.string()
    )


def _list_of(
    values: pa.Array, n: int, width: int, mask: np.ndarray[Any, Any] | None = None
) -> pa.Array:
    """Rows of ``width`` consecutive values as a list column (``mask`` keeps some values)."""
    if mask is None:
        offsets = np.arange(0, n * width + 1, width, dtype=np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), values)
    offsets = np.concatenate([[0], np.cumsum(mask.reshape(n, width).sum(axis=1))]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), values.filter(pa.array(mask.ravel())))


def score_table(
    table: pa.Table,
    bound: Sequence[BoundModel],
    explain_from: int = 1,
    block_rows: int = BLOCK_ROWS,
) -> Scored:
    """Score ``table`` (``firm_id`` + indicator columns) under every bound model.

    Firms graded at least ``explain_from`` (rank in GRADES; 1 = blue) get their top
    contributors; ``explain_from`` above 4 explains nobody.
    """
    if not bound:
        raise ValueError("no model to score with")
    columns = list(bound[0].indicators)
    n = table.num_rows
    firm_ids = table["firm_id"]
    parts: dict[str, dict[str, Any]] = {
        b.id: {
            "score": np.empty(n, np.float32),
            "raw": np.empty(n, np.float32),
            "grade": np.empty(n, np.int8),
            "coverage": np.empty(n, np.float32),
            "dims": np.empty((n, len(b.dimensions)), np.float32),
            "rules": np.empty(n, np.uint32),
            "top": [],
        }
        for b in bound
    }
    for start in range(0, max(n, 1), block_rows):
        prepared = to_prepared(table.slice(start, block_rows), columns)
        x = prepared[0]
        stop = start + len(x)
        prods = products(bound, prepared)
        for b, prod in zip(bound, prods, strict=True):
            if list(b.indicators) != columns:
                raise ValueError(f"model {b.id} is bound to other indicator columns")
            s, _ = score_block(b, x, prepared, prod)
            p = parts[b.id]
            p["score"][start:stop] = s.score
            p["raw"][start:stop] = s.raw
            p["grade"][start:stop] = s.grade
            p["coverage"][start:stop] = s.coverage
            p["dims"][start:stop] = s.dims
            p["rules"][start:stop] = s.rules
            rows = np.flatnonzero(s.grade >= explain_from)
            if len(rows):
                c = contributions(b, None, s.dims[rows], (prepared[0][rows], prepared[1][rows]))
                idx, val = top_k(c, b.model.top_k)
                p["top"].append((rows + start, idx, val))
    tables, tops = [], []
    for b in bound:
        p = parts[b.id]
        names = b.dimension_names
        nd = len(names)
        dim_struct = pa.StructArray.from_arrays(
            [
                _strings(np.tile(np.arange(nd), n), names),
                pa.array(p["dims"].ravel(), pa.float32()),
            ],
            ["dimension", "score"],
        )
        rule_ids = [r.id for r in (*b.caps, *b.floors)]
        nr = len(rule_ids)
        bits = (p["rules"][:, None] >> np.arange(nr, dtype=np.uint32)) & 1 if nr else None
        rules = (
            _list_of(_strings(np.tile(np.arange(nr), n), rule_ids), n, nr, bits.astype(bool))
            if bits is not None
            else pa.array([[]] * n, pa.list_(pa.string()))
        )
        tables.append(
            pa.table(
                {
                    "firm_id": firm_ids,
                    "model": pa.array(np.full(n, b.id)),
                    "score": pa.array(p["score"]),
                    "raw_score": pa.array(p["raw"]),
                    "grade": _strings(p["grade"].astype(np.int32), GRADES),
                    "coverage": pa.array(p["coverage"]),
                    "dimensions": _list_of(dim_struct, n, nd),
                    "rules": rules,
                }
            )
        )
        if p["top"]:
            rows = np.concatenate([r for r, _, _ in p["top"]])
            idx = np.concatenate([i for _, i, _ in p["top"]])
            val = np.concatenate([v for _, _, v in p["top"]])
            k = idx.shape[1]
            keep = val.ravel() > 0
            firm_pos = np.repeat(rows, k)[keep]
            tops.append(
                pa.table(
                    {
                        # Row of this firm and model in ``scores`` (models are stacked).
                        "pos": pa.array(firm_pos + len(tables) * n - n, pa.int64()),
                        "firm_id": firm_ids.take(pa.array(firm_pos)),
                        "model": pa.array(np.full(len(firm_pos), b.id)),
                        "rank": pa.array(
                            np.tile(np.arange(1, k + 1, dtype=np.int16), len(rows))[keep]
                        ),
                        "indicator_id": _strings(idx.ravel()[keep].astype(np.int32), columns),
                        "contribution": pa.array(np.round(val.ravel()[keep].astype(np.float64), 2)),
                    }
                )
            )
    top_schema = pa.schema(
        [
            ("pos", pa.int64()),
            ("firm_id", firm_ids.type),
            ("model", pa.string()),
            ("rank", pa.int16()),
            ("indicator_id", pa.string()),
            ("contribution", pa.float64()),
        ]
    )
    top = pa.concat_tables(tops) if tops else top_schema.empty_table()
    return Scored(pa.concat_tables(tables), top)


def assemble(scored: Scored, indicator_value: pa.Table | Path | None) -> pa.Table:
    """``index_score``: the scores with each graded firm's top list and its evidence.

    Only the top rows (graded firms × k) go through the evidence join; the list column is
    then laid over the scores by row position, so the millions of ungraded rows are never
    joined or sorted.
    """
    con = duckdb.connect()
    try:
        con.register("t", scored.top)
        if isinstance(indicator_value, Path):
            path = str(indicator_value).replace("'", "''")
            con.execute(f"CREATE VIEW v AS SELECT * FROM read_parquet('{path}')")  # noqa: S608
        elif indicator_value is not None:
            con.register("v", indicator_value)
        else:
            con.execute(
                "CREATE VIEW v AS SELECT NULL::VARCHAR firm_id, NULL::VARCHAR indicator_id, "
                "NULL::DOUBLE value, NULL::VARCHAR[] evidence WHERE false"
            )
        flat = con.sql(
            """
            SELECT t.pos, struct_pack(indicator_id := t.indicator_id,
                                      contribution := t.contribution,
                                      value := v.value::DOUBLE,
                                      evidence := coalesce(v.evidence, []::VARCHAR[])) AS item
            FROM t LEFT JOIN v ON v.firm_id = t.firm_id AND v.indicator_id = t.indicator_id
            ORDER BY t.pos, t.rank
            """
        ).to_arrow_table()
    finally:
        con.close()
    rows = scored.scores.num_rows
    counts = np.bincount(flat["pos"].to_numpy(), minlength=rows)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    items = flat["item"].combine_chunks() if flat.num_rows else pa.array([], TOP_ITEM)
    return scored.scores.append_column(
        "top", pa.ListArray.from_arrays(pa.array(offsets), items.cast(TOP_ITEM))
    )


def rescore_firm(
    bound: Sequence[BoundModel], row: pa.Table, values: pa.Table | None = None
) -> list[dict[str, Any]]:
    """Score and explain one firm's indicator row under every model, without DuckDB.

    The incremental path: after the engine recomputes one firm's indicators, this gives
    its scores, grades, dimensions, fired rules and top contributors with evidence in a
    millisecond or two. ``values`` holds that firm's ``indicator_value`` rows.
    """
    if row.num_rows != 1:
        raise ValueError(f"rescore_firm needs exactly one row, got {row.num_rows}")
    evidence: dict[str, tuple[float | None, list[str]]] = {}
    if values is not None and values.num_rows:
        for ind, value, ev in zip(
            values["indicator_id"].to_pylist(), values["value"].to_pylist(),
            values["evidence"].to_pylist(), strict=True,
        ):  # fmt: skip
            evidence[ind] = (value, ev or [])
    out = []
    x = to_matrix(row, list(bound[0].indicators))
    for b in bound:
        s, _ = score_block(b, x)
        c = contributions(b, x, s.dims)
        idx, val = top_k(c, b.model.top_k)
        rule_ids = [r.id for r in (*b.caps, *b.floors)]
        top = [
            {
                "indicator_id": b.indicators[i],
                "contribution": round(float(v), 2),
                "value": evidence.get(b.indicators[i], (None, []))[0],
                "evidence": evidence.get(b.indicators[i], (None, []))[1],
            }
            for i, v in zip(idx[0], val[0], strict=True)
            if v > 0
        ]
        out.append(
            {
                "model": b.id,
                "score": round(float(s.score[0]), 2),
                "raw_score": round(float(s.raw[0]), 2),
                "grade": GRADES[int(s.grade[0])],
                "coverage": round(float(s.coverage[0]), 4),
                "dimensions": dict(
                    zip(b.dimension_names, s.dims[0].round(4).tolist(), strict=True)
                ),
                "rules": [r for k, r in enumerate(rule_ids) if int(s.rules[0]) >> k & 1],
                "top": top,
            }
        )
    return out


def _derived(ws: Workspace, name: str, required: bool = True) -> Path | None:
    path = ws.lake.derived_files().get(name)
    if path is None and required:
        raise IndexInputError(f"derived table {name} is missing: run the indicators stage first")
    return path


def _published_rows(
    index_score: pa.Table, changes: pa.Table, universe: pa.Table | None, category: pa.Table | None
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(firm_score rows, changes with region, region_summary rows)."""
    con = duckdb.connect()
    try:
        con.register("s", index_score)
        con.register("c", changes)
        if universe is not None:
            con.register("u", universe)
        else:
            con.execute(
                "CREATE VIEW u AS SELECT NULL::VARCHAR canonical_id, NULL::VARCHAR name, "
                "NULL::VARCHAR credit_code, NULL::VARCHAR region_code WHERE false"
            )
        if category is not None:
            con.register("k", category)
        else:
            con.execute(
                "CREATE VIEW k AS SELECT NULL::VARCHAR firm_id, NULL::BOOLEAN finance_like, "
                "NULL::VARCHAR category WHERE false"
            )
        con.execute(
            """CREATE TEMP TABLE info AS
               SELECT canonical_id AS firm_id, any_value(name) AS name,
                      any_value(credit_code) AS credit_code,
                      any_value(region_code) AS region_code
               FROM u GROUP BY canonical_id"""
        )
        firm_scores = con.sql(
            """
            SELECT s.model, s.firm_id, round(s.score, 2)::DOUBLE AS score,
                   round(s.raw_score, 2)::DOUBLE AS raw_score, s.grade,
                   coalesce(c.previous_grade, 'none') AS previous_grade,
                   coalesce(c.change, 'new') AS change,
                   round(s.coverage, 4)::DOUBLE AS coverage,
                   to_json(map_from_entries(list_transform(s.dimensions, lambda x:
                       struct_pack(k := x.dimension, v := round(x.score::DOUBLE, 4)))))::VARCHAR
                       AS dimensions,
                   to_json(coalesce(list_transform(s.top, lambda x: struct_pack(
                       indicator_id := x.indicator_id,
                       contribution := round(x.contribution::DOUBLE, 2),
                       value := x.value, evidence := x.evidence)), []))::VARCHAR AS top,
                   to_json(s.rules)::VARCHAR AS rules,
                   i.name, i.credit_code, i.region_code, k.category, k.finance_like
            FROM s LEFT JOIN c ON c.model = s.model AND c.firm_id = s.firm_id
            LEFT JOIN info i ON i.firm_id = s.firm_id
            LEFT JOIN k ON k.firm_id = s.firm_id
            WHERE s.grade <> 'none'
            ORDER BY s.model, s.firm_id
            """
        ).to_arrow_table()
        with_region = con.sql(
            """SELECT c.*, i.region_code FROM c LEFT JOIN info i ON i.firm_id = c.firm_id
               ORDER BY c.model, c.firm_id"""
        ).to_arrow_table()
        levels = " UNION ALL ".join(
            f"SELECT '{name}' AS level, {width} AS width" for name, width in REGION_LEVELS
        )
        regions = con.sql(
            f"""
            WITH l AS ({levels}),
            firm AS (
                SELECT s.model, s.firm_id, s.grade, coalesce(c.change, 'unchanged') AS change,
                       i.region_code
                FROM s LEFT JOIN c ON c.model = s.model AND c.firm_id = s.firm_id
                LEFT JOIN info i ON i.firm_id = s.firm_id
                WHERE i.region_code IS NOT NULL
            )
            SELECT f.model, left(f.region_code, l.width) AS region_code, l.level,
                   count(*) AS firms,
                   count(*) FILTER (WHERE grade = 'red') AS red,
                   count(*) FILTER (WHERE grade = 'orange') AS orange,
                   count(*) FILTER (WHERE grade = 'yellow') AS yellow,
                   count(*) FILTER (WHERE grade = 'blue') AS blue,
                   count(*) FILTER (WHERE change = 'new') AS new,
                   count(*) FILTER (WHERE change = 'escalated') AS escalated
            FROM firm f JOIN l ON length(f.region_code) >= l.width
            GROUP BY ALL ORDER BY f.model, l.level, region_code
            """  # noqa: S608 - levels are constants
        ).to_arrow_table()
        return firm_scores, with_region, regions
    finally:
        con.close()


def bound_models(
    columns: Sequence[str],
    models: Sequence[str | IndexModel] | None = None,
    metas: Sequence[IndicatorMeta] | None = None,
) -> list[BoundModel]:
    """The models (ids or loaded models; default the shipped three) bound to ``columns``."""
    metas = list(metas) if metas is not None else load_indicator_meta()
    chosen = [shipped_model(m) if isinstance(m, str) else m for m in (models or DEFAULT_MODELS)]
    return [bind(m, metas, columns) for m in chosen]


def grade_counts(scores: pa.Table) -> dict[str, dict[str, int]]:
    """Firms per grade per model."""
    out: dict[str, dict[str, int]] = {}
    counted = scores.group_by(["model", "grade"]).aggregate([("firm_id", "count")])
    for model, grade, count in zip(
        counted["model"].to_pylist(), counted["grade"].to_pylist(),
        counted["firm_id_count"].to_pylist(), strict=True,
    ):  # fmt: skip
        out.setdefault(model, dict.fromkeys(GRADES, 0))[grade] = count
    return out


def change_counts(changes: pa.Table) -> dict[str, dict[str, int]]:
    """Firms per change type per model."""
    out: dict[str, dict[str, int]] = {}
    counted = changes.group_by(["model", "change"]).aggregate([("firm_id", "count")])
    for model, change, count in zip(
        counted["model"].to_pylist(), counted["change"].to_pylist(),
        counted["firm_id_count"].to_pylist(), strict=True,
    ):  # fmt: skip
        out.setdefault(model, dict.fromkeys(CHANGES, 0))[change] = count
    return out


def run_index(
    ws: Workspace,
    as_of: datetime | None = None,
    models: Sequence[str | IndexModel] | None = None,
    metas: Sequence[IndicatorMeta] | None = None,
    publish: bool = True,
    on_step: Callable[[str], None] | None = None,
) -> IndexReport:
    """Score the current ``indicators`` stage, write the ``index`` stage, publish warnings."""
    step = on_step or (lambda _name: None)
    timings: dict[str, float] = {}
    started = now()
    mark = time.perf_counter()
    score_path = _derived(ws, "indicator_score")
    assert score_path is not None
    table = pq.read_table(score_path)
    columns = [c for c in table.column_names if c != "firm_id"]
    bound = bound_models(columns, models, metas)
    timings["load"] = time.perf_counter() - mark

    step("score")
    mark = time.perf_counter()
    scored = score_table(table, bound)
    del table
    timings["score"] = time.perf_counter() - mark

    step("explain")
    mark = time.perf_counter()
    index_score = assemble(scored, _derived(ws, "indicator_value", required=False))
    model_ids = tuple(b.id for b in bound)
    run_row = pa.table(
        {
            "as_of": pa.array([as_of or started], pa.timestamp("us", tz="UTC")),
            "models": pa.array([list(model_ids)], pa.list_(pa.string())),
            "started_at": pa.array([started], pa.timestamp("us", tz="UTC")),
            "firms": pa.array([scored.scores.num_rows // max(len(bound), 1)], pa.int64()),
        }
    )
    run = ws.lake.write_derived(STAGE, {"index_score": index_score, "index_run": run_row})
    timings["explain_write"] = time.perf_counter() - mark

    step("warnings")
    mark = time.perf_counter()
    previous = previous_grades(ws.engine, model_ids)
    changes = compare(previous, current_grades(index_score))
    timings["warnings"] = time.perf_counter() - mark

    firms = scored.scores.num_rows // len(bound)
    report = IndexReport(
        model_ids, firms, grade_counts(scored.scores), change_counts(changes), timings, run
    )
    if publish:
        step("publish")
        mark = time.perf_counter()
        universe_path = _derived(ws, "resolved_entity", required=False)
        universe = (
            pq.read_table(universe_path).filter(
                pc.equal(pq.read_table(universe_path, columns=["entity_kind"])["entity_kind"],
                         "enterprise")
            )
            if universe_path is not None
            else None
        )  # fmt: skip
        category_path = _derived(ws, "firm_category", required=False)
        category = pq.read_table(category_path) if category_path is not None else None
        firm_scores, with_region, regions = _published_rows(
            index_score, changes, universe, category
        )
        report.published = do_publish_run(
            ws.engine,
            as_of or started,
            model_ids,
            firm_scores,
            with_region,
            regions,
            firms,
            {"grades": report.grades, "changes": report.changes},
            started_at=started,
        )
        timings["publish"] = time.perf_counter() - mark
    return report
