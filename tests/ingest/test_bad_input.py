"""Bad input: every way an agency file can be wrong, and what ingestion does about it.

Each case checks three things. The person reading the result learns which file, row and
field is wrong and why. A file that cannot be used at all stops the command with exit code
2 and stores nothing. A file that can be used loses nothing: every row read is either in
the lake (exactly the valid ones) or in the quarantine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fengyan import clock
from fengyan.ingest.errors import Issue
from fengyan.ingest.readers import scrub
from fengyan.settings import Settings
from fengyan.workspace import Workspace

from .builders import (
    REGISTRY_HEADER,
    REGISTRY_MAPPING,
    Cli,
    article_record,
    assert_accounted,
    credit_code,
    dump_ledger,
    flat,
    ingest,
    lake_rows,
    quarantine,
    registry_row,
    write_csv,
    write_jsonl,
    write_mapping,
    write_parquet,
    write_registry,
    write_xlsx,
    wrong_check_char,
)

SOURCE = "市场监管局"


def file_row(i: int) -> int:
    """The spreadsheet row of ``registry_row(i)`` when rows are written in order from 0."""
    return i + 2


def cli_ingest(cli: Cli, ws: Workspace, path: Path, *extra: str | Path) -> Any:
    """``fengyan --lang en ingest <path> --type Enterprise …`` on the workspace's home."""
    return cli(
        "--lang", "en", "ingest", path, "--type", "Enterprise", "--source", SOURCE,
        "--home", ws.settings.home, *extra,
    )  # fmt: skip


def assert_refused(result: Any, ws: Workspace, path: Path, *words: str) -> None:
    """Exit code 2, a message naming the file (and ``words``), and nothing stored anywhere."""
    assert result.exit_code == 2, result.output
    shown = flat(result.stderr)
    assert flat(str(path)) in shown, result.stderr
    for word in words:
        assert flat(word) in shown, result.stderr
    assert dump_ledger(ws.engine) == {"ingest_batch": [], "quarantine": []}
    assert list(ws.lake.root.rglob("batch-*.parquet")) == []
    staging = ws.lake.staging_dir
    assert not staging.exists() or list(staging.iterdir()) == []


def assert_issue(entry: dict[str, Any], row: int, field: str | None, reason: str) -> None:
    """A quarantine entry at ``row``/``field`` for ``reason`` whose message says where."""
    assert (entry["row"], entry["field"], entry["reason"]) == (row, field, reason)
    issue = Issue(
        entry["row"], entry["field"], entry["value"], entry["reason"], params=entry["params"]
    )
    message = issue.message(entry["file_name"], "en")
    assert f"file {entry['file_name']} row {row} field {field or '-'}" in message


def stored_codes(ws: Workspace, batch_id: str) -> list[str]:
    return [r["credit_code"] for r in lake_rows(ws, "enterprise", batch_id)]


def codes(indices: range | list[int]) -> list[str]:
    return [credit_code(i) for i in indices]


# ---- encodings ---------------------------------------------------------------------------


