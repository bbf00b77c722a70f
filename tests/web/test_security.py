"""Security headers, CSRF, autoescape, self-hosted docs, errors, policy and settings."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import fengyan.web.deps as deps
from fengyan.db.users import WebUser
from fengyan.web.headers import CSP
from fengyan.web.policy import PolicyError, load_policy, parse_policy
from fengyan.web.security.ratelimit import RateLimiter
from fengyan.web.settings import WebSettings
from fengyan.web.templating import make_environment
from tests.web.conftest import PASSWORD, MakeUser, form_csrf, login_via_form, new_client

EXPECTED_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "strict-transport-security": "max-age=31536000",
}


# ---- headers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "cache"),
    [
        ("/login", 200, "no-store"),
        ("/api/v1/me", 401, "no-store"),
        ("/no/such/page", 404, "no-store"),
        ("/api/v1/no-such-route", 404, "no-store"),
        ("/openapi.json", 200, "no-store"),
        ("/static/base.css", 200, None),
        ("/static/vendor/htmx/htmx.min.js", 200, None),
    ],
)
def test_every_response_carries_the_security_headers(
    client: TestClient, path: str, status: int, cache: str | None
) -> None:
    response = client.get(path)
    assert response.status_code == status
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert response.headers.get("cache-control") == cache


def test_the_csp_allows_nothing_but_our_own_origin() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    for name in ("default-src", "script-src", "style-src", "font-src", "connect-src"):
        assert directives[name] == "'self'", name
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe" not in CSP and "http" not in CSP


def test_no_hsts_when_secure_cookies_are_off(sqlite_workspace: object) -> None:
    from fengyan.web.app import create_app

    app = create_app(sqlite_workspace, WebSettings(secure_cookies=False))  # type: ignore[arg-type]
    response = new_client(app).get("/login")
    assert "strict-transport-security" not in response.headers
    assert "fengyan_login=" in response.headers["set-cookie"]
    assert "Secure" not in response.headers["set-cookie"]


def test_an_unexpected_error_is_a_generic_page_with_the_headers(web_app: FastAPI) -> None:
    def boom() -> None:
        raise RuntimeError("secret internal detail /srv/fengyan/db")

    web_app.add_api_route("/boom", boom)
    web_app.add_api_route("/api/v1/boom", boom)
    c = TestClient(web_app, base_url="https://testserver", raise_server_exceptions=False)
    page, api = c.get("/boom"), c.get("/api/v1/boom")
    assert page.status_code == api.status_code == 500
    assert "服务器内部错误" in page.text and "secret" not in page.text
    assert api.json() == {"error": {"code": "web_error", "message": "服务器内部错误，请稍后再试。"}}
    for response in (page, api):
        assert response.headers["x-frame-options"] == "DENY"
        assert "Traceback" not in response.text


# ---- authentication answers ----------------------------------------------------------------


def test_unauthenticated_api_is_401_and_pages_redirect_to_login(client: TestClient) -> None:
    api = client.get("/api/v1/admin/users")
    assert api.status_code == 401
    assert api.headers["www-authenticate"] == 'Bearer realm="fengyan"'
    assert api.json()["error"] == {"code": "web_not_authenticated", "message": "请先登录。"}
    english = client.get("/api/v1/admin/users", params={"lang": "en"})
    assert english.json()["error"]["message"] == "Please sign in."
    page = client.get("/admin/users", params={"x": "1"})
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fadmin%2Fusers%3Fx%3D1"


def test_a_missing_permission_is_403(
    make_user: MakeUser, signed_in: Callable[[WebUser], TestClient]
) -> None:
    analyst = signed_in(make_user("ana", "analyst", "4403"))
    response = analyst.get("/api/v1/admin/users")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "web_forbidden"
    assert analyst.get("/admin/users").status_code == 403


# ---- CSRF ----------------------------------------------------------------------------------


@pytest.fixture
def admin_cookie_client(web_app: FastAPI, make_user: MakeUser) -> TestClient:
    """A browser signed in as an administrator through the form (no automatic CSRF header)."""
    make_user("root", "admin", "4403", PASSWORD)
    make_user("bob", "analyst", "440305")
    c = new_client(web_app)
    assert login_via_form(c, "root", PASSWORD).status_code == 303  # type: ignore[attr-defined]
    return c


def test_unsafe_cookie_requests_without_the_csrf_token_are_refused(
    admin_cookie_client: TestClient,
) -> None:
    c = admin_cookie_client
    missing = c.post("/api/v1/admin/users/bob/lock")
    wrong = c.post("/api/v1/admin/users/bob/lock", headers={"X-CSRF-Token": "x" * 43})
    patch = c.patch("/api/v1/admin/users/bob", json={"active": False})
    for response in (missing, wrong, patch):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "web_csrf_failed"
    assert c.get("/api/v1/admin/users/bob").json()["locked"] is False  # nothing happened
    assert c.get("/api/v1/admin/users/bob").json()["active"] is True


def test_the_csrf_token_is_accepted_from_the_header_or_the_form(
    admin_cookie_client: TestClient,
) -> None:
    c = admin_cookie_client
    page = c.get("/admin/users")
    token = form_csrf(page.text)
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert meta is not None and meta.group(1) == token
    assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in page.text

    by_header = c.post("/api/v1/admin/users/bob/lock", headers={"X-CSRF-Token": token})
    assert by_header.status_code == 200 and by_header.json()["locked"] is True
    by_form = c.post("/admin/users/bob/unlock", data={"csrf_token": token})
    assert by_form.status_code == 303
    assert c.get("/api/v1/admin/users/bob").json()["locked"] is False


def test_a_cross_site_origin_is_refused_even_with_the_token(
    admin_cookie_client: TestClient,
) -> None:
    c = admin_cookie_client
    token = form_csrf(c.get("/admin/users").text)
    foreign = c.post("/api/v1/admin/users/bob/lock",
                     headers={"X-CSRF-Token": token, "Origin": "https://evil.example"})  # fmt: skip
    same = c.post("/api/v1/admin/users/bob/lock",
                  headers={"X-CSRF-Token": token, "Origin": "https://testserver"})  # fmt: skip
    assert (foreign.status_code, same.status_code) == (403, 200)


def test_bearer_requests_need_no_csrf_token(
    make_user: MakeUser, token_client: Callable[[WebUser], TestClient]
) -> None:
    make_user("bob", "analyst", "440305")
    admin = token_client(make_user("root", "admin", "4403"))
    assert admin.post("/api/v1/admin/users/bob/lock").status_code == 200


# ---- escaping ------------------------------------------------------------------------------

CRAFTED = '<script>alert("x")</script>&\'"'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;&#39;&#34;"


@pytest.mark.parametrize("name", ["page.html", "mail.txt", "row.j2", "export.csv", None])
def test_every_template_name_is_autoescaped(name: str | None) -> None:
    env = make_environment()
    assert callable(env.autoescape) and env.autoescape(name) is True
    assert env.from_string("{{ v }}").render(v=CRAFTED) == ESCAPED


def test_a_crafted_display_name_renders_escaped(
    web_app: FastAPI, make_user: MakeUser, signed_in: Callable[[WebUser], TestClient]
) -> None:
    make_user("eve", "analyst", "440305", display_name=CRAFTED)
    admin = signed_in(make_user("root", "admin", "4403", display_name=CRAFTED))
    page = admin.get("/admin/users")
    assert page.status_code == 200
    assert CRAFTED not in page.text and "<script>alert" not in page.text
    assert page.text.count(ESCAPED) == 3  # the header's "signed in as" and two table rows


# ---- self-hosted API docs ------------------------------------------------------------------

URL = re.compile(r"""(?:https?:)?//([A-Za-z0-9.-]+\.[A-Za-z]{2,}|localhost|testserver)""")


