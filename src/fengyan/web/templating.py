"""The one Jinja2 environment of the web app, and ``render`` for pages.

Autoescaping is on for EVERY template and for templates made from strings
(``select_autoescape(default=True, default_for_string=True)``): Starlette's default only
escapes ``.html``/``.htm``/``.xml`` names, so a ``.j2`` or ``.txt`` template would print a
firm name like ``<script>`` as markup.

Every page gets in its context: ``request``, ``lang`` (zh/en), ``t`` (the i18n function
bound to ``lang``: ``{{ t("web_login_title") }}``), ``principal`` (the signed-in user, or
the anonymous principal), ``csrf_token`` (the session's, or the login form's) and
``other_lang`` and ``role_label``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from fengyan.i18n import LANGUAGES, t
from fengyan.web.policy import load_policy
from fengyan.web.scope import Principal


def make_environment() -> Environment:
    """The Jinja2 environment: package templates, autoescape everywhere."""
    env = Environment(
        loader=PackageLoader("fengyan.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["languages"] = ("zh", "en")
    return env


@cache
def templates() -> Jinja2Templates:
    """The app's template renderer (one per process)."""
    return Jinja2Templates(env=make_environment())


LANG_COOKIE = "fengyan_lang"


def language_of(request: Request) -> str:
    """The reader's language: ``?lang=`` if valid, else the language cookie, else zh."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    return "zh"


def page_context(request: Request) -> dict[str, Any]:
    """What every page needs: language, translator, principal, CSRF token."""
    lang = language_of(request)
    principal = getattr(request.state, "principal", None) or Principal.anonymous()
    csrf = principal.csrf_token or getattr(request.state, "login_csrf", None) or ""

    def translate(message_code: str, **params: Any) -> str:
        return t(message_code, lang, **params)

    return {
        "request": request,
        "lang": lang,
        "other_lang": "en" if lang == "zh" else "zh",
        "t": translate,
        "principal": principal,
        "role_label": load_policy().role(principal.role).label(lang),
        "csrf_token": csrf,
    }


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render template ``name`` with the page context plus ``context``."""
    full = page_context(request)
    full.update(context or {})
    return templates().TemplateResponse(
        request, name, full, status_code=status_code, headers=dict(headers or {})
    )
