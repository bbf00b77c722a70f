"""CSRF protection for cookie-authenticated requests.

A browser sends the session cookie with every request to our origin, so a form on another
site could make it act. Every unsafe request (POST, PUT, PATCH, DELETE) that is
authenticated by the session cookie must therefore carry the session's CSRF secret, in the
``X-CSRF-Token`` header (htmx sends it: ``base.html`` sets ``hx-headers``) or in a
``csrf_token`` form field. Requests authenticated by ``Authorization: Bearer`` carry no
ambient credential and need no token. ``SameSite=Lax`` cookies and the ``Origin`` check
below are further layers, not the defence itself.

The login form has no session yet: it uses a double-submit token (a random value in a
short-lived cookie and in the form) so that nobody can sign a victim's browser in to an
account of theirs (login CSRF).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request

from fengyan.web.errors import CsrfFailed
from fengyan.web.security.secrets import same

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADER = "X-CSRF-Token"
FORM_FIELD = "csrf_token"


def origin_ok(request: Request) -> bool:
    """False when the request names an ``Origin`` (or ``Referer``) of another host.

    Browsers send ``Origin`` on cross-site POSTs; a request without either header (curl,
    old browsers) is left to the token check.
    """
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return source != "null"
    host = request.headers.get("host", "")
    return urlsplit(source).netloc.lower() == host.lower()


async def submitted_token(request: Request) -> str | None:
    """The CSRF token sent with the request: the header, else the form field."""
    header = request.headers.get(HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(FORM_FIELD)
        return value if isinstance(value, str) else None
    return None


async def check_csrf(request: Request, expected: str | None) -> None:
    """Raise :class:`CsrfFailed` unless an unsafe request carries ``expected``."""
    if request.method not in UNSAFE_METHODS:
        return
    if not origin_ok(request) or not same(await submitted_token(request), expected):
        raise CsrfFailed()
