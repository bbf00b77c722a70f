"""Load test of the web workbench: ``fengyan serve`` on a published city, driven by wrk.

Starts ``fengyan serve --workers N`` (default: one per core) on a workspace whose city has
been run (``--home``; the database from ``--db-url``, PostgreSQL for the issue's figures),
issues an analyst an API token, then for each number of connections (default 50 and 200)
runs closed-loop clients (zero think time) for ``--seconds`` with wrk
(``benchmarks/wrk_paths.lua``: a random path per request from a file, the token as the
``Authorization`` header; ``make bench-tools`` installs wrk):

* **profile** — ``GET /firm/<id>`` (the HTML page) of random graded firms (the warning
  list's links; cached per run after the first view, warmed before measuring);
* **profile_any_firm** — ``GET /firm/<id>`` of any firm of the city (mostly first views:
  the uncached cost);
* **warnings** — ``GET /warnings?page=<k>`` (the HTML list, 50 rows, random page);
* **public_check** — ``GET /api/v1/public/check?q=<name>`` (no login) for throughput, the
  server started with ``FENGYAN_WEB_PUBLIC_RATE`` raised so that the one client address
  here is not turned into a 429 test; a second server with the default budget checks that
  the 61st request in a minute answers 429;
* **baseline** — a bare FastAPI ``/ping`` (a sync endpoint returning a small dict) under
  the same uvicorn, worker count and load generator: the machine's ceiling at that moment.

Each row records requests/s, latency p50/p95/p99, statuses, the 1-minute load average
before the run and the CPU seconds the server processes and wrk used. Without wrk (or with
``--generator httpx``) the old asyncio + httpx generator runs instead; it saturates a core
itself and its figures are not comparable. Results: benchmarks/results/web.{json,md}.

    make bench-tools
    nice -n 10 .venv/bin/python benchmarks/bench_web.py --home var/webbench \
        --db-url 'postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dw3bench'

(the city: ``FENGYAN_DATABASE_URL=<same URL> FENGYAN_PSEUDONYM_KEY=bench-key
.venv/bin/fengyan demo --no-serve --home var/webbench``.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
WRK_SCRIPT = ROOT / "benchmarks" / "wrk_paths.lua"
sys.path.insert(0, str(ROOT / "benchmarks"))
from _common import save_results  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def _workspace(home: Path, db_url: str) -> Any:
    """The benchmark city's workspace (the pseudonym key from the environment)."""
    from fengyan.settings import Settings
    from fengyan.workspace import Workspace

    os.environ.setdefault("FENGYAN_PSEUDONYM_KEY", "bench-key")
    return Workspace(
        Settings(
            home=home,
            lake_dir=home / "lake",
            database_url=db_url,
            chunk_rows=50_000,
            pseudonym_key_env="FENGYAN_PSEUDONYM_KEY",
        )
    )


