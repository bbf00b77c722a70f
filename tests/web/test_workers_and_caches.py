"""Several server workers and the per-process caches of the hot pages.

* state that must hold across ``fengyan serve --workers N`` lives in the database: two apps
  over one workspace (two workers) share login sessions, CSRF secrets and the lock-out
  count; ``fengyan serve --workers 2`` really serves from two processes;
* the warning list, the profile and the public check are cached per process and keyed by
  the published run: a new run shows at once (list, profile) or within
  ``public_refresh_seconds`` (public check);
* views of personal data go through the group-commit audit writer: every one is written,
  many share a transaction, and the sequence stays gap-free.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fengyan.audit import search as audit_search
from fengyan.audit.log import AuditItem, tree_size
from fengyan.db.published import FirmScore, ScoreRun
from fengyan.db.users import WebUser
from fengyan.web.app import create_app
from fengyan.web.audit_hook import record_view_committed
from fengyan.web.audit_writer import audit_writer
from fengyan.web.scope import Principal
from fengyan.web.services import public as public_service
from fengyan.web.settings import WebSettings
from fengyan.workspace import Workspace
from tests.web.conftest import (
    MODEL,
    PASSWORD,
    TEST_SETTINGS,
    add_user,
    firm_id_for,
    firm_name_for,
    login_via_form,
    new_client,
    seed_published,
    session_cookie_name,
)

HOME_FIRM = "440305001001"


def _republish(ws: Workspace, firm_id: str, **changes: object) -> int:
    """A new finished run in which ``firm_id``'s published row has ``changes``."""
    when = datetime(2026, 7, 31, tzinfo=UTC)
    with Session(ws.engine) as db:
        run = ScoreRun(as_of=when, models=json.dumps([MODEL]), started_at=when, finished_at=when,
                       firms=1, counts="{}", fengyan_version="test")  # fmt: skip
        db.add(run)
        db.flush()
        db.execute(
            update(FirmScore).where(FirmScore.firm_id == firm_id).values(run_id=run.id, **changes)  # type: ignore[arg-type]
        )
        db.commit()
        return run.id


# ---- state shared by workers --------------------------------------------------------------


def test_two_workers_share_sessions_csrf_and_the_lockout_count(
    sqlite_workspace: Workspace,
) -> None:
    settings = dataclasses.replace(TEST_SETTINGS, lockout_threshold=4)
    one, two = create_app(sqlite_workspace, settings), create_app(sqlite_workspace, settings)
    add_user(one, "li.na", "analyst", "440305", password=PASSWORD)
    with new_client(one) as a, new_client(two) as b:
        # Failed logins alternate between the workers; the fourth locks the account.
        for c in (a, b, a, b):
            assert login_via_form(c, "li.na", "wrong password!!").status_code == 401  # type: ignore[attr-defined]
        with Session(sqlite_workspace.engine) as db:
            user = db.scalar(select(WebUser).where(WebUser.username == "li.na"))
            assert user is not None and user.locked_until is not None
        # Locked on both: even the right password is refused by either worker.
        assert login_via_form(a, "li.na", PASSWORD).status_code == 401  # type: ignore[attr-defined]
        assert login_via_form(b, "li.na", PASSWORD).status_code == 401  # type: ignore[attr-defined]
        with Session(sqlite_workspace.engine) as db:
            db.execute(update(WebUser).where(WebUser.username == "li.na").values(locked_until=None))
            db.commit()
        # A session opened on one worker is valid on the other, with the same CSRF secret.
        assert login_via_form(a, "li.na", PASSWORD).status_code == 303  # type: ignore[attr-defined]
        name = session_cookie_name(settings)
        b.cookies.set(name, a.cookies[name], domain="testserver.local")
        me = b.get("/api/v1/me")
        assert me.status_code == 200 and me.json()["username"] == "li.na"
        csrf = a.get("/").text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        assert b.post("/logout").status_code == 403  # no token: refused by the other worker
        assert b.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 303
        # Logging out on one worker ends the session on both.
        assert a.get("/api/v1/me").status_code == 401


