"""Load test of the web workbench: ``fengyan serve`` on a published city, asyncio + httpx.

Starts ``fengyan serve`` (one uvicorn process) on a workspace whose city has been run
through ``fengyan run`` (``--home``; the database from ``--db-url``, PostgreSQL for the
issue's figures), signs a load user in with an API token, then for each concurrency level
(default 50 and 200 users) runs closed-loop virtual users for ``--seconds``:

* **profile** — ``GET /firm/<id>`` (the HTML page: registry, scores, indicators with
  evidence, timeline, controllers, group, warning history) for random graded firms;
* **warnings** — ``GET /warnings?page=<k>`` (the HTML list, 50 rows, random page);

and reports requests/s and latency p50/p95/p99 of each. The public check
(``GET /api/v1/public/check?q=<name>``, no login) is measured for throughput with
``--public-users`` virtual users; the server runs with ``FENGYAN_WEB_PUBLIC_RATE`` raised
so that the budget per client address (one address here) does not turn the test into a
429 test — one run with the default budget checks that the limit answers 429.

The load generator runs on the same machine as the server (2 shared cores): its own CPU
use is part of what is measured. Results: benchmarks/results/web.md and web.json.

    nice -n 10 python benchmarks/bench_web.py --home /tmp/demo/home \\
        --db-url 'postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dw2bench'
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


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


def _setup(home: Path, db_url: str) -> tuple[str, list[str], list[str], list[str]]:
    """An analyst token, graded firm ids, every firm id in scope, listed names."""
    from fengyan.db.published import FirmScore
    from fengyan.settings import Settings
    from fengyan.web.security.accounts import do_create_user, do_issue_token
    from fengyan.web.settings import WebSettings
    from fengyan.workspace import Workspace

    ws = Workspace(
        Settings(
            home=home,
            lake_dir=home / "lake",
            database_url=db_url,
            chunk_rows=50_000,
            pseudonym_key_env=os.environ.get("FENGYAN_PSEUDONYM_KEY", "bench-key"),
        )
    )
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
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    universe = pq.read_table(
        ws.lake.derived_files()["resolved_entity"],
        columns=["canonical_id", "entity_kind", "region_code"],
    )
    keep = pc.and_(
        pc.equal(universe["entity_kind"], "enterprise"),
        pc.starts_with(pc.fill_null(universe["region_code"], ""), "4403"),
    )
    everyone = universe.filter(keep)["canonical_id"].to_pylist()
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


def _serve(home: Path, db_url: str, port: int, public_rate: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FENGYAN_HOME": str(home),
        "FENGYAN_DATABASE_URL": db_url,
        "FENGYAN_WEB_SECURE_COOKIES": "0",
        "FENGYAN_WEB_PUBLIC_RATE": str(public_rate),
        "FENGYAN_WEB_PORT": str(port),
    }
    env.setdefault("FENGYAN_PSEUDONYM_KEY", "bench-key")
    proc = subprocess.Popen(
        [sys.executable, "-m", "fengyan", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(
        "fengyan serve did not start: " + (proc.stderr.read() if proc.stderr else b"").decode()
    )


BASELINE_APP = """
from fastapi import FastAPI
app = FastAPI()
@app.get("/ping")
def ping() -> dict[str, str]:
    return {"ok": "yes"}