def foreign_hosts(text: str) -> set[str]:
    """Hosts other than our own named by absolute or protocol-relative URLs in ``text``."""
    return {h for h in URL.findall(text) if h != "testserver"}


def test_docs_are_served_without_any_external_url(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert foreign_hosts(docs.text) == set()
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert set(assets) == {
        "/static/vendor/swagger-ui/favicon-32x32.png",
        "/static/vendor/swagger-ui/swagger-ui.css",
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/docs-init.js",
    }
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    init = client.get("/static/docs-init.js").text
    assert foreign_hosts(init) == set() and "validatorUrl: null" in init
    assert "'unsafe-eval'" not in docs.headers["content-security-policy"]
    assert "script-src 'self';" in docs.headers["content-security-policy"]


def test_openapi_is_served_without_any_external_url(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert foreign_hosts(response.text) == set()
    spec = response.json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "/api/v1/ingest/{entity_type}" in spec["paths"]
    # Pages and the login form are not API: they stay out of the spec.
    assert not any(p in spec["paths"] for p in ("/login", "/logout", "/docs", "/admin/users"))


def test_fastapi_default_docs_are_not_mounted(web_app: FastAPI) -> None:
    assert web_app.docs_url is None and web_app.redoc_url is None
    assert new_client(web_app).get("/redoc").status_code == 404


# ---- policy, aliases, settings, rate limiter ----------------------------------------------


def test_every_permission_has_a_dependency_alias() -> None:
    aliases = {
        name: value for name, value in vars(deps).items()
        if getattr(value, "__metadata__", None) and name[0].isupper()
        and getattr(value.__metadata__[0].dependency, "__name__", "").startswith("require_")
    }  # fmt: skip
    required = {
        a.__metadata__[0].dependency.__name__.removeprefix("require_") for a in aliases.values()
    }
    assert required == set(load_policy().permissions)


def test_policy_is_consistent_and_separates_duties() -> None:
    policy = load_policy()
    assert set(policy.roles) == {
        "admin",
        "analyst",
        "investigator",
        "grid_worker",
        "auditor",
        "agency",
    }
    assert policy.roles_with("manage_users") == ["admin"]
    assert policy.roles_with("view_audit") == ["auditor"]
    assert policy.roles_with("search_person") == ["investigator"]
    assert {r: policy.role(r).masking for r in policy.roles} == {
        "admin": "hidden", "analyst": "masked", "investigator": "none",
        "grid_worker": "masked", "auditor": "hidden", "agency": "hidden",
    }  # fmt: skip
    assert policy.public.permissions == frozenset() and policy.public.masking == "hidden"
    with pytest.raises(PolicyError, match="not declared"):
        policy.allows("analyst", "launch_missiles")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("permissions: [view_overview, view_map, manage_users]",
          "permissions: [view_overview, fly]"), "undeclared permission"),
        (("    masking: hidden\n    permissions: [view_overview, view_map",
          "    masking: secret\n    permissions: [view_overview, view_map"), "masking 'secret'"),
    ],
)  # fmt: skip
def test_a_broken_policy_is_refused_with_the_role_named(
    edit: tuple[str, str], message: str
) -> None:
    text = (Path(deps.__file__).parent / "policy.yaml").read_text(encoding="utf-8")
    assert edit[0] in text
    with pytest.raises(PolicyError, match=message) as caught:
        parse_policy(text.replace(edit[0], edit[1]), "policy.yaml")
    assert "role 'admin'" in str(caught.value)


