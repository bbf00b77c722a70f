"""Account administration: ``/api/v1/admin/users…`` and the ``/admin/users`` page.

Needs ``manage_users``. An administrator sees and changes only accounts inside their own
jurisdiction and assigns only scopes inside it; others answer 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from fengyan import clock
from fengyan.db.users import WebUser
from fengyan.web.deps import DbSession, Lang, ManageUsers, Pagination, SettingsDep
from fengyan.web.errors import NotFound
from fengyan.web.security import accounts
from fengyan.web.templating import render

router = APIRouter()


class UserOut(BaseModel):
    """An account as administrators see it (never its password hash)."""

    username: str
    display_name: str
    role: str
    scope: str
    active: bool
    locked: bool
    locked_until: datetime | None
    failed_attempts: int
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: WebUser) -> UserOut:
        """From the database row."""
        now = clock.now()
        return cls(
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            scope=user.scope,
            active=user.active,
            locked=user.locked_until is not None and user.locked_until > now,
            locked_until=user.locked_until,
            failed_attempts=user.failed_attempts,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


class UserPage(BaseModel):
    """One page of accounts."""

    items: list[UserOut]
    page: int
    size: int
    total: int


class UserCreate(BaseModel):
    """A new account; without ``password`` it can only use API tokens."""

    username: str = Field(min_length=2, max_length=64)
    display_name: str | None = Field(default=None, max_length=200)
    role: str = Field(max_length=32)
    scope: str = Field(max_length=12)
    password: str | None = Field(default=None, max_length=1024)


class UserChange(BaseModel):
    """Fields to change; absent fields stay as they are."""

    role: str | None = Field(default=None, max_length=32)
    scope: str | None = Field(default=None, max_length=12)
    active: bool | None = None


@router.get("/api/v1/admin/users", tags=["admin"])
def list_users(db: DbSession, who: ManageUsers, page: Pagination) -> UserPage:
    """Accounts inside the caller's jurisdiction, by username."""
    users = accounts.list_users(db, within=who.scope)
    chunk = users[page.offset : page.offset + page.size]
    return UserPage(items=[UserOut.of(u) for u in chunk], page=page.page, size=page.size,
                    total=len(users))  # fmt: skip


@router.post("/api/v1/admin/users", tags=["admin"], status_code=201)
def create_user(
    body: UserCreate, db: DbSession, settings: SettingsDep, who: ManageUsers
) -> UserOut:
    """Create an account inside the caller's jurisdiction."""
    user = accounts.do_create_user(
        db, settings, actor=who.username, username=body.username, role=body.role,
        scope=body.scope, password=body.password, display_name=body.display_name,
        within=who.scope,
    )  # fmt: skip
    return UserOut.of(user)


@router.get("/api/v1/admin/users/{username}", tags=["admin"])
def get_user(username: str, db: DbSession, who: ManageUsers) -> UserOut:
    """One account (404 outside the caller's jurisdiction)."""
    return UserOut.of(accounts.get_user(db, username, within=who.scope))


@router.patch("/api/v1/admin/users/{username}", tags=["admin"])
def change_user(username: str, body: UserChange, db: DbSession, who: ManageUsers) -> UserOut:
    """Change an account's role, scope or active flag (each change is audited)."""
    user = accounts.get_user(db, username, within=who.scope)
    if body.role is not None:
        accounts.do_set_role(db, actor=who.username, user=user, role=body.role)
    if body.scope is not None:
        accounts.do_set_scope(db, actor=who.username, user=user, scope=body.scope,
                              within=who.scope)  # fmt: skip
    if body.active is not None:
        accounts.do_set_active(db, actor=who.username, user=user, active=body.active)
    return UserOut.of(user)


@router.post("/api/v1/admin/users/{username}/lock", tags=["admin"])
def lock_user(username: str, db: DbSession, who: ManageUsers) -> UserOut:
    """Lock an account until it is unlocked; its sessions end."""
    user = accounts.get_user(db, username, within=who.scope)
    accounts.do_lock_user(db, actor=who.username, user=user)
    return UserOut.of(user)


@router.post("/api/v1/admin/users/{username}/unlock", tags=["admin"])
def unlock_user(username: str, db: DbSession, who: ManageUsers) -> UserOut:
    """Lift a lock and reset the failed-login count."""
    user = accounts.get_user(db, username, within=who.scope)
    accounts.do_unlock_user(db, actor=who.username, user=user)
    return UserOut.of(user)


@router.get("/admin/users", include_in_schema=False)
def users_page(request: Request, db: DbSession, who: ManageUsers, lang: Lang) -> Response:
    """The account list with lock/unlock buttons."""
    users = [UserOut.of(u) for u in accounts.list_users(db, within=who.scope)]
    return render(request, "admin_users.html", {"users": users})


@router.post("/admin/users/{username}/{action}", include_in_schema=False)
def users_page_action(
    username: str,
    action: str,
    db: DbSession,
    who: ManageUsers,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Lock or unlock from the page (the form carries the CSRF token)."""
    user = accounts.get_user(db, username, within=who.scope)
    if action == "lock":
        accounts.do_lock_user(db, actor=who.username, user=user)
    elif action == "unlock":
        accounts.do_unlock_user(db, actor=who.username, user=user)
    else:
        raise NotFound()
    return RedirectResponse("/admin/users", status_code=303)
