"""One function per account change, and the login itself.

Each ``do_*`` function writes its change and its audit entry in the caller's session and
commits them together (zulip's ``actions`` pattern): the CLI (``fengyan user …``) and the
admin API call the same functions. ``actor`` is who acts: a username, or ``cli:<os user>``
for the command line.

``within`` (a scope prefix) limits an administrator to accounts inside their own
jurisdiction: an account outside it is answered as unknown (``NotFound``), and a scope
outside it cannot be assigned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from fengyan import clock
from fengyan.db.users import ApiToken, WebUser
from fengyan.standards.regions import UnknownRegionError
from fengyan.web.audit_hook import record
from fengyan.web.errors import BadRequest, Conflict, NotAuthenticated, NotFound
from fengyan.web.policy import load_policy
from fengyan.web.scope import Principal, scope_code
from fengyan.web.security.authcache import forget_after_commit
from fengyan.web.security.passwords import hash_password, verify_password
from fengyan.web.security.secrets import API_TOKEN_PREFIX, digest, new_token
from fengyan.web.security.sessions import (
    NewSession,
    create_session,
    end_session,
    end_user_sessions,
    user_is_usable,
)
from fengyan.web.settings import WebSettings

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# A manual lock lasts until someone unlocks the account.
MANUAL_LOCK = timedelta(days=365 * 100)
TOKEN_TOUCH_EVERY = timedelta(minutes=5)


class LoginFailed(NotAuthenticated):
    """Wrong username or password, or a locked or disabled account — one answer for all,
    so the form does not tell which accounts exist or are locked."""

    default_code = "web_login_failed"


def principal_for(user: WebUser, via: str, csrf_token: str | None = None) -> Principal:
    """The request principal for ``user`` (role permissions and masking from the policy)."""
    return Principal.for_role(
        user.username, user.role, user.scope, display_name=user.display_name, user_id=user.id,
        via=via, csrf_token=csrf_token,
    )  # fmt: skip


# --- reading ------------------------------------------------------------------------------


def get_user(db: Session, username: str, within: str | None = None) -> WebUser:
    """The account called ``username``; ``NotFound`` if absent or outside ``within``."""
    user = db.scalar(select(WebUser).where(WebUser.username == username.strip().lower()))
    if user is None or (within is not None and not user.scope.startswith(within)):
        # On the web the answer is the generic one, whether absent or outside the scope.
        raise NotFound() if within is not None else NotFound("web_user_unknown", username=username)
    return user


def list_users(db: Session, within: str | None = None) -> list[WebUser]:
    """Every account (inside ``within``), by username."""
    query = select(WebUser).order_by(WebUser.username)
    if within is not None:
        query = query.where(WebUser.scope.startswith(within, autoescape=True))
    return list(db.scalars(query))


def list_tokens(db: Session, user: WebUser) -> list[ApiToken]:
    """The API tokens of ``user``, newest first."""
    return list(
        db.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc()))
    )


# --- validation ---------------------------------------------------------------------------


def _check_role(role: str) -> str:
    if role not in load_policy().roles:
        raise BadRequest("web_unknown_role", role=role, roles=", ".join(load_policy().roles))
    return role


def _check_scope(scope: str, within: str | None) -> str:
    try:
        prefix = scope_code(scope)
    except UnknownRegionError:
        raise BadRequest("web_bad_region", value=scope) from None
    if within is not None and not prefix.startswith(within):
        raise NotFound("web_region_outside", value=scope)
    return prefix


# --- account changes ----------------------------------------------------------------------


def do_create_user(
    db: Session,
    settings: WebSettings,
    *,
    actor: str,
    username: str,
    role: str,
    scope: str,
    password: str | None,
    display_name: str | None = None,
    within: str | None = None,
) -> WebUser:
    """Create an account; ``password=None`` makes a token-only (machine) account."""
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise BadRequest("web_bad_username", username=username)
    shown = (display_name or name).strip()
    if not shown or len(shown) > 200:
        raise BadRequest("web_bad_display_name")
    _check_role(role)
    prefix = _check_scope(scope, within)
    if db.scalar(select(WebUser.id).where(WebUser.username == name)) is not None:
        raise Conflict("web_user_exists", username=name)
    now = clock.now()
    user = WebUser(
        username=name,
        display_name=shown,
        password_hash=None if password is None else hash_password(settings, password),
        role=role,
        scope=prefix,
        failed_attempts=0,
        active=True,
        created_at=now,
        updated_at=now,
    )
    db.add(user)
    db.flush()
    record(db, actor, "user.create", f"user/{name}",
           {"role": role, "scope": prefix, "password": password is not None})  # fmt: skip
    db.commit()
    return user


def do_set_role(db: Session, *, actor: str, user: WebUser, role: str) -> None:
    """Give ``user`` another role; their sessions end (permissions changed)."""
    _check_role(role)
    if role == user.role:
        return
    before = user.role
    user.role, user.updated_at = role, clock.now()
    end_user_sessions(db, user.id)
    record(db, actor, "user.role_grant", f"user/{user.username}", {"from": before, "to": role})
    db.commit()


def do_set_scope(
    db: Session, *, actor: str, user: WebUser, scope: str, within: str | None = None
) -> None:
    """Move ``user`` to another jurisdiction; their sessions end."""
    prefix = _check_scope(scope, within)
    if prefix == user.scope:
        return
    before = user.scope
    user.scope, user.updated_at = prefix, clock.now()
    end_user_sessions(db, user.id)
    record(db, actor, "user.scope_change", f"user/{user.username}", {"from": before, "to": prefix})
    db.commit()


def do_set_active(db: Session, *, actor: str, user: WebUser, active: bool) -> None:
    """Enable or disable an account; disabling ends its sessions."""
    if user.active == active:
        return
    user.active, user.updated_at = active, clock.now()
    if not active:
        end_user_sessions(db, user.id)
    record(db, actor, "user.enable" if active else "user.disable", f"user/{user.username}")
    db.commit()


def do_set_password(db: Session, settings: WebSettings, *, actor: str, user: WebUser,
                    password: str) -> None:  # fmt: skip
    """Set a new password; every session of the account ends."""
    user.password_hash = hash_password(settings, password)
    user.updated_at = clock.now()
    end_user_sessions(db, user.id)
    record(db, actor, "auth.password_change", f"user/{user.username}")
    db.commit()


def do_lock_user(db: Session, *, actor: str, user: WebUser) -> None:
    """Lock an account until it is unlocked; its sessions end."""
    now = clock.now()
    user.locked_until, user.updated_at = now + MANUAL_LOCK, now
    end_user_sessions(db, user.id)
    record(db, actor, "user.lock", f"user/{user.username}")
    db.commit()


def do_unlock_user(db: Session, *, actor: str, user: WebUser) -> None:
    """Lift a lock (manual or after failed logins) and reset the failure count."""
    user.locked_until, user.failed_attempts, user.updated_at = None, 0, clock.now()
    record(db, actor, "user.unlock", f"user/{user.username}")
    db.commit()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just issued: the secret (shown once, never stored) and its row."""

    token: str
    row: ApiToken


