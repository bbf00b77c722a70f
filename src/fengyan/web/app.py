"""``create_app``: the web workbench and JSON API wired together.

What is set up here and nowhere else: the static files (``/static``, every asset vendored,
nothing from a CDN), the self-hosted API docs (``/docs`` with Swagger UI from
``/static/vendor/swagger-ui``, ``/openapi.json``), the security headers, the mapping of
:mod:`fengyan.web.errors` to JSON errors (``/api/…``) and generic error pages (elsewhere),
and the routers. W1's routers (auth, admin, ingest) are always included; the page, API and
public routers (``routes/pages.py``, ``routes/api.py``, ``routes/public.py``) are included
when their module exists, each exposing a ``router``.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from fengyan import __version__
from fengyan.i18n import t
from fengyan.web.errors import NotAuthenticated, WebError
from fengyan.web.headers import SecurityHeadersMiddleware
from fengyan.web.security.ratelimit import RateLimiter
from fengyan.web.settings import WebSettings
from fengyan.web.templating import language_of, render
from fengyan.workspace import Workspace

log = logging.getLogger("fengyan.web")

API_PREFIX = "/api/"
OPTIONAL_ROUTERS = ("pages", "api", "public", "cases", "audit")
# Swagger UI sets style attributes from its own script; nothing else is relaxed for /docs.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'"
)
STATUS_CODES = {400: "web_bad_request", 401: "web_not_authenticated", 403: "web_forbidden",
                404: "web_not_found", 405: "web_method_not_allowed", 413: "web_payload_too_large",
                422: "web_unprocessable", 429: "web_rate_limited"}  # fmt: skip
API_DESCRIPTION = """风眼 Fengyan — 地方金融风险监测预警平台 JSON API.

Authentication: `Authorization: Bearer <token>` (tokens from `fengyan user token NAME`).
Lists take `page` (from 1) and `size` (≤ 200) and answer `{items, page, size, total}`.
Errors answer `{"error": {"code", "message"}}` with the HTTP status. Every answer is
limited to the caller's jurisdiction: objects of other regions answer 404.
See docs/web.md.
"""


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX) or request.url.path == "/openapi.json"


def _safe_next(path: str) -> str:
    """A local path to come back to after login (never another host)."""
    return path if path.startswith("/") and not path.startswith("//") else "/"


def error_response(request: Request, status: int, code: str, message: str,
                   headers: dict[str, str] | None = None) -> Response:  # fmt: skip
    """The JSON error (API) or the generic error page (everything else)."""
    if _wants_json(request):
        return JSONResponse(
            {"error": {"code": code, "message": message}}, status_code=status, headers=headers
        )
    return render(
        request,
        "error.html",
        {"status": status, "message": message},
        status_code=status,
        headers=headers,
    )


async def _web_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WebError)
    if isinstance(exc, NotAuthenticated) and not _wants_json(request):
        target = _safe_next(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    lang = language_of(request)
    return error_response(request, exc.status, exc.message_code, exc.message(lang), exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = STATUS_CODES.get(exc.status_code, "web_error")
    message = t(code if code != "web_error" else "web_error", language_of(request))
    return error_response(request, exc.status_code, code, message, dict(exc.headers or {}))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    lang = language_of(request)
    if not _wants_json(request):
        return error_response(request, 400, "web_bad_request", t("web_bad_request", lang))
    # Which parameter and why, without echoing the submitted values back.
    problems = [
        {"loc": [str(p) for p in err.get("loc", ())], "type": str(err.get("type", ""))}
        for err in exc.errors()
    ]
    return JSONResponse(
        {"error": {"code": "web_unprocessable", "message": t("web_unprocessable", lang),
                   "problems": problems}},
        status_code=422,
    )  # fmt: skip


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    lang = language_of(request)
    response = error_response(request, 500, "web_error", t("web_error", lang))
    for name, value in request.app.state.security_headers:
        response.headers.setdefault(name, value)
    return response


def _docs(request: Request) -> HTMLResponse:
    """Swagger UI served from /static (FastAPI's default loads it from a CDN)."""
    response = render(request, "docs.html", {"openapi_url": request.app.openapi_url})
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


def _lifespan(threads: int) -> Any:
    """Start-up of one worker: the size of its thread pool.

    Sync routes and database lookups run in anyio's default pool (40 threads unless told).
    On a small machine 40 threads thrash one interpreter lock: a page that needs 3 ms of
    CPU is sliced between dozens of others and the slowest twentieth of answers waits for
    all of them. A few threads serve the queue in arrival order instead (docs/web.md,
    "Speed"; ``FENGYAN_WEB_THREADS``).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    return lifespan


def create_app(ws: Workspace, settings: WebSettings | None = None) -> FastAPI:
    """The FastAPI application over workspace ``ws``."""
    from fengyan.web.headers import security_headers
    from fengyan.web.routes import admin, auth, ingest

    settings = settings or WebSettings.from_env()
    _ = ws.engine  # migrate now: fail at start-up, not at the first request
    app = FastAPI(
        title="风眼 Fengyan API",
        version=__version__,
        description=API_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=_lifespan(settings.threads),
    )
    app.state.workspace = ws
    app.state.settings = settings
    app.state.security_headers = security_headers(settings.secure_cookies)
    app.state.limiters = {
        "login": RateLimiter(settings.login_rate_per_minute),
        "public": RateLimiter(settings.public_rate_per_minute),
    }
    app.add_middleware(SecurityHeadersMiddleware, secure=settings.secure_cookies)
    app.add_exception_handler(WebError, _web_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
    app.mount("/static", StaticFiles(packages=[("fengyan.web", "static")]), name="static")
    app.add_api_route("/docs", _docs, include_in_schema=False, response_class=HTMLResponse)
    for router in (auth.router, admin.router, ingest.router):
        app.include_router(router)
    for name in OPTIONAL_ROUTERS:
        module_name = f"fengyan.web.routes.{name}"
        if importlib.util.find_spec(module_name) is not None:
            module: Any = importlib.import_module(module_name)
            app.include_router(module.router)
    return app


def app_from_env() -> FastAPI:
    """The app over the workspace and settings of the environment (uvicorn's factory).

    ``fengyan serve --workers N`` starts N processes that each call this.
    """
    from fengyan.web.heap import serving

    app = create_app(Workspace.from_env(), WebSettings.from_env())
    serving()  # what start-up built lives as long as the worker: out of the GC's scans
    return app