def _firms_in_scope(ws: Any, scope: str = "4403") -> list[str]:
    """Every resolved enterprise id of the city whose region lies in ``scope``."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    universe = pq.read_table(
        ws.lake.derived_files()["resolved_entity"],
        columns=["canonical_id", "entity_kind", "region_code"],
    )
    keep = pc.and_(
        pc.equal(universe["entity_kind"], "enterprise"),
        pc.starts_with(pc.fill_null(universe["region_code"], ""), scope),
    )
    ids: list[str] = universe.filter(keep)["canonical_id"].to_pylist()
    return ids


def _setup(home: Path, db_url: str) -> tuple[str, list[str], list[str], list[str]]:
    """An analyst token, graded firm ids, every firm id in scope, listed names."""
    from fengyan.db.published import FirmScore
    from fengyan.web.security.accounts import do_create_user, do_issue_token
    from fengyan.web.settings import WebSettings

    ws = _workspace(home, db_url)
    settings = WebSettings(argon2_time_cost=1, argon2_memory_kib=1024, argon2_parallelism=1)
    name = f"bench{int(time.time())}"
    with Session(ws.engine, expire_on_commit=False) as db:
        user = do_create_user(
            db,
            settings,
            actor="bench",
            username=name,
            role="analyst",
            scope="4403",
            password=None,
            display_name=name,
        )
    with Session(ws.engine) as db:
        token = do_issue_token(db, settings, actor="bench", user=user, label="bench").token
        rows = db.execute(
            select(FirmScore.firm_id, FirmScore.name, FirmScore.grade).where(
                FirmScore.model == "dolphin-v1", FirmScore.region_code.like("4403%")
            )
        ).all()
    ws.engine.dispose()
    everyone = _firms_in_scope(ws)
    firms = [r[0] for r in rows]
    names = [r[1] for r in rows if r[1] and r[2] in ("red", "orange", "yellow")]
    return token, firms, everyone, names or ["不存在的企业"]


async def _run(
    base: str, users: int, seconds: float, make_url: Any, headers: dict[str, str]
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=60.0
    ) as client:

        async def user() -> None:
            while time.monotonic() < stop:
                mark = time.perf_counter()
                try:
                    r = await client.get(make_url())
                    code = str(r.status_code)
                except httpx.HTTPError as exc:  # counted, not fatal: a timeout is a result
                    code = type(exc).__name__
                latencies.append((time.perf_counter() - mark) * 1000)
                statuses[code] = statuses.get(code, 0) + 1

        started = time.monotonic()
        await asyncio.gather(*(user() for _ in range(users)))
        wall = time.monotonic() - started
    return {
        "users": users,
        "requests": len(latencies),
        "rps": len(latencies) / wall,
        "p50_ms": _percentile(latencies, 50),
        "p95_ms": _percentile(latencies, 95),
        "p99_ms": _percentile(latencies, 99),
        "statuses": dict(sorted(statuses.items())),
    }


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` and its live descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return total


def _wrk(
    base: str,
    paths: list[str],
    conns: int,
    seconds: float,
    headers: dict[str, str],
    server_pid: int,
) -> dict[str, Any]:
    """One closed-loop wrk run over ``paths``; requests/s, percentiles, statuses, CPU."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(paths) + "\n")
        path_file = fh.name
    cmd = [
        "wrk",
        "-t1",
        f"-c{conns}",
        f"-d{seconds:.0f}s",
        "--timeout",
        "30s",
        "-s",
        str(WRK_SCRIPT),
    ]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd += [base, "--", path_file]
    before_server = _tree_cpu(server_pid)
    before_wrk = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(path_file)
    after_wrk = resource.getrusage(resource.RUSAGE_CHILDREN)
    found = re.search(r"^WRK_JSON (.*)$", out, re.M)
    if found is None:
        raise RuntimeError("wrk printed no result:\n" + out)
    raw = json.loads(found.group(1))
    wall = raw["duration_us"] / 1e6
    statuses = dict(raw["statuses"])
    errors = {k: v for k, v in raw["errors"].items() if v and k != "status"}
    return {
        "users": conns,
        "requests": raw["requests"],
        "rps": raw["requests"] / wall,
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "statuses": {**statuses, **errors},
        "server_cpu_s": _tree_cpu(server_pid) - before_server,
        "wrk_cpu_s": (after_wrk.ru_utime + after_wrk.ru_stime)
        - (before_wrk.ru_utime + before_wrk.ru_stime),
        "seconds": wall,
    }


