"""The one Jinja2 environment of the web app, and ``render`` for pages.

Autoescaping is on for EVERY template and for templates made from strings
(``select_autoescape(default=True, default_for_string=True)``): Starlette's default only
escapes ``.html``/``.htm``/``.xml`` names, so a ``.j2`` or ``.txt`` template would print a
firm name like ``<script>`` as markup.

Every page gets in its context: ``request``, ``lang`` (zh/en), ``t`` (the i18n function
bound to ``lang``: ``{{ t("web_login_title") }}``), ``principal`` (the signed-in user, or
the anonymous principal), ``csrf_token`` (the session's, or the login form's) and
``other_lang`` and ``role_label``.

The busiest pages (the enterprise profile, the warning list) render their body once per
cache key of the data they show (:func:`cached_fragment`) and only the layout around it —
navigation, the reader's name, the CSRF token — per request. Templates are package files:
they are not re-checked for changes on every render (``auto_reload=False``).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from jinja2.filters import do_urlencode
from markupsafe import Markup
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
        auto_reload=False,
    )
    env.globals["languages"] = ("zh", "en")
    env.filters["urlencode"] = urlencode
    return env


# What ``urllib.parse.quote(..., safe="/")`` leaves as it is.
_URL_PLAIN = re.compile(r"[A-Za-z0-9_.~/-]*")


def urlencode(value: Any) -> str:
    """Jinja's ``urlencode`` filter, answering ids that need no quoting without quoting them.

    A profile quotes a firm id, record keys and member ids once per link (about a hundred
    per page); most are plain ASCII, which ``quote`` would return unchanged.
    """
    if isinstance(value, str) and _URL_PLAIN.fullmatch(value):
        return value
    return str(do_urlencode(value))


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


def render_fragment(request: Request, name: str, context: Mapping[str, Any]) -> Markup:
    """Template ``name`` rendered with the page context plus ``context``, as safe markup."""
    full = page_context(request)
    full.update(context)
    # The template is autoescaped: its output is safe markup to embed in the layout.
    return Markup(templates().env.get_template(name).render(full))


class FragmentCache:
    """Rendered page bodies, least recently used first out, bounded by their total size."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, Markup] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Markup | None:
        """The body cached under ``key``, if any."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, body: Markup) -> None:
        """Keep ``body`` under ``key`` (dropping the oldest beyond the budget)."""
        size = len(body) * 2  # str in memory: 1–4 bytes per character, CJK pages mostly 2
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old) * 2
            self._items[key] = body
            self._bytes += size
            while self._bytes > self.max_bytes and self._items:
                _k, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped) * 2

    def clear(self) -> None:
        """Forget every body."""
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)


@cache
def fragment_cache() -> FragmentCache:
    """The process's cache of rendered bodies (``page_cache_mb`` of the services settings)."""
    from fengyan.web.services.config import service_settings

    return FragmentCache(int(service_settings().page_cache_mb * 1024 * 1024))


def cached_fragment(
    request: Request,
    name: str,
    key: tuple[Any, ...],
    context: Callable[[], Mapping[str, Any]],
) -> Markup:
    """Template ``name`` for data identified by ``key``, rendered once per key and language.

    ``key`` must name everything the body depends on besides the language (the data's own
    cache key: run, lake generation, scope, masking …); an empty key is never cached. The
    body must not use the reader's identity or CSRF token (those belong to the layout).
    """
    if not key:
        return render_fragment(request, name, context())
    full_key = (name, language_of(request), key)
    store = fragment_cache()
    body = store.get(full_key)
    if body is None:
        body = render_fragment(request, name, context())
        store.put(full_key, body)
    return body
