"""Random tokens (session cookies, API tokens, CSRF secrets) and their stored digests.

Tokens carry 256 bits from :mod:`secrets`; only their SHA-256 digest is stored, which is
enough for high-entropy secrets (a slow hash protects guessable passwords, not these).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

API_TOKEN_PREFIX = "fy_"


def new_token(prefix: str = "") -> str:
    """A fresh URL-safe random token (43 characters of base64 after ``prefix``)."""
    return prefix + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two secrets; ``None`` never matches."""
    if not a or not b:
        return False
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )
