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


# ---- supervision: assign, take back, lead transfer, outcomes ---------------------------------


def _form_post(c: TestClient, path: str, data: dict[str, str]) -> int:
    r = c.post(path, data=data)
    assert r.status_code in (303, 400, 403, 404, 409, 422), r.text
    return r.status_code


def test_five_level_assignment_through_the_web_with_scope_take_back_and_conflict(
    world: World, make_user: Callable[..., WebUser], signed_in: Callable[[WebUser], TestClient],
) -> None:  # fmt: skip
    code = OBJECT_REGIONS[1]  # 440305001003, held by the city
    case_id = world.case_of[code]
    community = code
    city = signed_in(make_user("city-inv", "investigator", "4403"))
    district = signed_in(make_user("ns-inv", "investigator", "440305"))
    futian = signed_in(make_user("ft-inv", "investigator", "440304"))
    street = signed_in(make_user("nt-inv", "investigator", STREET))
    sibling_street = signed_in(make_user("ns2-inv", "investigator", SIBLING_STREET))
    make_user("grid-a", "grid_worker", community, display_name="网格员甲")
    grid = signed_in(make_user("grid-a2", "grid_worker", community))
    neighbour_grid = signed_in(make_user("grid-b", "grid_worker", OBJECT_REGIONS[0]))

    def holder() -> tuple[str, str | None]:
        s = city.get(f"/api/v1/cases/{case_id}").json()["summary"]
        return s["holder_scope"], s["assignee"]

    # The city's page offers the one district on the firm's line, named from the region table.
    page = city.get(f"/cases/{case_id}").text
    assert 'value="440305">南山区 (440305)' in page and 'value="440304"' not in page
    en = city.get(f"/cases/{case_id}", params={"lang": "en"}).text
    assert "Assignment and supervision" in en and "分派与督办" not in en
    v = _version(city, case_id)
    # A district off the case's line is refused, nothing moves.
    assert _form_post(city, f"/cases/{case_id}/assign",
                      {"to_scope": "440304", "version": str(v)}) == 422  # fmt: skip
    assert _form_post(city, f"/cases/{case_id}/assign",
                      {"to_scope": "440305", "version": str(v)}) == 303  # fmt: skip
    assert holder() == ("440305", None)
    assert district.get(f"/cases/{case_id}").status_code == 200
    assert futian.get(f"/cases/{case_id}").status_code == 404
    # The stale form (old version) now conflicts.
    assert _form_post(city, f"/cases/{case_id}/assign",
                      {"to_scope": "440305", "version": str(v)}) == 409  # fmt: skip

    assert 'value="440305001">南头街道' in district.get(f"/cases/{case_id}").text
    down = {"to_scope": STREET, "version": str(_version(district, case_id))}
    assert _form_post(district, f"/cases/{case_id}/assign", down) == 303
    assert holder() == (STREET, None)
    assert street.get(f"/cases/{case_id}").status_code == 200
    assert sibling_street.get(f"/cases/{case_id}").status_code == 404

    # The street names the grid worker; the assignee select lists the community's users.
    street_page = street.get(f"/cases/{case_id}").text
    assert 'value="grid-a">网格员甲 · grid-a' in street_page
    assert _form_post(street, f"/cases/{case_id}/assign",
                      {"to_scope": community, "assignee": "grid-a2",
                       "version": str(_version(street, case_id))}) == 303  # fmt: skip
    assert holder() == (community, "grid-a2")
    assert grid.get(f"/cases/{case_id}").status_code == 200
    assert case_id in [t["id"] for t in grid.get("/api/v1/cases/tasks").json()["items"]]
    assert neighbour_grid.get(f"/cases/{case_id}").status_code == 404
    # A grid worker cannot assign, on the page or the API, and is offered no form.
    assert 'data-testid="assign"' not in grid.get(f"/cases/{case_id}").text
    assert _form_post(grid, f"/cases/{case_id}/assign", {"to_scope": community}) == 403
    assert grid.post(f"/api/v1/cases/{case_id}/assign",
                     json={"to_scope": community}).status_code == 403  # fmt: skip
    assert holder() == (community, "grid-a2")

    # The district takes the task back: it holds it again, nobody named.
    assert 'data-testid="take-back"' in district.get(f"/cases/{case_id}").text
    back = {"note": "收回", "version": str(_version(district, case_id))}
    assert _form_post(district, f"/cases/{case_id}/take-back", back) == 303
    assert holder() == ("440305", None)
    total, entries = search(ws_of(world.app).engine, action="case.take_back",
                            target=f"case/{case_id}")  # fmt: skip
    assert total == 1 and entries[0].actor == "ns-inv"
    assert entries[0].detail["from_scope"] == community
    assert grid.get("/api/v1/cases/tasks").json()["items"] == []
    # The city reassigns over the district's head through the API, once per key.
    api_v = _version(city, case_id)
    body = {"to_scope": STREET, "version": api_v}
    first = city.post(f"/api/v1/cases/{case_id}/assign", json=body,
                      headers={"Idempotency-Key": "re-1"})  # fmt: skip
    again = city.post(f"/api/v1/cases/{case_id}/assign", json=body,
                      headers={"Idempotency-Key": "re-1"})  # fmt: skip
    assert first.status_code == again.status_code == 200, first.text
    assert again.json()["replayed"] and holder() == (STREET, None)
    assert search(ws_of(world.app).engine, action="case.reassign",
                  target=f"case/{case_id}")[0] == 1  # fmt: skip


