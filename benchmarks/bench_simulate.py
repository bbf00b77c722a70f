"""Simulator benchmark: wall time and peak memory of ``fengyan simulate`` by city size.

For each size (firms × months) it runs

    python -m fengyan simulate --enterprises N --months M --seed S --out DIR

in a child process and measures wall time, the child's peak resident memory (exact, from
``getrusage`` in a small wrapper process, plus a 50 ms psutil timeline — the helpers of
bench_ingest.py) and what was written: files, records (rows of the agency files,
dirty rows included, from ground_truth/summary.yaml) and megabytes.

    python benchmarks/bench_simulate.py              # 20,000 × 36 and 3,000,000 × 36
    python benchmarks/bench_simulate.py --quick      # 20,000 × 12 and 200,000 × 12
    python benchmarks/bench_simulate.py --sizes 50000x24 --keep

Targets (the issue): 20,000 × 36 in under 30 s (``make demo``); 3,000,000 × 36 (Shenzhen)
in under 15 minutes with peak memory under 8 GB on 2 cores. Other work on the machine
competes for the cores, so the load average before and after each run is recorded.

Results go to benchmarks/results/simulate.json and simulate.md; output folders to
benchmarks/work/simulate/ (git-ignored), deleted afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from _common import save_results
from bench_ingest import RESULTS, WORK, _thin, baseline_rss, machine, measure, print_columns

HERE_WORK = WORK.parent / "simulate"  # beside work/ingest, which bench_ingest.py clears
DEFAULT_SIZES = ((20_000, 36), (3_000_000, 36))
QUICK_SIZES = ((20_000, 12), (200_000, 12))
TARGETS = {(20_000, 36): (30.0, None), (3_000_000, 36): (15 * 60.0, 8 * 1024.0)}  # s, MiB


@dataclass
class Result:
    """One measured simulation."""

    enterprises: int
    months: int
    seconds: float
    peak_rss_mib: float
    polled_peak_rss_mib: float
    cpu_seconds: float
    files: int  # agency files listed in the manifest
    records: int  # rows of the agency files (dirty rows included)
    dirty_records: int
    agency_mb: float
    ground_truth_mb: float
    schemes: int
    persons: int
    load_average: tuple[float, float]  # 1-minute load before and after
    target: str = ""
    rss_timeline: list[tuple[float, float]] = field(default_factory=list)  # (s, MiB)


def _mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def _verdict(n: int, months: int, seconds: float, rss: float) -> str:
    if (n, months) not in TARGETS:
        return ""
    limit_s, limit_mib = TARGETS[(n, months)]
    ok = seconds < limit_s and (limit_mib is None or rss < limit_mib)
    want = f"< {limit_s:.0f} s" + (f", < {limit_mib / 1024:.0f} GiB" if limit_mib else "")
    return f"{'met' if ok else 'MISSED'} ({want})"


def run_size(n: int, months: int, seed: int, keep: bool, env: dict[str, str]) -> Result:
    """Simulate one city into a fresh folder and collect the figures."""
    label = f"sim_{n}x{months}"
    out, log = HERE_WORK / label, HERE_WORK / f"{label}.log"
    shutil.rmtree(out, ignore_errors=True)
    print(f"  {n:>9,} firms × {months} months …", flush=True)
    cmd = [sys.executable, "-m", "fengyan", "simulate", "--enterprises", str(n)]
    cmd += ["--months", str(months), "--seed", str(seed), "--out", str(out)]
    load_before = os.getloadavg()[0]
    try:
        info, timeline = measure(cmd, log, env)
    except SystemExit as exc:  # measure() reports failures as an ingest's
        sys.exit(str(exc).replace("ingest failed", "simulate failed", 1))
    load_after = os.getloadavg()[0]
    summary = yaml.safe_load((out / "ground_truth" / "summary.yaml").read_text(encoding="utf-8"))
    manifest = yaml.safe_load((out / "manifest.yaml").read_text(encoding="utf-8"))
    truth_mb = _mb(out / "ground_truth")
    result = Result(
        enterprises=n,
        months=months,
        seconds=round(info["wall"], 1),
        peak_rss_mib=round(info["maxrss_kib"] / 1024, 1),
        polled_peak_rss_mib=max((m for _, m in timeline), default=0.0),
        cpu_seconds=round(info["cpu"], 1),
        files=len(manifest["files"]),
        records=sum(f["rows"] for f in summary["files"].values()),
        dirty_records=int(summary["dirty_total"]),
        agency_mb=round(_mb(out) - truth_mb, 1),
        ground_truth_mb=round(truth_mb, 1),
        schemes=int(summary["counts"]["schemes"]),
        persons=int(summary["counts"]["persons"]),
        load_average=(round(load_before, 2), round(load_after, 2)),
        rss_timeline=_thin(timeline),
    )
    result.target = _verdict(n, months, result.seconds, result.peak_rss_mib)
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
        for p in (log, log.with_suffix(".usage.json")):
            p.unlink(missing_ok=True)
    return result


COLUMNS = (
    "firms × months",
    "seconds",
    "peak RSS MiB",
    "CPU s",
    "files",
    "records",
    "records/s",
    "agency MB",
    "truth MB",
    "load before/after",
    "target",
)


def table_rows(results: list[Result]) -> list[list[str]]:
    return [
        [
            f"{r.enterprises:,} × {r.months}",
            f"{r.seconds:,.1f}",
            f"{r.peak_rss_mib:,.0f}",
            f"{r.cpu_seconds:,.1f}",
            f"{r.files}",
            f"{r.records:,}",
            f"{r.records / r.seconds:,.0f}",
            f"{r.agency_mb:,.1f}",
            f"{r.ground_truth_mb:,.1f}",
            f"{r.load_average[0]} / {r.load_average[1]}",
            r.target or "—",
        ]
        for r in results
    ]


def print_table(results: list[Result]) -> None:
    print_columns(COLUMNS, table_rows(results))


def markdown(results: list[Result], info: dict[str, Any], baseline: float, command: str) -> str:
    lines = [
        "# Simulator benchmark results",
        "",
        f"Command: `{command}`  ",
        f"Measured {info['date']} on {info['nproc']} CPUs ({info['cpu']}), "
        f"{info['memory_gib']} GiB RAM, Python {info['python']}, fengyan {info['fengyan']}, "
        f"numpy {info['numpy']}, pyarrow {info['pyarrow']}.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---:" for _ in COLUMNS) + "|",
        *("| " + " | ".join(r) + " |" for r in table_rows(results)),
        "",
        "Seconds: wall time of the whole `python -m fengyan simulate` process, start-up",
        "included. Peak RSS: the process's `ru_maxrss`. CPU s: user + system time. Records:",
        "rows of the agency files (dirty rows included); agency MB: the delivery folders and",
        "manifest; truth MB: ground_truth/. Load: the 1-minute load average before and after",
        "the run (other work shares the machine's cores).",
        f"Peak RSS of `python -m fengyan version` (interpreter and imports): {baseline:.0f} MiB.",
        "",
    ]
    for r in results:
        lines.append(
            f"- {r.enterprises:,} × {r.months}: {r.persons:,} people, {r.schemes:,} schemes, "
            f"{r.dirty_records:,} dirty rows; polled peak RSS {r.polled_peak_rss_mib:,.0f} MiB."
        )
    return "\n".join(lines) + "\n"


def _size(text: str) -> tuple[int, int]:
    firms, _, months = text.replace("_", "").partition("x")
    return int(firms), int(months or 36)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--sizes", help="comma-separated FIRMSxMONTHS (default 20000x36,3000000x36)"
    )
    parser.add_argument("--quick", action="store_true", help="20000x12 and 200000x12: a smoke test")
    parser.add_argument("--keep", action="store_true", help="keep the simulated folders")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-save", action="store_true", help="print only; leave results/ alone")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where simulate.json/.md go")
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = tuple(_size(s) for s in args.sizes.split(","))
    else:
        sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES

    env = {k: v for k, v in os.environ.items() if not k.startswith("FENGYAN_")}
    env["FENGYAN_LANG"] = "en"
    HERE_WORK.mkdir(parents=True, exist_ok=True)
    info = machine()
    print(
        f"fengyan {info['fengyan']}, Python {info['python']}, {info['nproc']} CPUs, {info['cpu']}"
    )
    baseline = baseline_rss(env)
    results = [run_size(n, m, args.seed, args.keep, env) for n, m in sizes]
    print()
    print_table(results)
    print(f"\nimports-only baseline RSS: {baseline:.0f} MiB")
    if not args.keep:
        shutil.rmtree(HERE_WORK, ignore_errors=True)
    if args.no_save:
        return
    command = " ".join(
        ["python benchmarks/bench_simulate.py", *(sys.argv[1:] if argv is None else argv)]
    )
    payload = {
        "machine": info,
        "command": command,
        "baseline_rss_mib": baseline,
        "results": [asdict(r) for r in results],
    }
    save_results(args.output, "simulate", payload, markdown(results, info, baseline, command))


if __name__ == "__main__":
    main()
