"""FastAPI dependencies and their ``Annotated`` aliases — how routes get what they need.

A route declares what it needs in its signature and nothing else::

    @router.get("/api/v1/warnings")
    def warnings(db: DbSession, who: ViewWarnings, page: Pagination) -> ...

* :data:`DbSession` — a SQLAlchemy session for this request (closed afterwards; services
  that change state commit, read-only ones never do);
* :data:`WorkspaceDep`, :data:`SettingsDep`, :data:`Lang`;
* :data:`CurrentPrincipal` — the signed-in user (cookie session or
  ``Authorization: Bearer``), 401 otherwise; unsafe cookie requests are CSRF-checked here,
  so every route that needs a login is protected without further code;
* :data:`OptionalPrincipal` — the same, or the anonymous principal;
* ``ViewWarnings``, ``Export``, ``ManageUsers`` … (one alias per permission of
  ``policy.yaml``, or ``Annotated[Principal, Depends(require("perm"))]``) — the signed-in
  user holding that permission (403 otherwise);
* :data:`Pagination` — ``?page=&size=`` (``size`` ≤ 200);
* :func:`rate_limit` — a per-client budget (``"login"``, ``"public"``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar
from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from fengyan import clock
from fengyan.web.errors import Forbidden, NotAuthenticated
from fengyan.web.policy import load_policy
from fengyan.web.scope import Principal
from fengyan.web.security.accounts import lookup_token, principal_for
from fengyan.web.security.authcache import AuthCache, auth_cache, entry
from fengyan.web.security.csrf import check_csrf
from fengyan.web.security.ratelimit import RateLimiter
from fengyan.web.security.secrets import API_TOKEN_PREFIX, digest
from fengyan.web.security.sessions import lookup_session, session_valid_until
from fengyan.web.settings import WebSettings
from fengyan.web.templating import language_of
from fengyan.workspace import Workspace

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
_bearer = HTTPBearer(auto_error=False, description="An API token: `fengyan user token NAME`.")


def session_cookie_name(settings: WebSettings) -> str:
    """``__Host-`` cookies must be Secure, host-only and path ``/``; browsers enforce it."""
    return "__Host-fengyan_session" if settings.secure_cookies else "fengyan_session"


async def get_workspace(request: Request) -> Workspace:
    """The workspace the app was created with."""
    ws: Workspace = request.app.state.workspace
    return ws


async def get_settings(request: Request) -> WebSettings:
    """The web settings the app was created with."""
    settings: WebSettings = request.app.state.settings
    return settings


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
SettingsDep = Annotated[WebSettings, Depends(get_settings)]


_CLOSE_LIMITER: RunVar[anyio.CapacityLimiter] = RunVar("fengyan_close_limiter")


def _close_limiter() -> anyio.CapacityLimiter:
    """The event loop's thread budget for closing request sessions (anyio's own default
    limiter is kept per loop the same way)."""
    try:
        return _CLOSE_LIMITER.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(4)
        _CLOSE_LIMITER.set(limiter)
        return limiter


async def get_db(ws: WorkspaceDep) -> AsyncIterator[Session]:
    """A database session for one request.

    Opened on the event loop (a session takes no connection until its first query) and
    closed there when it never took one — a cached page view then costs no thread-pool hop
    and no ``ROLLBACK`` round trip; a session that did query is closed in the thread pool,
    its connection rolled back and returned.
    """
    session = Session(ws.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        if session.in_transaction():
            # Shielded: a request cancelled because its client hung up must still give its
            # connection back. Unshielded, the close was skipped, the pool ran dry after a
            # few dropped requests, every later request waited for a connection, and the
            # server's shutdown waited for them (tests/web/test_fast_paths.py).
            # Its own thread budget: with the shared one, requests holding every thread
            # while they wait for a connection would wait forever for the sessions whose
            # close needs a thread to give one back (FastAPI's exit code does the same).
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(session.close, limiter=_close_limiter())
        else:
            session.close()


DbSession = Annotated[Session, Depends(get_db)]


async def get_lang(request: Request) -> str:
    """zh (default) or en, from ``?lang=`` or the language cookie."""
    lang = language_of(request)
    request.state.lang = lang
    return lang


Lang = Annotated[str, Depends(get_lang)]


def client_address(request: Request, settings: WebSettings) -> str:
    """The client's address (the first ``X-Forwarded-For`` hop only behind a trusted proxy)."""
    if settings.trust_proxy:
        forwarded = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
        if forwarded:
            return forwarded[:64]
    return request.client.host if request.client else "-"


@dataclass(frozen=True, slots=True)
class _Resolved:
    principal: Principal
    by_cookie: bool


async def _resolve(request: Request, bearer: HTTPAuthorizationCredentials | None) -> _Resolved:
    # A bearer token wins over a cookie: machine clients never depend on ambient browser
    # state. A credential seen in the last few seconds is answered from the worker's cache
    # (security/authcache.py) on the event loop; otherwise it is looked up in the thread
    # pool.
    ws: Workspace = request.app.state.workspace
    settings: WebSettings = request.app.state.settings
    if bearer is not None:
        kind, secret = "token", bearer.credentials
        if not secret.startswith(API_TOKEN_PREFIX) or len(secret) > 200:
            raise NotAuthenticated("web_bad_token")
    else:
        cookie = request.cookies.get(session_cookie_name(settings))
        if not cookie or len(cookie) > 200:
            return _ANONYMOUS
        kind, secret = "session", cookie
    key = digest(secret)
    cache = auth_cache(ws.engine) if settings.auth_cache_seconds else None
    if cache is not None:
        hit = cache.get(kind, key)
        if hit is not None:
            return _Resolved(hit.principal, hit.by_cookie)
    found = await run_in_threadpool(_look_up, ws, settings, cache, kind, secret, key)
    if found is None:
        if kind == "token":
            raise NotAuthenticated("web_bad_token")
        return _ANONYMOUS
    return found