def do_issue_token(
    db: Session,
    settings: WebSettings,
    *,
    actor: str,
    user: WebUser,
    label: str,
    days: int | None = None,
) -> IssuedToken:
    """Issue an API token for ``user``; the secret is returned once and stored as a digest."""
    label = label.strip() or "api"
    if len(label) > 100:
        raise BadRequest("web_bad_token_label")
    lifetime = days or settings.token_days
    if lifetime < 1:
        raise BadRequest("web_bad_token_days")
    now = clock.now()
    token = new_token(API_TOKEN_PREFIX)
    row = ApiToken(
        user_id=user.id,
        label=label,
        token_hash=digest(token),
        prefix=token[:10],
        created_at=now,
        expires_at=now + timedelta(days=lifetime),
    )
    db.add(row)
    db.flush()
    record(db, actor, "user.token_issue", f"user/{user.username}",
           {"token_id": row.id, "label": label, "days": lifetime})  # fmt: skip
    db.commit()
    return IssuedToken(token, row)


def do_revoke_token(db: Session, *, actor: str, user: WebUser, token_id: int) -> None:
    """Revoke one of ``user``'s tokens."""
    row = db.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("web_token_unknown", token_id=token_id)
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        record(db, actor, "user.token_revoke", f"user/{user.username}", {"token_id": token_id})
        forget_after_commit(db)
    db.commit()


# --- signing in and out -------------------------------------------------------------------


def _fail(db: Session, actor: str, username: str, reason: str, client: str) -> LoginFailed:
    record(db, actor, "auth.login_failed", f"user/{username}", {"reason": reason, "client": client})
    db.commit()
    return LoginFailed()