def test_gb18030_file_read_as_utf8_is_refused_whole(
    cli: Cli, sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    path, mapping = write_registry(tmp_path, [registry_row(i) for i in range(6)])
    result = cli_ingest(cli, sqlite_workspace, path, "--mapping", mapping, "--encoding", "utf-8")
    assert_refused(result, sqlite_workspace, path, "not valid utf-8")
    # The same file with its encoding detected is fine: the refusal was about the encoding.
    result = cli_ingest(cli, sqlite_workspace, path, "--mapping", mapping)
    assert result.exit_code == 0, result.output
    report = ingest(sqlite_workspace, path, mapping=mapping)
    assert report.already_ingested and report.rows_stored == 6


@pytest.mark.parametrize("declared", ["utf-8", None], ids=["declared", "detected"])
def test_a_few_undecodable_bytes_quarantine_only_their_rows(
    sqlite_workspace: Workspace, tmp_path: Path, declared: str | None
) -> None:
    path, mapping = write_registry(tmp_path, [registry_row(i) for i in range(40)], encoding="utf-8")
    data = path.read_bytes()
    # Corrupt the names of records 3 and 31 (a byte no UTF-8 sequence may hold).
    for i in (3, 31):
        name = registry_row(i)["企业名称"].encode()
        data = data.replace(name, name[:6] + b"\xff" + name[7:])
    path.write_bytes(data)

    report = ingest(sqlite_workspace, path, mapping=mapping, encoding=declared)

    assert report.encoding == "utf-8"
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (40, 38, 2)
    entries = quarantine(sqlite_workspace, report.batch_id)
    assert len(entries) == 2
    for entry, i in zip(entries, (3, 31), strict=True):
        assert_issue(entry, file_row(i), "name", "ingest_bad_encoding_bytes")
        assert "\ufffd" in entry["value"]
    assert stored_codes(sqlite_workspace, report.batch_id) == codes(
        [i for i in range(40) if i not in (3, 31)]
    )
    assert_accounted(sqlite_workspace, report, "enterprise")


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_encoding_is_detected(sqlite_workspace: Workspace, tmp_path: Path, encoding: str) -> None:
    rows = [registry_row(i, former="深圳旧名甲；旧名乙") for i in range(5)]
    path, mapping = write_registry(tmp_path, rows, encoding=encoding)

    report = ingest(sqlite_workspace, path, mapping=mapping)

    assert report.encoding == encoding
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (5, 5, 0)
    stored = lake_rows(sqlite_workspace, "enterprise")
    # The characters came through intact, including the first header after a BOM.
    assert [r["name"] for r in stored] == [r["企业名称"] for r in rows]
    assert [r["credit_code"] for r in stored] == codes(range(5))
    assert report.ignored_columns == []


# ---- structure ---------------------------------------------------------------------------


def test_ragged_rows_are_quarantined_with_their_width(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    width = len(REGISTRY_HEADER)
    rows: list[Any] = [registry_row(i) for i in range(7)]
    short = [registry_row(2)[h] for h in REGISTRY_HEADER][:3]
    long = [registry_row(5)[h] for h in REGISTRY_HEADER] + ["多余", "列"]
    rows[2], rows[5] = short, long
    path, mapping = write_registry(tmp_path, rows)

    report = ingest(sqlite_workspace, path, mapping=mapping)

    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (7, 5, 2)
    short_entry, long_entry = quarantine(sqlite_workspace, report.batch_id)
    assert_issue(short_entry, file_row(2), None, "ingest_ragged_row")
    assert short_entry["params"] == {"expected": width, "actual": 3}
    # The raw row, to recognise it, with long digit runs (ID or card numbers?) masked.
    assert short_entry["value"] == scrub(",".join(short))
    assert short_entry["value"].split(",")[1][1:-1] == "*" * 16
    assert_issue(long_entry, file_row(5), None, "ingest_ragged_row")
    assert long_entry["params"] == {"expected": width, "actual": width + 2}
    assert stored_codes(sqlite_workspace, report.batch_id) == codes([0, 1, 3, 4, 6])
    assert_accounted(sqlite_workspace, report, "enterprise")


def test_header_that_maps_to_nothing_is_refused(
    cli: Cli, sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "export.csv", [["1", "甲"], ["2", "乙"]], header=["编号", "备注"])
    result = cli_ingest(cli, sqlite_workspace, path)
    assert_refused(result, sqlite_workspace, path, "no column of the header maps", "编号, 备注")


def test_missing_required_columns_are_refused(
    cli: Cli, sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    header = [h for h in REGISTRY_HEADER if h != "成立日期"]
    path = write_csv(tmp_path / "registry.csv", [registry_row(i) for i in range(3)], header)
    mapping = write_mapping(tmp_path / "registry.mapping.yaml")
    result = cli_ingest(cli, sqlite_workspace, path, "--mapping", mapping)
    assert_refused(result, sqlite_workspace, path, "required fields of Enterprise", "established")


def test_blank_required_value_quarantines_the_record(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    rows = [registry_row(i) for i in range(4)]
    rows[1]["企业名称"] = "   "
    path, mapping = write_registry(tmp_path, rows)

    report = ingest(sqlite_workspace, path, mapping=mapping)

    (entry,) = quarantine(sqlite_workspace, report.batch_id)
    assert_issue(entry, file_row(1), "name", "required_missing")
    assert stored_codes(sqlite_workspace, report.batch_id) == codes([0, 2, 3])
    assert_accounted(sqlite_workspace, report, "enterprise")


def test_mapping_to_an_unknown_field_is_refused(
    cli: Cli, sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "registry.csv", [registry_row(i) for i in range(3)])
    mapping = write_mapping(
        tmp_path / "bad.mapping.yaml", REGISTRY_MAPPING.replace("business_scope", "scope_text")
    )
    result = cli_ingest(cli, sqlite_workspace, path, "--mapping", mapping)
    assert_refused(result, sqlite_workspace, path, "column 经营范围 maps to scope_text")


def test_duplicate_header_names_are_refused(
    cli: Cli, sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    header = [*REGISTRY_HEADER, "企业名称"]
    rows = [[registry_row(i)[h] for h in header] for i in range(3)]
    path = write_csv(tmp_path / "registry.csv", rows, header)
    mapping = write_mapping(tmp_path / "registry.mapping.yaml")
    result = cli_ingest(cli, sqlite_workspace, path, "--mapping", mapping)
    assert_refused(result, sqlite_workspace, path, "column 企业名称 appears twice")


# ---- values ------------------------------------------------------------------------------


def test_wrong_check_character_names_the_expected_one(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    rows = [registry_row(i) for i in range(5)]
    bad, expected = wrong_check_char(credit_code(3))
    rows[3]["统一社会信用代码"] = bad
    path, mapping = write_registry(tmp_path, rows)

    report = ingest(sqlite_workspace, path, mapping=mapping)

    (entry,) = quarantine(sqlite_workspace, report.batch_id)
    assert_issue(entry, file_row(3), "credit_code", "ingest_bad_identifier")
    assert entry["value"] == bad
    assert entry["params"]["detail_code"] == "std_bad_check_char"
    assert {expected, bad[-1]} <= set(entry["params"]["detail_params"].values())
    issue = Issue(
        entry["row"], entry["field"], entry["value"], entry["reason"], params=entry["params"]
    )
    assert expected in issue.message(entry["file_name"], "en")
    assert stored_codes(sqlite_workspace, report.batch_id) == codes([0, 1, 2, 4])
    assert_accounted(sqlite_workspace, report, "enterprise")


def test_dates_after_today_are_quarantined(
    sqlite_workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ingest "on" 2024-06-30 at 23:30 China time (15:30 UTC): that day is not yet in the
    # future, the next one is, whatever the server's time zone.
    now = datetime(2024, 6, 30, 23, 30, tzinfo=clock.CHINA_TZ)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(now.timestamp())))
    dates = ["2024-06-30", "2024年7月1日", "2099-01-01", "2024/6/29"]
    rows = [registry_row(i, established=d) for i, d in enumerate(dates)]
    path, mapping = write_registry(tmp_path, rows)

    report = ingest(sqlite_workspace, path, mapping=mapping)

    entries = quarantine(sqlite_workspace, report.batch_id)
    assert [e["value"] for e in entries] == ["2024年7月1日", "2099-01-01"]
    for entry, i in zip(entries, (1, 2), strict=True):
        assert_issue(entry, file_row(i), "established", "ingest_future_date")
        assert entry["params"] == {"today": "2024-06-30"}
    stored = lake_rows(sqlite_workspace, "enterprise", report.batch_id)
    assert [r["established"] for r in stored] == [date(2024, 6, 30), date(2024, 6, 29)]
    assert_accounted(sqlite_workspace, report, "enterprise")


def test_negative_capital_is_quarantined(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    rows = [registry_row(i, capital=c) for i, c in enumerate(["-50", "0", "-0.01", "12"])]
    path, mapping = write_registry(tmp_path, rows)

    report = ingest(sqlite_workspace, path, mapping=mapping)

    entries = quarantine(sqlite_workspace, report.batch_id)
    assert [e["value"] for e in entries] == ["-50", "-0.01"]
    for entry, i in zip(entries, (0, 2), strict=True):
        assert_issue(entry, file_row(i), "registered_capital", "ingest_below_min")
        assert entry["params"] == {"min": "0"}
    stored = lake_rows(sqlite_workspace, "enterprise", report.batch_id)
    assert [r["registered_capital"] for r in stored] == [0.0, 120_000.0]
    assert_accounted(sqlite_workspace, report, "enterprise")


def test_duplicate_keys_keep_the_first_occurrence(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    rows = [registry_row(i) for i in range(6)]
    # Record 1 comes again twice (renamed, in a later chunk), record 4 once.
    rows += [
        registry_row(1, name="深圳市重复一号有限公司"),
        registry_row(4),
        registry_row(1, name="深圳市重复二号有限公司"),
    ]
    path, mapping = write_registry(tmp_path, rows)

    report = ingest(sqlite_workspace, path, mapping=mapping, chunk_rows=4)

    entries = quarantine(sqlite_workspace, report.batch_id)
    assert [(e["row"], e["params"]["first_row"]) for e in entries] == [
        (file_row(6), file_row(1)),
        (file_row(7), file_row(4)),
        (file_row(8), file_row(1)),
    ]
    for entry in entries:
        assert_issue(entry, entry["row"], "credit_code", "ingest_duplicate_key")
    assert entries[0]["value"] == credit_code(1)
    stored = lake_rows(sqlite_workspace, "enterprise", report.batch_id)
    assert [r["credit_code"] for r in stored] == codes(range(6))
    assert stored[1]["name"] == registry_row(1)["企业名称"]  # the first occurrence wins
    assert_accounted(sqlite_workspace, report, "enterprise")


def test_list_fields_are_split_on_the_mapping_separator(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    formers = ["深圳甲有限公司；深圳乙有限公司", "", "深圳丙有限公司", "深圳丁；；深圳戊 "]
    rows = [registry_row(i, former=f) for i, f in enumerate(formers)]
    path, mapping = write_registry(tmp_path, rows)

    report = ingest(sqlite_workspace, path, mapping=mapping)

    stored = lake_rows(sqlite_workspace, "enterprise", report.batch_id)
    assert [r["former_names"] for r in stored] == [
        ["深圳甲有限公司", "深圳乙有限公司"],
        None,
        ["深圳丙有限公司"],
        ["深圳丁", "深圳戊"],
    ]


def test_capital_in_wan_yuan_is_scaled_to_yuan(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    capitals = ["500", "1,200.5", "０.５", "3亿"]
    rows = [registry_row(i, capital=c) for i, c in enumerate(capitals)]
    path, mapping = write_registry(tmp_path, rows)

    report = ingest(sqlite_workspace, path, mapping=mapping)

    stored = lake_rows(sqlite_workspace, "enterprise", report.batch_id)
    assert [r["registered_capital"] for r in stored] == pytest.approx(
        [5_000_000, 12_005_000, 5_000, 3e12]
    )
    # Without the mapping's scale the same column would be read as yuan.
    plain = tmp_path / "plain"
    write_csv(plain / "registry.csv", rows)
    write_mapping(plain / "m.yaml", REGISTRY_MAPPING.replace(", scale: 10000", ""))
    report = ingest(sqlite_workspace, plain / "registry.csv", mapping=plain / "m.yaml")
    stored = lake_rows(sqlite_workspace, "enterprise", report.batch_id)
    assert stored[0]["registered_capital"] == 500


# ---- empty and huge ----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".xlsx", ".parquet"])
def test_empty_file_is_refused(
    cli: Cli, sqlite_workspace: Workspace, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"registry{suffix}"
    path.write_bytes(b"")
    result = cli_ingest(cli, sqlite_workspace, path)
    assert_refused(result, sqlite_workspace, path, "is empty")


def test_header_only_file_is_an_empty_batch(
    cli: Cli, sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    path, mapping = write_registry(tmp_path, [])

    result = cli_ingest(cli, sqlite_workspace, path, "--mapping", mapping)

    assert result.exit_code == 0, result.output
    (batch,) = dump_ledger(sqlite_workspace.engine)["ingest_batch"]
    report = ingest(sqlite_workspace, path, mapping=mapping)
    assert report.already_ingested and report.batch_id == batch[0]
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (0, 0, 0)
    assert lake_rows(sqlite_workspace, "enterprise") == []
    assert sqlite_workspace.lake.files("enterprise") != []  # the (empty) batch is recorded


# Ingests a warm-up file (imports, region table, DuckDB) and then the file under test in
# one process, printing the peak resident memory (KiB on Linux) after each.
_MEASURE = """
import json, resource, sys
from pathlib import Path
from fengyan.ingest.pipeline import ingest_file
from fengyan.settings import Settings
from fengyan.workspace import Workspace

peaks = []
for home, db, csv_path, mapping in json.loads(sys.argv[1]):
    ws = Workspace(Settings(home=Path(home), lake_dir=Path(home) / "lake", database_url=db,
                            chunk_rows=3, pseudonym_key_env="test-key"))
    ws.init()
    ingest_file(Path(csv_path), "Enterprise", "市场监管局", schema=ws.schema, lake=ws.lake,
                engine=ws.engine, pseudonym_key=b"test-key", mapping=Path(mapping), chunk_rows=3)
    peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
print(json.dumps(peaks))
"""


def test_ten_megabyte_field_is_quarantined_alone(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    scope = "投资咨询；企业管理咨询；" * (10 * 2**20 // 24)  # 10 MB in GB18030
    rows = [registry_row(i) for i in range(5)]
    rows[2]["经营范围"] = scope
    path, mapping = write_registry(tmp_path, rows)
    assert path.stat().st_size > 10 * 2**20 - 100
    warm, warm_mapping = write_registry(tmp_path / "warm", [registry_row(i) for i in range(5)])
    ws = sqlite_workspace
    warm_db = f"sqlite:///{tmp_path / 'warm.db'}"
    jobs = [
        [str(tmp_path / "warm" / "home"), warm_db, str(warm), str(warm_mapping)],
        [str(ws.settings.home), ws.settings.database_url, str(path), str(mapping)],
    ]

    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, json.dumps(jobs)],
        capture_output=True,
        text=True,
        check=True,
    )

    warm_peak, peak = json.loads(done.stdout)
    # The 10 MB value is held a few times over (text, Arrow, trimmed copy), never 20 times.
    assert (peak - warm_peak) * 1024 < 200 * 2**20
    (batch,) = dump_ledger(ws.engine)["ingest_batch"]
    batch_id = batch[0]
    (entry,) = quarantine(ws, batch_id)
    assert_issue(entry, file_row(2), "business_scope", "ingest_too_long")
    assert entry["params"] == {"length": len(scope), "limit": 20_000}
    # The quarantine keeps a preview, not the 10 MB.
    assert entry["value"].startswith(scope[:100]) and len(entry["value"]) <= 201
    assert stored_codes(ws, batch_id) == codes([0, 1, 3, 4])
    report = ingest(ws, path, mapping=mapping)
    assert report.already_ingested
    assert_accounted(ws, report, "enterprise")


# ---- truncated files ---------------------------------------------------------------------


def test_csv_cut_mid_row_quarantines_the_last_row(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    rows = [registry_row(i) for i in range(6)]
    path, mapping = write_registry(tmp_path, rows)
    data = path.read_bytes()
    last = data.rindex(b"\n", 0, len(data) - 2) + 1
    kept = ",".join([rows[5][h] for h in REGISTRY_HEADER][:3]) + ",张"
    cut = last + len(kept.encode("gb18030")) - 1  # half of 张: a multibyte character cut too
    path.write_bytes(data[:cut])

    report = ingest(sqlite_workspace, path, mapping=mapping)

    (entry,) = quarantine(sqlite_workspace, report.batch_id)
    assert_issue(entry, file_row(5), None, "ingest_ragged_row")
    assert entry["params"] == {"expected": len(REGISTRY_HEADER), "actual": 4}
    assert stored_codes(sqlite_workspace, report.batch_id) == codes(range(5))
    assert_accounted(sqlite_workspace, report, "enterprise")


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_truncated_binary_file_is_refused(
    cli: Cli, sqlite_workspace: Workspace, tmp_path: Path, suffix: str
) -> None:
    rows = [registry_row(i) for i in range(50)]
    path = tmp_path / f"registry{suffix}"
    if suffix == ".xlsx":
        write_xlsx(path, REGISTRY_HEADER, [[r[h] for h in REGISTRY_HEADER] for r in rows])
    else:
        write_parquet(path, {h: [r[h] for r in rows] for h in REGISTRY_HEADER})
    mapping = write_mapping(tmp_path / "registry.mapping.yaml")
    # The file is usable whole …
    whole = ingest(sqlite_workspace, path, mapping=mapping)
    assert whole.rows_stored == 50
    # … and refused once cut (in another store, so nothing from the whole file is there).
    other = Workspace.from_env(tmp_path / "other")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])

    result = cli_ingest(cli, other, path, "--mapping", mapping)

    assert_refused(result, other, path, "cannot be read")
    other.engine.dispose()


def test_jsonl_cut_mid_line_quarantines_that_line(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    records = [article_record(i, f"2024-03-0{i + 1} 09:30") for i in range(5)]
    path = write_jsonl(tmp_path / "articles.jsonl", records)
    data = path.read_bytes()
    last = data.rindex(b"\n", 0, len(data) - 2) + 1
    path.write_bytes(data[: last + (len(data) - last) // 2])

    report = ingest(sqlite_workspace, path, "Article", "舆情监测")

    (entry,) = quarantine(sqlite_workspace, report.batch_id)
    assert_issue(entry, 5, None, "ingest_bad_json")
    assert entry["value"].startswith('{"article_id": "A00004"')
    assert [r["article_id"] for r in lake_rows(sqlite_workspace, "article")] == [
        f"A{i:05d}" for i in range(4)
    ]
    assert_accounted(sqlite_workspace, report, "article")


@pytest.mark.parametrize("bad_lines", [["[1, 2]", "not json"], ["{}"]], ids=["broken", "empty"])
def test_jsonl_chunk_without_a_usable_object_is_not_refused(
    sqlite_workspace: Workspace, tmp_path: Path, bad_lines: list[str]
) -> None:
    # Three good lines fill the first chunk; the next chunk holds nothing to map.
    path = write_jsonl(
        tmp_path / "articles.jsonl", [article_record(i, "2024-03-01 09:30") for i in range(3)]
    )
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n".join(bad_lines) + "\n")

    report = ingest(sqlite_workspace, path, "Article", "舆情监测", chunk_rows=3)

    assert (report.rows_read, report.rows_stored) == (3 + len(bad_lines), 3)
    entries = quarantine(sqlite_workspace, report.batch_id)
    assert sorted({e["row"] for e in entries}) == [4 + n for n in range(len(bad_lines))]
    assert {e["reason"] for e in entries} == (
        {"ingest_bad_json"} if len(bad_lines) > 1 else {"required_missing"}
    )
    assert_accounted(sqlite_workspace, report, "article")


# ---- Excel -------------------------------------------------------------------------------


def test_excel_numeric_cells_keep_their_digits(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    header = ["person_id", "name", "phone", "nationality"]
    # Typed into Excel, ids and phone numbers become numeric cells (floats on disk).
    path = write_xlsx(
        tmp_path / "persons.xlsx",
        header,
        [[1001, "张伟", 13800138000, "CN"], [1002, "王芳", 13912345678, "CN"]],
    )
    report = ingest(sqlite_workspace, path, "Person")
    assert report.rows_stored == 2, quarantine(sqlite_workspace, report.batch_id)
    stored = lake_rows(sqlite_workspace, "person")
    assert [(r["person_id"], r["phone"]) for r in stored] == [
        ("1001", ["+8613800138000"]),
        ("1002", ["+8613912345678"]),
    ]


# ---- nothing lost, whatever the mix ------------------------------------------------------

# How a generated record is spoilt; "good" ones are valid.
SPOILERS: dict[str, dict[str, str]] = {
    "good": {},
    "bad_code": {"code": "91440300MA5G00000A"},
    "negative": {"capital": "-1"},
    "future": {"established": "2099-01-01"},
    "no_name": {"name": ""},
}


@settings(max_examples=30, deadline=None)
@given(
    records=st.lists(
        st.tuples(st.sampled_from([*SPOILERS, "ragged"]), st.integers(0, 5)), max_size=20
    ),
    chunk_rows=st.integers(1, 6),
)
def test_every_record_is_stored_or_quarantined_once(
    records: list[tuple[str, int]], chunk_rows: int
) -> None:
    rows: list[Any] = []
    for kind, firm in records:
        if kind == "ragged":
            rows.append(["1", credit_code(firm), "深圳市残行有限公司"])
        else:
            rows.append(registry_row(firm, **SPOILERS[kind]))
    # Expected: the first valid occurrence of each firm is stored, later ones are duplicates.
    stored: list[int] = []
    duplicate_of: dict[int, int] = {}
    first_row: dict[int, int] = {}
    for n, (kind, firm) in enumerate(records):
        if kind != "good":
            continue
        if firm in first_row:
            duplicate_of[file_row(n)] = first_row[firm]
        else:
            first_row[firm] = file_row(n)
            stored.append(firm)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ws = Workspace(
            Settings(
                home=folder / "home", lake_dir=folder / "home" / "lake",
                database_url=f"sqlite:///{folder / 'home' / 'fengyan.db'}",
                chunk_rows=chunk_rows, pseudonym_key_env="test-key",
            )
        )  # fmt: skip
        ws.init()
        path, mapping = write_registry(folder, rows)
        report = ingest(ws, path, mapping=mapping, chunk_rows=chunk_rows)

        assert (report.rows_read, report.rows_stored) == (len(records), len(stored))
        assert stored_codes(ws, report.batch_id) == codes(stored)
        entries = quarantine(ws, report.batch_id)
        spoilt = {file_row(n) for n, (kind, _) in enumerate(records) if kind != "good"}
        assert {e["row"] for e in entries} == spoilt | set(duplicate_of)
        duplicates = {e["row"]: e["params"]["first_row"] for e in entries
                      if e["reason"] == "ingest_duplicate_key"}  # fmt: skip
        assert duplicates == duplicate_of
        assert_accounted(ws, report, "enterprise")
        ws.engine.dispose()
