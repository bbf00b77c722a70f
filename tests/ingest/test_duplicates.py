"""The in-file duplicate search gives the same answer however many passes it takes."""

from __future__ import annotations

from pathlib import Path

import pytest

from fengyan.ingest import pipeline
from fengyan.workspace import Workspace

from .builders import ingest, quarantine, registry_row, write_registry


@pytest.mark.parametrize("pass_rows", [1_000_000, 7, 1])
def test_duplicates_found_in_any_number_of_passes(
    sqlite_workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pass_rows: int
) -> None:
    # 40 firms; firms 3, 11 and 29 appear again later (29 twice), interleaved with others.
    rows = [registry_row(i) for i in range(40)]
    rows += [registry_row(3), registry_row(29), registry_row(11), registry_row(29)]
    path, mapping = write_registry(tmp_path, rows)
    monkeypatch.setattr(pipeline, "DUPLICATE_PASS_ROWS", pass_rows)

    report = ingest(sqlite_workspace, path, mapping=mapping, chunk_rows=10)

    duplicates = [
        (q["row"], q["params"]["first_row"])
        for q in quarantine(sqlite_workspace, report.batch_id)
        if q["reason"] == "ingest_duplicate_key"
    ]
    # Spreadsheet rows: header is row 1, firm i is row i + 2, the repeats are rows 42–45.
    assert duplicates == [(42, 5), (43, 31), (44, 13), (45, 31)]
    assert report.rows_stored == 40 and report.rows_quarantined == 4
