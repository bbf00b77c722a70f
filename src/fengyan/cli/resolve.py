"""``fengyan resolve …``: run entity resolution, list the review queue, record decisions."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fengyan.cli._stage import HomeOpt
from fengyan.resolve.ledger import LedgerError, do_decide, do_retire, review_queue
from fengyan.workspace import Workspace

app = typer.Typer(
    help="Entity resolution: one canonical id per enterprise and person (实体消歧).",
    no_args_is_help=True,
)
console = Console()


@app.command("run")
def run(
    as_of: Annotated[
        datetime | None, typer.Option("--as-of", help="Resolve the lake as it was then.")
    ] = None,
    settings: Annotated[
        Path | None, typer.Option("--settings", help="A model file (copy of settings.yaml).")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Resolve the lake and write resolved_entity, resolved_link and resolve_candidate."""
    from fengyan.resolve.config import load_settings
    from fengyan.resolve.service import resolve

    ws = Workspace.from_env(home)
    report = resolve(ws, as_of, load_settings(settings) if settings else None)
    table = Table(title=f"resolve ({report.model})")
    for col in ("kind", "method", "records"):
        table.add_column(col, justify="right" if col == "records" else "left")
    for kind, counts in (("enterprise", report.enterprise), ("person", report.person)):
        for method, n in sorted(counts.items()):
            table.add_row(kind, method, f"{n:,}")
    console.print(table)
    console.print(
        f"review queue: +{report.queue_added} −{report.queue_retired}; "
        f"{report.seconds['total']:.1f} s; tables in {report.run}"
    )


@app.command("queue")
def queue(
    kind: Annotated[str | None, typer.Option(help="enterprise or person.")] = None,
    limit: Annotated[int, typer.Option(help="How many to show.")] = 20,
    offset: Annotated[int, typer.Option(help="Skip this many.")] = 0,
    home: HomeOpt = None,
) -> None:
    """List pairs waiting for a decision, most uncertain first, with their weights."""
    ws = Workspace.from_env(home)
    total, edges = review_queue(ws.engine, kind, limit, offset)
    table = Table(title=f"review queue: {total} open")
    for col in ("id", "kind", "left", "right", "p", "why"):
        table.add_column(col, overflow="fold")
    for e in edges:
        parts = e.detail.get("comparisons", [])
        why = "; ".join(f"{p['comparison']}: {p['level']} ({p['bits']:+.1f})" for p in parts)
        left = e.detail.get("record_name") or e.detail.get("left_name") or ""
        right = e.detail.get("entity_name") or e.detail.get("right_name") or ""
        table.add_row(
            str(e.id),
            e.kind,
            f"{e.left_key}\n{left}",
            f"{e.right_key}\n{right}",
            f"{e.score:.3f}" if e.score is not None else "",
            why,
        )
    console.print(table)


@app.command("decide")
def decide(
    left: Annotated[str, typer.Argument(help="Left key (record or person/<id>).")],
    right: Annotated[str, typer.Argument(help="Right key (ent:<code> or person/<id>).")],
    judgement: Annotated[str, typer.Argument(help="positive, negative or unsure.")],
    user: Annotated[str, typer.Option("--user", help="Who decides (recorded).")],
    kind: Annotated[str, typer.Option(help="enterprise or person.")] = "enterprise",
    home: HomeOpt = None,
) -> None:
    """Record a decision; the next `fengyan resolve run` applies it."""
    ws = Workspace.from_env(home)
    try:
        edge = do_decide(ws.engine, kind, left, right, judgement, user)
    except LedgerError as exc:
        console.print(f"[red]✗[/red] {exc}")
        raise typer.Exit(2) from None
    console.print(f"recorded #{edge.id}: {edge.left_key} {edge.judgement} {edge.right_key}")


@app.command("undo")
def undo(
    edge_id: Annotated[int, typer.Argument(help="Ledger row id of the decision.")],
    user: Annotated[str, typer.Option("--user", help="Who withdraws it (recorded).")],
    home: HomeOpt = None,
) -> None:
    """Withdraw a decision (kept in the ledger as retired)."""
    ws = Workspace.from_env(home)
    try:
        edge = do_retire(ws.engine, edge_id, user)
    except LedgerError as exc:
        console.print(f"[red]✗[/red] {exc}")
        raise typer.Exit(2) from None
    console.print(f"withdrawn #{edge.id}")
