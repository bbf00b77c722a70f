"""Helpers the benchmarks share: a benchmark workspace and the measuring wrapper.

Imported by the benchmark scripts, which run with ``benchmarks/`` on ``sys.path``
(``python benchmarks/bench_x.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    from fengyan.workspace import Workspace

# Runs a command and reports its own children's usage: one wrapper per measured command,
# so ru_maxrss is the peak of exactly that one child.
WRAPPER = """\
import json, resource, subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
rc = subprocess.call(cmd)
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, "w") as fh:
    json.dump({"rc": rc, "wall": wall, "maxrss_kib": ru.ru_maxrss,
               "cpu": ru.ru_utime + ru.ru_stime}, fh)
"""


POLL_SECONDS = 0.05


def run_wrapped(
    cmd: list[str], log: Path, env: dict[str, str]
) -> tuple[int, dict[str, Any], float, list[tuple[float, float, int]]]:
    """Run ``cmd`` under :data:`WRAPPER`, its output to ``log``, polling its memory.

    Returns the wrapper's exit code, the usage it reported (its file, ``log`` with suffix
    ``.usage.json``, is left in place), the ``time.perf_counter()`` at start, and the
    samples of the children's summed RSS every :data:`POLL_SECONDS`:
    ``(perf_counter, epoch seconds, bytes)``.
    """
    usage = log.with_suffix(".usage.json")
    samples: list[tuple[float, float, int]] = []
    with open(log, "wb") as out:
        wrapper = subprocess.Popen(
            [sys.executable, "-c", WRAPPER, str(usage), *cmd],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        started = time.perf_counter()
        parent = psutil.Process(wrapper.pid)
        while wrapper.poll() is None:
            rss = 0
            try:
                for child in parent.children(recursive=True):
                    rss += child.memory_info().rss
            except psutil.Error:
                pass
            if rss:
                samples.append((time.perf_counter(), time.time(), rss))
            time.sleep(POLL_SECONDS)
    info: dict[str, Any] = json.loads(usage.read_text())
    return wrapper.returncode, info, started, samples


def bench_workspace(home: Path, pseudonym_key_env: str = "bench-key") -> Workspace:
    """An initialised SQLite workspace in ``home`` (lake under ``home/lake``, 50,000-row chunks)."""
    # Imported here so that a script importing this module before it measures a child
    # process does not pay for (or hold the memory of) the fengyan import up front.
    from fengyan.settings import Settings
    from fengyan.workspace import Workspace

    ws = Workspace(
        Settings(
            home=home,
            lake_dir=home / "lake",
            database_url=f"sqlite:///{home / 'fengyan.db'}",
            chunk_rows=50_000,
            pseudonym_key_env=pseudonym_key_env,
        )
    )
    ws.init()
    return ws


def save_results(output: Path, name: str, payload: dict[str, Any], markdown: str) -> None:
    """Write ``<name>.json`` and ``<name>.md`` into ``output`` and say so."""
    output.mkdir(parents=True, exist_ok=True)
    (output / f"{name}.json").write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    (output / f"{name}.md").write_text(markdown, encoding="utf-8")
    print(f"wrote {output / f'{name}.json'} and {output / f'{name}.md'}")
