"""Settings of the web workbench in one typed object, read from ``FENGYAN_WEB_*``.

Validated once at start-up (``WebSettings.from_env``); docs/web.md carries the same table.

=================================== ========= ==============================================
variable                            default   meaning
=================================== ========= ==============================================
``FENGYAN_WEB_HOST``                127.0.0.1 address ``fengyan serve`` listens on
``FENGYAN_WEB_PORT``                8000      port ``fengyan serve`` listens on
``FENGYAN_WEB_WORKERS``             0         server processes; 0: one per CPU core the
                                              process may use (``--workers`` overrides)
``FENGYAN_WEB_SECURE_COOKIES``      1         mark cookies ``Secure`` and send HSTS (set 0
                                              only for plain-HTTP tests on a closed host)
``FENGYAN_WEB_SESSION_IDLE_MIN``    30        a session ends after this many idle minutes
``FENGYAN_WEB_SESSION_MAX_HOURS``   12        … and at the latest this many hours after login
``FENGYAN_WEB_LOCKOUT_THRESHOLD``   5         failed logins in a row that lock an account
``FENGYAN_WEB_LOCKOUT_MIN``         15        how long a lock-out lasts (``user unlock`` ends
                                              it early)
``FENGYAN_WEB_LOGIN_RATE``          20        login attempts per minute per client address
``FENGYAN_WEB_PUBLIC_RATE``         60        public risk-check requests per minute per
                                              client address
``FENGYAN_WEB_TRUST_PROXY``         0         take the client address from
                                              ``X-Forwarded-For`` (only behind a proxy that
                                              sets it)
``FENGYAN_WEB_PASSWORD_MIN``        12        shortest password accepted (no composition
                                              rules: ASVS 5.0 6.2.5)
``FENGYAN_WEB_TOKEN_DAYS``          90        lifetime of a new API token
``FENGYAN_WEB_PUSH_MAX_MB``         100       largest JSON Lines body the push endpoint takes
``FENGYAN_WEB_AUTH_CACHE_SECONDS``  5         each worker reuses a session's or token's
                                              lookup this long (0: off, at most 60); a
                                              logout, revocation or lock made through
                                              another worker applies here within it
``FENGYAN_WEB_ARGON2_TIME``         3         argon2id passes
``FENGYAN_WEB_ARGON2_MEMORY_KIB``   65536     argon2id memory (KiB)
``FENGYAN_WEB_ARGON2_PARALLELISM``  4         argon2id lanes
=================================== ========= ==============================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

PASSWORD_MAX_LENGTH = 128
# A cached session must be looked up again before its once-a-minute "last seen" touch is due.
MAX_AUTH_CACHE_SECONDS = 60  # ASVS 6.2.9 wants at least 64 allowed; argon2 takes any length


@dataclass(frozen=True)
class WebSettings:
    """Everything the web app and ``fengyan serve`` can be tuned with."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 0
    secure_cookies: bool = True
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    lockout_threshold: int = 5
    lockout_minutes: int = 15
    login_rate_per_minute: int = 20
    public_rate_per_minute: int = 60
    trust_proxy: bool = False
    password_min_length: int = 12
    token_days: int = 90
    push_max_mb: int = 100
    auth_cache_seconds: int = 5
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    threads: int = 8
    access_log: bool = False

    def __post_init__(self) -> None:
        for name in (
            "port",
            "session_idle_minutes",
            "session_max_hours",
            "lockout_threshold",
            "lockout_minutes",
            "login_rate_per_minute",
            "public_rate_per_minute",
            "password_min_length",
            "token_days",
            "push_max_mb",
            "argon2_time_cost",
            "argon2_parallelism",
            "threads",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"web setting {name} must be a positive integer")
        if not 0 <= self.auth_cache_seconds <= MAX_AUTH_CACHE_SECONDS:
            raise ValueError(f"web setting auth_cache_seconds must be 0…{MAX_AUTH_CACHE_SECONDS}")
        if self.workers < 0:
            raise ValueError("web setting workers must be 0 (one per core) or more")
        if self.argon2_memory_kib < 8 * self.argon2_parallelism:
            raise ValueError("web setting argon2_memory_kib must be at least 8 × parallelism")
        if not 8 <= self.password_min_length <= PASSWORD_MAX_LENGTH:
            raise ValueError(f"web setting password_min_length must be 8…{PASSWORD_MAX_LENGTH}")

    @property
    def worker_count(self) -> int:
        """Server processes to run: the setting, or one per CPU core this process may use."""
        if self.workers:
            return self.workers
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)

    @property
    def session_idle(self) -> timedelta:
        """Idle time after which a session is no longer accepted."""
        return timedelta(minutes=self.session_idle_minutes)

    @property
    def session_max(self) -> timedelta:
        """Absolute lifetime of a session."""
        return timedelta(hours=self.session_max_hours)

    @property
    def lockout(self) -> timedelta:
        """How long a lock-out lasts."""
        return timedelta(minutes=self.lockout_minutes)

    @property
    def push_max_bytes(self) -> int:
        """Largest push body in bytes."""
        return self.push_max_mb * 1024 * 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebSettings:
        """Read ``FENGYAN_WEB_*`` variables; a malformed value raises ``ValueError`` naming it."""
        env = os.environ if environ is None else environ

        def integer(name: str, default: int) -> int:
            raw = env.get(f"FENGYAN_WEB_{name}")
            if raw is None or raw.strip() == "":
                return default
            try:
                return int(raw)
            except ValueError:
                raise ValueError(f"FENGYAN_WEB_{name} must be an integer, not {raw!r}") from None

        def flag(name: str, default: bool) -> bool:
            raw = env.get(f"FENGYAN_WEB_{name}")
            if raw is None or raw.strip() == "":
                return default
            value = raw.strip().lower()
            if value in ("1", "true", "yes", "on"):
                return True
            if value in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"FENGYAN_WEB_{name} must be 0 or 1, not {raw!r}")

        return cls(
            host=env.get("FENGYAN_WEB_HOST") or "127.0.0.1",
            port=integer("PORT", 8000),
            workers=integer("WORKERS", 0),
            secure_cookies=flag("SECURE_COOKIES", True),
            session_idle_minutes=integer("SESSION_IDLE_MIN", 30),
            session_max_hours=integer("SESSION_MAX_HOURS", 12),
            lockout_threshold=integer("LOCKOUT_THRESHOLD", 5),
            lockout_minutes=integer("LOCKOUT_MIN", 15),
            login_rate_per_minute=integer("LOGIN_RATE", 20),
            public_rate_per_minute=integer("PUBLIC_RATE", 60),
            trust_proxy=flag("TRUST_PROXY", False),
            password_min_length=integer("PASSWORD_MIN", 12),
            token_days=integer("TOKEN_DAYS", 90),
            push_max_mb=integer("PUSH_MAX_MB", 100),
            auth_cache_seconds=integer("AUTH_CACHE_SECONDS", 5),
            argon2_time_cost=integer("ARGON2_TIME", 3),
            argon2_memory_kib=integer("ARGON2_MEMORY_KIB", 65536),
            argon2_parallelism=integer("ARGON2_PARALLELISM", 4),
            threads=integer("THREADS", 8),
            access_log=flag("ACCESS_LOG", False),
        )
