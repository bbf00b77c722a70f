"""The web's one small error hierarchy, each class mapped to an HTTP status.

Services and dependencies raise these; ``fengyan.web.app`` turns them into a JSON error
(``{"error": {"code", "message"}}``) under ``/api/`` and a generic error page elsewhere.
Messages are i18n codes (``i18n/messages/web_security.yaml``), rendered in the reader's
language; they never carry internal details.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fengyan.i18n import t


class WebError(Exception):
    """Base class: an HTTP status and a message code with its parameters."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "web_bad_request"

    def __init__(self, message_code: str | None = None, **params: Any) -> None:
        self.message_code = message_code or self.default_code
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str | None = None) -> str:
        """The message in ``lang``."""
        return t(self.message_code, lang, **self.params)

    @property
    def headers(self) -> dict[str, str]:
        """Extra response headers."""
        return {}


class BadRequest(WebError):
    """The request is malformed (400)."""


class NotAuthenticated(WebError):
    """No valid session or token (401; pages redirect to the login form instead)."""

    status = 401
    default_code = "web_not_authenticated"

    @property
    def headers(self) -> dict[str, str]:
        """RFC 6750: say how to authenticate."""
        return {"WWW-Authenticate": 'Bearer realm="fengyan"'}


class Forbidden(WebError):
    """Signed in, but the role lacks the permission (403)."""

    status = 403
    default_code = "web_forbidden"


class CsrfFailed(Forbidden):
    """An unsafe cookie-authenticated request without the session's CSRF token (403)."""

    default_code = "web_csrf_failed"


class NotFound(WebError):
    """No such object — or one outside the caller's jurisdiction (404, never 403)."""

    status = 404
    default_code = "web_not_found"


class Conflict(WebError):
    """The change conflicts with the current state (409)."""

    status = 409
    default_code = "web_conflict"


class PayloadTooLarge(WebError):
    """The body exceeds the configured limit (413)."""

    status = 413
    default_code = "web_payload_too_large"


class Unprocessable(WebError):
    """The request is well-formed but its content cannot be used (422)."""

    status = 422
    default_code = "web_unprocessable"


class RateLimited(WebError):
    """Too many requests from this client (429)."""

    status = 429
    default_code = "web_rate_limited"

    def __init__(self, retry_after: int = 60) -> None:
        super().__init__(seconds=retry_after)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        """When to try again."""
        return {"Retry-After": str(self.retry_after)}
