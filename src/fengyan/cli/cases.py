"""``fengyan cases …``: list, show, open, assign, transition, escalate, leads (operators, tests).

Thin shells over :mod:`fengyan.workflow`: each command builds the acting principal from
``--user/--role/--scope``, runs one service function in one transaction and prints the
result. Errors are printed in the chosen language with exit status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from fengyan.cli._stage import HomeOpt
from fengyan.i18n import current_language, t
from fengyan.web.errors import WebError
from fengyan.web.scope import Principal
from fengyan.workflow import (
    ActionResult,
    AttachmentStore,
    LeadKeys,
    WorkflowConfigError,
    do_assign_case,
    do_open_case,
    do_transfer_lead,
    do_transition_case,
    escalate_overdue,
    export_lead_package,
    get_case,
    lake_evidence_loader,
    list_cases,
    open_cases_for_new_red,
    verify_package,
)
from fengyan.workspace import Workspace

app = typer.Typer(
    help="Cases (核查处置): list, open, assign, move, escalate, leads.", no_args_is_help=True
)
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
R = TypeVar("R")

UserOpt = Annotated[
    str, typer.Option("--user", help="Acting user name (written to the audit log).")
]
RoleOpt = Annotated[
    str, typer.Option("--role", help="admin, analyst, investigator, grid_worker, auditor.")
]
ScopeOpt = Annotated[
    str, typer.Option("--scope", help="The user's region prefix (2/4/6/9/12 digits).")
]
KeyOpt = Annotated[str | None, typer.Option("--idempotency-key", help="Retry-safe request key.")]


def _principal(user: str, role: str, scope: str) -> Principal:
    return Principal.for_role(user, role, scope, via="cli")


@contextmanager
def _failures() -> Iterator[None]:
    try:
        yield
    except WebError as exc:
        err.print(f"[red]✗[/red] {exc.message()}")
        raise typer.Exit(2) from None
    except WorkflowConfigError as exc:
        err.print(f"[red]✗[/red] {exc}")
        raise typer.Exit(2) from None


def _run(home: Path | None, fn: Callable[[Session], R]) -> R:
    ws = Workspace.from_env(home)
    with _failures(), Session(ws.engine) as session, session.begin():
        return fn(session)


def _done(kind: str, result: ActionResult) -> None:
    console.print(
        t(
            "cli_cases_done",
            case_id=result.case_id,
            kind=kind,
            version=result.version,
            seq=result.audit_seq,
        )
    )
    if result.replayed:
        console.print(t("cli_cases_replayed"))


@app.command("list")
def list_command(
    user: UserOpt,
    role: RoleOpt,
    scope: ScopeOpt,
    state: Annotated[str | None, typer.Option(help="Only this state.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue tasks.")] = False,
    page: int = 1,
    size: int = 50,
    home: HomeOpt = None,
) -> None:
    """List the cases in the user's jurisdiction."""
    who = _principal(user, role, scope)
    result = _run(
        home,
        lambda s: list_cases(s, who, state=state, overdue=overdue or None, page=page, size=size),
    )
    table = Table(title=t("cli_cases_title", total=result.total))
    for col in ("id", "firm", "region", "grade", "category", "state", "holder", "due", "overdue"):
        table.add_column(col)
    for c in result.items:
        table.add_row(
            str(c.id),
            c.firm_name or c.firm_id,
            c.region_code,
            c.grade or "-",
            c.category or "-",
            c.state,
            c.holder_scope + (f"/{c.assignee}" if c.assignee else ""),
            c.due_at.date().isoformat() if c.due_at else "-",
            "!" if c.overdue else "",
        )
    console.print(table)


@app.command("show")
def show_command(
    case_id: int, user: UserOpt, role: RoleOpt, scope: ScopeOpt, home: HomeOpt = None
) -> None:
    """Show one case: state, evidence, timeline and the transitions on offer."""
    who = _principal(user, role, scope)
    d = _run(home, lambda s: get_case(s, who, case_id, lang=current_language()))
    c = d.summary
    console.print(
        f"[bold]#{c.id}[/bold] {c.firm_name or c.firm_id} {c.region_code} "
        f"{c.grade or '-'} {c.category or '-'} — {c.state} (v{c.version}) @ {c.holder_scope}"
    )
    console.print(f"evidence: {', '.join(d.evidence.get('evidence_keys', [])) or '-'}")
    for e in d.timeline:
        console.print(
            f"  {e['at']:%Y-%m-%d %H:%M} {e['actor']} {e['kind']} "
            f"{e['from'] or ''}→{e['to'] or ''} {e['detail']}"
        )
    for o in d.transitions:
        mark = "✓" if o.allowed else "✗"
        console.print(f"  {mark} {o.id} ({o.label}) {'; '.join(o.missing) or o.reason or ''}")


