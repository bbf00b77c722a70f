"""``fengyan graph``: ownership, controllers, groups and contagion from the lake."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fengyan.workspace import Workspace

console = Console()


def graph(
    as_of: Annotated[
        datetime | None, typer.Option("--as-of", help="Build the graph as the lake was then.")
    ] = None,
    settings: Annotated[
        Path | None, typer.Option("--settings", help="A model file (copy of settings.yaml).")
    ] = None,
    home: Annotated[
        Path | None, typer.Option("--home", help="Data folder (default: $FENGYAN_HOME or ./var).")
    ] = None,
) -> None:
    """Build the enterprise graph and write graph_* tables (run `fengyan resolve run` first)."""
    from fengyan.graph.config import load_settings
    from fengyan.graph.service import build_graph

    ws = Workspace.from_env(home)
    try:
        report = build_graph(ws, as_of, load_settings(settings) if settings else None)
    except LookupError as exc:
        console.print(f"[red]✗[/red] {exc}")
        raise typer.Exit(2) from None
    table = Table(title=f"graph ({report.model})")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in report.counts.items():
        table.add_row(name, f"{n:,}")
    console.print(table)
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items())
    console.print(f"{steps}; tables in {report.run}")