"""


def _baseline(port: int) -> subprocess.Popen[bytes]:
    """A bare FastAPI endpoint under the same uvicorn: the machine's ceiling right now."""
    code = BASELINE_APP + f"\nimport uvicorn\nuvicorn.run(app, port={port}, log_level='warning')\n"
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("baseline server did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _write(results: dict[str, Any]) -> None:
    """Write web.json and web.md with what has been measured so far."""
    results["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_avg_end": os.getloadavg(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "web.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    lines = [
        "# Web workbench load test (`benchmarks/bench_web.py`)",
        "",
        f"City: {results['universe']:,} firms in scope 4403, {results['firms']:,} graded "
        "(dolphin-v1); `fengyan serve` (1 uvicorn process) on PostgreSQL; load generator on "
        f"the same {os.cpu_count()}-core machine, shared with other jobs (load average in the "
        "table). `profile` opens graded firms (the warning list's links; cached per run after "
        "the first view), `profile_any_firm` any firm of the universe (mostly first views: "
        "the uncached cost). The baseline is a bare FastAPI endpoint under the same uvicorn "
        "and load generator: the machine's ceiling at that moment.",
        "",
        "| page | users | req/s | p50 ms | p95 ms | p99 ms | statuses | load avg |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in results["runs"]:
        lines.append(
            f"| {r['page']} | {r['users']} | {r['rps']:.1f} | {r['p50_ms']:.0f} "
            f"| {r['p95_ms']:.0f} | {r['p99_ms']:.0f} | {r['statuses']} | {r['load_avg']:.1f} |"
        )
    if "first_request_s" in results:
        lines += [
            "",
            f"First profile request (builds the lake copy): {results['first_request_s']:.1f} s",
        ]
    if "default_limit" in results:
        lines += ["", f"Default public budget (60/min per address): {results['default_limit']}"]
    (RESULTS / "web.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    """Run the benchmark and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--db-url", required=True)
    parser.add_argument("--users", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--public-users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()

    token, firms, everyone, names = _setup(args.home, args.db_url)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(args.home, args.db_url, port, public_rate=10_000_000)
    results: dict[str, Any] = {"firms": len(firms), "universe": len(everyone), "runs": []}
    auth = {"Authorization": f"Bearer {token}"}
    rng = random.Random(7)
    try:
        # Warm up: the lake copy is built on the first profile request.
        mark = time.perf_counter()
        httpx.get(f"{base}/firm/{firms[0]}", headers=auth, timeout=600)
        results["first_request_s"] = time.perf_counter() - mark
        print(
            f"first profile (builds the lake copy): {results['first_request_s']:.1f} s", flush=True
        )
        pages_max = max(1, len(firms) // 50)
        for users in args.users:
            for name, make in (
                ("profile", lambda: f"/firm/{rng.choice(firms)}"),
                ("profile_any_firm", lambda: f"/firm/{rng.choice(everyone)}"),
                ("warnings", lambda: f"/warnings?page={rng.randint(1, pages_max)}"),
            ):
                load_before = os.getloadavg()[0]
                r = asyncio.run(_run(base, users, args.seconds, make, auth))
                r.update(page=name, load_avg=load_before)
                results["runs"].append(r)
                print(
                    f"{name:9s} users={users:4d} rps={r['rps']:7.1f} p50={r['p50_ms']:7.1f} "
                    f"p95={r['p95_ms']:7.1f} p99={r['p99_ms']:7.1f} {r['statuses']}",
                    flush=True,
                )
        load_before = os.getloadavg()[0]
        r = asyncio.run(
            _run(
                base,
                args.public_users,
                args.seconds,
                lambda: f"/api/v1/public/check?q={rng.choice(names)}",
                {},
            )
        )
        r.update(page="public_check", load_avg=load_before)
        results["runs"].append(r)
        print(
            f"public    users={args.public_users:4d} rps={r['rps']:7.1f} p50={r['p50_ms']:7.1f} "
            f"p95={r['p95_ms']:7.1f} p99={r['p99_ms']:7.1f} {r['statuses']}",
            flush=True,
        )
    finally:
        _stop(proc)
    _write(results)
    # The default budget (60 per minute per address) must answer 429 beyond it.
    port = _free_port()
    proc = _serve(args.home, args.db_url, port, public_rate=60)
    try:
        codes = [
            httpx.get(
                f"http://127.0.0.1:{port}/api/v1/public/check",
                params={"q": names[0]},
                timeout=120,
            ).status_code
            for _ in range(61)
        ]
        results["default_limit"] = {"first_60_ok": codes[:60].count(200), "61st": codes[60]}
    finally:
        _stop(proc)
    port = _free_port()
    proc = _baseline(port)
    try:
        load_before = os.getloadavg()[0]
        r = asyncio.run(
            _run(f"http://127.0.0.1:{port}", args.public_users, args.seconds, lambda: "/ping", {})
        )
        r.update(page="baseline: bare FastAPI /ping", load_avg=load_before)
        results["runs"].append(r)
        print(f"baseline  users={args.public_users:4d} rps={r['rps']:7.1f} p95={r['p95_ms']:7.1f}")
    finally:
        _stop(proc)
    _write(results)


if __name__ == "__main__":
    main()