@app.command("open")
def open_command(
    user: UserOpt,
    role: RoleOpt,
    scope: ScopeOpt,
    firm: Annotated[str | None, typer.Option(help="Firm id.")] = None,
    warning: Annotated[int | None, typer.Option(help="Open from this published warning.")] = None,
    source: Annotated[str, typer.Option(help="warning, tip, inspection or manual.")] = "manual",
    region: Annotated[str | None, typer.Option(help="Region code if not published.")] = None,
    run: Annotated[
        int | None, typer.Option("--red-of-run", help="Open cases for a run's new red warnings.")
    ] = None,
    note: str | None = None,
    idempotency_key: KeyOpt = None,
    home: HomeOpt = None,
) -> None:
    """Open a case by hand (or from a warning), or all cases for a run's new red firms."""
    if run is not None:
        report = _run(home, lambda s: open_cases_for_new_red(s, run))
        console.print(
            t(
                "cli_cases_opened_red",
                run_id=run,
                opened=len(report.opened),
                existing=len(report.already_open),
                no_region=len(report.no_region),
            )
        )
        return
    who = _principal(user, role, scope)
    result = _run(
        home,
        lambda s: do_open_case(
            s,
            who,
            firm_id=firm,
            warning_id=warning,
            source=source,
            region_code=region,
            note=note,
            idempotency_key=idempotency_key,
        ),
    )
    _done("open", result)


@app.command("assign")
def assign_command(
    case_id: int,
    to: Annotated[str, typer.Argument(help="Unit code to assign to.")],
    user: UserOpt,
    role: RoleOpt,
    scope: ScopeOpt,
    assignee: Annotated[str | None, typer.Option(help="A user of that unit.")] = None,
    version: Annotated[int | None, typer.Option(help="Version you last saw.")] = None,
    idempotency_key: KeyOpt = None,
    home: HomeOpt = None,
) -> None:
    """Assign a case one level down, or reassign it as a supervisor."""
    who = _principal(user, role, scope)
    _done(
        "assign",
        _run(
            home,
            lambda s: do_assign_case(
                s,
                who,
                case_id,
                to,
                assignee=assignee,
                expected_version=version,
                idempotency_key=idempotency_key,
            ),
        ),
    )


@app.command("transition")
def transition_command(
    case_id: int,
    transition: str,
    user: UserOpt,
    role: RoleOpt,
    scope: ScopeOpt,
    field: Annotated[
        list[str] | None, typer.Option("--field", "-f", help="name=value (repeat).")
    ] = None,
    version: Annotated[int | None, typer.Option(help="Version you last saw.")] = None,
    idempotency_key: KeyOpt = None,
    home: HomeOpt = None,
) -> None:
    """Move a case along a transition, e.g. ``start_verification -f mode=on_site``."""
    fields = dict(f.split("=", 1) for f in field or [] if "=" in f)
    who = _principal(user, role, scope)
    _done(
        transition,
        _run(
            home,
            lambda s: do_transition_case(
                s,
                who,
                case_id,
                transition,
                fields=fields,
                expected_version=version,
                idempotency_key=idempotency_key,
            ),
        ),
    )


@app.command("escalate")
def escalate_command(home: HomeOpt = None) -> None:
    """Escalate overdue tasks to the unit above (run it from a scheduler)."""
    done = _run(home, lambda s: escalate_overdue(s))
    for e in done:
        console.print(f"  #{e.case_id} {e.holder} → {e.escalated_to}")
    console.print(t("cli_cases_escalated", count=len(done)))


@app.command("export-lead")
def export_lead_command(
    case_id: int,
    out: Annotated[Path, typer.Option("--out", help="Where to write the .zip.")],
    user: UserOpt,
    role: RoleOpt,
    scope: ScopeOpt,
    kind: Annotated[str, typer.Option(help="police or region.")] = "police",
    target_region: str | None = None,
    target_agency: str | None = None,
    note: str | None = None,
    home: HomeOpt = None,
) -> None:
    """Transfer a case's lead outside this deployment and write its signed package."""
    ws = Workspace.from_env(home)
    who = _principal(user, role, scope)
    store = AttachmentStore(ws.settings.home / "attachments")
    keys = LeadKeys.from_settings(ws.settings)
    with _failures(), Session(ws.engine) as s, s.begin():
        result = do_transfer_lead(
            s,
            who,
            case_id,
            kind=kind,
            target_region=target_region,
            target_agency=target_agency,
            note=note,
            store=store,
            keys=keys,
            evidence_loader=lake_evidence_loader(ws.lake),
        )
        data = export_lead_package(s, who, int(result.detail["lead_id"]), store)
    out.write_bytes(data)
    console.print(
        t(
            "cli_cases_lead_written",
            file=out,
            sha256=result.detail["package_sha256"],
            key_id=result.detail["key_id"],
        )
    )


@app.command("verify-lead")
def verify_lead_command(
    package: Path,
    trusted: Annotated[
        Path | None,
        typer.Option(help="Folder with keys/<id>.pub (default: $FENGYAN_LEAD_TRUSTED)."),
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Check a received lead package: files, hashes, signature, trusted key. Exit 1 if bad."""
    ws = Workspace.from_env(home)
    keys = LeadKeys.from_settings(ws.settings)
    folder = trusted or keys.trusted_dir
    report = verify_package(
        package.read_bytes(), LeadKeys(keys.key_path, folder, keys.origin).trusted()
    )
    for message in report.messages():
        console.print(f"[red]✗[/red] {message}")
    if not report.ok:
        console.print(t("cli_cases_lead_failed"))
        raise typer.Exit(1)
    console.print("[green]✓[/green] " + t("cli_cases_lead_ok", key_id=report.key_id))
