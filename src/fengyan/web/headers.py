"""Security headers on every response (a plain ASGI middleware: no per-request overhead of
Starlette's ``BaseHTTPMiddleware``).

The Content-Security-Policy allows scripts, styles, fonts and connections from our own
origin only — every asset (ECharts, htmx, Swagger UI, map boundaries) is served by the app
itself, so a closed network loses nothing and an injected ``<script>`` or a CDN URL does
not run. Pages must not use inline scripts or ``style="…"`` attributes; ``base.html``
turns off htmx's injected indicator style for the same reason.

Responses other than static files get ``Cache-Control: no-store``: pages and API answers
may hold personal data, which must not stay in shared or browser caches.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
STATIC_PREFIX = "/static/"


def security_headers(secure: bool) -> list[tuple[str, str]]:
    """The headers added to every response."""
    headers = [
        ("Content-Security-Policy", CSP),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
    ]
    if secure:
        headers.append(("Strict-Transport-Security", "max-age=31536000"))
    return headers


class SecurityHeadersMiddleware:
    """Adds :func:`security_headers` (a route may set its own CSP, e.g. ``/docs``)."""

    def __init__(self, app: ASGIApp, secure: bool) -> None:
        self.app = app
        self.headers = security_headers(secure)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap ``send`` to add the headers to the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith(STATIC_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers:
                    if name not in headers:
                        headers.append(name, value)
                if not static and "cache-control" not in headers:
                    headers.append("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
