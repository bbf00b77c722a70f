"""Indicator engine benchmark: N firms × the packaged specs, from a synthetic lake.

    nice -n 10 .venv/bin/python benchmarks/bench_engine.py --firms 3000000

Generates a lake of realistic shape with numpy/pyarrow (registry rows for every firm, and
event tables: complaints, ads, judgments, job posts; resolution's tables), then times
compile + compute + write of the indicators (``compute_indicators``, DuckDB with 2 threads
and a memory limit), the index stage with warnings and publishing to SQLite
(``run_index``), one firm's restricted run and index rescore, peak RSS, and the floor: a
bare weighted sum of 120 float32 columns over N rows in numpy (and polars when installed).
Generated lakes also get a graph stage (shareholdings, key persons, controllers). Results
go to benchmarks/results/engine.json and engine.md (``--no-save``: printed only); the lake
to benchmarks/work/engine/ (kept between runs of the same size: --regenerate rebuilds it).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.indicators.lakebuilder import arrow_schema

from _common import save_results
from bench_ingest import RESULTS, machine, print_columns
from fengyan.clock import CHINA_TZ
from fengyan.index.service import bound_models, rescore_firm, run_index
from fengyan.indicators.load import load_specs
from fengyan.indicators.service import compute_indicators
from fengyan.settings import Settings
from fengyan.workspace import Workspace

HERE = Path(__file__).resolve().parent
WORK = HERE / "work" / "engine"
AS_OF = date(2025, 6, 30)
# Firms of the incremental benchmark's batch (spread over the sorted firm ids).
BATCH_FIRMS = 50
BRANDS = list("鹏润前程海盈华信康寿链通金穗安邦绿源万家星河宏达恒泰鑫盛")
WORDS = [
    "科技",
    "商贸",
    "财富管理",
    "投资咨询",
    "供应链管理",
    "养老服务",
    "电子商务",
    "金融信息服务",
    "餐饮管理",
    "建筑工程",
    "物流",
    "文化传媒",
    "区块链技术",
    "资产管理",
    "融资租赁",
]
SCOPES = [
    "技术开发、技术咨询",
    "投资管理、资产管理；投资咨询",
    "国内贸易；货物进出口",
    "养老服务；健康管理咨询",
    "供应链管理；商业保理",
    "餐饮服务",
    "建筑工程施工",
    "以自有资金从事投资活动；不得以公开方式募集资金",
]
AD_TEXTS = [
    "年化收益12%，保本保息，稳赚不赔",
    "新品上市，欢迎选购",
    "推荐好友返现，月息2分",
    "区块链数字资产，国家扶持项目",
    "养老公寓会员卡，到期还本",
    "专业装修，品质保证",
]
CATEGORIES = ["非法集资", "消费纠纷", "理财纠纷", "传销", "其他"]


def _codes(ids: np.ndarray) -> pa.Array:
    # Synthetic 18-character codes (shape only: the lake is written directly).
    return pa.array(np.char.add("9144030000", np.char.zfill(ids.astype(str), 8)))


def _pick(rng: np.random.Generator, choices: list[str], n: int) -> pa.Array:
    return pa.array(np.array(choices, dtype=object)[rng.integers(0, len(choices), n)])


def _times(rng: np.random.Generator, n: int, days: int) -> np.ndarray:
    end = datetime(2025, 6, 30, tzinfo=UTC)
    secs = rng.integers(0, days * 86400, n)
    return (np.datetime64(end.replace(tzinfo=None), "us") - secs.astype("timedelta64[s]")).astype(
        "datetime64[us]"
    )


def _write(ws: Workspace, table: str, cols: dict[str, Any], seq: int) -> None:
    schema = arrow_schema(table)
    n = len(next(iter(cols.values())))
    key = next(iter(cols))
    data = {}
    ids = pc.binary_join_element_wise(pa.scalar(table), pc.cast(cols[key], pa.string()), "/")
    for f in schema:
        if f.name == "_id":
            data[f.name] = pa.array(np.char.mod("%032x", np.arange(n) + seq * 10**9).astype(object))
        elif f.name == "_hash":
            data[f.name] = ids
        elif f.name in ("_batch", "_source"):
            data[f.name] = pa.array([f"bench{seq}"] * n)
        elif f.name == "_seq":
            data[f.name] = pa.array(np.full(n, seq, dtype=np.int64))
        elif f.name == "_row":
            data[f.name] = pa.array(np.arange(n, dtype=np.int64))
        elif f.name == "_valid_from":
            data[f.name] = cols.get(
                "_known",
                pa.array([datetime(2025, 1, 1, tzinfo=UTC)] * n, pa.timestamp("us", tz="UTC")),
            )
        elif f.name in cols:
            data[f.name] = pa.array(cols[f.name]).cast(f.type)
        else:
            data[f.name] = pa.nulls(n, f.type)
    tbl = pa.table(data, schema=schema)
    with ws.lake.open_batch(table, seq, f"bench{seq:04d}", schema) as writer:
        for chunk in tbl.to_batches(max_chunksize=500_000):
            writer.write(pa.Table.from_batches([chunk]))
        writer.commit()


def generate(ws: Workspace, n: int, seed: int = 7) -> dict[str, int]:
    """Write registry rows for ``n`` firms, event tables and resolution's tables."""
    rng = np.random.default_rng(seed)
    ids = np.arange(n)
    codes = _codes(ids)
    brand = np.array(BRANDS, dtype=object)
    names = pc.binary_join_element_wise(
        "深圳",
        pa.array(brand[rng.integers(0, len(BRANDS), n)] + brand[rng.integers(0, len(BRANDS), n)]),
        _pick(rng, WORDS, n),
        "有限公司",
        "",
    )
    est = np.datetime64("2025-06-30") - rng.integers(30, 20 * 365, n).astype("timedelta64[D]")
    _write(
        ws,
        "enterprise",
        {
            "credit_code": codes,
            "name": names,
            "business_scope": _pick(rng, SCOPES, n),
            "registered_capital": np.round(10 ** rng.uniform(5, 8.5, n), -4),
            "paid_in_capital": np.where(rng.random(n) < 0.6, 0.0, 10 ** rng.uniform(4, 7, n)),
            "established": est,
            "status": _pick(rng, ["存续", "在业", "吊销", "注销"], n),
            "region_code": _pick(rng, ["440303", "440304", "440305", "440306", "440307"], n),
            "operating_region_code": _pick(rng, ["440303", "440304", "110105", "310115"], n),
            "industry_code": _pick(rng, ["J6940", "L7212", "F5191", "I6513", "M7350"], n),
            "legal_representative": _pick(rng, ["张伟", "王芳", "李强", "刘洋"], n),
        },
        1,
    )
    counts = {"enterprise": n}

    # Events: skewed over firms (a few firms get many), as in the simulated city.
    def firms_for(m: int) -> np.ndarray:
        return np.minimum((rng.pareto(1.2, m) * n / 50).astype(np.int64), n - 1)

    m = n // 3
    f = firms_for(m)
    has_code = rng.random(m) < 0.7
    received = _times(rng, m, 730)
    _write(
        ws,
        "complaint",
        {
            "complaint_id": pa.array(np.char.mod("c%d", np.arange(m)).astype(object)),
            "channel": _pick(rng, ["12345热线", "信访", "网上举报"], m),
            "received_at": pa.array(received, pa.timestamp("us", tz="UTC")),
            "_known": pa.array(received, pa.timestamp("us", tz="UTC")),
            "credit_code": pa.array(
                np.where(has_code, np.asarray(codes.take(pa.array(f)), dtype=object), None)
            ),
            "enterprise_name": names.take(pa.array(f)),
            "category": _pick(rng, CATEGORIES, m),
            "amount": rng.lognormal(10, 1.5, m),
            "people_count": rng.integers(1, 50, m),
            "complainant_id_hash": pa.array(
                np.char.mod("h%d", rng.integers(0, m, m)).astype(object)
            ),
            "text": _pick(rng, ["无法提现，客服失联", "承诺高收益，逾期不兑付", "服务态度差"], m),
        },
        2,
    )
    counts["complaint"] = m
    no_code = np.nonzero(~has_code)[0]
    a = n // 3
    fa = firms_for(a)
    pub = _times(rng, a, 730)
    _write(
        ws,
        "advertisement",
        {
            "ad_id": pa.array(np.char.mod("a%d", np.arange(a)).astype(object)),
            "credit_code": codes.take(pa.array(fa)),
            "medium": _pick(rng, ["网站", "短视频", "社交媒体", "传单"], a),
            "published_at": pa.array(pub, pa.timestamp("us", tz="UTC")),
            "_known": pa.array(pub, pa.timestamp("us", tz="UTC")),
            "text": _pick(rng, AD_TEXTS, a),
            "impressions": rng.integers(10, 100000, a),
            "region_code": _pick(rng, ["440304", "440305"], a),
        },
        3,
    )
    counts["advertisement"] = a
    j = n // 6
    fj = firms_for(j)
    jd = np.datetime64("2025-06-30") - rng.integers(0, 1500, j).astype("timedelta64[D]")
    _write(
        ws,
        "judgment",
        {
            "judgment_id": pa.array(np.char.mod("j%d", np.arange(j)).astype(object)),
            "case_number": pa.array(
                np.char.mod("（2024）粤03民初%d号", np.arange(j)).astype(object)
            ),
            "court": _pick(rng, ["深圳市中级人民法院", "南山区人民法院"], j),
            "case_type": _pick(rng, ["民事", "刑事", "执行"], j),
            "party_id": codes.take(pa.array(fj)),
            "party_kind": pa.array(["enterprise"] * j),
            "party_name": names.take(pa.array(fj)),
            "party_role": _pick(rng, ["被告", "原告"], j),
            "cause": pa.array(
                [
                    [c]
                    for c in np.array(
                        ["民间借贷纠纷", "合同纠纷", "非法吸收公众存款"], dtype=object
                    )[rng.integers(0, 3, j)]
                ]
            ),
            "amount": rng.lognormal(11, 1.5, j),
            "judgment_date": jd,
            "_known": pa.array(jd.astype("datetime64[us]"), pa.timestamp("us", tz="UTC")),
        },
        4,
    )
    counts["judgment"] = j
    r = n // 6
    fr = firms_for(r)
    posted = np.datetime64("2025-06-30") - rng.integers(0, 730, r).astype("timedelta64[D]")
    _write(
        ws,
        "recruitment_post",
        {
            "post_id": pa.array(np.char.mod("r%d", np.arange(r)).astype(object)),
            "credit_code": codes.take(pa.array(fr)),
            "platform": _pick(rng, ["智联", "58同城"], r),
            "posted_at": posted,
            "job_title": _pick(rng, ["理财顾问", "客户经理", "会计", "电销专员"], r),
            "headcount": rng.integers(1, 50, r),
            "salary_min": rng.integers(3000, 8000, r) * 1.0,
            "salary_max": rng.integers(8000, 30000, r) * 1.0,
            "text": _pick(rng, ["高提成，日结", "五险一金"], r),
            "_known": pa.array(posted.astype("datetime64[us]"), pa.timestamp("us", tz="UTC")),
        },
        5,
    )
    counts["recruitment_post"] = r
    firm_ids = pc.binary_join_element_wise("ent:", codes, "")
    ent = pa.table(
        {
            "canonical_id": firm_ids,
            "entity_kind": pa.array(["enterprise"] * n),
            "kind": pa.array(["registered"] * n),
            "name": names,
            "credit_code": codes,
            "region_code": pa.array(["440304"] * n),
            "members": pa.array(np.ones(n, np.int64)),
        },
        schema=arrow_schema("resolved_entity"),
    )
    complaint_ids = pa.array(np.char.mod("%032x", no_code + 2 * 10**9).astype(object))
    links = pa.concat_tables(
        [
            pa.table(
                {
                    "key_kind": pa.array(["credit_code"] * n),
                    "key": codes,
                    "canonical_id": firm_ids,
                    "entity_kind": pa.array(["enterprise"] * n),
                    "method": pa.array(["credit_code"] * n),
                    "probability": np.ones(n),
                    "match_weight": pa.nulls(n, pa.float64()),
                }
            ),
            pa.table(
                {
                    "key_kind": pa.array(["record"] * len(no_code)),
                    "key": pc.binary_join_element_wise("complaint", complaint_ids, "/"),
                    "canonical_id": firm_ids.take(pa.array(f[no_code])),
                    "entity_kind": pa.array(["enterprise"] * len(no_code)),
                    "method": pa.array(["name"] * len(no_code)),
                    "probability": np.ones(len(no_code)),
                    "match_weight": pa.nulls(len(no_code), pa.float64()),
                }
            ),
        ]
    ).cast(arrow_schema("resolved_link"))
    ws.lake.write_derived("resolve", {"resolved_entity": ent, "resolved_link": links})
    counts.update(generate_graph(ws, n, seed))
    return counts