def _assert_connections_spread(parent: int, port: int) -> None:
    """Connections opened while one worker is busy still land on both workers.

    Each worker listens on its own SO_REUSEPORT socket (web/workers.py) and the kernel
    assigns a connection to a socket when it arrives; with one shared socket, the worker
    that happens to be free accepts the whole burst and keeps those connections for their
    lifetime (48 of wrk's 50 on one worker, measured). The busy worker is simulated by
    stopping it (SIGSTOP) while 40 connections open.
    """
    import psutil

    workers = [
        child
        for child in psutil.Process(parent).children()
        if any(
            c.status == psutil.CONN_LISTEN and c.laddr.port == port
            for c in child.net_connections("tcp")
        )
    ]
    assert len(workers) == 2
    busy = workers[0]
    busy.suspend()
    try:
        conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
    finally:
        busy.resume()
    try:
        held: list[int] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            held = [
                sum(
                    1
                    for c in w.net_connections("tcp")
                    if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port
                )
                for w in workers
            ]
            if sum(held) >= 40:
                break
            time.sleep(0.2)
        held = [h for h in held if h]
        # Binomial(40, 1/2): fewer than 8 on a worker has a chance of about 1 in 10^5.
        assert len(held) == 2 and min(held) >= 8, held
    finally:
        for c in conns:
            c.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(180)
