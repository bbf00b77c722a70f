"""Scale benchmark: resolution and the graph on a simulated city of up to 3,000,000 firms.

The issue's target: 3,000,000 firms with about 6,000,000 ownership and officer edges —
resolution, controllers, groups and contagion each timed and memory-measured; under two
minutes in all on 2 cores and under 8 GB.

For each size N it needs a lake holding only the tables resolution and the graph read
(registry: enterprise, branch, shareholding, officer, person, phone, e-mail and web
contacts; the mention tables: complaints, ads, job posts, judgments, enforcement, 失信).
It builds one once and keeps it in ``var/bench-scale-<N>/`` (``--rebuild`` starts again):

    python -m fengyan simulate --enterprises N --months M --seed S --out var/bench-scale-N/city
    (ingest of the selected files of the manifest, in manifest order)

Then, in a fresh child process, it runs ``fengyan.resolve.service.resolve`` and
``fengyan.graph.service.build_graph`` on that lake and measures each step: wall time from
the reports' own timers, peak resident memory of the step from a 50 ms psutil timeline of
the child, and the child's ``ru_maxrss`` (exact, read by a wrapper process — the helpers of
bench_ingest.py). Other work shares the machine's cores, so the 1-minute load average
before and after is recorded.

    python benchmarks/bench_scale.py                        # 200,000 and 3,000,000 firms
    python benchmarks/bench_scale.py --sizes 200000 --no-save
    python benchmarks/bench_scale.py --sizes 3000000 --build-only
    python benchmarks/bench_scale.py --sizes 200000 --profile   # cProfile of the steps

Results go to benchmarks/results/scale.json and scale.md (``--no-save``: print only).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from _common import bench_workspace, run_wrapped
from bench_ingest import RESULTS, machine, print_columns
from fengyan.lake.store import CACHE_DIR

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
MiB = 1024 * 1024
DEFAULT_SIZES = (200_000, 3_000_000)
TARGET_SECONDS, TARGET_MIB = 120.0, 8 * 1000**3 / MiB  # "under 2 minutes … under 8 GB"
# The record types resolution and the graph read; everything else in the city is skipped.
TYPES = (
    "Enterprise",
    "Branch",
    "Shareholding",
    "Officer",
    "Person",
    "PhoneContact",
    "EmailContact",
    "WebPresence",
    "Complaint",
    "Advertisement",
    "RecruitmentPost",
    "Judgment",
    "Enforcement",
    "DishonestDebtor",
)


def measure(cmd: list[str], log: Path) -> tuple[dict[str, Any], list[tuple[float, float]]]:
    """Run ``cmd`` under the wrapper: its usage and an RSS timeline in epoch seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FENGYAN_")}
    env["FENGYAN_LANG"] = "en"
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent)
    returncode, info, _, samples = run_wrapped(cmd, log, env)
    log.with_suffix(".usage.json").unlink()
    timeline = [(epoch, rss / MiB) for _, epoch, rss in samples]
    if returncode or info["rc"]:
        sys.exit(f"{cmd[:4]} failed (exit {info['rc']}); see {log}:\n{log.read_text()[-3000:]}")
    return info, timeline


# --- building the lake (once per size) ------------------------------------------------


def _ingest_child(home: Path, city: Path) -> None:
    """Child process: ingest the selected files of ``city``'s manifest into ``home``."""
    from datetime import datetime

    from fengyan.ingest.manifest import Manifest
    from fengyan.ingest.service import ingest_one

    ws = bench_workspace(home)
    manifest = Manifest.load(city)
    rows: dict[str, int] = {}
    for item in manifest.files:
        if item.type not in TYPES:
            continue
        as_of = item.as_of or manifest.as_of
        if as_of is not None and not isinstance(as_of, datetime):
            as_of = datetime(as_of.year, as_of.month, as_of.day)
        report = ingest_one(
            ws,
            city / item.path,
            item.type,
            item.source or manifest.source or "",
            mapping=city / item.mapping if item.mapping else None,
            encoding=item.encoding,
            fmt=item.format,
            as_of=as_of,
        )
        rows[item.type] = rows.get(item.type, 0) + report.rows_stored
        print(f"{item.path}: {report.rows_stored:,} rows", flush=True)
    # As `ingest_path` does after the files it ingests: the lake's version ends.
    ws.lake.materialise()
    (home / "ingested.json").write_text(json.dumps(rows, indent=2))


