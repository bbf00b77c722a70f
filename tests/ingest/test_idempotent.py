"""Idempotence: a batch offered again changes nothing; a different batch is a new one.

The batch id is a hash of the file's bytes, type, source, mapping and as-of date, so the
file's name does not matter and any change to what it says makes a new batch.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fengyan.ingest.service import ingest_path
from fengyan.samples import sample_dir
from fengyan.workspace import Workspace

from .builders import (
    REGISTRY_MAPPING,
    dump_ledger,
    ingest,
    lake_rows,
    registry_row,
    snapshot_lake,
    write_mapping,
    write_registry,
    wrong_check_char,
)


def registry(folder: Path) -> tuple[Path, Path]:
    """Six records, two of them bad, so the quarantine has something to repeat."""
    rows = [registry_row(i) for i in range(6)]
    rows[2]["统一社会信用代码"] = wrong_check_char(rows[2]["统一社会信用代码"])[0]
    rows[4]["注册资本（万元）"] = "-1"
    return write_registry(folder, rows)


def test_the_same_file_twice_changes_nothing(workspace: Workspace, tmp_path: Path) -> None:
    path, mapping = registry(tmp_path)
    first = ingest(workspace, path, mapping=mapping, as_of="2024-06-30")
    lake, ledger = snapshot_lake(workspace.lake.root), dump_ledger(workspace.engine)
    assert first.rows_stored == 4 and len(ledger["quarantine"]) == 2

    again = ingest(workspace, path, mapping=mapping, as_of="2024-06-30")

    assert again.already_ingested and not first.already_ingested
    assert again.batch_id == first.batch_id
    assert (again.rows_read, again.rows_stored, again.rows_quarantined, again.lake_file) == (
        first.rows_read, first.rows_stored, first.rows_quarantined, first.lake_file,
    )  # fmt: skip
    assert snapshot_lake(workspace.lake.root) == lake
    assert dump_ledger(workspace.engine) == ledger


def test_the_same_content_under_another_name_is_recognised(
    workspace: Workspace, tmp_path: Path
) -> None:
    path, mapping = registry(tmp_path)
    first = ingest(workspace, path, mapping=mapping)
    lake, ledger = snapshot_lake(workspace.lake.root), dump_ledger(workspace.engine)
    renamed = tmp_path / "resent" / "企业登记_第二次发送.csv"
    renamed.parent.mkdir()
    shutil.copy(path, renamed)

    again = ingest(workspace, renamed, mapping=mapping)

    assert again.already_ingested and again.batch_id == first.batch_id
    assert snapshot_lake(workspace.lake.root) == lake
    assert dump_ledger(workspace.engine) == ledger


# Each change takes the registry and its mapping and returns how to ingest it the second time.
Change = Callable[[Path, Path], dict[str, Any]]


def _change_content(path: Path, mapping: Path) -> dict[str, Any]:
    data = path.read_bytes()
    path.write_bytes(data.replace("深圳市".encode("gb18030"), "深圳".encode("gb18030"), 1))
    return {"mapping": mapping}


def _change_mapping(path: Path, mapping: Path) -> dict[str, Any]:
    # The same columns, but the mapping file is another one (a comment is enough).
    return {"mapping": write_mapping(mapping.with_name("v2.yaml"), REGISTRY_MAPPING + "# v2\n")}


def _change_as_of(path: Path, mapping: Path) -> dict[str, Any]:
    return {"mapping": mapping, "as_of": "2024-07-31"}


def _change_source(path: Path, mapping: Path) -> dict[str, Any]:
    return {"mapping": mapping, "source": "税务局"}


@pytest.mark.parametrize(
    "change",
    [_change_content, _change_mapping, _change_as_of, _change_source],
    ids=["content", "mapping", "as_of", "source"],
)
def test_a_changed_delivery_is_a_new_batch(
    workspace: Workspace, tmp_path: Path, change: Change
) -> None:
    path, mapping = registry(tmp_path)
    first = ingest(workspace, path, mapping=mapping, as_of="2024-06-30")
    second_kw = {"as_of": "2024-06-30", "source": "市场监管局", **change(path, mapping)}

    second = ingest(workspace, path, "Enterprise", **second_kw)

    assert not second.already_ingested
    assert second.batch_id != first.batch_id
    assert second.lake_file != first.lake_file
    assert len(workspace.lake.files("enterprise")) == 2
    assert sorted(b[0] for b in dump_ledger(workspace.engine)["ingest_batch"]) == sorted(
        [first.batch_id, second.batch_id]
    )
    assert len(lake_rows(workspace, "enterprise", second.batch_id)) == second.rows_stored == 4


def test_a_whole_delivery_twice_changes_nothing(workspace: Workspace) -> None:
    first = ingest_path(workspace, sample_dir())
    lake, ledger = snapshot_lake(workspace.lake.root), dump_ledger(workspace.engine)

    again = ingest_path(workspace, sample_dir())

    assert [r.already_ingested for r in first] == [False] * 4
    assert [r.already_ingested for r in again] == [True] * 4
    assert [r.batch_id for r in again] == [r.batch_id for r in first]
    assert snapshot_lake(workspace.lake.root) == lake
    assert dump_ledger(workspace.engine) == ledger
