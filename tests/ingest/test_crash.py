"""Crash safety: an import killed at any moment and run again ends exactly like a clean one.

A delivery of four files (CSV, JSON Lines, Excel, Parquet; about 23,000 rows with bad ones
among them) is imported by ``python -m fengyan ingest`` in a subprocess, with small chunks
so that each file is written in many steps. The process is killed with SIGKILL at seeded
random moments spread over a clean run's duration, re-run each time, and finally run to the
end. The lake (every file, byte for byte) and the ledger (every batch and quarantine row)
must then equal those of a clean, uninterrupted import into another home.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import inspect, text

from fengyan.db.engine import make_engine
from fengyan.lake import Lake
from fengyan.lake.store import CACHE_DIR
from fengyan.settings import Settings
from fengyan.workspace import Workspace

from .builders import (
    article_record,
    credit_code,
    dump_ledger,
    person_record,
    registry_row,
    snapshot_lake,
    write_jsonl,
    write_parquet,
    write_registry,
    write_xlsx,
    wrong_check_char,
)

pytestmark = pytest.mark.slow

KEY = "crash-test-key"
EPOCH = "1719744000"  # 2024-06-30 18:40 China time: "now" for every run
CHUNK_ROWS = "2000"
HOMES = 2  # killed concurrently, one per core
KILLS_PER_HOME = 11  # 22 kills in all
SEED = 20240630

MANIFEST = """\
as_of: 2024-06-30
files:
  - {path: registry.csv, type: Enterprise, source: 市场监管局, mapping: registry.mapping.yaml}
  - {path: persons.jsonl, type: Person, source: 市场监管局}
  - {path: articles.xlsx, type: Article, source: 舆情监测}
  - {path: shareholding.parquet, type: Shareholding, source: 市场监管局}
