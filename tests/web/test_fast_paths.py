"""The per-request shortcuts of the hot pages, and what each must still honour.

* the authentication cache (``security/authcache.py``): a revoked token, a logout, a lock,
  a lock-out after failed logins and a disabled account are refused at the next request of
  this process; a change made behind the process's back (another worker, the CLI of another
  process — simulated here by writing the row directly) within ``auth_cache_seconds``;
* the lock-out count is one atomic ``UPDATE``: concurrent failed logins all count (SQLite
  and, with ``FENGYAN_TEST_PG_URL``, PostgreSQL);
* the run id is read at most every ``run_refresh_seconds`` and a cached page view takes no
  database connection at all (besides the audit writer's own);
* ``fengyan serve --workers 2`` stops promptly on SIGTERM after a client dropped its
  connections in the middle of requests.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select, text, update
from sqlalchemy.orm import Session

from fengyan import clock
from fengyan.audit.log import AuditItem
from fengyan.db.users import ApiToken, WebUser
from fengyan.web.app import create_app
from fengyan.web.audit_writer import audit_writer
from fengyan.web.security import authcache
from fengyan.web.security.accounts import (
    LoginFailed,
    authenticate,
    do_lock_user,
    do_revoke_token,
    get_user,
)
from fengyan.web.services import common
from fengyan.workspace import Workspace
from tests.web.conftest import (
    PASSWORD,
    TEST_SETTINGS,
    add_user,
    bearer_token,
    firm_id_for,
    form_csrf,
    login_via_form,
    new_client,
    seed_published,
    session_cookie_name,
    token_client_for,
    ws_of,
)

HOME_FIRM = "440305001001"
T0 = int(datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp())


class FakeMonotonic:
    """``time`` for the cache modules: ``monotonic()`` moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> FakeMonotonic:
    """Both clocks the auth cache reads, held still (moved by the test)."""
    fake = FakeMonotonic()
    monkeypatch.setattr(authcache, "time", fake)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(T0))
    return fake


@pytest.fixture
def app(sqlite_workspace: Workspace) -> FastAPI:
    return create_app(sqlite_workspace, dataclasses.replace(TEST_SETTINGS, auth_cache_seconds=5))


def _cache(app: FastAPI) -> authcache.AuthCache:
    return authcache.auth_cache(ws_of(app).engine)


@contextmanager
def _queries(app: FastAPI) -> Iterator[list[str]]:
    """The SQL statements ``app``'s engine runs inside the block."""
    seen: list[str] = []

    def listener(*args: object) -> None:
        seen.append(str(args[2]))

    engine = ws_of(app).engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


@contextmanager
def _checkouts(app: FastAPI) -> Iterator[list[int]]:
    """One item per pool checkout of ``app``'s engine inside the block."""
    seen: list[int] = []

    def listener(*_args: object) -> None:
        seen.append(1)

    engine = ws_of(app).engine
    event.listen(engine, "checkout", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "checkout", listener)


# ---- the authentication cache --------------------------------------------------------------


def test_a_cached_token_is_answered_without_the_database(app: FastAPI, frozen: object) -> None:
    user = add_user(app, "li.na", "analyst", "440305")
    with token_client_for(app, user) as c:
        assert c.get("/api/v1/me").status_code == 200  # looked up, then cached
        hits = _cache(app).hits
        with _queries(app) as queries:
            assert c.get("/api/v1/me").json()["username"] == "li.na"
        assert not [q for q in queries if "api_token" in q or "web_session" in q]
        assert _cache(app).hits == hits + 1


def test_a_revoked_token_is_refused_at_once(app: FastAPI, frozen: object) -> None:
    user = add_user(app, "li.na", "analyst", "440305")
    with token_client_for(app, user) as c:
        assert c.get("/api/v1/me").status_code == 200
        assert c.get("/api/v1/me").status_code == 200  # from the cache
        with Session(ws_of(app).engine) as db:
            row = db.scalars(select(ApiToken)).one()
            do_revoke_token(db, actor="test", user=get_user(db, "li.na"), token_id=row.id)
        assert c.get("/api/v1/me").status_code == 401


