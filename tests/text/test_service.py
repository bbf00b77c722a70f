"""The text stage on a small simulated city, scored against the simulator's ground truth."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from fengyan.text.events import train
from fengyan.text.normalize import normalize_text
from fengyan.text.service import (
    SCHEMAS,
    TextReport,
    TextStageError,
    evaluate_linking,
    load_settings,
    run_text,
)
from fengyan.workspace import Workspace
from tests.resolve.conftest import ResolvedCity, make_workspace, resolved_city

__all__ = ["resolved_city"]

CONTRACT = {
    "text_document": "doc_key source_table published_at region_code reach text_len",
    "text_mention": "doc_key source_table firm_id start end surface method confidence published_at",
    "text_event": "doc_key source_table firm_id event_type probability method evidence_span "
    "published_at",
    "text_promise": "doc_key source_table firm_id kind annual_rate amount_yuan term_days start end "
    "span published_at",
    "text_violation": "doc_key source_table firm_id rule_id basis severity start end span "
    "published_at",
    "text_sentiment": "doc_key source_table firm_id label score published_at",
    "text_feature_hit": "doc_key source_table firm_id term category sector weight start "
    "published_at",
}


@pytest.fixture(scope="module")
def text_city(
    resolved_city: ResolvedCity, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Workspace, TextReport, Path]]:
    """A copy of the resolved city with one text run (no event model: keyword fallback)."""
    home = tmp_path_factory.mktemp("text") / "home"
    shutil.copytree(resolved_city.ws.settings.home, home)
    ws = make_workspace(home)
    report = run_text(ws)
    yield ws, report, resolved_city.truth
    ws.engine.dispose()


def test_tables_follow_the_contract(text_city: tuple[Workspace, TextReport, Path]) -> None:
    ws, report, _ = text_city
    con = ws.lake.connect()
    for table, columns in CONTRACT.items():
        assert [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()] == columns.split()
        assert SCHEMAS[table].names == columns.split()
    docs = con.execute("SELECT count(*) FROM text_document").fetchall()[0][0]
    sources = con.execute(
        "SELECT (SELECT count(*) FROM article) + (SELECT count(*) FROM advertisement)"
        " + (SELECT count(*) FROM recruitment_post) + (SELECT count(*) FROM complaint)"
        " + (SELECT count(*) FROM judgment)"
    ).fetchall()[0][0]
    assert docs == sources  # every record of every text table is a document
    for table in ("text_event", "text_promise", "text_violation", "text_sentiment",
                  "text_feature_hit"):  # fmt: skip
        assert report.counts[table] > 0, table
    methods = dict(con.execute("SELECT method, count(*) FROM text_mention GROUP BY 1").fetchall())
    assert {"full_name", "short_name", "credit_code", "record_link"} <= set(methods)


def test_mention_offsets_index_the_normalised_text(
    text_city: tuple[Workspace, TextReport, Path],
) -> None:
    ws, _, _ = text_city
    con = ws.lake.connect()
    rows = con.execute(
        """SELECT m.start, m."end", m.surface, a.title || ' ' || a.text
           FROM text_mention m JOIN article a ON m.doc_key = 'article/' || a._id
           WHERE m.start IS NOT NULL ORDER BY m.doc_key, m.start LIMIT 200"""
    ).fetchall()
    assert len(rows) > 50
    for start, end, surface, body in rows:
        assert normalize_text(body)[start:end] == surface


def test_linking_precision_and_recall(text_city: tuple[Workspace, TextReport, Path]) -> None:
    ws, _, truth = text_city
    scores = evaluate_linking(ws.lake.connect(), truth)
    overall = scores["all"]
    assert overall.documents > 1000
    assert overall.precision >= 0.99
    assert overall.recall >= 0.95
    assert scores["full"].recall >= 0.99 and scores["traditional"].recall >= 0.95
    assert scores["short"].recall >= 0.95
    assert scores["table:article"].recall >= 0.85  # running text, no key to fall back on


def test_missing_model_falls_back_to_keywords_with_a_warning(
    text_city: tuple[Workspace, TextReport, Path],
) -> None:
    ws, report, _ = text_city
    assert report.event_method == "keyword"
    assert [w[0] for w in report.warnings] == ["text_event_model_missing"]
    con = ws.lake.connect()
    assert con.execute("SELECT DISTINCT method FROM text_event").fetchall() == [("keyword",)]


def test_model_events_and_a_strict_setting(
    text_city: tuple[Workspace, TextReport, Path], tmp_path: Path
) -> None:
    ws, _, _ = text_city
    settings = load_settings()
    model = train(
        ["平台老板失联跑路，投资人报警", "老板跑路了", "公司提现困难，逾期兑付",
         "逾期未兑付，提现难", "天气晴朗", "新品上市"] * 2,
        [frozenset({"runaway"}), frozenset({"runaway"}), frozenset({"overdue"}),
         frozenset({"overdue"}), frozenset(), frozenset()] * 2,
    )  # fmt: skip
    home = tmp_path / "home"
    shutil.copytree(ws.settings.home, home)
    copy = make_workspace(home)
    model.save(home / settings.events.artefact)
    report = run_text(copy)
    assert report.event_method == "model" and report.warnings == []
    con = copy.lake.connect()
    got = con.execute("SELECT min(probability), max(probability) FROM text_event").fetchall()[0]
    assert 0.5 < got[0] <= got[1] < 1.0
    (home / settings.events.artefact).unlink()
    strict = load_settings()
    strict = type(strict)(
        strict.model, strict.chunk_rows, strict.sources,
        type(strict.events)(strict.events.artefact, 1.0, 60, "fail"), strict.linking,
    )  # fmt: skip
    with pytest.raises(TextStageError) as err:
        run_text(copy, settings=strict)
    assert err.value.message_code == "text_no_event_model"
    copy.engine.dispose()


def test_needs_a_resolution_run(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "empty")
    with pytest.raises(TextStageError) as err:
        run_text(ws)
    assert err.value.message_code == "text_needs_resolve"
    ws.engine.dispose()
