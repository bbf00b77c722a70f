"""Fixtures for the web tests: an app over a temporary workspace, users, signed-in clients.

Use them from any test under tests/web/:

* ``web_app`` — ``create_app`` over a fresh SQLite workspace with :data:`TEST_SETTINGS`
  (cheap argon2 cost, generous rate limits); ``web_app_any`` the same on every database
  backend (SQLite and, when configured, PostgreSQL);
* ``client`` — an anonymous ``TestClient`` (``https://testserver``, so ``Secure`` cookies
  are kept; redirects are not followed, so tests see 303s);
* ``make_user(username, role, scope, password=None)`` — an account through the same
  action the CLI uses;
* ``signed_in(user)`` — a client with a live session cookie and the session's CSRF token
  sent as ``X-CSRF-Token`` on every request (as htmx does); ``token_client(user)`` — a
  client sending ``Authorization: Bearer``;
* :func:`login_via_form` — the real login form round trip;
* :func:`seed_published` — one graded firm, its warning and region summaries per region
  code, with marker names (``神谕企业<code>``) that the access oracle looks for.

Regions: :data:`HOME` is a chain Guangdong → Shenzhen → Nanshan → Nantou street → Nantou
City community; :data:`SIBLING` the sibling at each level; :data:`OBJECT_REGIONS` one
community per branch, so every scope of both chains holds some objects and misses others.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fengyan.db.published import FirmScore, GradeWarning, RegionSummary, ScoreRun
from fengyan.db.users import WebUser
from fengyan.web.app import create_app
from fengyan.web.deps import session_cookie_name
from fengyan.web.security.accounts import do_create_user, do_issue_token
from fengyan.web.security.sessions import create_session
from fengyan.web.settings import WebSettings
from fengyan.workspace import Workspace

BASE_URL = "https://testserver"
PASSWORD = "correct horse battery staple"
TEST_SETTINGS = WebSettings(
    secure_cookies=True,
    argon2_time_cost=1,
    argon2_memory_kib=1024,
    argon2_parallelism=1,
    login_rate_per_minute=10_000,
    public_rate_per_minute=10_000,
)
LEVELS = ("province", "city", "district", "street", "community")
# Guangdong / Shenzhen / Nanshan / Nantou street / Nantou City community …
HOME = dict(zip(LEVELS, ("44", "4403", "440305", "440305001", "440305001001"), strict=True))
# … and the sibling at each level: Guangxi, Guangzhou, Futian, Nanshan street, Daxin community.
SIBLING = dict(zip(LEVELS, ("45", "4401", "440304", "440305002", "440305001003"), strict=True))
# One community per branch: the home community, then the one inside each sibling.
OBJECT_REGIONS = (
    "440305001001",  # home community
    "440305001003",  # sibling community (same street)
    "440305002003",  # a community of the sibling street (same district)
    "440304001019",  # Futian (same city)
    "440103001101",  # Guangzhou (same province)
    "450102001003",  # Guangxi
)
MODEL = "dolphin-v1"


@pytest.fixture
def web_settings() -> WebSettings:
    """Settings for tests (override with ``dataclasses.replace`` where a test needs to)."""
    return TEST_SETTINGS


@pytest.fixture
def web_app(sqlite_workspace: Workspace, web_settings: WebSettings) -> FastAPI:
    """The app over a fresh SQLite workspace."""
    return create_app(sqlite_workspace, web_settings)


@pytest.fixture
def web_app_any(workspace: Workspace, web_settings: WebSettings) -> FastAPI:
    """The app over a fresh workspace on each database backend."""
    return create_app(workspace, web_settings)


def ws_of(app: FastAPI) -> Workspace:
    """The workspace behind an app."""
    ws: Workspace = app.state.workspace
    return ws


def new_client(app: FastAPI, headers: dict[str, str] | None = None) -> TestClient:
    """A client that keeps Secure cookies and does not follow redirects."""
    return TestClient(app, base_url=BASE_URL, follow_redirects=False, headers=headers)


@pytest.fixture
def client(web_app: FastAPI) -> Iterator[TestClient]:
    """An anonymous client of ``web_app``."""
    with new_client(web_app) as c:
        yield c


MakeUser = Callable[..., WebUser]


def add_user(
    app: FastAPI,
    username: str,
    role: str,
    scope: str,
    password: str | None = None,
    display_name: str | None = None,
) -> WebUser:
    """Create an account through the same action as ``fengyan user add``."""
    with Session(ws_of(app).engine, expire_on_commit=False) as db:
        return do_create_user(
            db, app.state.settings, actor="test", username=username, role=role, scope=scope,
            password=password, display_name=display_name,
        )  # fmt: skip


@pytest.fixture
def make_user(web_app: FastAPI) -> MakeUser:
    """``make_user(username, role, scope, password=None, display_name=None)``."""

    def make(username: str, role: str, scope: str, password: str | None = None,
             display_name: str | None = None) -> WebUser:  # fmt: skip
        return add_user(web_app, username, role, scope, password, display_name)

    return make


def session_for(app: FastAPI, user: WebUser) -> tuple[str, str]:
    """Open a session for ``user`` directly (no password check): (cookie token, CSRF token)."""
    with Session(ws_of(app).engine) as db:
        new = create_session(db, app.state.settings, user)
        db.commit()
    return new.token, new.csrf_token


def signed_in_client(app: FastAPI, user: WebUser) -> TestClient:
    """A client with ``user``'s session cookie, sending its CSRF token on every request."""
    token, csrf = session_for(app, user)
    c = new_client(app, headers={"X-CSRF-Token": csrf})
    c.cookies.set(session_cookie_name(app.state.settings), token, domain="testserver.local")
    return c


