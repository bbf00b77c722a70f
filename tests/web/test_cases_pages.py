"""The case pages and their API (issue 8): scope through every case route, a transition
through the page form writes its audit entry, a stale version answers 409, attachments are
type-checked, ``Idempotency-Key`` replays.

World: the oracle's seeded run (one red firm per region of :data:`OBJECT_REGIONS`), cases
opened for the new reds (held by each firm's city), then the Nantou community's case handed
down city → district → Nantou street, and the sibling street's case down to its street.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengyan.audit.log import search
from fengyan.db.cases import Case, CaseEvent
from fengyan.db.users import WebUser
from fengyan.web.scope import Principal
from fengyan.workflow import do_assign_case, open_cases_for_new_red
from tests.web.conftest import OBJECT_REGIONS, firm_id_for, firm_name_for, seed_published, ws_of

STREET = "440305001"  # Nantou street: holds the home community's case
SIBLING_STREET = "440305002"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass
class World:
    app: FastAPI
    case_of: dict[str, int]  # region code of the firm → case id


def _assign(app: FastAPI, case_id: int, actor: Principal, to_scope: str) -> None:
    with Session(ws_of(app).engine) as s, s.begin():
        do_assign_case(s, actor, case_id, to_scope)


@pytest.fixture
def world(web_app: FastAPI) -> World:
    ws = ws_of(web_app)
    run_id = seed_published(ws)
    with Session(ws.engine) as s, s.begin():
        report = open_cases_for_new_red(s, run_id)
    assert len(report.opened) == len(OBJECT_REGIONS)
    with Session(ws.engine) as s:
        rows = s.execute(select(Case.firm_id, Case.id, Case.holder_scope)).all()
    by_firm = {firm: (cid, holder) for firm, cid, holder in rows}
    case_of = {code: by_firm[firm_id_for(code)][0] for code in OBJECT_REGIONS}
    assert by_firm[firm_id_for(OBJECT_REGIONS[0])][1] == "4403"  # held by the city
    city = Principal.for_role("city-boss", "investigator", "4403")
    district = Principal.for_role("district-boss", "investigator", "440305")
    for code, street in ((OBJECT_REGIONS[0], STREET), (OBJECT_REGIONS[2], SIBLING_STREET)):
        _assign(web_app, case_of[code], city, "440305")
        _assign(web_app, case_of[code], district, street)
    return World(web_app, case_of)


def _street_user(make_user: Callable[..., WebUser], name: str = "nantou-grid",
                 scope: str = STREET) -> WebUser:  # fmt: skip
    return make_user(name, "grid_worker", scope)


def _version(c: TestClient, case_id: int) -> int:
    r = c.get(f"/api/v1/cases/{case_id}")
    assert r.status_code == 200, r.text
    version: int = r.json()["summary"]["version"]
    return version


def test_a_street_user_sees_only_its_streets_cases_through_every_route(
    world: World, make_user: Callable[..., WebUser], signed_in: Callable[[WebUser], TestClient],
    token_client: Callable[[WebUser], TestClient],
) -> None:  # fmt: skip
    user = _street_user(make_user)
    page, api = signed_in(user), token_client(user)
    mine = {c for c in OBJECT_REGIONS if c.startswith(STREET)}
    assert mine == {OBJECT_REGIONS[0], OBJECT_REGIONS[1]}
    others = set(OBJECT_REGIONS) - mine

    # Lists: pages and API name in-street firms only.
    texts = {
        path: page.get(path).text for path in ("/cases", "/cases/board", "/cases/stats")
    } | {
        path: api.get(path).text
        for path in ("/api/v1/cases", "/api/v1/cases/tasks", "/api/v1/cases/board",
                     "/api/v1/cases/statistics")
    }  # fmt: skip
    for path, text in texts.items():
        for code in others:
            assert firm_name_for(code) not in text, (path, code)
    # My tasks: the task the street holds, and nothing else.
    tasks = api.get("/api/v1/cases/tasks").json()
    assert [t["id"] for t in tasks["items"]] == [world.case_of[OBJECT_REGIONS[0]]]
    assert firm_name_for(OBJECT_REGIONS[0]) in texts["/cases"]
    listed = api.get("/api/v1/cases", params={"size": 200}).json()
    assert listed["total"] == 2
    assert {c["firm_id"] for c in listed["items"]} == {firm_id_for(c) for c in mine}
    assert api.get("/api/v1/cases/statistics").json()["total"] == 2
    board = api.get("/api/v1/cases/board").json()
    # The workflow's board counts the street's own task and the in-street case still held by
    # the city on the "own" row; the units below (communities) hold nothing.
    assert board["scope"] == STREET and board["own"]["open"] == 2 and board["below"] == []

    # Another street's case — page, API, actions, download — is "not found", like no case.
    home_case = world.case_of[OBJECT_REGIONS[0]]
    manager = token_client(make_user("nantou-inv", "investigator", STREET))
    upload = manager.post(f"/api/v1/cases/{home_case}/attachments",
                          files={"file": ("photo.png", PNG, "image/png")})  # fmt: skip
    assert upload.status_code == 200, upload.text
    for code in others:
        cid = world.case_of[code]
        assert page.get(f"/cases/{cid}").status_code == 404
        assert api.get(f"/api/v1/cases/{cid}").status_code == 404
        assert api.get(f"/api/v1/cases/{cid}/attachments/1").status_code == 404
        assert page.get(f"/cases/{cid}/attachments/1").status_code == 404
        assert api.post(f"/api/v1/cases/{cid}/comments", json={"text": "x"}).status_code == 404
    # The sibling street's user cannot fetch the home case's attachment by guessing ids.
    sibling = token_client(_street_user(make_user, "other-grid", SIBLING_STREET))
    attachment_id = api.get(f"/api/v1/cases/{home_case}").json()["attachments"][0]["id"]
    assert sibling.get(f"/api/v1/cases/{home_case}/attachments/{attachment_id}").status_code == 404
    got = api.get(f"/api/v1/cases/{home_case}/attachments/{attachment_id}")
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-disposition"].startswith("attachment;")
    assert page.get(f"/cases/{home_case}/attachments/{attachment_id}").content == PNG


def test_a_transition_through_the_page_writes_the_audit_entry_and_a_stale_form_gets_409(
    world: World, make_user: Callable[..., WebUser], signed_in: Callable[[WebUser], TestClient],
) -> None:  # fmt: skip
    user = _street_user(make_user)
    c = signed_in(user)
    case_id = world.case_of[OBJECT_REGIONS[0]]
    html = c.get(f"/cases/{case_id}")
    assert html.status_code == 200
    assert 'data-testid="transition-start_verification"' in html.text
    version = _version(c, case_id)
    form = {"transition": "start_verification", "version": str(version), "mode": "off_site"}
    r = c.post(f"/cases/{case_id}/transition", data=form)
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{case_id}"
    engine = ws_of(world.app).engine
    with Session(engine) as s:
        case = s.get(Case, case_id)
        assert case is not None and case.state == "verifying" and case.mode == "off_site"
        event = s.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.kind == "transition")
        ).one()
    total, entries = search(engine, action="case.transition", target=f"case/{case_id}")
    assert total == 1 and entries[0].actor == user.username
    assert entries[0].seq == event.audit_seq and entries[0].detail["to"] == "verifying"

    # The same form again carries the old version: 409, nothing written.
    stale = c.post(f"/cases/{case_id}/comment", data={"text": "ok"})
    assert stale.status_code == 303
    conflict = c.post(f"/cases/{case_id}/checklist", data={"version": str(version)})
    assert conflict.status_code == 409
    api_conflict = c.post(f"/api/v1/cases/{case_id}/transitions",
                          json={"transition": "submit_findings", "fields": {"findings": "x"},
                                "version": version})  # fmt: skip
    assert api_conflict.status_code == 409
    assert api_conflict.json()["error"]["code"].startswith("workflow_conflict")
    assert search(engine, target=f"case/{case_id}", action="case.checklist")[0] == 0


def test_attachments_of_a_bad_type_are_refused(
    world: World, make_user: Callable[..., WebUser], signed_in: Callable[[WebUser], TestClient],
) -> None:  # fmt: skip
    c = signed_in(_street_user(make_user))
    case_id = world.case_of[OBJECT_REGIONS[0]]
    bad = {
        "run.exe": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff",
        "page.html": b"<html><script>alert(1)</script></html>",
        "pic.png": b"<svg xmlns='http://www.w3.org/2000/svg'/>",  # the name does not count
    }
    for name, data in bad.items():
        r = c.post(f"/api/v1/cases/{case_id}/attachments", files={"file": (name, data)})
        assert r.status_code == 422, (name, r.text)
        assert r.json()["error"]["code"] == "workflow_attachment_type"
        page = c.post(f"/cases/{case_id}/attachments", files={"file": (name, data)})
        assert page.status_code == 422
    assert _version(c, case_id) and c.get(f"/api/v1/cases/{case_id}").json()["attachments"] == []
    ok = c.post(f"/cases/{case_id}/attachments", files={"file": ("../../etc/p.png", PNG)})
    assert ok.status_code == 303
    shown = c.get(f"/api/v1/cases/{case_id}").json()["attachments"]
    assert [(a["file_name"], a["media_type"]) for a in shown] == [("p.png", "image/png")]


def test_an_idempotency_key_applies_a_comment_once(
    world: World, make_user: Callable[..., WebUser],
    token_client: Callable[[WebUser], TestClient],
) -> None:  # fmt: skip
    c = token_client(_street_user(make_user))
    case_id = world.case_of[OBJECT_REGIONS[0]]
    headers = {"Idempotency-Key": "retry-1"}
    first = c.post(f"/api/v1/cases/{case_id}/comments", json={"text": "核查中"}, headers=headers)
    again = c.post(f"/api/v1/cases/{case_id}/comments", json={"text": "核查中"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert not first.json()["replayed"] and again.json()["replayed"]
    assert again.json()["audit_seq"] == first.json()["audit_seq"]
    timeline = c.get(f"/api/v1/cases/{case_id}").json()["timeline"]
    assert [e["detail"].get("text") for e in timeline if e["kind"] == "comment"] == ["核查中"]
    other = c.post(f"/api/v1/cases/{case_id}/comments", json={"text": "别的"}, headers=headers)
    assert other.status_code == 409


def test_pages_render_in_english_and_escape_firm_names(
    world: World, make_user: Callable[..., WebUser], signed_in: Callable[[WebUser], TestClient],
) -> None:  # fmt: skip
    c = signed_in(_street_user(make_user))
    case_id = world.case_of[OBJECT_REGIONS[0]]
    zh = c.get(f"/cases/{case_id}").text
    en = c.get(f"/cases/{case_id}", params={"lang": "en"}).text
    assert "办理记录" in zh and "Timeline" in en and "办理记录" not in en
    stats = c.get("/cases/stats")
    assert '<script src="/static/cases.js"></script>' in stats.text
    assert c.get("/static/cases.js").status_code == 200
    c.post(f"/cases/{case_id}/comment", data={"text": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in c.get(f"/cases/{case_id}").text


def test_demo_accounts_are_made_once_for_the_busiest_street(web_app: FastAPI) -> None:
    from fengyan.cli.demo_web import ensure_demo_users

    ws = ws_of(web_app)
    seed_published(ws)
    first = ensure_demo_users(ws, web_app.state.settings)
    # Nantou street (Nanshan) holds two of the six red firms, every other street one.
    assert [(x.username, x.role, x.scope) for x in first] == [
        ("demo-admin", "admin", "4403"), ("demo-analyst", "analyst", "4403"),
        ("demo-district", "investigator", "440305"), ("demo-grid", "grid_worker", "440305001"),
    ]  # fmt: skip
    assert all(x.password and len(x.password) >= 12 for x in first)
    with Session(ws.engine) as s:
        hashes = s.scalars(select(WebUser.password_hash).where(WebUser.username.like("demo-%")))
        assert all(h and h.startswith("$argon2id$") for h in hashes)
    again = ensure_demo_users(ws, web_app.state.settings)
    assert [x.password for x in again] == [None] * 4


def test_the_run_hook_opens_cases_for_the_new_reds_once(web_app: FastAPI) -> None:
    from fengyan.cli.run import open_red_cases

    ws = ws_of(web_app)
    run_id = seed_published(ws)
    open_red_cases(ws, run_id)
    open_red_cases(ws, run_id)  # a second call finds every firm with an open case
    with Session(ws.engine) as s:
        held = {f: h for f, h in s.execute(select(Case.firm_id, Case.holder_scope))}
    assert held == {firm_id_for(c): c[:4] for c in OBJECT_REGIONS}
