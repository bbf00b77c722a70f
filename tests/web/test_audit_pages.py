"""The audit pages and API (审计日志): search, entries, proofs, verify, scope, no changes.

A hand-built log: accounts in two districts (their ``user.create`` entries), case and firm
entries at fixed times, system entries without a region; then checks what auditors at
different levels see, that the proofs verify against a signed checkpoint with an
independent RFC 9162 check, that nothing can be changed through the app, and that every use
of the log is itself logged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from fengyan.audit import AuditSettings, append, create_checkpoint, get_entry, search, tree_size
from fengyan.audit.merkle import verify_inclusion
from fengyan.db.users import WebUser
from tests.web.conftest import MakeUser, add_user, seed_published, signed_in_client, ws_of

NANSHAN, FUTIAN = "440305", "440304"
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 China time


def audit_settings(app: FastAPI) -> AuditSettings:
    """The settings the routes use (defaults under the workspace's home)."""
    return AuditSettings.from_settings(ws_of(app).settings, environ={})


@dataclass
class Log:
    """The seeded world: clients by role, and what the log holds."""

    app: FastAPI
    city_auditor: WebUser
    district_auditor: WebUser
    province_auditor: WebUser


@pytest.fixture
def log(web_app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Log:
    for name in ("FENGYAN_AUDIT_KEY", "FENGYAN_AUDIT_CHECKPOINTS", "FENGYAN_AUDIT_ORIGIN"):
        monkeypatch.delenv(name, raising=False)
    ws = ws_of(web_app)
    seed_published(ws, ("440305001001", "440304001019"))
    add_user(web_app, "li.na", "investigator", NANSHAN)  # a Nanshan account
    add_user(web_app, "wang.qiang", "investigator", FUTIAN)  # a Futian account
    # Six entries one day apart at fixed times (the clock of the audit log patched).
    moments = iter(T0 + timedelta(days=i) for i in range(6))
    with monkeypatch.context() as patch, Session(ws.engine) as db, db.begin():
        patch.setattr("fengyan.audit.log.now", lambda: next(moments))
        append(
            db,
            actor="li.na",
            action="personal.view",
            target="enterprise/oracle-firm-440305001001",
            detail={"page": "profile"},
        )
        append(
            db,
            actor="wang.qiang",
            action="personal.view",
            target="enterprise/oracle-firm-440304001019",
            detail={"page": "profile"},
        )
        append(db, actor="li.na", action="data.export", target="export/warnings", detail={})
        append(db, actor="wang.qiang", action="data.export", target="export/warnings", detail={})
        append(db, actor="system:run", action="outcome.record", target="run/7", detail={})
        append(db, actor="li.na", action="personal.view", target="search/person",
               detail={"query_length": 3})  # fmt: skip
    users = Log(
        web_app,
        add_user(web_app, "aud-city", "auditor", "4403"),
        add_user(web_app, "aud-nanshan", "auditor", NANSHAN),
        add_user(web_app, "aud-gd", "auditor", "44"),
    )
    create_checkpoint(ws.engine, audit_settings(web_app))
    return users


@pytest.fixture
def client_of(log: Log) -> Iterator[dict[str, TestClient]]:
    clients = {
        "city": signed_in_client(log.app, log.city_auditor),
        "district": signed_in_client(log.app, log.district_auditor),
        "province": signed_in_client(log.app, log.province_auditor),
    }
    yield clients
    for c in clients.values():
        c.close()


def targets(items: list[dict[str, object]]) -> list[tuple[str, object]]:
    return [(str(i["actor"]), i["target"]) for i in items]


def all_rows(app: FastAPI) -> list[tuple[object, ...]]:
    with ws_of(app).engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT * FROM audit_entry ORDER BY seq"))]


# ---- search, entry, proof ------------------------------------------------------------------


def test_auditor_searches_and_opens_an_entry_with_a_valid_proof(
    log: Log, client_of: dict[str, TestClient]
) -> None:
    c = client_of["city"]
    found = c.get("/api/v1/audit/entries", params={"action": "personal.view", "size": 200})
    assert found.status_code == 200, found.text
    body = found.json()
    # Both districts' profile views and li.na's person search, newest first.
    assert targets(body["items"]) == [
        ("li.na", "search/person"),
        ("wang.qiang", "enterprise/oracle-firm-440304001019"),
        ("li.na", "enterprise/oracle-firm-440305001001"),
    ]
    assert body["total"] == 3
    seq = body["items"][-1]["seq"]

    proof = c.get(f"/api/v1/audit/entries/{seq}/proof").json()
    assert proof["status"] == "ok" and proof["leaf_matches"] is True
    # Check it independently: leaf = SHA-256(0x00 ‖ canonical bytes), RFC 9162 path.
    leaf = hashlib.sha256(b"\x00" + proof["canonical"].encode()).digest()
    assert leaf.hex() == proof["proof"]["leaf_hash"]
    checkpoint = proof["checkpoint"]
    assert checkpoint["tree_size"] == tree_size(ws_of(log.app).engine) - 2  # + 2 searches since
    assert verify_inclusion(leaf, seq - 1, checkpoint["tree_size"],
                            [bytes.fromhex(h) for h in proof["proof"]["path"]],
                            bytes.fromhex(checkpoint["root_hash"]))  # fmt: skip

    page = c.get(f"/audit/{seq}")
    assert page.status_code == 200
    assert "enterprise/oracle-firm-440305001001" in page.text
    assert "proof-ok" in page.text and proof["proof"]["root_hash"] in page.text
    entry = c.get(f"/api/v1/audit/entries/{seq}").json()
    assert entry["canonical"] == proof["canonical"]
    assert entry["action_label"] == "查看个人信息"


def test_a_tampered_entry_fails_its_proof_and_verify_names_it(
    log: Log, client_of: dict[str, TestClient]
) -> None:
    engine = ws_of(log.app).engine
    victim = search(engine, target="export/warnings", actor="li.na")[1][0].seq
    with engine.begin() as conn:  # what only the database owner can do
        for (name,) in conn.execute(
            text("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='audit_entry'")
        ).all():
            conn.execute(text(f'DROP TRIGGER "{name}"'))
        conn.execute(text("UPDATE audit_entry SET target = 'export/nothing' WHERE seq = :s"),
                     {"s": victim})  # fmt: skip
    c = client_of["province"]
    proof = c.get(f"/api/v1/audit/entries/{victim}/proof").json()
    assert proof["status"] == "failed" and proof["leaf_matches"] is False
    assert "proof-failed" in c.get(f"/audit/{victim}").text
    report = c.post("/audit/verify", data={})
    assert report.status_code == 200
    assert "verify-failed" in report.text
    assert f"第 {victim} 条" in report.text


def test_verify_now_reports_an_intact_log_and_needs_the_csrf_token(
    log: Log, client_of: dict[str, TestClient]
) -> None:
    c = client_of["city"]
    ok = c.post("/audit/verify", data={}, params={"lang": "en"})
    assert ok.status_code == 200
    assert "The log is intact" in ok.text
    size = tree_size(ws_of(log.app).engine)
    assert f"{size - 1} entries" in ok.text  # the verify's own entry comes after it
    del c.headers["X-CSRF-Token"]
    assert c.post("/audit/verify", data={}).status_code == 403


# ---- filters and pagination ------------------------------------------------------------------


def test_filters(log: Log, client_of: dict[str, TestClient]) -> None:
    c = client_of["province"]

    def items(**params: object) -> list[tuple[str, object]]:
        answer = c.get("/api/v1/audit/entries", params={"size": 200, **params})
        assert answer.status_code == 200, answer.text
        return targets(answer.json()["items"])

    assert items(actor="wang.qiang", action="data.export") == [("wang.qiang", "export/warnings")]
    assert items(target="enterprise/*") == [
        ("wang.qiang", "enterprise/oracle-firm-440304001019"),
        ("li.na", "enterprise/oracle-firm-440305001001"),
    ]
    # Days 2–3 after T0 (China time, naive): the two exports.
    assert items(since="2026-03-03T00:00:00", until="2026-03-05T00:00:00") == [
        ("wang.qiang", "export/warnings"),
        ("li.na", "export/warnings"),
    ]
    personal = items(personal="true", actor="li.na")
    assert personal == [
        ("li.na", "search/person"),
        ("li.na", "enterprise/oracle-firm-440305001001"),
    ]
    # The page's date fields: the until day is inclusive.
    page = c.get("/audit", params={"since": "2026-03-03", "until": "2026-03-04", "lang": "en"})
    assert page.status_code == 200
    assert "2 entries" in page.text and "export/warnings" in page.text
    assert c.get("/api/v1/audit/entries", params={"action": "no.such"}).status_code == 400
    assert c.get("/audit", params={"since": "yesterday"}).status_code == 400


def test_pagination(log: Log, client_of: dict[str, TestClient]) -> None:
    # Accounts created by the test harness (actor "test"), all inside Guangdong; a filter
    # that the searches' own entries do not match, so pages do not shift between requests.
    expected = [e.seq for e in search(ws_of(log.app).engine, actor="test", limit=1000)[1]]
    assert len(expected) >= 5
    c = client_of["province"]
    seen: list[int] = []
    for page in range(1, len(expected) // 2 + 2):
        body = c.get("/api/v1/audit/entries", params={"actor": "test", "size": 2, "page": page})
        assert body.json()["page"] == page and body.json()["total"] == len(expected)
        assert len(body.json()["items"]) == min(2, max(0, len(expected) - 2 * (page - 1)))
        seen += [i["seq"] for i in body.json()["items"]]
    assert seen == expected
    html = c.get("/audit", params={"size": 2}).text
    assert "page=2" in html and "size=2" in html


# ---- jurisdiction ----------------------------------------------------------------------------


def test_a_district_auditor_sees_only_the_district(
    log: Log, client_of: dict[str, TestClient]
) -> None:
    engine = ws_of(log.app).engine
    district = targets(
        client_of["district"].get("/api/v1/audit/entries", params={"size": 200}).json()["items"]
    )
    # Futian's account, its firm and wang.qiang's actions are not the district's.
    assert all("440304" not in str(tgt) and actor != "wang.qiang" for actor, tgt in district)
    assert ("li.na", "export/warnings") in district  # by the acting account
    assert ("li.na", "enterprise/oracle-firm-440305001001") in district  # by the firm
    assert ("test", "user/li.na") in district  # by the account
    assert ("system:run", "run/7") not in district  # no region: province level only
    assert ("test", "user/wang.qiang") not in district
    province = targets(
        client_of["province"].get("/api/v1/audit/entries", params={"size": 200}).json()["items"]
    )
    assert ("system:run", "run/7") in province and ("wang.qiang", "export/warnings") in province
    futian_view = search(engine, actor="wang.qiang", action="personal.view")[1][0].seq
    assert client_of["district"].get(f"/api/v1/audit/entries/{futian_view}").status_code == 404
    assert client_of["district"].get(f"/audit/{futian_view}").status_code == 404
    assert client_of["city"].get(f"/api/v1/audit/entries/{futian_view}").status_code == 200


@pytest.mark.parametrize("role", ["analyst", "investigator", "grid_worker", "admin"])
def test_other_roles_are_refused(
    log: Log, make_user: MakeUser, role: str, signed_in: Callable[[WebUser], TestClient]
) -> None:
    user = make_user(f"x-{role}", role, "4403")
    c = signed_in(user)
    for path in ("/audit", "/audit/1", "/api/v1/audit/entries", "/api/v1/audit/entries/1",
                 "/api/v1/audit/entries/1/proof"):  # fmt: skip
        assert c.get(path).status_code == 403, path
    assert c.post("/audit/verify", data={}).status_code == 403


# ---- nothing changes through the app, every use is logged ------------------------------------


def test_no_route_changes_or_deletes_entries(log: Log, client_of: dict[str, TestClient]) -> None:
    before = all_rows(log.app)
    c = client_of["province"]
    for path in ("/api/v1/audit/entries", "/api/v1/audit/entries/1",
                 "/api/v1/audit/entries/1/proof", "/audit", "/audit/1"):  # fmt: skip
        for method in ("DELETE", "PUT", "PATCH"):
            answer = c.request(method, path, json={"target": "forged"})
            assert answer.status_code == 405, (method, path)
    assert all_rows(log.app) == before
    spec = c.get("/openapi.json").json()["paths"]
    for path, operations in spec.items():
        if "/audit" in path:
            assert set(operations) == {"get"}, path


def test_viewing_the_log_is_audited(log: Log, client_of: dict[str, TestClient]) -> None:
    engine = ws_of(log.app).engine
    c = client_of["city"]
    c.get("/audit", params={"actor": "li.na"})
    _, latest = search(engine, limit=1)
    assert (latest[0].actor, latest[0].action, latest[0].target) == (
        "aud-city", "audit.search", "audit/search")  # fmt: skip
    assert latest[0].detail["actor"] == "li.na" and latest[0].detail["total"] == 3
    c.get("/audit/1")
    c.get("/api/v1/audit/entries/2/proof")
    last = [get_entry(engine, s) for s in (tree_size(engine) - 1, tree_size(engine))]
    assert [(e.action, e.target) for e in last if e] == [
        ("audit.view", "audit/1"), ("audit.view", "audit/2")]  # fmt: skip
    # The auditor's own use is in their jurisdiction (by the acting account).
    mine = c.get("/api/v1/audit/entries", params={"actor": "aud-city", "size": 200}).json()
    assert mine["total"] == 3


def test_pages_render_in_chinese_and_english(log: Log, client_of: dict[str, TestClient]) -> None:
    c = client_of["city"]
    zh = c.get("/audit")
    assert zh.status_code == 200
    assert "审计日志" in zh.text and "创建用户" in zh.text and "立即校验" in zh.text
    en = c.get("/audit", params={"lang": "en"})
    assert "Audit log" in en.text and "created a user" in en.text and "Verify now" in en.text
    assert "(China)" in en.text and "2026-03-01 10:00:00" in en.text  # China time
    entry_en = c.get("/audit/1", params={"lang": "en"}).text
    assert "Inclusion proof" in entry_en and "Canonical JSON" in entry_en