_ANONYMOUS = _Resolved(Principal.anonymous(), False)


def _look_up(
    ws: Workspace,
    settings: WebSettings,
    cache: AuthCache | None,
    kind: str,
    secret: str,
    key: str,
) -> _Resolved | None:
    # Its own session, closed before the thread is given back: a connection held from here
    # until the route's thread starts would, under load, wait for a thread while every
    # thread waits for a connection.
    generation = cache.generation if cache is not None else 0
    read_at = clock.now()
    with Session(ws.engine, expire_on_commit=False) as db:
        if kind == "token":
            token = lookup_token(db, secret)
            if token is None:
                return None
            principal, until = token
            resolved = _Resolved(principal, False)
        else:
            live = lookup_session(db, settings, secret)
            if live is None:
                return None
            session, user = live
            resolved = _Resolved(principal_for(user, "session", session.csrf_token), True)
            until = session_valid_until(settings, session)
    if cache is not None:
        seconds = settings.auth_cache_seconds
        made = entry(resolved.principal, resolved.by_cookie, seconds, read_at, until)
        cache.put(kind, key, made, generation)
    return resolved


async def _principal(request: Request, bearer: HTTPAuthorizationCredentials | None) -> Principal:
    """Whoever asks, possibly anonymous, resolved once per request; unsafe cookie requests
    must carry the CSRF token.

    Called by each principal dependency below rather than declared as a dependency of
    theirs: a chain of four small dependencies cost FastAPI more than the lookup itself.
    """
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    resolved = await _resolve(request, bearer)
    if resolved.by_cookie:
        await check_csrf(request, resolved.principal.csrf_token)
    request.state.principal = resolved.principal
    return resolved.principal


Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def optional_principal(request: Request, bearer: Bearer) -> Principal:
    """Whoever asks, possibly anonymous; unsafe cookie requests must carry the CSRF token."""
    return await _principal(request, bearer)


OptionalPrincipal = Annotated[Principal, Depends(optional_principal)]


async def current_principal(request: Request, bearer: Bearer) -> Principal:
    """The signed-in user or token holder; 401 for anyone else."""
    principal = await _principal(request, bearer)
    if not principal.authenticated:
        raise NotAuthenticated()
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(permission: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency giving the signed-in principal if their role holds ``permission``."""
    if permission not in load_policy().permissions:
        raise ValueError(f"permission {permission!r} is not declared in policy.yaml")

    async def dependency(request: Request, bearer: Bearer) -> Principal:
        principal = await current_principal(request, bearer)
        if not principal.can(permission):
            raise Forbidden()
        return principal

    dependency.__name__ = f"require_{permission}"
    return dependency


# One alias per permission of policy.yaml (tests/web/test_security.py checks they match):
#     def warnings(who: ViewWarnings, ...) -> ...
ViewOverview = Annotated[Principal, Depends(require("view_overview"))]
ViewMap = Annotated[Principal, Depends(require("view_map"))]
ViewWarnings = Annotated[Principal, Depends(require("view_warnings"))]
ViewProfile = Annotated[Principal, Depends(require("view_profile"))]
ViewPersonalData = Annotated[Principal, Depends(require("view_personal_data"))]
SearchEnterprise = Annotated[Principal, Depends(require("search_enterprise"))]
SearchPerson = Annotated[Principal, Depends(require("search_person"))]
Export = Annotated[Principal, Depends(require("export"))]
ManageUsers = Annotated[Principal, Depends(require("manage_users"))]
ViewAudit = Annotated[Principal, Depends(require("view_audit"))]
PushIngest = Annotated[Principal, Depends(require("push_ingest"))]
ViewCases = Annotated[Principal, Depends(require("view_cases"))]
WorkCases = Annotated[Principal, Depends(require("work_cases"))]
SuperviseCases = Annotated[Principal, Depends(require("supervise_cases"))]


@dataclass(frozen=True, slots=True)
class PageParams:
    """``?page=`` (from 1) and ``?size=`` (1…200) of a list."""

    page: int
    size: int

    @property
    def offset(self) -> int:
        """Rows to skip."""
        return (self.page - 1) * self.size


async def page_params(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1.")] = 1,
    size: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page (≤ 200).")
    ] = DEFAULT_PAGE_SIZE,
) -> PageParams:
    """The pagination parameters of a list request."""
    return PageParams(page, size)


Pagination = Annotated[PageParams, Depends(page_params)]


def rate_limit(name: str) -> Callable[[Request], Coroutine[Any, Any, None]]:
    """A dependency counting the request against the app's ``name`` limiter (429 if over)."""

    async def dependency(request: Request) -> None:  # no I/O: kept off the thread pool
        limiter: RateLimiter = request.app.state.limiters[name]
        limiter.check(client_address(request, request.app.state.settings))

    dependency.__name__ = f"rate_limit_{name}"
    return dependency
