"""History: later snapshots supersede earlier ones without erasing them.

A registry is sent as of 2024-01-31 and again as of 2024-03-31 with one firm renamed, one
firm's capital changed, one firm unchanged and one new firm. The lake answers "what did we
know at time t" for any t, keeps every version with its validity interval, and does not
count a record re-sent unchanged as a new version. Events are known from their own time.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from fengyan.clock import CHINA_TZ
from fengyan.lake import Lake
from fengyan.workspace import Workspace

from .builders import article_record, credit_code, ingest, registry_row, write_jsonl, write_registry

JAN, MAR = "2024-01-31", "2024-03-31"
RENAMED, RECAPITALISED, UNCHANGED, NEW = 0, 1, 2, 3
OLD_NAME, NEW_NAME = registry_row(RENAMED)["企业名称"], "深圳市鹏润数字科技有限公司"


def china(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHINA_TZ)


def state(lake: Lake, at: datetime | None = None) -> dict[str, tuple[str, float]]:
    """Credit code → (name, registered capital) as of ``at``."""
    return {
        r["credit_code"]: (r["name"], r["registered_capital"])
        for r in lake.read("enterprise", as_of=at).to_pylist()
    }


def versions(lake: Lake) -> list[dict[str, Any]]:
    con = lake.connect()
    try:
        table = con.sql(
            "SELECT credit_code, name, registered_capital, _valid_from, _valid_to, _batch "
            "FROM enterprise__versions ORDER BY credit_code, _valid_from"
        ).to_arrow_table()
    finally:
        con.close()
    return table.to_pylist()


@pytest.fixture(params=["in order", "late delivery"])
def history(request: pytest.FixtureRequest, workspace: Workspace, tmp_path: Path) -> Workspace:
    """Both snapshots ingested, the older one first or (a late delivery) second."""
    january = [registry_row(i) for i in (RENAMED, RECAPITALISED, UNCHANGED)]
    march = [
        registry_row(RENAMED, name=NEW_NAME),
        registry_row(RECAPITALISED, capital="8000"),
        registry_row(UNCHANGED),
        registry_row(NEW),
    ]
    snapshots = [(JAN, january), (MAR, march)]
    if request.param == "late delivery":
        snapshots.reverse()
    for as_of, rows in snapshots:
        path, mapping = write_registry(tmp_path / as_of, rows)
        report = ingest(workspace, path, mapping=mapping, as_of=as_of)
        assert report.rows_stored == len(rows)
    return workspace


def test_state_as_of_any_moment(history: Workspace) -> None:
    lake = history.lake
    january = {
        credit_code(RENAMED): (OLD_NAME, registry_row(RENAMED)["注册资本（万元）"]),
        credit_code(RECAPITALISED): (
            registry_row(RECAPITALISED)["企业名称"],
            registry_row(RECAPITALISED)["注册资本（万元）"],
        ),
        credit_code(UNCHANGED): (
            registry_row(UNCHANGED)["企业名称"],
            registry_row(UNCHANGED)["注册资本（万元）"],
        ),
    }
    january = {k: (name, float(wan) * 10_000) for k, (name, wan) in january.items()}
    march = {
        **january,
        credit_code(RENAMED): (NEW_NAME, january[credit_code(RENAMED)][1]),
        credit_code(RECAPITALISED): (january[credit_code(RECAPITALISED)][0], 80_000_000.0),
        credit_code(NEW): (
            registry_row(NEW)["企业名称"],
            float(registry_row(NEW)["注册资本（万元）"]) * 10_000,
        ),
    }

    assert state(lake, china(2024, 1, 30, 23, 59)) == {}
    assert state(lake, china(2024, 1, 31)) == january  # known from 00:00 China time
    assert state(lake, china(2024, 2, 15)) == january
    assert state(lake, china(2024, 3, 30, 23, 59, 59)) == january
    assert state(lake, china(2024, 3, 31)) == march
    assert state(lake, china(2024, 4, 1)) == march
    assert state(lake) == march
    # The same moment written in another time zone gives the same answer.
    assert state(lake, datetime.fromisoformat("2024-03-30T16:00:00+00:00")) == march
    assert state(lake, datetime.fromisoformat("2024-03-30T15:59:59+00:00")) == january
    assert lake.count("enterprise", china(2024, 2, 15)) == 3
    assert lake.count("enterprise") == 4


def test_versions_carry_their_validity(history: Workspace) -> None:
    rows = versions(history.lake)
    jan_start, mar_start = china(2024, 1, 31), china(2024, 3, 31)
    by_code: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_code.setdefault(r["credit_code"], []).append(r)

    renamed = by_code[credit_code(RENAMED)]
    assert [(r["name"], r["_valid_from"], r["_valid_to"]) for r in renamed] == [
        (OLD_NAME, jan_start, mar_start),
        (NEW_NAME, mar_start, None),
    ]
    recapitalised = by_code[credit_code(RECAPITALISED)]
    assert [(r["registered_capital"], r["_valid_to"]) for r in recapitalised] == [
        (float(registry_row(RECAPITALISED)["注册资本（万元）"]) * 10_000, mar_start),
        (80_000_000.0, None),
    ]
    # Re-sent unchanged in March: still one version, valid since January.
    (unchanged,) = by_code[credit_code(UNCHANGED)]
    assert (unchanged["_valid_from"], unchanged["_valid_to"]) == (jan_start, None)
    (new,) = by_code[credit_code(NEW)]
    assert (new["_valid_from"], new["_valid_to"]) == (mar_start, None)
    assert len(rows) == 6  # three in January, two changes and one new firm in March


def test_events_are_known_from_their_own_time(workspace: Workspace, tmp_path: Path) -> None:
    published = ["2024-03-02 09:30", "2024-05-18T21:05:00+08:00", "2024-04-11 10:00:00Z"]
    path = write_jsonl(
        tmp_path / "articles.jsonl", [article_record(i, p) for i, p in enumerate(published)]
    )
    # The delivery is dated June; each article is known from when it was published.
    report = ingest(workspace, path, "Article", "舆情监测", as_of="2024-06-30")
    assert report.rows_stored == 3

    rows = workspace.lake.read("article").to_pylist()
    expected = {
        "A00000": china(2024, 3, 2, 9, 30),
        "A00001": china(2024, 5, 18, 21, 5),
        "A00002": china(2024, 4, 11, 18, 0),
    }
    assert {r["article_id"]: r["_valid_from"] for r in rows} == expected
    assert {r["article_id"]: r["published_at"] for r in rows} == expected
    known_in_april = workspace.lake.read("article", as_of=china(2024, 4, 30)).to_pylist()
    assert sorted(r["article_id"] for r in known_in_april) == ["A00000", "A00002"]
