"""Web users, their server-side sessions and their API tokens (migration 0005).

Written only through :mod:`fengyan.web.security.accounts` (users, tokens) and
:mod:`fengyan.web.security.sessions` (sessions), which record every change in the audit
log in the same transaction. Secrets are never stored: passwords as argon2id hashes,
session and API tokens as SHA-256 digests of high-entropy random strings.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fengyan.db.models import Base
from fengyan.db.types import UTCDateTime


class WebUser(Base):
    """A person (or an agency's machine client) who signs in to the workbench or API."""

    __tablename__ = "web_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    # argon2id PHC string; None for token-only accounts (no password login possible).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    # The jurisdiction: a region's significant prefix (2, 4, 6, 9 or 12 digits).
    scope: Mapped[str] = mapped_column(String(12), nullable=False)
    failed_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A signed-in browser: only the digest of its cookie token is kept."""

    __tablename__ = "web_session"

    # SHA-256 hex of the cookie token: a stolen database does not yield live cookies.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("web_user.id", ondelete="CASCADE"), nullable=False
    )
    # Per-session CSRF secret, echoed by pages in a meta tag and sent back in a header/form.
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (Index("ix_web_session_user", "user_id"),)


class ApiToken(Base):
    """A bearer token for a machine client, bound to one user (and so to a role and scope)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("web_user.id", ondelete="CASCADE"), nullable=False
    )
    label: Mapped[str] = mapped_column(String(100), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    # The first characters of the token, to tell tokens apart in listings.
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_api_token_user", "user_id"),)
