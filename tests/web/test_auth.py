"""Login, lock-out, sessions, logout and API tokens — against the real app and database."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengyan import clock
from fengyan.audit import search
from fengyan.db.users import ApiToken, WebSession, WebUser
from fengyan.web.app import create_app
from fengyan.web.security.accounts import do_revoke_token, do_unlock_user, get_user
from fengyan.web.settings import WebSettings
from fengyan.workspace import Workspace
from tests.web.conftest import (
    PASSWORD,
    TEST_SETTINGS,
    MakeUser,
    bearer_token,
    form_csrf,
    login_via_form,
    new_client,
    ws_of,
)

COOKIE = "__Host-fengyan_session"


def actions(app: FastAPI, action: str) -> list[tuple[str, str, dict[str, object]]]:
    """(actor, target, detail) of every audit entry with ``action``, oldest first."""
    _, entries = search(ws_of(app).engine, action=action, limit=1000)
    return [(e.actor, e.target, e.detail) for e in reversed(entries)]


def set_cookie_attributes(response: object, name: str) -> dict[str, str | bool]:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    for header in headers:
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        if name in jar:
            morsel = jar[name]
            return {k: morsel[k] for k in ("httponly", "secure", "samesite", "path", "max-age")}
    raise AssertionError(f"no Set-Cookie for {name}: {headers}")


@pytest.fixture
def alice(make_user: MakeUser) -> WebUser:
    return make_user("alice", "analyst", "440305", PASSWORD, "李娜")


def at(monkeypatch: pytest.MonkeyPatch, moment_offset: timedelta, start: int) -> None:
    """Pin the clock (``SOURCE_DATE_EPOCH``) to ``start`` + offset."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(start + int(moment_offset.total_seconds())))


T0 = 1_780_000_000  # 2026-05-28, any fixed instant


# ---- login ---------------------------------------------------------------------------------


def test_login_sets_a_secure_session_cookie_and_opens_the_api(
    client: TestClient, alice: WebUser, web_app: FastAPI
) -> None:
    response = login_via_form(client, "alice", PASSWORD, "/warnings?grade=red")

    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"] == "/warnings?grade=red"  # type: ignore[attr-defined]
    attrs = set_cookie_attributes(response, COOKIE)
    assert attrs["httponly"] is True and attrs["secure"] is True
    assert attrs["samesite"] == "lax" and attrs["path"] == "/"
    assert attrs["max-age"] == str(12 * 3600)
    me = client.get("/api/v1/me").json()
    assert (me["username"], me["role"], me["scope"], me["level"], me["via"]) == (
        "alice", "analyst", "440305", "district", "session",
    )  # fmt: skip
    assert me["scope_name"] == "广东省深圳市南山区" and me["masking"] == "masked"
    assert "export" in me["permissions"] and "manage_users" not in me["permissions"]
    assert actions(web_app, "auth.login") == [("alice", "user/alice", {"client": "testclient"})]
    # Only the digest of the cookie is stored.
    token = client.cookies[COOKIE]
    with Session(ws_of(web_app).engine) as db:
        stored = db.scalars(select(WebSession.id)).all()
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64


def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: TestClient, alice: WebUser, web_app: FastAPI
) -> None:
    wrong = login_via_form(client, "alice", "not the password")
    unknown = login_via_form(client, "mallory", "whatever it is")

    for response in (wrong, unknown):
        assert response.status_code == 401  # type: ignore[attr-defined]
        assert "用户名或密码错误，或账户已被锁定。" in response.text  # type: ignore[attr-defined]
        assert COOKIE not in response.headers.get("set-cookie", "")  # type: ignore[attr-defined]
    assert client.get("/api/v1/me").status_code == 401
    failed = actions(web_app, "auth.login_failed")
    assert [(a, t, d["reason"]) for a, t, d in failed] == [
        ("alice", "user/alice", "bad_password"),
        ("mallory", "user/mallory", "unknown_user"),
    ]


def test_login_page_speaks_english_when_asked(client: TestClient) -> None:
    page = client.get("/login", params={"lang": "en"})
    assert "Sign in" in page.text and '<html lang="en">' in page.text
    switched = client.get("/lang/en", params={"next": "/login"})
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    assert "Username" in client.get("/login").text  # the cookie now says en
    assert "用户名" in client.get("/login", params={"lang": "zh"}).text


