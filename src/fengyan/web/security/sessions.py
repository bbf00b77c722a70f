"""Server-side browser sessions.

The cookie holds a random token; the database holds only its SHA-256 digest, the user,
a per-session CSRF secret and three times: created, last seen, absolute expiry. A session
is accepted while it is younger than ``session_max`` and was seen within ``session_idle``,
its user is active and not locked. ``last_seen_at`` is written at most once a minute so
that reading pages does not turn every request into a database write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from fengyan import clock
from fengyan.db.users import WebSession, WebUser
from fengyan.web.security.authcache import forget_after_commit
from fengyan.web.security.secrets import digest, new_token
from fengyan.web.settings import WebSettings

TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just created: the cookie token (shown once) and its CSRF secret."""

    token: str
    csrf_token: str
    expires_at: datetime


def create_session(db: Session, settings: WebSettings, user: WebUser) -> NewSession:
    """Add a session for ``user`` to ``db`` (the caller commits)."""
    now = clock.now()
    token = new_token()
    csrf = new_token()
    expires = now + settings.session_max
    db.add(
        WebSession(
            id=digest(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=expires,
        )
    )
    return NewSession(token, csrf, expires)


def user_is_usable(user: WebUser, now: datetime) -> bool:
    """Active and not locked at ``now``."""
    return user.active and (user.locked_until is None or user.locked_until <= now)


def lookup_session(
    db: Session, settings: WebSettings, token: str | None
) -> tuple[WebSession, WebUser] | None:
    """The live session for a cookie token and its user, or ``None``.

    Expired sessions found this way are deleted; a live one is touched (and committed) when
    it was last seen more than a minute ago.
    """
    if not token or len(token) > 200:
        return None
    row = db.execute(
        select(WebSession, WebUser)
        .join(WebUser, WebUser.id == WebSession.user_id)
        .where(WebSession.id == digest(token))
    ).first()
    if row is None:
        return None
    session, user = row
    now = clock.now()
    # Writes below start a new transaction (SQLite: a read transaction that then writes
    # fails at once when another connection wrote meanwhile); the rows read stay usable.
    if session.expires_at <= now or session.last_seen_at + settings.session_idle <= now:
        db.expunge_all()
        db.commit()
        db.execute(delete(WebSession).where(WebSession.id == session.id))
        db.commit()
        return None
    if not user_is_usable(user, now):
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        db.expunge_all()
        db.commit()
        db.execute(
            update(WebSession)
            .where(WebSession.id == session.id)
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
        db.commit()
        session.last_seen_at = now  # detached: only this copy
    return session, user


def session_valid_until(settings: WebSettings, session: WebSession) -> datetime:
    """When ``session`` ends unless seen again: its absolute expiry or idle limit."""
    return min(session.expires_at, session.last_seen_at + settings.session_idle)


def end_session(db: Session, token: str | None) -> int | None:
    """Delete the session behind a cookie token; returns its user id (the caller commits)."""
    if not token:
        return None
    found = db.get(WebSession, digest(token))
    if found is None:
        return None
    user_id = found.user_id
    db.delete(found)
    forget_after_commit(db)
    return user_id


def end_user_sessions(db: Session, user_id: int) -> None:
    """Delete every session of a user (lock, disable, role or scope change).

    Also what makes each worker's authentication cache forget the user's sessions and
    tokens (:mod:`fengyan.web.security.authcache`) once the change commits.
    """
    db.execute(delete(WebSession).where(WebSession.user_id == user_id))
    forget_after_commit(db)


def purge_expired(db: Session, settings: WebSettings) -> int:
    """Delete sessions past their absolute expiry or idle limit; returns how many."""
    now = clock.now()
    result = db.execute(
        delete(WebSession).where(
            (WebSession.expires_at <= now)
            | (WebSession.last_seen_at <= now - settings.session_idle)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
