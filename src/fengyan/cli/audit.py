"""``fengyan audit …``: verify the audit log, sign checkpoints, search, prove, manage the key."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fengyan.audit import (
    AuditError,
    AuditSettings,
    create_checkpoint,
    inclusion_proof,
    load_actions,
    search,
    verify_log,
)
from fengyan.audit.keys import KEYRING, export_public_key, key_id, load_key, rotate_key
from fengyan.audit.verify import signed_checkpoints
from fengyan.cli._stage import HomeOpt
from fengyan.clock import CHINA_TZ
from fengyan.i18n import current_language, t
from fengyan.workspace import Workspace

app = typer.Typer(
    help="Tamper-evident audit log (审计日志): verify, checkpoints, search, proofs, key.",
    no_args_is_help=True,
)
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
CheckpointsOpt = Annotated[
    Path | None,
    typer.Option(
        "--checkpoints",
        help="Folder of exported checkpoints (default: $FENGYAN_AUDIT_CHECKPOINTS).",
    ),
]
STYLE = {"error": "[red]✗[/red]", "warning": "[yellow]![/yellow]", "info": "[blue]i[/blue]"}


def _setup(home: Path | None) -> tuple[Workspace, AuditSettings]:
    ws = Workspace.from_env(home)
    return ws, AuditSettings.from_settings(ws.settings)


def _fail(exc: AuditError) -> typer.Exit:
    err.print(f"[red]✗[/red] {exc.message()}")
    return typer.Exit(2)


@app.command("verify")
def verify(checkpoints: CheckpointsOpt = None, home: HomeOpt = None) -> None:
    """Recompute the Merkle tree from the table and check it against every checkpoint.

    Exit status 0 when the log is intact, 1 when tampering was found.
    """
    ws, settings = _setup(home)
    report = verify_log(ws.engine, settings, checkpoints)
    for finding in report.findings:
        console.print(f"{STYLE[finding.severity]} {finding.message()}")
    seconds = sum(report.seconds.values())
    if report.ok:
        # A checkpoint exported and recorded in the database counts once.
        ok = len({(a.tree_size, a.root_hash) for a in report.anchors if a.status == "ok"})
        console.print(
            "[green]✓[/green] "
            + t("audit_verify_ok", size=report.tree_size, root=report.root_hash.hex(),
                anchors=ok, anchored=report.anchored_size, seconds=seconds)
        )  # fmt: skip
        return
    if report.first_bad is not None and report.first_bad_upto is None:
        console.print(t("audit_first_bad", seq=report.first_bad))
    elif report.first_bad is not None:
        console.print(
            t("audit_first_bad_range", first=report.first_bad, last=report.first_bad_upto)
        )
    console.print(
        "[red]✗[/red] "
        + t("audit_verify_failed", errors=len(report.errors), size=report.tree_size,
            seconds=seconds)
    )  # fmt: skip
    raise typer.Exit(1)


@app.command("checkpoint")
def checkpoint(checkpoints: CheckpointsOpt = None, home: HomeOpt = None) -> None:
    """Verify, then sign the current tree head and export it (run it from a scheduler).

    Run it as the account that may write the checkpoint folder, not as the web server's.
    """
    ws, settings = _setup(home)
    try:
        cp, path, _ = create_checkpoint(ws.engine, settings, checkpoints)
    except AuditError as exc:
        raise _fail(exc) from None
    console.print(
        t("audit_checkpoint_written", size=cp.tree_size, root=cp.root_hash.hex(),
          key=cp.key_id, file=path)
    )  # fmt: skip


def _when(value: datetime | None) -> datetime | None:
    # A time typed without a zone is read as China time, where the users are.
    return value.replace(tzinfo=CHINA_TZ) if value and value.tzinfo is None else value


@app.command("search")
def search_command(
    actor: Annotated[
        str | None, typer.Option(help="Who acted (a trailing * matches a prefix).")
    ] = None,
    action: Annotated[
        str | None, typer.Option(help="Action name, e.g. case.transition or case.*.")
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Object acted on, e.g. case/2026-0007.")
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(help="From this time (China time if no zone).")
    ] = None,
    until: Annotated[datetime | None, typer.Option(help="Before this time (exclusive).")] = None,
    personal: Annotated[
        bool, typer.Option("--personal", help="Only actions touching personal data.")
    ] = False,
    limit: Annotated[int, typer.Option(help="How many to show.")] = 50,
    offset: Annotated[int, typer.Option(help="Skip this many.")] = 0,
    home: HomeOpt = None,
) -> None:
    """List audit entries matching every filter, newest first."""
    ws, _ = _setup(home)
    total, entries = search(
        ws.engine, actor=actor, action=action, target=target, since=_when(since),
        until=_when(until), personal_data=True if personal else None, limit=limit, offset=offset,
    )  # fmt: skip
    actions = load_actions()
    lang = current_language()
    table = Table(title=t("audit_search_title", total=total))
    for col in ("seq", "time (UTC+8)", "actor", "action", "target", "detail"):
        table.add_column(col, overflow="fold", justify="right" if col == "seq" else "left")
    for e in entries:
        known = actions.get(e.action)
        table.add_row(
            str(e.seq),
            e.at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S"),
            e.actor,
            f"{e.action}\n{known.label(lang)}" if known else e.action,
            e.target,
            json.dumps(e.detail, ensure_ascii=False, sort_keys=True),
        )
    console.print(table)


@app.command("proof")
def proof(
    seq: Annotated[int, typer.Argument(help="Sequence number of the entry.")],
    size: Annotated[
        int | None,
        typer.Option(help="Tree size to prove against (default: latest checkpoint covering it)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the proof as JSON.")] = False,
    checkpoints: CheckpointsOpt = None,
    home: HomeOpt = None,
) -> None:
    """Print the inclusion proof of one entry and check it against a signed checkpoint."""
    ws, settings = _setup(home)
    signed = signed_checkpoints(ws.engine, settings, checkpoints)
    if size is None:
        covering = [cp.tree_size for _, cp in signed if cp.tree_size >= seq]
        size = max(covering) if covering else None
    try:
        result = inclusion_proof(ws.engine, seq, size)
    except AuditError as exc:
        raise _fail(exc) from None
    matching = [s for s, cp in signed if cp.tree_size == result.tree_size
                and cp.root_hash == result.root_hash]  # fmt: skip
    if as_json:
        body = result.to_json() | {"valid": result.verify(), "signed_by": matching}
        console.print_json(json.dumps(body))
        return
    console.print(t("audit_proof_title", seq=seq, size=result.tree_size))
    table = Table(show_header=True)
    table.add_column("")
    table.add_column("SHA-256")
    table.add_row("leaf", result.leaf_hash.hex())
    for level, node in enumerate(result.path):
        table.add_row(f"path[{level}]", node.hex())
    table.add_row("root", result.root_hash.hex())
    console.print(table)
    if not result.verify():  # the stored tree is not even self-consistent
        console.print("[red]✗[/red]")
        raise typer.Exit(1)
    console.print("[green]✓[/green] " + t("audit_proof_checked", root=result.root_hash.hex()))
    if matching:
        console.print("[green]✓[/green] " + t("audit_proof_signed", source=matching[0]))
    else:
        console.print("[yellow]![/yellow] " + t("audit_proof_unsigned", size=result.tree_size))


@app.command("key")
def key(
    rotate: Annotated[
        bool, typer.Option("--rotate", help="Replace the key; the old public key stays trusted.")
    ] = False,
    checkpoints: CheckpointsOpt = None,
    home: HomeOpt = None,
) -> None:
    """Show the checkpoint signing key (creating it if absent), or rotate it."""
    _, settings = _setup(home)
    folder = checkpoints or settings.checkpoint_dir
    try:
        if rotate:
            old, new = rotate_key(settings.key_path, folder)
            console.print(t("audit_key_rotated", old=old or "-", new=new))
            return
        private = load_key(settings.key_path, create=True)
    except AuditError as exc:
        raise _fail(exc) from None
    export_public_key(private.public_key(), folder)
    console.print(
        t("audit_key_shown", path=settings.key_path, key=key_id(private.public_key()),
          keyring=folder / KEYRING)
    )  # fmt: skip


@app.command("actions")
def actions() -> None:
    """List the audit actions of the catalogue (audit/actions.yaml)."""
    lang = current_language()
    table = Table()
    for col in ("action", "label", "personal data"):
        table.add_column(col)
    for a in sorted(load_actions().values(), key=lambda a: a.name):
        table.add_row(a.name, a.label(lang), "✓" if a.personal_data else "")
    console.print(table)
