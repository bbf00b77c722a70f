"""The end of ``fengyan demo``: demo accounts for the workbench, then the server.

Accounts (created once, through the same action as ``fengyan user add``, so the passwords
are stored as argon2id hashes only): an administrator and an analyst of the demo city, an
investigator of its district with the most red warnings and a grid worker of that
district's busiest street. Passwords are random and printed once, when the account is
made; a later demo run lists the accounts without them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengyan.db.published import FirmScore
from fengyan.db.users import WebUser
from fengyan.i18n import t
from fengyan.standards.regions import UnknownRegionError
from fengyan.web.scope import scope_code
from fengyan.web.settings import WebSettings
from fengyan.workspace import Workspace

DEFAULT_CITY = "4403"  # the simulator's default city (Shenzhen)


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """One demo account; ``password`` is None when the account already existed."""

    username: str
    role: str
    scope: str
    password: str | None


def _known(code: str) -> bool:
    try:
        scope_code(code)
    except UnknownRegionError:
        return False
    return True


def demo_scopes(ws: Workspace) -> tuple[str, str | None, str | None]:
    """(city, district, street): the street with the most red firms and its parents."""
    with Session(ws.engine) as s:
        street_col = func.substr(FirmScore.region_code, 1, 9)
        row = s.execute(
            select(street_col, func.count())
            .where(FirmScore.grade == "red", func.length(FirmScore.region_code) >= 9)
            .group_by(street_col)
            .order_by(func.count().desc(), street_col)
            .limit(1)
        ).first()
    if row is None:
        return DEFAULT_CITY, None, None
    street = str(row[0])
    district = street[:6] if _known(street[:6]) else None
    city = street[:4] if _known(street[:4]) else DEFAULT_CITY
    return city, district, street if district and _known(street) else None


def ensure_demo_users(ws: Workspace, settings: WebSettings) -> list[DemoLogin]:
    """Create the demo accounts that do not exist yet; the list of all of them."""
    from fengyan.web.security.accounts import do_create_user

    city, district, street = demo_scopes(ws)
    wanted = [("demo-admin", "admin", city), ("demo-analyst", "analyst", city)]
    if district:
        wanted.append(("demo-district", "investigator", district))
    if street:
        wanted.append(("demo-grid", "grid_worker", street))
    logins = []
    with Session(ws.engine) as db:
        for username, role, scope in wanted:
            existing = db.scalar(select(WebUser).where(WebUser.username == username))
            if existing is not None:
                logins.append(DemoLogin(username, existing.role, existing.scope, None))
                continue
            password = secrets.token_urlsafe(12)  # 16 characters, above the length floor
            do_create_user(db, settings, actor="demo", username=username, role=role,
                           scope=scope, password=password)  # fmt: skip
            logins.append(DemoLogin(username, role, scope, password))
    return logins


def print_logins(console: Console, logins: list[DemoLogin], url: str) -> None:
    """The address and the demo accounts as a table."""
    table = Table(title=t("cli_demo_logins_title", url=url))
    for col in ("user", "role", "scope", "password"):
        table.add_column(col)
    for login in logins:
        table.add_row(login.username, login.role, login.scope,
                      login.password or t("cli_demo_password_unchanged"))  # fmt: skip
    console.print(table)
