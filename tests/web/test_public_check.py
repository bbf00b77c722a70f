"""The public risk check (F21): no login, listed warnings only, nothing internal, rate-limited."""

from __future__ import annotations

import dataclasses

from fastapi import FastAPI
from sqlalchemy.orm import Session

from fengyan.db.published import FirmScore
from fengyan.web.app import create_app
from fengyan.workspace import Workspace
from tests.web.conftest import (
    OBJECT_REGIONS,
    TEST_SETTINGS,
    firm_name_for,
    new_client,
    seed_published,
    ws_of,
)


def _app(ws: Workspace, per_minute: int = 10_000) -> FastAPI:
    seed_published(ws)
    return create_app(ws, dataclasses.replace(TEST_SETTINGS, public_rate_per_minute=per_minute))


def test_listed_names_get_a_plain_hint_without_internal_data(sqlite_workspace: Workspace) -> None:
    app = _app(sqlite_workspace)
    name = firm_name_for("440305001001")
    with Session(ws_of(app).engine) as db:
        row = db.get(FirmScore, ("dolphin-v1", "oracle-firm-440305001001"))
        assert row is not None
        code, score = row.credit_code, row.score
    with new_client(app) as c:
        r = c.get("/api/v1/public/check", params={"q": name})
        assert r.status_code == 200
        body = r.json()
        assert body["listed"] and [m["name"] for m in body["matches"]] == [name]
        assert body["matches"][0]["level"] == "red" and "公安" in body["matches"][0]["hint"]
        text = r.text
        assert code not in text and "oracle-firm" not in text and str(score) not in text
        assert "440305001001" not in text.replace(name, "")
        en = c.get("/api/v1/public/check", params={"q": name, "lang": "en"}).json()
        assert "police" in en["matches"][0]["hint"]
        page = c.get("/check", params={"q": name})
        assert page.status_code == 200 and name in page.text and code not in page.text


def test_unlisted_and_short_names(sqlite_workspace: Workspace) -> None:
    app = _app(sqlite_workspace)
    with new_client(app) as c:
        none = c.get("/api/v1/public/check", params={"q": "完全无关的名字有限公司"}).json()
        assert not none["listed"] and none["matches"] == [] and "12345" in none["advice"]
        short = c.get("/api/v1/public/check", params={"q": "神谕企业4403"}).json()
        expected = sorted(firm_name_for(c) for c in OBJECT_REGIONS if c.startswith("4403"))
        assert sorted(m["name"] for m in short["matches"]) == expected
        assert c.get("/api/v1/public/check", params={"q": "x"}).status_code == 400


def test_only_the_listed_grades_are_public(sqlite_workspace: Workspace) -> None:
    app = _app(sqlite_workspace)
    with Session(ws_of(app).engine) as db, db.begin():
        row = db.get(FirmScore, ("dolphin-v1", "oracle-firm-450102001003"))
        assert row is not None
        row.grade = "blue"  # settings.yaml lists red, orange and yellow only
    with new_client(app) as c:
        r = c.get("/api/v1/public/check", params={"q": firm_name_for("450102001003")}).json()
    assert not r["listed"]


def test_the_check_is_rate_limited_per_client(sqlite_workspace: Workspace) -> None:
    app = _app(sqlite_workspace, per_minute=3)
    with new_client(app) as c:
        codes = [
            c.get("/api/v1/public/check", params={"q": "神谕企业"}).status_code for _ in range(3)
        ]
        over = c.get("/check", params={"q": "神谕企业"})
    assert codes == [200, 200, 200]
    assert over.status_code == 429 and int(over.headers["retry-after"]) > 0