def _drain(server_pid: int, quiet_cpu_s: float = 0.05, limit_s: float = 120.0) -> None:
    """Wait until the server has finished what the previous run left queued.

    wrk stops sending at the end of a run, but requests it had in flight (up to one per
    connection: 200 uncached profiles are seconds of CPU) are still worked off; measured in
    the next run they inflated its CPU per request and its latencies.
    """
    deadline = time.monotonic() + limit_s
    last = _tree_cpu(server_pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = _tree_cpu(server_pid)
        if now - last < quiet_cpu_s:
            return
        last = now


def _measure(
    generator: str,
    base: str,
    paths: list[str],
    conns: int,
    seconds: float,
    headers: dict[str, str],
    server_pid: int,
) -> dict[str, Any]:
    _drain(server_pid)
    load = os.getloadavg()[0]
    if generator == "wrk":
        r = _wrk(base, paths, conns, seconds, headers, server_pid)
    else:
        before = _tree_cpu(server_pid)
        rng = random.Random(7)
        r = asyncio.run(_run(base, conns, seconds, lambda: rng.choice(paths), headers))
        r["server_cpu_s"] = _tree_cpu(server_pid) - before
    r["load_avg"] = load
    # The primary figure on a shared machine: server CPU per answered request.
    r["server_cpu_ms_per_request"] = 1000 * r["server_cpu_s"] / max(1, r["requests"])
    return r


def _serve(
    home: Path, db_url: str, port: int, public_rate: int, workers: int | None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FENGYAN_HOME": str(home),
        "FENGYAN_DATABASE_URL": db_url,
        "FENGYAN_WEB_SECURE_COOKIES": "0",
        "FENGYAN_WEB_PUBLIC_RATE": str(public_rate),
        "FENGYAN_WEB_PORT": str(port),
    }
    env.setdefault("FENGYAN_PSEUDONYM_KEY", "bench-key")
    cmd = [sys.executable, "-m", "fengyan", "serve", "--port", str(port)]
    if workers:
        cmd += ["--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return _wait_up(proc, f"http://127.0.0.1:{port}/openapi.json", 120, "fengyan serve")


def _wait_up(
    proc: subprocess.Popen[bytes], url: str, seconds: float, what: str
) -> subprocess.Popen[bytes]:
    """``proc`` once ``url`` answers 200; killed, and an error, after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"{what} did not start")


PAGES = ("profile", "profile_any_firm", "warnings", "public_check", "baseline")
BASELINE_APP = """
from fastapi import FastAPI
app = FastAPI()
@app.get("/ping")
def ping() -> dict[str, str]:
    return {"ok": "yes"}
"""


def _baseline(port: int, workers: int, folder: Path) -> subprocess.Popen[bytes]:
    """A bare FastAPI endpoint under the same uvicorn and worker count: the machine's ceiling."""
    (folder / "bench_ping_app.py").write_text(BASELINE_APP)
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench_ping_app:app",
        "--app-dir",
        str(folder),
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    return _wait_up(proc, f"http://127.0.0.1:{port}/ping", 60, "baseline server")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Web workbench load test (`benchmarks/bench_web.py`)",
        "",
        f"City: {results['universe']:,} firms in scope 4403, {results['firms']:,} graded "
        f"(dolphin-v1); `fengyan serve --workers {results['workers']}` on PostgreSQL; "
        f"load generator {results['generator']} (closed loop, zero think time) on the same "
        f"{os.cpu_count()}-core machine, shared with other jobs (1-minute load average before "
        "each run in the table; CPU seconds of the server processes and of wrk during the "
        "run). `profile` opens graded firms (cached per run after the first view), "
        "`profile_any_firm` any firm of the city (mostly first views: the uncached cost). "
        "The baseline is a bare FastAPI endpoint under the same uvicorn, workers and load "
        "generator: the machine's ceiling at that moment.",
        "",
        "| page | conns | req/s | p50 ms | p95 ms | p99 ms | statuses | load avg "
        "| server CPU s | server CPU ms/request | wrk CPU s |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    nan = float("nan")
    for r in results["runs"]:
        lines.append(
            f"| {r['page']} | {r['users']} | {r['rps']:.1f} | {r['p50_ms']:.0f} "
            f"| {r['p95_ms']:.0f} | {r['p99_ms']:.0f} | {r['statuses']} | {r['load_avg']:.1f} "
            f"| {r.get('server_cpu_s', nan):.1f} "
            f"| {r.get('server_cpu_ms_per_request', nan):.2f} | {r.get('wrk_cpu_s', nan):.1f} |"
        )
    if "first_request_s" in results:
        lines += [
            "",
            f"First profile request (builds the lake copy): {results['first_request_s']:.1f} s",
        ]
    if "default_limit" in results:
        lines += ["", f"Default public budget (60/min per address): {results['default_limit']}"]
    return "\n".join(lines) + "\n"


def _write(results: dict[str, Any]) -> None:
    """Write web.json and web.md with what has been measured so far."""
    results["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_avg_end": os.getloadavg(),
    }
    text = _markdown(results)
    save_results(RESULTS, "web", results, text)
    print(text)


def first_view_parts(home: Path, db_url: str, firms: int) -> None:
    """Print the CPU per part of an uncached profile: the services called one by one, in
    this process, for ``firms`` random firms of the city (an analyst of scope 4403)."""
    from fengyan.web.scope import Principal
    from fengyan.web.services import profile as p
    from fengyan.web.services.firms import published_scores, visible_firm
    from fengyan.web.services.lakecache import lake_cache

    ws = _workspace(home, db_url)
    cache = lake_cache(ws.lake)
    mark = time.process_time()
    cache.refresh()
    built = time.process_time() - mark
    sample = random.Random(1).sample(_firms_in_scope(ws), firms)
    who = Principal.for_role("bench", "analyst", "4403")
    model = "dolphin-v1"
    parts: dict[str, float] = {}

    def timed(name: str, call: Any, *args: Any) -> Any:
        mark = time.process_time()
        out = call(*args)
        parts[name] = parts.get(name, 0.0) + time.process_time() - mark
        return out

    with Session(ws.engine) as db:
        for fid in sample[:5]:  # warm the statement caches
            rows = published_scores(db, fid)
            p._profile(db, cache, who, visible_firm(db, cache, who, fid, rows), rows, model, "zh")
        parts.clear()
        for fid in sample:
            rows = timed("published scores (database)", published_scores, db, fid)
            firm = timed("find firm, check scope", visible_firm, db, cache, who, fid, rows)
            timed("registry", p.registry_facts, cache, who, firm.credit_code, "zh")
            scores = timed("scores", p._model_scores, rows, "zh")
            timed("controllers, holders", p.ownership, cache, who, fid)
            timed("indicators + evidence", p.indicator_rows, cache, fid, scores, model, "zh")
            timed("timeline", p.timeline, cache, fid, "zh")
            timed("group (+ database)", p.group, db, cache, who, fid, model)
            timed("warnings (database)", p.warning_history, db, fid, "zh")
        mark = time.process_time()
        for fid in sample:
            rows = published_scores(db, fid)
            p._profile(db, cache, who, visible_firm(db, cache, who, fid, rows), rows, model, "zh")
        whole = time.process_time() - mark
    print(f"lake copy built in {built:.1f} CPU s; key indexes {cache.index_bytes / 2**20:.0f} MiB")
    for name, cpu in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"  {name:30s} {1000 * cpu / firms:6.2f} ms")
    print(f"whole uncached profile (_profile): {1000 * whole / firms:.2f} CPU ms per firm")
    print(f"load average {os.getloadavg()}")


def main() -> None:
    """Run the benchmark and write the results."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--db-url", required=True)
    parser.add_argument(
        "--users", type=int, nargs="+", default=[50, 200], help="closed-loop connections per run"
    )
    parser.add_argument("--public-users", type=int, default=50)
    parser.add_argument(
        "--pages",
        nargs="+",
        choices=PAGES,
        default=list(PAGES),
        help="rows to run (default: all); results are written for these rows only",
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes (default: fengyan serve's, one per core)",
    )
    parser.add_argument(
        "--generator",
        choices=["wrk", "httpx"],
        default=None,
        help="default: wrk when installed (make bench-tools), else httpx",
    )
    parser.add_argument(
        "--first-view-parts",
        type=int,
        metavar="N",
        help="instead of the load test: CPU per part of N uncached profiles, in process",
    )
    args = parser.parse_args()
    if args.first_view_parts:
        first_view_parts(args.home, args.db_url, args.first_view_parts)
        return
    generator = args.generator or ("wrk" if shutil.which("wrk") else "httpx")
    if generator == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: make bench-tools")
    from fengyan.web.settings import WebSettings

    workers = args.workers or WebSettings.from_env().worker_count

    token, firms, everyone, names = _setup(args.home, args.db_url)
    rng = random.Random(7)
    profile_paths = [f"/firm/{quote(f, safe='')}" for f in firms]
    any_paths = [
        f"/firm/{quote(f, safe='')}" for f in rng.sample(everyone, min(5000, len(everyone)))
    ]
    pages_max = max(1, -(-len(firms) // 50))
    warning_paths = [f"/warnings?page={k}" for k in range(1, pages_max + 1)]
    public_paths = [f"/api/v1/public/check?q={quote(n, safe='')}" for n in names]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(args.home, args.db_url, port, 10_000_000, workers)
    results: dict[str, Any] = {
        "firms": len(firms),
        "universe": len(everyone),
        "runs": [],
        "workers": workers,
        "generator": generator,
    }
    auth = {"Authorization": f"Bearer {token}"}
    try:
        mark = time.perf_counter()
        httpx.get(f"{base}{profile_paths[0]}", headers=auth, timeout=600)
        results["first_request_s"] = time.perf_counter() - mark
        # Warm every worker's caches the way a day of use would: each graded firm's profile
        # and each list page several times (connections land on workers at random).
        with httpx.Client(base_url=base, headers=auth, timeout=600) as client:
            for _ in range(3 * workers):
                for path in profile_paths + warning_paths:
                    client.get(path, headers={"Connection": "close"})
        for users in args.users:
            for name, paths in (
                ("profile", profile_paths),
                ("profile_any_firm", any_paths),
                ("warnings", warning_paths),
            ):
                if name not in args.pages:
                    continue
                r = _measure(generator, base, paths, users, args.seconds, auth, proc.pid)
                r["page"] = name
                results["runs"].append(r)
                print(
                    f"{name:16s} conns={users:4d} rps={r['rps']:7.1f} p50={r['p50_ms']:7.1f} "
                    f"p95={r['p95_ms']:7.1f} p99={r['p99_ms']:7.1f} {r['statuses']} "
                    f"cpu={r['server_cpu_ms_per_request']:.2f}ms/req load={r['load_avg']:.1f}",
                    flush=True,
                )
        if "public_check" in args.pages:
            r = _measure(
                generator, base, public_paths, args.public_users, args.seconds, {}, proc.pid
            )
            r["page"] = "public_check"
            results["runs"].append(r)
            print(
                f"public_check     conns={args.public_users:4d} rps={r['rps']:7.1f} "
                f"p95={r['p95_ms']:7.1f} {r['statuses']}",
                flush=True,
            )
    finally:
        _stop(proc)
    _write(results)
    if "public_check" not in args.pages and "baseline" not in args.pages:
        return
    # The default budget (60 per minute per address) must answer 429 beyond it. One worker:
    # each worker keeps its own budget (docs/web.md).
    port = _free_port()
    proc = _serve(args.home, args.db_url, port, 60, 1)
    try:
        codes = [
            httpx.get(
                f"http://127.0.0.1:{port}/api/v1/public/check", params={"q": names[0]}, timeout=120
            ).status_code
            for _ in range(61)
        ]
        results["default_limit"] = {"first_60_ok": codes[:60].count(200), "61st": codes[60]}
    finally:
        _stop(proc)
    if "baseline" not in args.pages:
        _write(results)
        return
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        proc = _baseline(port, workers, Path(folder))
        try:
            r = _measure(
                generator,
                f"http://127.0.0.1:{port}",
                ["/ping"],
                args.public_users,
                args.seconds,
                {},
                proc.pid,
            )
            r["page"] = "baseline: bare FastAPI /ping"
            results["runs"].append(r)
            print(
                f"baseline         conns={args.public_users:4d} rps={r['rps']:7.1f} "
                f"p95={r['p95_ms']:7.1f}"
            )
        finally:
            _stop(proc)
    _write(results)


if __name__ == "__main__":
    main()
