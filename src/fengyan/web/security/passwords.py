"""Password hashing with argon2id (pwdlib) and the password policy.

The policy follows OWASP ASVS 5.0 rather than composition rules: at least
``password_min_length`` characters (12 by default), at most 128, no required character
classes and no forced rotation (ASVS 6.2.5 and 6.2.10; GB/T 22239 asks for "complexity",
which a length floor meets — docs/web.md explains the choice).
"""

from __future__ import annotations

from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from fengyan.web.errors import BadRequest
from fengyan.web.settings import PASSWORD_MAX_LENGTH, WebSettings


@cache
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHash:
    return PasswordHash(
        (Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism),)
    )


def password_hasher(settings: WebSettings) -> PasswordHash:
    """The argon2id hasher with the configured cost."""
    return _hasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )


@cache
def _dummy_hash(time_cost: int, memory_kib: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_kib, parallelism).hash("fengyan-dummy-password")


def check_password_policy(settings: WebSettings, password: str) -> None:
    """Raise ``BadRequest`` if ``password`` is too short or too long."""
    if len(password) < settings.password_min_length:
        raise BadRequest("web_password_too_short", min=settings.password_min_length)
    if len(password) > PASSWORD_MAX_LENGTH:
        raise BadRequest("web_password_too_long", max=PASSWORD_MAX_LENGTH)


def hash_password(settings: WebSettings, password: str) -> str:
    """The argon2id PHC string for ``password`` (after checking the policy)."""
    check_password_policy(settings, password)
    return password_hasher(settings).hash(password)


def verify_password(
    settings: WebSettings, password: str, stored: str | None
) -> tuple[bool, str | None]:
    """Whether ``password`` matches ``stored``, and a new hash when the cost has changed.

    With no stored hash (unknown user, token-only account) a dummy hash is checked, so the
    answer takes as long as a real one and does not reveal which usernames exist.
    """
    hasher = password_hasher(settings)
    if stored is None or len(password) > PASSWORD_MAX_LENGTH:
        dummy = _dummy_hash(
            settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
        )
        hasher.verify(password[:PASSWORD_MAX_LENGTH], dummy)
        return False, None
    try:
        return hasher.verify_and_update(password, stored)
    except Exception:  # an unreadable stored hash must fail closed, not 500
        return False, None
