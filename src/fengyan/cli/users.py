"""``fengyan user …``: create, list, lock and unlock accounts; issue and revoke API tokens.

Thin shells over :mod:`fengyan.web.security.accounts` (the admin API calls the same
functions); every change is written to the audit log with the actor ``cli:<os user>``.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from fengyan import clock
from fengyan.cli._stage import HomeOpt
from fengyan.clock import CHINA_TZ
from fengyan.i18n import t
from fengyan.web.errors import WebError
from fengyan.web.security import accounts
from fengyan.web.settings import WebSettings
from fengyan.workspace import Workspace

app = typer.Typer(help="Web accounts (用户): add, list, lock, unlock, API tokens.",
                  no_args_is_help=True)  # fmt: skip
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli:unknown"


def _fail(exc: WebError) -> typer.Exit:
    err.print(f"[red]✗[/red] {exc.message()}")
    return typer.Exit(2)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            err.print(f"[red]✗[/red] {t('web_cli_password_stdin_empty')}")
            raise typer.Exit(2)
        return line
    first = typer.prompt(t("web_cli_password_prompt"), hide_input=True)
    second = typer.prompt(t("web_cli_password_prompt"), hide_input=True)
    if first != second:
        err.print(f"[red]✗[/red] {t('web_cli_password_mismatch')}")
        raise typer.Exit(2)
    return str(first)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Username (lower-case letters, digits, . _ -).")],
    role: Annotated[
        str,
        typer.Option(
            "--role", help="Role: admin, analyst, investigator, grid_worker, auditor, agency."
        ),
    ],
    scope: Annotated[
        str, typer.Option("--scope", help="Jurisdiction: a 2/4/6/9/12-digit region code.")
    ],
    display_name: Annotated[
        str | None, typer.Option("--display-name", help="Name shown in pages.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Token-only (machine) account.")
    ] = False,
    home: HomeOpt = None,
) -> None:
    """Create an account (the password is asked twice unless --password-stdin)."""
    ws, settings = Workspace.from_env(home), WebSettings.from_env()
    password = None if no_password else _read_password(password_stdin)
    try:
        with Session(ws.engine) as db:
            user = accounts.do_create_user(
                db, settings, actor=_actor(), username=name, role=role, scope=scope,
                password=password, display_name=display_name,
            )  # fmt: skip
            console.print(t("web_cli_user_added", username=user.username, role=user.role,
                            scope=user.scope))  # fmt: skip
    except WebError as exc:
        raise _fail(exc) from None


@app.command("list")
def list_users(home: HomeOpt = None) -> None:
    """List accounts: role, jurisdiction, state, failed logins, last sign-in."""
    ws = Workspace.from_env(home)
    now = clock.now()
    table = Table(title=t("web_cli_users_title"))
    for col in ("username", "name", "role", "scope", "state", "failed", "last login"):
        table.add_column(col)
    with Session(ws.engine) as db:
        for u in accounts.list_users(db):
            locked = u.locked_until is not None and u.locked_until > now
            state = "locked" if locked else ("active" if u.active else "disabled")
            last = (
                u.last_login_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
                if u.last_login_at
                else "-"
            )
            table.add_row(u.username, u.display_name, u.role, u.scope, state,
                          str(u.failed_attempts), last)  # fmt: skip
    console.print(table)


@app.command("lock")
def lock(name: Annotated[str, typer.Argument(help="Username.")], home: HomeOpt = None) -> None:
    """Lock an account until unlocked; its sessions end at once."""
    ws = Workspace.from_env(home)
    try:
        with Session(ws.engine) as db:
            accounts.do_lock_user(db, actor=_actor(), user=accounts.get_user(db, name))
    except WebError as exc:
        raise _fail(exc) from None
    console.print(t("web_cli_locked", username=name))


@app.command("unlock")
def unlock(name: Annotated[str, typer.Argument(help="Username.")], home: HomeOpt = None) -> None:
    """Lift a lock (manual or after failed logins) and reset the failure count."""
    ws = Workspace.from_env(home)
    try:
        with Session(ws.engine) as db:
            accounts.do_unlock_user(db, actor=_actor(), user=accounts.get_user(db, name))
    except WebError as exc:
        raise _fail(exc) from None
    console.print(t("web_cli_unlocked", username=name))


@app.command("token")
def token(
    name: Annotated[str, typer.Argument(help="Username the token acts as.")],
    label: Annotated[str, typer.Option("--label", help="What the token is for.")] = "api",
    days: Annotated[
        int | None, typer.Option("--days", help="Lifetime (default $FENGYAN_WEB_TOKEN_DAYS or 90).")
    ] = None,
    revoke: Annotated[
        int | None, typer.Option("--revoke", help="Revoke token number N instead.")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Issue an API token for NAME (printed once), or --revoke one."""
    ws, settings = Workspace.from_env(home), WebSettings.from_env()
    try:
        with Session(ws.engine) as db:
            user = accounts.get_user(db, name)
            if revoke is not None:
                accounts.do_revoke_token(db, actor=_actor(), user=user, token_id=revoke)
                console.print(t("web_cli_token_revoked", token_id=revoke))
                return
            issued = accounts.do_issue_token(db, settings, actor=_actor(), user=user,
                                             label=label, days=days)  # fmt: skip
    except WebError as exc:
        raise _fail(exc) from None
    lifetime = (issued.row.expires_at - issued.row.created_at).days
    err.print(t("web_cli_token_issued", username=name, token_id=issued.row.id, days=lifetime))
    # The secret alone on stdout, so scripts can capture it: TOKEN=$(fengyan user token x)
    sys.stdout.write(issued.token + "\n")