def test_login_form_needs_its_double_submit_token(client: TestClient, alice: WebUser) -> None:
    client.get("/login")
    forged = client.post("/login", data={"username": "alice", "password": PASSWORD,
                                         "csrf_token": "guessed"})  # fmt: skip
    assert forged.status_code == 403
    fresh = new_client(client.app)  # type: ignore[arg-type]
    no_cookie = fresh.post("/login", data={"username": "alice", "password": PASSWORD,
                                           "csrf_token": "x" * 43})  # fmt: skip
    assert no_cookie.status_code == 403
    assert fresh.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_to_another_host(
    client: TestClient, alice: WebUser, target: str
) -> None:
    response = login_via_form(client, "alice", PASSWORD, target)
    assert response.headers["location"] == "/"  # type: ignore[attr-defined]


def test_a_login_replaces_the_session_cookie_the_browser_had(
    client: TestClient, alice: WebUser, web_app: FastAPI
) -> None:
    # Session fixation: a cookie planted in the browser before login must not survive it.
    login_via_form(client, "alice", PASSWORD)
    planted = client.cookies[COOKIE]
    victim = new_client(web_app)
    form = form_csrf(victim.get("/login").text)
    victim.cookies.set(COOKIE, planted, domain="testserver.local")
    response = victim.post("/login", data={"username": "alice", "password": PASSWORD,
                                           "csrf_token": form})  # fmt: skip

    assert response.status_code == 303
    assert victim.cookies[COOKIE] != planted
    assert victim.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/me").status_code == 401  # the planted session is gone
    with Session(ws_of(web_app).engine) as db:
        assert len(db.scalars(select(WebSession.id)).all()) == 1


# ---- lock-out ------------------------------------------------------------------------------


def test_lock_out_after_repeated_failures_then_unlock(
    client: TestClient, alice: WebUser, web_app: FastAPI
) -> None:
    for _ in range(TEST_SETTINGS.lockout_threshold):
        assert login_via_form(client, "alice", "wrong password!").status_code == 401  # type: ignore[attr-defined]

    # Locked: even the right password is refused, with the same generic answer.
    assert login_via_form(client, "alice", PASSWORD).status_code == 401  # type: ignore[attr-defined]
    lockouts = actions(web_app, "auth.lockout")
    assert lockouts == [("alice", "user/alice", {"failures": 5, "minutes": 15})]
    reasons = [d["reason"] for _, _, d in actions(web_app, "auth.login_failed")]
    assert reasons == ["bad_password"] * 5 + ["locked"]

    with Session(ws_of(web_app).engine) as db:
        do_unlock_user(db, actor="cli:root", user=get_user(db, "alice"))
    assert actions(web_app, "user.unlock") == [("cli:root", "user/alice", {})]
    assert login_via_form(client, "alice", PASSWORD).status_code == 303  # type: ignore[attr-defined]


def test_a_lock_out_expires_and_success_resets_the_count(
    client: TestClient, alice: WebUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, timedelta(0), T0)
    for _ in range(5):
        login_via_form(client, "alice", "wrong password!")
    at(monkeypatch, timedelta(minutes=14, seconds=59), T0)
    assert login_via_form(client, "alice", PASSWORD).status_code == 401  # type: ignore[attr-defined]
    at(monkeypatch, timedelta(minutes=15, seconds=1), T0)
    assert login_via_form(client, "alice", PASSWORD).status_code == 303  # type: ignore[attr-defined]

    # Four failures, a success, four failures: no lock (the count restarts at a success).
    for _ in range(4):
        login_via_form(client, "alice", "wrong password!")
    assert login_via_form(client, "alice", PASSWORD).status_code == 303  # type: ignore[attr-defined]
    for _ in range(4):
        login_via_form(client, "alice", "wrong password!")
    assert login_via_form(client, "alice", PASSWORD).status_code == 303  # type: ignore[attr-defined]