def bearer_token(app: FastAPI, user: WebUser, label: str = "test") -> str:
    """Issue an API token for ``user``."""
    with Session(ws_of(app).engine) as db:
        return do_issue_token(db, app.state.settings, actor="test", user=user, label=label).token


def token_client_for(app: FastAPI, user: WebUser) -> TestClient:
    """A client authenticating with ``Authorization: Bearer``."""
    return new_client(app, headers={"Authorization": f"Bearer {bearer_token(app, user)}"})


@pytest.fixture
def signed_in(web_app: FastAPI) -> Iterator[Callable[[WebUser], TestClient]]:
    """``signed_in(user)`` → a client with a live session (see :func:`signed_in_client`)."""
    clients: list[TestClient] = []

    def make(user: WebUser) -> TestClient:
        c = signed_in_client(web_app, user)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def token_client(web_app: FastAPI) -> Iterator[Callable[[WebUser], TestClient]]:
    """``token_client(user)`` → a client sending a fresh bearer token of ``user``."""
    clients: list[TestClient] = []

    def make(user: WebUser) -> TestClient:
        c = token_client_for(web_app, user)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_csrf(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _FORM_TOKEN.search(html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def login_via_form(c: TestClient, username: str, password: str, next_path: str = "/") -> object:
    """GET the login form, then POST it with its double-submit token; returns the response.

    A session cookie the client already holds is dropped first (the form would redirect).
    """
    for name in ("__Host-fengyan_session", "fengyan_session"):
        c.cookies.delete(name)
    page = c.get("/login", params={"next": next_path})
    assert page.status_code == 200, page.text
    return c.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": form_csrf(page.text),
              "next": next_path},
    )  # fmt: skip


def firm_id_for(code: str) -> str:
    """The seeded firm of a region (see :func:`seed_published`)."""
    return f"oracle-firm-{code}"


def firm_name_for(code: str) -> str:
    """The seeded firm's name: a marker the oracle searches responses for."""
    return f"神谕企业{code}有限公司"


def seed_published(ws: Workspace, codes: tuple[str, ...] = OBJECT_REGIONS) -> int:
    """One published run with, per region code, a red firm (newly warned), its warning and
    district/street summaries. Returns the run id."""
    when = datetime(2026, 6, 30, tzinfo=UTC)
    with Session(ws.engine) as db:
        run = ScoreRun(as_of=when, models=json.dumps([MODEL]), started_at=when, finished_at=when,
                       firms=len(codes), counts="{}", fengyan_version="test")  # fmt: skip
        db.add(run)
        db.flush()
        for i, code in enumerate(codes):
            firm = firm_id_for(code)
            db.add(
                FirmScore(
                    model=MODEL, firm_id=firm, run_id=run.id, score=90.0 - i, raw_score=90.0 - i,
                    grade="red", previous_grade="none", change="new", coverage=1.0,
                    dimensions=json.dumps({}), top=json.dumps([]), rules=json.dumps([]),
                    name=firm_name_for(code), credit_code=f"91{code[:6]}MA5G{i:05d}X"[:18],
                    region_code=code, category="p2p", finance_like=True,
                )
            )  # fmt: skip
            db.add(
                GradeWarning(
                    run_id=run.id, model=MODEL, firm_id=firm, change="new", grade="red",
                    previous_grade="none", score=90.0 - i, previous_score=None,
                    region_code=code, created_at=when,
                )
            )  # fmt: skip
        summaries: dict[str, int] = {}
        for code in codes:
            for prefix in (code[:6], code[:9]):
                summaries[prefix] = summaries.get(prefix, 0) + 1
        for prefix, firms in summaries.items():
            db.add(
                RegionSummary(
                    run_id=run.id, model=MODEL, region_code=prefix,
                    level="district" if len(prefix) == 6 else "street", firms=firms, red=firms,
                    orange=0, yellow=0, blue=0, new=firms, escalated=0,
                )
            )  # fmt: skip
        db.commit()
        return run.id