def test_logout_ends_a_cached_session_on_every_app_of_the_process(
    sqlite_workspace: Workspace, frozen: object
) -> None:
    settings = dataclasses.replace(TEST_SETTINGS, auth_cache_seconds=5)
    one, two = create_app(sqlite_workspace, settings), create_app(sqlite_workspace, settings)
    add_user(one, "li.na", "analyst", "440305", password=PASSWORD)
    with new_client(one) as a, new_client(two) as b:
        assert login_via_form(a, "li.na", PASSWORD).status_code == 303  # type: ignore[attr-defined]
        name = session_cookie_name(settings)
        b.cookies.set(name, a.cookies[name], domain="testserver.local")
        assert _cache(one) is _cache(two)  # one database in one process: one cache
        hits = _cache(one).hits
        assert a.get("/api/v1/me").status_code == 200 and b.get("/api/v1/me").status_code == 200
        assert _cache(one).hits == hits + 1  # looked up by one, answered from memory to two
        csrf = form_csrf(a.get("/admin/users").text)
        assert a.post("/logout", data={"csrf_token": csrf}).status_code == 303
        assert a.get("/api/v1/me").status_code == 401
        assert b.get("/api/v1/me").status_code == 401


def test_lock_and_lock_out_end_cached_sessions_and_tokens(app: FastAPI, frozen: object) -> None:
    settings = app.state.settings
    add_user(app, "li.na", "analyst", "440305", password=PASSWORD)
    user = add_user(app, "wang.wu", "analyst", "440305", password=PASSWORD)
    with new_client(app) as browser, token_client_for(app, user) as machine:
        assert login_via_form(browser, "li.na", PASSWORD).status_code == 303  # type: ignore[attr-defined]
        assert browser.get("/api/v1/me").status_code == 200
        assert browser.get("/api/v1/me").status_code == 200  # cached
        # Failed logins lock the account; the lock-out ends its cached session here.
        with Session(ws_of(app).engine) as db:
            for _ in range(settings.lockout_threshold):
                with pytest.raises(LoginFailed):
                    authenticate(db, settings, "li.na", "wrong password!!", client="t")
        assert browser.get("/api/v1/me").status_code == 401
        # An administrator's lock ends a cached token's use.
        assert machine.get("/api/v1/me").status_code == 200
        assert machine.get("/api/v1/me").status_code == 200  # cached
        with Session(ws_of(app).engine) as db:
            do_lock_user(db, actor="test", user=get_user(db, "wang.wu"))
        assert machine.get("/api/v1/me").status_code == 401


