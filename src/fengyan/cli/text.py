"""``fengyan text``: link firm mentions, classify events and extract promises from the lake."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fengyan.i18n import t
from fengyan.workspace import Workspace

console = Console(width=None if sys.stdout.isatty() else 160)


def text(
    as_of: Annotated[
        datetime | None, typer.Option("--as-of", help="Read the lake as it was then.")
    ] = None,
    settings: Annotated[
        Path | None, typer.Option("--settings", help="A settings file (copy of settings.yaml).")
    ] = None,
    home: Annotated[
        Path | None, typer.Option("--home", help="Data folder (default: $FENGYAN_HOME or ./var).")
    ] = None,
) -> None:
    """Write text_* tables: mentions, events, promises, ad violations, sentiment, feature words."""
    from fengyan.text.service import TextStageError, load_settings, run_text

    ws = Workspace.from_env(home)
    try:
        with console.status(t("text_running")):
            report = run_text(ws, as_of, load_settings(settings) if settings else None)
    except TextStageError as exc:
        console.print(f"[red]✗[/red] {t(exc.message_code, **exc.params)}")
        raise typer.Exit(2) from None
    for message_code, params in report.warnings:
        console.print(f"[yellow]![/yellow] {t(message_code, **params)}")
    table = Table(title=t("text_summary_title", model=report.model, method=report.event_method))
    table.add_column(t("text_col_table"))
    table.add_column(t("text_col_rows"), justify="right")
    for name, n in sorted(report.counts.items()):
        table.add_row(name, f"{n:,}")
    console.print(table)
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items())
    console.print(t("text_done", steps=steps, run=report.run))
