"""The simulator's files: deterministic, ingestible, with ground truth the pipeline never reads."""

from __future__ import annotations

import csv
import filecmp
from collections import Counter
from datetime import datetime, time
from pathlib import Path

import yaml

from fengyan.clock import CHINA_TZ
from fengyan.ingest.service import ingest_path, list_quarantine
from fengyan.simulate.params import load_params
from fengyan.simulate.service import SimulationResult, simulate
from fengyan.workspace import Workspace

TRUTH_FILES = (
    "schemes.csv",
    "scheme_months.csv",
    "firms.csv",
    "person_ids.csv",
    "mentions.csv",
    "dirty_records.csv",
    "summary.yaml",
)


def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    params = load_params(**{"enterprises.count": 600, "calendar.months": 6})
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    simulate(a, params, seed=3)
    simulate(b, params, seed=3)
    simulate(c, params, seed=4)
    names = _files(a)
    assert names == _files(b)
    _, mismatch, errors = filecmp.cmpfiles(a, b, [str(n) for n in names], shallow=False)
    assert mismatch == [] and errors == []
    assert (a / "registry").is_dir() and (a / "ground_truth").is_dir()
    different = [
        n for n in names if (c / n).exists() and (a / n).read_bytes() != (c / n).read_bytes()
    ]
    assert different, "a different seed must give a different world"


def test_manifest_lists_every_delivery_and_never_the_ground_truth(
    small_world: SimulationResult,
) -> None:
    out = small_world.out
    manifest = yaml.safe_load((out / "manifest.yaml").read_text(encoding="utf-8"))
    listed = [f["path"] for f in manifest["files"]]
    assert listed == [spec.path for spec in small_world.files]
    assert not any(p.startswith("ground_truth") for p in listed)
    for path in listed:
        assert (out / path).is_file()
    for name in TRUTH_FILES:
        assert (out / "ground_truth" / name).is_file()
    formats = {Path(p).suffix for p in listed}
    assert {".csv", ".jsonl", ".xlsx"} <= formats
    encodings = {f.get("encoding") for f in manifest["files"] if f["path"].endswith(".csv")}
    assert {"gb18030", "utf-8"} <= encodings
    # Periodic deliveries carry their as-of date, so the lake can be read as of each one.
    registry = [f for f in manifest["files"] if f["type"] == "Enterprise"]
    assert len(registry) == 1 + 12 // 3
    assert [f["as_of"] for f in registry] == sorted(f["as_of"] for f in registry)


def test_every_file_ingests_with_exactly_the_dirty_rows_quarantined(
    small_world: SimulationResult, sqlite_workspace: Workspace
) -> None:
    out = small_world.out
    expected: Counter[str] = Counter()
    reasons: Counter[tuple[str, str]] = Counter()
    with open(out / "ground_truth" / "dirty_records.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            expected[row["file"]] += 1
            reasons[(Path(row["file"]).name, row["expected_reason"])] += 1
    assert sum(expected.values()) > 20, "the small world should carry some dirty rows"
    reports = ingest_path(sqlite_workspace, out)
    assert len(reports) == len(small_world.files)
    for report in reports:
        rel = str(Path(report.file).relative_to(out))
        assert report.rows_quarantined == expected.get(rel, 0), (rel, report.reasons)
        assert report.warnings == 0, (rel, report.reasons)
        assert not report.ignored_columns, (rel, report.ignored_columns)
    _, entries = list_quarantine(sqlite_workspace, limit=100_000)
    found = Counter((q.file_name, q.reason) for q in entries)
    assert found == reasons
    # As-of reads: the register before the window holds exactly the firms founded before it.
    manifest = yaml.safe_load((out / "manifest.yaml").read_text(encoding="utf-8"))
    first = min(f["as_of"] for f in manifest["files"] if f["type"] == "Enterprise")
    with open(out / "ground_truth" / "firms.csv", encoding="utf-8") as fh:
        founded = [row["established"] for row in csv.DictReader(fh)]
    before = datetime.combine(first, time(23, 59), tzinfo=CHINA_TZ)
    lake = sqlite_workspace.lake
    assert lake.count("enterprise", as_of=before) == sum(d <= first.isoformat() for d in founded)
    assert lake.count("enterprise") == len(founded)


def test_ground_truth_counts_agree_with_the_files(small_world: SimulationResult) -> None:
    out = small_world.out
    summary = yaml.safe_load((out / "ground_truth" / "summary.yaml").read_text(encoding="utf-8"))
    assert summary["counts"]["enterprises"] == 2000
    for spec in small_world.files:
        assert summary["files"][spec.path]["rows"] == spec.rows
        assert summary["files"][spec.path]["dirty"] == len(spec.dirty)
    with open(out / "ground_truth" / "firms.csv", encoding="utf-8") as fh:
        firms = list(csv.DictReader(fh))
    assert len(firms) == 2000
    assert len({f["credit_code"] for f in firms}) == 2000
    with open(out / "ground_truth" / "schemes.csv", encoding="utf-8") as fh:
        schemes = list(csv.DictReader(fh))
    assert len(schemes) == summary["counts"]["schemes"] > 0
    cores = {f["credit_code"] for f in firms if f["role"] == "scheme_core"}
    assert cores == {s["core_credit_code"] for s in schemes}