def build(n: int, months: int, seed: int, rebuild: bool, keep_city: bool) -> dict[str, Any]:
    """The lake of size ``n`` under var/bench-scale-<n>/, built unless already there."""
    home = VAR / f"bench-scale-{n}"
    done = home / "built.json"
    if done.is_file() and not rebuild:
        built: dict[str, Any] = json.loads(done.read_text())
        if (built["months"], built["seed"]) == (months, seed):
            print(f"  {n:>9,} firms: lake cached in {home}", flush=True)
            return built
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    city = home / "city"
    print(f"  {n:>9,} firms: simulating {months} months …", flush=True)
    sim_cmd = [sys.executable, "-m", "fengyan", "simulate", "--enterprises", str(n)]
    sim_cmd += ["--months", str(months), "--seed", str(seed), "--out", str(city)]
    sim, _ = measure(sim_cmd, home / "simulate.log")
    summary = yaml.safe_load((city / "ground_truth" / "summary.yaml").read_text("utf-8"))
    print(f"  {n:>9,} firms: simulated in {sim['wall']:.0f} s; ingesting …", flush=True)
    ing, _ = measure(
        [sys.executable, str(Path(__file__)), "--ingest-child", str(home), str(city)],
        home / "ingest.log",
    )
    built = {
        "firms": n,
        "months": months,
        "seed": seed,
        "simulate_seconds": round(sim["wall"], 1),
        "simulate_peak_rss_mib": round(sim["maxrss_kib"] / 1024),
        "ingest_seconds": round(ing["wall"], 1),
        "ingest_peak_rss_mib": round(ing["maxrss_kib"] / 1024),
        "rows": json.loads((home / "ingested.json").read_text()),
        "schemes": int(summary["counts"]["schemes"]),
        "persons": int(summary["counts"]["persons"]),
    }
    if not keep_city:
        shutil.rmtree(city, ignore_errors=True)
    done.write_text(json.dumps(built, indent=2))
    print(f"  {n:>9,} firms: ingested in {ing['wall']:.0f} s", flush=True)
    return built


# --- measuring resolve and graph ----------------------------------------------------------


def _steps_child(home: Path, out: Path, profile: bool) -> None:
    """Child process: resolve, then build the graph; step times (epoch) and counts."""
    import cProfile
    import pstats

    from fengyan.graph.service import build_graph
    from fengyan.resolve.service import resolve

    ws = bench_workspace(home)
    prof = cProfile.Profile() if profile else None
    # Ingest's last step (`ingest_path`), deleted by the parent so that it is measured: the
    # lake's version ends, before and apart from resolution and the graph.
    start, cpu = time.time(), time.process_time()
    ws.lake.materialise()
    result: dict[str, Any] = {
        "versions": {"seconds": time.time() - start, "cpu": time.process_time() - cpu}
    }
    for name, fn in (("resolve", resolve), ("graph", build_graph)):
        start, cpu = time.time(), time.process_time()
        if prof:
            prof.enable()
        report = fn(ws)
        if prof:
            prof.disable()
        result[name] = {
            "start": start,
            "end": time.time(),
            "cpu": time.process_time() - cpu,
            "cpu_seconds": getattr(report, "cpu_seconds", {}),
            "seconds": report.seconds,
            "counts": getattr(report, "counts", None)
            or {"enterprise": report.enterprise, "person": report.person},
        }
    con = ws.lake.connect()
    try:
        result["edges"] = dict(
            con.execute(
                "SELECT relation, count(*) FROM graph_edge GROUP BY 1 ORDER BY 1"
            ).fetchall()
        )
        result["nodes"] = con.execute(
            "SELECT count(*) FROM (SELECT src FROM graph_edge UNION SELECT dst FROM graph_edge)"
        ).fetchall()[0][0]
        result["firms"] = con.execute(
            "SELECT count(*) FROM resolved_entity WHERE entity_kind = 'enterprise'"
        ).fetchall()[0][0]
        result["mentions"] = con.execute(
            "SELECT count(*) FROM resolved_link WHERE key_kind = 'record'"
        ).fetchall()[0][0]
    finally:
        con.close()
    if prof:
        stats = pstats.Stats(prof)
        stats.sort_stats("cumulative")
        width = 40
        result["profile"] = [
            {
                "function": f"{Path(f[0]).name}:{f[1]}({f[2]})",
                "calls": v[1],
                "own_s": round(v[2], 2),
                "cumulative_s": round(v[3], 2),
            }
            for f, v in sorted(stats.stats.items(), key=lambda kv: -kv[1][3])[:width]  # type: ignore[attr-defined]
        ]
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False))


