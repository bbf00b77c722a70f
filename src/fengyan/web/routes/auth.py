"""Login, logout, language switch and ``/api/v1/me``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from fengyan.standards.regions import region_table
from fengyan.web.deps import (
    CurrentPrincipal,
    DbSession,
    Lang,
    OptionalPrincipal,
    SettingsDep,
    client_address,
    rate_limit,
    session_cookie_name,
)
from fengyan.web.errors import CsrfFailed
from fengyan.web.policy import load_policy
from fengyan.web.security.accounts import LoginFailed, authenticate, do_logout
from fengyan.web.security.secrets import new_token, same
from fengyan.web.settings import WebSettings
from fengyan.web.templating import LANG_COOKIE, render

router = APIRouter()
LOGIN_COOKIE_MINUTES = 30


def login_cookie_name(settings: WebSettings) -> str:
    """The double-submit cookie of the login form."""
    return "__Host-fengyan_login" if settings.secure_cookies else "fengyan_login"


def safe_next(target: str | None) -> str:
    """A local path to go to after login; anything else (other hosts, ``//x``, ``/\\x``) → ``/``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _set_cookie(response: Response, settings: WebSettings, name: str, value: str,
                max_age: int | None) -> None:  # fmt: skip
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )


def _login_page(request: Request, settings: WebSettings, next_path: str, error: str | None,
                username: str = "", status_code: int = 200) -> Response:  # fmt: skip
    token = new_token()
    request.state.login_csrf = token
    response = render(
        request,
        "login.html",
        {"next": next_path, "error": error, "username": username},
        status_code=status_code,
    )
    _set_cookie(response, settings, login_cookie_name(settings), token, LOGIN_COOKIE_MINUTES * 60)
    return response


@router.get("/login", include_in_schema=False)
def login_form(
    request: Request, settings: SettingsDep, who: OptionalPrincipal, lang: Lang,
    next: str = "/",
) -> Response:  # fmt: skip
    """The login form (already signed-in users go straight on)."""
    if who.authenticated:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, settings, safe_next(next), None)


@router.post("/login", include_in_schema=False, dependencies=[Depends(rate_limit("login"))])
def login(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    lang: Lang,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the credentials, open a session, set the cookie, go to ``next``."""
    if not same(request.cookies.get(login_cookie_name(settings)), csrf_token):
        raise CsrfFailed()
    try:
        _, session = authenticate(
            db, settings, username, password,
            client=client_address(request, settings),
            old_session=request.cookies.get(session_cookie_name(settings)),
        )  # fmt: skip
    except LoginFailed as exc:
        return _login_page(request, settings, safe_next(next), exc.message(lang),
                           username[:64], status_code=401)  # fmt: skip
    response = RedirectResponse(safe_next(next), status_code=303)
    _set_cookie(
        response, settings, session_cookie_name(settings), session.token,
        int(settings.session_max.total_seconds()),
    )  # fmt: skip
    response.delete_cookie(login_cookie_name(settings), path="/", secure=settings.secure_cookies,
                           httponly=True, samesite="lax")  # fmt: skip
    return response


@router.post("/logout", include_in_schema=False)
def logout(
    request: Request, db: DbSession, settings: SettingsDep, who: CurrentPrincipal
) -> Response:
    """End the session (CSRF-checked like every unsafe cookie request)."""
    name = session_cookie_name(settings)
    if who.via == "session":
        do_logout(db, request.cookies.get(name), actor=who.username)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(name, path="/", secure=settings.secure_cookies, httponly=True,
                           samesite="lax")  # fmt: skip
    return response


@router.get("/lang/{code}", include_in_schema=False)
def switch_language(code: str, settings: SettingsDep, next: str = "/") -> Response:
    """Remember the chosen language (zh or en) and go back."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in ("zh", "en"):
        _set_cookie(response, settings, LANG_COOKIE, code, 365 * 24 * 3600)
    return response


class Me(BaseModel):
    """The caller as the server sees them."""

    username: str
    display_name: str
    role: str
    role_label: str
    scope: str
    scope_name: str
    level: str
    permissions: list[str]
    masking: str
    via: str


@router.get("/api/v1/me", tags=["auth"])
def me(who: CurrentPrincipal, lang: Lang) -> Me:
    """Who am I: role, permissions, masking level and jurisdiction."""
    table = region_table()
    scope_name = table.full_name(who.scope) if table.get(who.scope) else who.scope
    return Me(
        username=who.username,
        display_name=who.display_name,
        role=who.role,
        role_label=load_policy().role(who.role).label(lang),
        scope=who.scope,
        scope_name=scope_name,
        level=who.level,
        permissions=sorted(who.permissions),
        masking=who.masking,
        via=who.via,
    )