def authenticate(
    db: Session,
    settings: WebSettings,
    username: str,
    password: str,
    *,
    client: str,
    old_session: str | None = None,
) -> tuple[WebUser, NewSession]:
    """Check a login and open a session; raise :class:`LoginFailed` otherwise.

    Failures are counted per account: after ``lockout_threshold`` in a row the account is
    locked for ``lockout_minutes`` (recorded as ``auth.lockout``); while locked even the
    right password is refused. Success resets the count, upgrades the hash if the cost
    settings changed, and replaces any session the browser already had (no fixation).
    """
    name = username.strip().lower()[:64] or "-"
    user = db.scalar(select(WebUser).where(WebUser.username == name))
    now = clock.now()
    if user is not None:
        db.expunge(user)  # read once; every change below is an UPDATE of the row
    # End the read before the password check (tens of ms) and the writes: on SQLite a
    # transaction that read and then writes fails at once ("database is locked") when
    # another connection wrote meanwhile, while one that starts with its write waits for
    # the lock. Concurrent logins of one account (several workers) must all be counted.
    db.commit()
    if user is None:
        verify_password(settings, password, None)
        raise _fail(db, name, name, "unknown_user", client)
    if not user.active or user.password_hash is None:
        verify_password(settings, password, None)
        raise _fail(db, name, name, "inactive" if not user.active else "no_password", client)
    if not user_is_usable(user, now):
        verify_password(settings, password, None)
        raise _fail(db, name, name, "locked", client)
    ok, new_hash = verify_password(settings, password, user.password_hash)
    if not ok:
        # One atomic UPDATE … SET failed_attempts = failed_attempts + 1: concurrent failures
        # (several workers, several threads) each count, none overwrites another's.
        failures = _count_failure(db, user)
        failed = {"reason": "bad_password", "client": client}
        record(db, name, "auth.login_failed", f"user/{name}", failed)
        if failures >= settings.lockout_threshold:
            # A fresh count after the lock, so an expired lock gives a full set of tries.
            _set_counter(db, user, locked_until=now + settings.lockout)
            locked = {"failures": failures, "minutes": settings.lockout_minutes}
            record(db, name, "auth.lockout", f"user/{name}", locked)
            end_user_sessions(db, user.id)
        db.commit()
        raise LoginFailed()
    # Success: reset the count, note the login, upgrade the hash — only if the account is
    # still usable now (a lock or lock-out may have committed since it was read).
    changes: dict[str, object] = {"failed_attempts": 0, "locked_until": None, "last_login_at": now}
    if new_hash is not None:
        changes["password_hash"] = new_hash
    still_usable = db.execute(
        update(WebUser)
        .where(
            WebUser.id == user.id,
            WebUser.active.is_(True),
            (WebUser.locked_until.is_(None)) | (WebUser.locked_until <= now),
        )
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if getattr(still_usable, "rowcount", 1) != 1:
        db.rollback()
        raise _fail(db, name, name, "locked", client)
    for field, value in changes.items():
        set_committed_value(user, field, value)
    end_session(db, old_session)
    session = create_session(db, settings, user)
    record(db, name, "auth.login", f"user/{name}", {"client": client})
    db.commit()
    return user, session


def _count_failure(db: Session, user: WebUser) -> int:
    """Add one to the account's failure count in the database; the new count."""
    failures = int(
        db.execute(
            update(WebUser)
            .where(WebUser.id == user.id)
            .values(failed_attempts=WebUser.failed_attempts + 1)
            .returning(WebUser.failed_attempts)
            .execution_options(synchronize_session=False)
        ).scalar_one()
    )
    set_committed_value(user, "failed_attempts", failures)
    return failures


def _set_counter(db: Session, user: WebUser, *, locked_until: datetime | None) -> None:
    """Reset the failure count to 0 and set the lock, as one UPDATE (not through the loaded
    object, whose count may be stale: the ORM would skip writing an unchanged-looking 0)."""
    db.execute(
        update(WebUser)
        .where(WebUser.id == user.id)
        .values(failed_attempts=0, locked_until=locked_until)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(user, "failed_attempts", 0)
    set_committed_value(user, "locked_until", locked_until)


def do_logout(db: Session, token: str | None, *, actor: str) -> None:
    """End the browser session behind ``token``."""
    user_id = end_session(db, token)
    if user_id is not None:
        record(db, actor, "auth.logout", f"user/{actor}")
    db.commit()


def lookup_token(db: Session, token: str | None) -> tuple[Principal, datetime] | None:
    """The principal behind an API bearer token and the token's expiry, or ``None`` if
    unknown, expired or revoked, or its account is disabled or locked."""
    if not token or not token.startswith(API_TOKEN_PREFIX) or len(token) > 200:
        return None
    row = db.execute(
        select(ApiToken, WebUser)
        .join(WebUser, WebUser.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest(token))
    ).first()
    if row is None:
        return None
    api_token, user = row
    now = clock.now()
    if api_token.revoked_at is not None or api_token.expires_at <= now:
        return None
    if not user_is_usable(user, now):
        return None
    principal, expires = principal_for(user, "token"), api_token.expires_at
    if api_token.last_used_at is None or now - api_token.last_used_at >= TOKEN_TOUCH_EVERY:
        # A new transaction that starts with its write (SQLite: a read transaction that
        # then writes fails at once when another connection wrote meanwhile).
        token_id = api_token.id
        db.commit()
        db.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        db.commit()
    return principal, expires


def principal_from_token(db: Session, token: str | None) -> Principal | None:
    """The principal behind an API bearer token, or ``None`` if unknown, expired or revoked."""
    found = lookup_token(db, token)
    return found[0] if found is not None else None


def token_expired(row: ApiToken, now: datetime | None = None) -> bool:
    """Whether a token can no longer be used (revoked or past its expiry)."""
    moment = now or clock.now()
    return row.revoked_at is not None or row.expires_at <= moment
