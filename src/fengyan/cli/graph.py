"""``fengyan graph``: ownership, controllers, groups and contagion from the lake."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fengyan.cli._stage import HomeOpt, fail, print_counts, steps_text
from fengyan.workspace import Workspace

console = Console()


def graph(
    as_of: Annotated[
        datetime | None, typer.Option("--as-of", help="Build the graph as the lake was then.")
    ] = None,
    settings: Annotated[
        Path | None, typer.Option("--settings", help="A model file (copy of settings.yaml).")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Build the enterprise graph and write graph_* tables (run `fengyan resolve run` first)."""
    from fengyan.graph.config import load_settings
    from fengyan.graph.service import build_graph

    ws = Workspace.from_env(home)
    try:
        report = build_graph(ws, as_of, load_settings(settings) if settings else None)
    except LookupError as exc:
        fail(console, str(exc))
    print_counts(console, f"graph ({report.model})", ("table", "rows"), report.counts)
    console.print(f"{steps_text(report.seconds)}; tables in {report.run}")