def test_locking_an_account_ends_its_sessions(
    client: TestClient, alice: WebUser, make_user: MakeUser,
    signed_in: Callable[[WebUser], TestClient],
) -> None:  # fmt: skip
    login_via_form(client, "alice", PASSWORD)
    assert client.get("/api/v1/me").status_code == 200
    admin = signed_in(make_user("root", "admin", "4403"))

    assert admin.post("/api/v1/admin/users/alice/lock").json()["locked"] is True
    assert client.get("/api/v1/me").status_code == 401
    assert login_via_form(client, "alice", PASSWORD).status_code == 401  # type: ignore[attr-defined]
    assert admin.post("/api/v1/admin/users/alice/unlock").json()["locked"] is False
    assert login_via_form(client, "alice", PASSWORD).status_code == 303  # type: ignore[attr-defined]


def test_login_attempts_are_rate_limited_per_client(
    sqlite_workspace: Workspace, make_user: MakeUser
) -> None:
    app = create_app(sqlite_workspace, dataclasses.replace(TEST_SETTINGS, login_rate_per_minute=3))
    with new_client(app) as c:
        page = c.get("/login").text
        codes = []
        for _ in range(4):
            form = {"username": "x", "password": "y" * 12, "csrf_token": form_csrf(page)}
            codes.append(c.post("/login", data=form))
            page = codes[-1].text if codes[-1].status_code == 401 else page
    assert [r.status_code for r in codes] == [401, 401, 401, 429]
    assert codes[-1].headers["retry-after"] == "60"


# ---- sessions ------------------------------------------------------------------------------


def test_an_idle_session_expires(
    client: TestClient, alice: WebUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, timedelta(0), T0)
    login_via_form(client, "alice", PASSWORD)
    at(monkeypatch, timedelta(minutes=29), T0)
    assert client.get("/api/v1/me").status_code == 200  # seen again: idle time restarts
    at(monkeypatch, timedelta(minutes=58), T0)
    assert client.get("/api/v1/me").status_code == 200
    at(monkeypatch, timedelta(minutes=88, seconds=1), T0)
    assert client.get("/api/v1/me").status_code == 401
    page = client.get("/admin/users")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fadmin%2Fusers"


def test_a_session_ends_at_its_absolute_lifetime_however_busy(
    client: TestClient, alice: WebUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, timedelta(0), T0)
    login_via_form(client, "alice", PASSWORD)
    for minutes in range(20, 12 * 60, 20):  # never idle for long
        at(monkeypatch, timedelta(minutes=minutes), T0)
        assert client.get("/api/v1/me").status_code == 200, minutes
    at(monkeypatch, timedelta(hours=12), T0)
    assert client.get("/api/v1/me").status_code == 401


def test_logout_needs_the_csrf_token_and_ends_the_session(
    client: TestClient, alice: WebUser, web_app: FastAPI
) -> None:
    login_via_form(client, "alice", PASSWORD)
    assert client.post("/logout").status_code == 403  # no token
    assert client.get("/api/v1/me").status_code == 200

    page = client.get("/admin/users")  # any page carries the token; this one is 403 for her
    token = form_csrf(page.text)
    response = client.post("/logout", data={"csrf_token": token})

    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.get("/api/v1/me").status_code == 401
    assert actions(web_app, "auth.logout") == [("alice", "user/alice", {})]
    with Session(ws_of(web_app).engine) as db:
        assert db.scalars(select(WebSession.id)).all() == []


# ---- API tokens ----------------------------------------------------------------------------


def test_bearer_tokens_authenticate_and_can_be_revoked(web_app: FastAPI, alice: WebUser) -> None:
    token = bearer_token(web_app, alice, "etl")
    c = new_client(web_app, headers={"Authorization": f"Bearer {token}"})

    me = c.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["via"] == "token"
    with Session(ws_of(web_app).engine) as db:
        row = db.scalars(select(ApiToken)).one()
        assert row.token_hash != token and row.prefix == token[:10] and row.label == "etl"
        assert row.expires_at - row.created_at == timedelta(days=90)
        do_revoke_token(db, actor="test", user=get_user(db, "alice"), token_id=row.id)
    revoked = c.get("/api/v1/me")
    assert revoked.status_code == 401
    assert revoked.headers["www-authenticate"] == 'Bearer realm="fengyan"'
    assert revoked.json()["error"]["code"] == "web_bad_token"


@pytest.mark.parametrize("header", ["Bearer fy_not-a-real-token", "Bearer ", "Basic YWxpY2U6eA=="])
def test_bad_credentials_answer_401(web_app: FastAPI, header: str) -> None:
    c = new_client(web_app, headers={"Authorization": header})
    assert c.get("/api/v1/me").status_code == 401