def test_settings_from_the_environment() -> None:
    settings = WebSettings.from_env(
        {"FENGYAN_WEB_PORT": "9000", "FENGYAN_WEB_SECURE_COOKIES": "0",
         "FENGYAN_WEB_LOCKOUT_THRESHOLD": "3", "FENGYAN_WEB_SESSION_IDLE_MIN": "10"}
    )  # fmt: skip
    assert (settings.port, settings.secure_cookies, settings.lockout_threshold) == (9000, False, 3)
    assert settings.session_idle.total_seconds() == 600
    assert WebSettings.from_env({}) == WebSettings()
    with pytest.raises(ValueError, match="FENGYAN_WEB_PORT must be an integer"):
        WebSettings.from_env({"FENGYAN_WEB_PORT": "eighty"})
    with pytest.raises(ValueError, match="FENGYAN_WEB_SECURE_COOKIES must be 0 or 1"):
        WebSettings.from_env({"FENGYAN_WEB_SECURE_COOKIES": "maybe"})
    with pytest.raises(ValueError, match="lockout_threshold must be a positive"):
        WebSettings.from_env({"FENGYAN_WEB_LOCKOUT_THRESHOLD": "0"})
    with pytest.raises(ValueError, match="password_min_length"):
        WebSettings(password_min_length=6)


def test_rate_limiter_window() -> None:
    limiter = RateLimiter(per_minute=2)
    assert [limiter.hit("a", now=t) for t in (0.0, 1.0, 2.0)] == [True, True, False]
    assert limiter.hit("b", now=2.0) is True  # per client
    assert limiter.hit("a", now=60.5) is True  # the hit at 0.0 has left the window
    assert limiter.hit("a", now=60.6) is False