def generate_graph(ws: Workspace, n: int, seed: int = 7) -> dict[str, int]:
    """A graph stage: shareholdings between firms, key persons, controllers (some groups)."""
    rng = np.random.default_rng(seed + 1)
    firm_ids = pc.binary_join_element_wise("ent:", _codes(np.arange(n)), "")
    if isinstance(firm_ids, pa.ChunkedArray):
        firm_ids = firm_ids.combine_chunks()
    s = n // 10
    src, dst = rng.integers(0, n, s), rng.integers(0, n, s)
    o = n // 2
    person = pa.array(np.char.mod("per:%d", rng.integers(0, n // 2, o)).astype(object))
    of = rng.integers(0, n, o)
    edges = pa.table(
        {
            "src": pa.chunked_array([firm_ids.take(pa.array(src)), person]),
            "dst": pa.chunked_array([firm_ids.take(pa.array(dst)), firm_ids.take(pa.array(of))]),
            "relation": pa.array(["shareholding"] * s + ["officer"] * o),
            "share": pa.array(
                np.concatenate([rng.random(s), np.full(o, np.nan)]), from_pandas=True
            ),
            "role": pa.array([None] * s + ["法定代表人"] * o, pa.string()),
        }
    )
    c = n // 5
    cf = rng.choice(n, c, replace=False)
    controllers = pa.table(
        {
            "firm_id": firm_ids.take(pa.array(cf)),
            "controller_id": pa.array(
                np.char.mod("per:%d", rng.integers(0, c // 3, c)).astype(object)
            ),
            "basis": pa.array(["shareholding"] * c),
            "path": pa.array([[]] * c, pa.list_(pa.string())),
        }
    )
    ws.lake.write_derived("graph", {"graph_edge": edges, "graph_controller": controllers})
    return {"graph_edge": s + o, "graph_controller": c}


def floor(n: int, k: int = 120) -> dict[str, float]:
    """Seconds of a bare weighted sum of k float32 columns over n rows (numpy; polars if any)."""
    rng = np.random.default_rng(1)
    cols = [rng.random(n, dtype=np.float32) for _ in range(k)]
    w = rng.random(k).astype(np.float32)
    start = time.perf_counter()
    total = np.zeros(n, np.float32)
    for wi, c in zip(w, cols, strict=True):
        total += wi * c
    out = {"numpy": time.perf_counter() - start}
    try:
        import polars as pl  # not a dependency: measured when installed
    except ImportError:
        return out
    frame = pl.DataFrame({f"c{j}": c for j, c in enumerate(cols)})
    start = time.perf_counter()
    frame.select(pl.sum_horizontal([pl.col(f"c{j}") * float(wi) for j, wi in enumerate(w)]))
    out["polars"] = time.perf_counter() - start
    return out


def _load() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def one_firm(
    ws: Workspace, n: int, repeat: int, incremental: bool = False, save: bool = True
) -> None:
    """Time one firm's restricted run and index rescore against the stored stage.

    The firm is the one the full benchmark picks (the middle of the sorted firm ids); its
    rows must equal the stored full run's rows (the benchmark checks, and says so).
    ``incremental``: also the warm path (``IncrementalScorer``): its build once, then
    ``repeat`` rescores of the same firm, checked the same way.
    """
    import pyarrow.parquet as pq

    files = ws.lake.derived_files()
    one = pq.read_table(files["indicator_score"], columns=["firm_id"]).column(0)[n // 2].as_py()
    specs = load_specs()
    load_before = _load()
    wall_ind, cpu_ind, wall_idx, cpu_idx, statements = [], [], [], [], 0
    bound = None
    mine = None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        mine = compute_indicators(ws, AS_OF, firms=[one], specs=specs, threads=2)
        wall_ind.append(time.perf_counter() - t)
        cpu_ind.append(time.process_time() - c)
        statements = len(mine.steps)
        row = mine.tables["indicator_score"]
        if bound is None:
            bound = bound_models([c for c in row.column_names if c != "firm_id"])
        t, c = time.perf_counter(), time.process_time()
        rescore_firm(bound, row, mine.tables["indicator_value"])
        wall_idx.append(time.perf_counter() - t)
        cpu_idx.append(time.process_time() - c)
    assert mine is not None
    want = pq.read_table(files["indicator_score"], filters=[("firm_id", "==", one)])
    equal = mine.tables["indicator_score"].cast(want.schema).equals(want)
    want_v = pq.read_table(files["indicator_value"], filters=[("firm_id", "==", one)])
    got_v = mine.tables["indicator_value"]
    equal_v = got_v.num_rows == want_v.num_rows and got_v.cast(want_v.schema).equals(want_v)
    slow = sorted(mine.steps.items(), key=lambda kv: -kv[1])[:8]
    rows = [
        ["firms", f"{n:,}"],
        ["firm", one],
        ["plan steps", str(statements)],
        ["indicators, first run: wall / CPU (s)", f"{wall_ind[0]:.3f} / {cpu_ind[0]:.3f}"],
        [
            f"indicators, cached plan, median of {repeat - 1}: wall / CPU (s)",
            f"{float(np.median(wall_ind[1:])):.3f} / {float(np.median(cpu_ind[1:])):.3f}",
        ],
        [
            "indicators, cached plan, best: wall / CPU (s)",
            f"{min(wall_ind[1:]):.3f} / {min(cpu_ind[1:]):.3f}",
        ],
        [
            "index rescore, best: wall / CPU (ms)",
            f"{min(wall_idx) * 1000:.1f} / {min(cpu_idx) * 1000:.1f}",
        ],
        ["rows equal the stored full run's (score / value)", f"{equal} / {equal_v}"],
        ["load average before / after", f"{load_before} / {_load()}"],
    ]
    print_columns(["measure", "value"], rows)
    print(_steps_line("slowest steps (s)", dict(slow), 3))
    warm = incremental_firm(ws, n, one, repeat, want, want_v) if incremental else None
    path = RESULTS / "engine.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    runs = previous.get("runs", {}) if isinstance(previous.get("runs"), dict) else {}
    entry = runs.setdefault(str(n), {})
    entry["one_firm"] = {
        "command": " ".join(["python", *sys.argv]),
        "date": datetime.now(UTC).isoformat(),
        "rows": dict(rows),
        "slowest_steps": dict(slow),
        "wall_indicators": wall_ind,
        "cpu_indicators": cpu_ind,
        "wall_index": wall_idx,
        "cpu_index": cpu_idx,
    }
    if warm is not None:
        entry["one_firm"]["incremental"] = warm
    if save:
        save_results(RESULTS, "engine", {"runs": runs}, _markdown(runs))


def incremental_firm(
    ws: Workspace, n: int, one: str, repeat: int, want: pa.Table, want_v: pa.Table
) -> dict[str, Any]:
    """Time the warm path for firm ``one``: the scorer's build, then ``repeat`` rescores
    (indicators + index, each checking the lake for new batches first); print a table."""
    from fengyan.indicators.incremental import IncrementalScorer

    load_before = _load()
    t, c = time.perf_counter(), time.process_time()
    scorer = IncrementalScorer(ws, AS_OF, load_specs(), threads=2)
    build = (time.perf_counter() - t, time.process_time() - c)
    wall, cpu, wall_ind, wall_idx, wall_check = [], [], [], [], []
    try:
        result = None
        for _ in range(repeat):
            t, c = time.perf_counter(), time.process_time()
            result = scorer.rescore(one)
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            wall_check.append(result.seconds.get("refresh", 0.0))
            wall_ind.append(result.seconds["indicators"])
            wall_idx.append(result.seconds.get("index", 0.0))
        assert result is not None
        got, got_v = result.tables["indicator_score"], result.tables["indicator_value"]
        equal = got.cast(want.schema).equals(want)
        equal_v = got_v.num_rows == want_v.num_rows and got_v.cast(want_v.schema).equals(want_v)
        # A batch of firms in one pass (a service rescoring the firms of a new batch).
        import pyarrow.parquet as pq

        files = ws.lake.derived_files()
        ids = pq.read_table(files["indicator_score"], columns=["firm_id"]).column(0)
        batch = [ids[i].as_py() for i in range(0, n, max(1, n // BATCH_FIRMS))][:BATCH_FIRMS]
        wall_b, cpu_b = [], []
        for _ in range(3):
            t, c = time.perf_counter(), time.process_time()
            results = scorer.rescore_many(batch)
            wall_b.append(time.perf_counter() - t)
            cpu_b.append(time.process_time() - c)
        chosen = pa.array(batch)
        equal_b = all(
            pa.concat_tables([r.tables[name] for r in results])
            .cast(stored.schema)
            .equals(stored.filter(pc.is_in(stored.column("firm_id"), value_set=chosen)))
            for name, stored in (
                ("indicator_score", pq.read_table(files["indicator_score"])),
                ("indicator_value", pq.read_table(files["indicator_value"])),
            )
        )
    finally:
        scorer.close()

    def ms(xs: list[float]) -> str:
        return f"{float(np.median(xs)) * 1000:.1f}"

    rows = [
        ["firms", f"{n:,}"],
        ["firm", one],
        [
            "build once (compile, source rows by firm): wall / CPU (s)",
            f"{build[0]:.2f} / {build[1]:.2f}",
        ],
        [
            f"rescore (indicators + index), median of {repeat}: wall / CPU (ms)",
            f"{ms(wall)} / {ms(cpu)}",
        ],
        ["rescore, best: wall / CPU (ms)", f"{min(wall) * 1000:.1f} / {min(cpu) * 1000:.1f}"],
        [
            "of which: lake check / indicators / index, median wall (ms)",
            f"{ms(wall_check)} / {ms(wall_ind)} / {ms(wall_idx)}",
        ],
        ["rows equal the stored full run's (score / value)", f"{equal} / {equal_v}"],
        [
            f"{len(batch)} firms in one pass, median of 3: wall / CPU (ms), per firm",
            f"{ms(wall_b)} / {ms(cpu_b)}, {float(np.median(cpu_b)) * 1000 / len(batch):.1f}",
        ],
        [f"{len(batch)} firms' rows equal the stored full run's", str(equal_b)],
        ["load average before / after", f"{load_before} / {_load()}"],
    ]
    print_columns(["warm incremental path", "value"], rows)
    return {
        "rows": dict(rows),
        "build": build,
        "wall": wall,
        "cpu": cpu,
        "batch": {"firms": len(batch), "wall": wall_b, "cpu": cpu_b},
        "seconds": scorer.seconds,
    }


def _steps_line(title: str, seconds: dict[str, float], digits: int) -> str:
    """``title: step s, step s, …`` of the slowest steps."""
    return f"{title}: " + ", ".join(f"{k} {v:.{digits}f}" for k, v in seconds.items())


def _table(rows: dict[str, Any]) -> list[str]:
    """A two-column markdown table of ``measure: value`` rows."""
    return ["| measure | value |", "|---|---:|", *(f"| {a} | {b} |" for a, b in rows.items())]


def _markdown(runs: dict[str, Any]) -> str:
    md = ["# Indicator engine benchmark", ""]
    for size in sorted(runs, key=int):
        r = runs[size]
        md += [f"## {int(size):,} firms", ""]
        if "rows" in r:
            md += [
                f"`nice -n 10 .venv/bin/{r['command']}` ({r['date'][:10]}, memory limit"
                f" {r['memory_limit']})",
                "",
                *([r["note"], ""] if r.get("note") else []),
                *_table(r["rows"]),
                "",
                _steps_line("Slowest plan steps (s)", r["slowest_steps"], 1),
                "",
            ]
        one = r.get("one_firm")
        if one:
            md += [
                f"One firm only: `nice -n 10 .venv/bin/{one['command']}` ({one['date'][:10]})",
                "",
                *_table(one["rows"]),
                "",
                _steps_line("Slowest steps of the last run (s)", one["slowest_steps"], 3),
                "",
            ]
            warm = one.get("incremental")
            if warm:
                md += [
                    "Warm incremental path (`--one-firm --incremental`, `IncrementalScorer`):",
                    "",
                    *_table(warm["rows"]),
                    "",
                ]
    return "\n".join(md)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--firms", type=int, default=3_000_000)
    ap.add_argument("--regenerate", action="store_true")
    ap.add_argument("--memory-limit", default="5GB", help="DuckDB memory limit (spills beyond)")
    ap.add_argument(
        "--one-firm",
        action="store_true",
        help="only one firm's restricted run and index rescore, on the lake's last full run"
        " (the lake must exist); saved under the size's `one_firm` entry",
    )
    ap.add_argument("--repeat", type=int, default=6, help="--one-firm: runs (the first compiles)")
    ap.add_argument(
        "--incremental",
        action="store_true",
        help="--one-firm: also the warm incremental path (IncrementalScorer): build once,"
        " then --repeat rescores of the firm, rows checked against the stored full run",
    )
    ap.add_argument(
        "--no-save",
        action="store_true",
        help="print the figures only: leave benchmarks/results/ untouched",
    )
    args = ap.parse_args()
    home = WORK / f"n{args.firms}"
    marker = home / "generated.json"
    if args.regenerate or not marker.exists():
        shutil.rmtree(home, ignore_errors=True)
    ws = Workspace(
        Settings(
            home=home,
            lake_dir=home / "lake",
            database_url=f"sqlite:///{home / 'fengyan.db'}",
            chunk_rows=50_000,
            pseudonym_key_env="bench-key",
        )
    )
    ws.init()
    if not marker.exists():
        t = time.perf_counter()
        counts = generate(ws, args.firms)
        marker.write_text(json.dumps({"counts": counts, "seconds": time.perf_counter() - t}))
    gen = json.loads(marker.read_text())
    if "graph_edge" not in gen["counts"]:  # a lake generated before the graph stage was added
        gen["counts"].update(generate_graph(ws, args.firms))
        marker.write_text(json.dumps(gen))
    if args.one_firm:
        one_firm(ws, args.firms, args.repeat, args.incremental, save=not args.no_save)
        return
    load_before = _load()
    specs = load_specs()
    t = time.perf_counter()
    cpu = time.process_time()
    full = compute_indicators(ws, AS_OF, specs=specs, threads=2, memory_limit=args.memory_limit)
    wall_ind = time.perf_counter() - t
    cpu_ind = time.process_time() - cpu
    one = full.tables["indicator_score"].column("firm_id")[args.firms // 2].as_py()
    value_rows = full.tables["indicator_value"].num_rows
    steps = full.steps
    seconds = dict(full.seconds)
    del full  # the index stage reads the written tables, as `fengyan run` does
    t = time.perf_counter()
    cpu = time.process_time()
    index = run_index(ws, datetime.combine(AS_OF, datetime.min.time(), CHINA_TZ))
    wall_index = time.perf_counter() - t
    cpu_index = time.process_time() - cpu
    # One firm: its indicators (restricted run; the first compiles the cached plan), then
    # its index rescore from that row.
    lat_ind, lat_idx = [], []
    columns: list[str] = []
    bound = None
    for _ in range(4):
        t = time.perf_counter()
        mine = compute_indicators(ws, AS_OF, firms=[one], specs=specs, threads=2)
        lat_ind.append(time.perf_counter() - t)
        row = mine.tables["indicator_score"]
        if bound is None:
            columns = [c for c in row.column_names if c != "firm_id"]
            bound = bound_models(columns)
        t = time.perf_counter()
        rescore_firm(bound, row, mine.tables["indicator_value"])
        lat_idx.append(time.perf_counter() - t)
    fl = floor(args.firms)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    it = index.seconds
    total = wall_ind + wall_index
    rows = [
        ["firms", f"{args.firms:,}"],
        ["indicators", str(len(specs.indicators))],
        [
            "event and graph rows",
            f"{sum(v for k, v in gen['counts'].items() if k != 'enterprise'):,}",
        ],
        ["compile (s)", f"{seconds['compile']:.1f}"],
        ["compute (s)", f"{seconds['compute']:.1f}"],
        ["categories (s)", f"{seconds['categories']:.1f}"],
        ["write indicators (s)", f"{seconds.get('write', 0):.1f}"],
        ["index: load + score 3 models + top-k (s)", f"{it['load'] + it['score']:.1f}"],
        ["index: evidence join + write (s)", f"{it['explain_write']:.1f}"],
        ["warnings: compare (s)", f"{it['warnings']:.1f}"],
        ["publish to SQLite (s)", f"{it.get('publish', 0):.1f}"],
        ["total: indicators + index + warnings + publish (s)", f"{total:.1f}"],
        ["CPU (s): indicators / index, warnings, publish", f"{cpu_ind:.1f} / {cpu_index:.1f}"],
        ["one firm: indicators, restricted run, first (s)", f"{lat_ind[0]:.2f}"],
        [
            "one firm: indicators, restricted run, cached plan (s, best of 3)",
            f"{min(lat_ind[1:]):.2f}",
        ],
        ["one firm: index rescore (ms, best of 4)", f"{min(lat_idx) * 1000:.1f}"],
        *([f"floor: {k} weighted sum of 120 float32 cols (s)", f"{v:.2f}"] for k, v in fl.items()),
        ["peak RSS (MiB)", f"{rss:,.0f}"],
        ["indicator_value rows", f"{value_rows:,}"],
        ["published firm scores", f"{index.published.firm_scores if index.published else 0:,}"],
        ["load average before / after", f"{load_before} / {_load()}"],
    ]
    print_columns(["measure", "value"], rows)
    slow = sorted(steps.items(), key=lambda kv: -kv[1])[:10]
    print(_steps_line("Slowest plan steps (s)", dict(slow), 1))
    info = {
        "machine": machine(),
        "command": " ".join(["python", *sys.argv]),
        "generated": gen,
        "rows": dict(rows),
        "slowest_steps": dict(slow),
        "index_seconds": it,
        "latency_one_firm": {"indicators": lat_ind, "index": lat_idx},
        "memory_limit": args.memory_limit,
        "date": datetime.now(UTC).isoformat(),
    }
    # One entry per lake size: a run replaces only its own size's figures (its one-firm
    # entry stays until the next --one-firm run).
    path = RESULTS / "engine.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    runs = previous.get("runs", {}) if isinstance(previous.get("runs"), dict) else {}
    one_entry = runs.get(str(args.firms), {}).get("one_firm")
    runs[str(args.firms)] = info | ({"one_firm": one_entry} if one_entry else {})
    if not args.no_save:
        save_results(RESULTS, "engine", {"runs": runs}, _markdown(runs))


if __name__ == "__main__":
    main()
