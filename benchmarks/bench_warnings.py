"""Warning quality on the simulated city, and index + warnings speed at 3,000,000 firms.

**Quality** (``--quality``, the default): simulate a city (20,000 firms × 36 months, seed 2),
ingest it, then for every month-end of the window (every ``--step`` months, counted back
from the last): resolve and build the graph as of that date, compute the indicators as of
that date (the engine reads only what was known by then) and score them with every index
model. The text stage runs once on the whole lake (``--derived text-once``, the default):
its tables carry each document's date and the engine drops rows dated after the as-of
date, the text models are fixed, and firm ids are credit-code based, so no date sees a
later document. ``--derived per-month`` runs the text stage per date too (slower, same
reads); ``--derived once`` runs resolution and the graph once as well, which leaks (later
firms join the universe, later judgments seed the contagion). Against ``ground_truth/``:

* **recall (6 m)** — of the schemes that collapse within the next six months (collapse
  month in T+1 … T+6), the share with at least one firm (core, shell or successor)
  graded orange or red at T;
* **false alarms** — of the firms graded orange or red at T, the share that are not
  scheme firms (roles scheme_core, scheme_shell, scheme_successor, and scheme_product: an
  entity resolution made of a scheme's product or platform name, e.g. a complaint about
  "汇达以房养老计划" naming no firm). Lawful finance-like
  firms, licensed lenders and look-alike names count as false alarms: they are lawful,
  and a warning sends an inspector to them; the table splits false alarms by role;
* **lead time** — per scheme collapsing inside the window, months from its first
  orange/red month-end to the collapse month; the headline is the share of schemes warned
  at least 3 months ahead, over the schemes collapsing at least 3 months after the
  window's first month-end (others could not be warned that early).

The per-month indicator tables are cached under ``benchmarks/work/warnings/`` so that
``--tune`` can re-score seed 1 quickly: a grid over grade thresholds picks, per model,
the lowest orange threshold whose pooled false-alarm share is ≤ 10 % (printed, not
written into the model files: the analyst decides).

**Speed** (``--scale N``): a synthetic ``indicator_score`` of N firms × 120 indicators
(numpy, 4 % non-zero, 2 % missing, 0.5 % of firms risky with half their indicators
on), scored by the three models with explanations, the evidence join, the ``index``
stage write, the comparison with a previous run and the publication (SQLite); beside
it the floor: a bare weighted sum of the 120 columns (numpy and DuckDB). Incremental
rescore of one firm: the index part on one row.

    python benchmarks/bench_warnings.py --step 3                 # quality, seed 2, quarterly
    python benchmarks/bench_warnings.py --seed 1 --tune          # calibrate on seed 1
    python benchmarks/bench_warnings.py --no-quality --scale 3000000

Results go to benchmarks/results/warnings.json and warnings.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import sys
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fengyan.clock import CHINA_TZ
from fengyan.index.catalogue import IndicatorMeta, load_indicator_meta
from fengyan.index.model import GRADES, BoundModel, Grades, load_model
from fengyan.index.service import (
    DEFAULT_MODELS,
    assemble,
    bound_models,
    rescore_firm,
    score_table,
)
from fengyan.index.warnings import compare, current_grades

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_workspace
from bench_ingest import print_columns

HERE = Path(__file__).resolve().parent
WORK = HERE / "work" / "warnings"
RESULTS = HERE / "results"
SCHEME_ROLES = ("scheme_core", "scheme_shell", "scheme_successor", "scheme_product")
WARN = GRADES.index("orange")


def _month_index(text: str) -> int:
    year, month = text.split("-")[:2]
    return int(year) * 12 + int(month) - 1


def _month_end(index: int) -> date:
    """The last day of month ``index`` (year·12 + month − 1)."""
    year, month = divmod(index + 1, 12)
    return date.fromordinal(date(year, month + 1, 1).toordinal() - 1)


# ---- the city and the per-month indicator tables ------------------------------------------


def prepare(
    firms: int, months: int, seed: int, derived: str, log: dict[str, float], step: int = 1
) -> Path:
    """Simulate and ingest the city; compute and cache each as-of date's indicator table.

    As-of dates are the window's month-ends, every ``step`` months, counted back from the
    last one. ``derived``: ``per-month`` runs resolve, graph and text as of each date;
    ``text-once`` runs resolve and graph per date and the text stage once on the whole
    lake; ``once`` runs all three once.
    """
    from fengyan.graph.service import build_graph
    from fengyan.indicators.service import compute_indicators
    from fengyan.ingest.service import ingest_path
    from fengyan.resolve.service import resolve
    from fengyan.simulate.params import load_params
    from fengyan.simulate.service import simulate
    from fengyan.text.service import run_text

    root = WORK / f"{firms}x{months}-seed{seed}-{derived}-step{step}"
    city, cache = root / "city", root / "scores"
    if (cache / "DONE").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    mark = time.perf_counter()
    simulate(city, load_params(**{"enterprises.count": firms, "calendar.months": months}), seed)
    log["simulate"] = time.perf_counter() - mark
    ws = bench_workspace(root / "home")
    mark = time.perf_counter()
    ingest_path(ws, city)
    log["ingest"] = time.perf_counter() - mark
    summary = _yaml(city / "ground_truth" / "summary.yaml")
    first, last = (
        _month_index(summary["window"]["first_month"]),
        _month_index(summary["window"]["last_month"]),
    )
    cache.mkdir(parents=True)
    for key in ("resolve", "graph", "text", "indicators"):
        log.setdefault(key, 0.0)
    if derived in ("once", "text-once"):
        mark = time.perf_counter()
        resolve(ws)
        log["resolve"] += time.perf_counter() - mark
        if derived == "once":
            mark = time.perf_counter()
            build_graph(ws)
            log["graph"] += time.perf_counter() - mark
        mark = time.perf_counter()
        # Text tables carry each document's date and the engine drops rows dated after
        # the as-of date; the models are fixed and firm ids are credit-code based, so one
        # text run over the whole lake shows each date only its past documents.
        run_text(ws)
        log["text"] += time.perf_counter() - mark
    for m in range(last, first - 1, -step)[::-1]:
        day = _month_end(m)
        # The end of the day in China, as the indicator engine reads an as-of date.
        moment = datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ) + timedelta(
            days=1, microseconds=-1
        )
        if derived in ("per-month", "text-once"):
            # Resolution and the graph as of the date: later records must not merge firms,
            # add successors to the universe or seed the contagion walk.
            mark = time.perf_counter()
            resolve(ws, moment)
            log["resolve"] += time.perf_counter() - mark
            mark = time.perf_counter()
            build_graph(ws, moment)
            log["graph"] += time.perf_counter() - mark
        if derived == "per-month":
            mark = time.perf_counter()
            run_text(ws, moment)
            log["text"] += time.perf_counter() - mark
        mark = time.perf_counter()
        report = compute_indicators(ws, as_of=day, write=False)
        log["indicators"] += time.perf_counter() - mark
        pq.write_table(report.tables["indicator_score"], cache / f"{day.isoformat()}.parquet")
        print(f"  {day}: {report.firms:,} firms × {report.indicators} indicators", flush=True)
    resolve(ws)  # the firm ↔ credit code map of the whole lake, to match the ground truth
    con = ws.lake.connect()
    try:
        pq.write_table(
            con.sql(
                "SELECT canonical_id AS firm_id, credit_code FROM resolved_entity "
                "WHERE entity_kind = 'enterprise' AND credit_code IS NOT NULL"
            ).to_arrow_table(),
            root / "firm_codes.parquet",
        )
        pq.write_table(
            con.sql(
                "SELECT canonical_id AS firm_id, kind, name FROM resolved_entity "
                "WHERE entity_kind = 'enterprise'"
            ).to_arrow_table(),
            root / "firm_names.parquet",
        )
    finally:
        con.close()
    shutil.copytree(city / "ground_truth", root / "ground_truth")
    shutil.rmtree(city, ignore_errors=True)
    (cache / "DONE").write_text("ok")
    return root


def _yaml(path: Path) -> Any:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


# ---- evaluation ---------------------------------------------------------------------------


def evaluate(root: Path, models: Sequence[BoundModel] | None = None) -> dict[str, Any]:
    """Recall, false alarms and lead times of every model over the cached months."""
    months = sorted(p for p in (root / "scores").glob("*.parquet"))
    con = duckdb.connect()
    truth = root / "ground_truth"
    # Paths are our own work folder; no outside text reaches this SQL.
    con.execute(f"CREATE TABLE firms AS SELECT * FROM read_csv('{truth / 'firms.csv'}')")  # noqa: S608
    con.execute(f"CREATE TABLE schemes AS SELECT * FROM read_csv('{truth / 'schemes.csv'}')")  # noqa: S608
    con.execute(
        f"CREATE TABLE codes AS SELECT * FROM read_parquet('{root / 'firm_codes.parquet'}')"  # noqa: S608
    )
    con.execute(
        f"CREATE TABLE names AS SELECT * FROM read_parquet('{root / 'firm_names.parquet'}')"  # noqa: S608
    )
    # Every firm of a scheme: its core, shells and successor (firms.csv names them by role),
    # and the entities resolution made of its product or platform name (a complaint about
    # "汇达以房养老计划" that names no firm): an inspector sent there finds the scheme.
    con.execute(
        """CREATE TABLE scheme_firm AS
           SELECT c.firm_id, f.scheme_id::BIGINT AS scheme_id, f.role
           FROM firms f JOIN codes c ON c.credit_code = f.credit_code
           WHERE f.role IN ('scheme_core', 'scheme_shell', 'scheme_successor')
           UNION ALL
           SELECT n.firm_id, s.scheme_id::BIGINT, 'scheme_product'
           FROM names n JOIN schemes s ON n.name = s.product
           WHERE n.kind = 'unregistered'"""
    )
    con.execute(
        """CREATE TABLE firm_role AS
           SELECT c.firm_id, f.role FROM firms f JOIN codes c ON c.credit_code = f.credit_code
           UNION ALL
           SELECT firm_id, role FROM scheme_firm WHERE role = 'scheme_product'
           UNION ALL
           SELECT n.firm_id, 'name_only_' || n.kind FROM names n
           WHERE n.kind <> 'registered'
             AND n.firm_id NOT IN (SELECT firm_id FROM scheme_firm)"""
    )
    warned_rows: list[pa.Table] = []
    for path in months:
        table = pq.read_table(path)
        columns = [c for c in table.column_names if c != "firm_id"]
        bound = models or bound_models(columns)
        bound = [_rebind(b, columns) for b in bound]
        scored = score_table(table, bound, explain_from=len(GRADES))
        s = scored.scores
        month = _month_index(path.stem)
        keep = pa.compute.is_in(s["grade"], pa.array(["orange", "red"]))
        w = s.filter(keep).select(["firm_id", "model", "grade"])
        warned_rows.append(w.append_column("month", pa.array([month] * w.num_rows, pa.int32())))
        totals = s.group_by(["model"]).aggregate([("firm_id", "count")])
        con.register("tot", totals)
        con.execute(
            f"CREATE TABLE IF NOT EXISTS scored AS SELECT {month}::INT AS month, * FROM tot LIMIT 0"  # noqa: S608
        )
        con.execute(f"INSERT INTO scored SELECT {month}, * FROM tot")  # noqa: S608
        con.unregister("tot")
    con.register("warned_all", pa.concat_tables(warned_rows))
    con.execute("CREATE TABLE warned AS SELECT * FROM warned_all")
    model_ids = [b.id for b in (models or [])] or sorted(
        {r[0] for r in con.execute("SELECT DISTINCT model FROM scored").fetchall()}
    )
    first, last = _month_index(months[0].stem), _month_index(months[-1].stem)
    out: dict[str, Any] = {"months": [m.stem for m in months], "models": {}}
    for model in model_ids:
        per_month = con.execute(
            f"""
            WITH w AS (
                SELECT w.month, w.firm_id, coalesce(r.role, 'unknown') AS role,
                       sf.scheme_id
                FROM warned w LEFT JOIN firm_role r ON r.firm_id = w.firm_id
                LEFT JOIN scheme_firm sf ON sf.firm_id = w.firm_id
                WHERE w.model = '{model}'
            ),
            due AS (
                SELECT m.month, s.scheme_id
                FROM (SELECT DISTINCT month FROM scored) m, schemes s
                WHERE (year(strptime(s.collapse_month, '%Y-%m')) * 12
                       + month(strptime(s.collapse_month, '%Y-%m')) - 1)
                      BETWEEN m.month + 1 AND m.month + 6
            )
            SELECT m.month,
                   (SELECT count(*) FROM w WHERE w.month = m.month) AS warned,
                   (SELECT count(*) FROM w WHERE w.month = m.month
                        AND w.role NOT IN {SCHEME_ROLES})
                        AS false_alarms,
                   (SELECT count(*) FROM due WHERE due.month = m.month) AS due,
                   (SELECT count(*) FROM due WHERE due.month = m.month AND due.scheme_id IN
                        (SELECT scheme_id FROM w WHERE w.month = m.month)) AS due_warned
            FROM (SELECT DISTINCT month FROM scored) m ORDER BY m.month
            """  # noqa: S608 - model ids are ours
        ).fetchall()
        fa_roles = dict(
            con.execute(
                f"""SELECT coalesce(r.role, 'unknown'), count(*) FROM warned w
                    LEFT JOIN firm_role r ON r.firm_id = w.firm_id
                    WHERE w.model = '{model}' AND coalesce(r.role, 'unknown') NOT IN
                        {SCHEME_ROLES}
                    GROUP BY 1 ORDER BY 2 DESC"""  # noqa: S608
            ).fetchall()
        )
        leads = con.execute(
            f"""
            WITH s AS (
                SELECT scheme_id, year(strptime(collapse_month, '%Y-%m')) * 12
                       + month(strptime(collapse_month, '%Y-%m')) - 1 AS collapse
                FROM schemes WHERE collapse_in_window
            ), firstw AS (
                SELECT sf.scheme_id, min(w.month) AS first_month
                FROM warned w JOIN scheme_firm sf ON sf.firm_id = w.firm_id
                WHERE w.model = '{model}' GROUP BY 1
            )
            SELECT s.scheme_id, s.collapse,
                   CASE WHEN f.first_month < s.collapse THEN s.collapse - f.first_month END
            FROM s LEFT JOIN firstw f USING (scheme_id)
            WHERE s.collapse >= {first} + 3 AND s.collapse <= {last}
            ORDER BY 1
            """  # noqa: S608
        ).fetchall()
        lead = [r[2] for r in leads]
        warned_leads = [x for x in lead if x is not None]
        warned_total = sum(r[1] for r in per_month)
        fa_total = sum(r[2] for r in per_month)
        due_total = sum(r[3] for r in per_month)
        out["models"][model] = {
            "per_month": [
                {
                    "month": months[i].stem,
                    "warned": r[1],
                    "false_alarms": r[2],
                    "false_alarm_share": round(r[2] / r[1], 4) if r[1] else None,
                    "due_6m": r[3],
                    "due_6m_warned": r[4],
                    "recall_6m": round(r[4] / r[3], 4) if r[3] else None,
                }
                for i, r in enumerate(per_month)
            ],
            "recall_6m_pooled": round(sum(r[4] for r in per_month) / due_total, 4)
            if due_total
            else None,
            "false_alarm_share_pooled": round(fa_total / warned_total, 4) if warned_total else None,
            "false_alarms_by_role": fa_roles,
            "schemes_evaluated": len(lead),
            "schemes_warned_before_collapse": len(warned_leads),
            "warned_3m_ahead_share": round(sum(x >= 3 for x in warned_leads) / len(lead), 4)
            if lead
            else None,
            "lead_months_median": float(np.median(warned_leads)) if warned_leads else None,
            "lead_months": lead,
        }
    con.close()
    return out


def _rebind(b: BoundModel, columns: Sequence[str]) -> BoundModel:
    if list(b.indicators) == list(columns):
        return b
    from fengyan.index.model import bind

    return bind(b.model, load_indicator_meta(), columns)


def tune(root: Path) -> dict[str, Any]:
    """Per model: the lowest orange threshold (step 1) with pooled false alarms ≤ 10 %."""
    first = pq.read_table(next((root / "scores").glob("*.parquet")))
    columns = [c for c in first.column_names if c != "firm_id"]
    out: dict[str, Any] = {}
    for model_id in DEFAULT_MODELS:
        base = load_model(model_id)
        best: dict[str, Any] | None = None
        for orange in range(40, 96, 2):
            g = base.grades
            red = max(g.red, orange + 5) if orange + 5 <= 100 else 100
            grades = Grades(
                red=min(red, 100), orange=orange, yellow=min(g.yellow, orange - 2),
                blue=min(g.blue, orange - 4),
            )  # fmt: skip
            model = base.model_copy(update={"grades": grades})
            bound = bound_models(columns, [model])
            result = evaluate(root, bound)["models"][model_id]
            fa = result["false_alarm_share_pooled"]
            if fa is not None and fa <= 0.10:
                best = {"grades": grades.model_dump(), **{k: result[k] for k in (
                    "warned_3m_ahead_share", "recall_6m_pooled", "false_alarm_share_pooled",
                    "lead_months_median")}}  # fmt: skip
                break
        out[model_id] = best
        print(f"  {model_id}: {best}", flush=True)
    return out


# ---- speed at scale -----------------------------------------------------------------------


def synthetic(n: int, m: int, seed: int) -> tuple[pa.Table, list[IndicatorMeta], pa.Table]:
    """An indicator_score of n firms × m indicators, their tags, and indicator_value rows."""
    rng = np.random.default_rng(seed)
    from fengyan.index.catalogue import CHARACTERISTICS, DOLPHIN_DIMENSIONS, EAGLE_DIMENSIONS

    floors = ("op_evt_withdrawal", "op_evt_runaway", "jud_police_filing")
    metas = [
        IndicatorMeta(
            f"IND_{j:03d}",
            EAGLE_DIMENSIONS[j % 6],
            (DOLPHIN_DIMENSIONS[j % 5],),
            (CHARACTERISTICS[j % 4],),
            floors[j] if j < 3 else None,
        )
        for j in range(m)
    ]
    risky = rng.random(n) < 0.005
    cols: dict[str, Any] = {"firm_id": pa.array([f"ent:{i:08d}" for i in range(n)])}
    for j, meta in enumerate(metas):
        density = 0.0005 if j < 3 else 0.04
        hit = rng.random(n) < np.where(risky, 0.5, density)
        x = np.where(hit, rng.random(n, dtype=np.float32), np.float32(0)).astype(np.float32)
        x[rng.random(n) < 0.02] = np.nan
        cols[meta.id] = pa.array(x, from_pandas=True)
    table = pa.table(cols)
    # Evidence rows for the risky firms' non-zero indicators (what the top-k join touches).
    idx = np.flatnonzero(risky)
    firm, ind = [], []
    for j, meta in enumerate(metas):
        v = table[meta.id].to_numpy(zero_copy_only=False)[idx]
        sel = idx[np.nan_to_num(v) > 0]
        firm.append(sel)
        ind.append(np.full(len(sel), j))
    f, i = np.concatenate(firm), np.concatenate(ind)
    values = pa.table(
        {
            "firm_id": pa.array([f"ent:{k:08d}" for k in f]),
            "indicator_id": pa.array([metas[k].id for k in i]),
            "value": pa.array(rng.random(len(f))),
            "score": pa.array(rng.random(len(f))),
            "evidence": pa.array([[f"complaint/{k}-{j}"] for k, j in zip(f, i, strict=True)]),
        }
    )
    return table, metas, values


def scale(n: int, m: int) -> dict[str, Any]:
    """Time index + warnings at n firms × m indicators (synthetic), and the floor."""
    from fengyan.index.publish import do_publish_run
    from fengyan.index.service import _published_rows

    timings: dict[str, float] = {}
    mark = time.perf_counter()
    table, metas, values = synthetic(n, m, 7)
    timings["generate (not counted)"] = time.perf_counter() - mark
    columns = [c for c in table.column_names if c != "firm_id"]
    weights = np.random.default_rng(1).random(m).astype(np.float32)
    mark = time.perf_counter()
    total = np.zeros(n, np.float32)
    for j, c in enumerate(columns):
        total += weights[j] * np.nan_to_num(table[c].to_numpy(zero_copy_only=False))
    timings["floor: weighted sum, numpy"] = time.perf_counter() - mark
    con = duckdb.connect()
    con.register("t", table)
    expr = " + ".join(f"{w:.4f} * coalesce({c}, 0)" for w, c in zip(weights, columns, strict=True))
    mark = time.perf_counter()
    con.execute(f"SELECT sum({expr}) FROM t").fetchall()  # noqa: S608
    timings["floor: weighted sum, DuckDB"] = time.perf_counter() - mark
    con.close()

    mark = time.perf_counter()
    bound = bound_models(columns, DEFAULT_MODELS, metas)
    scored = score_table(table, bound)
    timings["score 3 models + top-k"] = time.perf_counter() - mark
    mark = time.perf_counter()
    index_score = assemble(scored, values)
    timings["evidence join + index_score"] = time.perf_counter() - mark
    work = WORK / f"scale-{n}"
    shutil.rmtree(work, ignore_errors=True)
    ws = bench_workspace(work)
    mark = time.perf_counter()
    ws.lake.write_derived("index", {"index_score": index_score})
    timings["write index stage"] = time.perf_counter() - mark
    current = current_grades(index_score)
    # The previous run: a perturbed copy of this one (a tenth of the graded firms moved).
    prev = current.filter(pa.compute.not_equal(current["grade"], "none"))
    rng = np.random.default_rng(3)
    shift = rng.integers(-1, 2, prev.num_rows)
    ranks = np.array([GRADES.index(g) for g in prev["grade"].to_pylist()]) + shift * (
        rng.random(prev.num_rows) < 0.1
    )
    prev = prev.set_column(2, "grade", pa.array(np.array(GRADES)[np.clip(ranks, 0, 4)])).filter(
        pa.array(np.clip(ranks, 0, 4) > 0)
    )
    mark = time.perf_counter()
    changes = compare(prev, current)
    timings["compare with previous run"] = time.perf_counter() - mark
    mark = time.perf_counter()
    firm_scores, with_region, regions = _published_rows(index_score, changes, None, None)
    published = do_publish_run(
        ws.engine, datetime.now(CHINA_TZ), [b.id for b in bound], firm_scores, with_region,
        regions, n, {},
    )  # fmt: skip
    timings["publish (SQLite)"] = time.perf_counter() - mark
    # Incremental: one firm's row scored, explained and compared.
    one = table.slice(n // 2, 1)
    mine = values.filter(pa.compute.equal(values["firm_id"], one["firm_id"][0]))
    for _ in range(3):  # warm
        rescore_firm(bound, one, mine)
    reps = 200
    mark = time.perf_counter()
    for _ in range(reps):
        rescore_firm(bound, one, mine)
    timings["incremental: one firm, index (ms)"] = (time.perf_counter() - mark) / reps * 1000
    counted = [t for k, t in timings.items() if "not counted" not in k and "floor" not in k
               and "ms" not in k]  # fmt: skip
    grades = {
        b.id: {g: int(pa.compute.sum(pa.compute.equal(
            scored.scores.filter(pa.compute.equal(scored.scores["model"], b.id))["grade"], g
        )).as_py() or 0) for g in GRADES}
        for b in bound
    }  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)
    return {
        "firms": n,
        "indicators": m,
        "seconds": {k: round(v, 3) for k, v in timings.items()},
        "index_and_warnings_seconds": round(sum(counted), 2),
        "grades": grades,
        "published": {
            "firm_scores": published.firm_scores,
            "warnings": published.warnings,
            "regions": published.regions,
        },
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


# ---- report -------------------------------------------------------------------------------


def markdown(result: dict[str, Any], command: str) -> str:
    """The tables docs/index.md quotes."""
    lines = [
        "# Warning benchmark",
        "",
        f"Command: `{command}`  ",
        f"Machine: {result['machine']}",
        "",
    ]
    q = result.get("quality")
    if q:
        lines += [
            f"## Quality: {q['firms']:,} firms × {q['window_months']} months, seed {q['seed']} "
            f"(derived stages: {q['derived']})",
            "",
            "| model | warned ≥3 m ahead | median lead (months) | recall 6 m (pooled) | "
            "false alarms (pooled) | schemes |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for model, r in q["models"].items():
            lines.append(
                f"| {model} | {_pct(r['warned_3m_ahead_share'])} | {r['lead_months_median']} | "
                f"{_pct(r['recall_6m_pooled'])} | {_pct(r['false_alarm_share_pooled'])} | "
                f"{r['schemes_evaluated']} |"
            )
        lines += ["", "False alarms by role: " + "; ".join(
            f"{m}: {r['false_alarms_by_role']}" for m, r in q["models"].items())]  # fmt: skip
        lines += ["", "| month | " + " | ".join(
            f"{m} warned / FA / recall 6 m" for m in q["models"]) + " |",
            "|---|" + "---:|" * len(q["models"])]  # fmt: skip
        for i, month in enumerate(q["months"]):
            cells = []
            for r in q["models"].values():
                p = r["per_month"][i]
                cells.append(f"{p['warned']} / {_pct(p['false_alarm_share'])} / "
                             f"{_pct(p['recall_6m'])} ({p['due_6m']})")  # fmt: skip
            lines.append(f"| {month} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "Stage seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in q["seconds"].items()),
        ]
    s = result.get("scale")
    if s:
        lines += [
            "",
            f"## Speed: {s['firms']:,} firms × {s['indicators']} indicators (synthetic)",
            "",
            "| step | seconds |",
            "|---|---:|",
            *(f"| {k} | {v} |" for k, v in s["seconds"].items()),
            f"| **index + warnings, total** | **{s['index_and_warnings_seconds']}** |",
            "",
            f"Grades: {s['grades']}; published {s['published']}; peak RSS {s['peak_rss_mib']} MiB.",
        ]
    return "\n".join(lines) + "\n"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def main() -> None:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--firms", type=int, default=20_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--derived", choices=("per-month", "text-once", "once"), default="text-once")
    ap.add_argument("--step", type=int, default=1, help="months between as-of dates")
    ap.add_argument("--no-quality", action="store_true")
    ap.add_argument("--tune", action="store_true")
    ap.add_argument("--scale", type=int, default=0, help="firms for the speed part (0: skip)")
    ap.add_argument("--indicators", type=int, default=120)
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, Python {platform.python_version()}, {platform.node()}"
    }
    if not args.no_quality:
        log: dict[str, float] = {}
        root = prepare(args.firms, args.months, args.seed, args.derived, log, args.step)
        q = evaluate(root)
        q.update(firms=args.firms, window_months=args.months, seed=args.seed, derived=args.derived,
                 step=args.step, seconds={k: round(v, 1) for k, v in log.items()})  # fmt: skip
        if args.tune:
            q["tuned"] = tune(root)
        result["quality"] = q
        rows = [
            [m, _pct(r["warned_3m_ahead_share"]), str(r["lead_months_median"]),
             _pct(r["recall_6m_pooled"]), _pct(r["false_alarm_share_pooled"]),
             str(r["schemes_evaluated"])]
            for m, r in q["models"].items()
        ]  # fmt: skip
        print_columns(["model", "≥3m ahead", "lead", "recall6m", "false alarms", "schemes"], rows)
    if args.scale:
        result["scale"] = scale(args.scale, args.indicators)
        print_columns(
            ["step", "seconds"], [[k, str(v)] for k, v in result["scale"]["seconds"].items()]
        )
        print(f"index + warnings: {result['scale']['index_and_warnings_seconds']} s")
    command = "python benchmarks/bench_warnings.py " + " ".join(sys.argv[1:])
    saved = RESULTS / "warnings.json"
    if not args.no_save and saved.exists():
        # A quality-only or speed-only run keeps the other part of the last results.
        previous = json.loads(saved.read_text())
        for part in ("quality", "scale"):
            if part not in result and part in previous:
                result[part] = previous[part]
    text = markdown(result, command)
    print(text)
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "warnings.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
        (RESULTS / "warnings.md").write_text(text)


if __name__ == "__main__":
    pa.set_cpu_count(2)
    main()