def test_a_lead_package_downloads_verifies_and_feedback_and_outcomes_become_labels(
    world: World, make_user: Callable[..., WebUser], signed_in: Callable[[WebUser], TestClient],
) -> None:  # fmt: skip
    from datetime import UTC, datetime

    from fengyan.audit.keys import key_id
    from fengyan.workflow import LeadKeys, outcome_labels, verify_package

    code = OBJECT_REGIONS[3]  # Futian, held by the city
    case_id = world.case_of[code]
    c = signed_in(make_user("city-inv", "investigator", "4403"))
    form = {"kind": "police", "target_agency": "深圳市公安局福田分局",
            "note": "涉嫌非法吸收公众存款", "version": str(_version(c, case_id))}  # fmt: skip
    assert _form_post(c, f"/cases/{case_id}/leads", form) == 303
    lead = c.get(f"/api/v1/cases/{case_id}").json()["leads"][0]
    assert lead["kind"] == "police" and lead["status"] == "sent" and lead["package_sha256"]
    page = c.get(f"/cases/{case_id}").text
    assert f'href="/cases/{case_id}/leads/{lead["id"]}/package"' in page

    got = c.get(f"/cases/{case_id}/leads/{lead['id']}/package")
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    assert got.headers["content-disposition"].startswith("attachment;")
    ws = ws_of(world.app)
    public = LeadKeys.from_settings(ws.settings).signing_key().public_key()
    report = verify_package(got.content, {key_id(public): public})
    assert report.ok, report.messages()
    assert report.sha256 == lead["package_sha256"] == got.headers["x-content-sha256"]
    # Untrusted key: the same bytes fail.
    assert not verify_package(got.content, {}).ok
    api_got = c.get(f"/api/v1/cases/{case_id}/leads/{lead['id']}/package")
    assert api_got.content == got.content
    total, entries = search(ws.engine, action="personal.export", target=f"case/{case_id}")
    assert total == 2 and entries[0].detail["package_sha256"] == lead["package_sha256"]
    # A lead of this case under another case's id is not found.
    other = world.case_of[OBJECT_REGIONS[4]]
    assert c.get(f"/cases/{other}/leads/{lead['id']}/package").status_code == 404

    receipt = {"receipt_ref": "福公受〔2026〕12号", "received_at": "2025-06-01"}
    assert _form_post(c, f"/cases/{case_id}/leads/{lead['id']}/receipt", receipt) == 303
    feedback = {"feedback": "已立案侦查", "outcome": "police_case", "known_at": "2025-06-20"}
    assert _form_post(c, f"/cases/{case_id}/leads/{lead['id']}/feedback", feedback) == 303
    assert _form_post(c, f"/cases/{case_id}/outcomes",
                      {"outcome": "confirmed_ifr", "known_at": "2025-09-01"}) == 303  # fmt: skip
    assert _form_post(c, f"/cases/{case_id}/outcomes",
                      {"outcome": "confirmed_ifr", "known_at": "2999-01-01"}) == 422  # fmt: skip
    shown = c.get(f"/api/v1/cases/{case_id}").json()
    assert shown["leads"][0]["status"] == "answered"
    assert shown["leads"][0]["receipt_ref"] == "福公受〔2026〕12号"
    with Session(ws.engine) as s:
        labels = {(x.firm_id, x.outcome, x.known_at.date().isoformat())
                  for x in outcome_labels(s) if x.case_id == case_id}  # fmt: skip
        before = {x.outcome for x in outcome_labels(
            s, as_of=datetime(2025, 7, 1, tzinfo=UTC)) if x.case_id == case_id}  # fmt: skip
    firm = firm_id_for(code)
    assert labels == {(firm, "police_case", "2025-06-20"), (firm, "confirmed_ifr", "2025-09-01")}
    assert before == {"police_case"}
    page = c.get(f"/cases/{case_id}").text
    assert "公安立案 · 2025-06-20" in page and "认定非法集资并处置 · 2025-09-01" in page
    # A grid worker of the case's own community cannot transfer or label.
    grid = signed_in(make_user("ft-grid", "grid_worker", code))
    assert _form_post(grid, f"/cases/{case_id}/outcomes", {"outcome": "clearance"}) == 403
    assert grid.get(f"/cases/{case_id}/leads/{lead['id']}/package").status_code == 403


def test_the_board_links_escalated_tasks_to_the_take_back_form(
    world: World, make_user: Callable[..., WebUser], signed_in: Callable[[WebUser], TestClient],
) -> None:  # fmt: skip
    from datetime import timedelta

    from fengyan.clock import now
    from fengyan.workflow import escalate_overdue

    case_id = world.case_of[OBJECT_REGIONS[0]]  # held by the Nantou street
    with Session(ws_of(world.app).engine) as s, s.begin():
        done = escalate_overdue(s, now() + timedelta(days=30))
    assert (case_id, STREET, "440305") in {(e.case_id, e.holder, e.escalated_to) for e in done}
    district = signed_in(make_user("ns-inv", "investigator", "440305"))
    board = district.get("/cases/board").text
    assert f'href="/cases/{case_id}#supervise"' in board
    page = district.get(f"/cases/{case_id}").text
    assert 'id="supervise"' in page and 'data-testid="take-back"' in page
    # The street's grid worker gets no supervision links.
    grid = signed_in(_street_user(make_user))
    assert "#supervise" not in grid.get("/cases/board").text
