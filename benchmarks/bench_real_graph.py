"""Real ownership data through the graph: load, resolve and controllers, timed and counted.

Reads the ICIJ Panama Papers subgraphs and the OpenSanctions FtM files of ``shared/data``
(``FENGYAN_SHARED_DATA`` or ``../shared/data``), one dataset at a time and all together,
and for each prints records, edges, entities after resolution, merges, holdings by basis,
controllers by basis and the wall time of each step (median of ``--repeat`` runs; the
first run also pays for loading the rule files and, for Han-script names, the division
table — reported separately as ``first run``).

    python benchmarks/bench_real_graph.py [--repeat 5]

Results go to benchmarks/results/real_graph.json and real_graph.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fengyan.graph.external import ExternalData, read_ftm, read_icij_bulk, read_icij_viz
from fengyan.graph.external_graph import analyse

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DATA = Path(os.environ.get("FENGYAN_SHARED_DATA", HERE.parents[1] / "shared" / "data"))
ICIJ = DATA / "icij-offshore-subgraphs"
FTM = DATA / "opensanctions-ftm"

READERS: dict[str, Callable[[], ExternalData]] = {
    "icij-viz (74 subgraphs)": lambda: read_icij_viz(ICIJ),
    "icij-bulk (mini excerpt)": lambda: read_icij_bulk(ICIJ / "icij_bulk_schema_mini"),
    "ftm zala_cluster": lambda: read_ftm(FTM / "zala_cluster.ftm.jsonl"),
    "ftm eu_fsf_t1": lambda: read_ftm(FTM / "eu_fsf_t1.ftm.jsonl"),
    "ftm wd_peps_sa": lambda: read_ftm(FTM / "wd_peps_sa.ftm.jsonl"),
}


def measure(names: list[str], repeat: int) -> dict[str, Any]:
    """Load, resolve and analyse the named datasets ``repeat`` times; medians and counts."""
    runs: list[dict[str, float]] = []
    for _ in range(repeat):
        mark = time.perf_counter()
        datas = [READERS[n]() for n in names]
        seconds = {"load": time.perf_counter() - mark}
        result = analyse(datas)
        seconds |= result.seconds
        seconds["total"] = sum(seconds.values())
        runs.append(seconds)
    steps = list(runs[0])
    med = {s: statistics.median(r[s] for r in runs[1:] or runs) for s in steps}
    res, inp = result.resolution.report, result.inputs.report
    bases = Counter(result.control.control["basis"].to_pylist())
    return {
        "datasets": names,
        "records": res["distinct_ids"],
        "edges": sum(d.edges.num_rows for d in datas),
        "entities": res["entities"],
        "merged": res["merged_records"],
        "name_links": res["name_links"],
        "same_as_links": res["same_as_links"],
        "blocked_by_conflict": res["blocked_by_conflict"],
        "holdings": inp["holdings"],
        "holdings_by_basis": {
            k[len("holdings_") :]: v
            for k, v in inp.items()
            if k.startswith("holdings_") and k not in ("holdings_of_non_firms",)
        },
        "oversubscribed_firms": inp["oversubscribed_firms"],
        "controllers": result.control.control.num_rows,
        "controllers_by_basis": dict(sorted(bases.items())),
        "cycles": len(result.cycles),
        "groups_multi": len(
            {g["group_id"] for g in result.groups.to_pylist() if g["group_size"] > 1}
        ),
        "not_represented": dict(sum((Counter(d.not_represented) for d in datas), Counter())),
        "seconds_first_run": runs[0],
        "seconds": med,
    }


def markdown(rows: list[dict[str, Any]], info: dict[str, Any]) -> str:
    """The results page."""
    out = [
        "# Real ownership data through the graph",
        "",
        f"`{info['command']}` — {info['machine']}; median of {info['repeat']} runs after the "
        "first (which also loads the rule files); peak RSS of the process "
        f"{info['peak_rss_mib']:.0f} MiB.",
        "",
        "| dataset | records | edges | entities | merged | holdings | controllers | "
        "load s | resolve s | shares s | controllers s | groups s | total s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        s = r["seconds"]
        out.append(
            f"| {r['label']} | {r['records']:,} | {r['edges']:,} | {r['entities']:,} | "
            f"{r['merged']} | {r['holdings']} | {r['controllers']} | {s['load']:.3f} | "
            f"{s['resolve']:.3f} | {s['inputs']:.3f} | {s['controllers']:.3f} | "
            f"{s['groups']:.3f} | {s['total']:.3f} |"
        )
    out += ["", "| dataset | holdings by basis | controllers by basis | not represented |"]
    out += ["|---|---|---|---|"]
    for r in rows:
        basis = ", ".join(f"{k} {v}" for k, v in r["holdings_by_basis"].items() if v)
        ctrl = ", ".join(f"{k} {v}" for k, v in r["controllers_by_basis"].items())
        left = ", ".join(f"{k} {v}" for k, v in r["not_represented"].items())
        out.append(f"| {r['label']} | {basis or '—'} | {ctrl or '—'} | {left or '—'} |")
    return "\n".join(out) + "\n"


def main() -> None:
    """Run every dataset alone and all together; print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not (ICIJ / "nodes.csv").is_file():
        raise SystemExit(f"no ICIJ data at {ICIJ} (set FENGYAN_SHARED_DATA)")
    rows = []
    for name in READERS:
        rows.append({"label": name, **measure([name], args.repeat)})
    rows.append({"label": "all five together", **measure(list(READERS), args.repeat)})
    info = {
        "command": f"python benchmarks/bench_real_graph.py --repeat {args.repeat}",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "repeat": args.repeat,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    page = markdown(rows, info)
    print(page)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "real_graph.md").write_text(page, encoding="utf-8")
    (RESULTS / "real_graph.json").write_text(
        json.dumps({"info": info, "rows": rows}, indent=2, ensure_ascii=False), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
