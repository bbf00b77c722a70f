"""A short-lived per-worker cache of who a session cookie or API token belongs to.

Looking a credential up costs a pool checkout and two or three database round trips per
request — on a cached page view, more than the page itself. Each worker therefore keeps
the principal it found for a credential for ``FENGYAN_WEB_AUTH_CACHE_SECONDS`` (default
5 s, 0 turns the cache off), keyed by the credential's SHA-256 digest (the secret itself is
never kept) and by database.

What keeps it honest:

* **invalidation in this process** — every change that takes a credential away (logout,
  revoked token, lock, lock-out after failed logins, disabled account, new password, role or
  scope change: :func:`~fengyan.web.security.sessions.end_user_sessions`,
  :func:`~fengyan.web.security.sessions.end_session` and ``do_revoke_token`` call
  :func:`forget_after_commit`) empties the cache of every app in the process once its
  transaction has committed;
* **a bound across processes** — another server worker (or the CLI) that changes an account
  is seen by this worker within ``auth_cache_seconds`` at the latest (docs/web.md);
* **the credential's own limits** — an entry never outlives the session's idle or absolute
  expiry or the token's expiry, on the clock the lookup used (``SOURCE_DATE_EPOCH`` too);
* **no negative entries** — an unknown, expired or refused credential is looked up again on
  every request, so a new login or token works at once;
* **no stale refill** — a lookup that started before an invalidation does not store what it
  read (a generation counter), so a read racing with a revocation cannot re-cache the
  revoked credential.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from fengyan import clock
from fengyan.web.scope import Principal

MAX_ENTRIES = 10_000
_PENDING = "fengyan_auth_forget"


@dataclass(frozen=True, slots=True)
class CachedAuth:
    """A credential's principal, and until when this worker may reuse it."""

    principal: Principal
    by_cookie: bool
    read_at: datetime  # clock.now() of the lookup
    valid_until: datetime  # clock time: min(lookup + ttl, the credential's own expiry)
    deadline: float  # time.monotonic() bound: lookup + ttl


class AuthCache:
    """Principals by (kind, credential digest) for one database, for a few seconds."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], CachedAuth] = {}
        self._lock = threading.Lock()
        self.generation = 0
        self.hits = 0
        self.misses = 0

    def get(self, kind: str, key: str) -> CachedAuth | None:
        """The entry for a credential if still valid now, else ``None``."""
        found = self._entries.get((kind, key))
        if found is None:
            self.misses += 1
            return None
        now = clock.now()
        if time.monotonic() >= found.deadline or not found.read_at <= now < found.valid_until:
            with self._lock:
                if self._entries.get((kind, key)) is found:
                    del self._entries[(kind, key)]
            self.misses += 1
            return None
        self.hits += 1
        return found

    def put(self, kind: str, key: str, entry: CachedAuth, generation: int) -> None:
        """Keep ``entry`` unless the cache was invalidated since ``generation`` was read."""
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[(kind, key)] = entry

    def clear(self) -> None:
        """Forget every entry; lookups already under way will not store theirs."""
        with self._lock:
            self.generation += 1
            self._entries.clear()


def entry(
    principal: Principal,
    by_cookie: bool,
    seconds: int,
    read_at: datetime,
    expires: datetime,
) -> CachedAuth:
    """An entry for a lookup made at ``read_at`` of a credential valid until ``expires``."""
    return CachedAuth(
        principal,
        by_cookie,
        read_at,
        min(read_at + timedelta(seconds=seconds), expires),
        time.monotonic() + seconds,
    )


_CACHES: weakref.WeakKeyDictionary[Engine, AuthCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def auth_cache(engine: Engine) -> AuthCache:
    """The process's cache for ``engine``'s database."""
    found = _CACHES.get(engine)
    if found is not None:
        return found
    with _CACHES_LOCK:
        found = _CACHES.get(engine)
        if found is None:
            found = _CACHES[engine] = AuthCache()
        return found


def forget_all() -> None:
    """Empty every app's cache in this process (an account or credential changed)."""
    with _CACHES_LOCK:
        caches = list(_CACHES.values())
    for cache in caches:
        cache.clear()


def forget_after_commit(db: Session) -> None:
    """Empty the caches now and again once ``db``'s transaction has committed.

    Now: this process stops answering from memory at once. After the commit: a lookup that
    read the old rows while the change was not yet committed cannot have stored them.
    """
    db.info[_PENDING] = True
    forget_all()


@event.listens_for(Session, "after_commit")
def _after_commit(db: Session) -> None:
    if db.info.pop(_PENDING, False):
        forget_all()


@event.listens_for(Session, "after_rollback")
def _after_rollback(db: Session) -> None:
    db.info.pop(_PENDING, None)
