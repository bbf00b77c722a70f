"""Services and pages on a small published city (2,000 simulated firms, seed 11).

The city is resolved and graphed once per session (``tests.resolve.conftest``), then run
through text and indicators. Publication uses the real index models when they bind and
grade enough firms; while they do not (the indicator specs and models are being
calibrated alongside), the models' own scores are published with grades by rank — top
2 % red, next 3 % orange, 5 % yellow, 10 % blue — in two runs (the first at a stricter cut)
so that new and escalated warnings exist. :data:`PUBLISHED_HOW` says which happened; the
end-to-end check of the real index is skipped with the reason.

Expected answers are computed independently from the published rows (plain Python over
``firm_score``) and compared with what the services, pages and API return.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengyan.db.published import FirmScore
from fengyan.index.model import IndexModelError, bind, shipped_model
from fengyan.index.publish import do_publish_run, previous_grades
from fengyan.index.service import (
    DEFAULT_MODELS,
    _published_rows,
    assemble,
    bound_models,
    run_index,
    score_table,
)
from fengyan.index.warnings import compare, current_grades
from fengyan.web.app import create_app
from fengyan.workspace import Workspace
from tests.resolve.conftest import ResolvedCity, make_workspace, resolved_city
from tests.web.conftest import TEST_SETTINGS, add_user, signed_in_client

__all__ = ["resolved_city"]
# Share of firms per grade when grading by rank (most severe first).
RANK_SHARES = (("red", 0.02), ("orange", 0.03), ("yellow", 0.05), ("blue", 0.10))
PUBLISHED_HOW: dict[str, str] = {}


@dataclass
class PublishedCity:
    """A workspace with a published city and how it was published."""

    ws: Workspace
    how: str  # "index" (the real models) or the reason the rank fallback was used


def _bindable_models(columns: list[str]) -> list[object]:
    from fengyan.index.catalogue import load_indicator_meta

    metas = load_indicator_meta()
    out = []
    for mid in DEFAULT_MODELS:
        m = shipped_model(mid)
        keep: dict[str, tuple[object, ...]] = {}
        for kind in ("caps", "floors"):
            ok = []
            for r in getattr(m, kind):
                trial = m.model_copy(update={"caps": (), "floors": (), kind: (r,)})
                try:
                    bind(trial, metas, columns)
                    ok.append(r)
                except IndexModelError:
                    pass
            keep[kind] = tuple(ok)
        out.append(m.model_copy(update=keep))
    return out


def _rank_grades(scores: pa.Table, scale: float) -> pa.Table:
    """Grades by rank of score within each model (``scale`` < 1 publishes fewer)."""
    grades = np.full(scores.num_rows, "none", dtype=object)
    models = scores["model"].to_numpy(zero_copy_only=False)
    values = scores["score"].to_numpy(zero_copy_only=False).astype(float)
    for m in np.unique(models):
        idx = np.flatnonzero(models == m)
        order = idx[
            np.lexsort((scores["firm_id"].to_numpy(zero_copy_only=False)[idx], -values[idx]))
        ]
        start = 0
        for grade, share in RANK_SHARES:
            n = round(len(idx) * share * scale)
            grades[order[start : start + n]] = grade
            start += n
    return scores.set_column(
        scores.column_names.index("grade"), "grade", pa.array(grades.tolist(), pa.string())
    )


def _publish_by_rank(ws: Workspace) -> None:
    files = ws.lake.derived_files()
    table = pq.read_table(files["indicator_score"])
    columns = [c for c in table.column_names if c != "firm_id"]
    bound = bound_models(columns, _bindable_models(columns))  # type: ignore[arg-type]
    scored = score_table(table, bound, explain_from=0)
    index_score = assemble(scored, files.get("indicator_value"))
    universe = pq.read_table(files["resolved_entity"])
    universe = universe.filter(pc.equal(universe["entity_kind"], "enterprise"))
    category = pq.read_table(files["firm_category"]) if "firm_category" in files else None
    for n, (scale, as_of) in enumerate(
        ((0.6, datetime(2025, 6, 30, tzinfo=UTC)), (1.0, datetime(2025, 12, 31, tzinfo=UTC)))
    ):
        graded = _rank_grades(index_score, scale)
        previous = previous_grades(ws.engine, DEFAULT_MODELS)
        changes = compare(previous, current_grades(graded))
        firm_scores, with_region, regions = _published_rows(graded, changes, universe, category)
        do_publish_run(
            ws.engine,
            as_of,
            DEFAULT_MODELS,
            firm_scores,
            with_region,
            regions,
            table.num_rows,
            {"rank_fallback": n + 1},
        )


@pytest.fixture(scope="session")
def published_city(
    resolved_city: ResolvedCity, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PublishedCity]:
    """The resolved city, run through text, indicators and index, and published."""
    from fengyan.indicators.service import compute_indicators
    from fengyan.text.service import run_text

    home = tmp_path_factory.mktemp("web-city") / "home"
    shutil.copytree(resolved_city.ws.settings.home, home)
    ws = make_workspace(home)
    run_text(ws, None)
    compute_indicators(ws, as_of=None)
    how = "index"
    try:
        report = run_index(ws)
        graded = sum(v for g in report.grades.values() for k, v in g.items() if k != "none")
        if graded < 50:
            how = f"the shipped models graded only {graded} of {report.firms} firms"
    except IndexModelError as exc:
        how = f"the shipped index models do not bind: {exc}"
    if how != "index":
        # Start over: the rank fallback publishes two runs of its own.
        with Session(ws.engine) as db, db.begin():
            for table in ("region_summary", "warning", "firm_score", "score_run"):
                db.execute(FirmScore.metadata.tables[table].delete())
        _publish_by_rank(ws)
    PUBLISHED_HOW["how"] = how
    yield PublishedCity(ws, how)
    ws.engine.dispose()


@pytest.fixture(scope="session")
def city_app(published_city: PublishedCity) -> FastAPI:
    """The web app over the published city."""
    return create_app(published_city.ws, TEST_SETTINGS)


_USERS: dict[tuple[str, str], object] = {}


def client_for(app: FastAPI, role: str, scope: str) -> TestClient:
    """A signed-in client of a (cached) user with ``role`` and ``scope``."""
    key = (role, scope)
    if key not in _USERS:
        _USERS[key] = add_user(app, f"{role}_{scope}", role, scope)
    return signed_in_client(app, _USERS[key])  # type: ignore[arg-type]


def published(ws: Workspace, model: str = "dolphin-v1") -> list[FirmScore]:
    """Every published row of ``model`` (the oracle the tests compare with)."""
    with Session(ws.engine) as db:
        return list(db.scalars(select(FirmScore).where(FirmScore.model == model)).all())


def districts(ws: Workspace) -> list[str]:
    """Districts holding published firms, most firms first."""
    counts: dict[str, int] = {}
    for r in published(ws):
        if r.region_code:
            counts[r.region_code[:6]] = counts.get(r.region_code[:6], 0) + 1
    return sorted(counts, key=lambda d: (-counts[d], d))


# ---- tests --------------------------------------------------------------------------------


def test_the_city_is_published_with_every_grade(published_city: PublishedCity) -> None:
    rows = published(published_city.ws)
    assert {r.grade for r in rows} == {"red", "orange", "yellow", "blue"}
    assert {"new", "escalated"} <= {r.change for r in rows}
    assert len(districts(published_city.ws)) >= 3


def test_overview_counts_equal_the_published_rows_in_scope(
    city_app: FastAPI, published_city: PublishedCity
) -> None:
    rows = published(published_city.ws)
    district = districts(published_city.ws)[0]
    for scope in ("4403", district):
        mine = [r for r in rows if (r.region_code or "").startswith(scope)]
        with client_for(city_app, "analyst", scope) as c:
            o = c.get("/api/v1/overview").json()
        assert o["graded"] == len(mine)
        assert {g["key"]: g["count"] for g in o["by_grade"]} == {
            g: sum(r.grade == g for r in mine) for g in ("red", "orange", "yellow", "blue")
        }
        changes = {c["key"]: c["count"] for c in o["by_change"]}
        assert changes["new"] == sum(r.change == "new" for r in mine)
        assert changes["escalated"] == sum(r.change == "escalated" for r in mine)
        assert [p["month"] for p in o["trend"]] == ["2025-06", "2025-12"]
        last = o["trend"][-1]
        assert last["red"] == sum(r.grade == "red" for r in mine)
        if scope == "4403":
            top = o["top_regions"][0]
            assert top["region_code"] in districts(published_city.ws)
            assert top["red"] == sum(
                r.grade == "red"
                for r in mine
                if (r.region_code or "").startswith(top["region_code"])
            )


def test_warning_filters_sort_and_paginate(
    city_app: FastAPI, published_city: PublishedCity
) -> None:
    # Firms without a region (known only by name) are in no jurisdiction: fail closed.
    rows = [r for r in published(published_city.ws) if (r.region_code or "").startswith("4403")]
    with client_for(city_app, "analyst", "4403") as c:
        red = c.get("/api/v1/warnings", params={"grade": "red", "size": 200}).json()
        assert red["total"] == sum(r.grade == "red" for r in rows)
        scores = [i["score"] for i in red["items"]]
        assert scores == sorted(scores, reverse=True)
        two = c.get(
            "/api/v1/warnings", params={"grade": ["red", "orange"], "size": 7, "page": 2}
        ).json()
        assert two["total"] == sum(r.grade in ("red", "orange") for r in rows)
        assert len(two["items"]) == min(7, max(0, two["total"] - 7))
        esc = c.get("/api/v1/warnings", params={"change": "escalated", "size": 200}).json()
        assert esc["total"] == sum(r.change == "escalated" for r in rows)
        assert all(i["change"] == "escalated" for i in esc["items"])
        dim = c.get(
            "/api/v1/warnings",
            params={"dimension": "complaints", "size": 200, "sort": "-dimension"},
        ).json()
        expected = [r for r in rows if json.loads(r.dimensions).get("complaints", 0) >= 0.5]
        assert dim["total"] == len(expected)
        values = [i["dimensions"]["complaints"] for i in dim["items"]]
        assert values == sorted(values, reverse=True)
        district = districts(published_city.ws)[1]
        region = c.get("/api/v1/warnings", params={"region": district, "size": 200}).json()
        assert region["total"] == sum((r.region_code or "").startswith(district) for r in rows)
        cats = [r.category for r in rows if r.category]
        if cats:
            cat = c.get("/api/v1/warnings", params={"category": cats[0], "size": 1}).json()
            assert cat["total"] == cats.count(cats[0])
        bad = c.get("/api/v1/warnings", params={"grade": "purple"})
        assert bad.status_code == 400


def test_a_district_user_sees_nothing_of_another_district(
    city_app: FastAPI, published_city: PublishedCity
) -> None:
    rows = published(published_city.ws)
    mine, other = districts(published_city.ws)[:2]
    theirs = next(r for r in rows if (r.region_code or "").startswith(other))
    with client_for(city_app, "investigator", mine) as c:
        listed = c.get("/api/v1/warnings", params={"size": 200}).json()
        assert listed["total"] == sum((r.region_code or "").startswith(mine) for r in rows)
        assert all(i["region_code"].startswith(mine) for i in listed["items"])
        assert c.get("/api/v1/warnings", params={"region": other}).status_code == 404
        assert c.get("/api/v1/regions", params={"region": other}).status_code == 404
        fid = theirs.firm_id
        for path in (f"/api/v1/firms/{fid}", f"/api/v1/firms/{fid}/graph", f"/firm/{fid}"):
            assert c.get(path).status_code == 404, path
        csv = c.get("/api/v1/warnings/export.csv").content.decode("utf-8-sig")
        assert theirs.firm_id not in csv and (theirs.name or "@@") not in csv
        found = c.get("/api/v1/search", params={"q": theirs.name, "kind": "name"}).json()
        assert all(h["region_code"].startswith(mine) for h in found["items"])
        assert theirs.firm_id not in {h["firm_id"] for h in found["items"]}
        if theirs.credit_code:
            code = c.get("/api/v1/search", params={"q": theirs.credit_code}).json()
            assert code["items"] == []


def _firm_with(ws: Workspace, app: FastAPI, want: str) -> tuple[str, dict[str, object]]:
    """A published firm whose profile has ``want`` (registry legal rep, record evidence)."""
    with client_for(app, "investigator", "4403") as c:
        for r in sorted(published(ws), key=lambda r: -r.score):
            p = c.get(f"/api/v1/firms/{r.firm_id}").json()
            if want == "legal" and any(
                f["field"] == "legal_representative" and f["value"] for f in p["registry"]
            ):
                return r.firm_id, p
            if want == "record" and any(
                e["kind"] == "record" and e["table"] != "enterprise"
                for i in p["indicators"]
                for e in i["evidence"]
            ):
                return r.firm_id, p
    pytest.fail(f"no published firm with {want} in the city: the fixture no longer covers it")


def test_profile_masks_personal_data_by_role_and_audits_views(
    city_app: FastAPI, published_city: PublishedCity
) -> None:
    from fengyan.audit import search as audit_search

    ws = published_city.ws
    firm_id, clear = _firm_with(ws, city_app, "legal")
    name = next(f["value"] for f in clear["registry"] if f["field"] == "legal_representative")
    assert "*" not in name and len(name) >= 2
    assert clear["scores"] and clear["indicators"]
    assert any(d["dimension"] for d in clear["scores"][0]["dimensions"])
    with client_for(city_app, "analyst", "4403") as c:
        masked = c.get(f"/api/v1/firms/{firm_id}").json()
        shown = next(f["value"] for f in masked["registry"] if f["field"] == "legal_representative")
        assert (
            shown.startswith(name[0])
            and "*" in shown
            and name not in json.dumps(masked, ensure_ascii=False)
        )
        page = c.get(f"/firm/{firm_id}")
        assert page.status_code == 200 and name not in page.text and shown in page.text
    with client_for(city_app, "admin", "4403") as c:
        assert c.get(f"/api/v1/firms/{firm_id}").status_code == 403
    _total, entries = audit_search(ws.engine, target=f"enterprise/{firm_id}")
    actions = {(e.actor, e.action) for e in entries}
    assert ("investigator_4403", "personal.unmask") in actions
    assert ("analyst_4403", "personal.view") in actions


def test_evidence_opens_only_the_firms_own_records(
    city_app: FastAPI, published_city: PublishedCity
) -> None:
    firm_id, p = _firm_with(published_city.ws, city_app, "record")
    ev = next(
        e
        for i in p["indicators"]
        for e in i["evidence"]
        if e["kind"] == "record" and e["table"] != "enterprise"
    )
    with client_for(city_app, "analyst", "4403") as c:
        r = c.get(f"/api/v1/firms/{firm_id}/evidence/{ev['table']}/{ev['record_id']}")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["key"] == ev["key"] and body["fields"]
        page = c.get(f"/firm/{firm_id}/evidence/{ev['table']}/{ev['record_id']}")
        assert page.status_code == 200 and body["table_label"] in page.text
        other = next(x for x in published(published_city.ws) if x.firm_id != firm_id)
        assert (
            c.get(
                f"/api/v1/firms/{other.firm_id}/evidence/{ev['table']}/{ev['record_id']}"
            ).status_code
            == 404
        )
        assert c.get(f"/api/v1/firms/{firm_id}/evidence/{ev['table']}/0000").status_code == 404


def test_profile_parts_timeline_graph_and_history(
    city_app: FastAPI, published_city: PublishedCity
) -> None:
    rows = sorted(published(published_city.ws), key=lambda r: -r.score)
    with client_for(city_app, "analyst", "4403") as c:
        for r in rows[:30]:
            p = c.get(f"/api/v1/firms/{r.firm_id}").json()
            if p["timeline"] and p["controllers"]:
                break
        assert p["warnings"] and p["warnings"][0]["grade"] == r.grade
        dates = [e["date"] for e in p["timeline"] if e["date"]]
        assert dates == sorted(dates, reverse=True)
        g = c.get(f"/api/v1/firms/{r.firm_id}/graph", params={"hops": 2}).json()
        ids = {n["id"] for n in g["nodes"]}
        assert r.firm_id in ids and len(g["nodes"]) <= 150
        assert all(e["source"] in ids and e["target"] in ids for e in g["edges"])
        assert not any(n["id"].startswith("phone:+") for n in g["nodes"])  # opaque for masked roles
        if p["controllers"]:
            ctl = p["controllers"][0]["controller"]
            if ctl["kind"] == "person":
                assert "*" in (ctl["name"] or "*")


def test_search_by_short_name_code_phone_and_person_permission(
    city_app: FastAPI, published_city: PublishedCity
) -> None:
    from fengyan.resolve.names import split_name

    r = sorted(published(published_city.ws), key=lambda r: r.firm_id)[0]
    assert r.name and r.credit_code
    core = split_name(r.name).core
    with client_for(city_app, "analyst", "4403") as c:
        short = c.get("/api/v1/search", params={"q": core}).json()
        assert r.firm_id in {h["firm_id"] for h in short["items"]}, (core, short)
        typo = r.name[:-3] + "有线公司" if r.name.endswith("有限公司") else r.name + "x"
        fuzzy = c.get("/api/v1/search", params={"q": typo, "kind": "name"}).json()
        assert r.firm_id in {h["firm_id"] for h in fuzzy["items"]}
        code = c.get("/api/v1/search", params={"q": r.credit_code}).json()
        assert code["kind"] == "code" and [h["firm_id"] for h in code["items"]] == [r.firm_id]
        assert c.get("/api/v1/search", params={"q": "张伟", "kind": "person"}).status_code == 403
        assert c.get("/search", params={"q": core}).status_code == 200
    with client_for(city_app, "investigator", "4403") as c:
        assert c.get("/api/v1/search", params={"q": "张伟", "kind": "person"}).status_code == 200


def test_map_layers_drill_from_city_to_district_to_streets(
    city_app: FastAPI, published_city: PublishedCity
) -> None:
    rows = [r for r in published(published_city.ws) if (r.region_code or "").startswith("4403")]
    with client_for(city_app, "grid_worker", "4403") as c:
        city = c.get("/api/v1/regions").json()
        assert city["child_level"] == "district" and city["geo"] == "shenzhen_districts.geojson"
        assert sum(i["red"] for i in city["items"]) == sum(r.grade == "red" for r in rows)
        district = districts(published_city.ws)[0]
        d = c.get("/api/v1/regions", params={"region": district}).json()
        assert d["child_level"] == "street" and d["geo"] is None
        assert [b["region_code"] for b in d["breadcrumbs"]] == ["4403", district]
        # ``firms`` counts every scored firm; the grades count the published ones.
        assert sum(i["red"] + i["orange"] for i in d["items"]) == sum(
            r.grade in ("red", "orange")
            for r in rows
            if (r.region_code or "").startswith(district) and len(r.region_code or "") >= 9
        )
        page = c.get("/map", params={"region": district})
        assert page.status_code == 200 and d["items"][0]["name"] in page.text


@pytest.mark.parametrize(
    "lang,words", [("zh", ("预警列表", "风险总览")), ("en", ("Warnings", "Risk overview"))]
)
def test_pages_render_in_both_languages(
    city_app: FastAPI, lang: str, words: tuple[str, str]
) -> None:
    with client_for(city_app, "analyst", "4403") as c:
        w = c.get("/warnings", params={"lang": lang, "grade": "red"})
        o = c.get("/", params={"lang": lang})
        m = c.get("/map", params={"lang": lang})
    assert w.status_code == o.status_code == m.status_code == 200
    assert words[0] in w.text and words[1] in o.text


def test_the_real_index_published_the_city(published_city: PublishedCity) -> None:
    if published_city.how != "index":
        pytest.skip(f"published by rank instead of the real index: {published_city.how}")
    assert published(published_city.ws)


def test_run_pipeline_output_is_readable(published_city: PublishedCity) -> None:
    """The lake copy the web reads holds the record index the timeline needs."""
    from fengyan.web.services.lakecache import lake_cache

    cache = lake_cache(published_city.ws.lake)
    cache.refresh(force=True)
    records = cache.index("record")
    assert records is not None
    counts = {
        str(r["values"]): int(r["counts"])
        for r in pc.value_counts(records.table.column("tbl")).to_pylist()
    }
    assert counts.get("judgment", 0) > 0 and counts.get("complaint", 0) > 0
    assert Path(str(published_city.ws.lake.root)).is_dir()