def test_a_change_made_elsewhere_applies_within_the_cache_time(
    app: FastAPI, frozen: FakeMonotonic
) -> None:
    """Another worker's (process's) change is not announced here: the documented bound."""
    user = add_user(app, "li.na", "analyst", "440305")
    token = bearer_token(app, user)
    with new_client(app, headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.get("/api/v1/me").status_code == 200
        engine = ws_of(app).engine
        with engine.begin() as conn:  # as another process would: no hook of this one runs
            conn.execute(update(ApiToken).values(revoked_at=clock.now()))
            conn.execute(update(WebUser).values(active=False))
        assert c.get("/api/v1/me").status_code == 200  # still within auth_cache_seconds
        frozen.now += 4.9
        assert c.get("/api/v1/me").status_code == 200
        frozen.now += 0.2
        assert c.get("/api/v1/me").status_code == 401


def test_a_cached_session_still_ends_at_its_expiry(
    sqlite_workspace: Workspace, frozen: FakeMonotonic, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = dataclasses.replace(TEST_SETTINGS, auth_cache_seconds=60, session_max_hours=1)
    app = create_app(sqlite_workspace, settings)
    add_user(app, "li.na", "analyst", "440305", password=PASSWORD)
    with new_client(app) as c:
        assert login_via_form(c, "li.na", PASSWORD).status_code == 303  # type: ignore[attr-defined]
        assert c.get("/api/v1/me").status_code == 200
        # The wall clock passes the session's absolute end within the cache's minute.
        monkeypatch.setenv("SOURCE_DATE_EPOCH", str(T0 + 3600))
        assert c.get("/api/v1/me").status_code == 401


def test_a_lookup_racing_with_a_revocation_does_not_cache_the_old_answer() -> None:
    cache = authcache.AuthCache()
    principal = authcache.Principal.anonymous()
    generation = cache.generation  # a lookup starts …
    cache.clear()  # … a revocation commits meanwhile …
    now = clock.now()
    cache.put("token", "k", authcache.entry(principal, False, 5, now, now.replace(year=2100)),
              generation)  # fmt: skip
    assert cache.get("token", "k") is None  # … and what it read is not kept


def test_auth_cache_setting_bounds() -> None:
    from fengyan.web.settings import WebSettings

    assert WebSettings.from_env({"FENGYAN_WEB_AUTH_CACHE_SECONDS": "0"}).auth_cache_seconds == 0
    with pytest.raises(ValueError, match="auth_cache_seconds"):
        WebSettings(auth_cache_seconds=61)


def test_with_the_cache_off_every_request_looks_up(sqlite_workspace: Workspace) -> None:
    app = create_app(sqlite_workspace, dataclasses.replace(TEST_SETTINGS, auth_cache_seconds=0))
    user = add_user(app, "li.na", "analyst", "440305")
    token = bearer_token(app, user)
    with new_client(app, headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.get("/api/v1/me").status_code == 200
        with ws_of(app).engine.begin() as conn:
            conn.execute(update(ApiToken).values(revoked_at=clock.now()))
        assert c.get("/api/v1/me").status_code == 401


# ---- the lock-out count --------------------------------------------------------------------


def test_concurrent_failed_logins_all_count(web_app_any: FastAPI) -> None:
    app = web_app_any
    settings = dataclasses.replace(app.state.settings, lockout_threshold=1000)
    add_user(app, "li.na", "analyst", "440305", password=PASSWORD)
    engine = ws_of(app).engine
    tries = 24
    start = threading.Barrier(8)

    def fail(_: int) -> None:
        with Session(engine) as db:
            with suppress(threading.BrokenBarrierError):
                start.wait(timeout=30)
            with pytest.raises(LoginFailed):
                authenticate(db, settings, "li.na", "wrong password!!", client="t")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(fail, range(tries)))
    with Session(engine) as db:
        user = db.scalar(select(WebUser).where(WebUser.username == "li.na"))
        assert user is not None and user.failed_attempts == tries


def test_concurrent_failures_at_the_threshold_lock_and_reset(web_app_any: FastAPI) -> None:
    app = web_app_any
    settings = dataclasses.replace(app.state.settings, lockout_threshold=6)
    add_user(app, "li.na", "analyst", "440305", password=PASSWORD)
    engine = ws_of(app).engine

    def fail(_: int) -> None:
        with Session(engine) as db, pytest.raises(LoginFailed):
            authenticate(db, settings, "li.na", "wrong password!!", client="t")

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(fail, range(6)))
    with Session(engine) as db:
        user = db.scalar(select(WebUser).where(WebUser.username == "li.na"))
        assert user is not None and user.locked_until is not None
        assert user.failed_attempts == 0
        with pytest.raises(LoginFailed):
            authenticate(db, settings, "li.na", PASSWORD, client="t")


def test_a_success_resets_a_count_raised_by_another_worker(web_app_any: FastAPI) -> None:
    app = web_app_any
    settings = app.state.settings
    add_user(app, "li.na", "analyst", "440305", password=PASSWORD)
    engine = ws_of(app).engine
    with Session(engine) as mine:
        user = mine.scalar(select(WebUser).where(WebUser.username == "li.na"))
        assert user is not None and user.failed_attempts == 0  # loaded: count 0
        with engine.begin() as other:  # another worker counts a failure meanwhile
            other.execute(update(WebUser).values(failed_attempts=3))
        authenticate(mine, settings, "li.na", PASSWORD, client="t")
    with Session(engine) as db:
        assert db.scalar(select(WebUser.failed_attempts)) == 0


# ---- run id and database round trips ------------------------------------------------------


def test_a_cached_page_view_takes_no_database_connection(app: FastAPI, frozen: object) -> None:
    seed_published(ws_of(app))
    user = add_user(app, "li.na", "analyst", "440305")
    firm = firm_id_for(HOME_FIRM)
    with token_client_for(app, user) as c:
        for path in (f"/firm/{firm}", "/warnings", f"/api/v1/firms/{firm}"):
            assert c.get(path).status_code == 200  # fills the caches
            with _checkouts(app) as checkouts:
                assert c.get(path).status_code == 200
            assert checkouts == [], path


def test_the_run_id_is_reread_after_its_interval(
    sqlite_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = seed_published(sqlite_workspace)
    fake = FakeMonotonic()
    monkeypatch.setattr(common, "time", fake)
    engine = sqlite_workspace.engine
    with Session(engine) as db:
        assert common.latest_run_id(db) == run
    # A run committed by another process: invisible to this process's hooks.
    database = engine.url.database
    assert database is not None
    with closing(sqlite3.connect(database)) as other, other:
        other.execute(
            "INSERT INTO score_run (as_of, models, started_at, finished_at, firms, counts,"
            " fengyan_version) SELECT as_of, models, started_at, finished_at, firms, counts,"
            " fengyan_version FROM score_run"
        )
    with Session(engine) as db:
        assert common.latest_run_id(db) == run  # within run_refresh_seconds
        fake.now += common.service_settings().run_refresh_seconds
        assert common.latest_run_id(db) == run + 1


# ---- shutdown ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(180)
def test_serve_stops_on_sigterm_after_clients_dropped_requests(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    seed_published(sqlite_workspace)
    app = create_app(sqlite_workspace, TEST_SETTINGS)
    token = bearer_token(app, add_user(app, "li.na", "analyst", "4403"))
    port = _free_port()
    env = {
        **os.environ,
        "FENGYAN_HOME": str(sqlite_workspace.settings.home),
        "FENGYAN_DATABASE_URL": sqlite_workspace.settings.database_url,
        "FENGYAN_PSEUDONYM_KEY": "test-key",
        "FENGYAN_WEB_SECURE_COOKIES": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "fengyan", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        auth = {"Authorization": f"Bearer {token}"}
        paths = [f"/firm/{firm_id_for(HOME_FIRM)}", "/warnings", "/", "/map"]

        def drop(i: int) -> None:  # send a request and hang up before the answer
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                request = (
                    f"GET {paths[i % len(paths)]} HTTP/1.1\r\nHost: x\r\n"
                    f"Authorization: {auth['Authorization']}\r\n\r\n"
                )
                s.sendall(request.encode())
                s.shutdown(socket.SHUT_RDWR)

        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(drop, range(200)))
        # The server still answers, then stops promptly when asked.
        assert httpx.get(f"{base}/warnings", headers=auth, timeout=60).status_code == 200
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(drop, range(40)))
        mark = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert time.monotonic() - mark < 30
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ---- connection loss -----------------------------------------------------------------------


def test_the_audit_writer_retries_on_a_new_connection_after_losing_its_own(
    workspace: Workspace,
) -> None:
    engine = workspace.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("a server that drops connections: PostgreSQL only")
    writer = audit_writer(engine)
    item = AuditItem("li.na", "personal.view", "enterprise/a", {"page": "profile"})
    first = writer.write(item)
    conn = writer._conn  # the writer's one connection, as after a server restart:
    assert conn is not None
    backend = conn.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
    with engine.begin() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    assert writer.write(item) == first + 1  # written, not failed


def test_only_a_server_worker_freezes_its_heap() -> None:
    code = (
        "import gc\n"
        "from fengyan.web.heap import THRESHOLDS, serving, settle\n"
        "settle()\n"
        "assert gc.get_freeze_count() == 0, 'settled outside a server'\n"
        "serving()\n"
        "assert gc.get_freeze_count() > 1000 and gc.get_threshold() == THRESHOLDS\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_serve_runs_uvicorn_on_httptools_and_uvloop(
    sqlite_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    import uvicorn

    from fengyan.cli.web import serve

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options, app=app))
    monkeypatch.setattr("fengyan.web.heap.serving", lambda: None)  # keep this process's GC
    monkeypatch.setenv("FENGYAN_PSEUDONYM_KEY", "test-key")
    serve(host=None, port=None, home=sqlite_workspace.settings.home, workers=1)
    assert seen["http"] == "auto" and seen["loop"] == "auto"
    assert seen["timeout_graceful_shutdown"] == 10
    config = uvicorn.Config(seen["app"], http="auto", loop="auto")  # type: ignore[arg-type]
    config.load()
    assert config.http_protocol_class.__name__ == "HttpToolsProtocol"
    factory = config.get_loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert type(loop).__module__.startswith("uvloop"), type(loop)
    finally:
        loop.close()
    assert isinstance(loop, asyncio.AbstractEventLoop)


def test_thread_pool_and_access_log_settings(
    sqlite_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anyio
    import anyio.to_thread
    import uvicorn

    from fengyan.cli import web as cli_web
    from fengyan.web.settings import WebSettings

    assert WebSettings.from_env({}).threads == 8
    assert WebSettings.from_env({"FENGYAN_WEB_THREADS": "3"}).threads == 3
    with pytest.raises(ValueError, match="threads"):
        WebSettings.from_env({"FENGYAN_WEB_THREADS": "0"})
    assert WebSettings.from_env({"FENGYAN_WEB_ACCESS_LOG": "1"}).access_log is True

    # Each worker's start-up sizes the thread pool sync routes run in.
    app = create_app(sqlite_workspace, dataclasses.replace(TEST_SETTINGS, threads=3))

    async def pool_size() -> float:
        async with app.router.lifespan_context(app):
            return anyio.to_thread.current_default_thread_limiter().total_tokens

    assert anyio.run(pool_size) == 3

    # `fengyan serve` hands the access-log setting to uvicorn (off unless asked for).
    seen: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.append(options))
    monkeypatch.setenv("FENGYAN_HOME", str(sqlite_workspace.settings.home))
    monkeypatch.setenv("FENGYAN_DATABASE_URL", sqlite_workspace.settings.database_url)
    monkeypatch.setattr("fengyan.web.heap.serving", lambda: None)
    cli_web.serve(workers=1)
    monkeypatch.setenv("FENGYAN_WEB_ACCESS_LOG", "1")
    cli_web.serve(workers=1)
    assert [o["access_log"] for o in seen] == [False, True]