def _windows(part: dict[str, Any], order: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    """Epoch windows of each step: the steps run in ``order`` from the start; ``write``
    ends the run (a step's share of the gaps between timers is negligible)."""
    out, t = {}, part["start"]
    for step in order:
        out[step] = (t, t + part["seconds"][step])
        t += part["seconds"][step]
    out["write"] = (part["end"] - part["seconds"]["write"], part["end"])
    return out


def run_size(n: int, built: dict[str, Any], profile: bool) -> dict[str, Any]:
    """Resolve and build the graph on the lake of size ``n`` in a child; the figures."""
    home = VAR / f"bench-scale-{n}"
    out, log = home / "steps.json", home / "steps.log"
    print(f"  {n:>9,} firms: resolve + graph …", flush=True)
    # The lake's version ends are ingest's last step; the child measures it (not in "all").
    shutil.rmtree(home / "lake" / CACHE_DIR, ignore_errors=True)
    load_before = os.getloadavg()
    cmd = [sys.executable, str(Path(__file__)), "--steps-child", str(home), str(out)]
    info, timeline = measure([*cmd, "--profile"] if profile else cmd, log)
    load_after = os.getloadavg()
    child = json.loads(out.read_text())
    windows = {
        "resolve": _windows(child["resolve"], ("materialise", "enterprise", "person")),
        "graph": _windows(
            child["graph"],
            ("materialise", "edges", "controllers", "groups", "signals", "contagion"),
        ),
    }
    steps = []
    for stage, parts in windows.items():
        for step, (a, b) in parts.items():
            samples = [m for t, m in timeline if a <= t <= b]
            cpu = (child[stage]["cpu_seconds"] or {}).get(step)
            steps.append(
                {
                    "stage": stage,
                    "step": step,
                    "seconds": round(b - a, 2),
                    "cpu_seconds": round(cpu, 2) if cpu is not None else None,
                    "peak_rss_mib": round(max(samples)) if samples else None,
                }
            )
    total = sum(child[s]["seconds"]["total"] for s in ("resolve", "graph"))
    peak = info["maxrss_kib"] / 1024
    result = {
        "firms": n,
        "months": built["months"],
        "seed": built["seed"],
        "build": built,
        "steps": steps,
        "resolve_seconds": round(child["resolve"]["seconds"]["total"], 1),
        "graph_seconds": round(child["graph"]["seconds"]["total"], 1),
        "resolve_cpu_seconds": round(child["resolve"]["cpu"], 1),
        "graph_cpu_seconds": round(child["graph"]["cpu"], 1),
        "versions_seconds": round(child["versions"]["seconds"], 1),
        "versions_cpu_seconds": round(child["versions"]["cpu"], 1),
        "total_seconds": round(total, 1),
        "process_seconds": round(info["wall"], 1),
        "cpu_seconds": round(info["cpu"], 1),
        "peak_rss_mib": round(peak),
        "load_average": [round(x, 2) for x in (*load_before, *load_after)],
        "edges": child["edges"],
        "ownership_officer_edges": child["edges"].get("shareholding", 0)
        + child["edges"].get("officer", 0),
        "nodes": child["nodes"],
        "resolved_firms": child["firms"],
        "linked_records": child["mentions"],
        "resolve_step_seconds": {k: round(v, 2) for k, v in child["resolve"]["seconds"].items()},
        "graph_step_seconds": {k: round(v, 2) for k, v in child["graph"]["seconds"].items()},
        "graph_counts": child["graph"]["counts"],
        "resolve_counts": child["resolve"]["counts"],
        "target": (
            ("met" if total < TARGET_SECONDS and peak < TARGET_MIB else "MISSED")
            + " (< 120 s, < 8 GB)"
            if n >= 3_000_000
            else "—"
        ),
        "profiled": profile,
    }
    if profile:
        result["profile"] = child["profile"]
    return result


# --- reporting ------------------------------------------------------------------------------


def step_table(results: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Rows: steps; columns: seconds and peak RSS per size."""
    columns = ["step"]
    for r in results:
        columns += [f"{r['firms']:,} s", "CPU s", "peak MiB"]
    names = [(s["stage"], s["step"]) for s in results[0]["steps"]]
    body = []
    for stage, step in names:
        row = [f"{stage}: {step}"]
        for r in results:
            s = next(x for x in r["steps"] if (x["stage"], x["step"]) == (stage, step))
            cpu = "—" if s["cpu_seconds"] is None else f"{s['cpu_seconds']:,.1f}"
            row += [f"{s['seconds']:,.1f}", cpu, f"{s['peak_rss_mib'] or 0:,}"]
        body.append(row)
    for stage in ("resolve", "graph"):
        row = [f"{stage}, total"]
        for r in results:
            row += [f"{r[stage + '_seconds']:,.1f}", f"{r[stage + '_cpu_seconds']:,.1f}", ""]
        body.append(row)
    row = ["all (process peak)"]
    for r in results:
        cpu = r["resolve_cpu_seconds"] + r["graph_cpu_seconds"]
        row += [f"{r['total_seconds']:,.1f}", f"{cpu:,.1f}", f"{r['peak_rss_mib']:,}"]
    body.append(row)
    row = ["ingest's version ends (not in all)"]
    for r in results:
        versions = (r.get("versions_seconds"), r.get("versions_cpu_seconds"))
        row += [f"{x:,.1f}" if x is not None else "—" for x in versions] + [""]
    body.append(row)
    return columns, body


def size_lines(r: dict[str, Any]) -> list[str]:
    """What each city held and how it was built."""
    b, e = r["build"], r["edges"]
    rows = ", ".join(f"{k} {v:,}" for k, v in b["rows"].items())
    return [
        f"- {r['firms']:,} firms × {r['months']} months (seed {r['seed']}): "
        f"{r['resolved_firms']:,} resolved firms, {r['linked_records']:,} mention records "
        f"linked; graph {r['nodes']:,} nodes, edges "
        + ", ".join(f"{k} {v:,}" for k, v in e.items())
        + f"; ownership + officer edges {r['ownership_officer_edges']:,}. "
        f"Wall {r['total_seconds']:,.1f} s (process {r['process_seconds']:,.1f} s, CPU "
        f"{r['cpu_seconds']:,.1f} s), peak RSS {r['peak_rss_mib']:,} MiB, load average "
        f"{r['load_average'][0]} before, {r['load_average'][3]} after; target {r['target']}.",
        "  Resolution's own timers: "
        + ", ".join(f"{k} {v:,.1f} s" for k, v in r["resolve_step_seconds"].items())
        + " (person_thread: the persons thread, beside the enterprise step).",
        "  Graph's own timers: "
        + ", ".join(f"{k} {v:,.1f} s" for k, v in r.get("graph_step_seconds", {}).items())
        + " (contagion_task: the contagion thread, beside controllers, groups and signals;"
        " contagion: the wait for it).",
        f"  Built once: simulate {b['simulate_seconds']:,} s ({b['simulate_peak_rss_mib']:,} "
        f"MiB), ingest {b['ingest_seconds']:,} s ({b['ingest_peak_rss_mib']:,} MiB) of "
        f"{rows}.",
    ]


def markdown(results: list[dict[str, Any]], info: dict[str, Any], command: str) -> str:
    """The results as docs/graph.md quotes them."""
    columns, body = step_table(results)
    lines = [
        "# Scale benchmark: resolution and graph",
        "",
        f"Command: `{command}`  ",
        f"Measured {info['date']} on {info['nproc']} CPUs ({info['cpu']}), "
        f"{info['memory_gib']} GiB RAM, Python {info['python']}, fengyan {info['fengyan']}, "
        f"duckdb {info['duckdb']}, pyarrow {info['pyarrow']}.",
        "",
        "| " + " | ".join(columns) + " |",
        "|---|" + "|".join("---:" for _ in columns[1:]) + "|",
        *("| " + " | ".join(r) + " |" for r in body),
        "",
        "Seconds: the steps' own wall-clock timers (`ResolveReport.seconds`,",
        "`GraphReport.seconds`). CPU s: CPU time of the process (all threads) during the step",
        "(`ResolveReport.cpu_seconds`, `GraphReport.cpu_seconds`): on a machine shared with",
        "other work, wall time grows with the load, CPU time does not. The lake's version",
        "ends (`Lake.materialise`) are ingest's last step since session 7 (`ingest_path`): they",
        'are deleted before the run and measured on their own first ("ingest\'s version ends"),',
        'not in resolution\'s `materialise` step (which then finds them written) nor in "all".',
        "Peak MiB: the highest resident memory of the child process sampled every 50 ms",
        "during the step; the last row is its exact `ru_maxrss` over the whole run.",
        "",
        *(line for r in results for line in size_lines(r)),
    ]
    for r in results:
        if r.get("profile"):
            lines += ["", f"cProfile, {r['firms']:,} firms (cumulative, slowest first):", ""]
            lines += ["| function | calls | own s | cumulative s |", "|---|---:|---:|---:|"]
            lines += [
                f"| `{p['function']}` | {p['calls']:,} | {p['own_s']} | {p['cumulative_s']} |"
                for p in r["profile"]
            ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Command line (and the two child entry points)."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--ingest-child"]:
        _ingest_child(Path(args[1]), Path(args[2]))
        return
    if args[:1] == ["--steps-child"]:
        _steps_child(Path(args[1]), Path(args[2]), "--profile" in args)
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", help="comma-separated firm counts (default 200000,3000000)")
    parser.add_argument("--months", type=int, default=12, help="simulated months (default 12)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rebuild", action="store_true", help="simulate and ingest again")
    parser.add_argument("--keep-city", action="store_true", help="keep the simulated files")
    parser.add_argument("--build-only", action="store_true", help="build the lakes, no timing")
    parser.add_argument("--profile", action="store_true", help="cProfile the steps (slower)")
    parser.add_argument("--no-save", action="store_true", help="print only; leave results/ alone")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where scale.json/.md go")
    opts = parser.parse_args(args)
    sizes = (
        tuple(int(s.replace("_", "")) for s in opts.sizes.split(","))
        if opts.sizes
        else DEFAULT_SIZES
    )
    info = machine()
    print(f"fengyan {info['fengyan']}, Python {info['python']}, {info['nproc']} CPUs")
    built = {n: build(n, opts.months, opts.seed, opts.rebuild, opts.keep_city) for n in sizes}
    if opts.build_only:
        return
    results = [run_size(n, built[n], opts.profile) for n in sizes]
    print()
    print_columns(*step_table(results))
    for r in results:
        print("\n".join(size_lines(r)))
    if opts.no_save:
        return
    command = " ".join(["python benchmarks/bench_scale.py", *args])
    opts.output.mkdir(parents=True, exist_ok=True)
    payload = {"machine": info, "command": command, "results": results}
    text = json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
    (opts.output / "scale.json").write_text(text, encoding="utf-8")
    (opts.output / "scale.md").write_text(markdown(results, info, command), encoding="utf-8")
    print(f"wrote {opts.output / 'scale.json'} and {opts.output / 'scale.md'}")


if __name__ == "__main__":
    main()