def test_serve_with_two_workers(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    seed_published(sqlite_workspace)
    app = create_app(sqlite_workspace, TEST_SETTINGS)
    user = add_user(app, "li.na", "analyst", "4403")
    from fengyan.web.security.accounts import do_issue_token

    with Session(sqlite_workspace.engine) as db:
        token = do_issue_token(db, TEST_SETTINGS, actor="test", user=user, label="t").token
    port = _free_port()
    env = {
        **os.environ,
        "FENGYAN_HOME": str(sqlite_workspace.settings.home),
        "FENGYAN_DATABASE_URL": sqlite_workspace.settings.database_url,
        "FENGYAN_WEB_SECURE_COOKIES": "0",
    }
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "fengyan", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("fengyan serve --workers 2 did not start")
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        if children.exists():
            assert len(children.read_text().split()) >= 2  # the two workers (and no fewer)
        auth = {"Authorization": f"Bearer {token}"}
        for _ in range(6):  # new connections: they land on either worker
            r = httpx.get(f"{base}/api/v1/warnings", headers=auth, timeout=30)
            assert r.status_code == 200 and r.json()["total"] == 4
        page = httpx.get(f"{base}/firm/{firm_id_for(HOME_FIRM)}", headers=auth, timeout=30)
        assert page.status_code == 200 and firm_name_for(HOME_FIRM) in page.text
        if sys.platform.startswith("linux"):
            _assert_connections_spread(proc.pid, port)
            # A second server cannot quietly share the port (SO_REUSEPORT would let it).
            second = subprocess.run(
                [sys.executable, "-m", "fengyan", "serve", "--port", str(port), "--workers", "2"],
                env={**env, "FENGYAN_LANG": "en"},
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert second.returncode == 1 and "in use" in second.stdout, second.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


# ---- caches follow the published run -----------------------------------------------------


def test_warnings_and_profile_show_a_new_run_at_once(sqlite_workspace: Workspace) -> None:
    seed_published(sqlite_workspace)
    app = create_app(sqlite_workspace, TEST_SETTINGS)
    user = add_user(app, "li.na", "analyst", "440305")
    from tests.web.conftest import token_client_for

    firm = firm_id_for(HOME_FIRM)
    with token_client_for(app, user) as c:
        before = c.get(f"/api/v1/firms/{firm}").json()
        assert before["scores"][0]["score"] == 90.0
        assert "90.0" in c.get(f"/firm/{firm}").text
        listed = c.get("/warnings")
        assert firm_name_for(HOME_FIRM) in listed.text and "90.0" in listed.text
        assert c.get("/api/v1/warnings", params={"grade": "orange"}).json()["total"] == 0
        _republish(sqlite_workspace, firm, score=42.5, grade="orange", change="de-escalated")
        after = c.get(f"/api/v1/firms/{firm}").json()
        assert after["scores"][0]["score"] == 42.5 and after["scores"][0]["grade"] == "orange"
        page = c.get(f"/firm/{firm}").text
        assert "42.5" in page and "90.0" not in page.split("<main", 1)[1].split("</section>")[0]
        assert c.get("/api/v1/warnings", params={"grade": "orange"}).json()["total"] == 1
        assert "42.5" in c.get("/warnings").text


def test_cached_pages_still_apply_the_jurisdiction(sqlite_workspace: Workspace) -> None:
    seed_published(sqlite_workspace)
    app = create_app(sqlite_workspace, TEST_SETTINGS)
    city = add_user(app, "city", "analyst", "4403")
    district = add_user(app, "district", "analyst", "440304")  # Futian: not the home firm's
    from tests.web.conftest import token_client_for

    firm = firm_id_for(HOME_FIRM)
    with token_client_for(app, city) as c, token_client_for(app, district) as d:
        assert c.get(f"/firm/{firm}").status_code == 200  # now cached for the city scope
        assert d.get(f"/firm/{firm}").status_code == 404
        assert firm_name_for(HOME_FIRM) in c.get("/warnings").text
        assert firm_name_for(HOME_FIRM) not in d.get("/warnings").text


def test_public_check_follows_a_new_run_after_its_refresh_interval(
    sqlite_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_published(sqlite_workspace)
    app = create_app(sqlite_workspace, TEST_SETTINGS)
    name = firm_name_for(HOME_FIRM)
    clock = [1000.0]

    class FakeTime:
        @staticmethod
        def monotonic() -> float:
            return clock[0]

    monkeypatch.setattr(public_service, "time", FakeTime)
    with new_client(app) as c:
        first = c.get("/api/v1/public/check", params={"q": name}).json()
        assert [m["name"] for m in first["matches"]] == [name]
        _republish(sqlite_workspace, firm_id_for(HOME_FIRM), grade="none", change="cleared")
        # Within the interval the worker answers from memory, without the database.
        again = c.get("/api/v1/public/check", params={"q": name}).json()
        assert [m["name"] for m in again["matches"]] == [name]
        clock[0] += 3600
        gone = c.get("/api/v1/public/check", params={"q": name}).json()
        # No longer listed (near-identical names of listed siblings may still match).
        assert name not in [m["name"] for m in gone["matches"]]
        page = c.get("/check", params={"q": "神谕企业440305001"})
        assert page.status_code == 200 and firm_name_for("440305001003") in page.text
        assert name not in page.text


# ---- audit of personal-data views ---------------------------------------------------------


def test_concurrent_views_are_each_recorded_and_share_commits(sqlite_workspace: Workspace) -> None:
    engine = sqlite_workspace.engine
    start = tree_size(engine)
    viewer = Principal.for_role("li.na", "analyst", "4403", via="token")
    targets = [f"enterprise/firm-{i}" for i in range(40)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        seqs = list(
            pool.map(
                lambda t: record_view_committed(engine, viewer, t, {"page": "profile"}), targets
            )
        )
    assert sorted(seqs) == list(range(start + 1, start + 41))
    total, entries = audit_search(engine, target="enterprise/firm-*")
    assert total == 40 and {e.action for e in entries} == {"personal.view"}
    # Queued faster than one commit: the writer groups them.
    writer = audit_writer(engine)
    before = writer.batches
    futures = [
        writer.submit(AuditItem("li.na", "personal.view", f"enterprise/bulk-{i}", {"page": "p"}))
        for i in range(200)
    ]
    assert len({f.result(60) for f in futures}) == 200
    assert writer.batches - before < 200
    assert tree_size(engine) == start + 240  # one gap-free chain


def test_a_profile_view_with_personal_data_is_audited_before_the_answer(
    sqlite_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fengyan.web.services import profile as profile_service

    seed_published(sqlite_workspace)
    app = create_app(sqlite_workspace, TEST_SETTINGS)
    user = add_user(app, "li.na", "analyst", "440305")
    real = profile_service.profile

    def with_personal(*args: object, **kwargs: object) -> profile_service.Profile:
        made = real(*args, **kwargs)  # type: ignore[arg-type]
        return made.model_copy(update={"personal_shown": True})

    monkeypatch.setattr(profile_service, "profile", with_personal)
    from tests.web.conftest import token_client_for

    firm = firm_id_for(HOME_FIRM)
    with token_client_for(app, user) as c:
        for _ in range(3):
            assert c.get(f"/firm/{firm}").status_code == 200
            # Committed before the answer: the entry is there as soon as the page is.
        total, entries = audit_search(sqlite_workspace.engine, target=f"enterprise/{firm}")
        assert total == 3 and {(e.actor, e.action) for e in entries} == {("li.na", "personal.view")}


def test_web_settings_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    assert WebSettings.from_env({"FENGYAN_WEB_WORKERS": "3"}).worker_count == 3
    auto = WebSettings.from_env({}).worker_count
    assert auto == len(os.sched_getaffinity(0))
    with pytest.raises(ValueError, match="FENGYAN_WEB_WORKERS"):
        WebSettings.from_env({"FENGYAN_WEB_WORKERS": "two"})
    with pytest.raises(ValueError, match="workers"):
        WebSettings(workers=-1)
