"""Audit log benchmark: bulk append, full verification, a checkpoint and a proof at 1M entries.

For each backend (SQLite always; PostgreSQL when ``--pg-url`` or ``FENGYAN_TEST_PG_URL`` is
given, in a schema of its own that is dropped afterwards) it

1. appends N realistic entries (500 actors, every catalogued action, case/user/enterprise
   targets, small Chinese details) with ``append_many`` in one transaction;
2. signs a checkpoint (``create_checkpoint``: a full verify, then sign and export);
3. runs ``verify_log`` again, timed on its own — read every row, recompute every leaf hash
   from the columns, rebuild the tree, check the checkpoints;
4. builds one inclusion proof from the stored leaf hashes (``inclusion_proof``).

Wall and CPU seconds are both reported: the machine is shared, and CPU time shows what
the work costs when it is not waiting for a core.

    python benchmarks/bench_audit.py                      # 1,000,000 entries
    python benchmarks/bench_audit.py --entries 100000 --no-pg

Results go to benchmarks/results/audit.json and audit.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from fengyan.audit import AuditItem, AuditSettings, append_many, load_actions
from fengyan.audit.log import inclusion_proof
from fengyan.audit.verify import create_checkpoint, verify_log
from fengyan.settings import Settings
from fengyan.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import machine, print_columns

HERE = Path(__file__).resolve().parent
WORK = HERE / "work" / "audit"
RESULTS = HERE / "results"
COLUMNS = ["backend", "entries", "append s", "append/s", "checkpoint s", "verify s",
           "verify CPU s", "worker CPU s", "scan s", "check s", "proof s",
           "peak RSS MiB"]  # fmt: skip


def items(n: int) -> Iterator[AuditItem]:
    """Deterministic, varied entries (no randomness: same bytes every run)."""
    actions = sorted(load_actions())
    states = ["待分派", "核查中", "研判", "处置", "结案"]
    for i in range(n):
        action = actions[i % len(actions)]
        area = action.split(".")[0]
        target = (
            f"user/u{i % 977:04d}" if area in ("auth", "user")
            else f"enterprise/91440300MA5G{i % 99991:05d}X" if area in ("personal", "resolve")
            else f"case/2026-{i % 50000:05d}"
        )  # fmt: skip
        detail: dict[str, object] = {"from": states[i % 5], "to": states[(i + 1) % 5], "n": i}
        if i % 7 == 0:
            detail["note"] = "现场核查发现承诺年化收益 12%，已约谈法定代表人"
        yield AuditItem(f"officer{i % 500:03d}", action, target, detail)


def _cpu() -> float:
    mine = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the verify workers
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def run_backend(name: str, url: str, n: int) -> dict[str, Any]:
    """Append, checkpoint, verify and prove on one backend; return the figures."""
    home = WORK / name
    shutil.rmtree(home, ignore_errors=True)
    ws = Workspace(Settings(home, home / "lake", url, 25_000, "bench-key"))
    ws.init()
    engine = ws.engine
    audit = AuditSettings(home / "audit" / "signing.key", home / "audit" / "checkpoints")

    clock = time.perf_counter()
    with engine.begin() as conn:
        last = append_many(conn, items(n))
    append_s = time.perf_counter() - clock
    assert last == n

    clock = time.perf_counter()
    create_checkpoint(engine, audit)
    checkpoint_s = time.perf_counter() - clock

    clock, cpu = time.perf_counter(), _cpu()
    report = verify_log(engine, audit)
    verify_s, verify_cpu = time.perf_counter() - clock, _cpu() - cpu
    assert report.ok and report.tree_size == n and report.anchored_size == n

    clock = time.perf_counter()
    proof = inclusion_proof(engine, n // 3)
    proof_s = time.perf_counter() - clock
    assert proof.verify(report.root_hash)
    engine.dispose()
    return {
        "backend": name,
        "entries": n,
        "append_s": round(append_s, 2),
        "append_per_s": round(n / append_s),
        "checkpoint_s": round(checkpoint_s, 2),
        "verify_s": round(verify_s, 2),
        "verify_cpu_s": round(verify_cpu, 2),
        "worker_cpu_s": [round(c, 2) for c in report.cpu_seconds],
        "scan_s": round(report.seconds["scan"], 2),
        "check_s": round(report.seconds["check"], 2),
        "proof_s": round(proof_s, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "root": report.root_hash.hex(),
    }


def _row(r: dict[str, Any]) -> list[str]:
    return [r["backend"], f"{r['entries']:,}", f"{r['append_s']:.1f}", f"{r['append_per_s']:,}",
            f"{r['checkpoint_s']:.2f}", f"{r['verify_s']:.2f}", f"{r['verify_cpu_s']:.2f}",
            " + ".join(f"{c:.2f}" for c in r["worker_cpu_s"]), f"{r['scan_s']:.2f}",
            f"{r['check_s']:.2f}", f"{r['proof_s']:.2f}", str(r["peak_rss_mib"])]  # fmt: skip


def markdown(results: list[dict[str, Any]], info: dict[str, Any], command: str) -> str:
    """The results page."""
    return "\n".join([
        "# Audit log benchmark results",
        "",
        f"Command: `{command}`  ",
        f"Measured {info['date']} on {info['nproc']} CPUs ({info['cpu']}), "
        f"{info['memory_gib']} GiB RAM, Python {info['python']}, fengyan {info['fengyan']}; "
        f"load average (1 min) {info['load_1min'][0]} before, {info['load_1min'][1]} after.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---:" for _ in COLUMNS) + "|",
        *("| " + " | ".join(_row(r)) + " |" for r in results),
        "",
        "append: `append_many` of all entries in one transaction (validation, canonical JSON,",
        "leaf hash, insert). checkpoint: `create_checkpoint` (a full verify, then sign, export",
        "and record). verify: `verify_log` alone — scan is reading every row, recomputing its",
        "leaf hash from the columns and rebuilding the Merkle subtrees (two processes from",
        "200,000 entries on), check is folding the roots and holding them to the checkpoints;",
        "verify CPU s is user + system time of this process and its children; worker CPU s",
        "is each scanning process's own CPU time — on two idle cores, verify's wall time is",
        "about the larger of them plus check s. proof: one",
        "inclusion proof built from the stored leaf hashes. Peak RSS: the whole benchmark",
        "process so far (`ru_maxrss`).",
        "",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default=os.environ.get("FENGYAN_TEST_PG_URL"))
    parser.add_argument("--no-pg", action="store_true", help="SQLite only.")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()[0]
    results = [run_backend("sqlite", f"sqlite:///{WORK / 'sqlite' / 'fengyan.db'}", args.entries)]
    if args.pg_url and not args.no_pg:
        schema = f"bench_audit_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg_url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in args.pg_url else "?"
        try:
            url = f"{args.pg_url}{sep}options=-csearch_path%3D{schema}"
            results.append(run_backend("postgresql", url, args.entries))
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    shutil.rmtree(WORK, ignore_errors=True)

    print_columns(COLUMNS, [_row(r) for r in results])
    info = machine()
    # The machine may be shared: wall times mean little without the load they ran under.
    info["load_1min"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    command = "python benchmarks/bench_audit.py " + " ".join(argv or sys.argv[1:])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "audit.json").write_text(
        json.dumps({"machine": info, "command": command.strip(), "results": results}, indent=2)
        + "\n"
    )
    (RESULTS / "audit.md").write_text(markdown(results, info, command.strip()))


if __name__ == "__main__":
    main()
