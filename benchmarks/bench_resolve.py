"""Entity-resolution and graph benchmark against the simulator's ground truth.

For each (firms, seed) it simulates a city, ingests it, runs ``resolve`` and ``graph`` at
the shipped default thresholds, and prints

* precision and recall of linking event records that name a firm without its credit code
  (the dirty records), overall and per written form (ground_truth/mentions.csv);
* pairwise precision and recall of person records (ground_truth/person_ids.csv), as
  delivered and with the ID numbers of a share of records removed (``--drop-ids``), which
  makes the probabilistic person model do the work;
* agreement of the graph's controller with the simulator's (firms.csv);
* wall time of each step and the process's peak memory.

    python benchmarks/bench_resolve.py                          # 20,000 firms, seed 2
    python benchmarks/bench_resolve.py --firms 5000 --seed 1 --keep

The model's weights were set on seed 1 (``python -m fengyan.resolve.estimate``); seed 2, the
default, is the one reported.

Results go to benchmarks/results/resolve.json and resolve.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from _common import bench_workspace
from fengyan.graph.service import build_graph
from fengyan.ingest.service import ingest_path
from fengyan.resolve.evaluate import Evaluation, Score, evaluate, evaluate_controllers
from fengyan.resolve.service import resolve
from fengyan.simulate.params import load_params
from fengyan.simulate.service import simulate
from fengyan.workspace import Workspace

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
RESULTS = HERE / "results"


def _drop_ids(ws: Workspace, share: float, seed: int) -> int:
    """Blank the ID-number hash of ``share`` of person records, every duplicate among them.

    Rewrites the person batch files in place (a benchmark copy of the lake, never a real
    one): the resolver then has to find those people by name, phone and address.
    """
    dropped = 0
    for path in ws.lake.files("person"):
        table = pq.read_table(path)
        con = duckdb.connect()
        con.register("t", table)
        out = con.sql(
            f"""SELECT * REPLACE (CASE WHEN hash(person_id || '{seed}') % 1000 < {int(share * 1000)}
                                       THEN NULL ELSE id_number_hash END AS id_number_hash)
                FROM t"""  # noqa: S608 - numbers formatted by this script
        ).to_arrow_table()
        dropped += int(out["id_number_hash"].null_count) - int(table["id_number_hash"].null_count)
        con.close()
        pq.write_table(out.cast(table.schema), path, compression="zstd")
    return dropped


def _score(s: Score) -> dict[str, Any]:
    return {**asdict(s), "precision": round(s.precision, 4), "recall": round(s.recall, 4)}


# Written forms in which the record's name field holds the firm's name (the goal's
# population); product and platform names are not firm names (the text linker's job).
NAMED_FORMS = ("full", "short", "traditional", "typo", "brand")


def _report(ev: Evaluation) -> dict[str, Any]:
    named = Score()
    for form in NAMED_FORMS:
        s = ev.by_form.get(form, Score())
        named.total += s.total
        named.linked += s.linked
        named.correct += s.correct
    return {
        "mentions": _score(ev.mentions),
        "named": _score(named),
        "by_form": {k: _score(v) for k, v in sorted(ev.by_form.items())},
        "persons": _score(ev.persons),
        "methods": ev.methods,
    }


def run(firms: int, months: int, seed: int, drop: float, keep: bool) -> dict[str, Any]:
    """Simulate, ingest, resolve, build the graph and score; returns the measurements."""
    work = WORK / f"resolve-{firms}-{seed}"
    shutil.rmtree(work, ignore_errors=True)
    city = work / "city"
    timings: dict[str, float] = {}
    t = time.perf_counter()
    simulate(city, load_params(**{"enterprises.count": firms, "calendar.months": months}), seed)
    timings["simulate"] = time.perf_counter() - t
    ws = bench_workspace(work / "home")
    t = time.perf_counter()
    ingest_path(ws, city)
    timings["ingest"] = time.perf_counter() - t
    report = resolve(ws)
    timings |= {f"resolve_{k}": v for k, v in report.seconds.items()}
    graph = build_graph(ws)
    timings |= {f"graph_{k}": v for k, v in graph.seconds.items()}
    con = ws.lake.connect()
    truth = city / "ground_truth"
    delivered = _report(evaluate(con, truth))
    controllers = evaluate_controllers(con, truth)
    con.close()
    dropped = _drop_ids(ws, drop, seed)
    resolve(ws)
    con = ws.lake.connect()
    without_ids = _report(evaluate(con, truth))["persons"]
    con.close()
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "firms": firms,
        "months": months,
        "seed": seed,
        "resolve": delivered,
        "persons_without_ids": {"dropped_share": drop, "records_dropped": dropped, **without_ids},
        "controllers": {k: _score(v) for k, v in controllers.by_via.items()}
        | {"nominee_hidden_owner_listed": _score(controllers.hidden_owner_listed)},
        "graph_counts": graph.counts,
        "seconds": {k: round(v, 2) for k, v in timings.items()},
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }


def markdown(result: dict[str, Any]) -> str:
    """The result as the table docs/resolution.md quotes."""
    r = result["resolve"]
    lines = [
        f"# Resolution benchmark: {result['firms']:,} firms × {result['months']} months, "
        f"seed {result['seed']}",
        "",
        "| records | total | linked | correct | precision | recall |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def row(name: str, s: dict[str, Any]) -> None:
        lines.append(
            f"| {name} | {s['total']:,} | {s['linked']:,} | {s['correct']:,} | "
            f"{s['precision']:.4f} | {s['recall']:.4f} |"
        )

    row("dirty mentions, all", r["mentions"])
    row("**dirty mentions naming the firm (goal)**", r["named"])
    for form, s in r["by_form"].items():
        row(f"… written as {form}", s)
    row("person pairs, as delivered", r["persons"])
    row(
        f"person pairs, {result['persons_without_ids']['dropped_share']:.0%} of ID numbers removed",
        result["persons_without_ids"],
    )
    for via, s in result["controllers"].items():
        row(f"controller, truth via {via}", s)
    lines += ["", "| step | seconds |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in result["seconds"].items()]
    lines += ["", f"Peak RSS {result['peak_rss_mib']} MiB ({result['machine']})."]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--firms", type=int, default=20_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--drop-ids", type=float, default=0.3)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    result = run(args.firms, args.months, args.seed, args.drop_ids, args.keep)
    text = markdown(result)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "resolve.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    (RESULTS / "resolve.md").write_text(text)


if __name__ == "__main__":
    pa.set_cpu_count(2)
    main()
