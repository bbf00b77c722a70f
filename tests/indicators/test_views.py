"""Sources built as views (sources.yaml `views`): text_document per firm, the register's
history and related firms, on the hand-built tiny city with the packaged specs that read them.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import sqlglot
import yaml

from fengyan.indicators.engines.duckdb import DuckDBEngine
from fengyan.indicators.load import PACKAGE_DIR, load_specs
from fengyan.indicators.plan import FIRMS_TABLE
from fengyan.indicators.service import as_of_bounds, compute_indicators
from fengyan.indicators.sources import load_sources
from fengyan.workspace import Workspace
from tests.indicators.conftest import CA, CB, CC, A, B, C, build_tiny_city
from tests.indicators.lakebuilder import LakeBuilder, arrow_schema, day

AS_OF = date(2024, 6, 30)
IDS = (
    "OPN_REACH",
    "OPN_DOC_DISTRICTS",
    "OPS_ADDRESS_CHANGES",
    "OPS_DISTRICT_MIGRATION",
    "OPS_CAPITAL_INCREASE",
    "REL_NEIGHBOUR_CRIMINAL",
    "REL_NEIGHBOUR_COLLAPSE",
    "REL_CONTROLLER_SPAN",
)


def _specs_root(tmp: Path) -> Path:
    """A spec folder holding only the packaged specs under test (and the packaged terms)."""
    chosen = []
    for path in sorted((PACKAGE_DIR / "specs").glob("*.yaml")):
        chosen += [s for s in yaml.safe_load(path.read_text("utf-8")) if s["id"] in IDS]
    assert {s["id"] for s in chosen} == set(IDS)
    root = tmp / "specs-root"
    (root / "specs").mkdir(parents=True)
    (root / "specs" / "views.yaml").write_text(yaml.safe_dump(chosen, allow_unicode=True), "utf-8")
    shutil.copy(PACKAGE_DIR / "terms.yaml", root / "terms.yaml")
    return root


def _write(ws: Workspace, stage: str, tables: dict[str, list[dict[str, object]]]) -> None:
    """Replace a derived stage with these tables (columns as sources.yaml declares them)."""
    ws.lake.write_derived(
        stage, {n: pa.Table.from_pylist(rows, arrow_schema(n)) for n, rows in tables.items()}
    )


def _enterprise(**kw: object) -> dict[str, object]:
    base = {
        "credit_code": CA,
        "name": "深圳甲金融服务有限公司",
        "registered_capital": 1e6,
        "established": date(2024, 1, 1),
        "registered_address": "深圳市南山区一路1号",
        "region_code": "440305001",
    }
    return base | kw


@pytest.fixture
def city(sqlite_workspace: Workspace) -> Workspace:
    """The tiny city plus register history, documents, a graph and court records."""
    tiny = build_tiny_city(sqlite_workspace)
    b = tiny.build
    # A moves to another district and raises its capital fivefold before the as-of date;
    # a later move (known after it) must not count.
    b.put("enterprise", [_enterprise()], day("2024-01-02"), key="credit_code")
    b.put(
        "enterprise",
        [_enterprise(registered_address="深圳市福田区二路2号", region_code="440304002")],
        day("2024-03-01"),
        key="credit_code",
    )
    b.put(
        "enterprise",
        [
            _enterprise(
                registered_address="深圳市福田区二路2号",
                region_code="440304002",
                registered_capital=5e6,
            )
        ],
        day("2024-05-01"),
        key="credit_code",
    )
    b.put(
        "enterprise",
        [_enterprise(registered_address="深圳市宝安区三路3号", region_code="440306003")],
        day("2024-08-01"),
        key="credit_code",
    )
    # B was convicted before the as-of date, C after it.
    b.put(
        "judgment",
        [
            {
                "judgment_id": "j1",
                "case_type": "刑事",
                "cause": ["非法吸收公众存款罪"],
                "party_id": CB,
                "judgment_date": date(2024, 5, 20),
            },
            {
                "judgment_id": "j2",
                "case_type": "刑事",
                "cause": ["集资诈骗罪"],
                "party_id": CC,
                "judgment_date": date(2024, 7, 20),
            },
        ],
        day("2024-01-01"),
        key="judgment_id",
    )
    ts = datetime(2024, 6, 1, 8)
    doc = {"source_table": "article", "text_len": 10}
    mention = {"source_table": "article", "method": "full_name", "published_at": ts}
    _write(
        tiny.ws,
        "text",
        {
            "text_document": [
                {"doc_key": "article/d1", "published_at": ts, "region_code": "440305",
                 "reach": 100, **doc},
                {"doc_key": "article/d2", "published_at": ts, "region_code": "440304",
                 "reach": 50, **doc},
                {"doc_key": "article/d3", "published_at": datetime(2024, 7, 5, 8),
                 "region_code": "440306", "reach": 999, **doc},
            ],
            "text_mention": [
                {"doc_key": "article/d1", "firm_id": A, "confidence": 1.0, **mention},
                {"doc_key": "article/d1", "firm_id": C, "confidence": 0.9, **mention},
                # Two mentions of A in one document: one row of the source.
                {"doc_key": "article/d2", "firm_id": A, "confidence": 0.8, **mention},
                {"doc_key": "article/d2", "firm_id": A, "confidence": 0.7, **mention},
                {"doc_key": "article/d3", "firm_id": A, "confidence": 1.0, **mention},
            ],
            "text_event": [
                {"doc_key": "article/d1", "source_table": "article", "firm_id": C,
                 "event_type": "runaway", "probability": 0.9, "method": "model",
                 "published_at": ts},
            ],
        },
    )  # fmt: skip
    # A and B share a controller; C is A's subsidiary.
    _write(
        tiny.ws,
        "graph",
        {
            "graph_controller": [
                {"firm_id": A, "controller_id": "per:p1", "basis": "majority_chain"},
                {"firm_id": B, "controller_id": "per:p1", "basis": "majority_chain"},
                {"firm_id": C, "controller_id": A, "basis": "majority_chain"},
            ],
            "graph_edge": [{"src": A, "dst": C, "relation": "shareholding", "share": 1.0}],
        },
    )
    return tiny.ws


def test_view_sources_as_of(city: Workspace, tmp_path: Path) -> None:
    specs = load_specs(_specs_root(tmp_path))
    report = compute_indicators(city, as_of=AS_OF, specs=specs, write=False)
    values = {
        (r["firm_id"], r["indicator_id"]): r for r in report.tables["indicator_value"].to_pylist()
    }

    def value(firm: str, ind: str) -> float:
        row = values.get((firm, ind))
        return 0.0 if row is None else float(row["value"])

    # Documents about A before the as-of date: d1 (100) and d2 (50); d3 is later.
    assert value(A, "OPN_REACH") == 150
    assert value(C, "OPN_REACH") == 100
    assert value(A, "OPN_DOC_DISTRICTS") == 2
    assert sorted(values[(A, "OPN_REACH")]["evidence"]) == ["article/d1", "article/d2"]
    # The register's history: one move to another district, capital ×5; the August move
    # is unknown on June 30.
    assert value(A, "OPS_ADDRESS_CHANGES") == 1
    assert value(A, "OPS_DISTRICT_MIGRATION") == 1
    assert value(A, "OPS_CAPITAL_INCREASE") == 5
    assert value(B, "OPS_ADDRESS_CHANGES") == 0
    # Related firms: B (same controller as A) was convicted in May → A sees one convicted
    # neighbour; C's conviction is after the as-of date → nobody sees it. C's runaway
    # report reaches A (its parent) but not B.
    assert value(A, "REL_NEIGHBOUR_CRIMINAL") == 1
    assert value(B, "REL_NEIGHBOUR_CRIMINAL") == 0
    assert value(C, "REL_NEIGHBOUR_CRIMINAL") == 0
    assert value(A, "REL_NEIGHBOUR_COLLAPSE") == 1
    assert value(B, "REL_NEIGHBOUR_COLLAPSE") == 0
    assert values[(A, "REL_NEIGHBOUR_CRIMINAL")]["evidence"] == [B]


def test_views_read_absent_stages_as_empty(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    """Before the text and graph stages run, the view sources give zeros, not errors."""
    build_tiny_city(sqlite_workspace)
    specs = load_specs(_specs_root(tmp_path))
    report = compute_indicators(sqlite_workspace, as_of=AS_OF, specs=specs, write=False)
    scores = report.tables["indicator_score"]
    assert scores.num_rows == 4
    for ind in ("OPN_REACH", "REL_NEIGHBOUR_CRIMINAL", "REL_CONTROLLER_SPAN"):
        assert set(scores.column(ind).to_pylist()) == {0.0}


def test_restricted_views_give_the_full_views_rows(city: Workspace, tmp_path: Path) -> None:
    """A view's ``restricted_sql`` gives exactly its full rows of the chosen firms."""
    # A judgment resolution links to C whose party code is B's: B's neighbour A must not
    # see it as B's in either form.
    b = LakeBuilder(city.lake)
    b.seq = 100
    b.put(
        "judgment",
        [
            {
                "judgment_id": "j3",
                "case_type": "刑事",
                "cause": ["非法吸收公众存款罪"],
                "party_id": CB,
                "judgment_date": date(2024, 4, 1),
            }
        ],
        day("2024-01-01"),
        key="judgment_id",
    )
    files = city.lake.derived_files()
    link = pq.read_table(files["resolved_link"])
    extra = {
        "key_kind": "record",
        "key": f"judgment/{b.record_id('judgment', 'j3')}",
        "canonical_id": C,
        "entity_kind": "enterprise",
        "method": "name",
        "probability": 1.0,
    }
    city.lake.write_derived(
        "resolve",
        {
            "resolved_entity": pq.read_table(files["resolved_entity"]),
            "resolved_link": pa.concat_tables(
                [link, pa.Table.from_pylist([extra], schema=link.schema)]
            ),
        },
    )
    catalog = load_sources()
    terms = {k: v.terms for k, v in load_specs().terms.items()}
    day_, moment = as_of_bounds(AS_OF)
    con = city.lake.connect(moment)
    try:
        engine = DuckDBEngine(con)
        available = engine.tables()
        views = [n for n, v in catalog.views.items() if v.restricted_sql is not None]
        assert views
        for name in views:
            full_sql = catalog.view_sql(name, day_, available, terms)
            some_sql = catalog.view_sql(name, day_, available, terms, restricted=True)
            assert full_sql != some_sql
            full = con.sql(sqlglot.transpile(full_sql, write="duckdb")[0]).to_arrow_table()
            counts = full.group_by("firm_id").aggregate([]).num_rows
            assert counts >= 2, name
            for firm in (A, B, C):
                con.register(FIRMS_TABLE, pa.table({"firm_id": [firm]}))
                mine = con.sql(sqlglot.transpile(some_sql, write="duckdb")[0]).to_arrow_table()
                con.unregister(FIRMS_TABLE)
                want = full.filter(pc.equal(full.column("firm_id"), firm))
                keys = [(c, "ascending") for c in full.column_names]
                assert mine.sort_by(keys).equals(want.sort_by(keys)), (name, firm)
    finally:
        con.close()