"""


def build_delivery(folder: Path) -> None:
    """Four files with a few percent of bad records (codes, capital, ragged, duplicates)."""
    rows: list[dict[str, str] | list[str]] = []
    for i in range(12_000):
        row = registry_row(i)
        if i % 97 == 5:
            row["统一社会信用代码"] = wrong_check_char(row["统一社会信用代码"])[0]
        if i % 89 == 7:
            row["注册资本（万元）"] = "-1"
        rows.append(row)
    rows += [registry_row(i) for i in range(0, 12_000, 400)]  # duplicate keys
    rows += [["1", "2", "3"]] * 5  # ragged
    write_registry(folder, rows)
    write_jsonl(
        folder / "persons.jsonl",
        [
            person_record(i, id_number="440304199001011234") if i % 101 == 0 else person_record(i)
            for i in range(6_000)
        ],
    )
    with open(folder / "persons.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"person_id": "P99999", "name": \n')  # a broken line
    articles = [article_record(i, f"2024-0{1 + i % 5}-1{i % 10} 09:30") for i in range(2_500)]
    write_xlsx(folder / "articles.xlsx", list(articles[0]), [list(a.values()) for a in articles])
    n = 2_000
    write_parquet(
        folder / "shareholding.parquet",
        {
            "asset_credit_code": [credit_code(i) for i in range(n)],
            "owner_id": [f"P{i:05d}" for i in range(n)],
            "owner_kind": ["person"] * n,
            "owner_name": ["张伟"] * n,
            "share_percent": [str(10 + i % 95) for i in range(n)],  # some above 100
            "subscribed_amount": [str(1000 * i) for i in range(n)],
        },
    )
    (folder / "manifest.yaml").write_text(MANIFEST, encoding="utf-8")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FENGYAN_")}
    env.update(
        SOURCE_DATE_EPOCH=EPOCH,
        FENGYAN_PSEUDONYM_KEY=KEY,
        FENGYAN_CHUNK_ROWS=CHUNK_ROWS,
        FENGYAN_LANG="en",
    )
    return env


def _command(delivery: Path, home: Path) -> list[str]:
    return [sys.executable, "-m", "fengyan", "ingest", str(delivery), "--home", str(home)]


def _workspace(home: Path) -> Workspace:
    """The workspace the CLI builds for ``--home home`` with the test environment."""
    return Workspace(
        Settings(
            home=home,
            lake_dir=home / "lake",
            database_url=f"sqlite:///{home / 'fengyan.db'}",
            chunk_rows=int(CHUNK_ROWS),
            pseudonym_key_env=KEY,
        )
    )


def _ledger(home: Path) -> dict[str, list[tuple[object, ...]]]:
    ws = _workspace(home)
    try:
        return dump_ledger(ws.engine)
    finally:
        ws.engine.dispose()


def _run_to_end(delivery: Path, home: Path) -> str:
    done = subprocess.run(
        _command(delivery, home), env=_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _kill_at(delivery: Path, home: Path, delay: float) -> bool:
    """Run the import and SIGKILL it after ``delay`` seconds; False if it finished first."""
    proc = subprocess.Popen(
        _command(delivery, home), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _, err = proc.communicate(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        return True
    assert proc.returncode == 0, err.decode()
    return False


def _assert_ledger_points_at_lake(home: Path) -> None:
    """At every moment, each recorded batch has its complete lake file.

    The database is read as the killed run left it: not migrated or repaired from here.
    """
    if not (home / "fengyan.db").exists():
        return
    engine = make_engine(f"sqlite:///{home / 'fengyan.db'}")
    try:
        if "ingest_batch" not in inspect(engine).get_table_names():
            return
        with engine.connect() as c:
            batches = c.execute(text("SELECT lake_file, rows_stored FROM ingest_batch")).all()
    finally:
        engine.dispose()
    for lake_file, rows_stored in batches:
        path = home / "lake" / lake_file
        assert path.is_file(), lake_file
        assert pq.ParquetFile(path).metadata.num_rows == rows_stored


def _assert_like_clean(home: Path, clean: Path) -> None:
    assert list((home / "lake" / "_staging").iterdir()) == []
    # The version ends (derived; named by the batch files' modification times) are
    # compared by what they answer, the rest byte for byte.
    assert _stored(home) == _stored(clean)
    lake, clean_lake = Lake(home / "lake"), Lake(clean / "lake")
    assert lake.tables() == clean_lake.tables()
    for table in lake.tables():
        assert lake.cache_file(table) is not None, table
        assert lake.read(table).equals(clean_lake.read(table)), table
    assert not list((home / "lake" / CACHE_DIR).rglob(".*.tmp"))  # no writer's leftovers
    assert _ledger(home) == _ledger(clean)


def _stored(home: Path) -> dict[str, bytes]:
    """:func:`snapshot_lake` without the version ends."""
    lake = snapshot_lake(home / "lake")
    return {k: v for k, v in lake.items() if not k.startswith(f"{CACHE_DIR}/")}


def _kill_repeatedly(delivery: Path, home: Path, clean: Path, seed: int, duration: float) -> None:
    """Kill imports into ``home`` until it has been done KILLS_PER_HOME times.

    Kills land between late start-up (about a third of a run) and the end of a run. When a
    run finishes before its kill, that import is complete: it is compared with the clean
    one, the home starts afresh, and later kills come no later than that run took.
    """
    rng = random.Random(seed)
    kills = runs = 0
    while kills < KILLS_PER_HOME:
        runs += 1
        assert runs <= 4 * KILLS_PER_HOME, f"only {kills} of {runs} runs could be killed"
        started = time.monotonic()
        if _kill_at(delivery, home, rng.uniform(duration * 0.3, duration)):
            kills += 1
            _assert_ledger_points_at_lake(home)
        else:
            duration = min(duration, time.monotonic() - started)
            _assert_like_clean(home, clean)
            shutil.rmtree(home)


def test_killed_import_resumes_to_the_clean_result(tmp_path: Path) -> None:
    delivery = tmp_path / "delivery"
    build_delivery(delivery)
    clean = tmp_path / "clean"
    started = time.monotonic()
    out = _run_to_end(delivery, clean)
    duration = time.monotonic() - started
    assert "already" not in out
    ledger = _ledger(clean)
    assert len(ledger["ingest_batch"]) == 4
    assert len(ledger["quarantine"]) > 400

    homes = [tmp_path / f"killed-{n}" for n in range(HOMES)]
    with ThreadPoolExecutor(HOMES) as pool:
        seeds = [SEED + n for n in range(HOMES)]
        # list() re-raises a failed assertion from either thread.
        list(pool.map(_kill_repeatedly, [delivery] * HOMES, homes, [clean] * HOMES,
                      seeds, [duration] * HOMES))  # fmt: skip

    for home in homes:
        _run_to_end(delivery, home)
        _assert_like_clean(home, clean)

    # Running the finished import again recognises every file and changes nothing.
    out = _run_to_end(delivery, homes[0])
    assert out.count("already") == 4
    _assert_like_clean(homes[0], clean)