def test_tokens_expire(web_app: FastAPI, alice: WebUser, monkeypatch: pytest.MonkeyPatch) -> None:
    at(monkeypatch, timedelta(0), T0)
    c = new_client(web_app, headers={"Authorization": f"Bearer {bearer_token(web_app, alice)}"})
    at(monkeypatch, timedelta(days=89, hours=23), T0)
    assert c.get("/api/v1/me").status_code == 200
    at(monkeypatch, timedelta(days=90), T0)
    assert c.get("/api/v1/me").status_code == 401


def test_a_token_of_a_locked_or_disabled_account_stops_working(
    web_app: FastAPI, alice: WebUser, make_user: MakeUser,
    signed_in: Callable[[WebUser], TestClient],
) -> None:  # fmt: skip
    c = new_client(web_app, headers={"Authorization": f"Bearer {bearer_token(web_app, alice)}"})
    admin = signed_in(make_user("root", "admin", "44"))
    admin.patch("/api/v1/admin/users/alice", json={"active": False})
    assert c.get("/api/v1/me").status_code == 401
    admin.patch("/api/v1/admin/users/alice", json={"active": True})
    assert c.get("/api/v1/me").status_code == 200
    admin.post("/api/v1/admin/users/alice/lock")
    assert c.get("/api/v1/me").status_code == 401


# ---- passwords -----------------------------------------------------------------------------


def test_passwords_are_stored_as_argon2id(web_app: FastAPI, alice: WebUser) -> None:
    with Session(ws_of(web_app).engine) as db:
        stored = db.scalars(select(WebUser.password_hash).where(WebUser.username == "alice")).one()
    assert stored is not None and stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert PASSWORD not in stored


def test_production_cost_is_the_argon2_default_and_old_hashes_are_upgraded(
    sqlite_workspace: Workspace, client: TestClient, alice: WebUser
) -> None:
    # alice was hashed at the test cost; logging in under the default settings rehashes.
    app = create_app(sqlite_workspace, dataclasses.replace(WebSettings(), secure_cookies=True))
    with new_client(app) as c:
        assert login_via_form(c, "alice", PASSWORD).status_code == 303  # type: ignore[attr-defined]
    with Session(sqlite_workspace.engine) as db:
        stored = db.scalars(select(WebUser.password_hash)).one()
    assert stored is not None and stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


@pytest.mark.parametrize(("password", "code"), [("short", 400), ("x" * 129, 400), ("x" * 12, 201)])
def test_password_length_policy(
    make_user: MakeUser, signed_in: Callable[[WebUser], TestClient], password: str, code: int
) -> None:
    admin = signed_in(make_user("root", "admin", "4403"))
    body = {"username": "bob", "role": "analyst", "scope": "440305", "password": password}
    response = admin.post("/api/v1/admin/users", json=body)
    assert response.status_code == code, response.text


# ---- storage on every backend --------------------------------------------------------------


def test_accounts_work_the_same_on_every_backend(web_app_any: FastAPI) -> None:
    from tests.web.conftest import add_user

    add_user(web_app_any, "Carol.W", "investigator", "440305001", PASSWORD, "王卡罗")
    with new_client(web_app_any) as c:
        for _ in range(5):
            login_via_form(c, "carol.w", "wrong password!")
        assert login_via_form(c, "carol.w", PASSWORD).status_code == 401  # type: ignore[attr-defined]
        with Session(ws_of(web_app_any).engine) as db:
            user = get_user(db, "CAROL.W")
            assert user.locked_until is not None and user.locked_until > clock.now()
            assert user.locked_until.utcoffset() == timedelta(0)
            do_unlock_user(db, actor="test", user=user)
        assert login_via_form(c, "carol.w", PASSWORD).status_code == 303  # type: ignore[attr-defined]
        me = c.get("/api/v1/me").json()
    assert (me["username"], me["display_name"], me["scope"]) == ("carol.w", "王卡罗", "440305001")
    total, entries = search(ws_of(web_app_any).engine, actor="carol.w", limit=100)
    # 5 failures (the 5th locks), 1 failure while locked, the login
    assert total == 8
    assert [e.action for e in reversed(entries)] == (
        ["auth.login_failed"] * 5 + ["auth.lockout", "auth.login_failed", "auth.login"]
    )
